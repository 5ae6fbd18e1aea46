"""Power: IT kW per rack and per pool, facility kW through a configurable PUE."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from ..catalog import GPUS, System

__all__ = ["PoolPower", "pool_power"]

PowerBasis = Literal["node-max", "rack", "gpu-tdp-only"]


@dataclass(frozen=True, slots=True)
class PoolPower:
    """IT power of one pool. ``basis`` says how it was estimated.

    ``node-max``: catalog node maximum power x nodes; ``rack``: NVL72 rack power x racks; ``gpu-tdp-only``:
    where the node power is not verified (cloud instances, OEM chassis), GPU board power x GPUs -- a lower
    bound that leaves out CPUs, NICs, fans and switches.
    """

    it_kw: float
    facility_kw: float
    basis: PowerBasis

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pool_power(*, system: System, nodes: int, racks: int, pue: float) -> PoolPower:
    """Power of ``nodes`` nodes (spares included: they are powered on)."""
    if system.kind == "nvl72-rack" and system.rack_power_kw is not None:
        it, basis = system.rack_power_kw * racks, "rack"
    elif system.node_power_kw is not None:
        it, basis = system.node_power_kw * nodes, "node-max"
    else:
        tdp = GPUS[system.gpu].tdp_w or 0.0
        it, basis = tdp * system.gpus_per_node * nodes / 1000, "gpu-tdp-only"
    return PoolPower(it_kw=round(it, 3), facility_kw=round(it * pue, 3), basis=basis)  # type: ignore[arg-type]
