"""Racks, SUs, NVLink domains, storage, power and cost from the planner alone (no Pulumi)."""

from __future__ import annotations

import json

import pytest

from neocloud import SpecError, build_plan, load_cluster_spec
from neocloud.catalog import SYSTEMS
from neocloud.plan import plan_racks, plan_scalable_units, size_storage
from neocloud.plan.storage import STORAGE_TIERS_PER_SU, STORAGE_TIERS_SINGLE_NODE, team_claim_gib
from tests.core.test_spec import stack_cluster


def test_staging_is_one_superpod_su() -> None:
    plan = build_plan(load_cluster_spec(stack_cluster("staging")))
    pool = plan.pools[0]
    assert (pool.total_nodes, pool.gpus, pool.total_gpus) == (31, 232, 248)
    assert pool.fabric is not None
    assert (pool.fabric.leaf, pool.fabric.spine, pool.fabric.cables.node_leaf) == (8, 4, 252)
    # 41 kW per rack fits 4 DGX H100 at 10.2 kW [S]: 7 racks of 4 and one of 3.
    assert pool.racks.nodes_per_rack == 4 and pool.racks.basis == "power budget"
    assert [(g.racks, g.nodes_per_rack, g.kw_per_rack) for g in pool.racks.groups] == [(7, 4, 40.8), (1, 3, 30.6)]
    assert plan.it_kw == pytest.approx(31 * 10.2)
    assert plan.facility_kw == pytest.approx(31 * 10.2 * 1.56)
    # $2.10/GPU-hour x 248 GPUs (spares are paid for).
    assert pool.cost.per_hour == pytest.approx(520.8)


def test_nvl72_is_one_rack_per_nvlink_domain() -> None:
    plan = build_plan(load_cluster_spec(stack_cluster("gb200")))
    pool = plan.pools[0]
    assert pool.nvlink_domains == 8 and pool.nvlink_domain_gpus == 72
    assert pool.racks.racks == 8
    assert all(g.nodes_per_rack == 18 and g.nvlink_domains_per_rack == 1 for g in pool.racks.groups)
    assert pool.power.basis == "rack" and pool.power.it_kw == 960


def test_cloud_instances_are_provider_placed_with_tdp_lower_bound() -> None:
    plan = build_plan(load_cluster_spec(stack_cluster("prod")))
    pool = plan.pools[0]
    assert pool.racks.racks == 0 and pool.racks.basis == "provider-placed"
    assert pool.power.basis == "gpu-tdp-only"
    assert pool.power.it_kw == pytest.approx(128 * 8 * 0.7)
    assert [u.nodes for u in pool.scalable_units] == [32, 32, 32, 32]
    assert sum(u.spares for u in pool.scalable_units) == 4
    assert pool.fabric is None


def test_scalable_units_spread_spares_evenly() -> None:
    units = plan_scalable_units(pool="p", nodes=90, spares=6, nodes_per_su=32, gpus_per_node=8)
    assert [u.nodes for u in units] == [32, 32, 32]
    assert [u.spares for u in units] == [2, 2, 2]


def test_explicit_rack_layout_may_exceed_the_budget_for_the_policy_to_catch() -> None:
    system = SYSTEMS["dgx-b200"]
    units = plan_scalable_units(pool="p", nodes=8, spares=0, nodes_per_su=32, gpus_per_node=8)
    layout = plan_racks(pool="p", system=system, units=units, power_budget_kw=30, rack_units=42,
                        max_nodes_per_rack=None, nodes_per_rack=4, physical=True)
    assert layout.groups[0].kw_per_rack == pytest.approx(57.2)


def test_rack_space_limits_nodes_per_rack() -> None:
    system = SYSTEMS["dgx-b200"]  # 10U [P]
    units = plan_scalable_units(pool="p", nodes=8, spares=0, nodes_per_su=32, gpus_per_node=8)
    layout = plan_racks(pool="p", system=system, units=units, power_budget_kw=None, rack_units=42,
                        max_nodes_per_rack=None, nodes_per_rack=None, physical=True)
    assert (layout.nodes_per_rack, layout.basis) == (4, "rack space")


@pytest.mark.parametrize("tier", ["good", "better", "best"])
def test_storage_tiers_scale_per_su(tier: str) -> None:
    # H100RA Table 6: the 4-SU row is 4x the 1-SU row (e.g. better: 40/20 -> 160/80 GB/s) [P].
    read, write = STORAGE_TIERS_PER_SU[tier]
    one = size_storage(gpus=256, tier=tier)  # type: ignore[arg-type]
    four = size_storage(gpus=1024, tier=tier)  # type: ignore[arg-type]
    assert (one.read_gbps, one.write_gbps) == (read, write)
    assert (four.read_gbps, four.write_gbps) == (4 * read, 4 * write)


def test_checkpoint_raises_write_target_and_capacity() -> None:
    # 405B params x 16 B = 6.48 TB; in 5 minutes that is 21.6 GB/s, above the 1-SU "good" 7 GB/s.
    plan = size_storage(gpus=256, tier="good", checkpoint_parameters_billion=405, checkpoint_bytes_per_parameter=16,
                        checkpoint_max_write_minutes=5, checkpoints_retained=3, dataset_tib=10)
    assert plan.write_gbps == pytest.approx(21.6)
    assert plan.checkpoint_write_seconds == pytest.approx(300)
    assert plan.capacity_tib == pytest.approx(10 + 3 * 405e9 * 16 / 2**40, abs=1e-3)


def test_min_read_per_gpu_floor() -> None:
    plan = size_storage(gpus=100, tier="good", min_gbps_per_gpu=1.0)
    assert plan.read_gbps == 100 and plan.read_gbps_per_gpu == 1.0


@pytest.mark.parametrize("tier", ["good", "better", "best"])
def test_small_cluster_gets_the_single_node_figures(tier: str) -> None:
    # H100RA Table 6 single-node row (good 4/2, better 8/4, best 40/20 GB/s) [P]: one DGX on its own must get it,
    # so 2 nodes (16 GPUs) are not sized to 16/256 of an SU (good: 0.94 GB/s read).
    read, write = STORAGE_TIERS_SINGLE_NODE[tier]
    assert (read, write) == {"good": (4, 2), "better": (8, 4), "best": (40, 20)}[tier]
    small = size_storage(gpus=16, tier=tier)  # type: ignore[arg-type]
    assert (small.read_gbps, small.write_gbps, small.throughput_basis) == (read, write, "single-node")
    # From the size where the SU scaling passes the single-node figure, the SU row sizes it again.
    su_read, _ = STORAGE_TIERS_PER_SU[tier]
    big = size_storage(gpus=256, tier=tier)  # type: ignore[arg-type]
    assert big.read_gbps == su_read and big.throughput_basis == "su"


def test_no_filesystem_no_targets() -> None:
    # Nothing to size without a filesystem: no tier, throughput or capacity; the checkpoint keeps its size and the
    # spec's limit is its write time (goodput planning), marked as such.
    plan = size_storage(gpus=256, tier="good", filesystem=False, checkpoint_parameters_billion=70,
                        checkpoint_bytes_per_parameter=16, checkpoint_max_write_minutes=10, team_quotas={"a": 8})
    assert (plan.tier, plan.read_gbps, plan.write_gbps, plan.capacity_tib, plan.read_gbps_per_gpu) == (None,) * 5
    assert not plan.has_targets and plan.team_claim_gib == ()
    assert (plan.checkpoint_bytes, plan.checkpoint_write_seconds, plan.checkpoint_write_basis) == (70e9 * 16, 600,
                                                                                                   "limit")


def test_team_claims_split_the_capacity_by_quota() -> None:
    plan = size_storage(gpus=256, tier="good", capacity_floor_tib=10, team_quotas={"a": 96, "b": 32, "c": 0})
    assert dict(plan.team_claim_gib) == {"a": 7680, "b": 2560, "c": 1}
    assert dict(team_claim_gib(capacity_tib=1, quotas={"a": 0, "b": 0})) == {"a": 512, "b": 512}


def test_plan_is_deterministic_and_json_serializable() -> None:
    spec = load_cluster_spec(stack_cluster("staging"))
    first, second = build_plan(spec).to_dict(), build_plan(spec).to_dict()
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)


def test_unknown_node_height_needs_another_rack_bound() -> None:
    # hardware.md gives no DGX H100 height: without a power budget or a per-rack bound nothing limits a rack.
    raw = stack_cluster("staging")
    raw["racks"] = {}
    with pytest.raises(SpecError) as info:
        build_plan(load_cluster_spec(raw))
    assert info.value.path == "neocloud:cluster.racks" and "catalog.systems.dgx-h100.rack_units" in info.value.message
    # A site value for the height makes rack space the bound: 42U / 8U = 5 nodes.
    raw["catalog"] = {"systems": {"dgx-h100": {"rack_units": 8}}}
    pool = build_plan(load_cluster_spec(raw)).pools[0]
    assert (pool.racks.nodes_per_rack, pool.racks.basis) == (5, "rack space")
