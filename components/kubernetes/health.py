"""``NodeHealth``: continuous GPU health and remediation with NVIDIA NVSentinel (a maintained dependency, not a
daemon of ours).

NVSentinel (github.com/NVIDIA/NVSentinel; docs.nvidia.com/nvsentinel/v1.30.0) watches GPUs through DCGM, NVSwitch
and NIC health, system logs and cloud maintenance events; its fault-quarantine module cordons a faulty node, the
node-drainer evacuates it and fault-remediation creates maintenance custom resources that a repair system acts on.
It connects to the GPU Operator's standalone DCGM hostengine ("enable DCGM standalone mode (required)", the
project README), so the GPU Operator values set ``dcgm.enabled`` wherever this is installed.

Who repairs is the provider's: the profile's ``repair`` (``RepairPath``) says whether NVSentinel's own
fault-remediation files the request (bare metal, platforms without a documented repair loop) or the platform
repairs nodes itself (EKS node auto-repair on the managed node groups; CoreWeave's node lifecycle automation). A
drained node's work resumes on a hot spare through Kueue (``kueue.py``): NVSentinel's cordon is an untolerated
NoSchedule taint and its drain ends the workload's pods there, which is when Kueue's TAS treats the node as failed
and hot-swaps it for a spare of the same domain; if none fits, ``waitForPodsReady`` evicts and requeues the
workload, which fits again because quotas exclude the spares.

Only values documented for this chart version are set (``NVSENTINEL_DOCUMENTED_VALUES`` names the page of each).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from neocloud.profiles import JANITOR_CSPS, NO_JANITOR, JanitorSupport, RepairPath
from neocloud.vocabulary import NODE_HEALTH_TYPE, NVSENTINEL_CHART

from .charts import ChartPin
from .objects import child_opts, meta, namespace_labels

__all__ = ["NVSENTINEL", "NVSENTINEL_DOCUMENTED_VALUES", "NodeHealth", "nvsentinel_values"]

NVSENTINEL = ChartPin(
    chart=NVSENTINEL_CHART, version="v1.30.0", repo=None, namespace="nvsentinel",
    release="nvsentinel",
    # The release notes' install line: `helm install nvsentinel oci://ghcr.io/nvidia/nvsentinel --version vX.Y.Z`
    # (github.com/NVIDIA/NVSentinel/releases); v1.30.0 is a published release with versioned docs.
    source="NVIDIA/NVSentinel release v1.30.0; docs.nvidia.com/nvsentinel/v1.30.0",
)
"""NVIDIA NVSentinel (GPU fault detection, quarantine, drain and remediation)."""

_DOCS = "https://docs.nvidia.com/nvsentinel/v1.30.0/configuration"
NVSENTINEL_DOCUMENTED_VALUES: Mapping[str, str] = {
    "global.dryRun": f"{_DOCS}/configuration-overview (Dry Run Mode)",
    "global.gpuHealthMonitor.enabled": f"{_DOCS}/gpu-health-monitor (Module Enable/Disable)",
    "global.faultQuarantine.enabled": f"{_DOCS}/fault-quarantine (Module Enable/Disable)",
    "global.nodeDrainer.enabled": f"{_DOCS}/node-drainer (Module Enable/Disable)",
    "global.faultRemediation.enabled": f"{_DOCS}/fault-remediation (Module Enable/Disable)",
    "global.janitor.enabled": f"{_DOCS}/janitor (Module Enable/Disable)",
}
"""Every values key the layer sets, and the documentation page that defines it."""


def nvsentinel_values(repair: RepairPath, *, dry_run: bool, janitor: JanitorSupport = NO_JANITOR) -> dict[str, Any]:
    """Detection, quarantine and drain always on; fault-remediation on where NVSentinel files the repair request
    (``repair.nvsentinel_remediation``). The Janitor (``janitor``, the provider profile's) executes
    fault-remediation's RebootNode/TerminateNode requests through a cloud API (docs.nvidia.com/nvsentinel/
    components/janitor): on only where the profile turns it on, which needs fault-remediation on and a documented
    backend; today it is off everywhere, each profile saying why."""
    if janitor.enabled and not (repair.nvsentinel_remediation and janitor.csp in JANITOR_CSPS):
        raise ValueError(f"janitor on without fault-remediation or a documented backend: {janitor}")
    return {"global": {
        "dryRun": dry_run,
        "gpuHealthMonitor": {"enabled": True},
        "faultQuarantine": {"enabled": True},
        "nodeDrainer": {"enabled": True},
        "faultRemediation": {"enabled": repair.nvsentinel_remediation},
        "janitor": {"enabled": janitor.enabled},
    }}


class NodeHealth(pulumi.ComponentResource):
    """NVSentinel in its own (privileged: its monitors read host logs and devices) namespace."""

    TYPE = NODE_HEALTH_TYPE

    def __init__(self, name: str, *, repair: RepairPath, dry_run: bool, kubernetes_version: str,
                 janitor: JanitorSupport = NO_JANITOR,
                 depends_on: list[pulumi.Resource] | None = None,
                 kubernetes_provider: pulumi.ProviderResource | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        facts = {"chart": NVSENTINEL.chart, "version": NVSENTINEL.version, "repair": repair.to_dict(),
                 "janitor": janitor.to_dict(), "dry_run": dry_run}
        super().__init__(self.TYPE, name, {"neocloud": facts}, opts)
        k = kubernetes_provider
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=meta(NVSENTINEL.namespace, labels=namespace_labels("privileged", kubernetes_version)),
            opts=child_opts(self, k),
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-nvsentinel",
            name=NVSENTINEL.release,
            chart=NVSENTINEL.chart,
            version=NVSENTINEL.version,
            namespace=NVSENTINEL.namespace,
            values=nvsentinel_values(repair, dry_run=dry_run, janitor=janitor),
            atomic=True,
            cleanup_on_fail=True,
            opts=child_opts(self, k, [ns, *(depends_on or [])]),
        )
        self.register_outputs({})
