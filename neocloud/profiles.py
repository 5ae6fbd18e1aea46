"""Provider profiles: each provider's knowledge in one place, and the registry that lists them.

A profile (``ProviderProfile``) is the pure part of a provider package, ``components/providers/<name>/profile.py``:
its spec settings section and their cross-field validation, the systems, fabrics, capacity sources and
filesystems it offers, what the platform manages itself (GPU drivers, fabric drivers, the GPU stack), the
Kubernetes Topology levels its nodes are labelled with, and the resource types the policies read (node sets,
buckets, stateful resources). The spec, the Kubernetes layer and the policies ask the profile; none of them
compares provider names.

Adding a provider: write ``components/providers/<name>/`` (``profile.py`` with ``PROFILE``, Pulumi code with
``build``), a stack, its tests, and ONE line in ``REGISTRY`` below (docs/neoclouds.md has the recipe).

No Pulumi here or in a profile: ``neocloud.spec`` (the domain core) and the policy pack import them. A profile
imports only this module, ``neocloud._model``, ``neocloud.catalog`` and ``neocloud.vocabulary`` at module level
(``neocloud.spec`` collects the profiles while it loads, so a profile that imported the spec would be a cycle).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from ._model import SettingsModel
from .vocabulary import GPU_CLIQUE, HOSTNAME, LABEL_NVLINK_DOMAIN, LABEL_RACK, LABEL_SU, RDMA_SHARED_DEVICE_RESOURCE

if TYPE_CHECKING:
    from .catalog import System
    from .plan import ClusterPlan, PoolPlan
    from .spec import ClusterSpec, Pool

__all__ = [
    "JANITOR_CSPS",
    "NO_JANITOR",
    "REGISTRY",
    "BucketShape",
    "JanitorSupport",
    "NodeSetShape",
    "Problem",
    "ProviderProfile",
    "RepairPath",
    "ResourceTypes",
    "TeamVolume",
    "all_profiles",
    "dra_problem",
    "floor_problem",
    "one_su_group",
    "profile",
    "provider_names",
    "sized_filesystem_problem",
    "union",
    "unknown_system_problems",
]

REGISTRY: Mapping[str, str] = {
    "aws": "components.providers.aws.profile",
    "nebius": "components.providers.nebius.profile",
    "coreweave": "components.providers.coreweave.profile",
    "baremetal": "components.providers.baremetal.profile",
    "digitalocean": "components.providers.digitalocean.profile",
    "lambda": "components.providers.lambda_cloud.profile",  # `lambda` is a Python keyword
}
"""Provider name -> the module whose ``PROFILE`` describes it. One line per provider."""

Problem = tuple[str, str]
"""A spec problem: (config path below ``neocloud:cluster``, one-line message)."""


@dataclass(frozen=True)
class NodeSetShape:
    """A resource type that stands for a set of identical nodes, and where its inputs keep their node labels,
    taints and size bounds (policies read node sets through this, never by type name)."""

    type: str
    """Pulumi type token, e.g. ``aws:eks/nodeGroup:NodeGroup``."""
    kind: str
    """What the provider calls it, for messages ("node group", "NodePool")."""
    labels: tuple[str, ...]
    """Path of the node-label map in the resource's inputs."""
    taints: tuple[str, ...]
    """Path of the node-taint list in the resource's inputs."""
    sizes: tuple[tuple[str, ...], ...]
    """Paths of the size fields (each reported as its dotted path)."""
    floor: tuple[str, ...]
    """Dotted size paths whose first present value is the node set's lower bound."""
    auto_repair: tuple[str, ...] = ()
    """Path of the boolean that turns on the platform's node auto-repair for this node set (empty: none)."""


@dataclass(frozen=True)
class BucketShape:
    """A bucket resource type and how its privacy and versioning are expressed (inline or in related
    resources whose ``bucket`` input is the bucket)."""

    type: str
    kind: str = "bucket"
    """What messages call it ("S3 bucket")."""
    name_input: str = "name"
    """Input that holds the bucket's name (related resources point at it)."""
    versioning_types: tuple[str, ...] = ()
    """Related resources with ``versioningConfiguration.status``."""
    versioning_inline: tuple[tuple[str, ...], Any] | None = None
    """(input path, value) that marks the bucket itself versioned."""
    policy_types: tuple[str, ...] = ()
    """Related bucket-policy resources (``policy`` input: a JSON policy document)."""
    public_access_block_types: tuple[str, ...] = ()
    """Related public-access-block resources; a bucket type that has them must have one."""
    acl_types: tuple[str, ...] = ()
    """Related ACL resources."""
    canned_acl_input: str | None = None
    """Input of the bucket's own canned ACL, where it has one."""
    lifecycle_types: tuple[str, ...] = ()
    """Related lifecycle resources that can expire noncurrent versions."""


@dataclass(frozen=True)
class ResourceTypes:
    """The resource types of a provider that the policies read."""

    node_sets: tuple[NodeSetShape, ...] = ()
    buckets: tuple[BucketShape, ...] = ()
    stateful: tuple[str, ...] = ()
    """Types that hold data or cluster state (protected in prod)."""
    other: Mapping[str, str] = field(default_factory=dict)
    """Further types some rule reads, by role (e.g. ``launch_template``)."""

    def all(self) -> set[str]:
        types = {s.type for s in self.node_sets} | set(self.stateful) | set(self.other.values())
        for b in self.buckets:
            types |= {b.type, *b.versioning_types, *b.policy_types, *b.public_access_block_types, *b.acl_types,
                      *b.lifecycle_types}
        return types


@dataclass(frozen=True, slots=True)
class RepairPath:
    """How a provider repairs a GPU node that NVSentinel quarantined and drained."""

    kind: str
    """``node-auto-repair`` (the node group repairs or replaces it), ``platform`` (the provider's own automation)
    or ``remediation-request`` (NVSentinel's fault-remediation files a maintenance request for a repair
    system)."""
    summary: str
    source: str
    """The provider documentation that says so."""

    @property
    def nvsentinel_remediation(self) -> bool:
        """Whether NVSentinel's fault-remediation module files the request (no platform repair loop)."""
        return self.kind == "remediation-request"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "summary": self.summary, "source": self.source}


@dataclass(frozen=True, slots=True)
class TeamVolume:
    """How a training team mounts the stack's shared filesystem from its own namespace, as the provider documents
    it. The Kubernetes layer builds it (one claim per training team) without knowing the provider; policy
    team-filesystem-claims checks what it built against it.

    - ``static``: a PersistentVolume per team namespace, pre-bound to the team's claim (``claimRef`` +
      ``volumeName``): a PV binds to exactly one PVC (Kubernetes "Persistent Volumes", Binding), so one PV cannot
      serve two namespaces. ``persistentVolumeReclaimPolicy: Retain``: deleting a claim never touches the filesystem.
    - ``dynamic``: the team's claim names ``storage_class``, whose provisioner creates the volume.
    """

    mode: str
    """``static`` or ``dynamic``."""
    storage_class: str
    """The class the claim names (static: the PV carries the same class, so only that PV can bind the claim)."""
    source: str
    """The provider documentation of this way of mounting."""
    csi_driver: str | None = None
    """static: the PV's ``csi.driver``."""
    volume_attributes: tuple[str, ...] = ()
    """static: the ``csi.volumeAttributes`` keys the driver needs."""
    installer: tuple[str, str, Any] | None = None
    """(resource type, dotted input path, value) of the resource that installs the driver or provisioner in the
    cluster, where the stack installs it (``None``: the platform runs it)."""
    mount_options: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "storage_class": self.storage_class, "source": self.source,
                "csi_driver": self.csi_driver, "volume_attributes": list(self.volume_attributes),
                "installer": None if self.installer is None else list(self.installer),
                "mount_options": list(self.mount_options)}


REMEDIATION_REQUEST = RepairPath(
    kind="remediation-request",
    summary="NVSentinel's fault-remediation creates a maintenance custom resource (RebootNode, TerminateNode, "
    "GPUReset) after quarantine and drain; the site's break-fix system acts on it",
    source="docs.nvidia.com/nvsentinel/v1.30.0/configuration/fault-remediation",
)
"""The default: no platform repair loop, so NVSentinel files an external remediation request."""

JANITOR_CSPS: tuple[str, ...] = ("aws", "gcp", "azure", "oci")
"""Clouds whose reboot/terminate API NVSentinel's Janitor can call through its Janitor Provider: "authenticated
calls to the cloud provider (AWS, GCP, Azure, OCI)" (docs.nvidia.com/nvsentinel/components/janitor, "Why Do You
Need This?")."""


@dataclass(frozen=True, slots=True)
class JanitorSupport:
    """Whether NVSentinel's Janitor (the executor of fault-remediation's RebootNode/TerminateNode requests through a
    cloud API) can serve a provider, whether the layer turns it on, and why."""

    csp: str | None
    """The Janitor Provider backend for this provider (one of ``JANITOR_CSPS``), or ``None``: none documented."""
    enabled: bool
    """The layer sets ``global.janitor.enabled``."""
    reason: str
    """Why it is on or off, and what repairs instead."""

    def to_dict(self) -> dict[str, Any]:
        return {"csp": self.csp, "enabled": self.enabled, "reason": self.reason}


NO_JANITOR = JanitorSupport(
    csp=None, enabled=False,
    reason="NVSentinel's Janitor documents cloud backends for AWS, GCP, Azure and OCI only; fault-remediation's "
    "maintenance request is left for the site's break-fix system (external remediation)",
)
"""Providers without a documented Janitor backend: bare metal (no cloud API), DigitalOcean, Lambda, Nebius."""

NGC_PYTORCH_IMAGE = "nvcr.io/nvidia/pytorch:25.08-py3"
"""NGC PyTorch container: PyTorch, NCCL and the InfiniBand verbs userspace (NCCL's IB transport, also used for
RoCE). Not for EFA: it lacks NCCL's EFA transport (aws-ofi-nccl)."""


class ProviderProfile:
    """What neocloud knows about one provider. Subclass it in the provider's ``profile.py`` and override what
    differs; the defaults describe a managed-Kubernetes neocloud on InfiniBand or RoCE."""

    name: ClassVar[str]
    """The ``provider`` value in the spec."""
    summary: ClassVar[str]
    """One line for docs and the spec's field description."""
    settings: ClassVar[type[SettingsModel] | None] = None
    """The spec section named after the provider (``neocloud:cluster.<name>``), if it has settings."""
    settings_description: ClassVar[str] = ""
    component_module: ClassVar[str] = ""
    """The module with ``build(ctx)`` (default: the profile's package)."""

    requires_region: ClassVar[bool] = True
    physical_racks: ClassVar[bool] = False
    """The operator builds the racks (rack power and units come from the plan, not from the cloud)."""
    system_kinds: ClassVar[tuple[str, ...]] = ("dgx", "hgx", "nvl72-rack", "amd")
    """Catalog system kinds the provider can run."""
    fabric_kinds: ClassVar[tuple[str, ...]] = ("infiniband", "roce")
    fabric_note: ClassVar[str] = ""
    """Why only these fabrics, put before 'allowed:' in the error."""
    capacity_sources: ClassVar[tuple[str, ...]] = ("on-demand",)
    filesystem_kinds: ClassVar[tuple[str, ...]] = ("external",)
    required_catalog_fields: ClassVar[tuple[str, ...]] = ()
    """Catalog fields the provider's build needs even where hardware.md does not verify them (site values)."""
    installs_fabric_driver: ClassVar[bool] = False
    """The Network Operator installs the DOCA/MOFED driver (no node image ships it)."""
    platform_manages_gpu_stack: ClassVar[bool] = False
    """The platform runs the GPU Operator, Network Operator and device plugins itself."""
    managed_gpu_vendors: ClassVar[tuple[str, ...]] = ()
    """GPU vendors (``catalog.GPU_VENDORS`` keys) whose GPU stack -- driver, device plugin advertising the vendor's
    resource -- the platform manages itself on its GPU nodes. A vendor whose stack this toolkit cannot install
    (``GpuVendor.missing``: AMD) is only accepted where it is listed here."""
    nvlink_domain_labels: ClassVar[tuple[str, ...]] = (GPU_CLIQUE,)
    """Node labels whose value names a node's multi-node NVLink partition (the Topology level a one-domain workload
    is required to stay in): GPU Feature Discovery's ``nvidia.com/gpu.clique``, the real partition, which NVIDIA's
    DRA driver and the providers document (``neocloud.vocabulary.GPU_CLIQUE``)."""
    platform_node_labels: ClassVar[tuple[str, ...]] = ()
    """Node labels the platform itself puts on its GPU nodes (beyond those of the node sets the program
    creates), so Topology levels may use them (policy topology-labels-consistent)."""
    compute_domains: ClassVar[str] = "dra-driver"
    """Who gives multi-node NVLink pools IMEX (NVIDIA ComputeDomains): ``dra-driver`` (the Kubernetes layer installs
    NVIDIA's DRA driver for GPUs) or ``platform`` (the provider runs it on its clusters)."""
    dra_kubernetes_from: ClassVar[str] = "1.34"
    """The first Kubernetes minor whose clusters on this provider serve Dynamic Resource Allocation
    (``resource.k8s.io``) with the DynamicResourceAllocation feature gate on, which ComputeDomains need. Default:
    upstream Kubernetes, where DRA is GA and on by default from 1.34; 1.32 and 1.33 need the gate enabled on the API
    server, scheduler, controller manager and every kubelet (k8s-dra-driver-gpu docs/prerequisites.md, "Enable DRA
    on Kubernetes v1.32 and v1.33"), which this toolkit cannot check on a cluster it does not create."""
    control_plane_nodes: ClassVar[bool] = False
    """The control plane runs on Kubernetes nodes (``node-role.kubernetes.io/control-plane``) where cluster
    controllers may be placed; managed Kubernetes (EKS, CKS, mk8s) has none."""
    network_policy_enforcement: ClassVar[str] = "operator"
    """Who makes the cluster's CNI enforce NetworkPolicy (policy tenant-default-deny): ``platform`` (the provider's
    CNI always does), ``addon`` (only where the stack's ``network_policy_addon`` enables it), or ``operator`` (not
    knowable from the stack: the stack's policy config must name the enforcing CNI the operator verified)."""
    network_policy_addon: ClassVar[tuple[str, str, str] | None] = None
    """(resource type, addon name, configuration-values key) of the add-on whose key must be ``"true"`` for the CNI
    to enforce NetworkPolicy, where ``network_policy_enforcement`` is ``addon``."""
    platform_device_resources: ClassVar[tuple[str, ...]] = ()
    """Extended resources the platform's own device plugins advertise on its GPU nodes (where it manages the GPU
    stack); policy workloads-admissible counts them as advertised."""
    bills_idle_nodes: ClassVar[bool] = True
    """Idle GPU nodes cost money (owned racks do not: non-prod pools there need not scale to zero)."""
    scale_to_zero_advice: ClassVar[str] = "set pools[].min_nodes: 0"
    """How a non-prod pool stops billing while idle (policy dev-scales-to-zero's advice): an autoscaling floor of 0
    where node groups autoscale."""
    zone_per_fabric_pool: ClassVar[bool] = False
    """A fabric pool must name its zone (policy single-zone-fabric): the fabric does not span zones."""
    resource_types: ClassVar[ResourceTypes] = ResourceTypes()
    secret_config: ClassVar[tuple[str, ...]] = ()
    """Stack config keys that hold credentials: the program refuses them unless set with ``--secret``."""
    repair: ClassVar[RepairPath] = REMEDIATION_REQUEST
    """Who repairs a quarantined GPU node (NVSentinel is wired to it)."""
    janitor: ClassVar[JanitorSupport] = NO_JANITOR
    """Whether NVSentinel's Janitor executes the repair through the provider's cloud API."""
    acceptance_image: ClassVar[str] = NGC_PYTORCH_IMAGE
    """Default node-acceptance image: it must carry the NCCL network transport of the provider's fabric."""

    def gpu_driver_preinstalled(self, spec: ClusterSpec) -> bool:
        """Whether the nodes' image already carries the GPU driver and container toolkit."""
        return False

    def fabric_resource(self, spec: ClusterSpec) -> str | None:
        """The extended resource a pod requests for the RDMA fabric NICs (InfiniBand/RoCE HCAs; a catalog system
        that fixes its own, EFA, says so in ``System.nic_resource``). Default: the resource of the RDMA shared device
        plugin config the Kubernetes layer's NicClusterPolicy installs; a platform that runs its own plugin returns
        its name (``None``: not known)."""
        return RDMA_SHARED_DEVICE_RESOURCE

    def accepts_system(self, system: System) -> bool:
        return system.kind in self.system_kinds

    def gpu_stack_missing(self, system: System) -> str | None:
        """Why no pod could be scheduled on ``system``'s GPUs with this provider (``None``: the toolkit or the
        platform gives them their driver and device plugin)."""
        vendor = system.gpu_vendor
        if vendor.missing is None or vendor.name in self.managed_gpu_vendors:
            return None
        return f"{vendor.missing} and provider '{self.name}' does not manage it"

    def pool_problems(self, spec: ClusterSpec, index: int, pool: Pool, system: System) -> Iterable[Problem]:
        """Checks of one pool (``pools[index]``) that only this provider makes."""
        return ()

    def problems(self, spec: ClusterSpec) -> Iterable[Problem]:
        """Cross-field checks of this provider's settings against the rest of the spec."""
        return ()

    def plan_placement(self, spec: ClusterSpec, pools: Sequence[PoolPlan]) -> Any:
        """Where this provider puts the pools, when neocloud decides it (``ClusterPlan.placement``): ``None`` by
        default (the provider places nodes itself). Called by the planner; components read the result."""
        return None

    def topology_levels(self, plan: ClusterPlan, pool: PoolPlan) -> tuple[str, ...]:
        """The node labels of ``pool``'s Kueue Topology, widest first, ending with ``kubernetes.io/hostname``.

        Default: our own labels (the provider module sets them per node set): ``neocloud.io/su``, then the
        NVLink domain where it spans nodes (NVL72) and its partition (``nvidia.com/gpu.clique``, so a workload can
        require one; Kueue's ``kueue.x-k8s.io/podset-required-topology`` names a level) or the rack where racks
        are planned, then the host."""
        if pool.system.nvlink_domain_nodes > 1:
            # The plan's NVLink domain, then the real NVLink partition GPU Feature Discovery labels, inside it.
            return (LABEL_SU, LABEL_NVLINK_DOMAIN, GPU_CLIQUE, HOSTNAME)
        if pool.racks.groups:
            return (LABEL_SU, LABEL_RACK, HOSTNAME)
        return (LABEL_SU, HOSTNAME)

    def team_volume(self, spec: ClusterSpec) -> TeamVolume | None:
        """How training teams mount ``spec``'s shared filesystem in their namespaces (``None``: no filesystem, or no
        documented way). Default: an ``external`` filesystem through the StorageClass the site configured
        (``storage.filesystem.storage_class``); providers override this for the filesystems they create."""
        fs = spec.storage.filesystem
        if fs is None or fs.kind != "external" or fs.storage_class is None:
            return None
        return TeamVolume(mode="dynamic", storage_class=fs.storage_class,
                          source="the site's StorageClass (storage.filesystem.storage_class)")

    def su_groups(self, spec: ClusterSpec, pool: PoolPlan, placement: Any = None) -> tuple[tuple[int, int], ...]:
        """The ``neocloud.io/su`` node groups of ``pool`` as ``(label value, nodes)``, spares included: which nodes
        the provider's node sets label with which SU value. The planner asks this once (``PoolPlan.su_groups``);
        the provider's node sets, node acceptance and the policies read the plan's answer. ``placement`` is the
        plan's ``ClusterPlan.placement`` (this profile's ``plan_placement``), for providers that place node groups.

        Default: the plan's own SUs (the operator labels each node with its SU: bare metal)."""
        return tuple((u.index, u.nodes) for u in pool.scalable_units)

    def settings_of(self, spec: ClusterSpec) -> Any:
        """This provider's settings section of ``spec``."""
        return getattr(spec, self.name)

    @property
    def build_module(self) -> str:
        """The module with ``build(ctx)``: ``component_module``, else the package the profile lives in."""
        return self.component_module or type(self).__module__.rpartition(".")[0]


def one_su_group(pool: PoolPlan) -> tuple[tuple[int, int], ...]:
    """One ``neocloud.io/su`` group (value 0) for the whole pool: providers whose pool is one node set that carries
    one label map for all its nodes (a DOKS node pool, a CoreWeave NodePool, a Lambda instance group)."""
    return ((0, pool.total_nodes),)


def floor_problem(index: int, pool: Pool, system: System) -> Problem | None:
    """Cloud pools of multi-node NVLink domains scale in whole domains: an autoscaling floor inside one would keep
    part of a rack (NVL72) or UltraServer running."""
    domain = system.nvlink_domain_nodes
    if domain > 1 and pool.min_nodes not in (None, 0) and pool.min_nodes % domain:
        unit = "UltraServers" if system.kind == "aws-ultraserver" else "racks"
        return (f"pools[{index}].min_nodes", f"{pool.system} scales in whole {unit} of {domain} nodes; "
                f"{pool.min_nodes} is not a multiple of {domain}")
    return None


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def dra_problem(spec: ClusterSpec) -> Problem | None:
    """Multi-node NVLink pools need IMEX through NVIDIA's ComputeDomains, which need Kubernetes DRA: a
    ``kubernetes.version`` older than the provider's ``dra_kubernetes_from`` cannot run them."""
    from .catalog import SYSTEMS

    p = spec.profile
    for i, pool in enumerate(spec.pools):
        system = SYSTEMS.get(pool.system)
        if system is None or system.nvlink_domain_nodes <= 1:
            continue
        need = p.dra_kubernetes_from
        if _minor(spec.kubernetes.version) < _minor(need):
            return ("kubernetes.version", f"'{spec.kubernetes.version}' cannot run pools[{i}] ({pool.system}): its "
                    f"multi-node NVLink needs IMEX through NVIDIA ComputeDomains, which need Kubernetes Dynamic "
                    f"Resource Allocation (resource.k8s.io) served and enabled; with provider '{p.name}' that is "
                    f"{need} or later; allowed: {need} to 1.37")
    return None


@cache
def all_profiles() -> tuple[ProviderProfile, ...]:
    """Every registered profile, in registry order."""
    out = []
    for name, module_name in REGISTRY.items():
        found = getattr(importlib.import_module(module_name), "PROFILE", None)
        if not isinstance(found, ProviderProfile) or found.name != name:
            raise TypeError(f"{module_name}.PROFILE must be a ProviderProfile named {name!r}")
        out.append(found)
    return tuple(out)


def provider_names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def profile(name: str) -> ProviderProfile:
    """The profile of provider ``name`` (the spec has already refused unknown names)."""
    for p in all_profiles():
        if p.name == name:
            return p
    raise KeyError(f"unknown provider {name!r}; known: {', '.join(REGISTRY)}")


def union(pick: Callable[[ProviderProfile], Iterable[str]]) -> tuple[str, ...]:
    """The values ``pick`` gives for every profile, without duplicates, in registry order."""
    return tuple(dict.fromkeys(v for p in all_profiles() for v in pick(p)))


def unknown_system_problems(path: str, names: Iterable[str]) -> list[Problem]:
    """Keys of a provider's by-system map (``<path>.<system>``) that are not catalog systems."""
    from .catalog import SYSTEMS, known_system_names

    return [(f"{path}.{name}", f"unknown system '{name}'; known: {', '.join(known_system_names())}")
            for name in names if name not in SYSTEMS]


def sized_filesystem_problem(spec: ClusterSpec) -> Problem | None:
    """A provider-made filesystem needs a size: its own ``capacity_tib``, the datasets, or the checkpoint."""
    fs = spec.storage.filesystem
    if fs is not None and fs.kind != "external" and not (
        fs.capacity_tib or spec.storage.dataset_tib or spec.storage.checkpoint
    ):
        return ("storage.filesystem.capacity_tib", f"required for '{fs.kind}': nothing sizes the filesystem; set "
                "capacity_tib, storage.dataset_tib or storage.checkpoint")
    return None
