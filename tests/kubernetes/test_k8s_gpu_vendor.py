"""The GPU vendor is catalog data: quotas, flavors, LimitRanges, taints and acceptance follow each pool's vendor.

Documented behaviour encoded here:
- The NVIDIA device plugin advertises ``nvidia.com/gpu`` (NVIDIA GPU Operator docs); AMD's advertises
  ``amd.com/gpu`` ("Exposes AMD GPUs as amd.com/gpu resources", instinct.docs.amd.com/projects/k8s-device-plugin).
- Kueue admits a workload only for resources its ClusterQueue covers (Kueue docs, "Cluster Queue": a flavor's
  quota names the resource); with ``quotaCheckStrategy: IgnoreUndeclared`` an uncovered GPU resource would not be
  counted at all, so a pool of AMD GPUs under an ``nvidia.com/gpu`` quota would be unlimited and unschedulable.
- Pods tolerate a taint only with a matching key (Kubernetes "Taints and Tolerations").

AMD pools run only where the platform manages the AMD GPU stack (DigitalOcean DOKS: tests/providers/
test_digitalocean_amd.py); elsewhere (no AMD GPU Operator install here) the spec refuses them in one line, naming
the pool, before any resource is registered. Per-node acceptance runs NVIDIA's tools, so AMD pools get none.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from components.kubernetes.kueue import cluster_queue_spec, resource_flavor_spec
from components.labels import gpu_taint
from neocloud import SpecError, build_plan, load_cluster_spec
from neocloud.catalog import GPU_VENDORS, GPUS, SYSTEMS
from neocloud.plan import ClusterPlan
from neocloud.plan.kubernetes import acceptance_tests, plan_team_queues
from tests.kubernetes.runs import objects_of, run_for

BAREMETAL = {
    "name": "amd", "provider": "baremetal", "environment": "dev",
    "pools": [{"name": "gpu", "system": "dgx-h100", "nodes": 4}],
    "fabric": {"kind": "infiniband", "switch": "QM9700"},
    "racks": {"power_budget_kw": 40.0},
    "kubernetes": {"queues": [{"team": "research", "gpu_quota": 16}]},
}


def _amd(plan: ClusterPlan, system: str) -> ClusterPlan:
    """The plan with its pool's system swapped for an AMD one (the spec refuses AMD pools; the layer's data path
    must still be right for when it does not)."""
    return replace(plan, pools=tuple(replace(p, system=SYSTEMS[system]) for p in plan.pools))


def test_catalog_says_each_gpus_vendor_resource_operator_and_collective() -> None:
    assert GPU_VENDORS["nvidia"].resource == "nvidia.com/gpu" and GPU_VENDORS["nvidia"].collective == "NCCL"
    assert GPU_VENDORS["amd"].resource == "amd.com/gpu" and GPU_VENDORS["amd"].collective == "RCCL"
    assert GPU_VENDORS["amd"].operator == "AMD GPU Operator"
    for name in ("MI300X", "MI325X"):
        assert GPUS[name].vendor == "amd"
    assert GPUS["MI325X"].memory_gb == 256 and GPUS["MI325X"].hbm_tbps == 6.0
    assert SYSTEMS["mi325x-8"].gpu_vendor is GPU_VENDORS["amd"]
    assert all(GPUS[s.gpu].vendor in GPU_VENDORS for s in SYSTEMS.values())


@pytest.mark.parametrize("system", ["mi300x-8", "mi325x-8"])
def test_amd_pools_are_refused_in_one_line_naming_the_pool(system: str) -> None:
    raw = {**BAREMETAL, "pools": [{"name": "gpu", "system": system, "nodes": 4}],
           "catalog": {"systems": {system: {"node_power_kw": 10.0, "rack_power_kw": 40.0}}}}
    with pytest.raises(SpecError) as caught:
        load_cluster_spec(raw)
    message = str(caught.value)
    assert message.startswith(f"neocloud:cluster.pools[0].system: '{system}' has AMD ")
    assert "amd.com/gpu" in message and "AMD GPU Operator" in message and "provider 'baremetal'" in message
    assert "\n" not in message and "allowed: " in message and "mi300x" not in message.split("allowed: ")[1]


def test_quotas_flavors_taints_and_acceptance_follow_the_pool_vendor() -> None:
    spec = load_cluster_spec(BAREMETAL)
    nvidia = build_plan(spec)
    amd = _amd(nvidia, "mi325x-8")
    for plan, resource, collective in ((nvidia, "nvidia.com/gpu", "NCCL"), (amd, "amd.com/gpu", "RCCL")):
        (queue,) = plan_team_queues(spec, plan)
        assert queue.gpu_resource == resource
        cq = cluster_queue_spec(queue)
        group = cq["resourceGroups"][0]
        assert group["coveredResources"] == [resource]
        assert [r["name"] for f in group["flavors"] for r in f["resources"]] == [resource]
        pool = plan.pools[0]
        flavor = resource_flavor_spec(pool, pool.name)
        assert flavor["tolerations"] == [{"key": resource, "operator": "Exists", "effect": "NoSchedule"}]
        assert gpu_taint(pool.system)["key"] == resource  # the node taint the flavor's toleration matches
        tests = acceptance_tests(spec, plan)
        if plan is amd:  # acceptance cannot check AMD GPUs yet (GpuVendor.acceptance_missing): no sweep planned
            assert tests == () and GPU_VENDORS["amd"].collective == collective
        else:
            assert {t.gpu_resource for t in tests} == {resource} and {t.collective for t in tests} == {collective}


def _requests(obj: dict[str, Any]) -> set[str]:
    hard = obj["spec"].get("hard", {})
    limits = [k for item in obj["spec"].get("limits", []) for k in item.get("max", {})]
    return {k.removeprefix("requests.") for k in hard} | set(limits)


def test_nvidia_stacks_quota_limit_and_request_nvidia_gpus_only() -> None:
    run = run_for("staging")
    resources = set()
    for obj in objects_of(run, "ResourceQuota") + objects_of(run, "LimitRange"):
        resources |= _requests(obj)
    for cq in objects_of(run, "ClusterQueue"):
        resources |= set(cq["spec"]["resourceGroups"][0]["coveredResources"])
    for job in objects_of(run, "Job"):
        pod = job["spec"]["template"]["spec"]
        for c in pod.get("initContainers", []) + pod["containers"]:
            resources |= {k for k in c.get("resources", {}).get("limits", {}) if k.endswith("/gpu")}
    assert resources == {"nvidia.com/gpu"}
