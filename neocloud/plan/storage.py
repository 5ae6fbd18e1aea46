"""Storage sizing: parallel-filesystem throughput and capacity from the GPU count and the checkpoint.

Throughput follows H100RA Table 6, "Storage performance guidelines" (NVIDIA DGX SuperPOD Reference Architecture,
DGX H100, storage-architecture.html; hardware.md "Storage guidance"): per-SU read/write GB/s for the Good / Better /
Best tiers, where one SU is 32 DGX = 256 GPUs, scaling linearly (the 4-SU row is exactly 4x the 1-SU row), and a
single-node row (one DGX reading or writing on its own). The single-node row is a floor: a cluster smaller than an
SU scaled linearly would get less than one node needs (2 DGX H100 at "good": 15 x 16/256 = 0.94 GB/s read, but
one node alone reads 4 GB/s), so the aggregate target is the larger of the two. A checkpoint of
``params x bytes_per_parameter`` must be written within ``max_write_minutes``, which can raise the write target
above the tier.

Without a shared filesystem there is nothing to size: the plan carries no throughput or capacity targets (a
checkpoint then goes to object storage, which nothing here models), only the checkpoint's size, and its write time
is the spec's own limit (``max_write_minutes``), the bound the operator states, for goodput planning.

All the reference's numbers live in this module (``STORAGE_TIERS_PER_SU``, ``STORAGE_TIERS_SINGLE_NODE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from math import ceil, floor
from typing import Any, Literal

__all__ = [
    "STORAGE_TIERS_PER_SU",
    "STORAGE_TIERS_SINGLE_NODE",
    "TIB",
    "StoragePlan",
    "size_storage",
    "team_claim_gib",
]

Tier = Literal["good", "better", "best"]

GPUS_PER_REFERENCE_SU = 256
"""H100RA SU: 32 DGX H100 x 8 GPUs [P]."""

STORAGE_TIERS_PER_SU: dict[str, tuple[float, float]] = {
    # tier: (read GB/s, write GB/s) for one SU -- H100RA Table 6 [P]
    "good": (15.0, 7.0),
    "better": (40.0, 20.0),
    "best": (125.0, 62.0),
}

STORAGE_TIERS_SINGLE_NODE: dict[str, tuple[float, float]] = {
    # tier: (read GB/s, write GB/s) for a single DGX node -- H100RA Table 6, "single node" row [P]
    "good": (4.0, 2.0),
    "better": (8.0, 4.0),
    "best": (40.0, 20.0),
}
"""What one node must get on its own: the floor of a cluster's aggregate target (hardware.md [P])."""

TIB = 2**40
"""Bytes per TiB."""


@dataclass(frozen=True, slots=True)
class StoragePlan:
    """Targets the filesystem must meet, and the checkpoint they imply."""

    gpus: int
    tier: str | None
    """The H100RA Table 6 tier the targets come from (``None``: no filesystem, no targets)."""
    read_gbps: float | None
    """Aggregate read throughput target in GB/s (``None`` without a filesystem)."""
    write_gbps: float | None
    """Aggregate write throughput target in GB/s (tier or checkpoint, whichever is higher)."""
    read_gbps_per_gpu: float | None
    capacity_tib: float | None
    """Capacity target in TiB (checkpoints retained + dataset, or the configured floor)."""
    checkpoint_tib: float | None
    checkpoint_write_seconds: float | None
    """Time to write one full checkpoint at ``write_gbps``."""
    checkpoint_limit_seconds: float | None
    checkpoint_bytes: float | None = None
    """One full checkpoint: parameters x bytes per parameter (what checkpoint-write-time reads; never recomputed)."""
    checkpoint_bytes_per_parameter: float | None = None
    throughput_basis: str | None = None
    """What set the read target: ``su`` (the tier per SU, scaled to the GPUs), ``single-node`` (the tier's
    single-node floor, for clusters smaller than that) or ``min_gbps_per_gpu`` (the spec's floor)."""
    checkpoint_write_basis: str | None = None
    """``filesystem`` (the write target) or ``limit`` (no filesystem: the spec's max_write_minutes)."""
    team_claim_gib: tuple[tuple[str, int], ...] = ()
    """Training team -> GiB of its claim on the filesystem (the capacity split by GPU quota; none without one)."""

    @property
    def has_targets(self) -> bool:
        """Whether there is a filesystem whose throughput and capacity targets this plan sets."""
        return self.tier is not None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["team_claim_gib"] = dict(self.team_claim_gib)
        return out


def team_claim_gib(*, capacity_tib: float, quotas: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """Each team's claim on the filesystem: its capacity split in whole GiB by GPU quota (equally where no team has
    a quota), at least 1 GiB each. On a filesystem with one volume per claim (dynamic provisioning) the shares sum
    to the planned capacity instead of multiplying it by the number of teams."""
    if not quotas:
        return ()
    gib = capacity_tib * 1024
    total = sum(quotas.values())
    weights = quotas if total > 0 else {team: 1 for team in quotas}
    whole = sum(weights.values())
    return tuple((team, max(1, floor(gib * weights[team] / whole))) for team in quotas)


def size_storage(
    *,
    gpus: int,
    tier: Tier = "better",
    filesystem: bool = True,
    min_gbps_per_gpu: float | None = None,
    capacity_floor_tib: float | None = None,
    dataset_tib: float = 0.0,
    checkpoint_parameters_billion: float | None = None,
    checkpoint_bytes_per_parameter: float | None = None,
    checkpoint_max_write_minutes: float | None = None,
    checkpoints_retained: int = 1,
    team_quotas: Mapping[str, int] | None = None,
) -> StoragePlan:
    """Throughput and capacity targets for ``gpus`` GPUs (none where ``filesystem`` is false).

    ``checkpoint_bytes_per_parameter`` has no default here: the spec's ``storage.checkpoint.bytes_per_parameter``
    decides it (16, hardware.md [S]) and the plan passes it on, so no second copy of the number can drift."""
    ckpt_tib = ckpt_seconds = limit_seconds = ckpt_bytes = None
    if checkpoint_parameters_billion is not None:
        if checkpoint_bytes_per_parameter is None:
            raise ValueError("checkpoint_parameters_billion needs checkpoint_bytes_per_parameter (the spec's)")
        ckpt_bytes = checkpoint_parameters_billion * 1e9 * checkpoint_bytes_per_parameter
        ckpt_tib = ckpt_bytes / TIB
        if checkpoint_max_write_minutes is not None:
            limit_seconds = checkpoint_max_write_minutes * 60
    checkpoint: dict[str, Any] = {
        "checkpoint_tib": None if ckpt_tib is None else round(ckpt_tib, 3),
        "checkpoint_limit_seconds": limit_seconds,
        "checkpoint_bytes": ckpt_bytes,
        "checkpoint_bytes_per_parameter": None if ckpt_bytes is None else checkpoint_bytes_per_parameter,
    }
    if not filesystem:
        return StoragePlan(gpus=gpus, tier=None, read_gbps=None, write_gbps=None, read_gbps_per_gpu=None,
                           capacity_tib=None, checkpoint_write_seconds=limit_seconds if ckpt_bytes else None,
                           checkpoint_write_basis="limit" if ckpt_bytes and limit_seconds else None, **checkpoint)
    su_read, su_write = STORAGE_TIERS_PER_SU[tier]
    node_read, node_write = STORAGE_TIERS_SINGLE_NODE[tier]
    scale = gpus / GPUS_PER_REFERENCE_SU
    read, basis = su_read * scale, "su"
    if gpus > 0 and node_read > read:
        read, basis = node_read, "single-node"
    if min_gbps_per_gpu is not None and min_gbps_per_gpu * gpus > read:
        read, basis = min_gbps_per_gpu * gpus, "min_gbps_per_gpu"
    write = su_write * scale
    if gpus > 0:
        write = max(write, node_write)
    capacity = dataset_tib
    if ckpt_bytes is not None and ckpt_tib is not None:
        capacity += ckpt_tib * checkpoints_retained
        if limit_seconds is not None:
            write = max(write, ckpt_bytes / limit_seconds / 1e9)
        ckpt_seconds = ckpt_bytes / (write * 1e9) if write > 0 else None
    if capacity_floor_tib is not None:
        capacity = max(capacity, capacity_floor_tib)
    capacity = round(ceil(capacity * 1000) / 1000, 3)
    return StoragePlan(
        gpus=gpus,
        tier=tier,
        read_gbps=round(read, 3),
        write_gbps=round(write, 3),
        read_gbps_per_gpu=round(read / gpus, 4) if gpus else 0.0,
        capacity_tib=capacity,
        checkpoint_write_seconds=None if ckpt_seconds is None else round(ckpt_seconds, 1),
        throughput_basis=basis,
        checkpoint_write_basis="filesystem" if ckpt_seconds is not None else None,
        team_claim_gib=team_claim_gib(capacity_tib=capacity, quotas=team_quotas or {}),
        **checkpoint,
    )
