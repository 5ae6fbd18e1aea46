"""A DigitalOcean stack with a 1-GPU pool beside its fabric-attached one: planned, built and checked.

Documented behaviour encoded here:
- DigitalOcean "Droplet features" (docs.digitalocean.com/products/droplets/details/features/, #gpu-droplets): the
  self-service 1-GPU sizes are ``gpu-h100x1-80gb`` and ``gpu-h200x1-141gb``; "All GPU Droplets have a maximum
  bandwidth of 10 Gbps public and 25 Gbps private" and only the multi-node sizes are fabric-attached, so a 1-GPU
  Droplet has no RDMA fabric: no leaf/spine plan, no fabric device request, no multi-node NCCL sweep.
- NVIDIA nccl-tests doc/PERFORMANCE.md: all-reduce bus bandwidth = algbw x 2(n-1)/n, which is 0 for n = 1 GPU, so a
  1-GPU node has no intra-node all-reduce threshold; its acceptance records the step as not applicable instead of
  failing every node for want of an NVLink figure.
- The NIC resource a fabric pool's pods request is the site's ``digitalocean.rdma_resource`` (DigitalOcean does not
  document the name); a stack of 1-GPU pools only does not need it.

This is a test-only spec (the shipped ``digitalocean`` stack stays the 16-node training cluster).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.providers.digitalocean.profile import DIGITALOCEAN_SIZES
from neocloud import build_plan, load_cluster_spec
from neocloud.catalog import SYSTEMS
from neocloud.offline import ProgramRun
from neocloud.plan.kubernetes import acceptance_pools, acceptance_tests, plan_team_queues
from tests.policies.support import analyze
from tests.policies.test_stacks import stack_config as policy_config
from tests.providers.helpers import run_with, stack_config

NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
RDMA = "rdma/hca_shared_devices_a"  # what the shipped stack sets: the upstream plugin's sample name


def _with_x1(*, fabric_pool: bool = True) -> dict[str, Any]:
    cluster = stack_config("digitalocean")["neocloud:cluster"]
    # 7 + 1 hot spare: within the stack's policy config (2 to 12.5% spares per SU).
    x1 = {"name": "serve", "system": "h100-x1", "nodes": 7, "spares": 1, "min_nodes": 0}
    if fabric_pool:
        cluster["pools"].append(x1)
        cluster["kubernetes"]["queues"].append({"team": "serving", "gpu_quota": 4, "pool": "serve",
                                                "workload": "inference"})
    else:
        cluster["pools"] = [x1]
        cluster["kubernetes"]["queues"] = [{"team": "serving", "gpu_quota": 4, "workload": "inference"}]
        del cluster["digitalocean"]["rdma_resource"]
    return cluster


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_with("digitalocean", _with_x1())


def test_x1_systems_are_one_gpu_without_a_fabric() -> None:
    for name, slug in (("h100-x1", "gpu-h100x1-80gb"), ("h200-x1", "gpu-h200x1-141gb")):
        system = SYSTEMS[name]
        assert (system.gpus_per_node, system.rails, system.nvlink_domain_nodes) == (1, 0, 1)
        assert system.nvlink_gbps_per_gpu is None and system.nic_resource is None
        assert DIGITALOCEAN_SIZES[name] == slug


def test_plan_has_no_fabric_sweep_or_intranode_threshold_for_the_x1_pool() -> None:
    spec = load_cluster_spec(_with_x1())
    plan = build_plan(spec)
    serve = plan.pool("serve")
    assert serve.fabric is None and serve.gpus == 7 and serve.su_groups == ((0, 8),)
    assert plan.pool("h100").fabric is not None  # the fabric-attached pool keeps its leaf/spine plan
    assert {t.pool for t in acceptance_tests(spec, plan)} == {"h100"}
    accept = {p.pool: p for p in acceptance_pools(spec, plan)}
    assert accept["serve"].min_busbw_gbytes is None and accept["serve"].gpus_per_node == 1
    assert "2(n-1)/n = 0 for n = 1" in str(accept["serve"].nccl_not_applicable)
    assert accept["h100"].nccl_not_applicable is None and accept["h100"].min_busbw_gbytes == 360.0
    queues = {q.team: q for q in plan_team_queues(spec, plan)}
    assert queues["serving"].fabric_resource is None and queues["training"].fabric_resource == RDMA


def test_the_x1_node_pool_uses_the_documented_slug(run: ProgramRun) -> None:
    pools = {r.inputs["name"]: r.inputs for r in run.of_type(NODE_POOL)}
    assert pools["do-train-serve"]["size"] == "gpu-h100x1-80gb"
    assert pools["do-train-h100"]["size"] == "gpu-h100x8-640gb-contracted"


def test_acceptance_records_nccl_as_not_applicable_on_one_gpu(run: ProgramRun) -> None:
    daemonsets = {r.inputs["metadata"]["name"]: r.inputs for r in run.resources
                  if r.type == "kubernetes:apps/v1:DaemonSet"}
    pod = daemonsets["accept-serve"]["spec"]["template"]["spec"]
    nccl = next(c for c in pod["initContainers"] if c["name"] == "nccl")
    written = json.loads(json.loads(nccl["command"][-1].split("echo ", 1)[1].rsplit(" > ", 1)[0]))
    assert written["passed"] is True and written["problems"] == [] and "n = 1" in written["not_applicable"]
    assert nccl["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    sweeps = [r.inputs["metadata"]["name"] for r in run.resources if r.type == "kubernetes:batch/v1:CronJob"]
    assert sweeps == ["sweep-h100-su0"]  # no sweep for a pool without a fabric


def test_stack_with_an_x1_pool_passes_check(pack, run: ProgramRun) -> None:
    result = analyze(pack, run, policy_config("digitalocean"))
    assert result.mandatory == [], [d.message for d in result.mandatory]


def test_x1_only_stack_needs_no_rdma_resource_and_passes_check(pack) -> None:
    cluster = _with_x1(fabric_pool=False)
    spec = load_cluster_spec(cluster)  # no digitalocean.rdma_resource: no fabric-attached pool asks for it
    assert spec.profile.fabric_resource(spec) is None
    result = analyze(pack, run_with("digitalocean", cluster), policy_config("digitalocean"))
    assert result.mandatory == [], [d.message for d in result.mandatory]
