"""tenant-default-deny fails where the cluster's CNI would not enforce NetworkPolicy: per provider profile (EKS: the
vpc-cni add-on must enable network policy; CoreWeave CKS runs Cilium; an existing cluster's CNI is the
operator's verified fact in the stack's policy config)."""

from __future__ import annotations

import json
from typing import Any

from neocloud.offline.analyzer import load_policy_config
from tests.conftest import stack_run
from tests.policies.support import PACK, analyze, mutate, violations

ADDON = "aws:eks/addon:Addon"
RULE = "tenant-default-deny"


def _config(stack: str) -> dict[str, Any]:
    return load_policy_config(PACK / "config" / f"{stack}.json")


def test_default_deny_fails_without_network_policy_in_the_cni(pack: Any) -> None:
    """Today's-code EKS (no vpc-cni add-on): NetworkPolicies would be accepted and not enforced."""
    run = stack_run("dev")
    without = [r for r in run.resources if not (r.type == ADDON and r.inputs["addonName"] == "vpc-cni")]
    [message] = violations(analyze(pack, run, _config("dev"), resources=without), RULE)
    assert "no vpc-cni add-on with enableNetworkPolicy" in message

    def off(inputs: dict[str, Any]) -> None:
        inputs["configurationValues"] = json.dumps({"enableNetworkPolicy": "false"})

    edited = [mutate(r, off) if r.type == ADDON and r.inputs["addonName"] == "vpc-cni" else r for r in run.resources]
    [message] = violations(analyze(pack, run, _config("dev"), resources=edited), RULE)
    assert "does not set enableNetworkPolicy" in message


def test_default_deny_on_an_existing_cluster_needs_the_operator_verified_cni(pack: Any) -> None:
    config = _config("staging")
    config["tenant-default-deny"] = {k: v for k, v in config["tenant-default-deny"].items()
                                     if k != "networkPolicyEnforcedBy"}
    [message] = violations(analyze(pack, stack_run("staging"), config), RULE)
    assert "provider 'baremetal'" in message and "networkPolicyEnforcedBy" in message


def test_coreweave_cilium_enforces_without_config(pack: Any) -> None:
    config = _config("coreweave")
    config.pop("tenant-default-deny", None)
    assert violations(analyze(pack, stack_run("coreweave"), config), RULE) == []
