"""Per-node acceptance as the program renders it: one DaemonSet per pool that runs only on pending nodes and
tolerates only the acceptance and GPU taints; every step under a deadline; thresholds and images from the catalog
and the provider profile; least-privilege RBAC; node sets that join nodes pending; a multi-node sweep per SU.

Kubernetes behaviour these encode: a DaemonSet places one pod on every node matching its ``nodeSelector`` whose
taints the pod tolerates, and removes the pod from a node that stops matching (Kubernetes DaemonSet docs,
"Running Pods on select Nodes"); a pod cannot select nodes by taint, hence the acceptance label; an Indexed Job's
pods are ``<job>-<index>.<subdomain>`` for the headless Service the subdomain names (Job docs, Indexed
completion mode); ``$(VAR)`` in a container command is expanded by the kubelet from the container's env."""

from __future__ import annotations

import pytest

from components.kubernetes.acceptance import (
    ACCEPTANCE_NAMESPACE,
    DCGM_IMAGE,
    intranode_script,
    sweep_script,
)
from components.labels import ACCEPTANCE_LABEL, ACCEPTANCE_TAINT, LABEL_POOL, LABEL_SU
from neocloud import build_plan, load_cluster_spec
from neocloud.node import acceptance_program
from tests.conftest import STACKS
from tests.kubernetes.runs import cluster_spec, named, objects_of, run_for
from tests.kubernetes.test_k8s_kueue import run_with

NGC = "nvcr.io/nvidia/pytorch:25.08-py3"
AWS_DLC = "public.ecr.aws/deep-learning-containers/pytorch-training:2.7.1-gpu-py312-cu128-ubuntu22.04-ec2"


def _daemonsets(stack: str) -> dict[str, dict]:  # type: ignore[type-arg]
    return {d["metadata"]["labels"][LABEL_POOL]: d for d in objects_of(run_for(stack), "DaemonSet")
            if d["metadata"].get("namespace") == ACCEPTANCE_NAMESPACE}


@pytest.mark.parametrize("stack", STACKS)
def test_one_daemonset_per_pool_on_pending_nodes_only(stack: str) -> None:
    plan = build_plan(load_cluster_spec(cluster_spec(stack)))
    daemonsets = _daemonsets(stack)
    if not run_for(stack).of_type("neocloud:kubernetes:KubernetesLayer"):
        assert daemonsets == {}  # no cluster (Lambda on-demand instances): nothing to accept nodes into
        return
    assert set(daemonsets) == {p.name for p in plan.pools}
    for pool in plan.pools:
        pod = daemonsets[pool.name]["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {LABEL_POOL: pool.name, ACCEPTANCE_LABEL["key"]: ACCEPTANCE_LABEL["value"]}
        # Exactly the acceptance taint and the vendor's GPU taint: a node cordoned or tainted for anything else
        # (NVSentinel's quarantine, NoExecute) gets no acceptance pod.
        assert sorted((t["key"], t["effect"]) for t in pod["tolerations"]) == sorted([
            (ACCEPTANCE_TAINT["key"], ACCEPTANCE_TAINT["effect"]), (pool.system.gpu_vendor.resource, "NoSchedule")])
        for step in pod["initContainers"]:
            if "resources" in step:
                assert step["resources"]["limits"] == {pool.system.gpu_vendor.resource:
                                                       str(pool.system.gpus_per_node)}
        assert daemonsets[pool.name]["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


@pytest.mark.parametrize(("stack", "image", "busbw"), [
    # HGX H100: 900 GB/s NVLink per GPU both ways (catalog) -> 450 one way x 0.8 = 360 GB/s bus bandwidth.
    ("staging", NGC, 360.0),
    # GB200 NVL72 tray: 1,800 GB/s -> 900 x 0.8 = 720.
    ("gb200", NGC, 720.0),
    # p5 on EFA: the AWS Deep Learning Container (NCCL's EFA transport, aws-ofi-nccl), never the NGC image.
    ("prod", AWS_DLC, 360.0),
    ("dev", AWS_DLC, 360.0),
])
def test_steps_deadlines_thresholds_and_the_providers_image(stack: str, image: str, busbw: float) -> None:
    (daemonset,) = _daemonsets(stack).values()
    pod = daemonset["spec"]["template"]["spec"]
    verify, dcgm, dcgm_result, nccl = pod["initContainers"]
    (report,) = pod["containers"]
    assert {verify["image"], dcgm_result["image"], nccl["image"], report["image"]} == {image}
    assert dcgm["image"] == DCGM_IMAGE
    assert "--timeout" in verify["command"] and verify["command"][verify["command"].index("--timeout") + 1] == "300"
    # DCGM level 3 by default (long hardware diagnostics), under a 45-minute deadline.
    assert "timeout 2700 dcgmi diag --host 127.0.0.1:5557 -r 3 -j" in dcgm["command"][-1]
    assert nccl["command"][-1].startswith("timeout 900 torchrun --standalone --nproc-per-node=")
    env = {e["name"]: e.get("value") for e in nccl["env"]}
    assert float(env["MIN_BUSBW_GBYTES"]) == pytest.approx(busbw)
    assert "report --results /results && exec sleep infinity; sleep 21600; exec python3" in report["command"][-1]
    report_env = {e["name"]: e.get("value") for e in report["env"]}
    assert (report_env["TAINT_KEY"], report_env["ACCEPTANCE_LABEL"]) == (ACCEPTANCE_TAINT["key"],
                                                                         ACCEPTANCE_LABEL["key"])


def test_dcgm_level_image_and_deadlines_are_spec_fields() -> None:
    cluster = cluster_spec("staging")
    cluster["kubernetes"]["acceptance"] = {"image": "registry.example.com/qualified/pytorch:1", "dcgm_level": 4,
                                           "dcgm_timeout_minutes": 120, "min_driver": "550.54.15"}
    run = run_with("staging", cluster)
    (daemonset,) = [d for d in objects_of(run, "DaemonSet") if d["metadata"]["name"] == "accept-h100"]
    _, dcgm, _, nccl = daemonset["spec"]["template"]["spec"]["initContainers"]
    assert "timeout 7200 dcgmi diag --host 127.0.0.1:5557 -r 4 -j" in dcgm["command"][-1]
    assert nccl["image"] == "registry.example.com/qualified/pytorch:1"
    config = named(objects_of(run, "ConfigMap"), "acceptance-scripts", ACCEPTANCE_NAMESPACE)
    assert '"min_driver": "550.54.15"' in config["data"]["expect-h100.json"]


def test_the_pod_runs_the_bundled_checks_and_scripts() -> None:
    config = named(objects_of(run_for("staging"), "ConfigMap"), "acceptance-scripts", ACCEPTANCE_NAMESPACE)
    assert config["data"]["node_acceptance.py"] == acceptance_program()
    for name in ("node_acceptance.py", "nccl_intranode.py", "nccl_sweep.py"):
        compile(config["data"][name], name, "exec")
    assert config["data"]["nccl_intranode.py"] == intranode_script()
    assert config["data"]["nccl_sweep.py"] == sweep_script()
    assert '"gpus": 8' in config["data"]["expect-h100.json"] and '"rails": 8' in config["data"]["expect-h100.json"]


def test_rbac_is_least_privilege() -> None:
    run = run_for("staging")
    role = named(objects_of(run, "ClusterRole"), "neocloud-node-acceptance")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]},
                             {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch"]}]
    events = named(objects_of(run, "Role"), "node-acceptance-events", ACCEPTANCE_NAMESPACE)
    assert events["rules"] == [{"apiGroups": [""], "resources": ["events"], "verbs": ["create"]}]
    retry = named(objects_of(run, "Role"), "node-acceptance-retry", ACCEPTANCE_NAMESPACE)
    assert retry["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}]
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for binding in objects_of(run, kind):
            if "acceptance" in binding["metadata"]["name"]:
                assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "node-acceptance",
                                                "namespace": ACCEPTANCE_NAMESPACE}]


@pytest.mark.parametrize(("stack", "groups"), [
    ("staging", {("h100", 0): 31}),
    ("gb200", {("nvl72", 0): 144}),
    # AWS: a node group carries the plan SU of its block's first node (neocloud/plan/placement.py); each Capacity
    # Block of 64 instances holds two SUs of 32, so the groups are SU 0 and SU 2.
    ("prod", {("train", 0): 64, ("train", 2): 64}),
])
def test_multi_node_sweep_per_su_on_accepted_nodes(stack: str, groups: dict) -> None:  # type: ignore[type-arg]
    run = run_for(stack)
    sweeps = objects_of(run, "CronJob")
    assert {(c["metadata"]["labels"][LABEL_POOL], int(c["metadata"]["labels"][LABEL_SU])):
            c["spec"]["jobTemplate"]["spec"]["completions"] for c in sweeps} == groups
    (service,) = [s for s in objects_of(run, "Service") if s["metadata"].get("namespace") == ACCEPTANCE_NAMESPACE]
    for cron in sweeps:
        assert cron["spec"]["concurrencyPolicy"] == "Forbid" and cron["spec"]["schedule"] == "0 6 * * 0"
        job = cron["spec"]["jobTemplate"]["spec"]
        assert job["completionMode"] == "Indexed" and job["parallelism"] == job["completions"]
        assert job["activeDeadlineSeconds"] == 900  # nothing waits for GPUs without a deadline
        pod = job["template"]["spec"]
        assert pod["subdomain"] == service["metadata"]["name"]
        assert service["spec"]["selector"].items() <= job["template"]["metadata"]["labels"].items()
        assert [t["key"] for t in pod["tolerations"]] == ["nvidia.com/gpu"]  # accepted nodes only
        (container,) = pod["containers"]
        assert f"--master-addr=$(JOB_NAME)-0.{service['metadata']['name']} " in container["command"][-1]
        assert "JOB_NAME" in {e["name"] for e in container["env"]}


def test_node_sets_join_nodes_pending() -> None:
    """A GPU node set that registers its nodes with the acceptance taint also labels them, so the DaemonSet sees
    them (CoreWeave and Nebius make the taint a setting, off by default on CKS)."""
    key, value = ACCEPTANCE_LABEL["key"], ACCEPTANCE_LABEL["value"]
    groups = [r for r in run_for("prod").of_type("aws:eks/nodeGroup:NodeGroup") if r.inputs.get("taints")]
    assert groups
    for group in groups:
        assert group.inputs["labels"][key] == value
        assert ACCEPTANCE_TAINT["key"] in {t["key"] for t in group.inputs["taints"]}
    for stack, taint in (("coreweave", False), ("coreweave", True)):
        cluster = cluster_spec(stack)
        cluster.setdefault("coreweave", {})["acceptance_taint"] = taint
        for pool in objects_of(run_with(stack, cluster), "NodePool"):
            tainted = ACCEPTANCE_TAINT["key"] in {t["key"] for t in pool["spec"].get("nodeTaints", [])}
            assert tainted is taint and (pool["spec"]["nodeLabels"].get(key) == value) is taint
    for group in run_for("nebius").of_type("nebius:index/mk8sV1NodeGroup:Mk8sV1NodeGroup"):
        template = group.inputs["template"]
        tainted = ACCEPTANCE_TAINT["key"] in {t["key"] for t in template.get("taints") or []}
        assert (template["metadata"]["labels"].get(key) == value) is tainted


def test_a_system_without_a_verified_nvlink_figure_fails_acceptance_with_the_override_to_set() -> None:
    # p4d.24xlarge: hardware.md verifies no NVLink figure for it, so there is no honest threshold.
    cluster = cluster_spec("dev")
    cluster["pools"][0]["system"] = "p4d.24xlarge"
    run = run_with("dev", cluster)
    (daemonset,) = [d for d in objects_of(run, "DaemonSet") if d["metadata"]["name"] == "accept-train"]
    nccl = daemonset["spec"]["template"]["spec"]["initContainers"][3]
    assert "torchrun" not in nccl["command"][-1]
    assert "set catalog.systems.p4d.24xlarge.nvlink_gbps_per_gpu" in nccl["command"][-1]
    assert nccl["command"][-1].endswith("> /results/nccl.json")


def test_a_gpu_the_catalog_cannot_name_fails_verify_with_the_reason() -> None:
    # B300: hardware.md verifies no nvidia-smi product name (nor anything else) for it.
    from neocloud.plan.kubernetes import acceptance_pools

    spec_dict = cluster_spec("dev")
    spec_dict["pools"][0]["system"] = "p6-b300.48xlarge"
    spec = load_cluster_spec(spec_dict)
    (pool,) = acceptance_pools(spec, build_plan(spec))
    assert pool.expectation is None
    assert pool.unverifiable == "verify: the catalog has no nvidia-smi product name for GPU 'B300' of system " \
        "'p6-b300.48xlarge'"
