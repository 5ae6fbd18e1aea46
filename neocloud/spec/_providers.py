"""Provider sections of the cluster spec (``coreweave``, ``nebius``, ``aws``) and their cited name maps."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, model_validator

from ._base import (
    Name,
    _Model,
    _PathProblem,
)

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

_COREWEAVE_ZONE = r"^[A-Z]{2,}(-[A-Z]+)?-[0-9]{2}[A-Z]$|^[A-Z]{3}[0-9][A-Z]$"
"""CoreWeave Availability Zones, e.g. US-EAST-04A or RNO2A (docs.coreweave.com/platform/regions)."""

_IPV4_CIDR = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$"
"""An IPv4 CIDR block such as 10.0.0.0/16."""

_LABEL_VALUE = r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
"""A Kubernetes label value (also used for instance types, platforms and presets)."""


def _cidr_problems(section: str, cidrs: Mapping[str, str | list[str]]) -> list[tuple[str, str]]:
    """IPv4 CIDR fields of a provider section that are not network addresses, or that overlap each other."""
    import ipaddress

    problems: list[tuple[str, str]] = []
    networks: list[tuple[str, ipaddress.IPv4Network]] = []
    for field, value in cidrs.items():
        for i, cidr in enumerate([value] if isinstance(value, str) else value):
            path = f"{section}.{field}" + ("" if isinstance(value, str) else f"[{i}]")
            try:
                network = ipaddress.IPv4Network(cidr)
            except ValueError as exc:
                problems.append((path, f"got {cidr!r}; not an IPv4 network address ({exc})"))
                continue
            if isinstance(value, str):
                clash = next((name for name, other in networks if network.overlaps(other)), None)
                if clash:
                    problems.append((path, f"{cidr} overlaps {section}.{clash}"))
                networks.append((field, network))
    return problems


class CoreWeaveSettings(_Model):
    """Settings for ``provider: coreweave`` (CKS, VPC, AI Object Storage and Node Pools).

    Credentials are not here: the CoreWeave provider reads ``COREWEAVE_API_TOKEN`` (or the secret Pulumi
    config ``coreweave:token``).
    """

    zone: str | None = Field(
        None, pattern=_COREWEAVE_ZONE,
        description="CoreWeave Availability Zone for the VPC, CKS cluster and buckets (e.g. US-EAST-04A); "
        "default: the cluster's `zone`.",
    )
    org_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][-A-Za-z0-9]{1,62}$",
        description="Your CoreWeave organization ID; bucket policies deny every principal outside it "
        "(cw:PrincipalOrgID). Required when storage.buckets is not empty.",
    )
    instance_types: dict[str, Annotated[str, Field(pattern=_LABEL_VALUE)]] = Field(
        default_factory=dict,
        description="Instance type by catalog system, on top of the built-in verified ones (hgx-h100: "
        "gd-8xh100ib-i128, hgx-h200: gd-8xh200ib-i128, gb200-nvl72: gb200-4x).",
    )
    public_api: bool = Field(
        True, description="Expose the CKS API server on the internet (Pulumi must reach it to apply Node Pools); "
        "false needs a private path to the VPC.",
    )
    pod_cidr: str = Field("10.244.0.0/16", pattern=_IPV4_CIDR, description="VPC prefix for Pod IPs.")
    service_cidr: str = Field("10.96.0.0/16", pattern=_IPV4_CIDR, description="VPC prefix for Service IPs.")
    internal_lb_cidr: str = Field(
        "10.32.4.0/22", pattern=_IPV4_CIDR, description="VPC prefix for internal load balancers."
    )
    bucket_prefix: Name | None = Field(
        None, description="Bucket names are `<prefix>-<purpose>` and must be globally unique; default: the "
        "cluster name.",
    )
    filesystem_storage_class: Annotated[str, Field(pattern=_LABEL_VALUE)] = Field(
        "shared-vast", description="StorageClass of the CoreWeave distributed file storage PVC "
        "(storage.filesystem.kind coreweave-vast).",
    )
    filesystem_namespace: Name = Field("default", description="Namespace of the shared filesystem PVC.")
    scale_down_strategy: Literal["IdleOnly", "PreferIdle"] | None = Field(
        "IdleOnly", description="NodePool lifecycle.scaleDownStrategy for autoscaled pools: IdleOnly removes only "
        "idle Nodes, so scaling down never kills a running training job; null leaves CKS's default.",
    )
    acceptance_taint: bool = Field(
        False, description="Also taint new GPU nodes with neocloud.io/acceptance=pending. Off by default: "
        "it is not verified that CKS leaves a taint removed by the acceptance job off.",
    )

    @model_validator(mode="after")
    def _check_cidrs(self) -> CoreWeaveSettings:
        for problem in _cidr_problems("coreweave", {"pod_cidr": self.pod_cidr, "service_cidr": self.service_cidr,
                                                    "internal_lb_cidr": self.internal_lb_cidr}):
            raise _PathProblem(*problem)
        return self

    def instance_type(self, system: str) -> str | None:
        """The CoreWeave instance type for a catalog system (spec value first, then the verified default)."""
        return self.instance_types.get(system) or COREWEAVE_INSTANCE_TYPES.get(system)


class NebiusPlatform(_Model):
    """A Nebius compute platform and preset for one catalog system."""

    platform: Annotated[str, Field(pattern=_LABEL_VALUE)] = Field(
        description="Compute platform, e.g. gpu-h200-sxm (`nebius compute platform list`)."
    )
    preset: Annotated[str, Field(pattern=_LABEL_VALUE)] = Field(
        description="Preset of the platform, e.g. 8gpu-128vcpu-1600gb."
    )


class NebiusSettings(_Model):
    """Settings for ``provider: nebius`` (VPC, GPU cluster, mk8s, shared filesystem and buckets).

    Credentials are not here: pulumi-nebius reads the Nebius CLI profile, ``NEBIUS_IAM_TOKEN`` or its own
    Pulumi provider config.
    """

    parent_id: str | None = Field(
        None, pattern=r"^project-[a-z0-9]+$",
        description="ID of the Nebius project that owns every resource (project-...). Required for nebius.",
    )
    platforms: dict[str, NebiusPlatform] = Field(
        default_factory=dict,
        description="Platform and preset by catalog system, on top of the built-in ones (hgx-h200: gpu-h200-sxm "
        "8gpu-128vcpu-1600gb; hgx-b200: gpu-b200-sxm 8gpu-160vcpu-1792gb).",
    )
    drivers_preset: Annotated[str, Field(pattern=_LABEL_VALUE)] | None = Field(
        "cuda12.8", description="mk8s GPU drivers preset (`nebius mk8s node-group get-compatibility-matrix`); "
        "null leaves drivers to you (GPU Operator).",
    )
    service_cidr: str = Field("10.96.0.0/16", pattern=_IPV4_CIDR, description="Kubernetes Service CIDR.")
    api_allowed_cidrs: list[Annotated[str, Field(pattern=_IPV4_CIDR)]] = Field(
        default_factory=list, max_length=100,
        description="CIDRs allowed to reach the public Kubernetes API endpoint; empty means unrestricted, "
        "which prod does not allow.",
    )
    etcd_cluster_size: Literal[1, 3] = Field(3, description="Control-plane etcd members (3 is highly available).")
    cpu_platform: Annotated[str, Field(pattern=_LABEL_VALUE)] = Field(
        "cpu-d3", description="Platform of the CPU node group (system pods, operators)."
    )
    cpu_preset: Annotated[str, Field(pattern=_LABEL_VALUE)] = Field(
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

    @model_validator(mode="after")
    def _check_cidrs(self) -> NebiusSettings:
        for problem in _cidr_problems("nebius", {"service_cidr": self.service_cidr,
                                                 "api_allowed_cidrs": list(self.api_allowed_cidrs)}):
            raise _PathProblem(*problem)
        return self

    def platform(self, system: str) -> NebiusPlatform | None:
        """The platform and preset for a catalog system (spec value first, then the built-in default)."""
        if system in self.platforms:
            return self.platforms[system]
        default = NEBIUS_PLATFORMS.get(system)
        return NebiusPlatform(platform=default[0], preset=default[1]) if default else None


EksLogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
"""EKS control plane log types (EKS API, LogSetup.types)."""


def _default_eks_logs() -> list[EksLogType]:
    # API calls, audit trail and IAM authentication: who did what to the cluster.
    return ["api", "audit", "authenticator"]


class AwsSettings(_Model):
    """Settings for ``provider: aws`` (VPC, EKS, GPU node groups, FSx for Lustre, S3).

    Quota defaults are AWS's published defaults; quotas are adjustable per account, so they are settings.
    """

    vpc_cidr: str = Field(
        "10.0.0.0/16", pattern=_IPV4_CIDR,
        description="VPC CIDR, /8 to /20. It is cut into eight equal slices: one private subnet per zone (GPU "
        "pods take VPC IPs) and the last slice for the public (NAT) subnets.",
    )
    zones: list[Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$")]] = Field(
        default_factory=list, max_length=6,
        description="Zones for the EKS control plane and the system node group, on top of the GPU pools' zones. "
        "EKS needs subnets in at least two zones; default: the GPU zones plus the region's next zone letters "
        "(a, b, c...), so set this where those zone names do not exist in your account.",
    )
    api_public_cidrs: list[Annotated[str, Field(pattern=_IPV4_CIDR)]] = Field(
        default_factory=list, max_length=40,
        description="CIDRs allowed to reach the EKS public API endpoint (EKS allows at most 40). Empty: the "
        "endpoint is private only, so Pulumi must run inside the VPC (or over VPN/Direct Connect).",
    )
    system_instance_type: str = Field(
        "m7i.2xlarge", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$",
        description="Instance type of the CPU system node group (cluster add-ons, operators, Kueue).",
    )
    system_nodes: int = Field(2, ge=1, le=450, description="Nodes in the CPU system node group.")
    gpu_ami_type: Literal[
        "AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA", "BOTTLEROCKET_ARM_64_NVIDIA"
    ] | None = Field(
        None, description="EKS AMI type of GPU node groups; default AL2023_ARM_64_NVIDIA for Grace-based "
        "systems (GB200), AL2023_x86_64_NVIDIA otherwise (EKS user guide, accelerated AMIs).",
    )
    root_volume_gib: int = Field(
        512, ge=20, le=16384, description="Encrypted gp3 root volume of every node, GiB (images, caches)."
    )
    imds_hop_limit: Literal[1, 2] = Field(
        2, description="IMDSv2 response hop limit of every node: 2 lets pods reach instance metadata (agents "
        "without IAM roles for service accounts need it); 1 keeps it to the node (EKS security best practices).",
    )
    root_device_name: str = Field(
        "/dev/xvda", pattern=r"^/dev/[a-z0-9]+$",
        description="Root device of the node AMI (/dev/xvda for the EKS AL2023 AMIs).",
    )
    placement_block_nodes: int = Field(
        448, ge=1, le=100_000,
        description="Most nodes in one placement block (one node group, and on on-demand capacity one cluster "
        "placement group). Blocks hold whole scalable units and NVLink domains. Smaller blocks pack nodes closer "
        "but cost more node groups and resources; the default, 14 SUs of 32, keeps a 12,500-node pool within "
        "28 node groups. At most node_group_max_nodes.",
    )
    node_group_max_nodes: int = Field(
        450, ge=1, le=100_000,
        description="EKS quota 'Nodes per managed node group' (default 450, adjustable; EKS service quotas).",
    )
    max_node_groups: int = Field(
        30, ge=1, le=10_000,
        description="EKS quota 'Managed node groups per cluster' (default 30, adjustable); the program warns "
        "when the plan needs more.",
    )
    reservations_per_node_group: int = Field(
        1, ge=1, le=64,
        description="Capacity reservations one node group may draw on. 1: a node group (and launch template) "
        "per reservation or Capacity Block, so each can end on its own. More: consecutive reservations share a "
        "placement block through a Capacity Reservation resource group, which EC2 supports for every "
        "reservation type including Capacity Blocks (EC2 user guide, cr-groups) -- a 12,500-node pool on "
        "Capacity Blocks of 64 needs 7 to stay within 30 node groups.",
    )
    reservation_instances: dict[Annotated[str, Field(pattern=r"^cr-[0-9a-f]{8,17}$")],
                                Annotated[int, Field(ge=1, le=100_000)]] = Field(
        default_factory=dict,
        description="Instances each capacity reservation holds (cr-... -> count). Default: Capacity Blocks are "
        "filled up to 64 in listed order, On-Demand Capacity Reservations share the pool evenly.",
    )
    fsx_per_unit_throughput: Literal[125, 250, 500, 1000] | None = Field(
        None, description="Force the FSx for Lustre PERSISTENT_2 tier in MB/s per TiB; default: the lowest tier "
        "that meets the plan's throughput at the planned capacity.",
    )
    fsx_version: Literal["2.12", "2.15"] = Field("2.15", description="Lustre version of the FSx file system.")
    retain_stateful: bool = Field(
        True, description="Keep the EKS cluster, KMS key, FSx and buckets when they leave the stack or it is "
        "destroyed (retain_on_delete). false lets `pulumi destroy` delete a throwaway dev cluster's billed "
        "resources; prod requires true.",
    )
    control_plane_logs: list[EksLogType] = Field(
        default_factory=_default_eks_logs,
        description="EKS control plane log types sent to CloudWatch Logs.",
    )
