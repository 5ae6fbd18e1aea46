"""Pinned Helm charts and the values the layer sets on them.

Every chart version is pinned here, in code. Every values key set below exists in the chart's upstream
``values.yaml`` at that version (vendored in ``shared/vendor/``); ``tests/kubernetes`` walks the captured
Release ``values`` input to check it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from neocloud.vocabulary import (
    DRA_DRIVER_CHART,
    DRA_DRIVER_NAMESPACE,
    EFA_DEVICE_PLUGIN_CHART,
    GPU_OPERATOR_CHART,
    KUEUE_CONFIG_API_VERSION,
)

from ..labels import ACCEPTANCE_TAINT, GPU_TAINT

__all__ = [
    "DRA_DRIVER",
    "EFA_DEVICE_PLUGIN",
    "ENVOY_GATEWAY",
    "GPU_OPERATOR",
    "KUEUE",
    "KUEUE_BACKOFF_BASE_SECONDS",
    "KUEUE_BACKOFF_MAX_SECONDS",
    "KUEUE_FEATURE_GATES",
    "NETWORK_OPERATOR",
    "ChartPin",
    "dra_driver_values",
    "efa_device_plugin_values",
    "gpu_operator_values",
    "kueue_configuration",
    "kueue_values",
    "network_operator_values",
    "node_tolerations",
]


@dataclass(frozen=True, slots=True)
class ChartPin:
    """A chart at a pinned version: ``repo`` is a Helm repository URL, or ``None`` for an OCI chart reference."""

    chart: str
    """Chart name in ``repo``, or a full ``oci://`` reference."""
    version: str
    """Pinned chart version."""
    repo: str | None
    """Helm repository URL (``None`` for OCI charts)."""
    namespace: str
    """Namespace the release installs into."""
    release: str
    """Helm release name."""
    source: str
    """Where the version comes from."""


GPU_OPERATOR = ChartPin(
    chart=GPU_OPERATOR_CHART, version="v26.7.0", repo="https://helm.ngc.nvidia.com/nvidia", namespace="gpu-operator",
    release="gpu-operator",
    # The in-repo Chart.yaml says v1.0.0-devel even at the tag; release CI stamps the version (vendor/SOURCES.md).
    source="NVIDIA/gpu-operator tag v26.7.0 (10ee5b36)",
)
"""NVIDIA GPU Operator (driver, toolkit, device plugin, DCGM exporter)."""
NETWORK_OPERATOR = ChartPin(
    chart="network-operator", version="26.4.1", repo="https://helm.ngc.nvidia.com/nvidia",
    namespace="nvidia-network-operator", release="network-operator",
    source="Mellanox/network-operator tag v26.4.1 Chart.yaml (85afd6d9)",
)
"""NVIDIA Network Operator (DOCA driver, RDMA shared device plugin via NicClusterPolicy)."""
EFA_DEVICE_PLUGIN = ChartPin(
    chart=EFA_DEVICE_PLUGIN_CHART, version="v0.5.30", repo="https://aws.github.io/eks-charts",
    namespace="kube-system", release="aws-efa-k8s-device-plugin",
    source="aws/eks-charts stable/aws-efa-k8s-device-plugin Chart.yaml (52396092)",
)
"""AWS EFA Kubernetes device plugin."""
KUEUE = ChartPin(
    chart="oci://registry.k8s.io/kueue/charts/kueue", version="0.19.2", repo=None, namespace="kueue-system",
    release="kueue",
    source="kubernetes-sigs/kueue tag v0.19.2 charts/kueue/Chart.yaml (8eab6877); CRDs vendored at the same tag",
)
"""Kueue (CRDs and controller)."""
ENVOY_GATEWAY = ChartPin(
    chart="oci://docker.io/envoyproxy/gateway-helm", version="v1.9.0", repo=None, namespace="envoy-gateway-system",
    release="eg",
    source="envoyproxy/gateway tag v1.9.0 (39763b1c); its BackendTrafficPolicy CRD is vendored at the same tag",
)
"""Envoy Gateway (Gateway API controller; release name as in its quickstart)."""
DRA_DRIVER = ChartPin(
    chart=DRA_DRIVER_CHART, version="25.12.0", repo="https://helm.ngc.nvidia.com/nvidia",
    namespace=DRA_DRIVER_NAMESPACE, release="nvidia-dra-driver-gpu",
    # NVIDIA/k8s-dra-driver-gpu docs/install.md: `helm repo add nvidia https://helm.ngc.nvidia.com/nvidia`,
    # `helm install nvidia-dra-driver-gpu nvidia/nvidia-dra-driver-gpu --version=25.12.0 --namespace
    # nvidia-dra-driver-gpu`; the chart's Chart.yaml at v25.12.0 is vendored (strict semver: no "v").
    source="NVIDIA/k8s-dra-driver-gpu tag v25.12.0 deployments/helm/nvidia-dra-driver-gpu/Chart.yaml (0882da87)",
)
"""NVIDIA's DRA driver for GPUs: ComputeDomains (IMEX) for multi-node NVLink pools."""


def node_tolerations() -> list[dict[str, str]]:
    """Tolerations for node agents (drivers, device plugins, exporters) on GPU nodes: the GPU taint and the
    node-acceptance taint, since acceptance needs the drivers and device plugins running first."""
    return [
        {"key": GPU_TAINT["key"], "operator": "Exists", "effect": GPU_TAINT["effect"]},
        {"key": ACCEPTANCE_TAINT["key"], "operator": "Exists", "effect": ACCEPTANCE_TAINT["effect"]},
    ]


def gpu_operator_values(*, install_driver: bool, rdma: bool, host_mofed: bool = False) -> dict[str, Any]:
    """NVIDIA GPU Operator values.

    ``install_driver=False`` where the node image already carries the driver and container toolkit (the EKS
    optimized accelerated AMIs do, per the Amazon EKS user guide). ``rdma=True`` turns on GPUDirect RDMA
    (``driver.rdma``) against the DOCA/MOFED driver the Network Operator installs, or the host's own
    (``host_mofed``). DCGM exporter metrics are enabled with a Prometheus ServiceMonitor.
    """
    control_plane = {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "",
                     "effect": "NoSchedule"}
    return {
        "daemonsets": {"tolerations": node_tolerations()},
        "driver": {"enabled": install_driver, "rdma": {"enabled": rdma, "useHostMofed": host_mofed}},
        "toolkit": {"enabled": install_driver},
        # Standalone DCGM host engine: NVIDIA NVSentinel's GPU health monitor connects to it (NVSentinel README:
        # "enable DCGM standalone mode (required)"); the exporter then uses it too.
        "dcgm": {"enabled": True},
        "dcgmExporter": {"enabled": True, "serviceMonitor": {"enabled": True}},
        "node-feature-discovery": {"worker": {"tolerations": [control_plane, *node_tolerations()]}},
    }


def network_operator_values() -> dict[str, Any]:
    """NVIDIA Network Operator values: its operands tolerate GPU and acceptance taints, and its own Node Feature
    Discovery is off because the GPU Operator's NFD already labels the NICs (PCI classes 02xx are in the GPU
    Operator chart's ``deviceClassWhitelist``); two NFD deployments would fight over the same labels."""
    control_plane = [
        {"key": "node-role.kubernetes.io/master", "operator": "Equal", "value": "", "effect": "NoSchedule"},
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "", "effect": "NoSchedule"},
    ]
    return {
        "nfd": {"enabled": False},
        "sriovNetworkOperator": {"enabled": False},
        "operator": {"tolerations": [*control_plane, *node_tolerations()]},
    }


CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
"""Kubernetes' well-known label of control-plane nodes."""
GPU_OPERATOR_DRIVER_ROOT = "/run/nvidia/driver"
"""Where the GPU Operator's driver container puts the driver ("If the NVIDIA GPU Operator manages the NVIDIA GPU
driver on your nodes, use /run/nvidia/driver", k8s-dra-driver-gpu docs/install.md, ``nvidiaDriverRoot``); a driver
installed on the host itself is at ``/`` (the chart's default)."""


def dra_driver_values(*, operator_driver: bool, control_plane_nodes: bool) -> dict[str, Any]:
    """NVIDIA DRA driver values for use beside the GPU Operator: ComputeDomains on, GPU allocation off.

    - ``resources.gpus.enabled: false``, ``resources.computeDomains.enabled: true``: GPUs stay with the GPU
      Operator's device plugin (``nvidia.com/gpu``, what Kueue quotas count), the driver only runs ComputeDomains
      (docs/install.md: "--set resources.gpus.enabled=false" disables the GPU plugin; EKS user guide,
      ml-eks-nvidia-ultraserver: "It is recommended to use the NVIDIA Kubernetes device plugin until the NVIDIA DRA
      driver GPU allocation functionality graduates", and its dra-values.yaml sets exactly these two).
    - ``nvidiaDriverRoot``: ``/run/nvidia/driver`` where the GPU Operator installs the driver (``operator_driver``),
      else ``/`` (the driver is on the host: the EKS and Nebius images).
    - ``kubeletPlugin.tolerations``: the kubelet plugin must run on the tainted GPU nodes, including nodes still in
      acceptance (EKS dra-values.yaml tolerates ``nvidia.com/gpu``); its default node affinity (NFD's
      ``pci-10de.present`` or ``nvidia.com/gpu.present``) already selects GPU nodes.
    - ``controller``: the chart requires control-plane nodes for the ComputeDomain controller (its default
      ``controller.affinity``); a managed cluster has none (``control_plane_nodes`` false), so the EKS guide's
      dra-values.yaml drops that affinity (``affinity: null``) and empties ``tolerations``. Here the affinity's
      ``nodeSelectorTerms`` list is replaced (Helm replaces lists, it merges only maps) by ``control-plane
      DoesNotExist``, which every node of a managed cluster satisfies, so no null has to survive the trip through
      Pulumi to Helm; with no tolerations the controller lands on the untainted system nodes.
    """
    values: dict[str, Any] = {
        "nvidiaDriverRoot": GPU_OPERATOR_DRIVER_ROOT if operator_driver else "/",
        "resources": {"gpus": {"enabled": False}, "computeDomains": {"enabled": True}},
        "kubeletPlugin": {"tolerations": node_tolerations()},
    }
    if not control_plane_nodes:
        not_control_plane = {"key": CONTROL_PLANE_LABEL, "operator": "DoesNotExist"}
        values["controller"] = {
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [not_control_plane]}],
            }}},
            "tolerations": [],
        }
    return values


def efa_device_plugin_values() -> dict[str, Any]:
    """AWS EFA device plugin values: run on GPU nodes through their taints. The chart's own
    ``supportedInstanceLabels`` already selects the EFA instance types."""
    return {"tolerations": node_tolerations()}


KUEUE_CONFIGURATION: Mapping[str, Any] = {
    # The chart's default controller_manager_config.yaml at v0.19.2 (charts/kueue/values.yaml), unchanged ...
    "apiVersion": KUEUE_CONFIG_API_VERSION,
    "kind": "Configuration",
    "health": {"healthProbeBindAddress": ":8081"},
    "metrics": {"bindAddress": ":8443"},
    "webhook": {"port": 9443},
    "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
    "controller": {"groupKindConcurrency": {
        "Job.batch": 5, "Pod": 5, "Workload.kueue.x-k8s.io": 10, "LocalQueue.kueue.x-k8s.io": 5,
        "ClusterQueue.kueue.x-k8s.io": 5, "ResourceFlavor.kueue.x-k8s.io": 1,
    }},
    "clientConnection": {"qps": 300, "burst": 500},
    "integrations": {"frameworks": [
        "batch/job", "kubeflow.org/mpijob", "ray.io/rayjob", "ray.io/rayservice", "ray.io/raycluster",
        "jobset.x-k8s.io/jobset", "workload.codeflare.dev/appwrapper", "trainer.kubeflow.org/trainjob", "pod",
        "deployment", "statefulset", "leaderworkerset.x-k8s.io/leaderworkerset",
    ]},
    # ... plus one change: quota is about GPUs. ClusterQueues cover nvidia.com/gpu only, and IgnoreUndeclared
    # makes Kueue skip the CPU, memory and RDMA/EFA requests they do not declare (the default BlockUndeclared
    # would leave every such workload inadmissible). apis/config/v1beta2/configuration_types.go at v0.19.2.
    "resources": {"quotaCheckStrategy": "IgnoreUndeclared"},
}
"""Kueue's Configuration: the chart default plus ``resources.quotaCheckStrategy: IgnoreUndeclared``."""


KUEUE_BACKOFF_BASE_SECONDS = 60
"""First requeue delay after an eviction; it doubles per requeue (Kueue's documented default, "Setup
All-or-nothing with ready Pods", Requeuing Strategy)."""
KUEUE_BACKOFF_MAX_SECONDS = 3600
"""Longest requeue delay (Kueue's documented default, same section)."""

KUEUE_FEATURE_GATES: Mapping[str, bool] = {
    # Node hot swap: with a Topology whose lowest level is the node (kubernetes.io/hostname, as every Topology
    # here), TAS replaces a failed or deleted node of a running workload with another node of the same domain,
    # keeping the rest of its assignment (Kueue v0.19.2 concepts/topology_aware_scheduling, "Hot swap support").
    # The SU's hot spares are those nodes.
    "TASFailedNodeReplacement": True,
    # A node counts as failed once it is not Ready and the workload's pods on it ended (same page, "Replace Node
    # on Pod termination"): what NVSentinel's drain produces.
    "TASReplaceNodeOnPodTermination": True,
    # An untolerated NoSchedule/NoExecute taint (NVSentinel's cordon) marks the node failed once the workload's
    # pods left it (same page, "Replace Node on Node Taints").
    "TASReplaceNodeOnNodeTaints": True,
    # One replacement attempt; if no spare fits, the workload is evicted and requeued at once instead of
    # waiting (same page, "Fast Hot swap").
    "TASFailedNodeReplacementFailFast": True,
}
"""Kueue v0.19.2 feature gates the layer relies on for failed-node recovery. All four are beta and on by default
at v0.19.2 (pkg/features/kube_features.go); they are set explicitly so the behaviour does not change with a chart
upgrade's defaults (values.yaml ``controllerManager.featureGates``: a list of ``{name, enabled}``)."""


def kueue_configuration(*, pods_ready_timeout_minutes: int, recovery_timeout_minutes: int,
                        requeue_limit: int | None) -> dict[str, Any]:
    """Kueue's Configuration: ``KUEUE_CONFIGURATION`` plus ``waitForPodsReady``. An admitted workload whose pods
    are not all ready within the timeout, or a running one that lost a pod (a drained node) and got no ready
    replacement within the recovery timeout, is evicted and requeued with exponential backoff; the topology-aware
    scheduling docs recommend ``recoveryTimeout`` so a workload never waits forever for a replacement node
    ("Hot swap support"). ``blockAdmission`` stays false: TAS, not sequential admission, prevents the
    deadlock it addresses ("Setup All-or-nothing with ready Pods")."""
    strategy: dict[str, Any] = {
        # Creation: a requeued workload goes back to its original place in the queue, not to the back.
        "timestamp": "Creation",
        "backoffBaseSeconds": KUEUE_BACKOFF_BASE_SECONDS,
        "backoffMaxSeconds": KUEUE_BACKOFF_MAX_SECONDS,
    }
    if requeue_limit is not None:
        strategy["backoffLimitCount"] = requeue_limit
    return {**KUEUE_CONFIGURATION, "waitForPodsReady": {
        "timeout": f"{pods_ready_timeout_minutes}m",
        "recoveryTimeout": f"{recovery_timeout_minutes}m",
        "blockAdmission": False,
        "requeuingStrategy": strategy,
    }}


def kueue_values(*, pods_ready_timeout_minutes: int = 30, recovery_timeout_minutes: int = 30,
                 requeue_limit: int | None = None) -> dict[str, Any]:
    """Kueue chart values (keys of the v0.19.2 chart's values.yaml, vendored): the manager configuration and the
    failed-node feature gates. Topology-Aware Scheduling itself is beta and on by default since Kueue v0.14
    (pkg/features/kube_features.go), so its gate is not set. The defaults are ``kubernetes.recovery``'s."""
    config = kueue_configuration(pods_ready_timeout_minutes=pods_ready_timeout_minutes,
                                 recovery_timeout_minutes=recovery_timeout_minutes, requeue_limit=requeue_limit)
    return {
        "controllerManager": {"featureGates": [{"name": k, "enabled": v} for k, v in KUEUE_FEATURE_GATES.items()]},
        "managerConfig": {"controllerManagerConfigYaml": yaml.safe_dump(config, sort_keys=False)},
    }
