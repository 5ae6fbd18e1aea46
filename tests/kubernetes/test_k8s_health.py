"""NVSentinel as rendered: pinned, every value documented, wired to each provider's repair path, on the GPU
Operator's standalone DCGM."""

from __future__ import annotations

import pytest

from components.kubernetes.health import NVSENTINEL
from tests.kubernetes.runs import objects_of, run_for


def _release(stack: str, chart: str) -> dict:  # type: ignore[type-arg]
    (release,) = [r.inputs for r in run_for(stack).of_type("kubernetes:helm.sh/v3:Release")
                  if r.inputs.get("chart") == chart]
    return release


@pytest.mark.parametrize(("stack", "files_request"), [
    # Bare metal: no platform repair loop, NVSentinel's fault-remediation files the maintenance request.
    ("staging", True), ("gb200", True),
    # Nebius: no documented mk8s auto-repair was found, so NVSentinel files the request too.
    ("nebius", True),
    # EKS node auto-repair and CoreWeave's node lifecycle automation repair nodes themselves.
    ("prod", False), ("dev", False), ("coreweave", False),
])
def test_nvsentinel_pinned_and_wired_to_the_repair_path(stack: str, files_request: bool) -> None:
    release = _release(stack, NVSENTINEL.chart)
    assert (release["version"], release["namespace"]) == ("v1.30.0", "nvsentinel")
    values = release["values"]["global"]
    assert values["dryRun"] is False and values["janitor"]["enabled"] is False
    assert all(values[m]["enabled"] is True for m in ("gpuHealthMonitor", "faultQuarantine", "nodeDrainer"))
    assert values["faultRemediation"]["enabled"] is files_request
    (namespace,) = [n for n in objects_of(run_for(stack), "Namespace") if n["metadata"]["name"] == "nvsentinel"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


@pytest.mark.parametrize("stack", ["staging", "prod", "gb200", "nebius"])
def test_gpu_operator_runs_standalone_dcgm_for_nvsentinel(stack: str) -> None:
    assert _release(stack, "gpu-operator")["values"]["dcgm"] == {"enabled": True}


def test_node_health_can_be_turned_off_outside_prod() -> None:
    from tests.kubernetes.runs import cluster_spec
    from tests.kubernetes.test_k8s_kueue import run_with

    cluster = cluster_spec("dev")
    cluster["kubernetes"]["node_health"] = {"enabled": False}
    charts = [r.inputs.get("chart") for r in run_with("dev", cluster).of_type("kubernetes:helm.sh/v3:Release")]
    assert NVSENTINEL.chart not in charts
