"""Goodput planning: how often a pool's job is interrupted, how often it should checkpoint, what share of its time
is useful work, and how many hot spares keep it whole.

The model (first order, the one the checkpointing literature and Meta's Llama 3 report reason with):

- **Failure rate.** An observed rate -- by default Llama 3's 419 unexpected interruptions in 54 days on 16,384 H100
  (arXiv 2407.21783, section 3.3.4), about one every 3 hours -- scaled per GPU, assuming independent failures: a
  job on ``g`` GPUs sees ``rate x g`` interruptions per day and a mean time between failures ``M = 1 / that``.
- **Checkpoint interval.** Young's optimum ``tau = sqrt(2 x delta x M)`` for a checkpoint that takes ``delta`` to
  write (J. W. Young, "A first order approximation to the optimum checkpoint interval", CACM 17(9), 1974; J. T.
  Daly, "A higher order estimate of the optimum checkpoint interval for restart dumps", FGCS 22(3), 2006, whose
  first-order term is the same). ``delta`` is the plan's own checkpoint write time (size / filesystem write GB/s).
- **Expected goodput.** Of each ``tau + delta`` segment, ``tau`` is work; each failure (rate ``1/M``) loses on
  average half a segment plus the restart time ``R``: ``goodput = tau / (tau + delta) x (1 - ((tau + delta) / 2 +
  R) / M)``, clamped to [0, 1].
- **Spares.** Interruptions with a hardware cause (Llama 3: ~78%) take a node out for the replacement time ``T``;
  nodes out at once are Poisson with mean ``failures per day x T`` (Little's law), and the recommendation is the
  smallest spare count that covers them with the configured probability.

Pure: no Pulumi imports, plain values in and out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import exp, sqrt
from typing import Any

__all__ = ["FailureModel", "PoolGoodput", "plan_goodput", "poisson_spares", "young_interval_seconds"]

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class FailureModel:
    """The failure-planning inputs (``spec.goodput``), plain values."""

    interruptions: float
    days: float
    gpus: int
    source: str
    hardware_share: float
    restart_minutes: float
    replacement_hours: float
    spare_confidence: float

    @property
    def per_gpu_day(self) -> float:
        return self.interruptions / (self.days * self.gpus)


@dataclass(frozen=True, slots=True)
class PoolGoodput:
    """A pool's failure plan (the ``goodput`` entry of ``plan --json``)."""

    interruptions_per_day: float
    mtbf_hours: float | None
    checkpoint_interval_minutes: float | None
    """Young/Daly optimum; ``None`` without a planned checkpoint (``storage.checkpoint``)."""
    checkpoint_write_minutes: float | None
    expected: float | None
    """Expected goodput fraction; ``None`` without a planned checkpoint."""
    node_failures_per_day: float
    spares_recommended: int
    spares: int
    replacement_hours: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def young_interval_seconds(*, write_seconds: float, mtbf_seconds: float) -> float:
    """Young's optimum checkpoint interval, ``sqrt(2 x write time x MTBF)``."""
    return sqrt(2.0 * write_seconds * mtbf_seconds)


def poisson_spares(*, mean: float, confidence: float) -> int:
    """Smallest ``k`` with P(Poisson(mean) <= k) >= confidence."""
    if mean <= 0:
        return 0
    term = exp(-mean)
    cumulative, k = term, 0
    while cumulative < confidence and k < 100_000:
        k += 1
        term *= mean / k
        cumulative += term
    return k


def plan_goodput(*, gpus: int, spares: int, model: FailureModel, write_seconds: float | None) -> PoolGoodput:
    """The failure plan for a pool whose job spans ``gpus`` schedulable GPUs."""
    per_day = model.per_gpu_day * gpus
    mtbf = SECONDS_PER_DAY / per_day if per_day > 0 else None
    node_failures = per_day * model.hardware_share
    recommended = poisson_spares(mean=node_failures * model.replacement_hours / 24.0,
                                 confidence=model.spare_confidence)
    interval = expected = None
    if write_seconds is not None and mtbf is not None:
        tau = young_interval_seconds(write_seconds=write_seconds, mtbf_seconds=mtbf)
        segment = tau + write_seconds
        lost_per_failure = segment / 2.0 + model.restart_minutes * 60.0
        # A write time that rounds to 0 s costs nothing per checkpoint: only restarts lose time.
        work_share = tau / segment if segment > 0 else 1.0
        expected = max(0.0, min(1.0, work_share * (1.0 - lost_per_failure / mtbf)))
        interval = tau / 60.0
    return PoolGoodput(
        interruptions_per_day=round(per_day, 4),
        mtbf_hours=None if mtbf is None else round(mtbf / 3600.0, 2),
        checkpoint_interval_minutes=None if interval is None else round(interval, 1),
        checkpoint_write_minutes=None if write_seconds is None else round(write_seconds / 60.0, 2),
        expected=None if expected is None else round(expected, 4),
        node_failures_per_day=round(node_failures, 4),
        spares_recommended=recommended,
        spares=spares,
        replacement_hours=model.replacement_hours,
        source=model.source,
    )
