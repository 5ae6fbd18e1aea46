"""Storage sizing: parallel-filesystem throughput and capacity from the GPU count and the checkpoint.

Throughput follows H100RA Table 6 (hardware.md): per-SU read/write GB/s for the Good / Better / Best tiers,
where one SU is 32 DGX = 256 GPUs, scaling linearly (the 4-SU row is exactly 4x the 1-SU row). A checkpoint
of ``params x bytes_per_parameter`` must be written within ``max_write_minutes``, which can raise the write
target above the tier.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import ceil
from typing import Any, Literal

from ..spec import CHECKPOINT_BYTES_PER_PARAMETER

__all__ = ["STORAGE_TIERS_PER_SU", "TIB", "StoragePlan", "size_storage"]

Tier = Literal["good", "better", "best"]

GPUS_PER_REFERENCE_SU = 256
"""H100RA SU: 32 DGX H100 x 8 GPUs [P]."""

STORAGE_TIERS_PER_SU: dict[str, tuple[float, float]] = {
    # tier: (read GB/s, write GB/s) for one SU -- H100RA Table 6 [P]
    "good": (15.0, 7.0),
    "better": (40.0, 20.0),
    "best": (125.0, 62.0),
}

TIB = 2**40
"""Bytes per TiB."""


@dataclass(frozen=True, slots=True)
class StoragePlan:
    """Targets the filesystem must meet, and the checkpoint they imply."""

    gpus: int
    tier: str
    read_gbps: float
    """Aggregate read throughput target in GB/s."""
    write_gbps: float
    """Aggregate write throughput target in GB/s (tier or checkpoint, whichever is higher)."""
    read_gbps_per_gpu: float
    capacity_tib: float
    """Capacity target in TiB (checkpoints retained + dataset, or the configured floor)."""
    checkpoint_tib: float | None
    checkpoint_write_seconds: float | None
    """Time to write one full checkpoint at ``write_gbps``."""
    checkpoint_limit_seconds: float | None
    checkpoint_bytes: float | None = None
    """One full checkpoint: parameters x bytes per parameter (what checkpoint-write-time reads; never recomputed)."""
    checkpoint_bytes_per_parameter: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def size_storage(
    *,
    gpus: int,
    tier: Tier = "better",
    min_gbps_per_gpu: float | None = None,
    capacity_floor_tib: float | None = None,
    dataset_tib: float = 0.0,
    checkpoint_parameters_billion: float | None = None,
    checkpoint_bytes_per_parameter: float = CHECKPOINT_BYTES_PER_PARAMETER,
    checkpoint_max_write_minutes: float | None = None,
    checkpoints_retained: int = 1,
) -> StoragePlan:
    """Throughput and capacity targets for ``gpus`` GPUs."""
    su_read, su_write = STORAGE_TIERS_PER_SU[tier]
    scale = gpus / GPUS_PER_REFERENCE_SU
    read = su_read * scale
    if min_gbps_per_gpu is not None:
        read = max(read, min_gbps_per_gpu * gpus)
    write = su_write * scale
    ckpt_tib = ckpt_seconds = limit_seconds = ckpt_bytes = None
    capacity = dataset_tib
    if checkpoint_parameters_billion is not None:
        ckpt_bytes = checkpoint_parameters_billion * 1e9 * checkpoint_bytes_per_parameter
        ckpt_tib = ckpt_bytes / TIB
        capacity += ckpt_tib * checkpoints_retained
        if checkpoint_max_write_minutes is not None:
            limit_seconds = checkpoint_max_write_minutes * 60
            write = max(write, ckpt_bytes / limit_seconds / 1e9)
        ckpt_seconds = ckpt_bytes / (write * 1e9) if write > 0 else None
    if capacity_floor_tib is not None:
        capacity = max(capacity, capacity_floor_tib)
    return StoragePlan(
        gpus=gpus,
        tier=tier,
        read_gbps=round(read, 3),
        write_gbps=round(write, 3),
        read_gbps_per_gpu=round(read / gpus, 4) if gpus else 0.0,
        capacity_tib=round(ceil(capacity * 1000) / 1000, 3),
        checkpoint_tib=None if ckpt_tib is None else round(ckpt_tib, 3),
        checkpoint_write_seconds=None if ckpt_seconds is None else round(ckpt_seconds, 1),
        checkpoint_limit_seconds=limit_seconds,
        checkpoint_bytes=ckpt_bytes,
        checkpoint_bytes_per_parameter=None if ckpt_bytes is None else checkpoint_bytes_per_parameter,
    )
