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


def test_every_provider_says_whether_nvsentinels_janitor_serves_it() -> None:
    """NVSentinel's Janitor executes the RebootNode/TerminateNode requests fault-remediation creates, through a
    Janitor Provider for AWS, GCP, Azure or OCI (docs.nvidia.com/nvsentinel/components/janitor). So a profile may
    name only such a backend, and may turn the Janitor on only where fault-remediation files requests."""
    from neocloud.profiles import JANITOR_CSPS, all_profiles

    for p in all_profiles():
        janitor = p.janitor
        assert janitor.reason, p.name
        assert janitor.csp is None or janitor.csp in JANITOR_CSPS, p.name
        if janitor.enabled:
            assert janitor.csp is not None and p.repair.nvsentinel_remediation, p.name
    by_name = {p.name: p.janitor for p in all_profiles()}
    assert by_name["aws"].csp == "aws"  # documented, but EKS node auto-repair is the repair path there
    assert {n for n, j in by_name.items() if j.csp} == {"aws"}


def test_janitor_needs_fault_remediation_and_a_documented_backend() -> None:
    from components.kubernetes.health import nvsentinel_values
    from neocloud.profiles import REMEDIATION_REQUEST, JanitorSupport, profile

    values = nvsentinel_values(REMEDIATION_REQUEST, dry_run=False,
                               janitor=JanitorSupport(csp="aws", enabled=True, reason="test"))
    assert values["global"]["janitor"] == {"enabled": True} and values["global"]["faultRemediation"]["enabled"]
    with pytest.raises(ValueError, match="janitor on without"):  # EKS: fault-remediation is off
        nvsentinel_values(profile("aws").repair, dry_run=False,
                          janitor=JanitorSupport(csp="aws", enabled=True, reason="test"))
    with pytest.raises(ValueError, match="janitor on without"):  # no documented backend
        nvsentinel_values(REMEDIATION_REQUEST, dry_run=False,
                          janitor=JanitorSupport(csp="nebius", enabled=True, reason="test"))


@pytest.mark.parametrize("stack", ["prod", "coreweave", "nebius", "staging"])
def test_janitor_decision_reaches_the_facts(stack: str) -> None:
    (health,) = run_for(stack).of_type("neocloud:kubernetes:NodeHealth")
    janitor = health.inputs["neocloud"]["janitor"]
    assert janitor["enabled"] is False and janitor["reason"]
    assert _release(stack, NVSENTINEL.chart)["values"]["global"]["janitor"]["enabled"] is janitor["enabled"]
