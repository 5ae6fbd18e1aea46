"""Goodput planning: the numbers checked by hand for the dev stack, the model's properties, and the spec and
``plan --json`` surface."""

from __future__ import annotations

import json
import math

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from neocloud.cli import main
from neocloud.errors import SpecError
from neocloud.plan import FailureModel, build_plan, plan_goodput, poisson_spares, young_interval_seconds
from neocloud.spec import load_cluster_spec
from tests.conftest import REPO

LLAMA3 = FailureModel(interruptions=419, days=54, gpus=16_384, source="Llama 3", hardware_share=0.78,
                      restart_minutes=10, replacement_hours=24, spare_confidence=0.99)


def stack_spec(stack: str) -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]["neocloud:cluster"]


def test_dev_stack_by_hand() -> None:
    """dev: 2 x p5.48xlarge = 16 H100; an 8B-parameter checkpoint (8e9 x 16 B = 128 GB) on an FSx 'good' tier
    sized for 16 GPUs: 7 GB/s x 16/256 = 0.4375 GB/s is below the tier's single-node write figure (H100RA Table 6:
    2 GB/s), so the target is 2 GB/s and the write takes 128 / 2 = 64 s."""
    plan = build_plan(load_cluster_spec(stack_spec("dev")))
    assert plan.storage.checkpoint_write_seconds == 64.0
    g = plan.pools[0].goodput
    assert g is not None
    # Llama 3: 419 / (54 days x 16,384 GPUs) = 4.7359e-4 interruptions per GPU-day; x 16 GPUs = 0.0075774 per day.
    assert g.interruptions_per_day == 0.0076
    # MTBF = 86,400 s / 0.0075774 = 11,402,326 s = 3,167.31 h.
    assert g.mtbf_hours == 3167.31
    # Young: sqrt(2 x 64 s x 11,402,326 s) = sqrt(1.45950e9) = 38,203.4 s = 636.7 min.
    assert g.checkpoint_interval_minutes == 636.7
    # goodput = 38,203.4 / (38,203.4 + 64) x (1 - ((38,267.4) / 2 + 600 s restart) / 11,402,326)
    #         = 0.998328 x (1 - 19,733.7 / 11,402,326) = 0.998328 x 0.998269 = 0.99660
    assert g.expected == 0.9966
    # Node failures: 0.0075774 x 78% hardware = 0.005910 per day; out at once over a 24 h replacement:
    # Poisson mean 0.005910, P(0) = e^-0.005910 = 0.99411 >= 0.99, so no spare is needed.
    assert (g.node_failures_per_day, g.spares_recommended, g.spares) == (0.0059, 0, 0)


def test_prod_stack_needs_two_spares() -> None:
    """prod: 124 + 4 p5.48xlarge; 992 schedulable GPUs x 4.7359e-4 = 0.4698 interruptions/day, x 78% = 0.36644 node
    failures per day; over 24 h Poisson(0.36644): P(<=1) = 0.9472 < 0.99 <= P(<=2) = 0.9938, so 2 spares."""
    g = build_plan(load_cluster_spec(stack_spec("prod"))).pools[0].goodput
    assert g is not None
    assert (g.interruptions_per_day, g.spares_recommended, g.spares) == (0.4698, 2, 4)


def test_failure_rate_is_configurable_per_stack() -> None:
    raw = stack_spec("dev")
    raw["goodput"] = {"failure_rate": {"interruptions": 10, "days": 1, "gpus": 16, "source": "our own fleet"},
                      "restart_minutes": 30, "replacement_hours": 72}
    g = build_plan(load_cluster_spec(raw)).pools[0].goodput
    assert g is not None
    # 10 per day on 16 GPUs: MTBF 8,640 s; tau = sqrt(2 x 64 x 8640) = 1,051.6 s = 17.5 min.
    assert (g.interruptions_per_day, g.mtbf_hours, g.checkpoint_interval_minutes) == (10.0, 2.4, 17.5)
    # goodput = 1051.6 / 1115.6 x (1 - (557.8 + 1800) / 8640) = 0.94263 x 0.72711 = 0.6854
    assert g.expected == pytest.approx(0.6854, abs=1e-4)
    assert g.source == "our own fleet"


def test_instant_checkpoint_loses_only_restarts() -> None:
    # 12,500-node plans size storage so the checkpoint write rounds to 0 s.
    g = plan_goodput(gpus=16_384, spares=0, model=LLAMA3, write_seconds=0.0)
    # 419 / 54 interruptions per day x 10 min restart = 7.759 x 600 s / 86,400 s = 5.39% lost.
    assert (g.checkpoint_interval_minutes, g.expected) == (0.0, pytest.approx(1 - 7.7593 * 600 / 86_400, abs=1e-4))


def test_no_checkpoint_means_no_interval_and_no_goodput() -> None:
    g = plan_goodput(gpus=256, spares=0, model=LLAMA3, write_seconds=None)
    assert (g.checkpoint_interval_minutes, g.expected) == (None, None)
    assert g.interruptions_per_day == pytest.approx(419 / 54 / 64, abs=1e-4)


@pytest.mark.parametrize(("path", "value", "message"), [
    ("hardware_share", 1.5, "neocloud:cluster.goodput.hardware_share: got 1.5; allowed: a number <= 1.0"),
    ("spare_confidence", 1, "neocloud:cluster.goodput.spare_confidence: got 1; allowed: a number < 1.0"),
    ("replacement_hours", 0, "neocloud:cluster.goodput.replacement_hours: got 0; allowed: a number > 0.0"),
])
def test_bad_goodput_settings_name_their_path(path, value, message) -> None:
    raw = stack_spec("dev")
    raw["goodput"] = {path: value}
    with pytest.raises(SpecError) as error:
        load_cluster_spec(raw)
    assert str(error.value) == message


def test_bad_failure_rate_names_its_path() -> None:
    raw = stack_spec("dev")
    raw["goodput"] = {"failure_rate": {"gpus": 0}}
    with pytest.raises(SpecError) as error:
        load_cluster_spec(raw)
    assert str(error.value).startswith("neocloud:cluster.goodput.failure_rate.gpus: got 0; ")


@given(write=st.floats(1, 3600), mtbf=st.floats(3600, 1e8))
def test_young_interval_minimizes_first_order_waste(write: float, mtbf: float) -> None:
    """Young's interval is the minimum of the first-order waste write/tau + tau/(2 MTBF)."""
    tau = young_interval_seconds(write_seconds=write, mtbf_seconds=mtbf)

    def waste(t: float) -> float:
        return write / t + t / (2 * mtbf)

    assert waste(tau) <= waste(tau * 1.1) + 1e-12 and waste(tau) <= waste(tau / 1.1) + 1e-12


@given(gpus=st.integers(8, 100_000), write=st.floats(10, 1800))
def test_goodput_falls_as_the_job_grows(gpus: int, write: float) -> None:
    small = plan_goodput(gpus=gpus, spares=0, model=LLAMA3, write_seconds=write)
    large = plan_goodput(gpus=gpus * 2, spares=0, model=LLAMA3, write_seconds=write)
    assert small.expected is not None and large.expected is not None
    assert 0 <= large.expected <= small.expected <= 1
    assert large.spares_recommended >= small.spares_recommended


@given(mean=st.floats(0, 50), confidence=st.floats(0.5, 0.999))
def test_poisson_spares_is_the_smallest_cover(mean: float, confidence: float) -> None:
    k = poisson_spares(mean=mean, confidence=confidence)

    def cdf(n: int) -> float:
        return sum(math.exp(-mean) * mean**i / math.factorial(i) for i in range(n + 1))

    assert cdf(k) >= confidence - 1e-9
    assert k == 0 or cdf(k - 1) < confidence


def test_plan_json_and_text_show_goodput(capsys) -> None:
    assert main(["plan", "dev", "--json", "--project-dir", str(REPO)]) == 0
    doc = json.loads(capsys.readouterr().out)
    entry = doc["goodput"]["train"]
    assert {"interruptions_per_day", "checkpoint_interval_minutes", "expected", "spares_recommended"} <= set(entry)
    assert (entry["expected"], entry["checkpoint_interval_minutes"]) == (0.9966, 636.7)
    assert main(["plan", "dev", "--project-dir", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert ("goodput: 0.0076 interruptions/day (MTBF 3167.31 h); checkpoint every 636.7 min (Young/Daly, 1.07 min "
            "write), expected goodput 99.7%; 0 spares recommended for 24 h replacement (has 0)") in out
    assert "failure rate: Llama 3 (arXiv 2407.21783, section 3.3.4): 419 unexpected interruptions in 54 days" in out
