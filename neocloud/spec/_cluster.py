"""``ClusterSpec`` and the checks that span fields (each names the full config path it rejects)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from pydantic import Field, model_validator

from ..catalog import SWITCHES, SYSTEMS, System, known_system_names, system_with_overrides
from ._base import (
    CAPACITY_BLOCK_MAX_INSTANCES,
    Name,
    _Model,
    _PathProblem,
)
from ._providers import (
    AwsSettings,
    CoreWeaveSettings,
    NebiusSettings,
)
from ._sections import (
    CatalogOverrides,
    Fabric,
    Kubernetes,
    Pool,
    Power,
    Racks,
    Storage,
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
    "baremetal": ("node_power_kw", "rack_power_kw", "nic_gbps"),
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


def _add_floor_problem(index: int, pool: Pool, system: System, add: Callable[[tuple[str, str]], None]) -> None:
    """Cloud pools of multi-node NVLink domains scale in whole domains: an autoscaling floor inside one would keep
    part of a rack (NVL72) or UltraServer running."""
    domain = system.nvlink_domain_nodes
    if domain > 1 and pool.min_nodes not in (None, 0) and pool.min_nodes % domain:
        unit = "UltraServers" if system.kind == "aws-ultraserver" else "racks"
        add((f"pools[{index}].min_nodes", f"{pool.system} scales in whole {unit} of {domain} nodes; "
             f"{pool.min_nodes} is not a multiple of {domain}"))


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
        _add_floor_problem(i, pool, system, add)
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
        # A node group is one UltraServer: a floor inside one would keep part of an NVLink domain running.
        _add_floor_problem(i, pool, system, add)
        domain = system.nvlink_domain_nodes
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
