"""Placement blocks alone: sizes, capacity sources, whole SUs and NVLink domains, reservation sizes."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from components.providers.aws.profile import AwsSettings
from neocloud import SpecError, build_plan, load_cluster_spec
from neocloud.plan import PlacementBlock, PoolPlan, plan_placement_blocks
from tests.aws.support import CAPACITY_BLOCK_END
from tests.conftest import REPO


def cluster(stack: str = "dev", **pool: Any) -> dict[str, Any]:
    raw = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]["neocloud:cluster"]
    raw = copy.deepcopy(raw)
    raw["pools"][0].update(pool)
    raw["kubernetes"]["queues"] = []
    capacity = raw["pools"][0].get("capacity", {})
    aws = raw.setdefault("aws", {})
    aws.pop("capacity_block_end_times", None)
    if capacity.get("source") == "capacity-block":
        aws["capacity_block_end_times"] = dict.fromkeys(capacity["reservation_ids"], CAPACITY_BLOCK_END)
    return raw


def pool_plan(raw: dict[str, Any]) -> PoolPlan:
    return build_plan(load_cluster_spec(raw)).pools[0]


def blocks(raw: dict[str, Any], **settings: Any) -> tuple[PlacementBlock, ...]:
    spec = load_cluster_spec(raw)
    aws = spec.settings_of(AwsSettings)
    return plan_placement_blocks(
        build_plan(spec).pools[0],
        block_nodes=settings.get("block_nodes", aws.placement_block_nodes),
        node_group_max_nodes=settings.get("node_group_max_nodes", aws.node_group_max_nodes),
        reservation_instances=settings.get("reservation_instances", aws.reservation_instances),
        reservations_per_node_group=settings.get("reservations_per_node_group", aws.reservations_per_node_group),
        end_times=settings.get("end_times", aws.capacity_block_end_times),
        drain_minutes=aws.capacity_block_drain_minutes,
    )


def test_a_12500_node_on_demand_pool_is_28_blocks_of_whole_sus() -> None:
    result = blocks(cluster(nodes=12_500, min_nodes=None))
    assert len(result) == 28
    assert [b.nodes for b in result] == [448] * 27 + [12_500 - 27 * 448]
    assert all(b.nodes <= 450 for b in result)  # EKS 'Nodes per managed node group' default quota
    assert all(b.first_node % 32 == 0 for b in result)  # blocks start on SU boundaries
    assert result[0].scalable_units == tuple(range(14))
    assert all(b.placement_group and b.reservation_id is None for b in result)
    assert sum(b.nodes for b in result) == 12_500
    assert [b.min_nodes for b in result] == [b.nodes for b in result]  # min_nodes default: nodes + spares


def test_min_nodes_fill_blocks_in_order() -> None:
    result = blocks(cluster(nodes=1000, min_nodes=500))
    assert [b.min_nodes for b in result] == [448, 52, 0]
    assert [b.min_nodes for b in blocks(cluster(nodes=2, min_nodes=0))] == [0]


def test_capacity_blocks_get_one_block_per_reservation_and_no_placement_group() -> None:
    result = blocks(cluster("prod"))
    assert [(b.nodes, b.reservation_id, b.placement_group) for b in result] == [
        (64, "cr-0a1b2c3d4e5f60718", False), (64, "cr-0f1e2d3c4b5a69788", False)]
    assert [b.scalable_units for b in result] == [(0, 1), (2, 3)]


def test_reservation_sizes_from_settings_cut_the_pool() -> None:
    raw = cluster("prod", nodes=92, spares=4)
    raw["aws"]["reservation_instances"] = {"cr-0a1b2c3d4e5f60718": 32, "cr-0f1e2d3c4b5a69788": 64}
    assert [(b.nodes, b.reservation_id) for b in blocks(raw)] == [
        (32, "cr-0a1b2c3d4e5f60718"), (64, "cr-0f1e2d3c4b5a69788")]


def test_odcr_pools_spread_evenly_and_split_at_the_block_size() -> None:
    raw = cluster(nodes=1000, capacity={"source": "reservation", "reservation_ids": ["cr-00000000000000001",
                                                                                      "cr-00000000000000002"]})
    result = blocks(raw)
    assert [(b.nodes, b.reservation_id) for b in result] == [
        (448, "cr-00000000000000001"), (52, "cr-00000000000000001"),
        (448, "cr-00000000000000002"), (52, "cr-00000000000000002")]
    assert not any(b.placement_group for b in result)


def test_too_small_reservations_name_the_setting() -> None:
    raw = cluster("prod")
    with pytest.raises(SpecError) as info:
        blocks(raw, reservation_instances={"cr-0a1b2c3d4e5f60718": 64, "cr-0f1e2d3c4b5a69788": 32})
    assert info.value.path == "aws.reservation_instances"
    assert "needs 128 nodes but its reservations hold 96" in info.value.message
    # The spec refuses the same settings before any planning.
    raw["aws"]["reservation_instances"] = {"cr-0a1b2c3d4e5f60718": 64, "cr-0f1e2d3c4b5a69788": 32}
    with pytest.raises(SpecError) as spec_info:
        load_cluster_spec(raw)
    assert str(spec_info.value) == ("neocloud:cluster.aws.reservation_instances: pools[0]'s reservations hold 96 "
                                    "instances; the pool needs 128 (nodes + spares)")


def ultraserver(nodes: int) -> dict[str, Any]:
    raw = cluster(system="p6e-gb200.36xlarge", nodes=nodes, min_nodes=None,
                  capacity={"source": "capacity-block", "reservation_ids": ["cr-00000000000000001",
                                                                            "cr-00000000000000002"]})
    raw["catalog"] = {"systems": {"p6e-gb200.36xlarge": {"efa_network_cards": 4}}}
    return raw


def test_ultraservers_are_one_block_per_nvlink_domain() -> None:
    result = blocks(ultraserver(72))
    assert [b.nodes for b in result] == [18, 18, 18, 18]
    assert [b.first_domain for b in result] == [0, 1, 2, 3]
    assert all(b.domains == 1 for b in result)
    # 64 instances per Capacity Block hold 3 whole UltraServers of 18 (54); the 4th comes from the second block.
    assert [b.reservation_id for b in result] == ["cr-00000000000000001"] * 3 + ["cr-00000000000000002"]


def test_a_block_smaller_than_a_domain_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        blocks(ultraserver(36), block_nodes=10)
    assert info.value.path == "aws.placement_block_nodes"


def test_block_size_is_capped_by_the_node_group_quota() -> None:
    result = blocks(cluster(nodes=1000), block_nodes=1000, node_group_max_nodes=450)
    assert max(b.nodes for b in result) == 448  # 450 rounded down to whole 32-node SUs
    assert pool_plan(cluster(nodes=1000)).nodes_per_su == 32


@settings(max_examples=40, deadline=None)
@given(
    nodes=st.integers(min_value=1, max_value=5_000),
    spares=st.integers(min_value=0, max_value=64),
    block=st.integers(min_value=1, max_value=2_000),
    quota=st.integers(min_value=1, max_value=1_000),
    su=st.sampled_from([None, 8, 32, 64, 100]),
    source=st.sampled_from(["on-demand", "reservation"]),
    reservations=st.integers(min_value=1, max_value=5),
    floor=st.integers(min_value=0, max_value=5_064),
)
def test_blocks_cover_the_pool_within_every_limit(nodes: int, spares: int, block: int, quota: int, su: int | None,
                                                  source: str, reservations: int, floor: int) -> None:
    capacity: dict[str, Any] = {"source": source}
    if source != "on-demand":
        capacity["reservation_ids"] = [f"cr-{i:017x}" for i in range(1, reservations + 1)]
    raw = cluster(nodes=nodes, spares=spares, min_nodes=min(floor, nodes + spares), capacity=capacity)
    if su is not None:
        raw["fabric"]["nodes_per_su"] = su
    pool = pool_plan(raw)
    result = plan_placement_blocks(pool, block_nodes=block, node_group_max_nodes=quota)
    assert sum(b.nodes for b in result) == pool.total_nodes
    assert sum(b.min_nodes for b in result) == pool.min_nodes
    assert all(1 <= b.nodes <= min(block, quota) and 0 <= b.min_nodes <= b.nodes for b in result)
    assert [b.index for b in result] == list(range(len(result)))
    assert [b.first_node for b in result] == [sum(b.nodes for b in result[:i]) for i in range(len(result))]
    assert all(b.placement_group == (source == "on-demand") for b in result)
    if source == "on-demand":
        assert {b.reservation_id for b in result} == {None}
    else:
        assert {b.reservation_id for b in result} <= set(pool.reservation_ids)
        # a reservation's blocks are consecutive: no block crosses from one reservation to another
        order = [b.reservation_id for b in result]
        assert order == sorted(order, key=pool.reservation_ids.index)
    sus = [u.nodes for u in pool.scalable_units]
    if source == "on-demand" and min(block, quota) >= pool.nodes_per_su:
        # whole SUs: every on-demand block starts on an SU boundary
        bounds = {sum(sus[:i]) for i in range(len(sus) + 1)}
        assert all(b.first_node in bounds for b in result)
    # Every block's SU label is a plan SU: the one holding its first node; a block smaller than an SU lies in it.
    starts = [sum(sus[:i]) for i in range(len(sus))]
    for b in result:
        assert 0 <= b.su < len(sus) and starts[b.su] <= b.first_node < starts[b.su] + sus[b.su]
        assert b.labels["neocloud.io/su"] == str(b.su)
        if min(block, quota) < pool.nodes_per_su:
            assert b.scalable_units == (b.su,)


def test_consecutive_reservations_share_blocks_up_to_the_group_and_block_size() -> None:
    ids = [f"cr-{i:017x}" for i in range(1, 11)]
    raw = cluster("prod", nodes=640, spares=0, capacity={"source": "capacity-block", "reservation_ids": ids})
    sizes = dict.fromkeys(ids, 64)
    alone = blocks(raw, reservation_instances=sizes)
    assert [b.reservation_ids for b in alone] == [(i,) for i in ids]
    shared = blocks(raw, reservation_instances=sizes, reservations_per_node_group=4)
    assert [b.reservation_ids for b in shared] == [tuple(ids[0:4]), tuple(ids[4:8]), tuple(ids[8:10])]
    assert [b.nodes for b in shared] == [256, 256, 128]
    assert all(b.reservation_group and b.reservation_id is None and not b.placement_group for b in shared[:2])
    # a block never exceeds the block size: 7 blocks of 64 fit 448, an eighth does not
    capped = blocks(raw, reservation_instances=sizes, reservations_per_node_group=10)
    assert [len(b.reservation_ids) for b in capped] == [7, 3]
    assert sum(b.nodes for b in capped) == 640


def test_a_reservation_larger_than_a_block_is_cut_alone() -> None:
    ids = ["cr-00000000000000001", "cr-00000000000000002"]
    raw = cluster("prod", nodes=960, spares=0, capacity={"source": "reservation", "reservation_ids": ids})
    result = blocks(raw, reservation_instances={ids[0]: 896, ids[1]: 64}, reservations_per_node_group=4)
    assert [(b.reservation_ids, b.nodes) for b in result] == [
        ((ids[0],), 448), ((ids[0],), 448), ((ids[1],), 64)]
