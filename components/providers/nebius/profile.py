"""Profile of provider ``nebius`` (pure: no Pulumi): the ``nebius`` settings section and its checks, platforms
and presets by system, mk8s drivers presets, and the resource types the policies read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from neocloud._model import IPV4_CIDR, LABEL_VALUE, CidrCheckedSettings, Name, SettingsModel
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
from neocloud.vocabulary import HELM_RELEASE

from .._neocloud import pool_system_problems

if TYPE_CHECKING:
    from neocloud.plan import PoolPlan
    from neocloud.spec import ClusterSpec

__all__ = [
    "NEBIUS_PLATFORMS",
    "PROFILE",
    "NebiusPlatform",
    "NebiusProfile",
    "NebiusSettings",
]

NODE_GROUP = "nebius:index/mk8sV1NodeGroup:Mk8sV1NodeGroup"
MK8S_CLUSTER = "nebius:index/mk8sV1Cluster:Mk8sV1Cluster"
BUCKET = "nebius:index/storageV1Bucket:StorageV1Bucket"
FILESYSTEM = "nebius:index/computeV1Filesystem:ComputeV1Filesystem"
NVL_INSTANCE_GROUP = "nebius:index/computeV1NvlInstanceGroup:ComputeV1NvlInstanceGroup"

NEBIUS_PLATFORMS: Mapping[str, tuple[str, str]] = {
    # gpu-h200-sxm with preset 8gpu-128vcpu-1600gb: the preset is named in Nebius's billing notes
    # (docs.nebius.com/signup-billing/billing-changes-oct-2025) [P]; the platform name in Nebius's own
    # Terraform solutions [S].
    "hgx-h200": ("gpu-h200-sxm", "8gpu-128vcpu-1600gb"),
    "dgx-h200": ("gpu-h200-sxm", "8gpu-128vcpu-1600gb"),
    # gpu-b200-sxm with preset 8gpu-160vcpu-1792gb: third-party code quoting `nebius compute platform list` [S].
    "hgx-b200": ("gpu-b200-sxm", "8gpu-160vcpu-1792gb"),
    "dgx-b200": ("gpu-b200-sxm", "8gpu-160vcpu-1792gb"),
}
"""Nebius (platform, preset) by catalog system. H100 presets and the GB200 platform are not verified: set them
in ``nebius.platforms``."""


class NebiusPlatform(SettingsModel):
    """A Nebius compute platform and preset for one catalog system."""

    platform: Annotated[str, Field(pattern=LABEL_VALUE)] = Field(
        description="Compute platform, e.g. gpu-h200-sxm (`nebius compute platform list`)."
    )
    preset: Annotated[str, Field(pattern=LABEL_VALUE)] = Field(
        description="Preset of the platform, e.g. 8gpu-128vcpu-1600gb."
    )


FILESYSTEM_CSI_CHART = "oci://cr.eu-north1.nebius.cloud/mk8s/helm/csi-mounted-fs-path"
"""Nebius's CSI driver for a shared filesystem mounted on the nodes (its OCI chart). Source: Nebius's own examples
in the nebius-solutions-library (Terraform ``filesystem_csi_chart_name = "csi-mounted-fs-path"`` with
``dataDir`` under the filesystem's mount path, and a script's ``helm pull
oci://cr.eu-north1.nebius.cloud/mk8s/helm/csi-mounted-fs-path --version 0.1.3``) [S]. Nebius's docs page on
filesystems over CSI (docs.nebius.com/kubernetes/storage/...) is not in the index we could read, so the steps are
unverified against it: attach the filesystem to the node group with a mount tag, mount it on
every node (``mount -t virtiofs <mount_tag> /mnt/<mount_tag>``), install this chart with ``dataDir`` on that mount,
then claim it with storage class ``csi-mounted-fs-path-sc`` (ReadWriteMany); each claim is a directory of the
shared filesystem."""
FILESYSTEM_CSI_CHART_VERSION = "0.1.3"
"""The chart version Nebius's example installs (``helm pull ... --version 0.1.3``)."""
FILESYSTEM_CSI_STORAGE_CLASS = "csi-mounted-fs-path-sc"
NEBIUS_TEAM_VOLUME = TeamVolume(
    mode="dynamic", storage_class=FILESYSTEM_CSI_STORAGE_CLASS,
    installer=(HELM_RELEASE, "chart", FILESYSTEM_CSI_CHART),
    source="nebius-solutions-library examples (csi-mounted-fs-path 0.1.3) [S]; Nebius docs page unverified",
)


class NebiusSettings(CidrCheckedSettings):
    """Settings for ``provider: nebius`` (VPC, GPU cluster, mk8s, shared filesystem and buckets).

    Credentials are not here: pulumi-nebius reads the Nebius CLI profile, ``NEBIUS_IAM_TOKEN`` or its own
    Pulumi provider config.
    """

    cidr_section = "nebius"
    cidr_fields = ("service_cidr", "api_allowed_cidrs")

    parent_id: str | None = Field(
        None, pattern=r"^project-[a-z0-9]+$",
        description="ID of the Nebius project that owns every resource (project-...). Required for nebius.",
    )
    platforms: dict[str, NebiusPlatform] = Field(
        default_factory=dict,
        description="Platform and preset by catalog system, on top of the built-in ones (hgx-h200: gpu-h200-sxm "
        "8gpu-128vcpu-1600gb; hgx-b200: gpu-b200-sxm 8gpu-160vcpu-1792gb).",
    )
    drivers_preset: Annotated[str, Field(pattern=LABEL_VALUE)] | None = Field(
        "cuda12.8", description="mk8s GPU drivers preset (`nebius mk8s node-group get-compatibility-matrix`); "
        "null leaves drivers to you (GPU Operator).",
    )
    service_cidr: str = Field("10.96.0.0/16", pattern=IPV4_CIDR, description="Kubernetes Service CIDR.")
    api_allowed_cidrs: list[Annotated[str, Field(pattern=IPV4_CIDR)]] = Field(
        default_factory=list, max_length=100,
        description="CIDRs allowed to reach the public Kubernetes API endpoint; empty means unrestricted, "
        "which prod does not allow.",
    )
    etcd_cluster_size: Literal[1, 3] = Field(3, description="Control-plane etcd members (3 is highly available).")
    cpu_platform: Annotated[str, Field(pattern=LABEL_VALUE)] = Field(
        "cpu-d3", description="Platform of the CPU node group (system pods, operators)."
    )
    cpu_preset: Annotated[str, Field(pattern=LABEL_VALUE)] = Field(
        "4vcpu-16gb", description="Preset of the CPU node group."
    )
    cpu_nodes: int = Field(3, ge=1, le=100, description="Nodes in the CPU node group.")
    boot_disk_gib: int = Field(1024, ge=64, le=16384, description="Boot disk size of GPU nodes in GiB.")
    filesystem_type: Literal["NETWORK_SSD", "NETWORK_HDD", "WEKA", "VAST"] = Field(
        "NETWORK_SSD", description="Shared filesystem type (storage.filesystem.kind nebius-shared)."
    )
    filesystem_mount_tag: Name = Field("shared", description="Mount tag of the shared filesystem on nodes.")
    bucket_prefix: Name | None = Field(
        None, description="Bucket names are `<prefix>-<purpose>`; default: the cluster name."
    )
    acceptance_taint: bool = Field(
        True, description="Taint new GPU nodes with neocloud.io/acceptance=pending (mk8s sets taints only when "
        "a node is created, so the acceptance job's removal sticks).",
    )

    def platform(self, system: str) -> NebiusPlatform | None:
        """The platform and preset for a catalog system (spec value first, then the built-in default)."""
        if system in self.platforms:
            return self.platforms[system]
        default = NEBIUS_PLATFORMS.get(system)
        return NebiusPlatform(platform=default[0], preset=default[1]) if default else None


class NebiusProfile(ProviderProfile):
    name = "nebius"
    summary = "GPU cluster on an InfiniBand fabric, mk8s with GPU node groups, shared filesystem, buckets."
    settings = NebiusSettings
    settings_description = "provider nebius: project, platforms, CIDRs, node groups."
    fabric_kinds = ("infiniband",)
    fabric_note = "this toolkit builds nebius GPU pools on InfiniBand, so "
    filesystem_kinds = ("nebius-shared", "external")
    required_catalog_fields = ("nic_gbps",)
    resource_types: ClassVar[ResourceTypes] = ResourceTypes(
        node_sets=(NodeSetShape(
            type=NODE_GROUP, kind="mk8s node group", labels=("template", "metadata", "labels"),
            taints=("template", "taints"),
            sizes=(("fixedNodeCount",), ("autoscaling", "minNodeCount"), ("autoscaling", "maxNodeCount")),
            floor=("fixedNodeCount", "autoscaling.minNodeCount"),
        ),),
        buckets=(BucketShape(type=BUCKET, versioning_inline=(("versioningPolicy",), "ENABLED")),),
        stateful=(BUCKET, FILESYSTEM, MK8S_CLUSTER),
        other={"nvl_instance_group": NVL_INSTANCE_GROUP},
    )

    def team_volume(self, spec: ClusterSpec) -> TeamVolume | None:
        fs = spec.storage.filesystem
        if fs is not None and fs.kind == "nebius-shared":
            return NEBIUS_TEAM_VOLUME
        return super().team_volume(spec)

    def su_groups(self, spec: ClusterSpec, pool: PoolPlan, placement: object = None) -> tuple[tuple[int, int], ...]:
        """NVL72 pools: one node group per rack (an NVLink instance group), labelled with its rack's SU, so one
        ``neocloud.io/su`` group per plan SU; other pools: one node group, one group (value 0)."""
        if pool.system.nvlink_domain_nodes > 1:
            return tuple((u.index, u.nodes) for u in pool.scalable_units)
        return one_su_group(pool)

    def gpu_driver_preinstalled(self, spec: ClusterSpec) -> bool:
        # mk8s GPU node groups created with a drivers preset carry the NVIDIA driver and toolkit.
        settings: NebiusSettings = self.settings_of(spec)
        return settings.drivers_preset is not None

    def problems(self, spec: ClusterSpec) -> Iterable[Problem]:
        """Every pool maps to a real platform and preset, NVL72 pools keep to whole racks, and the settings mk8s
        needs are present."""
        settings: NebiusSettings = self.settings_of(spec)
        yield from pool_system_problems(spec, settings_path="nebius.platforms", resolve=settings.platform,
                                        what="Nebius platform and preset",
                                        hint="set them from `nebius compute platform list`")
        yield from unknown_system_problems("nebius.platforms", settings.platforms)
        if fs := sized_filesystem_problem(spec):
            yield fs
        if not settings.parent_id:
            yield ("nebius.parent_id", "required: the Nebius project ID (project-...) that owns the resources")
        if spec.fabric.kind == "infiniband" and not spec.fabric.name:
            yield ("fabric.name", "required with provider 'nebius': the InfiniBand fabric the GPU cluster joins "
                   "(e.g. fabric-3; see the region's fabrics in the Nebius docs)")
        if spec.environment == "prod" and not settings.api_allowed_cidrs:
            yield ("nebius.api_allowed_cidrs", "required in prod: an empty list leaves the public Kubernetes API "
                   "open to the internet")


PROFILE = NebiusProfile()
