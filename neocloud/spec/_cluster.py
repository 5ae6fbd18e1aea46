"""``ClusterSpec`` and the checks that span fields (each names the full config path it rejects)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import Field, create_model, model_validator

from ..catalog import SWITCHES, SYSTEMS, System, known_system_names, system_with_overrides
from ..profiles import ProviderProfile, all_profiles, dra_problem, profile, provider_names
from ..vocabulary import PLATFORM_NAMESPACES, RESERVED_NAMESPACES
from ._base import (
    Name,
    _Model,
    _PathProblem,
)
from ._sections import (
    CatalogOverrides,
    Fabric,
    Goodput,
    Kubernetes,
    Pool,
    Power,
    Queue,
    Racks,
    Storage,
)

Environment = Literal["dev", "staging", "prod"]
_Settings = TypeVar("_Settings", bound=_Model)


def _provider_list() -> str:
    names = provider_names()
    return f"{', '.join(names[:-1])} or {names[-1]}"


class _ClusterSpecBase(_Model):
    """An AI GPU cluster."""

    name: Name = Field(description="Cluster name; prefixes every resource.")
    provider: str = Field(description=f"{_provider_list()}.")
    environment: Environment = Field(description="dev, staging or prod (prod protects stateful resources).")
    region: str | None = Field(None, description="Cloud region (required for "
                               f"{', '.join(p.name for p in all_profiles() if p.requires_region)}).")
    zone: str | None = Field(None, description="Default availability zone for pools.")
    pools: list[Pool] = Field(min_length=1, max_length=64, description="GPU pools.")
    racks: Racks = Field(default_factory=Racks, description="Rack power and space constraints.")  # type: ignore[arg-type]
    fabric: Fabric = Field(description="Compute fabric kind, switch, SU size and oversubscription.")
    storage: Storage = Field(default_factory=Storage, description="Filesystem, buckets and checkpoint.")
    goodput: Goodput = Field(
        default_factory=Goodput, description="Failure rate, restart and replacement times for goodput planning."
    )
    kubernetes: Kubernetes = Field(
        default_factory=Kubernetes, description="Kubernetes version, team queues and the inference gateway."
    )
    power: Power = Field(default_factory=Power, description="PUE for the facility power estimate.")  # type: ignore[arg-type]
    catalog: CatalogOverrides = Field(
        default_factory=CatalogOverrides, description="Site values for catalog numbers hardware.md does not verify."
    )
    def system(self, pool: Pool) -> System:
        """The pool's catalog system with this spec's overrides applied."""
        override = self.catalog.systems.get(pool.system)
        values = override.model_dump(exclude_none=True) if override else {}
        return system_with_overrides(pool.system, values)

    def pool_zone(self, pool: Pool) -> str | None:
        return pool.zone or self.zone

    def queue_pool(self, queue: Queue) -> str:
        """The pool a team queue draws on: its ``pool``, else the first pool. The ONE place this default is
        decided: the spec's quota check, the plan's team queues (``plan_team_queues``) and through them the
        Kubernetes layer, the cluster facts and the policies read the resolved name, never default it again."""
        return queue.pool or self.pools[0].name

    @property
    def profile(self) -> ProviderProfile:
        """What neocloud knows about this spec's provider (``neocloud.profiles``)."""
        return profile(self.provider)

    def settings_of(self, model: type[_Settings]) -> _Settings:
        """The provider settings section of type ``model`` (e.g. ``spec.settings_of(AwsSettings)``)."""
        for p in all_profiles():
            if p.settings is model:
                section = getattr(self, p.name)
                assert isinstance(section, model)
                return section
        raise KeyError(f"no registered provider has settings {model.__name__}")

    @model_validator(mode="after")
    def _check_cross_field(self) -> ClusterSpec:
        for problem in _cross_field_problems(self):
            raise _PathProblem(*problem)
        return self



def _provider_sections() -> dict[str, Any]:
    """One spec section per provider that has settings, named after it (``neocloud:cluster.<provider>``)."""
    return {
        p.name: (p.settings, Field(default_factory=p.settings, description=p.settings_description))
        for p in all_profiles() if p.settings is not None
    }


if TYPE_CHECKING:
    ClusterSpec = _ClusterSpecBase
else:
    ClusterSpec = create_model(
        "ClusterSpec", __base__=_ClusterSpecBase, __module__=__name__, __doc__=_ClusterSpecBase.__doc__,
        provider=(Literal[provider_names()], Field(description=f"{_provider_list()}.")),
        **_provider_sections(),
    )


def _cross_field_problems(spec: ClusterSpec) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    add = problems.append
    provider = spec.profile
    if provider.requires_region and not spec.region:
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
    if spec.fabric.kind not in provider.fabric_kinds:
        add(("fabric.kind", f"'{spec.fabric.kind}' with provider '{spec.provider}'; {provider.fabric_note}"
             f"allowed: {', '.join(provider.fabric_kinds)}"))
    seen: set[str] = set()
    booked: dict[str, int] = {}
    """Reservation id -> index of the pool that books it."""
    for i, pool in enumerate(spec.pools):
        at = f"pools[{i}]"
        if pool.name in seen:
            add((f"{at}.name", f"duplicate pool name '{pool.name}'"))
        seen.add(pool.name)
        system = SYSTEMS.get(pool.system)
        if system is None:
            add((f"{at}.system", f"unknown system '{pool.system}'; known: {', '.join(known_system_names())}"))
            continue
        vendor = system.gpu_vendor
        if missing_stack := provider.gpu_stack_missing(system):
            usable = [n for n, s in sorted(SYSTEMS.items())
                      if provider.accepts_system(s) and not provider.gpu_stack_missing(s)]
            add((f"{at}.system", f"'{pool.system}' has {vendor.name.upper()} {system.gpu} GPUs ({vendor.resource}); "
                 f"{missing_stack}, so no pod could be scheduled on them; allowed: {', '.join(usable)}"))
        elif not provider.accepts_system(system):
            allowed = [n for n, s in sorted(SYSTEMS.items()) if provider.accepts_system(s)]
            add((f"{at}.system", f"'{pool.system}' is not available with provider '{spec.provider}'; "
                 f"allowed: {', '.join(allowed)}"))
        domain = system.nvlink_domain_nodes
        if domain > 1 and pool.total_nodes % domain:
            add((f"{at}.nodes", f"{pool.system} comes in whole NVLink domains of {domain} nodes; nodes + spares = "
                 f"{pool.total_nodes} is not a multiple of {domain}"))
        if pool.min_nodes is not None and pool.min_nodes > pool.total_nodes:
            add((f"{at}.min_nodes", f"{pool.min_nodes} exceeds nodes + spares = {pool.total_nodes}"))
        cap = pool.capacity
        if cap.source == "on-demand" and cap.reservation_ids:
            add((f"{at}.capacity.reservation_ids", "only for source reservation or capacity-block"))
        # Capacity is booked once: a reservation listed twice, or by two pools, would plan (and pay for) the same
        # instances twice, and the second node group could never launch them.
        for j, rid in enumerate(cap.reservation_ids):
            if cap.reservation_ids.index(rid) != j:
                add((f"{at}.capacity.reservation_ids[{j}]", f"'{rid}' is listed twice; each reservation once"))
            elif rid in booked:
                add((f"{at}.capacity.reservation_ids[{j}]", f"'{rid}' is already pools[{booked[rid]}]'s capacity; "
                     f"a reservation backs one pool"))
            else:
                booked[rid] = i
        if cap.source not in provider.capacity_sources:
            offered_by = [p.name for p in all_profiles() if cap.source in p.capacity_sources]
            add((f"{at}.capacity.source", f"'{cap.source}' is a capacity source of {', '.join(offered_by)}, not of "
                 f"'{spec.provider}'; allowed with '{spec.provider}': {', '.join(provider.capacity_sources)}"))
        problems.extend(provider.pool_problems(spec, i, pool, system))
        sys_eff = spec.system(pool)
        missing = [f for f in sys_eff.unverified if f in provider.required_catalog_fields]
        if missing:
            add((f"catalog.systems.{pool.system}.{missing[0]}", f"required: hardware.md does not verify "
                 f"{pool.system}'s {missing[0]}, so set it for this site"))
    pool_names = [p.name for p in spec.pools]
    teams: set[str] = set()
    for i, queue in enumerate(spec.kubernetes.queues):
        at = f"kubernetes.queues[{i}]"
        if queue.team in teams:
            add((f"{at}.team", f"duplicate team '{queue.team}'"))
        if queue.team in RESERVED_NAMESPACES or queue.team.startswith("kube-"):
            # A team's name is its namespace: Kubernetes reserves default and the kube- prefix ("Namespaces":
            # avoid the kube- prefix, reserved for Kubernetes system namespaces), and the layer runs its own
            # operators and node acceptance in the platform namespaces.
            add((f"{at}.team", f"'{queue.team}' is a system or platform namespace; a team may not take it over "
                 f"(reserved: default, kube-*, {', '.join(sorted(PLATFORM_NAMESPACES))})"))
        teams.add(queue.team)
        if queue.pool is not None and queue.pool not in pool_names:
            add((f"{at}.pool", f"unknown pool '{queue.pool}'; pools: {', '.join(pool_names)}"))
    fs = spec.storage.filesystem
    if fs is not None and fs.kind not in provider.filesystem_kinds:
        add(("storage.filesystem.kind", f"'{fs.kind}' with provider '{spec.provider}'; allowed: "
             f"{', '.join(provider.filesystem_kinds)}"))
    if fs is not None and fs.storage_class is not None and fs.kind != "external":
        add(("storage.filesystem.storage_class", f"only for kind external; a '{fs.kind}' filesystem is mounted the "
             "way its provider documents"))
    if (fs is not None and fs.kind == "external" and fs.storage_class is None
            and any(q.workload == "training" for q in spec.kubernetes.queues)):
        # Every training team gets a mountable claim on the filesystem in its own namespace: for a filesystem the
        # stack does not create, only the site knows the StorageClass that mounts it.
        add(("storage.filesystem.storage_class", "required for an external filesystem with training queues: the "
             "StorageClass (ReadWriteMany) that mounts it, so each training team gets a claim in its namespace"))
    purposes = [b.purpose for b in spec.storage.buckets]
    for i, purpose in enumerate(purposes):
        if purposes.index(purpose) != i:
            add((f"storage.buckets[{i}].purpose", f"duplicate bucket purpose '{purpose}'"))
    problems.extend(provider.problems(spec))
    problems.extend(_kubernetes_problems(spec))
    return problems


def _kubernetes_problems(spec: ClusterSpec) -> list[tuple[str, str]]:
    """Checks for the Kubernetes layer: team quotas fit their pool's schedulable GPUs (spares excluded, as
    Kueue must not promise hot spares), and the traffic regulator fronts a known team."""
    problems: list[tuple[str, str]] = []
    add = problems.append
    if dra := dra_problem(spec):
        add(dra)
    queues = spec.kubernetes.queues
    pools = {p.name: p for p in spec.pools}
    quota: dict[str, int] = {}
    for queue in queues:
        pool = pools.get(spec.queue_pool(queue))
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
