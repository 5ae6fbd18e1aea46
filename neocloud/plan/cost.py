"""Cost: your $/GPU-hour times GPUs (spares included: they are paid for). No price is built in."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["HOURS_PER_MONTH", "PoolCost", "pool_cost"]

HOURS_PER_MONTH = 730.0
"""365 x 24 / 12."""


@dataclass(frozen=True, slots=True)
class PoolCost:
    """Cost of one pool at the configured price; ``None`` amounts where no price is configured."""

    price_per_gpu_hour: float | None
    per_hour: float | None
    per_month: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pool_cost(*, gpus: int, price_per_gpu_hour: float | None) -> PoolCost:
    if price_per_gpu_hour is None:
        return PoolCost(None, None, None)
    hourly = gpus * price_per_gpu_hour
    return PoolCost(price_per_gpu_hour, round(hourly, 2), round(hourly * HOURS_PER_MONTH, 2))
