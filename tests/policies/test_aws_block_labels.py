"""AWS node groups carry only the SU and NVLink-domain labels the plan has (issue #11, defect 6).

The program itself, run under the mock engine with the shipped dev stack changed as a user would change it, is
analyzed by the real policy pack: two and three UltraServers (one node group each, all in the plan's one SU of 8
UltraServers), and a 256-node p5 pool cut into blocks of 16 (half an SU of 32). Both used to label node groups
``neocloud.io/su=1..`` beyond the plan's SUs, and `neocloud check` failed the program's own output.
"""

from __future__ import annotations

from typing import Any

import pytest

from neocloud.offline import ProgramRun, run_program
from neocloud.vocabulary import LABEL_NVLINK_DOMAIN, LABEL_SU
from tests.aws.support import gpu_node_groups, stack_config
from tests.conftest import REPO
from tests.policies.support import analyze, mutate, replace_resource, violations
from tests.policies.test_stacks import stack_config as policy_config

END = "2027-01-08T11:30:00Z"
"""A Capacity Block end (blocks end at 11:30 UTC, EC2 user guide)."""


def ultraservers(count: int) -> Any:
    ids = [f"cr-{i:017x}" for i in range(1, count + 1)]

    def change(cluster: dict[str, Any]) -> None:
        cluster["pools"][0].update(system="p6e-gb200.36xlarge", nodes=18 * count, min_nodes=0, zone="us-east-1a",
                                   capacity={"source": "capacity-block", "reservation_ids": ids})
        cluster["catalog"] = {"systems": {"p6e-gb200.36xlarge": {"efa_network_cards": 4}}}
        cluster["aws"] = {"reservation_instances": dict.fromkeys(ids, 18),
                          "capacity_block_end_times": dict.fromkeys(ids, END)}
        for queue in cluster["kubernetes"]["queues"]:
            queue["gpu_quota"] = 8
    return change


def half_su_blocks(cluster: dict[str, Any]) -> None:
    cluster["pools"][0].update(system="p5.48xlarge", nodes=256, min_nodes=0)
    cluster["aws"] = {"placement_block_nodes": 16}


def run_dev(change: Any) -> ProgramRun:
    config, secrets = stack_config("dev", change)
    return run_program(REPO, "dev", config=config, secret_keys=secrets)


CASES = {"two_ultraservers": ultraservers(2), "three_ultraservers": ultraservers(3),
         "blocks_of_16_on_256_nodes": half_su_blocks}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_programs_own_node_groups_pass_topology_labels_consistent(pack, case: str) -> None:
    result = analyze(pack, run_dev(CASES[case]), policy_config("dev"))
    assert violations(result, "topology-labels-consistent") == []
    assert result.mandatory == [], [d.message for d in result.mandatory]


def test_ultraserver_node_groups_carry_the_plans_su_and_their_own_domain() -> None:
    groups = gpu_node_groups(run_dev(ultraservers(3)))
    labels = sorted((g.inputs["labels"][LABEL_SU], g.inputs["labels"][LABEL_NVLINK_DOMAIN]) for g in groups)
    # p6e-gb200: an SU is 8 UltraServers of 18 (catalog default_nodes_per_su), so three UltraServers are SU 0;
    # each UltraServer is one NVLink domain (EKS user guide, ml-eks-nvidia-ultraserver).
    assert labels == [("0", "0"), ("0", "1"), ("0", "2")]


def test_blocks_smaller_than_an_su_carry_the_su_they_lie_in() -> None:
    groups = gpu_node_groups(run_dev(half_su_blocks))
    sus = sorted(int(g.inputs["labels"][LABEL_SU]) for g in groups)
    # 256 nodes in SUs of 32 are SUs 0-7; blocks of 16 are two per SU.
    assert sus == sorted([su for su in range(8) for _ in range(2)])


def test_a_node_group_label_no_planned_block_has_fails(pack) -> None:
    """prod's plan has 4 SUs, so su=1 is in range, but no placement block is labelled SU 1 (its two Capacity Blocks
    hold SUs 0-1 and 2-3 and carry SU 0 and SU 2): the rule reads the plan's block labels, not only the SU count."""
    from tests.conftest import stack_run

    run = stack_run("prod")
    (first, *_) = sorted(gpu_node_groups(run), key=lambda g: g.name)

    def relabel(inputs: dict[str, Any]) -> None:
        inputs["labels"][LABEL_SU] = "1"

    resources = replace_resource(run, first.name, mutate(first, relabel))
    result = analyze(pack, run, policy_config("prod"), resources=resources)
    assert [m for m in violations(result, "topology-labels-consistent") if "no planned placement block" in m] == [
        f"node group '{first.name}' of pool 'train': {LABEL_SU}=1, which no planned placement block has"]
