"""Rules never pass because a fact they need is missing or mistyped on a resource they apply to: that is a
violation naming the fact (or an explicit not-applicable with a reason), and a misspelt config property makes
the rule fail loudly instead of running on its default. Each case runs the real pack over gRPC."""

from __future__ import annotations

from typing import Any

import pytest

from neocloud.offline.analyzer import AnalyzerError, PolicyPackProcess
from tests.policies.support import (
    BASE_AWS,
    BASE_BAREMETAL,
    analyze,
    facts_components,
    mutate,
    not_applicable,
    record,
    violations,
)

POOL = "neocloud:index:GpuPool"


def _facts_only(spec: dict[str, Any]) -> Any:
    return record(lambda: facts_components(spec))


def _edited(run: Any, change: Any) -> list[Any]:
    def edit(inputs: dict[str, Any]) -> None:
        change(inputs["neocloud"])

    return [mutate(r, edit) if r.type == POOL else r for r in run.resources]


def _drop(*path: str) -> Any:
    def change(facts: dict[str, Any]) -> None:
        target = facts
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def _set(value: Any, *path: str) -> Any:
    def change(facts: dict[str, Any]) -> None:
        target = facts
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


@pytest.fixture(scope="module")
def baremetal() -> Any:
    return _facts_only(BASE_BAREMETAL)


@pytest.mark.parametrize("change, said", [
    (_drop("fabric", "tiers"), "plan fact 'tiers' is missing"),
    (_set("two", "fabric", "tiers"), "plan fact 'tiers' is not a number (got 'two')"),
    (_set(1.5, "fabric", "tiers"), "plan fact 'tiers' is not a whole number >= 1 (got 1.5)"),
    (_drop("fabric", "leaf_uplinks"), "plan fact 'leaf_uplinks' is missing"),
    (_drop("fabric", "radix"), "plan fact 'radix' is missing"),
    (_set(None, "fabric", "spine"), "plan fact 'spine' is missing"),
])
def test_fabric_nonblocking_without_its_facts_is_a_violation(pack: PolicyPackProcess, baremetal: Any, change: Any,
                                                             said: str) -> None:
    result = analyze(pack, baremetal, resources=_edited(baremetal, change))
    [message] = violations(result, "fabric-nonblocking")
    assert message.startswith("pool 'h100': ") and said in message
    assert "cannot check it" in message


def test_fabric_nonblocking_without_fabric_or_kind_is_a_violation(pack: PolicyPackProcess) -> None:
    run = _facts_only(BASE_AWS)
    assert not_applicable(analyze(pack, run), "fabric-nonblocking") == [
        "pool 'train': the provider builds the fabric (efa)"]
    [message] = violations(analyze(pack, run, resources=_edited(run, _drop("fabric_kind"))), "fabric-nonblocking")
    assert "plan fact 'fabric_kind' is missing" in message


def test_a_gpu_pool_without_facts_is_a_violation(pack: PolicyPackProcess, baremetal: Any) -> None:
    resources = [mutate(r, lambda inputs: inputs.pop("neocloud")) if r.type == POOL else r
                 for r in baremetal.resources]
    result = analyze(pack, baremetal, resources=resources)
    for policy in ("fabric-nonblocking", "hot-spare-ratio", "rail-alignment", "nvlink-domain-whole", "goodput-floor",
                   "no-overlapping-gpu-pools"):
        [message] = violations(result, policy)
        assert "plan fact 'neocloud' is missing" in message


@pytest.mark.parametrize("change, said", [
    (_drop("scalable_units"), "plan fact 'scalable_units' is missing"),
    (_set([], "scalable_units"), "plan fact 'scalable_units' is not a non-empty list (got [])"),
    (_set("su0", "scalable_units"), "plan fact 'scalable_units' is not a list (got 'su0')"),
    (_set([{"index": 0, "nodes": 31}], "scalable_units"), "SU 0: plan fact 'spares' is missing"),
    (_set([{"index": 0, "nodes": "31", "spares": 2}], "scalable_units"), "plan fact 'nodes' is not a number"),
])
def test_hot_spare_ratio_without_its_facts_is_a_violation(pack: PolicyPackProcess, baremetal: Any, change: Any,
                                                          said: str) -> None:
    result = analyze(pack, baremetal, resources=_edited(baremetal, change))
    [message] = violations(result, "hot-spare-ratio")
    assert said in message


def test_hot_spare_ratio_su_with_no_nodes_is_a_violation(pack: PolicyPackProcess, baremetal: Any) -> None:
    change = _set([{"index": 0, "nodes": 0, "spares": 0}], "scalable_units")
    [message] = violations(analyze(pack, baremetal, resources=_edited(baremetal, change)), "hot-spare-ratio")
    assert message == "pool 'h100' SU 0: no nodes"


def test_a_misspelt_config_property_fails_the_rule_in_the_pack(pack: PolicyPackProcess, baremetal: Any) -> None:
    # Offline, reconcile_config refuses it first (tests/core/test_input_files.py); the engine does not (the SDK
    # sends no additionalProperties), so the rule itself refuses it. Configure the pack directly, as the engine.
    from neocloud.offline.analyzer import reconcile_config

    _, _, policies = pack.info()
    config = reconcile_config(policies, {})
    config["hot-spare-ratio"] = {**config["hot-spare-ratio"], "maxSparePrecent": 5}
    pack.configure(config)
    try:
        from pulumi.runtime.proto import analyzer_pb2

        from neocloud.offline.analyzer import _properties

        pool = next(r for r in baremetal.resources if r.type == POOL)
        request = analyzer_pb2.AnalyzeRequest(type=pool.type, properties=_properties(pool), urn=pool.urn,
                                              name=pool.name)
        with pytest.raises(AnalyzerError) as caught:
            pack._call(pack.stub.Analyze, request, pool.urn)
        assert "policy crashed: 'hot-spare-ratio' on " in str(caught.value)
        assert "unknown config property 'maxSparePrecent'" in str(caught.value)
    finally:
        pack.failed = False
        pack.configure(reconcile_config(policies, {}))


@pytest.mark.parametrize("fact", ["gpus_per_node", "rails"])
def test_rail_alignment_without_rails_or_gpus_is_a_violation(pack: PolicyPackProcess, baremetal: Any,
                                                             fact: str) -> None:
    result = analyze(pack, baremetal, resources=_edited(baremetal, _drop(fact)))
    assert f"pool 'h100': plan fact '{fact}' is missing" in "\n".join(violations(result, "rail-alignment"))


def test_nvlink_domain_whole_without_the_domain_size_is_a_violation(pack: PolicyPackProcess, baremetal: Any) -> None:
    result = analyze(pack, baremetal, resources=_edited(baremetal, _set("72", "nvlink_domain_nodes")))
    [message] = violations(result, "nvlink-domain-whole")
    assert message.startswith("pool 'h100': plan fact 'nvlink_domain_nodes' is not a number (got '72')")
    assert not not_applicable(result, "nvlink-domain-whole")
