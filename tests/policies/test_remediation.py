"""node-remediation-in-prod through the real pack over gRPC, on what the program really builds: the shipped prod
stacks pass, and each violation path is the prod stack with the one input a real mistake changes."""

from __future__ import annotations

from typing import Any

from tests.conftest import stack_run
from tests.policies.support import analyze, mutate, not_applicable, violations
from tests.policies.test_stacks import broken, stack_config

RULE = "node-remediation-in-prod"


def _changed(stack: str, match: Any, change: Any) -> Any:
    run = stack_run(stack)
    resources = [mutate(r, change) if match(r) else r for r in run.resources]
    return run, resources


def _release(chart: str) -> Any:
    return lambda r: r.type == "kubernetes:helm.sh/v3:Release" and r.inputs.get("chart") == chart


def test_shipped_prod_stacks_pass(pack):
    for stack in ("prod", "coreweave", "nebius"):
        result = analyze(pack, stack_run(stack), stack_config(stack))
        assert violations(result, RULE) == [], stack
        assert not not_applicable(result, RULE), stack


def test_not_applicable_outside_prod(pack):
    assert not_applicable(analyze(pack, stack_run("dev"), stack_config("dev")), RULE) == [
        "environment 'dev' is not one of prod"]


def test_no_nvsentinel(pack):
    run = broken("prod", lambda c: c["kubernetes"].update(node_health={"enabled": False}))
    result = analyze(pack, run, stack_config("prod"))
    [message] = violations(result, RULE)
    assert message.startswith("prod GPU pools without NVSentinel (oci://ghcr.io/nvidia/nvsentinel)")
    assert RULE in {d.policy for d in result.mandatory}


def test_dry_run(pack):
    run = broken("prod", lambda c: c["kubernetes"].update(node_health={"dry_run": True}))
    [message] = violations(analyze(pack, run, stack_config("prod")), RULE)
    assert "runs in dry-run mode (global.dryRun)" in message


def test_quarantine_off_and_unpinned(pack):
    def change(inputs: dict[str, Any]) -> None:
        inputs["values"]["global"]["faultQuarantine"]["enabled"] = False
        inputs["version"] = ""

    run, resources = _changed("prod", _release("oci://ghcr.io/nvidia/nvsentinel"), change)
    messages = violations(analyze(pack, run, stack_config("prod"), resources=resources), RULE)
    assert sorted(messages) == sorted([
        "NVSentinel release 'prod-kubernetes-health-nvsentinel' pins no chart version",
        "NVSentinel release 'prod-kubernetes-health-nvsentinel' does not enable global.faultQuarantine.enabled"])


def test_no_standalone_dcgm(pack):
    run, resources = _changed("prod", _release("gpu-operator"),
                              lambda inputs: inputs["values"]["dcgm"].update(enabled=False))
    [message] = violations(analyze(pack, run, stack_config("prod"), resources=resources), RULE)
    assert "runs no standalone DCGM (dcgm.enabled)" in message


def test_node_group_without_auto_repair(pack):
    run, resources = _changed("prod", lambda r: r.type == "aws:eks/nodeGroup:NodeGroup" and "train" in r.name,
                              lambda inputs: inputs["nodeRepairConfig"].update(enabled=False))
    messages = violations(analyze(pack, run, stack_config("prod"), resources=resources), RULE)
    assert messages and all("has no node auto-repair (nodeRepairConfig.enabled)" in m for m in messages)


def test_remediation_request_path_needs_fault_remediation(pack):
    # Bare metal has no platform repair loop: NVSentinel's fault-remediation must file the request.
    run = broken("staging", lambda c: c.update(environment="prod"))
    config = {**stack_config("staging"), RULE: {"enforcementLevel": "mandatory"}}
    assert violations(analyze(pack, run, config), RULE) == []
    resources = [mutate(r, lambda i: i["values"]["global"]["faultRemediation"].update(enabled=False))
                 if _release("oci://ghcr.io/nvidia/nvsentinel")(r) else r for r in run.resources]
    [message] = violations(analyze(pack, run, config, resources=resources), RULE)
    assert "files no remediation request (global.faultRemediation.enabled)" in message


def test_repair_path_missing(pack):
    run, resources = _changed("prod", lambda r: r.type == "neocloud:kubernetes:NodeHealth",
                              lambda inputs: inputs["neocloud"].pop("repair"))
    [message] = violations(analyze(pack, run, stack_config("prod"), resources=resources), RULE)
    assert message.startswith("no repair path recorded for NVSentinel")


def test_not_applicable_without_a_kubernetes_layer(pack):
    # Lambda on-demand instances: a prod stack with GPU pools but no cluster to run NVSentinel in.
    assert not_applicable(analyze(pack, stack_run("lambda"), stack_config("lambda")), RULE) == [
        "no Kubernetes layer to run NVSentinel in"]
