"""p6e-gb300.36xlarge, the GB300 NVL72 UltraServer instance: what is published (its name, an UltraServer instance
whose GPUs NVLink joins across instances and that needs IMEX: AWS PCS "Configure UltraServer instances"; an EFA
instance type: aws/eks-charts) plans; what is not (its EFA rate and network cards) must come from the site, with the
config path, before any resource is registered."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from neocloud import SpecError, build_plan, load_cluster_spec
from neocloud.offline import run_program
from neocloud.vocabulary import DRA_DRIVER_CHART
from tests.aws.support import CAPACITY_BLOCK_END, gpu_node_groups, stack_config
from tests.conftest import REPO

SYSTEM = "p6e-gb300.36xlarge"
BLOCKS = ["cr-00000000000000001", "cr-00000000000000002"]


def gb300(site: dict[str, Any]) -> Any:
    def mutate(cluster: dict[str, Any]) -> None:
        cluster["pools"][0].update(system=SYSTEM, nodes=36, min_nodes=0,
                                   capacity={"source": "capacity-block", "reservation_ids": BLOCKS})
        cluster["aws"] = {"reservation_instances": dict.fromkeys(BLOCKS, 18),
                          "capacity_block_end_times": dict.fromkeys(BLOCKS, CAPACITY_BLOCK_END)}
        if site:
            cluster["catalog"] = {"systems": {SYSTEM: site}}
        for queue in cluster["kubernetes"]["queues"]:
            queue["gpu_quota"] = 8
    return mutate


def cluster_of(site: dict[str, Any]) -> dict[str, Any]:
    config, _ = stack_config("dev", gb300(site))
    return copy.deepcopy(config["neocloud:cluster"])


@pytest.mark.parametrize(("site", "field"), [({}, "efa_network_cards"), ({"efa_network_cards": 4}, "nic_gbps"),
                                             ({"nic_gbps": 400}, "efa_network_cards")])
def test_unpublished_efa_numbers_are_site_values_named_by_path(site: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as info:
        load_cluster_spec(cluster_of(site))
    assert f"catalog.systems.{SYSTEM}.{field}: required" in str(info.value)


def test_the_site_values_plan_two_ultraservers_of_one_nvlink_domain_each() -> None:
    spec = load_cluster_spec(cluster_of({"efa_network_cards": 4, "nic_gbps": 400}))
    (pool,) = build_plan(spec).pools
    assert pool.system.gpu == "B300" and pool.system.gpus_per_node == 4
    assert pool.system.nvlink_domain_nodes == 18  # NVL72: 72 GPUs = 18 instances of 4
    assert pool.system.nic_gbps == 400 and not pool.system.unverified
    assert pool.gpus == 36 * 4


def test_the_program_builds_one_node_group_per_ultraserver_and_installs_imex() -> None:
    config, secrets = stack_config("dev", gb300({"efa_network_cards": 4, "nic_gbps": 400}))
    run = run_program(REPO, "dev", config=config, secret_keys=secrets)
    groups = gpu_node_groups(run)
    assert len(groups) == 2 and all(g.inputs["scalingConfig"]["maxSize"] == 18 for g in groups)
    # UltraServer GPUs talk over NVLink across instances only through IMEX (AWS PCS; EKS ml-eks-nvidia-ultraserver):
    # the DRA driver's ComputeDomains provide it on Kubernetes.
    assert [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs.get("chart") == DRA_DRIVER_CHART]
