"""Efficiency rules through the real pack over gRPC: every violation path and the compliant path."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from tests.policies import builders as b
from tests.policies.support import (
    BASE_AWS,
    BASE_BAREMETAL,
    analyze,
    facts_components,
    mutate,
    not_applicable,
    record,
    replace_resource,
    spec_with,
    violations,
)

# 62 + 2 spare p5.48xlarge: 496 schedulable H100s in 2 SUs.
CHECKPOINT = {"model_parameters_billion": 70, "max_write_minutes": 10}
AWS_FS = spec_with(BASE_AWS, storage={"filesystem": {"kind": "fsx-lustre", "tier": "good"}, "checkpoint": CHECKPOINT})


def with_fsx(per_unit: int | None, capacity_gib: int, spec: dict[str, Any] = AWS_FS) -> Any:
    def build() -> None:
        facts_components(spec)
        kwargs: dict[str, Any] = {"per_unit_storage_throughput": per_unit} if per_unit else {}
        aws.fsx.LustreFileSystem("fsx", storage_capacity=capacity_gib, subnet_ids="subnet-1",
                                 deployment_type="PERSISTENT_2" if per_unit else "SCRATCH_2", **kwargs)

    return record(build)


def facts_only(spec: dict[str, Any]) -> Any:
    return record(lambda: facts_components(spec))


# --- storage-throughput-per-gpu ----------------------------------------------------------------------------


def test_storage_throughput_compliant(pack):
    # 75 TiB x 1000 MB/s/TiB = 75 GB/s for 496 GPUs = 0.151 GB/s per GPU.
    result = analyze(pack, with_fsx(1000, 76800))
    assert violations(result, "storage-throughput-per-gpu") == []
    assert not not_applicable(result, "storage-throughput-per-gpu")


def test_storage_throughput_too_small_fsx(pack):
    [message] = violations(analyze(pack, with_fsx(125, 4800)), "storage-throughput-per-gpu")
    assert ("FSx for Lustre 'fsx' delivers 0.6 GB/s for 496 GPUs = 0.0012 GB/s per GPU, below the 0.0585938 GB/s "
            "per GPU floor") in message


def test_storage_throughput_policy_floor(pack):
    result = analyze(pack, with_fsx(1000, 76800), {"storage-throughput-per-gpu": {"minReadGbpsPerGpu": 0.2}})
    [message] = violations(result, "storage-throughput-per-gpu")
    assert "below the 0.2 GB/s per GPU floor (policy minReadGbpsPerGpu); needs 99.2 GB/s" in message


def test_storage_throughput_spec_floor(pack):
    spec = spec_with(AWS_FS, storage={"filesystem": {"kind": "fsx-lustre", "min_gbps_per_gpu": 0.5}})
    [message] = violations(analyze(pack, with_fsx(1000, 76800, spec)), "storage-throughput-per-gpu")
    assert "(storage.filesystem.min_gbps_per_gpu)" in message


def test_storage_throughput_unknown_fsx_throughput(pack):
    [message] = violations(analyze(pack, with_fsx(None, 4800)), "storage-throughput-per-gpu")
    assert "FSx file system 'fsx' sets no perUnitStorageThroughput or throughputCapacity" in message


def test_storage_throughput_not_applicable_without_a_throughput_model(pack):
    # Only FSx has a throughput model; checking the plan's target against itself would prove nothing.
    spec = spec_with(BASE_BAREMETAL, storage={"filesystem": {"kind": "external", "tier": "good"}})
    result = analyze(pack, facts_only(spec), {"storage-throughput-per-gpu": {"minReadGbpsPerGpu": 0.156}})
    assert violations(result, "storage-throughput-per-gpu") == []
    [reason] = not_applicable(result, "storage-throughput-per-gpu")
    assert reason.startswith("no throughput model for a external filesystem")
    checkpointed = spec_with(spec, storage={"filesystem": {"kind": "external"}, "checkpoint": CHECKPOINT})
    assert not_applicable(analyze(pack, facts_only(checkpointed)), "checkpoint-write-time")


def test_storage_throughput_not_applicable(pack):
    assert not_applicable(analyze(pack, facts_only(BASE_BAREMETAL)), "storage-throughput-per-gpu")


# --- checkpoint-write-time ---------------------------------------------------------------------------------


def test_checkpoint_write_time_compliant(pack):
    result = analyze(pack, with_fsx(1000, 76800))
    assert violations(result, "checkpoint-write-time") == []
    assert violations(analyze(pack, facts_only(AWS_FS)), "checkpoint-write-time") == []


def test_checkpoint_write_time_slow_filesystem(pack):
    [message] = violations(analyze(pack, with_fsx(125, 4800)), "checkpoint-write-time")
    assert "70B parameters x 16 B = 1.12 TB) takes 31.9 min at 0.6 GB/s on FSx for Lustre 'fsx'" in message
    assert "limit 10 min (storage.checkpoint.max_write_minutes) needs 1.9 GB/s" in message


def test_checkpoint_write_time_policy_limit(pack):
    result = analyze(pack, with_fsx(1000, 76800), {"checkpoint-write-time": {"maxWriteMinutes": 0.1}})
    [message] = violations(result, "checkpoint-write-time")
    assert "at 75.0 GB/s on FSx for Lustre 'fsx'; limit 0.1 min (policy maxWriteMinutes)" in message


def test_checkpoint_write_time_not_applicable(pack):
    assert not_applicable(analyze(pack, facts_only(BASE_AWS)), "checkpoint-write-time")


# --- hot-spare-ratio ---------------------------------------------------------------------------------------


def test_hot_spare_ratio_compliant(pack):
    assert violations(analyze(pack, facts_only(BASE_BAREMETAL)), "hot-spare-ratio") == []


def test_hot_spares_below_minimum(pack):
    result = analyze(pack, facts_only(BASE_AWS), {"hot-spare-ratio": {"minSparePercent": 5}})
    messages = violations(result, "hot-spare-ratio")
    assert len(messages) == 2  # one per SU
    assert "pool 'train' SU 0: 1 hot spares of 32 nodes (3.1%), below the 5% minimum" in messages[0]


def test_hot_spares_above_maximum(pack):
    spec = spec_with(BASE_BAREMETAL, pools=[{"name": "h100", "system": "dgx-h100", "nodes": 23, "spares": 8}])
    [message] = violations(analyze(pack, facts_only(spec)), "hot-spare-ratio")
    assert "8 hot spares of 31 nodes (25.8%), above the 12.5% maximum" in message


# --- queue-quota-within-capacity ---------------------------------------------------------------------------

QUEUED = spec_with(BASE_AWS, kubernetes={"queues": [
    {"team": "pretraining", "gpu_quota": 400}, {"team": "serving", "gpu_quota": 96, "workload": "inference"}]})


def queues(quotas: dict[str, Any], flavor_pool: str = "train", spec: dict[str, Any] = QUEUED) -> Any:
    def build() -> None:
        facts_components(spec)
        b.flavor("train", {"neocloud.io/pool": flavor_pool})
        for team, gpus in quotas.items():
            b.cluster_queue(team, "train", gpus)

    return record(build)


def test_queue_quota_compliant(pack):
    result = analyze(pack, queues({"pretraining": 400, "serving": "96"}))
    assert violations(result, "queue-quota-within-capacity") == []


def test_cluster_queues_over_capacity(pack):
    [message] = violations(analyze(pack, queues({"pretraining": 400, "serving": "128"})),
                           "queue-quota-within-capacity")
    assert message == ("ClusterQueues guarantee 528 GPUs (nominalQuota) on pool 'train', which schedules 496")


def test_spec_queues_over_commit_limit(pack):
    result = analyze(pack, queues({}), {"queue-quota-within-capacity": {"maxCommitPercent": 50}})
    [message] = violations(result, "queue-quota-within-capacity")
    assert "queues guarantee 496 GPUs on pool 'train', which schedules 496 (spares excluded; commit limit 50%)" \
        in message


def test_cluster_queue_on_unplanned_pool(pack):
    [message] = violations(analyze(pack, queues({"pretraining": 8}, flavor_pool="ghost")),
                           "queue-quota-within-capacity")
    assert "ClusterQueue 'pretraining' quotas 8 GPUs on flavor 'train', which selects no planned pool" in message


def _queue_pools(run: Any, change: Any) -> list[Any]:
    """The run's resources with the cluster facts' planned queues edited by ``change(queues)``."""
    def edit(inputs: dict[str, Any]) -> None:
        change(inputs["neocloud"]["queues"])

    return [mutate(r, edit) if r.type == "neocloud:index:GpuCluster" else r for r in run.resources]


def test_spec_queues_count_against_the_pool_the_plan_resolved(pack):
    """The queues' pools come resolved in the facts (ClusterSpec.queue_pool decides the default once); the rule
    follows a changed pool and fails closed on a queue without one instead of assuming the first pool."""
    run = queues({})

    def ghost(entries: list[dict[str, Any]]) -> None:
        entries[0]["pool"] = "ghost"

    [message] = violations(analyze(pack, run, resources=_queue_pools(run, ghost)), "queue-quota-within-capacity")
    assert message == "queues draw on pool 'ghost', which is not planned"

    def unresolved(entries: list[dict[str, Any]]) -> None:
        del entries[0]["pool"]

    [message] = violations(analyze(pack, run, resources=_queue_pools(run, unresolved)),
                           "queue-quota-within-capacity")
    assert message == "queue 'pretraining' names no planned pool in the cluster facts"
    messages = violations(analyze(pack, run, resources=_queue_pools(run, unresolved)), "whole-node-gpu-requests")
    assert messages == ["training queue 'pretraining' draws on pool 'None', which is not planned"]


def test_queue_quota_not_applicable(pack):
    assert not_applicable(analyze(pack, facts_only(BASE_AWS)), "queue-quota-within-capacity")


# --- dev-scales-to-zero ------------------------------------------------------------------------------------


def dev_pool(min_nodes: int | None, node_group_min: int) -> Any:
    pool = dict(BASE_AWS["pools"][0])
    if min_nodes is not None:
        pool["min_nodes"] = min_nodes
    spec = spec_with(BASE_AWS, environment="dev", pools=[pool])

    def build() -> None:
        c = facts_components(spec)
        b.node_group("ng", parent=c["train"], subnets=[b.subnet("s", "us-east-1a")],
                     sizes=(node_group_min, node_group_min, 64))

    return record(build)


def test_dev_scales_to_zero_compliant(pack):
    result = analyze(pack, dev_pool(0, 0))
    assert violations(result, "dev-scales-to-zero") == []
    assert not not_applicable(result, "dev-scales-to-zero")


def test_dev_pool_keeps_nodes(pack):
    messages = violations(analyze(pack, dev_pool(None, 2)), "dev-scales-to-zero")
    assert messages == [
        "pool 'train' (dev) keeps at least 64 nodes (8 GPUs each) running; set pools[].min_nodes: 0",
        "node group 'ng' (dev) has scalingConfig.minSize 2; non-prod GPU node groups scale to zero",
    ]


def test_dev_scales_to_zero_advice_comes_from_the_provider() -> None:
    """Lambda on-demand instances do not autoscale (the Lambda profile refuses any other min_nodes), so the rule
    must not advise a min_nodes: 0 the spec would refuse; it says what stops the billing there."""
    from neocloud import load_cluster_spec
    from tests.core.test_spec import error_for, stack_cluster

    raw = stack_cluster("lambda")
    raw["pools"][0]["min_nodes"] = 0
    assert "Lambda on-demand instances do not autoscale" in error_for(raw)  # the advice other clouds get is refused
    del raw["pools"][0]["min_nodes"]
    raw["environment"] = "dev"
    load_cluster_spec(raw)  # valid


def test_dev_lambda_pool_keeps_nodes(pack):
    from tests.core.test_spec import stack_cluster

    raw = stack_cluster("lambda")
    raw["environment"] = "dev"
    messages = violations(analyze(pack, facts_only(raw)), "dev-scales-to-zero")
    assert messages and all(m.endswith("Lambda instances do not autoscale: remove the pool from the stack while "
                                       "idle (`pulumi up` terminates its instances)") for m in messages)


@pytest.mark.parametrize("spec", [BASE_AWS, BASE_BAREMETAL], ids=["prod", "baremetal"])
def test_dev_scales_to_zero_not_applicable(pack, spec):
    assert not_applicable(analyze(pack, facts_only(spec)), "dev-scales-to-zero")


# --- whole-node-gpu-requests -------------------------------------------------------------------------------


def training(quota: int, job_gpus: int, cq_gpus: int | None = None) -> Any:
    spec = spec_with(BASE_AWS, kubernetes={"queues": [
        {"team": "pretraining", "gpu_quota": quota}, {"team": "serving", "gpu_quota": 4, "workload": "inference"}]})

    def build() -> None:
        facts_components(spec)
        b.flavor("train", {"neocloud.io/pool": "train"})
        b.cluster_queue("pretraining", "train", cq_gpus if cq_gpus is not None else quota)
        for ns in ("pretraining", "serving"):
            k8s.batch.v1.Job(f"job-{ns}", metadata={"namespace": ns, "name": "probe"}, spec={
                "template": {"spec": {"restartPolicy": "Never", "containers": [{
                    "name": "main", "image": "nccl-tests",
                    "resources": {"limits": {"nvidia.com/gpu": job_gpus}}}]}}})

    return record(build)


def test_whole_node_compliant(pack):
    result = analyze(pack, training(480, 8))
    assert violations(result, "whole-node-gpu-requests") == []


def test_partial_node_quota_and_requests(pack):
    messages = violations(analyze(pack, training(476, 4, cq_gpus=476)), "whole-node-gpu-requests")
    assert messages == [
        "training queue 'pretraining' guarantees 476 GPUs, not a whole number of 8-GPU nodes of pool 'train'",
        "ClusterQueue 'pretraining' nominalQuota 476 nvidia.com/gpu is not a whole number of 8-GPU nodes",
        "Job 'job-pretraining' in training namespace 'pretraining': container 'main' limits 4 nvidia.com/gpu; "
        "training takes whole 8-GPU nodes",
    ]


def test_whole_node_not_applicable_without_training_queues(pack):
    assert not_applicable(analyze(pack, facts_only(BASE_AWS)), "whole-node-gpu-requests")


def test_dev_scales_to_zero_coreweave_node_pool(pack):
    """A non-prod CoreWeave NodePool (a billed provider) must allow minNodes 0 like the plan's pool."""
    import pulumi
    import pulumi_kubernetes as k8s

    spec = {"name": "t", "provider": "coreweave", "environment": "dev", "region": "US-EAST-04",
            "zone": "US-EAST-04A", "pools": [{"name": "h200", "system": "hgx-h200", "nodes": 8, "min_nodes": 0}],
            "fabric": {"kind": "infiniband"}, "catalog": {"systems": {"hgx-h200": {"nic_gbps": 400}}}}

    def build(min_nodes: int) -> Any:
        def program() -> None:
            c = facts_components(spec)
            k8s.apiextensions.CustomResource(
                "np", api_version="compute.coreweave.com/v1alpha1", kind="NodePool", metadata={"name": "h200"},
                spec={"instanceType": "gd-8xh200ib-i128", "minNodes": min_nodes, "maxNodes": 8, "targetNodes": 0,
                      "nodeLabels": {"neocloud.io/pool": "h200"}},
                opts=pulumi.ResourceOptions(parent=c["h200"]))

        return record(program)

    assert violations(analyze(pack, build(0)), "dev-scales-to-zero") == []
    assert violations(analyze(pack, build(4)), "dev-scales-to-zero") == [
        "NodePool 'np' (dev) has spec.minNodes 4; non-prod GPU node groups scale to zero"]


# --- goodput-floor -----------------------------------------------------------------------------------------

GOODPUT_SPEC = spec_with(BASE_AWS, storage={"filesystem": {"kind": "fsx-lustre", "tier": "good"},
                                            "checkpoint": CHECKPOINT})


def test_goodput_floor_compliant(pack):
    # 496 GPUs: 0.235 interruptions/day; a 70B checkpoint (1.12 TB) at the 'good' tier's 13.6 GB/s = 82 s.
    result = analyze(pack, facts_only(GOODPUT_SPEC))
    assert violations(result, "goodput-floor") == []
    assert not not_applicable(result, "goodput-floor")


def test_goodput_below_the_floor(pack):
    # A 2 h restart after each of 0.235 interruptions/day (MTBF 102 h) loses ~2% to restarts, ~2% more to rework.
    spec = spec_with(GOODPUT_SPEC, goodput={"restart_minutes": 120})
    [message] = violations(analyze(pack, facts_only(spec), {"goodput-floor": {"minExpectedGoodput": 0.99}}),
                           "goodput-floor")
    assert message.startswith("pool 'train' expects 96.0% goodput, below the 99% floor (policy minExpectedGoodput): "
                              "0.2349 interruptions per day (MTBF 102.17 h)")


def test_goodput_default_floor_at_llama3_scale(pack):
    # Llama 3 scale on one pool: 2,048 p5 (16,384 GPUs) -> 7.76 interruptions per day, one every 3.09 h. Even
    # with a 15 s checkpoint (the 'good' tier sized for 64 SUs writes 448 GB/s), 10 min restarts (5.4% of the
    # time) and rework (~3%) bring expected goodput under the default 90% floor.
    spec = spec_with(BASE_AWS, pools=[{"name": "train", "system": "p5.48xlarge", "nodes": 2048}],
                     storage={"filesystem": {"kind": "fsx-lustre", "tier": "good"},
                              "checkpoint": {"model_parameters_billion": 405, "max_write_minutes": 60}})
    [message] = violations(analyze(pack, facts_only(spec)), "goodput-floor")
    assert "below the 90% floor (policy minExpectedGoodput): 7.7593 interruptions per day (MTBF 3.09 h)" in message
    assert message.startswith("pool 'train' expects 89.7% goodput")


def test_goodput_without_a_checkpoint(pack):
    spec = spec_with(BASE_AWS, storage={"filesystem": {"kind": "fsx-lustre", "tier": "good"}})
    [message] = violations(analyze(pack, facts_only(spec)), "goodput-floor")
    assert message == ("pool 'train' plans no checkpoint (storage.checkpoint): at 0.2349 expected interruptions per "
                       "day each one loses all work since the job started; expected goodput cannot reach the 90% "
                       "floor")


def test_goodput_facts_missing(pack):
    run = facts_only(GOODPUT_SPEC)
    pool = next(r for r in run.resources if r.type == "neocloud:index:GpuPool")
    stripped = mutate(pool, lambda inputs: inputs["neocloud"].pop("goodput"))
    [message] = violations(analyze(pack, replace(run, resources=replace_resource(run, pool.name, stripped))),
                           "goodput-floor")
    assert message == ("pool 'train' carries no goodput plan (interruptions, checkpoint interval, expected goodput): "
                       "its goodput cannot be checked")


def test_goodput_not_applicable_without_pools(pack):
    run = record(lambda: aws.s3.Bucket("b"))
    assert not_applicable(analyze(pack, run), "goodput-floor") == ["no GpuPool"]


# --- fabric-leaf-utilisation -------------------------------------------------------------------------------


def test_fabric_leaf_utilisation_compliant(pack):
    # H100RA: an SU of 32 DGX H100 fills a 64-port QM9700 leaf (32 down, 32 up).
    result = analyze(pack, facts_only(BASE_BAREMETAL))
    assert violations(result, "fabric-leaf-utilisation") == []
    assert not not_applicable(result, "fabric-leaf-utilisation")


def test_fabric_leaf_mostly_unused(pack):
    # The same SU on a 144-port Q3400 leaves 80 ports of every leaf dark.
    spec = spec_with(BASE_BAREMETAL, pools=[{"name": "h100", "system": "dgx-h100", "nodes": 96}],
                     fabric=dict(BASE_BAREMETAL["fabric"], switch="Q3400"))
    [message] = violations(analyze(pack, facts_only(spec)), "fabric-leaf-utilisation")
    assert "each leaf uses 32 down + 32 up of 144 links (44%); below the 50% minimum" in message
    assert "fabric.nodes_per_su up to 72" in message
    # Larger SUs fill the leaf: B300XDR's 72-node SU on Q3400.
    bigger = spec_with(spec, fabric=dict(spec["fabric"], nodes_per_su=72))
    assert violations(analyze(pack, facts_only(bigger)), "fabric-leaf-utilisation") == []
    assert violations(analyze(pack, facts_only(spec), {"fabric-leaf-utilisation": {"minLeafPortUtilisation": 0.4}}),
                      "fabric-leaf-utilisation") == []


def test_fabric_leaf_utilisation_not_applicable_on_efa(pack):
    assert not_applicable(analyze(pack, facts_only(BASE_AWS)), "fabric-leaf-utilisation")
