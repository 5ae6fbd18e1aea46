"""A correct CoreWeave GB200 NVL72 stack passes every mandatory rule of its policy config, and wrong copies fail:
CoreWeave documents ``nvidia.com/gpu.clique`` as the NVLink partition its NVL72 nodes carry and runs the DRA driver
itself (docs.coreweave.com products/cks/clusters/scheduling/imex-overview and imex-dra-scheduling), so its
Topology needs the clique level and the layer installs no driver.

Before this change ``topology-labels-consistent`` failed the program's own CoreWeave NVL72 output: it knew only
``neocloud.io/nvlink-domain`` as a domain label, which CKS nodes do not carry.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from neocloud.offline import ProgramRun, RecordedResource
from neocloud.offline.analyzer import load_policy_config
from tests.policies.support import PACK, analyze, mutate, violations
from tests.providers.helpers import run_with, stack_config

CLIQUE = "nvidia.com/gpu.clique"


@functools.cache
def coreweave_nvl72() -> ProgramRun:
    cluster = stack_config("coreweave")["neocloud:cluster"]
    cluster["pools"] = [{"name": "nvl72", "system": "gb200-nvl72", "nodes": 68, "spares": 4}]
    cluster["fabric"] = {"kind": "infiniband", "switch": "Q3400"}
    cluster["kubernetes"]["queues"] = [{"team": "frontier", "gpu_quota": 272}]
    return run_with("coreweave", cluster)


def _config() -> dict[str, Any]:
    return load_policy_config(PACK / "config" / "coreweave.json")


def _without_clique(run: ProgramRun) -> list[RecordedResource]:
    def drop(inputs: dict[str, Any]) -> None:
        inputs["spec"]["levels"] = [lv for lv in inputs["spec"]["levels"] if lv["nodeLabel"] != CLIQUE]

    return [mutate(r, drop) if r.type.endswith(":Topology") else r for r in run.resources]


def test_correct_coreweave_nvl72_stack_passes(pack: Any) -> None:
    run = coreweave_nvl72()
    (topology,) = [r for r in run.resources if r.type.endswith(":Topology")]
    assert [lv["nodeLabel"] for lv in topology.inputs["spec"]["levels"]] == [
        "ib.coreweave.cloud/superpod", "node.coreweave.cloud/rack", CLIQUE, "kubernetes.io/hostname"]
    result = analyze(pack, run, _config())
    assert result.mandatory == [], [d.message for d in result.mandatory]


def test_coreweave_nvl72_topology_without_the_clique_fails(pack: Any) -> None:
    result = analyze(pack, coreweave_nvl72(), _config(), resources=_without_clique(coreweave_nvl72()))
    [labels] = violations(result, "topology-labels-consistent")
    assert "has no NVLink-domain level (nvidia.com/gpu.clique); jobs could straddle 72-GPU domains" in labels
    admission = violations(result, "workloads-admissible")
    assert admission and all("has no level nvidia.com/gpu.clique" in m for m in admission), admission


@pytest.mark.parametrize(("label", "expected"), [
    # the plan's domain label is no partition a one-domain job can require
    ("neocloud.io/nvlink-domain", "has no NVLink-domain level (nvidia.com/gpu.clique)"),
    ("example.com/rack", "level 'example.com/rack' is a label no planned node carries"),
])
def test_coreweave_nvl72_topology_with_a_label_cks_does_not_set_fails(pack: Any, label: str, expected: str) -> None:
    """The level a one-domain job requires must be the clique CKS sets, not our plan label nor an unknown one."""
    def swap(inputs: dict[str, Any]) -> None:
        inputs["spec"]["levels"] = [{"nodeLabel": label if lv["nodeLabel"] == CLIQUE else lv["nodeLabel"]}
                                    for lv in inputs["spec"]["levels"]]

    resources = [mutate(r, swap) if r.type.endswith(":Topology") else r for r in coreweave_nvl72().resources]
    messages = violations(analyze(pack, coreweave_nvl72(), _config(), resources=resources),
                          "topology-labels-consistent")
    assert any(expected in m for m in messages), messages


def test_eks_ultraserver_stack_passes_with_the_dra_driver(pack: Any) -> None:
    """Two P6e-GB200 UltraServers on EKS (tests/aws/support.py's ``gb200`` variant): the layer installs NVIDIA's DRA
    driver with ComputeDomains (the EKS AMIs "do not include ... the NVIDIA DRA driver", EKS user guide,
    ml-eks-nvidia-ultraserver), the Topology has the clique level, and every mandatory rule of the dev config
    passes."""
    from tests.aws.support import variant_run

    run = variant_run("gb200")
    releases = [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "nvidia-dra-driver-gpu"]
    assert len(releases) == 1 and releases[0].inputs["values"]["nvidiaDriverRoot"] == "/"  # the AMI's driver
    # the variant keeps its two UltraServers up (min_nodes unset), which dev-scales-to-zero rightly reports; that
    # is the stack's scaling choice, not its IMEX path, so it is left out here
    config = {**load_policy_config(PACK / "config" / "dev.json"), "dev-scales-to-zero": "disabled"}
    result = analyze(pack, run, config)
    assert result.mandatory == [], [d.message for d in result.mandatory]
    assert {p.name for p in result.policies} >= {"topology-labels-consistent", "workloads-admissible"}
