"""The real policy pack over gRPC on the digitalocean stack with an AMD MI300X pool (tests/providers/
test_digitalocean_amd.py builds it): the rules follow the pool's vendor resource (``amd.com/gpu``: "Exposes AMD GPUs
as amd.com/gpu resources", instinct.docs.amd.com/projects/k8s-device-plugin), and node-remediation-in-prod says what
is missing for AMD: NVIDIA NVSentinel watches GPUs through NVIDIA DCGM (docs.nvidia.com/nvsentinel/v1.30.0), which
does not manage AMD GPUs.
"""

from __future__ import annotations

from typing import Any

import pytest

from neocloud.catalog import GPU_VENDORS
from neocloud.offline import ProgramRun
from tests.policies.support import analyze, mutate, not_applicable, violations
from tests.policies.test_stacks import stack_config as policy_config
from tests.providers.helpers import run_with, stack_config
from tests.providers.test_digitalocean_amd import AMD, NVIDIA, amd_cluster


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_with("digitalocean", amd_cluster())


def test_the_policy_pack_admits_the_amd_stack(pack: Any, run: ProgramRun) -> None:
    result = analyze(pack, run, policy_config("digitalocean"))
    assert {d.policy for d in result.mandatory} == set(), [d.message for d in result.mandatory]
    assert violations(result, "workloads-admissible") == []
    assert not not_applicable(result, "workloads-admissible")


def test_a_quota_on_the_wrong_vendor_resource_is_caught(pack: Any, run: ProgramRun) -> None:
    """A ClusterQueue covering nvidia.com/gpu on AMD nodes admits nothing the nodes could run: the rule reads the
    pool's vendor resource, not a constant."""
    def nvidia(inputs: dict[str, Any]) -> None:
        for group in inputs["spec"]["resourceGroups"]:
            group["coveredResources"] = [NVIDIA]
            for flavor in group["flavors"]:
                for resource in flavor["resources"]:
                    resource["name"] = NVIDIA

    resources = [mutate(r, nvidia) if r.type.endswith(":ClusterQueue") else r for r in run.resources]
    messages = violations(analyze(pack, run, policy_config("digitalocean"), resources=resources),
                          "workloads-admissible")
    assert messages and all(AMD in m for m in messages), messages


def test_a_prod_amd_pool_fails_node_remediation_with_what_is_missing(pack: Any) -> None:
    prod = run_with("digitalocean", amd_cluster(environment="prod"))
    messages = violations(analyze(pack, prod, policy_config("digitalocean")), "node-remediation-in-prod")
    assert messages == [f"prod pool 'mi' has AMD GPUs (MI300X) without health remediation: "
                        f"{GPU_VENDORS['amd'].health_missing}"]


def test_a_prod_nvidia_pool_on_doks_is_not_reported_for_amd(pack: Any) -> None:
    prod = run_with("digitalocean", {**stack_config("digitalocean")["neocloud:cluster"], "environment": "prod"})
    messages = violations(analyze(pack, prod, policy_config("digitalocean")), "node-remediation-in-prod")
    assert not [m for m in messages if "AMD" in m], messages
