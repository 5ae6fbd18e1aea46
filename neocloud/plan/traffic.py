"""The traffic regulator's ramp: how many requests per second the gateway admits, as a pure function of what the
inference backends did (their ready endpoints over time, and the operator's outage declarations).

This file imports only the standard library on purpose: the in-cluster ramp controller
(``components/kubernetes/ramp_controller.py``) runs it unchanged from a ConfigMap on a stock Python image, so the
decisions tested here are the decisions made in the cluster.

Why a ramp of our own, on top of Envoy's slow start: slow start scales the load-balancing *weight* of endpoints
that are new among existing ones, and Envoy's docs say it "is not very effective" when all endpoints are new, "as
all endpoints end up getting same amount of requests" (Envoy docs, "Slow start mode",
https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/slow_start). After an
outage every endpoint is new, so the only lever left is the rate the gateway admits at all. Slow start stays on for
partial restarts and scale-out (one or two new endpoints among warm ones), which is the case it was built for.

The model, per backend Service:

- ``down``: no ready endpoint, or the operator declared an outage. The gateway is pre-armed at the floor, so the
  first requests after the backend comes back meet the floor even before the controller reacts.
- ``ramping``: ready endpoints are back; the admitted rate rises linearly from ``floor`` to ``full`` over
  ``window_seconds`` (time since the resume was observed).
- ``steady``: the ramp finished; ``full`` is admitted.

A second outage mid-ramp sends the backend back to ``down`` and the next resume starts again from the floor (the
servers are cold again). Scale-out during a ramp does not restart it: the new endpoints are new among warm ones,
which Envoy's slow start handles. With ``per_replica`` set (the capacity-aware option), the admitted rate is also
capped by ``ready endpoints x per_replica``, so a ramp never admits more than the ready replicas can serve.

Several backends behind one Gateway share one limit (one BackendTrafficPolicy on the Gateway; Envoy Gateway
still gives each route its own bucket at that limit, per its "Local Rate Limit" task): the regulator admits the
lowest rate any backend's state allows.

State survives a controller restart: ``encode_states`` is stored as an annotation on the BackendTrafficPolicy and
``decode_states`` reads it back; times are wall-clock seconds (``time.time()``) for that reason. A clock that steps
backwards counts as no time elapsed (the rate holds at the floor side, never jumps up).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "DEFAULT_FLOOR_FRACTION",
    "DOWN",
    "RAMPING",
    "STATE_VERSION",
    "STEADY",
    "BackendState",
    "Observation",
    "RampConfig",
    "admitted_rate",
    "capacity",
    "decode_states",
    "default_floor",
    "encode_states",
    "initial_state",
    "observe",
    "ramp_curve",
    "regulator_rate",
    "replay",
]

DOWN = "down"
RAMPING = "ramping"
STEADY = "steady"
_PHASES = (DOWN, RAMPING, STEADY)

STATE_VERSION = 1
"""Version of the persisted state document (``encode_states``)."""

DEFAULT_FLOOR_FRACTION = 0.1
"""Default floor as a fraction of the full rate: 10%, the same share Envoy's slow start gives a new endpoint at
the start of its window by default (``min_weight_percent`` defaults to 10%, Envoy docs "Slow start mode")."""


def default_floor(full: int) -> int:
    """The default floor for a full rate: 10% of it, rounded up, at least 1 request per second."""
    return max(1, math.ceil(full * DEFAULT_FLOOR_FRACTION))


@dataclass(frozen=True)
class RampConfig:
    """The ramp's settings (requests per second are per route and per Envoy proxy replica: local rate limits)."""

    floor: int
    """Admitted rate at the moment a backend resumes (and while it is down)."""
    full: int
    """Admitted rate once the ramp is over."""
    window_seconds: int
    """Time from floor to full."""
    per_replica: int | None = None
    """Capacity-aware cap: at most ``ready endpoints x per_replica`` is admitted (``None``: time only)."""
    step_seconds: int = 5
    """How often the controller re-evaluates (the limit is a staircase under the line, steps this long)."""

    def __post_init__(self) -> None:
        if not 1 <= self.floor <= self.full:
            raise ValueError(f"ramp floor {self.floor} must be between 1 and the full rate {self.full}")
        if self.window_seconds < 1:
            raise ValueError(f"ramp window {self.window_seconds} s must be at least 1 s")
        if self.per_replica is not None and self.per_replica < 1:
            raise ValueError(f"per-replica rate {self.per_replica} must be at least 1")
        if not 1 <= self.step_seconds <= self.window_seconds:
            raise ValueError(f"ramp step {self.step_seconds} s must be between 1 s and the window")

    def to_dict(self) -> dict[str, Any]:
        return {"floor": self.floor, "full": self.full, "window_seconds": self.window_seconds,
                "per_replica": self.per_replica, "step_seconds": self.step_seconds}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RampConfig:
        per_replica = data.get("per_replica")
        return cls(floor=int(data["floor"]), full=int(data["full"]), window_seconds=int(data["window_seconds"]),
                   per_replica=None if per_replica is None else int(per_replica),
                   step_seconds=int(data.get("step_seconds", 5)))


@dataclass(frozen=True)
class BackendState:
    """What the regulator remembers about one backend Service."""

    phase: str
    """``down``, ``ramping`` or ``steady``."""
    since: float
    """Wall-clock time (seconds) the phase began; for ``ramping``, when the resume was observed."""
    ready: int
    """Ready endpoints at the last observation."""


@dataclass(frozen=True)
class Observation:
    """One look at a backend: its ready endpoints at a time, and whether the operator declared an outage."""

    at: float
    ready: int
    outage_declared: bool = False


def initial_state(at: float) -> BackendState:
    """A backend the regulator knows nothing about is treated as coming back from an outage: the policy is created
    at the floor, so the first resume it sees ramps from there instead of admitting the full rate cold."""
    return BackendState(DOWN, at, 0)


def observe(state: BackendState, observation: Observation, config: RampConfig) -> BackendState:
    """The state after ``observation`` (observations must be fed in time order; ticks with unchanged counts are
    observations too, they finish ramps)."""
    at, ready = observation.at, max(0, observation.ready)
    if observation.outage_declared or ready == 0:
        if state.phase == DOWN:
            return replace(state, ready=ready)
        return BackendState(DOWN, at, ready)
    if state.phase == DOWN:
        return BackendState(RAMPING, at, ready)
    if state.phase == RAMPING and at - state.since >= config.window_seconds:
        return BackendState(STEADY, state.since + config.window_seconds, ready)
    return replace(state, ready=ready)


def replay(observations: Iterable[Observation], config: RampConfig, state: BackendState) -> BackendState:
    """``state`` after each observation in turn."""
    for observation in observations:
        state = observe(state, observation, config)
    return state


def ramp_curve(elapsed: float, config: RampConfig) -> int:
    """The time-only ramp ``elapsed`` seconds after a resume: linear from floor to full over the window, rounded
    down (the admitted rate is never above the line); negative elapsed time (a clock stepping back) is the floor."""
    fraction = min(1.0, max(0.0, elapsed) / config.window_seconds)
    return config.floor + math.floor((config.full - config.floor) * fraction)


def capacity(ready: int, config: RampConfig) -> int | None:
    """What ``ready`` endpoints can serve (``None`` without the capacity-aware option)."""
    if config.per_replica is None:
        return None
    return max(0, ready) * config.per_replica


def admitted_rate(state: BackendState, now: float, config: RampConfig) -> int:
    """Requests per second to admit for one backend at ``now``."""
    if state.phase == DOWN:
        # Pre-armed for the first endpoint that comes back.
        rate = config.floor
        ready_for_cap = 1
    elif state.phase == RAMPING:
        rate = ramp_curve(now - state.since, config)
        ready_for_cap = state.ready
    else:
        rate = config.full
        ready_for_cap = state.ready
    cap = capacity(ready_for_cap, config)
    return rate if cap is None else min(rate, cap)


def regulator_rate(states: Mapping[str, BackendState], now: float, config: RampConfig) -> int:
    """The one limit of a Gateway's policy: the lowest rate any backend allows (the floor with no backend)."""
    if not states:
        return admitted_rate(initial_state(now), now, config)
    return min(admitted_rate(s, now, config) for s in states.values())


def encode_states(states: Mapping[str, BackendState]) -> str:
    """The persisted form (an annotation value): compact JSON, keys sorted, deterministic."""
    return json.dumps({
        "version": STATE_VERSION,
        "backends": {name: {"phase": s.phase, "since": s.since, "ready": s.ready}
                     for name, s in sorted(states.items())},
    }, sort_keys=True, separators=(",", ":"))


def decode_states(text: str | None, backends: Iterable[str], at: float) -> dict[str, BackendState]:
    """States for ``backends`` from a persisted document; a backend missing from it, or a document that is
    absent, malformed or of another version, starts from ``initial_state(at)`` (the conservative side)."""
    known: dict[str, Any] = {}
    if text:
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict) and document.get("version") == STATE_VERSION:
            raw = document.get("backends")
            known = raw if isinstance(raw, dict) else {}
    out: dict[str, BackendState] = {}
    for name in backends:
        out[name] = _state_from(known.get(name)) or initial_state(at)
    return out


def _state_from(raw: Any) -> BackendState | None:
    if not isinstance(raw, dict) or raw.get("phase") not in _PHASES:
        return None
    since, ready = raw.get("since"), raw.get("ready")
    if isinstance(since, bool) or not isinstance(since, int | float) or not math.isfinite(since):
        return None
    if isinstance(ready, bool) or not isinstance(ready, int) or ready < 0:
        return None
    return BackendState(str(raw["phase"]), float(since), ready)
