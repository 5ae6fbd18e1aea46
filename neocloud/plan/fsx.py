"""FSx for Lustre sizing: the plan's throughput and capacity targets rounded to what FSx can create.

Numbers (Amazon FSx API and Lustre user guide):

- ``StorageCapacity`` for SSD ``PERSISTENT_2``: 1,200 GiB, 2,400 GiB, then increments of 2,400 GiB
  (FSx API ``CreateFileSystem``, "StorageCapacity": "For SCRATCH_2, PERSISTENT_2, and PERSISTENT_1 deployment
  types using SSD storage type, the valid values are 1200 GiB, 2400 GiB, and increments of 2400 GiB") [P].
- ``PerUnitStorageThroughput`` for ``PERSISTENT_2`` SSD: 125, 250, 500 or 1,000 MB/s per TiB
  (FSx for Lustre guide, "Managing throughput capacity"; hardware.md AWS [P]).
- Throughput of the file system = storage capacity (TiB) x per-unit throughput, and it is "read or write
  throughput per 1 tebibyte" (FSx API ``LustreFileSystemConfiguration.PerUnitStorageThroughput``) [P]: the
  tier must carry the larger of the read and the write target, not their sum.

How a size is chosen: capacity comes first (the data and checkpoints must fit); the lowest per-TiB tier whose
throughput at that capacity meets the target wins (a capacity-bound file system should not pay for a high tier).
If even the top tier falls short, capacity grows at the top tier, because throughput is what is missing and the
top tier delivers the most MB/s per TiB provisioned. A fixed tier can be forced (``per_unit_throughput``).

Units: the plan's targets are decimal GB/s; FSx quotes MB/s (decimal), so 1 GB/s = 1,000 MB/s. Capacity is in
TiB in the plan and GiB in FSx (1 TiB = 1,024 GiB).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import ceil
from typing import Any, Literal

from ..errors import SpecError

__all__ = [
    "FSX_CAPACITY_INCREMENT_GIB",
    "FSX_MIN_CAPACITY_GIB",
    "FSX_PERSISTENT_2_TIERS",
    "FsxSizing",
    "round_fsx_capacity_gib",
    "size_fsx_lustre",
]

FSX_PERSISTENT_2_TIERS: tuple[int, ...] = (125, 250, 500, 1000)
"""Valid ``PerUnitStorageThroughput`` for PERSISTENT_2 SSD, MB/s per TiB (FSx Lustre guide) [P]."""

FSX_MIN_CAPACITY_GIB = 1200
"""Smallest SSD file system, GiB (FSx API CreateFileSystem StorageCapacity) [P]."""

FSX_CAPACITY_INCREMENT_GIB = 2400
"""Above 1,200 GiB, SSD capacity comes in multiples of 2,400 GiB (FSx API CreateFileSystem) [P]."""

GIB_PER_TIB = 1024
MB_PER_GB = 1000


@dataclass(frozen=True, slots=True)
class FsxSizing:
    """A valid FSx for Lustre PERSISTENT_2 size and tier for the plan's targets."""

    storage_capacity_gib: int
    """``StorageCapacity``: 1,200, 2,400 or a multiple of 2,400 GiB."""
    per_unit_storage_throughput: int
    """``PerUnitStorageThroughput`` in MB/s per TiB: 125, 250, 500 or 1,000."""
    throughput_mbps: float
    """Aggregate baseline throughput the file system is provisioned for, MB/s (capacity TiB x tier)."""
    target_mbps: float
    """What the plan asks for: the larger of the read and write targets, MB/s."""
    capacity_target_gib: float
    """The plan's capacity target in GiB (before rounding)."""
    basis: Literal["capacity", "throughput"]
    """``capacity``: the data sets the size and a tier covers the throughput; ``throughput``: the size grew past
    the data to reach the target at the top tier."""

    @property
    def storage_capacity_tib(self) -> float:
        """Storage capacity in TiB, the unit of the plan's capacity target."""
        return self.storage_capacity_gib / GIB_PER_TIB

    @property
    def throughput_gbps(self) -> float:
        """Aggregate throughput in GB/s, the unit of the plan's targets."""
        return self.throughput_mbps / MB_PER_GB

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready facts (stack output ``fsx``), with TiB and GB/s alongside FSx's GiB and MB/s."""
        out = asdict(self)
        out["storage_capacity_tib"] = round(self.storage_capacity_tib, 3)
        out["throughput_gbps"] = round(self.throughput_gbps, 3)
        return out


def round_fsx_capacity_gib(gib: float) -> int:
    """The smallest valid PERSISTENT_2 SSD capacity (1,200, 2,400, n x 2,400 GiB) holding ``gib``."""
    if gib < 0:
        raise ValueError(f"capacity must be >= 0 GiB; got {gib}")
    if gib <= FSX_MIN_CAPACITY_GIB:
        return FSX_MIN_CAPACITY_GIB
    # Float noise from TiB -> GiB conversions must not add a whole 2.4 TiB step.
    steps = ceil(round(gib / FSX_CAPACITY_INCREMENT_GIB, 9))
    return steps * FSX_CAPACITY_INCREMENT_GIB


def _throughput(capacity_gib: int, tier: int) -> float:
    return capacity_gib / GIB_PER_TIB * tier


def size_fsx_lustre(
    *,
    read_gbps: float,
    write_gbps: float,
    capacity_tib: float,
    per_unit_throughput: int | None = None,
    path: str = "aws.fsx_per_unit_throughput",
) -> FsxSizing:
    """Round the plan's targets (GB/s, TiB) to a valid PERSISTENT_2 capacity and per-TiB throughput tier.

    ``per_unit_throughput`` forces one tier (capacity then grows until it meets the target). Raises
    ``SpecError`` naming ``path`` for a tier FSx does not offer.
    """
    if per_unit_throughput is not None and per_unit_throughput not in FSX_PERSISTENT_2_TIERS:
        raise SpecError(path, f"{per_unit_throughput} MB/s/TiB is not a PERSISTENT_2 tier; allowed: "
                        f"{', '.join(map(str, FSX_PERSISTENT_2_TIERS))}")
    if min(read_gbps, write_gbps, capacity_tib) < 0:
        raise ValueError("throughput and capacity targets must be >= 0")
    target = max(read_gbps, write_gbps) * MB_PER_GB
    capacity_target_gib = capacity_tib * GIB_PER_TIB
    capacity = round_fsx_capacity_gib(capacity_target_gib)
    tiers = (per_unit_throughput,) if per_unit_throughput is not None else FSX_PERSISTENT_2_TIERS
    for tier in tiers:
        if _throughput(capacity, tier) >= target:
            return FsxSizing(capacity, tier, _throughput(capacity, tier), target, capacity_target_gib, "capacity")
    top = tiers[-1]
    capacity = round_fsx_capacity_gib(target / top * GIB_PER_TIB)
    return FsxSizing(capacity, top, _throughput(capacity, top), target, capacity_target_gib, "throughput")
