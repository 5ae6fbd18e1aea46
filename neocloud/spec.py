"""The cluster spec: one typed document in the ``neocloud:cluster`` structured config key.

Every field has a description (it becomes the JSON Schema and the README's config reference). Field
checks live on the fields; checks that span fields live in ``ClusterSpec._check_cross_field`` so that the
error can name the full config path. ``load_cluster_spec`` is the only entry point that turns raw config
into a spec, and it raises ``SpecError`` with a one-line, path-naming message for every bad input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .catalog import GPUS, SWITCHES, SYSTEMS, System, known_system_names, system_with_overrides
from .errors import CONFIG_KEY, SpecError

__all__ = [
    "COREWEAVE_INSTANCE_TYPES",
    "NEBIUS_PLATFORMS",
    "AwsSettings",
    "Backend",
    "Bucket",
    "Capacity",
    "CatalogOverrides",
    "Checkpoint",
    "ClusterSpec",
    "CoreWeaveSettings",
    "Fabric",
    "Filesystem",
    "Kubernetes",
    "NebiusPlatform",
    "NebiusSettings",
    "Pool",
    "Power",
    "Queue",
    "Racks",
    "Storage",
    "SystemOverride",
    "TrafficRegulator",
    "json_schema",
    "load_cluster_spec",
]

_DNS_LABEL = r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$"
"""Names become Kubernetes object names, label values and cloud resource names: RFC 1123 labels, 32 max."""

Name = Annotated[str, Field(pattern=_DNS_LABEL, description="Lower-case letters, digits and '-', 1-32 chars.")]

CAPACITY_BLOCK_MAX_INSTANCES = 64
"""One EC2 Capacity Block holds at most 64 instances (hardware.md AWS [P]/[S])."""

DEFAULT_PUE = 1.56
"""Industry-average data-center PUE, ~1.56-1.58 (Uptime Institute, hardware.md [S])."""

CHECKPOINT_BYTES_PER_PARAMETER = 16.0
"""A full training checkpoint is ~16 bytes per parameter: weights + optimizer state (hardware.md [S])."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Capacity(_Model):
    """Where a pool's machines come from."""

    source: Literal["on-demand", "reservation", "capacity-block"] = Field(
        "on-demand",
        description="on-demand (AWS: launched into a cluster placement group per block), reservation (an "
        "On-Demand Capacity Reservation) or capacity-block (EC2 Capacity Blocks for ML).",
    )
    reservation_ids: list[Annotated[str, Field(pattern=r"^cr-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list,
        description="AWS capacity reservation ids (cr-...) for reservation and capacity-block sources. A "
        "Capacity Block holds at most 64 instances, so larger pools list several.",
    )


class Pool(_Model):
    """A GPU node pool: one system type, one zone, one fabric."""

    name: Name = Field(description="Pool name; becomes the node label neocloud.io/pool.")
    system: str = Field(description="System name from the catalog (see `neocloud schema` for the list).")
    nodes: int = Field(ge=1, le=100_000, description="Nodes that run work (not counting spares).")
    spares: int = Field(0, ge=0, le=10_000, description="Hot-spare nodes on top of `nodes`.")
    min_nodes: int | None = Field(
        None, ge=0, description="Autoscaling floor; 0 lets a non-prod pool scale to zero. Default: nodes + spares."
    )
    zone: str | None = Field(None, description="Availability zone; defaults to the cluster's `zone`.")
    capacity: Capacity = Field(default_factory=Capacity, description="Where the machines come from.")  # type: ignore[arg-type]
    price_per_gpu_hour: float | None = Field(
        None, gt=0, description="Your negotiated $/GPU-hour for the cost estimate; prices vary, so none is built in."
    )

    @property
    def total_nodes(self) -> int:
        """Nodes including hot spares."""
        return self.nodes + self.spares


class Racks(_Model):
    """Physical rack constraints (they matter for baremetal and for sizing power at a colocation)."""

    power_budget_kw: float | None = Field(
        None, gt=0, le=1000, description="IT power available per rack in kW; caps nodes per rack."
    )
    max_nodes_per_rack: int | None = Field(
        None, ge=1, le=64, description="Upper bound on nodes per rack (H100RA lays out 1, 2 or 4 DGX per rack)."
    )
    nodes_per_rack: int | None = Field(
        None, ge=1, le=64, description="Your fixed rack layout; default: as many as power, space and the bound allow. "
        "A layout over the power budget is reported by the rack-power-budget policy.",
    )
    rack_units: int = Field(42, ge=4, le=60, description="Usable rack units for GPU nodes per rack.")


class Fabric(_Model):
    """The compute (east-west) fabric."""

    kind: Literal["infiniband", "roce", "efa"] = Field(description="infiniband, roce (Spectrum-X) or efa (AWS).")
    switch: str = Field(
        "QM9700", description="Switch model from the catalog (QM9700, Q3400, SN5600); sets the radix."
    )
    radix: int | None = Field(
        None, ge=4, le=512, description="Override the switch's port count (must be even)."
    )
    nodes_per_su: int | None = Field(
        None, ge=1, le=4096, description="Nodes per scalable unit; default from the system (32 for DGX)."
    )
    oversubscription: float = Field(
        1.0, ge=1.0, le=8.0, description="Designed leaf downlink:uplink ratio; 1.0 is non-blocking."
    )
    max_oversubscription: float = Field(
        1.0, ge=1.0, le=8.0, description="Largest ratio the policies allow (fabric-nonblocking)."
    )
    management_ports: int = Field(
        0, ge=0, le=64, description="Leaf ports for the fabric manager (UFM takes 4 in H100RA's 31/127-node SUs)."
    )
    name: str | None = Field(
        None, description="The provider's fabric name (Nebius InfiniBand fabric, e.g. fabric-3)."
    )


class Filesystem(_Model):
    """The shared parallel filesystem."""

    kind: Literal["fsx-lustre", "nebius-shared", "coreweave-vast", "external"] = Field(
        description="fsx-lustre (AWS), nebius-shared, coreweave-vast, or external (yours; sized but not created)."
    )
    tier: Literal["good", "better", "best"] = Field(
        "better", description="H100RA Table 6 performance tier the filesystem is sized to."
    )
    capacity_tib: float | None = Field(None, gt=0, description="Capacity floor in TiB; default from the plan.")
    min_gbps_per_gpu: float | None = Field(
        None, gt=0, description="Read throughput floor per GPU in GB/s (checked by storage-throughput-per-gpu)."
    )


class Bucket(_Model):
    """An object-storage bucket."""

    purpose: Literal["datasets", "checkpoints", "artifacts"] = Field(description="What the bucket holds.")
    noncurrent_version_days: int = Field(
        30, ge=1, le=3650, description="Days to keep noncurrent object versions before expiry."
    )


class Checkpoint(_Model):
    """The training checkpoint the storage must absorb."""

    model_parameters_billion: float = Field(gt=0, le=100_000, description="Model size in billions of parameters.")
    bytes_per_parameter: float = Field(
        CHECKPOINT_BYTES_PER_PARAMETER, gt=0, le=64, description="Checkpoint bytes per parameter (16: weights + Adam)."
    )
    max_write_minutes: float = Field(10, gt=0, description="A full checkpoint must be written within this time.")
    retained: int = Field(3, ge=1, le=1000, description="Checkpoints kept on the filesystem.")


class Storage(_Model):
    """Storage: parallel filesystem, buckets and the checkpoint they must absorb."""

    filesystem: Filesystem | None = Field(None, description="The shared parallel filesystem (none: no filesystem).")
    buckets: list[Bucket] = Field(default_factory=list, description="Object-storage buckets, one per purpose.")
    checkpoint: Checkpoint | None = Field(None, description="The checkpoint the filesystem must absorb.")
    dataset_tib: float = Field(0, ge=0, description="Training data kept on the filesystem, in TiB.")


class Queue(_Model):
    """A team's queue: a Kueue ClusterQueue + LocalQueue and a tenant namespace."""

    team: Name = Field(description="Team name; becomes the namespace and the LocalQueue.")
    pool: str | None = Field(None, description="GPU pool the quota draws on; default: the first pool.")
    gpu_quota: int = Field(ge=0, description="Guaranteed GPUs (nominalQuota).")
    borrowing_limit: int | None = Field(None, ge=0, description="GPUs the team may borrow from its cohort.")
    cohort: Name = Field("default", description="Kueue cohort for borrowing.")
    workload: Literal["training", "inference"] = Field(
        "training", description="training queues require whole-node GPU requests."
    )
    group: str | None = Field(None, description="Identity-provider group bound to the team's Role.")


_HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""A Gateway API hostname: a lower-case DNS name, optionally with a leading wildcard label."""


class Backend(_Model):
    """An inference Service behind the traffic regulator."""

    service: Name = Field("inference", description="Service name in the team's namespace.")
    port: int = Field(
        8000, ge=1, le=65535, description="Service port (8000 is the default port of vLLM's OpenAI-compatible server)."
    )
    path_prefix: str = Field("/", pattern=r"^/[-A-Za-z0-9_./]*$", description="Path prefix routed to the Service.")


class TrafficRegulator(_Model):
    """Gateway in front of inference services: a rate limit and a slow-start window after an outage."""

    requests_per_second: int = Field(
        ge=1, description="Rate limit per route, in requests per second, enforced by each Envoy proxy replica."
    )
    slow_start_seconds: int = Field(60, ge=1, le=3600, description="Ramp-up window for endpoints that come back.")
    team: Name | None = Field(
        None, description="Team whose namespace holds the gateway and the inference Services it fronts; default: "
        "the first queue with workload inference.",
    )
    backends: list[Backend] = Field(
        default_factory=lambda: [Backend()], min_length=1, max_length=32,  # type: ignore[call-arg]
        description="Inference Services behind the gateway, one HTTPRoute each.",
    )
    hostnames: list[Annotated[str, Field(pattern=_HOSTNAME)]] = Field(
        default_factory=list, max_length=16, description="Host names the routes answer (empty: any host)."
    )
    listener_port: int = Field(80, ge=1, le=65535, description="HTTP port of the gateway listener.")


class Kubernetes(_Model):
    """The Kubernetes layer."""

    version: str = Field("1.33", pattern=r"^1\.(2[5-9]|3[0-7])$", description="Kubernetes minor, 1.25-1.37.")
    queues: list[Queue] = Field(default_factory=list, description="Team queues with GPU quotas.")
    traffic_regulator: TrafficRegulator | None = Field(
        None, description="Gateway rate limit and slow start for inference services (none: no gateway)."
    )
    acceptance_busbw_fraction: float = Field(
        0.8, gt=0, le=1,
        description="Node acceptance passes when NCCL all-reduce bus bandwidth reaches this fraction of the "
        "fabric line rate per node (NIC Gbit/s x rails, or EFA Gbit/s); a site choice, not a hardware fact.",
    )

    def regulated_team(self) -> str | None:
        """The team the traffic regulator fronts: its ``team``, else the first inference queue's team."""
        regulator = self.traffic_regulator
        if regulator is None:
            return None
        if regulator.team is not None:
            return regulator.team
        return next((q.team for q in self.queues if q.workload == "inference"), None)


class Power(_Model):
    """Power estimate settings."""

    pue: float = Field(DEFAULT_PUE, ge=1.0, le=3.0, description="Facility PUE (industry average ~1.56).")


class SystemOverride(_Model):
    """Values for catalog numbers that hardware.md does not verify (or that differ at your site)."""

    node_power_kw: float | None = Field(None, gt=0, le=200, description="Maximum power of one node in kW.")
    rack_units: int | None = Field(None, ge=1, le=60, description="Height of one node in rack units.")
    rack_power_kw: float | None = Field(None, gt=0, le=1000, description="Power of one whole NVL72 rack in kW.")
    nic_gbps: int | None = Field(None, ge=1, description="Line rate of one compute NIC in Gbit/s.")
    efa_network_cards: int | None = Field(None, ge=1, le=64, description="AWS: network cards (one EFA each).")
    nvlink_gbps_per_gpu: float | None = Field(None, gt=0, description="NVLink bandwidth per GPU in GB/s.")


class CatalogOverrides(_Model):
    """Per-system overrides of catalog numbers."""

    systems: dict[str, SystemOverride] = Field(
        default_factory=dict, description="Overrides by catalog system name (e.g. gb200-nvl72: {rack_power_kw: 120})."
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


Provider = Literal["aws", "nebius", "coreweave", "baremetal"]
Environment = Literal["dev", "staging", "prod"]


class ClusterSpec(_Model):
    """An AI GPU cluster."""

    name: Name = Field(description="Cluster name; prefixes every resource.")
    provider: Provider = Field(description="aws, nebius, coreweave or baremetal.")
    environment: Environment = Field(description="dev, staging or prod (prod protects stateful resources).")
    region: str | None = Field(None, description="Cloud region (required for aws, nebius, coreweave).")
    zone: str | None = Field(None, description="Default availability zone for pools.")
    pools: list[Pool] = Field(min_length=1, max_length=64, description="GPU pools.")
    racks: Racks = Field(default_factory=Racks, description="Rack power and space constraints.")  # type: ignore[arg-type]
    fabric: Fabric = Field(description="Compute fabric kind, switch, SU size and oversubscription.")
    storage: Storage = Field(default_factory=Storage, description="Filesystem, buckets and checkpoint.")
    kubernetes: Kubernetes = Field(
        default_factory=Kubernetes, description="Kubernetes version, team queues and the inference gateway."
    )
    power: Power = Field(default_factory=Power, description="PUE for the facility power estimate.")  # type: ignore[arg-type]
    catalog: CatalogOverrides = Field(
        default_factory=CatalogOverrides, description="Site values for catalog numbers hardware.md does not verify."
    )
    coreweave: CoreWeaveSettings = Field(
        default_factory=CoreWeaveSettings, description="provider coreweave: zone, org, instance types, CIDRs."
    )  # type: ignore[arg-type]
    nebius: NebiusSettings = Field(
        default_factory=NebiusSettings, description="provider nebius: project, platforms, CIDRs, node groups."
    )  # type: ignore[arg-type]
    aws: AwsSettings = Field(
        default_factory=AwsSettings, description="provider aws: VPC, EKS, placement blocks, quotas, FSx tier."
    )  # type: ignore[arg-type]

    def system(self, pool: Pool) -> System:
        """The pool's catalog system with this spec's overrides applied."""
        override = self.catalog.systems.get(pool.system)
        values = override.model_dump(exclude_none=True) if override else {}
        return system_with_overrides(pool.system, values)

    def pool_zone(self, pool: Pool) -> str | None:
        return pool.zone or self.zone

    @model_validator(mode="after")
    def _check_cross_field(self) -> ClusterSpec:
        for problem in _cross_field_problems(self):
            raise _PathProblem(*problem)
        return self


class _PathProblem(Exception):
    """Raised from the cross-field validator; not a ValueError, so pydantic lets it through with its path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message


def _cross_field_problems(spec: ClusterSpec) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    add = problems.append
    if spec.provider != "baremetal" and not spec.region:
        add(("region", f"required for provider '{spec.provider}'"))
    for name in spec.catalog.systems:
        if name not in SYSTEMS:
            add((f"catalog.systems.{name}", f"unknown system '{name}'; known: {', '.join(known_system_names())}"))
    switch = SWITCHES.get(spec.fabric.switch)
    if switch is None:
        add(("fabric.switch", f"unknown switch '{spec.fabric.switch}'; known: {', '.join(sorted(SWITCHES))}"))
    elif spec.fabric.kind == "infiniband" and switch.kind != "infiniband":
        add(("fabric.switch", f"'{switch.name}' is an Ethernet switch; infiniband needs one of "
             f"{', '.join(n for n, s in sorted(SWITCHES.items()) if s.kind == 'infiniband')}"))
    elif spec.fabric.kind == "roce" and switch.kind != "ethernet":
        add(("fabric.switch", f"'{switch.name}' is an InfiniBand switch; roce needs one of "
             f"{', '.join(n for n, s in sorted(SWITCHES.items()) if s.kind == 'ethernet')}"))
    if spec.fabric.radix is not None and spec.fabric.radix % 2:
        add(("fabric.radix", f"must be even (half the ports face down, half up); got {spec.fabric.radix}"))
    if spec.fabric.oversubscription > spec.fabric.max_oversubscription:
        add(("fabric.oversubscription", f"{spec.fabric.oversubscription:g} exceeds fabric.max_oversubscription "
             f"{spec.fabric.max_oversubscription:g}"))
    if (spec.fabric.kind == "efa") != (spec.provider == "aws"):
        add(("fabric.kind", f"'{spec.fabric.kind}' with provider '{spec.provider}'; "
             f"allowed: {'efa' if spec.provider == 'aws' else 'infiniband, roce'}"))
    seen: set[str] = set()
    for i, pool in enumerate(spec.pools):
        at = f"pools[{i}]"
        if pool.name in seen:
            add((f"{at}.name", f"duplicate pool name '{pool.name}'"))
        seen.add(pool.name)
        system = SYSTEMS.get(pool.system)
        if system is None:
            add((f"{at}.system", f"unknown system '{pool.system}'; known: {', '.join(known_system_names())}"))
            continue
        is_aws_system = system.kind in ("aws", "aws-ultraserver")
        if is_aws_system != (spec.provider == "aws"):
            allowed = [n for n, s in sorted(SYSTEMS.items())
                       if (s.kind in ("aws", "aws-ultraserver")) == (spec.provider == "aws")]
            add((f"{at}.system", f"'{pool.system}' is not available with provider '{spec.provider}'; "
                 f"allowed: {', '.join(allowed)}"))
        domain = system.nvlink_domain_nodes
        if domain > 1 and pool.total_nodes % domain:
            add((f"{at}.nodes", f"{pool.system} comes in whole NVLink domains of {domain} nodes; nodes + spares = "
                 f"{pool.total_nodes} is not a multiple of {domain}"))
        if pool.min_nodes is not None and pool.min_nodes > pool.total_nodes:
            add((f"{at}.min_nodes", f"{pool.min_nodes} exceeds nodes + spares = {pool.total_nodes}"))
        zone = spec.pool_zone(pool)
        if spec.provider == "aws":
            if not zone:
                add((f"{at}.zone", "an EFA pool lives in exactly one availability zone; set pools[].zone or zone"))
            elif spec.region and not zone.startswith(spec.region):
                add((f"{at}.zone", f"zone '{zone}' is not in region '{spec.region}'"))
        cap = pool.capacity
        if cap.source == "on-demand" and cap.reservation_ids:
            add((f"{at}.capacity.reservation_ids", "only for source reservation or capacity-block"))
        if cap.source != "on-demand":
            if spec.provider != "aws":
                add((f"{at}.capacity.source", f"'{cap.source}' is an AWS capacity source; allowed with "
                     f"'{spec.provider}': on-demand"))
            elif not cap.reservation_ids:
                add((f"{at}.capacity.reservation_ids", f"required for source '{cap.source}' (cr-...)"))
            elif cap.source == "capacity-block":
                room = len(cap.reservation_ids) * CAPACITY_BLOCK_MAX_INSTANCES
                if pool.total_nodes > room:
                    add((f"{at}.capacity.reservation_ids", f"{len(cap.reservation_ids)} Capacity Block(s) hold at "
                         f"most {room} instances (64 each); the pool needs {pool.total_nodes}"))
        sys_eff = spec.system(pool)
        missing = [f for f in sys_eff.unverified if f in _REQUIRED_BY_PROVIDER.get(spec.provider, ())]
        if missing:
            add((f"catalog.systems.{pool.system}.{missing[0]}", f"required: hardware.md does not verify "
                 f"{pool.system}'s {missing[0]}, so set it for this site"))
    pool_names = [p.name for p in spec.pools]
    teams: set[str] = set()
    for i, queue in enumerate(spec.kubernetes.queues):
        at = f"kubernetes.queues[{i}]"
        if queue.team in teams:
            add((f"{at}.team", f"duplicate team '{queue.team}'"))
        teams.add(queue.team)
        if queue.pool is not None and queue.pool not in pool_names:
            add((f"{at}.pool", f"unknown pool '{queue.pool}'; pools: {', '.join(pool_names)}"))
    fs = spec.storage.filesystem
    if fs is not None:
        allowed_fs = _FILESYSTEMS_BY_PROVIDER[spec.provider]
        if fs.kind not in allowed_fs:
            add(("storage.filesystem.kind", f"'{fs.kind}' with provider '{spec.provider}'; allowed: "
                 f"{', '.join(allowed_fs)}"))
    purposes = [b.purpose for b in spec.storage.buckets]
    for i, purpose in enumerate(purposes):
        if purposes.index(purpose) != i:
            add((f"storage.buckets[{i}].purpose", f"duplicate bucket purpose '{purpose}'"))
    problems.extend(_neocloud_problems(spec))
    problems.extend(_kubernetes_problems(spec))
    problems.extend(_aws_problems(spec))
    return problems


# A baremetal cluster needs real rack numbers; the clouds place racks themselves.
_REQUIRED_BY_PROVIDER: Mapping[str, tuple[str, ...]] = {
    "baremetal": ("node_power_kw", "rack_units", "rack_power_kw", "nic_gbps"),
    "coreweave": ("nic_gbps",),
    "nebius": ("nic_gbps",),
    "aws": ("efa_network_cards",),
}

_FILESYSTEMS_BY_PROVIDER: Mapping[str, tuple[str, ...]] = {
    "aws": ("fsx-lustre", "external"),
    "nebius": ("nebius-shared", "external"),
    "coreweave": ("coreweave-vast", "external"),
    "baremetal": ("external",),
}


def _kubernetes_problems(spec: ClusterSpec) -> list[tuple[str, str]]:
    """Checks for the Kubernetes layer: team quotas fit their pool's schedulable GPUs (spares excluded, as
    Kueue must not promise hot spares), and the traffic regulator fronts a known team."""
    problems: list[tuple[str, str]] = []
    add = problems.append
    queues = spec.kubernetes.queues
    pools = {p.name: p for p in spec.pools}
    quota: dict[str, int] = {}
    for queue in queues:
        pool = pools.get(queue.pool or spec.pools[0].name)
        if pool is not None:
            quota[pool.name] = quota.get(pool.name, 0) + queue.gpu_quota
    for name, total in quota.items():
        pool = pools[name]
        system = SYSTEMS.get(pool.system)
        if system is None:
            continue
        gpus = pool.nodes * system.gpus_per_node
        if total > gpus:
            add(("kubernetes.queues", f"gpu_quota of the queues on pool '{name}' sums to {total}, more than its "
                 f"{gpus} schedulable GPUs ({pool.nodes} nodes x {system.gpus_per_node}; spares excluded)"))
    regulator = spec.kubernetes.traffic_regulator
    if regulator is not None:
        teams = [q.team for q in queues]
        if regulator.team is not None and regulator.team not in teams:
            add(("kubernetes.traffic_regulator.team", f"unknown team '{regulator.team}'; teams: "
                 f"{', '.join(teams) or 'none'}"))
        elif regulator.team is None and not any(q.workload == "inference" for q in queues):
            add(("kubernetes.traffic_regulator.team", "required: no queue has workload inference"))
        services = [b.service for b in regulator.backends]
        for i, service in enumerate(services):
            if services.index(service) != i:
                add((f"kubernetes.traffic_regulator.backends[{i}].service", f"duplicate service '{service}' (one "
                     "HTTPRoute per Service)"))
    return problems


def _neocloud_problems(spec: ClusterSpec) -> list[tuple[str, str]]:
    """Checks for provider coreweave and nebius: every pool maps to a real machine, settings that the
    provider needs are present, and NVL72 pools keep to whole racks."""
    problems: list[tuple[str, str]] = []
    add = problems.append
    if spec.provider not in ("coreweave", "nebius"):
        return problems
    if spec.fabric.kind != "infiniband":
        add(("fabric.kind", f"'{spec.fabric.kind}' with provider '{spec.provider}'; this toolkit builds "
             f"{spec.provider} GPU pools on InfiniBand, so allowed: infiniband"))
    for i, pool in enumerate(spec.pools):
        system = SYSTEMS.get(pool.system)
        if system is None:
            continue
        domain = system.nvlink_domain_nodes
        if domain > 1 and pool.min_nodes not in (None, 0) and pool.min_nodes % domain:
            add((f"pools[{i}].min_nodes", f"{pool.system} scales in whole racks of {domain} nodes; "
                 f"{pool.min_nodes} is not a multiple of {domain}"))
        if spec.provider == "coreweave" and spec.coreweave.instance_type(pool.system) is None:
            add((f"coreweave.instance_types.{pool.system}", f"required: no verified CoreWeave instance type for "
                 f"{pool.system} (pools[{i}]); set the one your CoreWeave quota lists"))
        if spec.provider == "nebius" and spec.nebius.platform(pool.system) is None:
            add((f"nebius.platforms.{pool.system}", f"required: no verified Nebius platform and preset for "
                 f"{pool.system} (pools[{i}]); set them from `nebius compute platform list`"))
    settings_systems = (spec.coreweave.instance_types if spec.provider == "coreweave" else spec.nebius.platforms)
    section = spec.provider
    for name in settings_systems:
        if name not in SYSTEMS:
            add((f"{section}.{'instance_types' if section == 'coreweave' else 'platforms'}.{name}",
                 f"unknown system '{name}'; known: {', '.join(known_system_names())}"))
    fs = spec.storage.filesystem
    if fs is not None and fs.kind != "external" and not (
        fs.capacity_tib or spec.storage.dataset_tib or spec.storage.checkpoint
    ):
        add(("storage.filesystem.capacity_tib", f"required for '{fs.kind}': nothing sizes the filesystem; set "
             "capacity_tib, storage.dataset_tib or storage.checkpoint"))
    if spec.provider == "coreweave":
        if len(spec.name) > 26:
            add(("name", f"'{spec.name}' is {len(spec.name)} chars; CoreWeave VPC and CKS cluster names take at most "
                 "30, and the VPC is '<name>-vpc', so at most 26 with provider 'coreweave'"))
        if not (spec.coreweave.zone or spec.zone):
            add(("coreweave.zone", "required: the CoreWeave Availability Zone (e.g. US-EAST-04A); or set zone"))
        if spec.storage.buckets and not spec.coreweave.org_id:
            add(("coreweave.org_id", "required with storage.buckets: bucket policies deny principals outside "
                 "your organization"))
    else:
        if not spec.nebius.parent_id:
            add(("nebius.parent_id", "required: the Nebius project ID (project-...) that owns the resources"))
        if spec.fabric.kind == "infiniband" and not spec.fabric.name:
            add(("fabric.name", "required with provider 'nebius': the InfiniBand fabric the GPU cluster joins "
                 "(e.g. fabric-3; see the region's fabrics in the Nebius docs)"))
        if spec.environment == "prod" and not spec.nebius.api_allowed_cidrs:
            add(("nebius.api_allowed_cidrs", "required in prod: an empty list leaves the public Kubernetes API "
                 "open to the internet"))
    return problems


def _aws_problems(spec: ClusterSpec) -> list[tuple[str, str]]:
    """Checks for provider aws: the VPC can be cut into subnets, zones sit in the region, placement blocks fit
    a node group and hold whole NVLink domains, and reservation sizes name the pools' reservations."""
    problems: list[tuple[str, str]] = []
    add = problems.append
    if spec.provider != "aws":
        return problems
    aws = spec.aws
    network, _, prefix = aws.vpc_cidr.partition("/")
    octets = [int(o) for o in network.split(".")]
    if any(o > 255 for o in octets):
        add(("aws.vpc_cidr", f"'{aws.vpc_cidr}' is not an IPv4 network"))
    elif not 8 <= int(prefix) <= 20:
        add(("aws.vpc_cidr", f"prefix /{prefix} is outside /8 to /20 (AWS allows /16 to /28 per CIDR block; eight "
             "private slices of at least /23 need /20 or larger)"))
    elif (sum(o << (24 - 8 * i) for i, o in enumerate(octets)) & ((1 << (32 - int(prefix))) - 1)) != 0:
        add(("aws.vpc_cidr", f"'{aws.vpc_cidr}' has host bits set; use the network address"))
    for i, zone in enumerate(aws.zones):
        if spec.region and not zone.startswith(spec.region):
            add((f"aws.zones[{i}]", f"zone '{zone}' is not in region '{spec.region}'"))
    if aws.placement_block_nodes > aws.node_group_max_nodes:
        add(("aws.placement_block_nodes", f"{aws.placement_block_nodes} exceeds aws.node_group_max_nodes "
             f"{aws.node_group_max_nodes} (one placement block is one EKS managed node group)"))
    if spec.environment == "prod" and not aws.retain_stateful:
        add(("aws.retain_stateful", "prod keeps its data: retain_stateful must be true"))
    if spec.environment == "prod" and "0.0.0.0/0" in aws.api_public_cidrs:
        add(("aws.api_public_cidrs", "0.0.0.0/0 opens the prod Kubernetes API to the internet; list your "
             "networks, or leave it empty for a private endpoint"))
    reservations: set[str] = set()
    for i, pool in enumerate(spec.pools):
        reservations.update(pool.capacity.reservation_ids)
        system = SYSTEMS.get(pool.system)
        if system is None:
            continue
        domain = system.nvlink_domain_nodes
        if domain > 1 and pool.min_nodes not in (None, 0) and pool.min_nodes % domain:
            # A node group is one UltraServer: a floor inside one would keep part of an NVLink domain running.
            add((f"pools[{i}].min_nodes", f"{pool.system} scales in whole UltraServers of {domain} nodes; "
                 f"{pool.min_nodes} is not a multiple of {domain}"))
        if domain > aws.placement_block_nodes:
            add(("aws.placement_block_nodes", f"{aws.placement_block_nodes} splits pools[{i}]'s NVLink domains of "
                 f"{domain} nodes ({pool.system}); use at least {domain}"))
        if system.kind == "aws-ultraserver" and tuple(int(x) for x in spec.kubernetes.version.split(".")) < (1, 33):
            # EKS supports P6e-GB200 UltraServers from Kubernetes 1.33 (EKS user guide, ml-eks-nvidia-ultraserver).
            add(("kubernetes.version", f"{pool.system} (pools[{i}]) needs EKS 1.33 or later; got "
                 f"{spec.kubernetes.version}"))
        counts = [aws.reservation_instances[r] for r in pool.capacity.reservation_ids
                  if r in aws.reservation_instances]
        if len(counts) == len(pool.capacity.reservation_ids) and counts and sum(counts) < pool.total_nodes:
            add(("aws.reservation_instances", f"pools[{i}]'s reservations hold {sum(counts)} instances; the pool "
                 f"needs {pool.total_nodes} (nodes + spares)"))
        if pool.capacity.source == "capacity-block":
            for rid in pool.capacity.reservation_ids:
                if aws.reservation_instances.get(rid, 0) > CAPACITY_BLOCK_MAX_INSTANCES:
                    add((f"aws.reservation_instances.{rid}", f"{aws.reservation_instances[rid]} exceeds the "
                         f"{CAPACITY_BLOCK_MAX_INSTANCES} instances one Capacity Block holds"))
    for rid in aws.reservation_instances:
        if rid not in reservations:
            add((f"aws.reservation_instances.{rid}", f"'{rid}' is not in any pool's capacity.reservation_ids"))
    return problems


def _path(loc: tuple[int | str, ...]) -> str:
    out = CONFIG_KEY
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "").replace("-", "").isalnum():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model whose field list applies at ``loc`` (for 'unknown field' messages)."""
    model: Any = ClusterSpec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _error_line(error: Mapping[str, Any]) -> tuple[str, str]:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else "see `neocloud schema`"
        return _path(loc), f"unknown field {str(loc[-1])!r}; allowed: {allowed}"
    if kind == "missing":
        return _path(loc), "required"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "").replace(" or ", ", ")
        return _path(loc), f"got {error['input']!r}; allowed: {expected}"
    if kind == "string_pattern_mismatch":
        return _path(loc), f"got {error['input']!r}; {_describe_pattern(str(error['ctx']['pattern']))}"
    return _path(loc), f"{message[0].lower()}{message[1:]}" if message else kind


def _describe_pattern(pattern: str) -> str:
    return {
        _DNS_LABEL: "allowed: lower-case letters, digits and '-', starting with a letter, at most 32 chars",
        r"^cr-[0-9a-f]{8,17}$": "allowed: a capacity reservation id like cr-0123456789abcdef0",
        r"^1\.(2[5-9]|3[0-7])$": "allowed: a Kubernetes minor version from 1.25 to 1.37, e.g. '1.33'",
    }.get(pattern, f"must match {pattern}")


def load_cluster_spec(raw: object) -> ClusterSpec:
    """Validate raw config (the parsed ``neocloud:cluster`` object) into a ``ClusterSpec``.

    Raises ``SpecError`` whose message is one line: the config path, then what is wrong and what is allowed.
    """
    if not isinstance(raw, Mapping):
        raise SpecError(CONFIG_KEY, f"must be an object (a YAML mapping); got {type(raw).__name__}")
    try:
        return ClusterSpec.model_validate(raw)
    except _PathProblem as problem:
        raise SpecError(f"{CONFIG_KEY}.{problem.path}", problem.message) from None
    except ValidationError as exc:
        errors = exc.errors()
        path, message = _error_line(errors[0])
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SpecError(path, f"{message}{more}") from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the ``neocloud:cluster`` config value."""
    schema = ClusterSpec.model_json_schema()
    schema["$id"] = "https://neocloud.dev/schemas/cluster.json"
    schema["title"] = "neocloud:cluster"
    schema.setdefault("$defs", {})
    schema["x-neocloud-systems"] = known_system_names()
    schema["x-neocloud-switches"] = sorted(SWITCHES)
    schema["x-neocloud-gpus"] = sorted(GPUS)
    return schema

