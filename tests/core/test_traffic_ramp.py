"""The traffic regulator's ramp decisions (neocloud/plan/traffic.py), point by point, on the scenarios a serving
team meets: cold start, a flapping backend, a second outage mid-ramp, scale-out during a ramp, a controller
restart mid-ramp, an operator-declared outage. No Pulumi, no cluster: the same pure functions the in-cluster
controller runs from its ConfigMap.

Staging's settings: full 200 req/s, window 120 s, default floor 20 req/s, so the line is 20 + 1.5 x elapsed."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.plan import traffic
from neocloud.plan.traffic import (
    DOWN,
    RAMPING,
    STEADY,
    BackendState,
    Observation,
    RampConfig,
    admitted_rate,
    decode_states,
    default_floor,
    encode_states,
    initial_state,
    observe,
    ramp_curve,
    regulator_rate,
)

STAGING = RampConfig(floor=20, full=200, window_seconds=120)

Event = tuple[float, int] | tuple[float, int, bool]
"""(time, ready endpoints[, outage declared]) from the backend's EndpointSlices / the policy's annotation."""


def _timeline(events: Sequence[Event], samples: Sequence[float], config: RampConfig = STAGING,
              start: BackendState | None = None) -> list[tuple[float, int, str]]:
    """What the controller does: feed every event in time order and, at each sample time (a controller tick), an
    observation of the current count; record (time, admitted rate, phase) at each sample."""
    state = start or initial_state(0.0)
    ready, declared = state.ready, False
    pending = sorted(events, key=lambda e: e[0])
    out = []
    for t in samples:
        while pending and pending[0][0] <= t:
            event = pending.pop(0)
            ready = event[1]
            declared = bool(event[2]) if len(event) > 2 else declared  # type: ignore[misc]
            state = observe(state, Observation(event[0], ready, declared), config)
        state = observe(state, Observation(t, ready, declared), config)
        out.append((t, admitted_rate(state, t, config), state.phase))
    return out


def test_default_floor_is_a_tenth_of_full_like_envoy_slow_start_min_weight() -> None:
    assert default_floor(200) == 20
    assert default_floor(5) == 1 and default_floor(1) == 1
    assert default_floor(55) == 6  # rounded up


def test_ramp_curve_is_linear_from_floor_to_full_and_never_above_the_line() -> None:
    assert [ramp_curve(e, STAGING) for e in (0, 10, 30, 60, 90, 119, 120, 500)] == [
        20, 35, 65, 110, 155, 198, 200, 200]
    assert ramp_curve(-30, STAGING) == 20  # a clock that stepped back: no time elapsed
    assert ramp_curve(0.9, STAGING) == 21  # 20 + 1.35, rounded down


def test_cold_start_ramps_from_the_floor_when_endpoints_first_become_ready() -> None:
    # The policy is created at the floor and nothing is ready; two replicas become Ready at t=100.
    curve = _timeline([(100, 2)], [0, 50, 100, 110, 130, 160, 190, 219, 220, 300])
    assert curve == [
        (0, 20, DOWN), (50, 20, DOWN),
        (100, 20, RAMPING), (110, 35, RAMPING), (130, 65, RAMPING), (160, 110, RAMPING), (190, 155, RAMPING),
        (219, 198, RAMPING), (220, 200, STEADY), (300, 200, STEADY),
    ]


def test_flapping_backend_restarts_from_the_floor_on_every_return() -> None:
    # Ready at 0, gone at 20, back at 25, gone at 40, back at 45, then stable.
    events = [(0, 2), (20, 0), (25, 2), (40, 0), (45, 2)]
    curve = _timeline(events, [0, 10, 19, 20, 24, 25, 35, 40, 45, 55, 105, 164, 165, 200])
    assert curve == [
        (0, 20, RAMPING), (10, 35, RAMPING), (19, 48, RAMPING),
        (20, 20, DOWN), (24, 20, DOWN),
        (25, 20, RAMPING), (35, 35, RAMPING),
        (40, 20, DOWN),
        (45, 20, RAMPING), (55, 35, RAMPING), (105, 110, RAMPING), (164, 198, RAMPING),
        (165, 200, STEADY), (200, 200, STEADY),
    ]


def test_a_flap_between_ticks_is_not_missed() -> None:
    # Endpoints vanish at 31 and return at 32, between two ticks 5 s apart: the watch events are observations.
    curve = _timeline([(0, 3), (31, 0), (32, 3)], [0, 30, 35, 92])
    assert curve == [(0, 20, RAMPING), (30, 65, RAMPING), (35, 24, RAMPING), (92, 110, RAMPING)]


def test_second_outage_mid_ramp_drops_to_the_floor_and_ramps_again() -> None:
    events = [(0, 4), (60, 0), (90, 4)]
    curve = _timeline(events, [0, 30, 59, 60, 75, 90, 120, 150, 209, 210, 240])
    assert curve == [
        (0, 20, RAMPING), (30, 65, RAMPING), (59, 108, RAMPING),
        (60, 20, DOWN), (75, 20, DOWN),
        (90, 20, RAMPING), (120, 65, RAMPING), (150, 110, RAMPING), (209, 198, RAMPING),
        (210, 200, STEADY), (240, 200, STEADY),
    ]


def test_scale_out_during_a_ramp_keeps_the_ramp_going() -> None:
    # One replica resumes at 0; three more join at 30. Envoy's slow start warms the new ones among the warm one;
    # the gateway's ramp is not restarted.
    curve = _timeline([(0, 1), (30, 4)], [0, 29, 30, 60, 119, 120, 150])
    assert curve == [(0, 20, RAMPING), (29, 63, RAMPING), (30, 65, RAMPING), (60, 110, RAMPING),
                     (119, 198, RAMPING), (120, 200, STEADY), (150, 200, STEADY)]


def test_capacity_aware_ramp_never_admits_more_than_ready_replicas_serve() -> None:
    config = RampConfig(floor=20, full=200, window_seconds=120, per_replica=40)
    # One replica at 0 (serves 40 req/s), four from 30 (160), six from 130 (240 > full).
    curve = _timeline([(0, 1), (30, 4), (130, 6)], [0, 10, 20, 29, 30, 60, 110, 120, 129, 130], config)
    assert curve == [
        (0, 20, RAMPING), (10, 35, RAMPING), (20, 40, RAMPING), (29, 40, RAMPING),  # capped by 1 x 40
        (30, 65, RAMPING), (60, 110, RAMPING), (110, 160, RAMPING),  # 185 on the line, capped by 4 x 40
        (120, 160, STEADY), (129, 160, STEADY), (130, 200, STEADY),
    ]
    # Scale-in to one replica caps the steady rate again; losing the last one is an outage.
    state = observe(BackendState(STEADY, 0.0, 6), Observation(200, 1), config)
    assert (state.phase, admitted_rate(state, 200, config)) == (STEADY, 40)
    state = observe(state, Observation(210, 0), config)
    assert (state.phase, admitted_rate(state, 210, config)) == (DOWN, 20)  # pre-armed: min(floor, 1 x 40)


def test_capacity_cap_applies_to_the_floor_too() -> None:
    config = RampConfig(floor=20, full=200, window_seconds=120, per_replica=8)
    assert _timeline([(10, 1), (20, 3)], [0, 10, 20, 60], config) == [
        (0, 8, DOWN), (10, 8, RAMPING), (20, 24, RAMPING), (60, 24, RAMPING)]


def test_controller_restart_mid_ramp_continues_the_same_curve_from_the_annotation() -> None:
    events = [(100, 2)]
    samples = [100, 130, 160, 175, 190, 220]
    uninterrupted = _timeline(events, samples)
    # The controller runs until 130, persists its state on the policy, dies, and a new pod starts at 175.
    before = _timeline(events, [100, 130])
    state = initial_state(0.0)
    for t in (100, 130):
        state = observe(state, Observation(t, 2), STAGING)
    annotation = encode_states({"llama": state})
    restored = decode_states(annotation, ["llama"], at=175)["llama"]
    assert restored == state
    after = _timeline([], [175, 190, 220], start=restored)
    assert before + after == [p for p in uninterrupted if p[0] != 160]
    assert after == [(175, 132, RAMPING), (190, 155, RAMPING), (220, 200, STEADY)]


def test_outage_during_controller_downtime_seen_on_restart() -> None:
    state = BackendState(RAMPING, 100.0, 2)
    restored = decode_states(encode_states({"llama": state}), ["llama"], at=150)["llama"]
    # The restarted controller's watch starts with the current slices: nothing ready.
    curve = _timeline([(150, 0), (170, 2)], [150, 170, 230], start=restored)
    assert curve == [(150, 20, DOWN), (170, 20, RAMPING), (230, 110, RAMPING)]


def test_operator_declared_outage_forces_the_floor_until_cleared() -> None:
    # Steady with 4 ready replicas that answer Ready but serve errors: the operator declares an outage at 300
    # and clears it at 400; the ramp starts when the declaration is cleared.
    events = [(0, 4), (300, 4, True), (400, 4, False)]
    curve = _timeline(events, [0, 200, 300, 350, 400, 460, 520])
    assert curve == [(0, 20, RAMPING), (200, 200, STEADY), (300, 20, DOWN), (350, 20, DOWN),
                     (400, 20, RAMPING), (460, 110, RAMPING), (520, 200, STEADY)]


def test_clock_stepping_back_holds_the_floor_side() -> None:
    state = BackendState(RAMPING, 1000.0, 2)
    assert admitted_rate(state, 990.0, STAGING) == 20
    assert observe(state, Observation(990.0, 2), STAGING).phase == RAMPING


def test_unknown_or_corrupt_state_starts_conservatively() -> None:
    fresh = initial_state(50.0)
    assert decode_states(None, ["a"], at=50.0) == {"a": fresh}
    assert decode_states("not json", ["a"], at=50.0) == {"a": fresh}
    assert decode_states('{"version": 99, "backends": {}}', ["a"], at=50.0) == {"a": fresh}
    bad = '{"version": 1, "backends": {"a": {"phase": "warp", "since": 1, "ready": 1}, ' \
          '"b": {"phase": "steady", "since": "x", "ready": 1}}}'
    assert decode_states(bad, ["a", "b"], at=50.0) == {"a": fresh, "b": fresh}
    # A backend added since the state was written starts from the floor; known ones keep their state.
    known = encode_states({"a": BackendState(STEADY, 1.0, 3)})
    assert decode_states(known, ["a", "b"], at=50.0) == {"a": BackendState(STEADY, 1.0, 3), "b": fresh}


def test_several_backends_share_the_lowest_rate() -> None:
    states = {"chat": BackendState(STEADY, 0.0, 4), "embed": BackendState(RAMPING, 100.0, 1)}
    assert regulator_rate(states, 160.0, STAGING) == 110
    assert regulator_rate({"chat": BackendState(STEADY, 0.0, 4)}, 160.0, STAGING) == 200
    assert regulator_rate({}, 160.0, STAGING) == 20


def test_config_rejects_impossible_ramps() -> None:
    for bad in ({"floor": 0, "full": 10, "window_seconds": 10}, {"floor": 11, "full": 10, "window_seconds": 10},
                {"floor": 1, "full": 10, "window_seconds": 0},
                {"floor": 1, "full": 10, "window_seconds": 10, "per_replica": 0},
                {"floor": 1, "full": 10, "window_seconds": 10, "step_seconds": 11}):
        with pytest.raises(ValueError):
            RampConfig(**bad)  # type: ignore[arg-type]
    assert RampConfig.from_dict(STAGING.to_dict()) == STAGING


def test_envoy_slow_start_gives_no_relief_when_every_endpoint_is_new() -> None:
    """Envoy's documented slow-start weight (docs "Slow start mode"): NewWeight = Weight x max(MinWeightPercent,
    TimeFactor^(1/Aggression)), TimeFactor = max(TimeSinceStart, 1) / Window. With N endpoints all new (after an
    outage) their weights are equal at every instant, so each still gets 1/N of *all* admitted requests: the load
    on the cold backend is unchanged. That is why the regulator ramps the admitted rate itself."""

    def weight(since_start: float, window: float, aggression: float = 1.0, min_weight: float = 0.1) -> float:
        time_factor = max(since_start, 1.0) / window
        return max(min_weight, time_factor ** (1 / aggression)) if since_start < window else 1.0

    for t in (0, 10, 60, 119):
        weights = [weight(t, 120) for _ in range(4)]
        shares = [w / sum(weights) for w in weights]
        assert shares == [0.25] * 4  # every endpoint, every instant: a quarter of the full offered load
    # One new endpoint among three warm ones (scale-out, a partial restart) does get a reduced share:
    weights = [1.0, 1.0, 1.0, weight(10, 120)]
    assert weights[3] / sum(weights) < 0.05


def test_the_ramp_module_runs_on_a_bare_python() -> None:
    """The controller ships this file in a ConfigMap onto a stock python image: standard library only."""
    tree = ast.parse(Path(traffic.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported <= {"__future__", "json", "math", "collections", "dataclasses", "typing"}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))


_events = st.lists(st.tuples(st.floats(0, 1000), st.integers(0, 8), st.booleans()), max_size=30)


@settings(max_examples=200, deadline=None)
@given(events=_events, per_replica=st.one_of(st.none(), st.integers(1, 100)))
def test_admitted_rate_stays_under_the_line_and_the_capacity(events: list[tuple[float, int, bool]],
                                                              per_replica: int | None) -> None:
    config = RampConfig(floor=20, full=200, window_seconds=120, per_replica=per_replica)
    state = initial_state(0.0)
    resumed_at: float | None = None
    for at, ready, declared in sorted(events):
        before = state.phase
        state = observe(state, Observation(at, ready, declared), config)
        if state.phase == RAMPING and before == DOWN:
            resumed_at = at
        if state.phase == DOWN:
            resumed_at = None
        rate = admitted_rate(state, at, config)
        assert 0 <= rate <= config.full
        if state.phase == DOWN:
            assert rate == min(config.floor, per_replica or config.floor)
        else:
            assert resumed_at is not None or state.phase == STEADY
            if resumed_at is not None:
                assert rate <= ramp_curve(at - resumed_at, config)
            if per_replica is not None:
                assert rate <= state.ready * per_replica
