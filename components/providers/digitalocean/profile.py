"""Profile of provider ``digitalocean`` (pure: no Pulumi): the ``digitalocean`` settings section and its checks,
GPU Droplet size slugs by catalog system, what DOKS manages itself, and the resource types the policies read.

Sources:

- GPU Droplet slugs: DigitalOcean, "Droplet features" (docs.digitalocean.com/products/droplets/details/features/,
  #gpu-droplets and #contract-gpu-droplet): self-service ``gpu-h100x1-80gb``, ``gpu-h100x8-640gb``,
  ``gpu-h200x1-141gb``, ``gpu-h200x8-1128gb``; contract-only multi-node (fabric-attached)
  ``gpu-h100x8-640gb-contracted``,
  ``gpu-h200x8-1128gb-fabric-contracted``, ``gpu-mi300x8-1536gb-fabric-contracted``,
  ``gpu-mi325x8-2048gb-fabric-contracted``. "All GPU Droplets have a maximum bandwidth of 10 Gbps public and 25 Gbps
  private": only the fabric-attached sizes carry an RDMA fabric, so they are the defaults for fabric pools.
- DOKS installs the NVIDIA and AMD GPU device plugins on clusters with such nodes and the RDMA shared device plugin
  (k8s-rdma-shared-dev-plugin) where GPU nodes sit on a high-speed fabric ("enabled by default", pulumi-digitalocean
  ``KubernetesCluster`` nvidiaGpuDevicePlugin / amdGpuDevicePlugin / rdmaSharedDevicePlugin); the GPU node images
  carry the drivers, so nothing here installs a GPU Operator or driver.
- AMD: DigitalOcean's API spec (digitalocean/openapi, specification/resources/kubernetes/models/amd_gpu_device.yml):
  the AMD GPU Device Plugin "is enabled by default for clusters with an AMD GPU node pool", and the cluster's
  ``amd_gpu_device_metrics_exporter`` object enables the AMD Device Metrics Exporter; pulumi-digitalocean
  ``KubernetesCluster`` takes both (``amd_gpu_device_plugin``, ``amd_gpu_device_metrics_exporter_plugin``). So DOKS
  manages the AMD GPU stack (``managed_gpu_vendors``), which this toolkit does not install anywhere else. MI300X
  GPU Droplets: DigitalOcean Droplets release notes, 12 June 2025: "slugs ``gpu-mi300x1-192gb`` (1 GPU) and
  ``gpu-mi300x8-1536gb`` (8 GPUs)" (self-service, no RDMA fabric: set ``digitalocean.sizes.mi300x-8`` to it);
  MI325X "by contract only in 1- and 8-GPU configurations" (release notes, 15 July and 20 November 2025).
- Changing the cluster's default node pool replaces the whole cluster (pulumi/pulumi#5049,
  digitalocean/terraform-provider-digitalocean#303): it is a small CPU pool here, GPU pools are separate
  ``KubernetesNodePool`` resources, and the cluster is protected in prod.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from neocloud._model import IPV4_CIDR, CidrCheckedSettings, Name
from neocloud.catalog import GPU_VENDORS, SYSTEMS
from neocloud.profiles import (
    BucketShape,
    NodeSetShape,
    Problem,
    ProviderProfile,
    ResourceTypes,
    TeamVolume,
    one_su_group,
    sized_filesystem_problem,
    unknown_system_problems,
)

if TYPE_CHECKING:
    from neocloud.catalog import System
    from neocloud.plan import PoolPlan
    from neocloud.spec import ClusterSpec, Pool

__all__ = [
    "DIGITALOCEAN_SIZES",
    "PROFILE",
    "DigitalOceanProfile",
    "DigitalOceanSettings",
]

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
VPC = "digitalocean:index/vpc:Vpc"
BUCKET = "digitalocean:index/spacesBucket:SpacesBucket"
BUCKET_POLICY = "digitalocean:index/spacesBucketPolicy:SpacesBucketPolicy"
NFS = "digitalocean:index/nfs:Nfs"

DIGITALOCEAN_SIZES: Mapping[str, str] = {
    # Multi-node (fabric-attached) GPU Droplets, contract only ("Droplet features", #multi-node) [P].
    "hgx-h100": "gpu-h100x8-640gb-contracted",
    "hgx-h200": "gpu-h200x8-1128gb-fabric-contracted",
    "mi300x-8": "gpu-mi300x8-1536gb-fabric-contracted",
    "mi325x-8": "gpu-mi325x8-2048gb-fabric-contracted",
    # Single-GPU Droplets, self-service ("Droplet features", #gpu-droplets) [P]: one GPU, 25 Gbps private
    # networking and no RDMA fabric, so the catalog's gpu-vm systems (rails 0).
    "h100-x1": "gpu-h100x1-80gb",
    "h200-x1": "gpu-h200x1-141gb",
}
"""DOKS node size by catalog system: the fabric-attached 8-GPU sizes and the 1-GPU sizes. The self-service
``gpu-h100x8-640gb`` and ``gpu-h200x8-1128gb`` (25 Gbps private networking, no RDMA fabric) can be set in
``digitalocean.sizes``."""

_SLUG = r"^[a-z0-9][a-z0-9-]{1,62}$"
_REGION = r"^[a-z]{3}[0-9]$"


class DigitalOceanSettings(CidrCheckedSettings):
    """Settings for ``provider: digitalocean`` (VPC, DOKS, GPU node pools, Spaces, NFS).

    Credentials are not here: pulumi-digitalocean reads ``DIGITALOCEAN_TOKEN`` (or the secret Pulumi config
    ``digitalocean:token``), and Spaces keys from ``SPACES_ACCESS_KEY_ID`` / ``SPACES_SECRET_ACCESS_KEY``.
    """

    cidr_section = "digitalocean"
    cidr_fields = ("vpc_cidr", "api_allowed_cidrs")

    vpc_cidr: str = Field("10.110.0.0/20", pattern=IPV4_CIDR, description="IP range of the cluster's VPC.")
    system_pool_size: Annotated[str, Field(pattern=_SLUG)] = Field(
        "s-4vcpu-8gb", description="Droplet size of the DOKS default node pool (system pods, Kueue, operators). "
        "Changing it REPLACES THE CLUSTER (the default pool is part of the cluster resource); the cluster is "
        "protected in prod, so such a change fails there instead of deleting it.",
    )
    system_nodes: int = Field(2, ge=1, le=100, description="Nodes of the default (CPU) node pool.")
    sizes: dict[str, Annotated[str, Field(pattern=_SLUG)]] = Field(
        default_factory=dict,
        description="Droplet size slug by catalog system, on top of the built-in fabric-attached ones (hgx-h100: "
        "gpu-h100x8-640gb-contracted, hgx-h200: gpu-h200x8-1128gb-fabric-contracted).",
    )
    rdma_resource: Annotated[str, Field(pattern=r"^[a-z0-9.-]+/[A-Za-z0-9_.-]+$")] | None = Field(
        None, description="SITE-CONFIGURABLE, NOT A DIGITALOCEAN FACT: the extended resource DOKS's RDMA shared device "
        "plugin advertises on fabric-attached GPU nodes. DigitalOcean documents that the plugin runs "
        "(pulumi-digitalocean KubernetesCluster rdmaSharedDevicePlugin) but not the resource name it advertises, so "
        "read it from `kubectl describe node` on your cluster. The shipped stack sets the upstream "
        "k8s-rdma-shared-dev-plugin's sample name (rdma/hca_shared_devices_a, its README's sample config) only as "
        "an example. Required when a pool is fabric-attached (acceptance sweeps and multi-node jobs request it); "
        "1-GPU pools have no fabric and do not need it.",
    )
    api_allowed_cidrs: list[Annotated[str, Field(pattern=IPV4_CIDR)]] = Field(
        default_factory=list, max_length=100,
        description="CIDRs allowed through the DOKS control plane firewall; empty leaves the API open, which prod "
        "does not allow.",
    )
    ha: bool = Field(True, description="Highly available DOKS control plane.")
    version_prefix: Annotated[str, Field(pattern=r"^1\.[0-9]{2}\.$")] | None = Field(
        None, description="DOKS version prefix for the latest patch release (default: kubernetes.version + '.').",
    )
    spaces_region: Annotated[str, Field(pattern=_REGION)] | None = Field(
        None, description="Spaces region of the buckets (default: the cluster's region).",
    )
    bucket_prefix: Name | None = Field(
        None, description="Bucket names are `<prefix>-<purpose>` and must be globally unique; default: the "
        "cluster name.",
    )
    nfs_csi_driver: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")] = Field(
        "nfs.csi.k8s.io", description="CSI driver name of the NFS CSI plugin DOKS runs (nfs_csi_plugin): the team "
        "PersistentVolumes name it. Default: the upstream csi-driver-nfs name; no DigitalOcean page naming DOKS's "
        "driver was found, so it is a setting.",
    )
    nfs_performance_tier: Literal["standard", "high"] = Field(
        "high", description="DigitalOcean NFS performance tier (storage.filesystem.kind digitalocean-nfs); it can "
        "be raised later, never lowered.",
    )
    acceptance_taint: bool = Field(
        False, description="Also taint new GPU nodes with neocloud.io/acceptance=pending. Off by default: it is not "
        "verified that DOKS leaves a taint removed by the acceptance job off. Refused with AMD pools (per-node "
        "acceptance of AMD GPUs is not built yet).",
    )

    def size(self, system: str) -> str | None:
        """The DOKS node size for a catalog system (spec value first, then the built-in one)."""
        return self.sizes.get(system) or DIGITALOCEAN_SIZES.get(system)


class DigitalOceanProfile(ProviderProfile):
    name = "digitalocean"
    summary = "VPC, DOKS with a CPU default pool and GPU node pools by size slug, Spaces buckets, NFS."
    settings = DigitalOceanSettings
    settings_description = "provider digitalocean: VPC, DOKS pools and sizes, Spaces, NFS."
    system_kinds = ("hgx", "amd", "gpu-vm")
    filesystem_kinds = ("digitalocean-nfs", "external")
    required_catalog_fields = ("nic_gbps",)
    platform_manages_gpu_stack = True
    # DOKS installs the NVIDIA and the AMD GPU device plugins on clusters with such nodes (module docstring).
    managed_gpu_vendors = ("nvidia", "amd")
    # DOKS runs the NVIDIA and AMD device plugins on GPU nodes (pulumi-digitalocean KubernetesCluster docs); the RDMA
    # resource is the spec's digitalocean.rdma_resource (fabric_resource).
    platform_device_resources = tuple(v.resource for v in GPU_VENDORS.values())
    # DOKS runs Cilium as a managed component (docs.digitalocean.com products/kubernetes/how-to/customize-coredns:
    # "managed components pre-installed ... such as workloads, policies, Cilium, and CoreDNS"), which enforces
    # Kubernetes NetworkPolicy.
    network_policy_enforcement = "platform"
    zone_per_fabric_pool = False  # DOKS pools live in the cluster's region; DigitalOcean has no zones
    resource_types: ClassVar[ResourceTypes] = ResourceTypes(
        node_sets=(NodeSetShape(
            type=NODE_POOL, kind="DOKS node pool", labels=("labels",), taints=("taints",),
            sizes=(("minNodes",), ("nodeCount",), ("maxNodes",)), floor=("minNodes", "nodeCount"),
        ),),
        buckets=(BucketShape(
            type=BUCKET, kind="Spaces bucket", versioning_inline=(("versioning", "enabled"), True),
            policy_types=(BUCKET_POLICY,), canned_acl_input="acl",
        ),),
        stateful=(CLUSTER, BUCKET, NFS),
        other={"vpc": VPC},
    )

    def team_volume(self, spec: ClusterSpec) -> TeamVolume | None:
        """The NFS share through a static PersistentVolume per team of the NFS CSI driver DOKS installs with
        ``nfs_csi_plugin`` (pulumi-digitalocean KubernetesCluster.nfsCsiPlugin: "whether the NFS CSI plugin should
        be enabled"): volumeAttributes ``server`` (the share's host IP in the VPC) and ``share`` (its mount path), a
        volumeHandle unique in the cluster ``{server}#{share}#{team}`` (kubernetes-csi/csi-driver-nfs
        docs/driver-parameters.md, "PV/PVC usage (static provisioning)"; deploy/example/pv-nfs-csi.yaml)."""
        fs = spec.storage.filesystem
        if fs is not None and fs.kind == "digitalocean-nfs":
            settings: DigitalOceanSettings = self.settings_of(spec)
            return TeamVolume(
                mode="static", storage_class="", csi_driver=settings.nfs_csi_driver,
                volume_attributes=("server", "share"), installer=(CLUSTER, "nfsCsiPlugin.enabled", True),
                source="kubernetes-csi/csi-driver-nfs docs/driver-parameters.md (static provisioning); "
                "pulumi-digitalocean Nfs (host, mount_path) and KubernetesCluster.nfs_csi_plugin",
            )
        return super().team_volume(spec)

    def su_groups(self, spec: ClusterSpec, pool: PoolPlan, placement: object = None) -> tuple[tuple[int, int], ...]:
        """One DOKS node pool per pool, one label map for all its nodes: one ``neocloud.io/su`` group (value 0)."""
        return one_su_group(pool)

    def fabric_resource(self, spec: ClusterSpec) -> str | None:
        """The site's ``digitalocean.rdma_resource``: DigitalOcean does not document the name (see the setting)."""
        settings: DigitalOceanSettings = self.settings_of(spec)
        return settings.rdma_resource

    def pool_problems(self, spec: ClusterSpec, index: int, pool: Pool, system: System) -> Iterable[Problem]:
        settings: DigitalOceanSettings = self.settings_of(spec)
        missing = system.gpu_vendor.acceptance_missing
        if settings.acceptance_taint and missing:
            # The taint holds every new node of the pool until acceptance passes; with no acceptance for the
            # vendor's GPUs it would never be removed.
            yield ("digitalocean.acceptance_taint", f"{missing}, so pools[{index}] ({pool.system}) nodes would "
                   f"stay tainted neocloud.io/acceptance=pending forever; leave it false with AMD pools")

    def problems(self, spec: ClusterSpec) -> Iterable[Problem]:
        import re

        settings: DigitalOceanSettings = self.settings_of(spec)
        if spec.region and not re.match(_REGION, spec.region):
            yield ("region", f"'{spec.region}' is not a DigitalOcean region slug (e.g. nyc2, atl1, tor1)")
        for i, pool in enumerate(spec.pools):
            if settings.size(pool.system) is None:
                yield (f"digitalocean.sizes.{pool.system}", f"required: no verified DigitalOcean GPU Droplet size for "
                       f"{pool.system} (pools[{i}]); set the slug your account lists (`doctl compute size list`)")
        yield from unknown_system_problems("digitalocean.sizes", settings.sizes)
        if settings.system_pool_size.startswith("gpu-"):
            yield ("digitalocean.system_pool_size", f"'{settings.system_pool_size}' is a GPU size; the default pool "
                   "runs system pods, and changing it later replaces the cluster: use a CPU size such as s-4vcpu-8gb")
        fabric_pools = [i for i, p in enumerate(spec.pools) if p.system in SYSTEMS and SYSTEMS[p.system].rails > 0]
        if settings.rdma_resource is None and fabric_pools:
            yield ("digitalocean.rdma_resource", f"required with fabric-attached pools (pools[{fabric_pools[0]}]): "
                   "the RDMA resource DOKS advertises on their nodes (kubectl describe node; DigitalOcean does not "
                   "document its name); acceptance and multi-node jobs request it")
        if fs := sized_filesystem_problem(spec):
            yield fs
        if spec.environment == "prod" and not settings.api_allowed_cidrs:
            yield ("digitalocean.api_allowed_cidrs", "required in prod: an empty list leaves the Kubernetes API open "
                   "to the internet")


PROFILE = DigitalOceanProfile()
