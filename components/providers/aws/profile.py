"""Profile of provider ``aws`` (pure: no Pulumi): the ``aws`` settings section and its checks, EFA fabrics,
EC2 capacity sources, FSx for Lustre, the EKS Topology labels, and the resource types the policies read.

Sources are cited where each fact is used; the Pulumi code is in ``_build`` and the modules beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, time
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, Field

from neocloud._model import IPV4_CIDR, SettingsModel
from neocloud.aws_rules import (
    TAGS_PER_RESOURCE_MAX,
    bucket_name_problem,
    region_problem,
    tag_problem,
    zone_kind,
    zone_problem,
)
from neocloud.profiles import (
    BucketShape,
    JanitorSupport,
    NodeSetShape,
    Problem,
    ProviderProfile,
    RepairPath,
    ResourceTypes,
    TeamVolume,
    floor_problem,
)
from neocloud.vocabulary import GPU_CLIQUE, HOSTNAME, LABEL_NVLINK_DOMAIN, aws_layer_label

if TYPE_CHECKING:
    from neocloud.catalog import System
    from neocloud.plan import ClusterPlan, PoolPlan
    from neocloud.spec import ClusterSpec, Pool

__all__ = [
    "AWS_NETWORK_LAYERS",
    "CAPACITY_BLOCK_MAX_INSTANCES",
    "PROFILE",
    "VPC_SLICE_BITS",
    "AwsProfile",
    "AwsSettings",
    "EksLogType",
]

CAPACITY_BLOCK_MAX_INSTANCES = 64
"""One EC2 Capacity Block holds at most 64 instances (hardware.md AWS [P]/[S])."""
NEOCLOUD_TAGS_MAX = 20
"""Most tags neocloud itself puts on one resource (cluster, environment, pool, system, SU, block, zone, ...): the
rest of AWS's 50 per resource is left to ``aws.tags``."""
CAPACITY_BLOCK_END_UTC = time(11, 30)
""""Capacity Blocks end at 11:30AM Coordinated Universal Time (UTC)" (EC2 user guide, "Capacity Blocks for ML",
considerations)."""
CAPACITY_BLOCK_TERMINATION_MINUTES = {"aws": 30, "aws-ultraserver": 60}
"""EC2 begins terminating a Capacity Block's instances 30 minutes (instance types) or 60 minutes (UltraServer types)
before its end time (EC2 user guide, capacity-blocks-monitor), keyed by catalog system kind."""
EKS_CAPACITY_BLOCK_SCALEDOWN_MINUTES = 40
"""EKS's own scheduled action 'Amazon EKS Node Group Capacity Scaledown Before Reservation End' scales a Capacity
Block node group to 0 forty minutes before the reservation ends (EKS user guide, capacity-blocks-mng)."""

AWS_NETWORK_LAYERS = {"p6-b200.48xlarge": 4, "p6-b300.48xlarge": 4}
"""DescribeInstanceTopology layers where they are not 3 (hardware.md AWS [P])."""

EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_ACL = "aws:s3/bucketAcl:BucketAcl"
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
S3_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
LUSTRE = "aws:fsx/lustreFileSystem:LustreFileSystem"
EKS_ADDON = "aws:eks/addon:Addon"
FSX_CSI_DRIVER = "fsx.csi.aws.com"
"""The FSx for Lustre CSI driver's name (kubernetes-sigs/aws-fsx-csi-driver; the EKS add-on aws-fsx-csi-driver)."""
FSX_TEAM_VOLUME = TeamVolume(
    # Static provisioning of an existing file system (aws-fsx-csi-driver examples/kubernetes/static_provisioning:
    # a PersistentVolume with csi.driver fsx.csi.aws.com, volumeHandle = the FileSystemId, volumeAttributes dnsname
    # and mountname = the file system's DNSName and MountName, ReadWriteMany); the driver mounts
    # <dnsname>@tcp:/<mountname>, the file system's root. No class: the claim is pre-bound to its PV.
    mode="static", storage_class="", csi_driver=FSX_CSI_DRIVER, volume_attributes=("dnsname", "mountname"),
    installer=(EKS_ADDON, "addonName", "aws-fsx-csi-driver"),
    source="github.com/kubernetes-sigs/aws-fsx-csi-driver examples/kubernetes/static_provisioning; EKS user guide "
    "'Use high-performance app storage with Amazon FSx for Lustre' (aws-fsx-csi-driver add-on)",
)
EBS_VOLUME = "aws:ebs/volume:Volume"
EFS = "aws:efs/fileSystem:FileSystem"
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"
PLACEMENT_GROUP = "aws:ec2/placementGroup:PlacementGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"

EksLogType = Literal["api", "audit", "authenticator", "controllerManager", "scheduler"]
"""EKS control plane log types (EKS API, LogSetup.types)."""


def _default_eks_logs() -> list[EksLogType]:
    # API calls, audit trail and IAM authentication: who did what to the cluster.
    return ["api", "audit", "authenticator"]


class AwsSettings(SettingsModel):
    """Settings for ``provider: aws`` (VPC, EKS, GPU node groups, FSx for Lustre, S3).

    Quota defaults are AWS's published defaults; quotas are adjustable per account, so they are settings.
    """

    vpc_cidr: str = Field(
        "10.0.0.0/16", pattern=IPV4_CIDR,
        description="VPC CIDR, /8 to /20. It is cut into eight equal slices: one private subnet per zone (GPU "
        "pods take VPC IPs) and the last slice for the public (NAT) subnets.",
    )
    zones: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=6,
        description="Zones for the EKS control plane and the system node group, on top of the GPU pools' zones: "
        "Availability Zones of the region (e.g. us-east-1a). EKS needs subnets in at least two Availability "
        "Zones and never takes Local Zone subnets (a GPU pool may sit in a Local Zone such as us-east-1-dfw-2a); "
        "default: the GPU pools' Availability Zones plus the region's next zone letters (a, b, c...), so set this "
        "where those zone names do not exist in your account.",
    )
    api_public_cidrs: list[Annotated[str, Field(pattern=IPV4_CIDR)]] = Field(
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
        1, description="IMDSv2 response hop limit of every node: 1 (default) keeps instance metadata, and the node "
        "role's credentials, to the node and its host-network agents (EKS best practices, 'Restrict access to the "
        "instance profile assigned to the worker node'); platform workloads that call AWS get EKS Pod Identity "
        "roles. 2 lets every pod read the node role: set it only for an agent that cannot use Pod Identity.",
    )
    addon_versions: dict[str, str] = Field(
        default_factory=dict, description="EKS add-on name -> version to pin (vpc-cni, kube-proxy, coredns, "
        "eks-pod-identity-agent, aws-fsx-csi-driver); unset: EKS's default for the cluster's Kubernetes version.",
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
    capacity_block_end_times: dict[Annotated[str, Field(pattern=r"^cr-[0-9a-f]{8,17}$")], AwareDatetime] = Field(
        default_factory=dict,
        description="When each Capacity Block of a capacity-block pool ends (cr-... -> its EndDate with a time "
        "zone, e.g. 2027-01-08T11:30:00Z; DescribeCapacityReservations shows it). Required for every Capacity "
        "Block: its node group scales to zero capacity_block_drain_minutes before the end.",
    )
    capacity_block_drain_minutes: int = Field(
        90, ge=EKS_CAPACITY_BLOCK_SCALEDOWN_MINUTES + 1, le=24 * 60,
        description="Minutes before a Capacity Block ends that its node group is scaled to zero, so pods drain "
        "before EC2 reclaims the instances. EC2 starts terminating them 30 minutes (instances) or 60 minutes "
        "(UltraServers) before the end, and EKS's own scale-down runs 40 minutes before it: more than 40, and "
        "more than 60 for UltraServer pools.",
    )
    tags: dict[str, str] = Field(
        default_factory=dict, max_length=TAGS_PER_RESOURCE_MAX - NEOCLOUD_TAGS_MAX,
        description="Your tags on every AWS resource (cost allocation, ownership), through the provider's "
        "default tags. AWS limits: keys 1-128 and values up to 256 characters of letters, digits, spaces and "
        "_ . : / = + - @; no aws: prefix; 50 tags per resource, of which neocloud uses up to 20.",
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


VPC_SLICE_BITS = 3
"""The VPC is cut into 2**3 = 8 equal slices: up to 7 private subnets, the last slice for public subnets."""


EKS_NODE_GROUP_NAME_MAX = 63
"""Longest EKS managed node group name (EKS API, CreateNodegroup: nodegroupName) [P]."""
EKS_AUTONAME_SUFFIX = 8
"""'-' plus the 7 random characters Pulumi's auto-naming appends to a resource name (Pulumi docs) [P]."""


class AwsProfile(ProviderProfile):
    name = "aws"
    summary = "EFA GPU clusters on EKS: VPC, node groups per placement block, FSx for Lustre, S3."
    settings = AwsSettings
    settings_description = "provider aws: VPC, EKS, placement blocks, quotas, FSx tier."
    system_kinds = ("aws", "aws-ultraserver")
    fabric_kinds = ("efa",)
    capacity_sources = ("on-demand", "reservation", "capacity-block")
    filesystem_kinds = ("fsx-lustre", "external")
    # Every EFA number the build and the plan use: a system whose catalog entry leaves one unverified (p6e-gb200's
    # EFA cards, p6e-gb300's cards and rate) cannot plan until the site gives it.
    required_catalog_fields = ("efa_network_cards", "nic_gbps")
    zone_per_fabric_pool = True  # EFA instances belong in one AZ and one placement group (hardware.md AWS [P])
    # The VPC CNI enforces NetworkPolicy only when its EKS add-on sets enableNetworkPolicy (EKS user guide,
    # "Restrict Pod network traffic with Kubernetes network policies") [P]; components/providers/aws/addons.py.
    network_policy_enforcement = "addon"
    # "Amazon EKS supports P6e-GB200 UltraServers for Kubernetes versions 1.33 and above. This Kubernetes version
    # release provides support for Dynamic Resource Allocation, enabled by default in EKS and in the AL2023
    # EKS-optimized accelerated AMIs" (EKS user guide, ml-eks-nvidia-ultraserver, Considerations); the AMIs "do not
    # include ... the NVIDIA DRA driver", so the layer installs it (compute_domains stays "dra-driver").
    dra_kubernetes_from = "1.33"
    network_policy_addon = ("aws:eks/addon:Addon", "vpc-cni", "enableNetworkPolicy")
    repair = RepairPath(
        kind="node-auto-repair",
        summary="EKS node auto-repair on the GPU managed node groups (nodeRepairConfig): the EKS node monitoring "
        "agent's AcceleratedHardwareReady condition makes EKS reboot or replace the instance",
        source="docs.aws.amazon.com/eks/latest/userguide/node-repair.html",
    )
    janitor = JanitorSupport(
        csp="aws", enabled=False,
        reason="NVSentinel's Janitor supports AWS, but it executes the RebootNode/TerminateNode requests that "
        "fault-remediation creates, and fault-remediation is off here because EKS node auto-repair is the repair "
        "path: one repair loop per node (two would reboot or replace the same instance). Turning it on would also "
        "need cert-manager (the Janitor Provider's TLS, a documented required dependency) and an IAM role for the "
        "Janitor Provider pod",
    )
    # AWS Deep Learning Container for EC2/EKS: PyTorch with the EFA installer and NCCL's EFA transport
    # (aws-ofi-nccl, the libnccl-ofi package in its release notes); listed in aws/deep-learning-containers
    # available_images.md as pytorch-training:2.7.1-gpu-py312-cu128-ubuntu22.04-ec2. The NGC image has no EFA
    # transport, so no EFA node would pass acceptance with it.
    acceptance_image = "public.ecr.aws/deep-learning-containers/pytorch-training:2.7.1-gpu-py312-cu128-ubuntu22.04-ec2"
    resource_types: ClassVar[ResourceTypes] = ResourceTypes(
        node_sets=(NodeSetShape(
            type=EKS_NODE_GROUP, kind="node group", labels=("labels",), taints=("taints",),
            sizes=(("scalingConfig", "minSize"), ("scalingConfig", "desiredSize"), ("scalingConfig", "maxSize")),
            floor=("scalingConfig.minSize",),
            # NodeGroup nodeRepairConfig.enabled (EKS API NodeRepairConfig; EKS user guide, node-repair).
            auto_repair=("nodeRepairConfig", "enabled"),
        ),),
        buckets=(BucketShape(
            type=S3_BUCKET, kind="S3 bucket", name_input="bucket", versioning_types=(S3_VERSIONING,),
            versioning_inline=(("versioning", "enabled"), True), policy_types=(S3_POLICY,),
            public_access_block_types=(S3_PUBLIC_ACCESS_BLOCK,), acl_types=(S3_ACL,), canned_acl_input="acl",
            lifecycle_types=(S3_LIFECYCLE,),
        ),),
        stateful=(LUSTRE, S3_BUCKET, EBS_VOLUME, EKS_CLUSTER, EFS),
        other={"launch_template": LAUNCH_TEMPLATE, "instance": INSTANCE, "subnet": SUBNET,
               "placement_group": PLACEMENT_GROUP, "security_group": SECURITY_GROUP, "sg_rule": SG_RULE,
               "sg_ingress": SG_INGRESS, "sg_egress": SG_EGRESS, "s3_encryption": S3_ENCRYPTION},
    )

    def team_volume(self, spec: ClusterSpec) -> TeamVolume | None:
        fs = spec.storage.filesystem
        if fs is not None and fs.kind == "fsx-lustre":
            return FSX_TEAM_VOLUME
        return super().team_volume(spec)

    def gpu_driver_preinstalled(self, spec: ClusterSpec) -> bool:
        # The EKS optimized accelerated AMIs carry the NVIDIA driver and container toolkit (Amazon EKS user
        # guide, "Amazon EKS optimized accelerated Amazon Linux AMIs").
        return True

    def pool_problems(self, spec: ClusterSpec, index: int, pool: Pool, system: System) -> Iterable[Problem]:
        at = f"pools[{index}]"
        zone = spec.pool_zone(pool)
        if not zone:
            yield (f"{at}.zone", "an EFA pool lives in exactly one availability zone; set pools[].zone or zone")
        elif problem := zone_problem(zone, spec.region):
            # A free-text zone would fail at CreateSubnet, after the VPC exists; the zone must be its region's.
            yield (f"{at}.zone" if pool.zone else "zone", problem)
        cap = pool.capacity
        if cap.source != "on-demand":
            if not cap.reservation_ids:
                yield (f"{at}.capacity.reservation_ids", f"required for source '{cap.source}' (cr-...)")
            elif cap.source == "capacity-block":
                room = len(cap.reservation_ids) * CAPACITY_BLOCK_MAX_INSTANCES
                if pool.total_nodes > room:
                    yield (f"{at}.capacity.reservation_ids", f"{len(cap.reservation_ids)} Capacity Block(s) hold at "
                           f"most {room} instances (64 each); the pool needs {pool.total_nodes}")

    def problems(self, spec: ClusterSpec) -> Iterable[Problem]:
        """The VPC can be cut into subnets, zones sit in the region, placement blocks fit a node group and hold
        whole NVLink domains, and reservation sizes name the pools' reservations."""
        from neocloud.catalog import SYSTEMS

        problems: list[Problem] = []
        add = problems.append
        aws: AwsSettings = self.settings_of(spec)
        network, _, prefix = aws.vpc_cidr.partition("/")
        octets = [int(o) for o in network.split(".")]
        if any(o > 255 for o in octets):
            add(("aws.vpc_cidr", f"'{aws.vpc_cidr}' is not an IPv4 network"))
        elif not 8 <= int(prefix) <= 20:
            add(("aws.vpc_cidr", f"prefix /{prefix} is outside /8 to /20 (AWS allows /16 to /28 per CIDR block; eight "
                 "private slices of at least /23 need /20 or larger)"))
        elif (sum(o << (24 - 8 * i) for i, o in enumerate(octets)) & ((1 << (32 - int(prefix))) - 1)) != 0:
            add(("aws.vpc_cidr", f"'{aws.vpc_cidr}' has host bits set; use the network address"))
        # Free-text regions and zones fail at the first API call, after other resources exist: the region must be
        # one the AWS SDK's endpoint metadata knows, every zone one of its Availability Zones or Local Zones.
        if spec.region and (problem := region_problem(spec.region)):
            add(("region", problem))
        for i, zone in enumerate(aws.zones):
            if problem := zone_problem(zone, spec.region):
                add((f"aws.zones[{i}]", problem))
            elif spec.region and zone_kind(zone, spec.region) == "local-zone":
                # EKS user guide, local-zones: "you must not specify Local Zone subnets when you create your
                # cluster"; aws.zones exist for the control plane and the system nodes.
                add((f"aws.zones[{i}]", f"'{zone}' is a Local Zone; EKS cannot place its control plane there, and "
                     "aws.zones are control-plane zones: list Availability Zones (a GPU pool may use a Local Zone)"))
        if spec.region and not problems:
            # Checked with the spec, not when the network is built: no resource is registered before a config
            # error. The zones are planned in neocloud.plan.placement (the network reads the plan).
            from neocloud.plan.placement import plan_zones

            zones = plan_zones(region=spec.region, gpu_zones=[z for p in spec.pools if (z := spec.pool_zone(p))],
                               extra_zones=aws.zones)
            if len(zones.all) > 2**VPC_SLICE_BITS - 1:
                add(("aws.zones", f"{len(zones.all)} zones (GPU pools' and aws.zones) exceed the "
                     f"{2**VPC_SLICE_BITS - 1} private subnets the VPC is cut into"))
        for key, value in aws.tags.items():
            if problem := tag_problem(key, value):
                add((f"aws.tags.{key[:40]}", problem))
        if spec.storage.buckets:
            # Buckets are auto-named '<cluster>-<purpose>-' plus 7 random characters (Pulumi auto-naming); the
            # cluster name starts the bucket name, so S3's reserved prefixes apply to it.
            for i, bucket in enumerate(spec.storage.buckets):
                example = f"{spec.name}-{bucket.purpose}-{'0' * (EKS_AUTONAME_SUFFIX - 1)}"
                if problem := bucket_name_problem(example):
                    add(("name", f"the cluster name starts the S3 bucket names (storage.buckets[{i}]: "
                         f"'{spec.name}-{bucket.purpose}-xxxxxxx'): {problem}"))
                    break
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
            # A node group is one UltraServer: a floor inside one would keep part of an NVLink domain running.
            if floor := floor_problem(i, pool, system):
                add(floor)
            domain = system.nvlink_domain_nodes
            if domain > aws.placement_block_nodes:
                add(("aws.placement_block_nodes", f"{aws.placement_block_nodes} splits pools[{i}]'s NVLink domains of "
                     f"{domain} nodes ({pool.system}); use at least {domain}"))
            # UltraServers' Kubernetes floor (EKS 1.33) is dra_kubernetes_from: one number, checked by the spec's
            # DRA rule for every multi-node NVLink pool.
            counts = [aws.reservation_instances[r] for r in pool.capacity.reservation_ids
                      if r in aws.reservation_instances]
            if len(counts) == len(pool.capacity.reservation_ids) and counts and sum(counts) < pool.total_nodes:
                add(("aws.reservation_instances", f"pools[{i}]'s reservations hold {sum(counts)} instances; the pool "
                     f"needs {pool.total_nodes} (nodes + spares)"))
            if pool.capacity.source == "capacity-block":
                for j, rid in enumerate(pool.capacity.reservation_ids):
                    if aws.reservation_instances.get(rid, 0) > CAPACITY_BLOCK_MAX_INSTANCES:
                        add((f"aws.reservation_instances.{rid}", f"{aws.reservation_instances[rid]} exceeds the "
                             f"{CAPACITY_BLOCK_MAX_INSTANCES} instances one Capacity Block holds"))
                    end = aws.capacity_block_end_times.get(rid)
                    if end is None:
                        # The node group must scale to zero before the block ends (EKS user guide,
                        # capacity-blocks-mng); the end is a fact of the reservation, never guessed.
                        add(("aws.capacity_block_end_times", f"required for Capacity Block '{rid}' "
                             f"(pools[{i}].capacity.reservation_ids[{j}]): its EndDate, e.g. 2027-01-08T11:30:00Z"))
                    elif end.astimezone(UTC).time() != CAPACITY_BLOCK_END_UTC:
                        add((f"aws.capacity_block_end_times.{rid}", f"{end.isoformat()} is not a Capacity Block end: "
                             f"blocks end at {CAPACITY_BLOCK_END_UTC:%H:%M} UTC (EC2 user guide, Capacity Blocks)"))
                terminating = CAPACITY_BLOCK_TERMINATION_MINUTES.get(system.kind, 30)
                if aws.capacity_block_drain_minutes <= terminating:
                    add(("aws.capacity_block_drain_minutes", f"{aws.capacity_block_drain_minutes} minutes: EC2 starts "
                         f"terminating {pool.system} Capacity Block instances {terminating} minutes before the end "
                         f"(pools[{i}]); use more than {terminating}"))
        # EKS node group names take at most 63 characters (EKS API, CreateNodegroup: nodegroupName) [P]; the
        # program names each block's group '<cluster>-<pool>-b<block>-ng' and Pulumi's auto-naming appends '-' and
        # 7 random characters (Pulumi docs, "Resource names", auto-naming) [P].
        for i, pool in enumerate(spec.pools):
            # An upper bound on the pool's blocks before the plan cuts them (neocloud.plan.placement): runs of the
            # block size, plus a cut at each reservation and, for blocks smaller than an SU, at each SU boundary.
            system = SYSTEMS.get(pool.system)
            su = spec.fabric.nodes_per_su or (system.default_nodes_per_su if system else pool.total_nodes)
            blocks = (-(-pool.total_nodes // aws.placement_block_nodes) + len(pool.capacity.reservation_ids)
                      + (-(-pool.total_nodes // max(su, 1)) if aws.placement_block_nodes < su else 0))
            longest = f"{spec.name}-{pool.name}-b{blocks - 1}-ng"
            length = len(longest) + EKS_AUTONAME_SUFFIX
            if length > EKS_NODE_GROUP_NAME_MAX:
                room = EKS_NODE_GROUP_NAME_MAX - length + len(spec.name) + len(pool.name)
                add((f"pools[{i}].name", f"EKS node group '{longest}-xxxxxxx' would be {length} characters; EKS "
                     f"allows {EKS_NODE_GROUP_NAME_MAX}: shorten the cluster or pool name (together at most {room})"))
        for rid in aws.reservation_instances:
            if rid not in reservations:
                add((f"aws.reservation_instances.{rid}", f"'{rid}' is not in any pool's capacity.reservation_ids"))
        capacity_blocks = {r for p in spec.pools if p.capacity.source == "capacity-block"
                           for r in p.capacity.reservation_ids}
        for rid in aws.capacity_block_end_times:
            if rid not in capacity_blocks:
                add((f"aws.capacity_block_end_times.{rid}", f"'{rid}' is not a Capacity Block of any capacity-block "
                     "pool's capacity.reservation_ids"))
        return problems

    def plan_placement(self, spec: ClusterSpec, pools: Sequence[PoolPlan]) -> Any:
        """Zones and placement blocks (``neocloud.plan.placement``), decided with the plan."""
        from neocloud.plan.placement import plan_placement

        return plan_placement(spec, pools)

    def topology_levels(self, plan: ClusterPlan, pool: PoolPlan) -> tuple[str, ...]:
        """EKS labels nodes ``topology.k8s.aws/network-node-layer-N`` from DescribeInstanceTopology: 3 layers for
        p4d, p4de, p5, p5e, p5en and p6e-gb200, 4 for p6-b200 and p6-b300 (hardware.md AWS [P]), layer 1 the
        farthest from the instance. An UltraServer (p6e-gb200) is one NVLink domain (AWS-EKS [P]); how its
        instances sit under the network layers is not documented, so its levels are the NVLink domain (our
        ``neocloud.io/nvlink-domain`` label, set per UltraServer node group), GPU Feature Discovery's
        ``nvidia.com/gpu.clique`` ("Nodes within the same nvidia.com/gpu.clique have multi-node
        NVLink-reachability", EKS user guide, ml-eks-nvidia-ultraserver) and the host."""
        if pool.system.kind == "aws-ultraserver":
            return (LABEL_NVLINK_DOMAIN, GPU_CLIQUE, HOSTNAME)
        layers = AWS_NETWORK_LAYERS.get(pool.system.name, 3)
        return (*(aws_layer_label(i) for i in range(1, layers + 1)), HOSTNAME)

    def su_groups(self, spec: ClusterSpec, pool: PoolPlan, placement: Any = None) -> tuple[tuple[int, int], ...]:
        """On AWS a node group's ``neocloud.io/su`` label is its placement block's ``su`` (the plan SU that holds the
        block's first node; several blocks may share one: ``neocloud.plan.placement``), so the groups node
        acceptance must select are the plan's blocks merged by that label."""
        from neocloud.plan.placement import PlacementPlan

        if not isinstance(placement, PlacementPlan):
            raise TypeError(f"pool {pool.name}: the AWS SU groups come from the plan's placement blocks")
        nodes: dict[int, int] = {}
        for block in placement.blocks[pool.name]:
            nodes[block.su] = nodes.get(block.su, 0) + block.nodes
        return tuple(sorted(nodes.items()))


PROFILE = AwsProfile()
