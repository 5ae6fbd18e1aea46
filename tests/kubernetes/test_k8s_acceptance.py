"""Node acceptance: one Job per SU group, every node tested, thresholds from the catalog's fabric bandwidth,
the acceptance taint tolerated and removed only through the untaint step's narrow RBAC."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from components.kubernetes.acceptance import ACCEPTANCE_NAMESPACE, all_reduce_script, untaint_script
from components.labels import ACCEPTANCE_TAINT, GPU_TAINT, LABEL_POOL, LABEL_SU
from neocloud import build_plan, load_cluster_spec
from tests.conftest import KUBERNETES_STACKS
from tests.kubernetes.runs import cluster_spec, named, objects_of, run_for


@pytest.mark.parametrize(("stack", "line_rate", "groups"), [
    # DGX H100: 8 x 400 Gbit/s CX-7 (H100RA [P]) = 400 GB/s per node; 31 nodes in 1 SU.
    ("staging", 400.0, {("h100", 0): 31}),
    # GB200 NVL72 tray: 4 x 400 Gbit/s (GB200RA [P]) = 200 GB/s; 144 trays = 1 SU of 8 racks.
    ("gb200", 200.0, {("nvl72", 0): 144}),
    # p5.48xlarge: 3,200 Gbit/s EFA (AWS-P5EFA [P]) = 400 GB/s; AWS labels placement blocks as SUs
    # (two Capacity Blocks of 64 instances).
    ("prod", 400.0, {("train", 0): 64, ("train", 1): 64}),
])
def test_one_job_per_su_group_with_catalog_thresholds(stack: str, line_rate: float, groups: dict) -> None:
    run = run_for(stack)
    fraction = cluster_spec(stack)["kubernetes"].get("acceptance_busbw_fraction", 0.8)
    jobs = objects_of(run, "Job")
    assert {(j["metadata"]["labels"][LABEL_POOL], int(j["metadata"]["labels"][LABEL_SU])): j["spec"]["completions"]
            for j in jobs} == groups
    for job in jobs:
        spec = job["spec"]
        pod = spec["template"]["spec"]
        assert spec["completionMode"] == "Indexed" and spec["parallelism"] == spec["completions"]
        assert spec["backoffLimit"] == 0
        assert pod["nodeSelector"] == {LABEL_POOL: job["metadata"]["labels"][LABEL_POOL],
                                       LABEL_SU: job["metadata"]["labels"][LABEL_SU]}
        tolerated = {(t["key"], t["effect"]) for t in pod["tolerations"]}
        assert {(ACCEPTANCE_TAINT["key"], ACCEPTANCE_TAINT["effect"]), (GPU_TAINT["key"], GPU_TAINT["effect"])} \
            <= tolerated
        dcgm, nccl = pod["initContainers"]
        assert "dcgmi diag" in dcgm["command"][-1]
        env = {e["name"]: e.get("value") for e in nccl["env"]}
        assert float(env["MIN_BUSBW_GBYTES"]) == pytest.approx(line_rate * fraction)
        assert f"--nnodes={spec['completions']}" in nccl["command"][-1]
        (untaint,) = pod["containers"]
        assert {e["name"]: e.get("value") for e in untaint["env"]}["TAINT_KEY"] == ACCEPTANCE_TAINT["key"]
        assert job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_node_is_tested_and_takes_a_whole_node(stack: str) -> None:
    run = run_for(stack)
    spec = load_cluster_spec(cluster_spec(stack))
    plan = build_plan(spec)
    for pool in plan.pools:
        jobs = [j for j in objects_of(run, "Job") if j["metadata"]["labels"][LABEL_POOL] == pool.name]
        assert sum(j["spec"]["completions"] for j in jobs) == pool.total_nodes  # spares included
        for job in jobs:
            for container in job["spec"]["template"]["spec"]["initContainers"]:
                assert container["resources"]["limits"]["nvidia.com/gpu"] == str(pool.system.gpus_per_node)
            nccl = job["spec"]["template"]["spec"]["initContainers"][1]
            if spec.profile.fabric_resource(spec):  # the platform names it (DigitalOcean: a setting)
                fabric = str(spec.profile.fabric_resource(spec))
            elif plan.fabric_kind == "efa":
                fabric = "vpc.amazonaws.com/efa"
            elif plan.provider == "coreweave":
                fabric = "rdma/ib"  # CKS's platform-managed RDMA resource (CoreWeave GPUDirect RDMA guide)
            else:
                fabric = "rdma/rdma_shared_device_a"
            expected = str(pool.system.efa_network_cards) if plan.fabric_kind == "efa" else "1"
            assert nccl["resources"]["limits"][fabric] == expected


def test_rbac_lets_the_job_patch_nodes_and_nothing_else() -> None:
    run = run_for("staging")
    role = named(objects_of(run, "ClusterRole"), "neocloud-node-acceptance")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "patch"]}]
    binding = named(objects_of(run, "ClusterRoleBinding"), "neocloud-node-acceptance")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "node-acceptance",
                                    "namespace": ACCEPTANCE_NAMESPACE}]
    # One headless rendezvous Service for every Job: it selects every acceptance pod, and each Job's pods use it
    # as their subdomain, so rank 0 is <job>-0.<service>.
    services = [o for o in objects_of(run, "Service") if o["metadata"].get("namespace") == ACCEPTANCE_NAMESPACE]
    (service,) = services
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True
    jobs = objects_of(run, "Job")
    assert jobs
    for job in jobs:
        pod = job["spec"]["template"]
        assert pod["spec"]["serviceAccountName"] == "node-acceptance"
        assert pod["spec"]["subdomain"] == service["metadata"]["name"]
        assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
        torchrun = pod["spec"]["initContainers"][1]["command"][-1]
        assert f"--master-addr={job['metadata']['name']}-0.{service['metadata']['name']} " in torchrun


def test_scripts_compile() -> None:
    compile(all_reduce_script(), "all_reduce.py", "exec")
    compile(untaint_script(), "untaint.py", "exec")


class _FakeApiServer(http.server.BaseHTTPRequestHandler):
    node: dict = {}
    patches: list = []

    def do_GET(self) -> None:
        body = json.dumps(self.node).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def do_PATCH(self) -> None:
        assert self.headers["Content-Type"] == "application/json-patch+json"
        assert self.headers["Authorization"] == "Bearer sa-token"
        self.patches.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("has_taint", [True, False])
def test_untaint_removes_exactly_the_acceptance_taint(tmp_path: Path, has_taint: bool) -> None:
    acceptance = {"key": ACCEPTANCE_TAINT["key"], "value": "pending", "effect": "NoSchedule"}
    gpu = {"key": GPU_TAINT["key"], "value": "present", "effect": "NoSchedule"}
    _FakeApiServer.node = {"spec": {"taints": [gpu, acceptance] if has_taint else [gpu]}}
    _FakeApiServer.patches = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _FakeApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (tmp_path / "token").write_text("sa-token")
        script = tmp_path / "untaint.py"
        script.write_text(untaint_script())
        env = {**os.environ, "NODE_NAME": "gpu-node-7", "TAINT_KEY": ACCEPTANCE_TAINT["key"],
               "SERVICEACCOUNT_DIR": str(tmp_path), "KUBERNETES_API_URL": f"http://127.0.0.1:{server.server_port}"}
        done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=30)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    if has_taint:
        assert _FakeApiServer.patches == [("/api/v1/nodes/gpu-node-7", [
            {"op": "test", "path": "/spec/taints/1", "value": acceptance},
            {"op": "remove", "path": "/spec/taints/1"},
        ])]
    else:
        assert _FakeApiServer.patches == []


def test_coreweave_installs_no_gpu_or_network_operator() -> None:
    # "Do not install the NVIDIA GPU Operator on CKS clusters" (CoreWeave GPU driver management docs): the
    # platform runs it and the fabric drivers.
    run = run_for("coreweave")
    releases = [r.inputs.get("chart") for r in run.of_type("kubernetes:helm.sh/v3:Release")]
    assert "gpu-operator" not in releases and "network-operator" not in releases
    assert not run.of_type("kubernetes:mellanox.com/v1alpha1:NicClusterPolicy")
    staging = run_for("staging")
    assert "gpu-operator" in [r.inputs.get("chart") for r in staging.of_type("kubernetes:helm.sh/v3:Release")]
