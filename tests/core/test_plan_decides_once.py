"""The plan is complete and nothing downstream re-plans (issue #10 item 3): the queue's pool, the SU groups handed
to the Kubernetes layer, the acceptance image and the checkpoint's bytes per parameter are each decided in ONE place
(the spec or ``neocloud.plan``), and every consumer follows the decided value when it changes.

Each test changes the decided value (in the spec, or in the plan object itself) and checks that the consumer
follows it: a consumer that re-derived the value would keep its own answer."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from components.cluster import cluster_facts
from components.kubernetes.layer import layer_facts
from components.providers.aws.profile import PROFILE as AWS
from components.providers.digitalocean._build import node_pool_args
from components.providers.nebius.profile import PROFILE as NEBIUS
from neocloud import build_plan, load_cluster_spec
from neocloud.plan import size_storage
from neocloud.plan.kubernetes import acceptance_image, acceptance_pools, acceptance_tests, plan_team_queues
from neocloud.spec import CHECKPOINT_BYTES_PER_PARAMETER
from neocloud.vocabulary import LABEL_SU
from tests.kubernetes.runs import cluster_spec


def _two_pools(stack: str = "staging") -> dict[str, Any]:
    raw = cluster_spec(stack)
    first = raw["pools"][0]
    raw["pools"].append({**copy.deepcopy(first), "name": "second"})
    raw["kubernetes"]["queues"] = [{"team": "alpha", "gpu_quota": 8}, {"team": "beta", "gpu_quota": 8,
                                                                        "pool": "second"}]
    raw["kubernetes"].pop("traffic_regulator", None)
    return raw


# --- the queue's pool ------------------------------------------------------------------------------------------


def test_queue_pool_default_is_the_specs_and_every_consumer_reads_the_resolved_name() -> None:
    spec = load_cluster_spec(_two_pools())
    plan = build_plan(spec)
    first = spec.pools[0].name
    # Decided once: ClusterSpec.queue_pool (the field's description: "default: the first pool").
    assert [spec.queue_pool(q) for q in spec.kubernetes.queues] == [first, "second"]
    assert [q.pool for q in plan_team_queues(spec, plan)] == [first, "second"]
    # The cluster facts the quota policies read carry the resolved name, so no rule defaults it.
    assert [q["pool"] for q in cluster_facts(spec, plan)["queues"]] == [first, "second"]
    assert [q["pool"] for q in layer_facts(spec, plan)["queues"]] == [first, "second"]


def test_changing_the_decided_pool_moves_every_consumer() -> None:
    """``queue_pool`` is the only place that resolves the default: patch it and the team queues, the layer facts
    and the cluster facts all follow (none of them has its own ``pools[0]`` fallback)."""
    spec = load_cluster_spec(_two_pools())
    plan = build_plan(spec)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(spec), "queue_pool", lambda self, queue: "second")
        assert {q.pool for q in plan_team_queues(spec, plan)} == {"second"}
        assert {q["pool"] for q in cluster_facts(spec, plan)["queues"]} == {"second"}
        assert {q["pool"] for q in layer_facts(spec, plan)["queues"]} == {"second"}


def test_spec_quota_check_uses_the_same_default() -> None:
    """The spec's own quota check resolves the pool through ``queue_pool`` too: a queue without ``pool`` that
    overbooks the first pool is refused naming that pool."""
    from neocloud.errors import SpecError

    raw = _two_pools()
    gpus = raw["pools"][0]["nodes"] * 8
    raw["kubernetes"]["queues"] = [{"team": "alpha", "gpu_quota": gpus + 8}]
    with pytest.raises(SpecError) as caught:
        load_cluster_spec(raw)
    assert f"pool '{raw['pools'][0]['name']}' sums to {gpus + 8}" in str(caught.value)


# --- SU groups -------------------------------------------------------------------------------------------------


def test_su_groups_are_planned_once_and_acceptance_and_node_pools_follow_them() -> None:
    spec = load_cluster_spec(cluster_spec("digitalocean"))
    plan = build_plan(spec)
    (pool,) = plan.pools
    # DOKS: one node pool = one label map, so one neocloud.io/su group for the whole pool (spares included).
    assert pool.su_groups == ((0, pool.total_nodes),)
    assert plan.to_dict()["pools"][0]["su_groups"] == [{"index": 0, "nodes": pool.total_nodes}]
    # Change the plan's decision: the node pool's label and the acceptance sweeps follow it.
    moved = dataclasses.replace(pool, su_groups=((3, pool.total_nodes),))
    replanned = dataclasses.replace(plan, pools=(moved,))
    assert node_pool_args(spec, replanned, moved)["labels"][LABEL_SU] == "3"
    assert [(t.su, t.nodes) for t in acceptance_tests(spec, replanned)] == [(3, pool.total_nodes)]
    assert [t["su"] for t in layer_facts(spec, replanned)["acceptance"]] == [3]


def test_aws_su_groups_are_the_planned_placement_blocks_by_su_label() -> None:
    """On AWS a node group's neocloud.io/su label is its placement block's ``su`` (the plan's placement, the same
    blocks the node groups are built from): the plan's SU groups are those blocks merged by label."""
    spec = load_cluster_spec(cluster_spec("prod"))
    plan = build_plan(spec)
    for pool in plan.pools:
        by_su: dict[int, int] = {}
        for block in plan.placement.blocks[pool.name]:
            by_su[block.su] = by_su.get(block.su, 0) + block.nodes
        assert pool.su_groups == tuple(sorted(by_su.items())) == AWS.su_groups(spec, pool, plan.placement)
        assert sum(n for _, n in pool.su_groups) == pool.total_nodes
        assert [(t.su, t.nodes) for t in acceptance_tests(spec, plan) if t.pool == pool.name] == list(pool.su_groups)


def test_nebius_su_groups_per_rack_su_for_nvl72() -> None:
    spec = load_cluster_spec(cluster_spec("nebius"))
    plan = build_plan(spec)
    for pool in plan.pools:
        assert pool.su_groups == NEBIUS.su_groups(spec, pool)
        if pool.system.nvlink_domain_nodes > 1:
            assert pool.su_groups == tuple((u.index, u.nodes) for u in pool.scalable_units)


# --- the acceptance image ----------------------------------------------------------------------------------------


def test_sweeps_run_the_image_the_plan_decided_for_their_pool() -> None:
    raw = _two_pools()
    raw["kubernetes"].setdefault("acceptance", {})["image"] = "registry.example/acceptance:1"
    spec = load_cluster_spec(raw)
    plan = build_plan(spec)
    assert acceptance_image(spec) == "registry.example/acceptance:1"
    assert {t.image for t in acceptance_tests(spec, plan)} == {"registry.example/acceptance:1"}
    assert {p.image for p in acceptance_pools(spec, plan)} == {"registry.example/acceptance:1"}
    # Without the setting, the provider profile's image (it must carry NCCL's transport for the fabric).
    del raw["kubernetes"]["acceptance"]["image"]
    spec = load_cluster_spec(raw)
    assert {t.image for t in acceptance_tests(spec, build_plan(spec))} == {spec.profile.acceptance_image}


# --- checkpoint bytes per parameter -------------------------------------------------------------------------------


def test_checkpoint_bytes_per_parameter_is_the_specs() -> None:
    """hardware.md [S]: a full checkpoint is ~16 bytes per parameter (weights + optimizer state); that number lives
    in the spec's field default, and the plan multiplies by whatever the spec says."""
    raw = cluster_spec("digitalocean")
    spec = load_cluster_spec(raw)
    checkpoint = spec.storage.checkpoint
    assert checkpoint is not None and checkpoint.bytes_per_parameter == CHECKPOINT_BYTES_PER_PARAMETER == 16.0
    plan = build_plan(spec)
    assert plan.storage.checkpoint_bytes == checkpoint.model_parameters_billion * 1e9 * 16
    raw["storage"]["checkpoint"]["bytes_per_parameter"] = 2
    plan = build_plan(load_cluster_spec(raw))
    assert plan.storage.checkpoint_bytes == checkpoint.model_parameters_billion * 1e9 * 2
    assert plan.storage.checkpoint_bytes_per_parameter == 2


def test_the_storage_planner_has_no_bytes_per_parameter_of_its_own() -> None:
    with pytest.raises(ValueError, match="checkpoint_bytes_per_parameter"):
        size_storage(gpus=8, checkpoint_parameters_billion=8)


# --- the NIC resource ----------------------------------------------------------------------------------------------


def test_nic_resource_comes_from_the_catalog_or_the_profile_once() -> None:
    """EFA: the catalog system's nic_resource (the AWS EFA device plugin's vpc.amazonaws.com/efa); CoreWeave: its
    profile's rdma/ib (CoreWeave GPUDirect RDMA guide), the same value its platform resources list; bare metal: the
    resource of the NicClusterPolicy config the layer installs. The operators module keeps no copy of its own."""
    from components.kubernetes import operators
    from components.providers.coreweave.profile import COREWEAVE_RDMA_RESOURCE
    from components.providers.coreweave.profile import PROFILE as COREWEAVE
    from neocloud.plan.kubernetes import pool_fabric_resource
    from neocloud.vocabulary import EFA_DEVICE_RESOURCE, RDMA_SHARED_DEVICE_NAME, RDMA_SHARED_DEVICE_RESOURCE

    expected = {"prod": EFA_DEVICE_RESOURCE, "coreweave": COREWEAVE_RDMA_RESOURCE,
                "staging": RDMA_SHARED_DEVICE_RESOURCE, "digitalocean": "rdma/hca_shared_devices_a"}
    for stack, resource in expected.items():
        spec = load_cluster_spec(cluster_spec(stack))
        plan = build_plan(spec)
        assert {pool_fabric_resource(spec, p) for p in plan.pools} == {resource}, stack
        assert {t.fabric_resource for t in acceptance_tests(spec, plan)} == {resource}, stack
        assert {q.fabric_resource for q in plan_team_queues(spec, plan)} <= {resource}, stack
    assert COREWEAVE_RDMA_RESOURCE in COREWEAVE.platform_device_resources
    assert not hasattr(operators, "COREWEAVE_RDMA_RESOURCE") and not hasattr(operators, "fabric_resource")
    config = operators.rdma_device_plugin_config("infiniband")["configList"][0]
    assert f"rdma/{config['resourceName']}" == RDMA_SHARED_DEVICE_RESOURCE and config["resourceName"] == \
        RDMA_SHARED_DEVICE_NAME


def test_a_changed_catalog_nic_resource_moves_the_sweeps_and_queues() -> None:
    spec = load_cluster_spec(cluster_spec("prod"))
    plan = build_plan(spec)
    pools = tuple(dataclasses.replace(p, system=dataclasses.replace(p.system, nic_resource="example.com/nic"))
                  for p in plan.pools)
    replanned = dataclasses.replace(plan, pools=pools)
    assert {t.fabric_resource for t in acceptance_tests(spec, replanned)} == {"example.com/nic"}
    assert {q.fabric_resource for q in plan_team_queues(spec, replanned)} == {"example.com/nic"}
