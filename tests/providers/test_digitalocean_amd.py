"""AMD MI300X/MI325X pools on DigitalOcean DOKS, end to end: the spec, the plan, the program under the mock engine
and the real policy pack over gRPC, on the digitalocean stack with its pool swapped for an AMD one.

Documented behaviour encoded here (sources in components/providers/digitalocean/profile.py and neocloud/catalog.py):
- DOKS manages the AMD GPU stack: "the AMD GPU Device Plugin ... is enabled by default for clusters with an AMD GPU
  node pool" (DigitalOcean API spec, amd_gpu_device.yml); the AMD Device Metrics Exporter is only installed when
  the cluster's ``amd_gpu_device_metrics_exporter_plugin`` is set (pulumi-digitalocean ``KubernetesCluster``).
  Everywhere else this toolkit would have to install the AMD GPU Operator, which it does not: those pools are
  refused.
- The AMD device plugin advertises ``amd.com/gpu`` ("Exposes AMD GPUs as amd.com/gpu resources",
  instinct.docs.amd.com/projects/k8s-device-plugin), so quotas, LimitRanges, Kueue flavors and queues count it,
  and a pod that asks for ``nvidia.com/gpu`` could never be scheduled on these nodes.
- DigitalOcean's MI300X slugs: ``gpu-mi300x8-1536gb`` self-service (Droplets release notes, 12 June 2025) and the
  fabric-attached contract size ``gpu-mi300x8-1536gb-fabric-contracted`` ("Droplet features").
The policy pack over gRPC on the same stack: tests/policies/test_amd.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.providers.digitalocean.profile import DIGITALOCEAN_SIZES, PROFILE
from neocloud import SpecError, build_plan, load_cluster_spec
from neocloud.catalog import GPU_VENDORS, SYSTEMS
from neocloud.offline import ProgramRun
from neocloud.plan.kubernetes import acceptance_pools, acceptance_tests, plan_team_queues
from neocloud.profiles import all_profiles
from tests.providers.helpers import one, run_with, stack_config

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
AMD = "amd.com/gpu"
NVIDIA = "nvidia.com/gpu"


def amd_cluster(system: str = "mi300x-8", **changes: Any) -> dict[str, Any]:
    spec = stack_config("digitalocean")["neocloud:cluster"]
    spec["pools"] = [{"name": "mi", "system": system, "nodes": 15, "spares": 1, "min_nodes": 0}]
    spec.update(changes)
    return spec


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_with("digitalocean", amd_cluster())


def _kind(run: ProgramRun, kind: str) -> list[Any]:
    return [r for r in run.resources if r.type.rsplit(":", 1)[-1] == kind]


def test_the_profile_says_doks_manages_the_amd_stack_and_others_refuse_amd_pools() -> None:
    assert "amd" in PROFILE.managed_gpu_vendors and PROFILE.gpu_stack_missing(SYSTEMS["mi300x-8"]) is None
    assert DIGITALOCEAN_SIZES["mi300x-8"] == "gpu-mi300x8-1536gb-fabric-contracted"
    assert DIGITALOCEAN_SIZES["mi325x-8"] == "gpu-mi325x8-2048gb-fabric-contracted"
    # Every other provider that could host the AMD chassis still refuses it: nothing there installs the driver or
    # the device plugin, so no pod could be scheduled on its GPUs.
    for profile in all_profiles():
        if profile.accepts_system(SYSTEMS["mi300x-8"]) and "amd" not in profile.managed_gpu_vendors:
            assert "does not install the AMD GPU Operator" in str(profile.gpu_stack_missing(SYSTEMS["mi300x-8"]))
            assert profile.gpu_stack_missing(SYSTEMS["hgx-h100"]) is None


@pytest.mark.parametrize("stack", ["nebius", "coreweave", "staging"])
def test_amd_pools_are_refused_where_the_platform_does_not_manage_them(stack: str) -> None:
    spec = stack_config(stack)["neocloud:cluster"]
    spec["pools"] = [{**spec["pools"][0], "system": "mi300x-8"}]
    with pytest.raises(SpecError) as info:
        load_cluster_spec(spec)
    message = str(info.value)
    assert message.startswith("neocloud:cluster.pools[0].system: 'mi300x-8' has AMD MI300X GPUs (amd.com/gpu); "
                              "this toolkit does not install the AMD GPU Operator and provider "), message
    assert "so no pod could be scheduled on them; allowed: " in message and "mi300x-8," not in message


@pytest.mark.parametrize("system", ["mi300x-8", "mi325x-8"])
def test_the_plan_counts_amd_gpus_in_quotas_and_queues(system: str) -> None:
    spec = load_cluster_spec(amd_cluster(system))
    plan = build_plan(spec)
    queues = plan_team_queues(spec, plan)
    assert queues and {q.gpu_resource for q in queues} == {AMD}
    # Per-node acceptance runs NVIDIA tools (nvidia-smi, DCGM, NCCL): nothing is planned for an AMD pool.
    assert acceptance_pools(spec, plan) == () and acceptance_tests(spec, plan) == ()


def test_doks_cluster_enables_the_amd_device_plugin_and_metrics_exporter(run: ProgramRun) -> None:
    doks = one(run, CLUSTER)
    assert doks.inputs["amdGpuDevicePlugin"] == {"enabled": True}
    assert doks.inputs["amdGpuDeviceMetricsExporterPlugin"] == {"enabled": True}
    pool = one(run, NODE_POOL)
    assert pool.inputs["size"] == "gpu-mi300x8-1536gb-fabric-contracted"
    assert pool.inputs["taints"] == [{"key": AMD, "value": "present", "effect": "NoSchedule"}]
    charts = {r.inputs.get("chart") for r in run.of_type("kubernetes:helm.sh/v3:Release")}
    assert "gpu-operator" not in charts, "DOKS manages the GPU stack"


def test_nvidia_only_clusters_leave_the_amd_components_unset() -> None:
    doks = one(run_with("digitalocean", stack_config("digitalocean")["neocloud:cluster"]), CLUSTER)
    assert "amdGpuDevicePlugin" not in doks.inputs and "amdGpuDeviceMetricsExporterPlugin" not in doks.inputs


def test_quotas_limit_ranges_flavors_and_queues_count_amd_gpus(run: ProgramRun) -> None:
    quotas = _kind(run, "ResourceQuota")
    assert quotas and all(set(q.inputs["spec"]["hard"]) == {f"requests.{AMD}"} for q in quotas)
    for limits in _kind(run, "LimitRange"):
        for item in limits.inputs["spec"]["limits"]:
            assert set(item["max"]) == {AMD}
    (flavor,) = _kind(run, "ResourceFlavor")
    assert flavor.inputs["spec"]["tolerations"] == [{"key": AMD, "operator": "Exists", "effect": "NoSchedule"}]
    for queue in _kind(run, "ClusterQueue"):
        (group,) = queue.inputs["spec"]["resourceGroups"]
        assert group["coveredResources"] == [AMD]
    assert not _kind(run, "DaemonSet") and not _kind(run, "CronJob"), "no NVIDIA acceptance on AMD nodes"


def test_acceptance_taint_with_an_amd_pool_is_refused() -> None:
    spec = amd_cluster(digitalocean={**amd_cluster()["digitalocean"], "acceptance_taint": True})
    with pytest.raises(SpecError) as info:
        load_cluster_spec(spec)
    message = str(info.value)
    assert message.startswith("neocloud:cluster.digitalocean.acceptance_taint: per-node acceptance of AMD GPUs")
    assert GPU_VENDORS["amd"].acceptance_missing in message
