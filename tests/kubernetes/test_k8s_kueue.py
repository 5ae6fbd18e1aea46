"""Kueue topology levels, flavors and quotas match the plan: AWS (EFA), baremetal InfiniBand (DGX H100) and a
GB200 NVL72 stack, plus CoreWeave/Nebius labels and AWS systems the shipped stacks do not use."""

from __future__ import annotations

from typing import Any

import pytest

from components.labels import GPU_TAINT, LABEL_NVLINK_DOMAIN, LABEL_POOL, LABEL_RACK, LABEL_SU
from neocloud import SpecError, build_plan, load_cluster_spec
from neocloud.offline import ProgramRun, run_program
from neocloud.vocabulary import GPU_CLIQUE
from tests.conftest import KUBERNETES_STACKS, REPO
from tests.kubernetes.runs import cluster_spec, named, objects_of, run_for, stack_config

HOST = "kubernetes.io/hostname"
AWS = [f"topology.k8s.aws/network-node-layer-{i}" for i in (1, 2, 3)]


def levels(run: ProgramRun, pool: str) -> list[str]:
    return [level["nodeLabel"] for level in named(objects_of(run, "Topology"), pool)["spec"]["levels"]]


def run_with(stack: str, cluster: dict[str, Any]) -> ProgramRun:
    """``stack`` with its ``neocloud:cluster`` replaced."""
    config = {**stack_config(stack), "neocloud:cluster": cluster}
    return run_program(REPO, stack, config=config)


@pytest.mark.parametrize(("stack", "pool", "expected"), [
    # AWS p5: DescribeInstanceTopology has 3 network-node layers (hardware.md [P]), EKS labels them.
    ("prod", "train", [*AWS, HOST]),
    ("dev", "train", [*AWS, HOST]),
    # Baremetal DGX H100 on InfiniBand: SU (rail leaves), then the planned racks, then the node.
    ("staging", "h100", [LABEL_SU, LABEL_RACK, HOST]),
    # GB200 NVL72: SU, then the 72-GPU NVLink domain (= the rack), its partition (GFD's nvidia.com/gpu.clique, the
    # level a one-domain job requires), then the tray.
    ("gb200", "nvl72", [LABEL_SU, LABEL_NVLINK_DOMAIN, GPU_CLIQUE, HOST]),
    ("nebius", "nvl72", [LABEL_SU, LABEL_NVLINK_DOMAIN, GPU_CLIQUE, HOST]),
])
def test_topology_levels_follow_the_plan(stack: str, pool: str, expected: list[str]) -> None:
    assert levels(run_for(stack), pool) == expected


def test_coreweave_and_nebius_levels_use_their_labels() -> None:
    if "coreweave" in KUBERNETES_STACKS:
        run = run_for("coreweave")
        for topology in objects_of(run, "Topology"):
            labels = [level["nodeLabel"] for level in topology["spec"]["levels"]]
            assert labels[0] == "ib.coreweave.cloud/superpod" and labels[-1] == HOST
            assert labels[1] in ("ib.coreweave.cloud/leafgroup", "node.coreweave.cloud/rack")
    if "nebius" in KUBERNETES_STACKS:
        for topology in objects_of(run_for("nebius"), "Topology"):
            labels = [level["nodeLabel"] for level in topology["spec"]["levels"]]
            assert labels[0] == LABEL_SU and labels[-1] == HOST


def test_aws_b200_has_four_layers_and_ultraservers_schedule_by_nvlink_domain() -> None:
    cluster = cluster_spec("dev")
    cluster["pools"] = [
        {"name": "gb", "system": "p6e-gb200.36xlarge", "nodes": 18,
         "capacity": {"source": "capacity-block", "reservation_ids": ["cr-0a1b2c3d4e5f60718"]}},
        {"name": "b200", "system": "p6-b200.48xlarge", "nodes": 4},
    ]
    # Test values: hardware.md does not verify these systems' EFA card counts, so the spec must set them.
    cluster["catalog"] = {"systems": {"p6e-gb200.36xlarge": {"efa_network_cards": 4},
                                      "p6-b200.48xlarge": {"efa_network_cards": 8}}}
    cluster["kubernetes"]["queues"] = [{"team": "a", "pool": "gb", "gpu_quota": 72},
                                       {"team": "b", "pool": "b200", "gpu_quota": 32}]
    # a Capacity Block's end (its EndDate) drives the node group's scale-down: the spec requires it
    cluster.setdefault("aws", {})["capacity_block_end_times"] = {"cr-0a1b2c3d4e5f60718": "2027-01-08T11:30:00Z"}
    run = run_with("dev", cluster)
    # p6-b200: 4 layers (hardware.md [P]); an UltraServer is one NVLink domain (AWS-EKS [P]).
    assert levels(run, "b200") == [*AWS, "topology.k8s.aws/network-node-layer-4", HOST]
    assert levels(run, "gb") == [LABEL_NVLINK_DOMAIN, GPU_CLIQUE, HOST]
    gb_sweep = named(objects_of(run, "CronJob"), "sweep-gb-su0")["spec"]["jobTemplate"]["spec"]
    assert gb_sweep["completions"] == 18
    assert gb_sweep["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "nvidia.com/gpu": "4", "vpc.amazonaws.com/efa": "4"}


@pytest.mark.parametrize("stack", ["prod", "dev", "staging", "gb200"])
def test_flavors_and_quotas_match_the_spec(stack: str) -> None:
    run = run_for(stack)
    cluster = cluster_spec(stack)
    plan = build_plan(load_cluster_spec(cluster))
    flavors = objects_of(run, "ResourceFlavor")
    assert sorted(f["metadata"]["name"] for f in flavors) == sorted(p.name for p in plan.pools)
    for flavor in flavors:
        pool = flavor["metadata"]["name"]
        assert flavor["spec"]["nodeLabels"] == {LABEL_POOL: pool}
        assert flavor["spec"]["topologyName"] == pool
        assert {"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]} in \
            flavor["spec"]["tolerations"]
    queues = cluster["kubernetes"]["queues"]
    cqs = objects_of(run, "ClusterQueue")
    assert len(cqs) == len(queues)
    quota_by_pool: dict[str, int] = {}
    for queue in queues:
        cq = named(cqs, queue["team"])["spec"]
        pool = queue.get("pool") or plan.pools[0].name
        assert cq["cohortName"] == queue.get("cohort", "default")
        assert cq["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": queue["team"]}}
        (group,) = cq["resourceGroups"]
        assert group["coveredResources"] == ["nvidia.com/gpu"]
        (flavor,) = group["flavors"]
        assert flavor["name"] == pool
        (gpu,) = flavor["resources"]
        assert gpu["nominalQuota"] == queue["gpu_quota"]
        assert gpu.get("borrowingLimit") == queue.get("borrowing_limit")
        lq = named(objects_of(run, "LocalQueue"), queue["team"], namespace=queue["team"])
        assert lq["spec"] == {"clusterQueue": queue["team"]}
        quota_by_pool[pool] = quota_by_pool.get(pool, 0) + queue["gpu_quota"]
    for pool in plan.pools:
        assert quota_by_pool.get(pool.name, 0) <= pool.gpus  # schedulable GPUs, spares excluded


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_quotas_never_exceed_schedulable_gpus(stack: str) -> None:
    run = run_for(stack)
    plan = build_plan(load_cluster_spec(cluster_spec(stack)))
    total: dict[str, int] = {}
    for cq in objects_of(run, "ClusterQueue"):
        for group in cq["spec"]["resourceGroups"]:
            for flavor in group["flavors"]:
                for resource in flavor["resources"]:
                    if resource["name"] == "nvidia.com/gpu":
                        total[flavor["name"]] = total.get(flavor["name"], 0) + resource["nominalQuota"]
    for pool in plan.pools:
        assert total.get(pool.name, 0) <= pool.gpus


def test_oversubscribed_quota_is_a_config_error_before_any_resource() -> None:
    cluster = cluster_spec("staging")
    cluster["kubernetes"]["queues"][0]["gpu_quota"] = 200  # 200 + 64 > 29 nodes x 8 = 232
    with pytest.raises(SpecError) as error:
        run_with("staging", cluster)
    assert error.value.path == "neocloud:cluster.kubernetes.queues"
    assert "232 schedulable GPUs" in error.value.message


def test_priority_classes_are_ordered_and_top_level() -> None:
    classes = objects_of(run_for("staging"), "WorkloadPriorityClass")
    values = {c["metadata"]["name"]: c["value"] for c in classes}
    assert values["serving"] > values["training"] > values["preemptible"]
    assert all("spec" not in c and c["description"] for c in classes)


def test_kueue_installed_before_its_objects() -> None:
    run = run_for("staging")
    (kueue,) = [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"].endswith("/kueue")]
    for resource in run.resources:
        if resource.type.startswith("kubernetes:kueue.x-k8s.io/"):
            # direct dependency, or through its ClusterQueue (LocalQueue)
            chain = set(resource.dependencies)
            for dep in resource.dependencies:
                chain |= set(next(r for r in run.resources if r.urn == dep).dependencies)
            assert kueue.urn in chain, resource.name


def test_layer_objects_scale_with_pools_teams_and_sus_not_nodes() -> None:
    def counts(nodes: int) -> tuple[int, int]:
        cluster = cluster_spec("staging")
        cluster["pools"][0]["nodes"] = nodes
        cluster["racks"].pop("max_nodes_per_rack", None)
        run = run_with("staging", cluster)
        layer = [r for r in run.resources if r.type.startswith("kubernetes:") and r.type.rsplit(":", 1)[-1]
                 != "CronJob"]
        return len(layer), len(objects_of(run, "CronJob"))

    small, small_sweeps = counts(29)
    big, big_sweeps = counts(4 * 32 - 2)  # 4 SUs
    assert small == big  # per-node acceptance is one DaemonSet per pool, whatever the node count
    assert (small_sweeps, big_sweeps) == (1, 4)  # the multi-node sweep is per SU
