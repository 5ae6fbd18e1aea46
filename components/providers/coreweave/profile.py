"""Profile of provider ``coreweave`` (pure: no Pulumi): the ``coreweave`` settings section and its checks,
verified instance types, CKS's own node labels, and the resource types the policies read.

CKS runs the GPU stack itself: CoreWeave runs the GPU Operator and the InfiniBand/RoCE drivers and says "Do not
install the NVIDIA GPU Operator on CKS clusters" (docs.coreweave.com, products/cks/nodes/gpu-driver-management/
gpu-driver-management-cks); pods request the fabric as ``rdma/ib`` (products/networking/hpc-interconnect/
use-gpudirect-rdma).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from neocloud._model import IPV4_CIDR, LABEL_VALUE, CidrCheckedSettings, Name
from neocloud.profiles import (
    BucketShape,
    JanitorSupport,
    NodeSetShape,
    Problem,
    ProviderProfile,
    RepairPath,
    ResourceTypes,
    TeamVolume,
    one_su_group,
    sized_filesystem_problem,
    unknown_system_problems,
)
from neocloud.vocabulary import GPU_CLIQUE, HOSTNAME

from .._neocloud import pool_system_problems

if TYPE_CHECKING:
    from neocloud.plan import ClusterPlan, PoolPlan
    from neocloud.spec import ClusterSpec

COREWEAVE_RDMA_RESOURCE = "rdma/ib"
"""CKS's RDMA resource, the one name for the fabric on CoreWeave (docs.coreweave.com products/networking/
hpc-interconnect/use-gpudirect-rdma: "rdma/ib: 1", the same resource on RoCE nodes): defined here once, read by the
plan's pool fabric resource and the policies' advertised resources."""

__all__ = [
    "ACCEPTANCE_TAINT_DEFAULT",
    "COREWEAVE_INSTANCE_TYPES",
    "COREWEAVE_LEAFGROUP",
    "COREWEAVE_RACK",
    "COREWEAVE_RDMA_RESOURCE",
    "COREWEAVE_SUPERPOD",
    "NODEPOOL_API_VERSION",
    "NODEPOOL_KIND",
    "PROFILE",
    "CoreWeaveProfile",
    "CoreWeaveSettings",
]

COREWEAVE_INSTANCE_TYPES: Mapping[str, str] = {
    # gd-8xh100ib-i128: HGX H100 with InfiniBand; CoreWeave's own Node Pool examples use it
    # (github.com/coreweave/skills cw-create-node-pool, github.com/coreweave/reference-architecture) [P].
    "hgx-h100": "gd-8xh100ib-i128",
    "dgx-h100": "gd-8xh100ib-i128",
    # gd-8xh200ib-i128: HGX H200 with InfiniBand; third-party CKS tooling names it, no CoreWeave page seen [S].
    "hgx-h200": "gd-8xh200ib-i128",
    "dgx-h200": "gd-8xh200ib-i128",
    # gb200-4x: one GB200 NVL72 compute tray (4 GPUs), deployed in whole racks of 18 Nodes
    # (docs.coreweave.com/docs/platform/instances/gb200) [P].
    "gb200-nvl72": "gb200-4x",
}
"""CoreWeave instance types by catalog system. B200/B300 and MI300X have no verified name: set them in
``coreweave.instance_types``."""

COREWEAVE_ZONE = r"^[A-Z]{2,}(-[A-Z]+)?-[0-9]{2}[A-Z]$|^[A-Z]{3}[0-9][A-Z]$"
"""CoreWeave Availability Zones, e.g. US-EAST-04A or RNO2A (docs.coreweave.com/platform/regions)."""

NODEPOOL_API_VERSION = "compute.coreweave.com/v1alpha1"
"""API version of CoreWeave's NodePool CRD (CoreWeave Node Pool reference [P])."""
NODEPOOL_KIND = "NodePool"
NODEPOOL = f"kubernetes:{NODEPOOL_API_VERSION}:{NODEPOOL_KIND}"
CKS_CLUSTER = "coreweave:index/cksCluster:CksCluster"
BUCKET = "coreweave:index/objectStorageBucket:ObjectStorageBucket"
BUCKET_VERSIONING = "coreweave:index/objectStorageBucketVersioning:ObjectStorageBucketVersioning"
BUCKET_POLICY = "coreweave:index/objectStorageBucketPolicy:ObjectStorageBucketPolicy"

COREWEAVE_SUPERPOD = "ib.coreweave.cloud/superpod"
"""CoreWeave's InfiniBand superpod node label (hardware.md Neoclouds [P]/[S])."""
COREWEAVE_LEAFGROUP = "ib.coreweave.cloud/leafgroup"
"""CoreWeave's InfiniBand leaf group node label (hardware.md Neoclouds [P]/[S])."""
COREWEAVE_RACK = "node.coreweave.cloud/rack"
"""CoreWeave's rack node label; on GB200 NVL72 the rack is the NVLink domain (hardware.md Neoclouds [P]/[S])."""


ACCEPTANCE_TAINT_DEFAULT = False
"""Whether CKS GPU nodes join with the acceptance taint unless the stack says otherwise: no, for two reasons.
(1) Undocumented behaviour: CoreWeave's Node Pool reference (docs.coreweave.com/products/cks/reference/node-pool)
describes ``nodeTaints`` only as the "List of taints associated with the Nodes in the Node Pool", and "Nodes and
Node Pools" says CKS continuously reconciles the *number* of Nodes; neither says whether a taint removed from a
Node (as the acceptance pod does on success) stays removed or is re-applied, which would keep every node out of
work. (2) A documented alternative: CoreWeave's node lifecycle validates each node before delivery (Day 1:
Seatrial inventory/cabling/power checks, Zap, Test; platform/fleet-management/node-lifecycle/day1) and runs
~20-minute HPC verification tests hourly on idle production nodes (Day 2+;
platform/fleet-management/node-lifecycle/day2). Turn ``coreweave.acceptance_taint`` on after checking (1) on a
test NodePool."""


class CoreWeaveSettings(CidrCheckedSettings):
    """Settings for ``provider: coreweave`` (CKS, VPC, AI Object Storage and Node Pools).

    Credentials are not here: the CoreWeave provider reads ``COREWEAVE_API_TOKEN`` (or the secret Pulumi
    config ``coreweave:token``).
    """

    cidr_section = "coreweave"
    cidr_fields = ("pod_cidr", "service_cidr", "internal_lb_cidr")

    zone: str | None = Field(
        None, pattern=COREWEAVE_ZONE,
        description="CoreWeave Availability Zone for the VPC, CKS cluster and buckets (e.g. US-EAST-04A); "
        "default: the cluster's `zone`.",
    )
    org_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][-A-Za-z0-9]{1,62}$",
        description="Your CoreWeave organization ID; bucket policies deny every principal outside it "
        "(cw:PrincipalOrgID). Required when storage.buckets is not empty.",
    )
    instance_types: dict[str, Annotated[str, Field(pattern=LABEL_VALUE)]] = Field(
        default_factory=dict,
        description="Instance type by catalog system, on top of the built-in verified ones (hgx-h100: "
        "gd-8xh100ib-i128, hgx-h200: gd-8xh200ib-i128, gb200-nvl72: gb200-4x).",
    )
    public_api: bool = Field(
        True, description="Expose the CKS API server on the internet (Pulumi must reach it to apply Node Pools); "
        "false needs a private path to the VPC.",
    )
    pod_cidr: str = Field("10.244.0.0/16", pattern=IPV4_CIDR, description="VPC prefix for Pod IPs.")
    service_cidr: str = Field("10.96.0.0/16", pattern=IPV4_CIDR, description="VPC prefix for Service IPs.")
    internal_lb_cidr: str = Field(
        "10.32.4.0/22", pattern=IPV4_CIDR, description="VPC prefix for internal load balancers."
    )
    bucket_prefix: Name | None = Field(
        None, description="Bucket names are `<prefix>-<purpose>` and must be globally unique; default: the "
        "cluster name.",
    )
    filesystem_storage_class: Annotated[str, Field(pattern=LABEL_VALUE)] = Field(
        "shared-vast", description="StorageClass of the CoreWeave Distributed File Storage PVC each training team "
        "gets in its namespace (storage.filesystem.kind coreweave-vast; CoreWeave documents shared-vast).",
    )
    scale_down_strategy: Literal["IdleOnly", "PreferIdle"] | None = Field(
        "IdleOnly", description="NodePool lifecycle.scaleDownStrategy for autoscaled pools: IdleOnly removes only "
        "idle Nodes, so scaling down never kills a running training job; null leaves CKS's default.",
    )
    acceptance_taint: bool = Field(
        ACCEPTANCE_TAINT_DEFAULT, description="Also taint new GPU nodes with neocloud.io/acceptance=pending. Off "
        "by default: CoreWeave does not document whether CKS re-applies a NodePool taint that the acceptance pod "
        "removed, and CoreWeave validates every node before it reaches production (Day 1: Seatrial, Zap, Test) "
        "and hourly on idle nodes after (Day 2+ HPC verification).",
    )

    def instance_type(self, system: str) -> str | None:
        """The CoreWeave instance type for a catalog system (spec value first, then the verified default)."""
        return self.instance_types.get(system) or COREWEAVE_INSTANCE_TYPES.get(system)


class CoreWeaveProfile(ProviderProfile):
    name = "coreweave"
    summary = "CKS cluster, VPC and AI Object Storage; GPU NodePools as in-cluster custom resources."
    settings = CoreWeaveSettings
    settings_description = "provider coreweave: zone, org, instance types, CIDRs."
    fabric_kinds = ("infiniband",)
    fabric_note = "this toolkit builds coreweave GPU pools on InfiniBand, so "
    filesystem_kinds = ("coreweave-vast", "external")
    required_catalog_fields = ("nic_gbps",)
    platform_manages_gpu_stack = True
    # CKS runs NVIDIA's device plugin (nvidia.com/gpu) and advertises the HCAs as rdma/ib, which pods request
    # (docs.coreweave.com products/networking/hpc-interconnect/use-gpudirect-rdma: "rdma/ib: 1").
    platform_device_resources = ("nvidia.com/gpu", COREWEAVE_RDMA_RESOURCE)
    # CKS runs Cilium (eBPF) as its CNI, which enforces Kubernetes NetworkPolicy (docs.coreweave.com,
    # security/tutorials/ebpf-observability: "advanced CNI plugins like Cilium (with eBPF)"; products/cks/reference/
    # cluster-components).
    network_policy_enforcement = "platform"
    # "On NVL72-powered instances, all Nodes in a single rack share the same NVLink domain. The
    # nvidia.com/gpu.clique label identifies the NVLink partition within that domain. Workloads must use this label
    # ... so that all related Pods land on Nodes in the same partition" (docs.coreweave.com products/cks/clusters/
    # scheduling/imex-overview, "NVLink domains and placement"): CKS labels the partition itself.
    nvlink_domain_labels = (GPU_CLIQUE,)
    platform_node_labels = (GPU_CLIQUE,)
    # "CoreWeave uses the NVIDIA DRA Driver as its mechanism for assigning IMEX channels to workloads ... The
    # platform provisions the supporting IMEX-related components on the Node" (imex-dra-scheduling, imex-overview):
    # the layer installs no DRA driver on CKS (CoreWeave enables it per cluster: "Limited Availability ... contact
    # your CoreWeave account manager"); it "Requires Kubernetes v1.30 or higher" (imex-dra-scheduling, limitations).
    compute_domains = "platform"
    dra_kubernetes_from = "1.30"
    zone_per_fabric_pool = True  # a CKS cluster and its NodePools live in one Availability Zone
    repair = RepairPath(
        kind="platform",
        summary="CoreWeave's node lifecycle automation: a node whose fault is solved by reboot is rebooted and "
        "re-verified in the cluster; one that needs triage leaves it and CKS delivers a replacement node",
        source="docs.coreweave.com/platform/fleet-management/node-lifecycle/state-transitions",
    )
    janitor = JanitorSupport(
        csp=None, enabled=False,
        reason="NVSentinel's Janitor documents no CoreWeave backend (AWS, GCP, Azure, OCI only); CoreWeave's node "
        "lifecycle automation repairs and replaces nodes itself",
    )
    resource_types: ClassVar[ResourceTypes] = ResourceTypes(
        node_sets=(NodeSetShape(
            type=NODEPOOL, kind="NodePool", labels=("spec", "nodeLabels"), taints=("spec", "nodeTaints"),
            sizes=(("spec", "minNodes"), ("spec", "targetNodes"), ("spec", "maxNodes")), floor=("spec.minNodes",),
        ),),
        buckets=(BucketShape(type=BUCKET, versioning_types=(BUCKET_VERSIONING,), policy_types=(BUCKET_POLICY,)),),
        stateful=(BUCKET, CKS_CLUSTER),
    )

    def problems(self, spec: ClusterSpec) -> Iterable[Problem]:
        """Every pool maps to a real instance type, NVL72 pools keep to whole racks, and the settings CKS needs
        are present."""
        settings: CoreWeaveSettings = self.settings_of(spec)
        yield from pool_system_problems(spec, settings_path="coreweave.instance_types",
                                        resolve=settings.instance_type, what="CoreWeave instance type",
                                        hint="set the one your CoreWeave quota lists")
        yield from unknown_system_problems("coreweave.instance_types", settings.instance_types)
        if fs := sized_filesystem_problem(spec):
            yield fs
        if len(spec.name) > 26:
            yield ("name", f"'{spec.name}' is {len(spec.name)} chars; CoreWeave VPC and CKS cluster names take at "
                   "most 30, and the VPC is '<name>-vpc', so at most 26 with provider 'coreweave'")
        if not (settings.zone or spec.zone):
            yield ("coreweave.zone", "required: the CoreWeave Availability Zone (e.g. US-EAST-04A); or set zone")
        if spec.storage.buckets and not settings.org_id:
            yield ("coreweave.org_id", "required with storage.buckets: bucket policies deny principals outside "
                   "your organization")

    def team_volume(self, spec: ClusterSpec) -> TeamVolume | None:
        """Distributed File Storage: a PVC per team namespace, ``ReadWriteMany``, storage class ``shared-vast``,
        "PVCs are created and scoped to a namespace" (docs.coreweave.com/products/storage/distributed-file-storage/
        create-volumes). CKS runs the provisioner itself."""
        fs = spec.storage.filesystem
        if fs is not None and fs.kind == "coreweave-vast":
            settings: CoreWeaveSettings = self.settings_of(spec)
            return TeamVolume(mode="dynamic", storage_class=settings.filesystem_storage_class,
                              source="docs.coreweave.com/products/storage/distributed-file-storage/create-volumes")
        return super().team_volume(spec)

    def fabric_resource(self, spec: ClusterSpec) -> str | None:
        """CKS's platform-managed RDMA resource, for InfiniBand and RoCE nodes alike (CoreWeave GPUDirect RDMA
        guide: pods request ``rdma/ib``)."""
        return COREWEAVE_RDMA_RESOURCE

    def su_groups(self, spec: ClusterSpec, pool: PoolPlan, placement: object = None) -> tuple[tuple[int, int], ...]:
        """One NodePool per pool, one label map for all its nodes: one ``neocloud.io/su`` group (value 0)."""
        return one_su_group(pool)

    def topology_levels(self, plan: ClusterPlan, pool: PoolPlan) -> tuple[str, ...]:
        """``ib.coreweave.cloud/superpod`` and ``ib.coreweave.cloud/leafgroup`` for the InfiniBand fat tree; on
        GB200 NVL72 the rack (``node.coreweave.cloud/rack``) is the NVLink domain (hardware.md [P]/[S]) and
        ``nvidia.com/gpu.clique`` its partition, the level a one-domain workload requires (imex-overview)."""
        if pool.system.nvlink_domain_nodes > 1:
            return (COREWEAVE_SUPERPOD, COREWEAVE_RACK, GPU_CLIQUE, HOSTNAME)
        return (COREWEAVE_SUPERPOD, COREWEAVE_LEAFGROUP, HOSTNAME)


PROFILE = CoreWeaveProfile()
