"""The acceptance pod's program, run as the pod runs it: a subprocess with ``nvidia-smi`` on PATH (a stand-in
that prints the DGX H100 fixtures, as the real tool prints them), NIC state in a sysfs-shaped directory, and the
Kubernetes API played by a server on 127.0.0.1 that records every request. The requests are checked against the
API's documented shapes: the node status patch is a strategic-merge patch of ``status.conditions`` (merged by
``type``), the taint/label removal a JSON patch whose ``test`` ops pin the taint, and the Event a valid core/v1
Event (``kubernetes-validate``)."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import kubernetes_validate
import pytest

from neocloud.catalog import SYSTEMS
from neocloud.node import expectation_for
from neocloud.node._bundle import ACCEPTANCE_CONDITION, acceptance_program

FIXTURES = Path(__file__).parent / "fixtures"
TAINT = {"key": "neocloud.io/acceptance", "value": "pending", "effect": "NoSchedule"}
LABEL = "neocloud.io/acceptance"


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[tuple[str, str, str, object]] = []
    node: dict = {}  # type: ignore[type-arg]

    def _body(self) -> object:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _reply(self, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path, "", None))
        self._reply(self.node)

    def do_PATCH(self) -> None:
        self.requests.append(("PATCH", self.path, self.headers["Content-Type"], self._body()))
        self._reply(self.node)

    def do_POST(self) -> None:
        self.requests.append(("POST", self.path, self.headers["Content-Type"], self._body()))
        self._reply({})

    def do_DELETE(self) -> None:
        self.requests.append(("DELETE", self.path, "", None))
        self._reply({})

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    Recorder.requests = []
    Recorder.node = {"metadata": {"name": "gpu-1", "labels": {LABEL: "pending", "neocloud.io/pool": "h100"}},
                     "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
                                         TAINT]}}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def pod(tmp_path: Path, api: str, *, xml: str | None = None) -> dict[str, str]:
    """The pod's filesystem and environment: the program, nvidia-smi, sysfs, a ServiceAccount token."""
    (tmp_path / "prog.py").write_text(acceptance_program())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "q.xml").write_text(xml or (FIXTURES / "dgx-h100.nvidia-smi-q-x.xml").read_text())
    smi = bin_dir / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\nif [ \"$1\" = topo ]; then cat {FIXTURES / 'dgx-h100.topo-m.txt'}; "
                   f"else cat {tmp_path / 'q.xml'}; fi\n")
    smi.chmod(0o755)
    for i in range(12):
        port = tmp_path / "sys" / f"mlx5_{i}" / "ports" / "1"
        port.mkdir(parents=True)
        compute = i not in (4, 5, 10, 11)
        (port / "state").write_text("4: ACTIVE\n")
        (port / "phys_state").write_text("5: LinkUp\n")
        (port / "rate").write_text("400 Gb/sec (4X NDR)\n" if compute else "200 Gb/sec (2X NDR)\n")
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("token\n")
    (tmp_path / "expect.json").write_text(json.dumps(asdict(expectation_for(SYSTEMS["dgx-h100"]))))
    (tmp_path / "results").mkdir()
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "KUBERNETES_API_URL": api, "SERVICEACCOUNT_DIR": str(sa),
            "NODE_NAME": "gpu-1", "TAINT_KEY": TAINT["key"], "ACCEPTANCE_LABEL": LABEL,
            "POD_NAMESPACE": "neocloud-acceptance"}


def step(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(tmp_path / "prog.py"), *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def passing_dcgm_and_nccl(results: Path) -> None:
    (results / "dcgm.json").write_text(json.dumps({"step": "dcgm", "passed": True, "problems": []}))
    (results / "nccl.json").write_text(json.dumps({"step": "nccl", "passed": True, "problems": []}))


def test_good_node_is_untainted_and_marked_accepted(tmp_path, api) -> None:
    env = pod(tmp_path, api)
    results = tmp_path / "results"
    verify = step(tmp_path, env, "verify", "--expect", str(tmp_path / "expect.json"),
                  "--out", str(results / "verify.json"), "--sysfs", str(tmp_path / "sys"))
    assert verify.returncode == 0, verify.stderr
    assert json.loads((results / "verify.json").read_text())["passed"] is True
    passing_dcgm_and_nccl(results)
    report = step(tmp_path, env, "report", "--results", str(results))
    assert report.returncode == 0, report.stderr
    status, get, untaint = Recorder.requests
    assert status[:3] == ("PATCH", "/api/v1/nodes/gpu-1/status", "application/strategic-merge-patch+json")
    [condition] = status[3]["status"]["conditions"]  # type: ignore[index]
    assert (condition["type"], condition["status"], condition["reason"]) == (ACCEPTANCE_CONDITION, "True",
                                                                             "Accepted")
    assert get[:2] == ("GET", "/api/v1/nodes/gpu-1")
    assert untaint[:3] == ("PATCH", "/api/v1/nodes/gpu-1", "application/json-patch+json")
    assert untaint[3] == [{"op": "test", "path": "/spec/taints/1", "value": TAINT},
                          {"op": "remove", "path": "/spec/taints/1"},
                          {"op": "remove", "path": "/metadata/labels/neocloud.io~1acceptance"}]


def test_node_with_a_missing_gpu_keeps_its_taint_with_a_condition_and_an_event(tmp_path, api) -> None:
    xml = (FIXTURES / "dgx-h100.nvidia-smi-q-x.xml").read_text()
    last = xml.rindex('\t<gpu id="')
    env = pod(tmp_path, api, xml=xml[:last] + "</nvidia_smi_log>\n")
    results = tmp_path / "results"
    step(tmp_path, env, "verify", "--expect", str(tmp_path / "expect.json"), "--out", str(results / "verify.json"),
         "--sysfs", str(tmp_path / "sys"))
    passing_dcgm_and_nccl(results)
    report = step(tmp_path, env, "report", "--results", str(results))
    assert report.returncode == 1
    status, event = Recorder.requests  # no GET, no taint removal
    [condition] = status[3]["status"]["conditions"]  # type: ignore[index]
    assert (condition["status"], condition["reason"]) == ("False", "GpusFailed")
    assert condition["message"] == "gpus: found 7 NVIDIA H100 80GB HBM3, expected 8"
    assert event[:2] == ("POST", "/api/v1/namespaces/neocloud-acceptance/events")
    body = dict(event[3])  # type: ignore[call-overload]
    body["metadata"] = {**body["metadata"], "name": "gpu-1.acceptance-x"}  # the server fills generateName
    kubernetes_validate.validate(body, "1.33", strict=True)
    assert body["involvedObject"]["kind"] == "Node" and body["type"] == "Warning"


def test_a_step_that_wrote_nothing_fails_the_node(tmp_path, api) -> None:
    env = pod(tmp_path, api)
    results = tmp_path / "results"
    (results / "verify.json").write_text(json.dumps({"step": "verify", "passed": True, "problems": []}))
    (results / "dcgm.json").write_text(json.dumps({"step": "dcgm", "passed": True, "problems": []}))
    report = step(tmp_path, env, "report", "--results", str(results))
    assert report.returncode == 1
    condition = Recorder.requests[0][3]["status"]["conditions"][0]  # type: ignore[index]
    assert condition["message"] == "nccl: produced no result (crashed or was killed at its deadline)"


def test_dcgm_deadline_and_failure(tmp_path, api) -> None:
    env = pod(tmp_path, api)
    results = tmp_path / "results"
    (tmp_path / "rc").write_text("124\n")
    step(tmp_path, env, "dcgm", "--in", str(tmp_path / "none.json"), "--rc", str(tmp_path / "rc"),
         "--out", str(results / "dcgm.json"), "--level", "3")
    assert json.loads((results / "dcgm.json").read_text())["problems"] == [
        "dcgm: dcgmi diag -r 3 gave no result within its deadline"]
    (tmp_path / "rc").write_text("226\n")
    (tmp_path / "diag.json").write_text(json.dumps({"DCGM GPU Diagnostic": {"test_categories": [
        {"category": "Hardware", "tests": [{"name": "GPU Memory", "results": [
            {"gpu_ids": "3", "status": "Fail", "warnings": ["DBE detected"]}]}]}]}}))
    step(tmp_path, env, "dcgm", "--in", str(tmp_path / "diag.json"), "--rc", str(tmp_path / "rc"),
         "--out", str(results / "dcgm.json"))
    assert json.loads((results / "dcgm.json").read_text()) == {
        "step": "dcgm", "passed": False, "problems": ["dcgm: GPU Memory: fail on GPU 3 (DBE detected)"]}


def test_retry_deletes_its_own_pod_so_the_daemonset_checks_again(tmp_path, api) -> None:
    env = pod(tmp_path, api)
    done = step(tmp_path, {**env, "POD_NAME": "accept-h100-x7k2p", "POD_NAMESPACE": "neocloud-acceptance"}, "retry")
    assert done.returncode == 0, done.stderr
    assert Recorder.requests == [("DELETE", "/api/v1/namespaces/neocloud-acceptance/pods/accept-h100-x7k2p", "",
                                  None)]
