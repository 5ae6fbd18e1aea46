"""The whole-cluster plan: every pool's SUs, racks, NVLink domains, fabric, power and cost, plus storage."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from ..catalog import SWITCHES, System
from ..errors import CONFIG_KEY, SpecError
from ..spec import ClusterSpec, Pool
from .cost import PoolCost, pool_cost
from .fabric import FabricPlan, fabric_for_system
from .goodput import FailureModel, PoolGoodput, plan_goodput
from .power import PoolPower, pool_power
from .racks import RackLayout, ScalableUnit, plan_racks, plan_scalable_units
from .storage import StoragePlan, size_storage

__all__ = ["ClusterPlan", "PoolPlan", "build_plan"]


@dataclass(frozen=True, slots=True)
class PoolPlan:
    """Everything decided about one GPU pool."""

    name: str
    index: int
    """Position in ``pools`` (config path ``pools[index]``)."""
    system: System
    zone: str | None
    capacity_source: str
    reservation_ids: tuple[str, ...]
    nodes: int
    """Nodes that run work."""
    spares: int
    min_nodes: int
    """Autoscaling floor (0 = scales to zero)."""
    nodes_per_su: int
    scalable_units: tuple[ScalableUnit, ...]
    racks: RackLayout
    fabric: FabricPlan | None
    """The compute fabric we build (``None`` on EFA, where AWS builds it, and for systems without compute-fabric NICs,
    catalog ``rails`` 0)."""
    power: PoolPower
    cost: PoolCost
    goodput: PoolGoodput | None = None
    """Failure plan: interruptions, checkpoint interval, expected goodput, spares (set once storage is sized)."""
    su_groups: tuple[tuple[int, int], ...] = ()
    """``(neocloud.io/su label value, nodes)`` of the node groups the provider labels (its profile's
    ``su_groups``: the plan's SUs on bare metal, placement blocks on AWS, one group per node pool on DOKS). Decided
    here once; provider node sets, node acceptance and policies read it."""

    @property
    def total_nodes(self) -> int:
        return self.nodes + self.spares

    @property
    def gpus(self) -> int:
        """Schedulable GPUs (spares excluded)."""
        return self.nodes * self.system.gpus_per_node

    @property
    def total_gpus(self) -> int:
        return self.total_nodes * self.system.gpus_per_node

    @property
    def nvlink_domains(self) -> int:
        return self.total_nodes // self.system.nvlink_domain_nodes

    @property
    def nvlink_domain_gpus(self) -> int:
        return self.system.gpus_per_nvlink_domain

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "system": self.system.name,
            "gpu": self.system.gpu,
            "zone": self.zone,
            "capacity": {"source": self.capacity_source, "reservation_ids": list(self.reservation_ids)},
            "nodes": self.nodes,
            "spares": self.spares,
            "total_nodes": self.total_nodes,
            "min_nodes": self.min_nodes,
            "gpus": self.gpus,
            "total_gpus": self.total_gpus,
            "gpus_per_node": self.system.gpus_per_node,
            "rails": self.system.rails,
            "nvlink_domain_gpus": self.nvlink_domain_gpus,
            "nvlink_domains": self.nvlink_domains,
            "nodes_per_su": self.nodes_per_su,
            "scalable_units": [asdict(u) for u in self.scalable_units],
            "su_groups": [{"index": index, "nodes": nodes} for index, nodes in self.su_groups],
            "racks": {
                "count": self.racks.racks,
                "nodes_per_rack": self.racks.nodes_per_rack,
                "basis": self.racks.basis,
                "groups": [asdict(g) for g in self.racks.groups],
            },
            "fabric": None if self.fabric is None else self.fabric.to_dict(),
            "power": self.power.to_dict(),
            "cost": self.cost.to_dict(),
            "goodput": None if self.goodput is None else self.goodput.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    """The plan for a whole cluster: deterministic, JSON-serializable (``to_dict``)."""

    name: str
    provider: str
    environment: str
    region: str | None
    fabric_kind: str
    pools: tuple[PoolPlan, ...]
    storage: StoragePlan
    pue: float
    rack_power_budget_kw: float | None = None
    """The spec's racks.power_budget_kw (what the text output compares each rack against)."""
    filesystem_kind: str | None = None
    """The spec's storage.filesystem.kind (``None``: no shared filesystem, so no throughput targets to meet)."""
    placement: Any = None
    """Where the provider places the pools, decided here once (AWS: ``placement.PlacementPlan``, the zones and
    every pool's placement blocks; ``None`` where the provider places nodes itself)."""

    @property
    def gpus(self) -> int:
        return sum(p.gpus for p in self.pools)

    @property
    def total_gpus(self) -> int:
        return sum(p.total_gpus for p in self.pools)

    @property
    def nodes(self) -> int:
        return sum(p.total_nodes for p in self.pools)

    @property
    def racks(self) -> int:
        return sum(p.racks.racks for p in self.pools)

    @property
    def it_kw(self) -> float:
        return round(sum(p.power.it_kw for p in self.pools), 3)

    @property
    def facility_kw(self) -> float:
        return round(sum(p.power.facility_kw for p in self.pools), 3)

    def pool(self, name: str) -> PoolPlan:
        return next(p for p in self.pools if p.name == name)

    def to_dict(self) -> dict[str, Any]:
        costs = [p.cost.per_hour for p in self.pools]
        priced = all(c is not None for c in costs)
        return {
            "name": self.name,
            "provider": self.provider,
            "environment": self.environment,
            "region": self.region,
            "fabric_kind": self.fabric_kind,
            "filesystem_kind": self.filesystem_kind,
            "rack_power_budget_kw": self.rack_power_budget_kw,
            "gpus": self.gpus,
            "total_gpus": self.total_gpus,
            "nodes": self.nodes,
            "racks": self.racks,
            "power_kw": {"it": self.it_kw, "facility": self.facility_kw, "pue": self.pue},
            "cost": {
                "per_hour": round(sum(c or 0 for c in costs), 2) if priced else None,
                "per_month": round(sum(p.cost.per_month or 0 for p in self.pools), 2) if priced else None,
            },
            "pools": [p.to_dict() for p in self.pools],
            "storage": self.storage.to_dict(),
            "placement": None if self.placement is None else self.placement.to_dict(),
        }


def build_plan(spec: ClusterSpec) -> ClusterPlan:
    """Plan a validated spec. Raises ``SpecError`` for inputs that only planning can reject, naming the config
    path as spec errors do (``neocloud:cluster.fabric.nodes: ...``)."""
    try:
        return _build_plan(spec)
    except SpecError as error:
        if error.path.startswith(CONFIG_KEY):
            raise
        raise SpecError(f"{CONFIG_KEY}.{error.path}", error.message) from None


def _build_plan(spec: ClusterSpec) -> ClusterPlan:
    pools = tuple(_plan_pool(spec, i, pool) for i, pool in enumerate(spec.pools))
    fs = spec.storage.filesystem
    ckpt = spec.storage.checkpoint
    storage = size_storage(
        gpus=sum(p.gpus for p in pools),
        tier=fs.tier if fs else "better",
        filesystem=fs is not None,
        min_gbps_per_gpu=fs.min_gbps_per_gpu if fs else None,
        capacity_floor_tib=fs.capacity_tib if fs else None,
        dataset_tib=spec.storage.dataset_tib,
        checkpoint_parameters_billion=ckpt.model_parameters_billion if ckpt else None,
        checkpoint_bytes_per_parameter=ckpt.bytes_per_parameter if ckpt else None,
        checkpoint_max_write_minutes=ckpt.max_write_minutes if ckpt else None,
        checkpoints_retained=ckpt.retained if ckpt else 1,
        # Each training team gets a claim on the filesystem (its share of the capacity, by GPU quota).
        team_quotas={q.team: q.gpu_quota for q in spec.kubernetes.queues if q.workload == "training"} if fs else None,
    )
    model = FailureModel(**spec.goodput.failure_rate.model_dump(),
                         **spec.goodput.model_dump(exclude={"failure_rate"}))
    pools = tuple(replace(p, goodput=plan_goodput(gpus=p.gpus, spares=p.spares, model=model,
                                                  write_seconds=storage.checkpoint_write_seconds)) for p in pools)
    # Zones and placement blocks: a spec that cannot be placed fails here, before any resource is registered.
    placement = spec.profile.plan_placement(spec, pools)
    # The neocloud.io/su groups the provider's node sets carry, decided once from the pools and their placement.
    pools = tuple(replace(p, su_groups=spec.profile.su_groups(spec, p, placement)) for p in pools)
    return ClusterPlan(
        name=spec.name,
        provider=spec.provider,
        environment=spec.environment,
        region=spec.region,
        fabric_kind=spec.fabric.kind,
        pools=pools,
        storage=storage,
        pue=spec.power.pue,
        rack_power_budget_kw=spec.racks.power_budget_kw,
        filesystem_kind=fs.kind if fs else None,
        placement=placement,
    )


def _plan_pool(spec: ClusterSpec, index: int, pool: Pool) -> PoolPlan:
    system = spec.system(pool)
    fabric_spec = spec.fabric
    nodes_per_su = fabric_spec.nodes_per_su or system.default_nodes_per_su
    units = plan_scalable_units(pool=pool.name, nodes=pool.nodes, spares=pool.spares, nodes_per_su=nodes_per_su,
                                gpus_per_node=system.gpus_per_node, domain_nodes=system.nvlink_domain_nodes)
    racks = plan_racks(
        pool=pool.name, system=system, units=units, power_budget_kw=spec.racks.power_budget_kw,
        rack_units=spec.racks.rack_units, max_nodes_per_rack=spec.racks.max_nodes_per_rack,
        nodes_per_rack=spec.racks.nodes_per_rack, physical=spec.profile.physical_racks,
    )
    fabric = None
    # No fabric to size on EFA (AWS builds it) or for a system without compute-fabric NICs (a single-GPU Droplet:
    # catalog rails 0): its nodes are not cabled to the leaves.
    if fabric_spec.kind != "efa" and system.rails > 0:
        fabric = fabric_for_system(
            system=system,
            switch=SWITCHES[fabric_spec.switch],
            nodes=pool.total_nodes,
            nodes_per_su=nodes_per_su,
            radix=fabric_spec.radix,
            oversubscription=fabric_spec.oversubscription,
            management_ports=fabric_spec.management_ports,
            planes=fabric_spec.planes,
            port_split=fabric_spec.port_split,
            path="fabric",
        )
    total_nodes = pool.total_nodes
    return PoolPlan(
        name=pool.name,
        index=index,
        system=system,
        zone=spec.pool_zone(pool),
        capacity_source=pool.capacity.source,
        reservation_ids=tuple(pool.capacity.reservation_ids),
        nodes=pool.nodes,
        spares=pool.spares,
        min_nodes=total_nodes if pool.min_nodes is None else pool.min_nodes,
        nodes_per_su=nodes_per_su,
        scalable_units=units,
        racks=racks,
        fabric=fabric,
        power=pool_power(system=system, nodes=total_nodes, racks=racks.racks, pue=spec.power.pue),
        cost=pool_cost(gpus=total_nodes * system.gpus_per_node, price_per_gpu_hour=pool.price_per_gpu_hour),
    )
