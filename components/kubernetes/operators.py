"""``GpuOperators``: the node software that makes GPUs and the fabric schedulable.

- NVIDIA GPU Operator (driver, container toolkit, device plugin, DCGM exporter metrics) on every provider.
- InfiniBand / RoCE: the NVIDIA Network Operator and a ``NicClusterPolicy`` that installs the DOCA driver and
  the RDMA shared device plugin, which advertises the HCAs as the extended resource ``rdma/<name>``.
- EFA (AWS): the AWS EFA device plugin, which advertises ``vpc.amazonaws.com/efa``.
- Multi-node NVLink pools (GB200 NVL72, P6e-GB200 UltraServers): NVIDIA's DRA driver for GPUs with ComputeDomains
  only (IMEX channels for the pods of one job across nodes of an NVLink partition), unless the platform runs it.
- CoreWeave CKS: none of these. CoreWeave runs the GPU Operator and the InfiniBand/RoCE drivers itself and says
  "Do not install the NVIDIA GPU Operator on CKS clusters" (docs.coreweave.com, products/cks/nodes/
  gpu-driver-management/gpu-driver-management-cks).

Which extended resource a pod requests for the NICs is not decided here: the plan gives each pool's (the catalog
system's ``nic_resource``, else the provider profile's ``fabric_resource``: ``neocloud.plan.kubernetes.
pool_fabric_resource``); this module only installs the plugins that advertise them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

from neocloud.vocabulary import EFA_DEVICE_RESOURCE, RDMA_SHARED_DEVICE_NAME, RDMA_SHARED_DEVICE_RESOURCE

from .charts import (
    DRA_DRIVER,
    EFA_DEVICE_PLUGIN,
    GPU_OPERATOR,
    NETWORK_OPERATOR,
    ChartPin,
    dra_driver_values,
    efa_device_plugin_values,
    gpu_operator_values,
    network_operator_values,
    node_tolerations,
)
from .objects import CustomObject, child_opts, meta, namespace_labels

__all__ = [
    "EFA_RESOURCE",
    "RDMA_RESOURCE",
    "GpuOperators",
    "helm_release",
    "rdma_device_plugin_config",
]

RDMA_RESOURCE_NAME = RDMA_SHARED_DEVICE_NAME
"""``resourceName`` in the RDMA shared device plugin config (``neocloud.vocabulary``)."""
RDMA_RESOURCE = RDMA_SHARED_DEVICE_RESOURCE
"""Extended resource that config advertises for the HCAs (``neocloud.vocabulary``)."""
EFA_RESOURCE = EFA_DEVICE_RESOURCE
"""Extended resource the AWS EFA device plugin advertises, one per EFA interface (``neocloud.vocabulary``)."""

MELLANOX_PCI_VENDOR = "15b3"
"""PCI vendor id of NVIDIA (Mellanox) ConnectX / BlueField adapters."""
RDMA_HCA_MAX = 63
"""Pods that may share one HCA through the shared device plugin (NVIDIA's NicClusterPolicy examples)."""

NETWORK_OPERATOR_IMAGES = {
    # hack/release.yaml and example/crs/mellanox.com_v1alpha1_nicclusterpolicy_cr.yaml at network-operator
    # v26.4.1 (85afd6d9): the operand images released with this operator version.
    "ofedDriver": ("nvcr.io/nvidia/mellanox", "doca-driver", "doca3.4.1-26.04-1.1.0.0-1"),
    "rdmaSharedDevicePlugin": ("nvcr.io/nvidia/mellanox", "k8s-rdma-shared-dev-plugin", "network-operator-v26.4.1"),
}
"""(repository, image, version) of the NicClusterPolicy operands."""


def rdma_device_plugin_config(fabric_kind: Literal["infiniband", "roce"]) -> dict[str, Any]:
    """The RDMA shared device plugin's config: every NVIDIA (Mellanox) adapter whose link type matches the
    fabric (``infiniband`` or ``ether`` for RoCE) becomes one shared ``rdma/rdma_shared_device_a`` pool."""
    link = "infiniband" if fabric_kind == "infiniband" else "ether"
    return {"configList": [{
        "resourceName": RDMA_RESOURCE_NAME,
        "rdmaHcaMax": RDMA_HCA_MAX,
        "selectors": {"vendors": [MELLANOX_PCI_VENDOR], "linkTypes": [link]},
    }]}


def helm_release(name: str, pin: ChartPin, values: Mapping[str, Any], *, namespace: pulumi.Input[str],
                 opts: pulumi.ResourceOptions, create_namespace: bool = False) -> k8s.helm.v3.Release:
    """A ``helm.v3.Release`` of ``pin``. Atomic: a failed install rolls back instead of leaving half an
    operator."""
    return k8s.helm.v3.Release(
        name,
        name=pin.release,
        chart=pin.chart,
        version=pin.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=pin.repo) if pin.repo else None,
        namespace=namespace,
        values=dict(values),
        create_namespace=create_namespace,
        atomic=True,
        cleanup_on_fail=True,
        opts=opts,
    )


class GpuOperators(pulumi.ComponentResource):
    """GPU Operator plus the fabric's device plugin, pinned. ``ready`` lists the Releases that later objects
    (node acceptance) depend on."""

    TYPE = "neocloud:kubernetes:GpuOperators"

    def __init__(self, name: str, *, fabric_kind: Literal["infiniband", "roce", "efa"], kubernetes_version: str,
                 install_gpu_driver: bool = True, install_fabric_driver: bool = True,
                 platform_managed: bool = False, fabric_resource_name: str | None = None,
                 compute_domains: Literal["dra-driver", "platform"] | None = None,
                 control_plane_nodes: bool = False,
                 kubernetes_provider: pulumi.ProviderResource | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """``install_gpu_driver``: let the GPU Operator install the NVIDIA driver and container toolkit (off
        where the node image ships them); ``install_fabric_driver``: let the Network Operator install the DOCA
        driver (off where the node image ships it); ``platform_managed``: the platform runs the GPU Operator and
        fabric drivers itself (CoreWeave CKS), so nothing is installed and installing would conflict;
        ``fabric_resource_name``: the fabric resource the platform's own device plugin advertises (its provider
        profile's ``fabric_resource``; recorded so policies know it is advertised);
        ``compute_domains``: where pools have multi-node NVLink domains, who runs NVIDIA ComputeDomains
        (``dra-driver``: installed here; ``platform``: the provider; ``None``: no such pool, nothing installed);
        ``control_plane_nodes``: the cluster's control plane runs on nodes the DRA driver's controller may use."""
        super().__init__(self.TYPE, name, {"fabricKind": fabric_kind, "installGpuDriver": install_gpu_driver,
                                           "installFabricDriver": install_fabric_driver,
                                           "platformManaged": platform_managed,
                                           "fabricResource": fabric_resource_name,
                                           "computeDomains": compute_domains}, opts)
        self.ready: list[pulumi.Resource] = []
        if platform_managed:
            self.register_outputs({})
            return
        k = kubernetes_provider
        rdma = fabric_kind in ("infiniband", "roce")
        gpu_ns = k8s.core.v1.Namespace(
            f"{name}-gpu-operator",
            metadata=meta(GPU_OPERATOR.namespace, labels=namespace_labels("privileged", kubernetes_version)),
            opts=child_opts(self, k),
        )
        self.gpu_operator = helm_release(
            f"{name}-gpu-operator", GPU_OPERATOR,
            gpu_operator_values(install_driver=install_gpu_driver, rdma=rdma, host_mofed=not install_fabric_driver),
            namespace=gpu_ns.metadata.name, opts=child_opts(self, k, [gpu_ns]),
        )
        self.ready.append(self.gpu_operator)
        if fabric_kind == "efa":
            self.efa_device_plugin = helm_release(
                f"{name}-efa-device-plugin", EFA_DEVICE_PLUGIN, efa_device_plugin_values(),
                namespace=EFA_DEVICE_PLUGIN.namespace, opts=child_opts(self, k),
            )
            self.ready.append(self.efa_device_plugin)
        else:
            net_ns = k8s.core.v1.Namespace(
                f"{name}-network-operator",
                metadata=meta(NETWORK_OPERATOR.namespace, labels=namespace_labels("privileged", kubernetes_version)),
                opts=child_opts(self, k),
            )
            self.network_operator = helm_release(
                f"{name}-network-operator", NETWORK_OPERATOR, network_operator_values(),
                namespace=net_ns.metadata.name, opts=child_opts(self, k, [net_ns]),
            )
            spec: dict[str, Any] = {
                "rdmaSharedDevicePlugin": {
                    **_image("rdmaSharedDevicePlugin"),
                    "config": json.dumps(rdma_device_plugin_config(fabric_kind), indent=2),
                },
                "tolerations": node_tolerations(),
            }
            if install_fabric_driver:
                spec["ofedDriver"] = _image("ofedDriver")
            # The operator reconciles only the NicClusterPolicy named nic-cluster-policy (cluster-scoped).
            self.nic_cluster_policy = CustomObject(
                f"{name}-nic-cluster-policy", api_version="mellanox.com/v1alpha1", kind="NicClusterPolicy",
                metadata=meta("nic-cluster-policy"), spec=spec,
                opts=child_opts(self, k, [self.network_operator]),
            )
            self.ready += [self.network_operator, self.nic_cluster_policy]
        self.dra_driver: k8s.helm.v3.Release | None = None
        if compute_domains == "dra-driver":
            # The kubelet plugin and the per-ComputeDomain IMEX daemons are privileged (the chart's values.yaml:
            # kubeletPlugin.containers.*.securityContext.privileged: true), so the namespace admits privileged pods.
            dra_ns = k8s.core.v1.Namespace(
                f"{name}-dra-driver",
                metadata=meta(DRA_DRIVER.namespace, labels=namespace_labels("privileged", kubernetes_version)),
                opts=child_opts(self, k),
            )
            # After the GPU Operator: the DRA driver needs its driver root, container toolkit (CDI) and GPU Feature
            # Discovery's nvidia.com/gpu.clique labels (k8s-dra-driver-gpu docs/prerequisites.md).
            self.dra_driver = helm_release(
                f"{name}-dra-driver", DRA_DRIVER,
                dra_driver_values(operator_driver=install_gpu_driver, control_plane_nodes=control_plane_nodes),
                namespace=dra_ns.metadata.name, opts=child_opts(self, k, [dra_ns, self.gpu_operator]),
            )
        self.register_outputs({})


def _image(component: str) -> dict[str, str]:
    repository, image, version = NETWORK_OPERATOR_IMAGES[component]
    return {"repository": repository, "image": image, "version": version}
