"""One vocabulary: the label keys, taints and well-known names that components, policies, ``aws_ops`` and the
provider profiles all use, each defined once (a rename here renames it everywhere; a copy elsewhere would leave a
rule silently not applicable).

Pure constants, no imports: the policy pack and the offline engine read them too.
"""

from __future__ import annotations

__all__ = [
    "ACCEPTANCE_LABEL",
    "ACCEPTANCE_TAINT",
    "AWS_NETWORK_LAYER_LABEL",
    "COMPUTE_DOMAIN",
    "COMPUTE_DOMAIN_API_VERSION",
    "COMPUTE_DOMAIN_GROUP",
    "DRA_DRIVER_CHART",
    "DRA_DRIVER_NAMESPACE",
    "EFA_DEVICE_PLUGIN_CHART",
    "EFA_DEVICE_RESOURCE",
    "ENVOY_GATEWAY_API_VERSION",
    "ENVOY_GATEWAY_BACKEND_TRAFFIC_POLICY",
    "ENVOY_OWNING_GATEWAY_NAMESPACE_LABEL",
    "ENVOY_OWNING_GATEWAY_NAME_LABEL",
    "GATEWAY_API_GATEWAY",
    "GATEWAY_API_GROUP",
    "GATEWAY_API_GRPC_ROUTE",
    "GATEWAY_API_HTTP_ROUTE",
    "GATEWAY_API_VERSION",
    "GPU_CLIQUE",
    "GPU_OPERATOR_CHART",
    "HELM_RELEASE",
    "HOSTNAME",
    "K8S_CRONJOB",
    "K8S_DEPLOYMENT",
    "K8S_INGRESS",
    "K8S_JOB",
    "K8S_NAMESPACE",
    "K8S_NETWORK_POLICY",
    "K8S_POD",
    "K8S_PV",
    "K8S_PVC",
    "K8S_SECRET",
    "K8S_SERVICE",
    "K8S_STATEFULSET",
    "KUBERNETES_LAYER_TYPE",
    "KUEUE_API_VERSION",
    "KUEUE_CLUSTER_QUEUE",
    "KUEUE_CONFIG_API_VERSION",
    "KUEUE_FLAVOR",
    "KUEUE_PRIORITY_LABEL",
    "KUEUE_TOPOLOGY",
    "LABEL_ACCELERATOR",
    "LABEL_CLUSTER",
    "LABEL_ENVIRONMENT",
    "LABEL_NVLINK_DOMAIN",
    "LABEL_POOL",
    "LABEL_PURPOSE",
    "LABEL_RACK",
    "LABEL_RAIL",
    "LABEL_ROLE",
    "LABEL_SU",
    "LABEL_SYSTEM",
    "LABEL_TEAM",
    "LABEL_TENANT",
    "NODE_HEALTH_TYPE",
    "NVSENTINEL_CHART",
    "PLATFORM_NAMESPACES",
    "PREFIX",
    "RDMA_SHARED_DEVICE_NAME",
    "RDMA_SHARED_DEVICE_RESOURCE",
    "RESERVED_NAMESPACES",
    "SECRET_PLACEHOLDER",
    "SECRET_SIG",
    "SECRET_SIG_KEY",
    "TAG_PLACEMENT_BLOCK",
    "TAG_RESERVATION",
    "TAG_RESERVATIONS",
    "TEAM_FILESYSTEM_CLAIM",
    "TRAFFIC_REGULATOR_TYPE",
    "aws_layer_label",
    "k8s_type",
]

PREFIX = "neocloud.io"
"""Prefix of every label and tag key this toolkit sets."""
LABEL_CLUSTER = f"{PREFIX}/cluster"
LABEL_ENVIRONMENT = f"{PREFIX}/environment"
LABEL_PURPOSE = f"{PREFIX}/purpose"
"""Bucket purpose (datasets, checkpoints, artifacts)."""
LABEL_POOL = f"{PREFIX}/pool"
"""GPU pool name."""
LABEL_SYSTEM = f"{PREFIX}/system"
"""Catalog system name (instance type on AWS)."""
LABEL_ACCELERATOR = f"{PREFIX}/accelerator"
"""Catalog GPU name."""
LABEL_SU = f"{PREFIX}/su"
"""Scalable unit (placement block on AWS)."""
LABEL_RACK = f"{PREFIX}/rack"
LABEL_NVLINK_DOMAIN = f"{PREFIX}/nvlink-domain"
LABEL_RAIL = f"{PREFIX}/rail"
LABEL_ROLE = f"{PREFIX}/role"
"""Node label of CPU system node groups (``system``), so add-ons can select CPU nodes."""
LABEL_TEAM = f"{PREFIX}/team"
"""Label on a tenant namespace naming its team."""
TEAM_FILESYSTEM_CLAIM = "shared-filesystem"
"""Name of the claim on the stack's shared filesystem in every training team's namespace (what workloads mount)."""
LABEL_TENANT = f"{PREFIX}/tenant"
"""Alternative tenant label some clusters use; the tenant policy accepts it."""
TAG_PLACEMENT_BLOCK = f"{PREFIX}/placement-block"
"""Placement block tag on AWS instances (one EKS node group per block)."""
TAG_RESERVATION = f"{PREFIX}/reservation"
TAG_RESERVATIONS = f"{PREFIX}/reservations"

HOSTNAME = "kubernetes.io/hostname"
"""The well-known node label; Kueue allows it only as the last Topology level."""
GPU_CLIQUE = "nvidia.com/gpu.clique"
"""The node's NVLink partition (clique), ``<cluster UUID>.<clique id>``, set by NVIDIA GPU Feature Discovery on
multi-node NVLink nodes. NVIDIA's DRA driver requires it for ComputeDomains (k8s-dra-driver-gpu
docs/prerequisites.md: GFD "generates ... the nvidia.com/gpu.clique labels required by ComputeDomains"); CoreWeave
documents it for NVL72 ("The nvidia.com/gpu.clique label identifies the NVLink partition within that domain",
docs.coreweave.com products/cks/clusters/scheduling/imex-overview) and so does EKS for P6e-GB200 ("Nodes within the
same nvidia.com/gpu.clique have multi-node NVLink-reachability", EKS user guide ml-eks-nvidia-ultraserver)."""

ACCEPTANCE_TAINT = {"key": f"{PREFIX}/acceptance", "value": "pending", "effect": "NoSchedule"}
"""Put on new GPU nodes; the node's acceptance pod removes it when the node passes (and only then)."""
ACCEPTANCE_LABEL = {"key": f"{PREFIX}/acceptance", "value": "pending"}
"""Put on new GPU nodes with ``ACCEPTANCE_TAINT``: a DaemonSet cannot select nodes by taint, so the per-node
acceptance DaemonSet selects this label; the acceptance pod removes both when the node passes."""

EFA_DEVICE_RESOURCE = "vpc.amazonaws.com/efa"
"""Extended resource the AWS EFA Kubernetes device plugin advertises, one per EFA interface (Amazon EKS user guide,
"Run machine learning training on Amazon EKS with Elastic Fabric Adapter": pods request ``vpc.amazonaws.com/efa``).
The catalog's AWS systems name it as their ``nic_resource``."""
RDMA_SHARED_DEVICE_NAME = "rdma_shared_device_a"
"""``resourceName`` of the RDMA shared device plugin config the Kubernetes layer's NicClusterPolicy installs (the name
NVIDIA's Network Operator examples use)."""
RDMA_SHARED_DEVICE_RESOURCE = f"rdma/{RDMA_SHARED_DEVICE_NAME}"
"""The extended resource that config advertises (the plugin's default resource prefix is ``rdma``; NVIDIA
k8s-rdma-shared-dev-plugin README): what a multi-node pod requests for the HCAs where the layer installs the
Network Operator (bare metal, Nebius). Platforms that run their own plugin name theirs in their profile."""

AWS_NETWORK_LAYER_LABEL = "topology.k8s.aws/network-node-layer-{}"
"""EKS's node label for DescribeInstanceTopology network layer N (1 = farthest from the instance; Amazon EKS user
guide, "Topology-aware scheduling" / EC2 instance topology)."""


def aws_layer_label(layer: int) -> str:
    """EKS's node label for DescribeInstanceTopology network layer ``layer`` (1 = top)."""
    return AWS_NETWORK_LAYER_LABEL.format(layer)


# --- Kubernetes API versions and Pulumi type tokens -------------------------------------------------------

KUEUE_API_VERSION = "kueue.x-k8s.io/v1beta2"
"""Kueue v0.19.2 storage version (v1beta1 is deprecated; vendor/SOURCES.md)."""
KUEUE_CONFIG_API_VERSION = "config.kueue.x-k8s.io/v1beta2"
"""Kueue's controller configuration (chart value managerConfig.controllerManagerConfigYaml)."""
KUEUE_PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
"""Label a workload sets to pick its WorkloadPriorityClass."""


def k8s_type(api_version: str, kind: str) -> str:
    """The Pulumi type token pulumi-kubernetes registers for ``kind`` of ``api_version`` (core group: ``core/v1``),
    e.g. ``kubernetes:kueue.x-k8s.io/v1beta2:Topology``."""
    return f"kubernetes:{api_version if '/' in api_version else f'core/{api_version}'}:{kind}"


K8S_NAMESPACE = k8s_type("v1", "Namespace")
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
"""pulumi-kubernetes' Helm release resource (not a Kubernetes object: policies read its chart, version, values)."""
K8S_SECRET = k8s_type("v1", "Secret")
K8S_POD = k8s_type("v1", "Pod")
K8S_PVC = k8s_type("v1", "PersistentVolumeClaim")
K8S_PV = k8s_type("v1", "PersistentVolume")
K8S_NETWORK_POLICY = k8s_type("networking.k8s.io/v1", "NetworkPolicy")
K8S_JOB = k8s_type("batch/v1", "Job")
K8S_CRONJOB = k8s_type("batch/v1", "CronJob")
K8S_DEPLOYMENT = k8s_type("apps/v1", "Deployment")
K8S_STATEFULSET = k8s_type("apps/v1", "StatefulSet")
KUEUE_TOPOLOGY = k8s_type(KUEUE_API_VERSION, "Topology")
KUEUE_FLAVOR = k8s_type(KUEUE_API_VERSION, "ResourceFlavor")
KUEUE_CLUSTER_QUEUE = k8s_type(KUEUE_API_VERSION, "ClusterQueue")
K8S_SERVICE = k8s_type("v1", "Service")
COMPUTE_DOMAIN_GROUP = "resource.nvidia.com"
COMPUTE_DOMAIN_API_VERSION = f"{COMPUTE_DOMAIN_GROUP}/v1beta1"
"""NVIDIA DRA driver v25.12.0's ComputeDomain API (its CRD serves only v1beta1; vendor/SOURCES.md)."""
COMPUTE_DOMAIN = k8s_type(COMPUTE_DOMAIN_API_VERSION, "ComputeDomain")
GPU_OPERATOR_CHART = "gpu-operator"
"""The NVIDIA GPU Operator's Helm chart name (its Release's ``chart`` input)."""
EFA_DEVICE_PLUGIN_CHART = "aws-efa-k8s-device-plugin"
"""The AWS EFA Kubernetes device plugin's Helm chart name (aws/eks-charts)."""
NVSENTINEL_CHART = "oci://ghcr.io/nvidia/nvsentinel"
"""NVIDIA NVSentinel's Helm chart (github.com/NVIDIA/NVSentinel release notes' install line)."""
KUBERNETES_LAYER_TYPE = "neocloud:kubernetes:KubernetesLayer"
"""The Kubernetes layer component (its presence tells rules the stack runs a cluster)."""
NODE_HEALTH_TYPE = "neocloud:kubernetes:NodeHealth"
"""The node-health component (NVSentinel and its wiring to the provider's repair path)."""
DRA_DRIVER_CHART = "nvidia-dra-driver-gpu"
"""NVIDIA's DRA driver for GPUs' Helm chart name (its vendored Chart.yaml ``name``)."""
DRA_DRIVER_NAMESPACE = "nvidia-dra-driver-gpu"
"""Namespace of NVIDIA's DRA driver for GPUs (its install guide's ``--namespace nvidia-dra-driver-gpu``); its
ComputeDomain daemons and ComputeDomainCliques live there too."""
K8S_INGRESS = k8s_type("networking.k8s.io/v1", "Ingress")

GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_API_VERSION = f"{GATEWAY_API_GROUP}/v1"
"""Gateway API v1.6.1 standard channel (storage version v1; vendor/SOURCES.md)."""
ENVOY_GATEWAY_API_VERSION = "gateway.envoyproxy.io/v1alpha1"
"""Envoy Gateway v1.9.0 policy API (BackendTrafficPolicy; vendor/SOURCES.md)."""
GATEWAY_API_GATEWAY = k8s_type(GATEWAY_API_VERSION, "Gateway")
GATEWAY_API_HTTP_ROUTE = k8s_type(GATEWAY_API_VERSION, "HTTPRoute")
GATEWAY_API_GRPC_ROUTE = k8s_type(GATEWAY_API_VERSION, "GRPCRoute")
ENVOY_GATEWAY_BACKEND_TRAFFIC_POLICY = k8s_type(ENVOY_GATEWAY_API_VERSION, "BackendTrafficPolicy")
ENVOY_OWNING_GATEWAY_NAME_LABEL = "gateway.envoyproxy.io/owning-gateway-name"
ENVOY_OWNING_GATEWAY_NAMESPACE_LABEL = "gateway.envoyproxy.io/owning-gateway-namespace"
"""Labels Envoy Gateway puts on the Envoy proxy pods of a Gateway (its Proxy Metrics task selects one Gateway's
pods with ``--selector=gateway.envoyproxy.io/owning-gateway-namespace=default,``
``gateway.envoyproxy.io/owning-gateway-name=eg``): a NetworkPolicy peer that names them admits that Gateway's
proxies and nothing else in Envoy Gateway's namespace."""
TRAFFIC_REGULATOR_TYPE = "neocloud:kubernetes:TrafficRegulator"
"""The traffic regulator component; its inputs name its Gateway, policy and backends (the serving rules read them)."""

# --- Pulumi's secret marker -------------------------------------------------------------------------------

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
"""Key of Pulumi's special-value signature in serialized properties (pulumi.runtime.rpc ``_special_sig_key``)."""
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
"""Signature value that marks a secret (pulumi.runtime.rpc ``_special_secret_sig``)."""
SECRET_PLACEHOLDER = "[secret]"
"""What every offline output (render, ``plan --json`` digests, stack config echoes) shows for a secret's value."""


# --- namespaces a team may not take ---------------------------------------------------------------------------

PLATFORM_NAMESPACES = frozenset({
    "gpu-operator", "nvidia-network-operator", "kueue-system", "envoy-gateway-system", "neocloud-acceptance",
    DRA_DRIVER_NAMESPACE, "nvsentinel",
})
"""Namespaces the Kubernetes layer installs its operators, controllers and node acceptance into (tests check every
non-team namespace the layer creates is listed)."""
RESERVED_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", *PLATFORM_NAMESPACES})
"""Namespaces no team may be named after: Kubernetes' own (and any ``kube-`` name) and the platform's."""
