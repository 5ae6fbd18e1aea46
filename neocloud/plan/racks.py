"""Racks, NVLink domains and scalable units of one pool.

Racks are planned as groups (identical racks in one SU share a row), so the plan and the resources built from
it grow with SUs, not with nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil, floor

from ..catalog import System
from ..errors import SpecError

__all__ = ["RackGroup", "RackLayout", "ScalableUnit", "plan_racks", "plan_scalable_units"]


@dataclass(frozen=True, slots=True)
class ScalableUnit:
    """One SU of a pool: its nodes, how many of them are hot spares, and its GPUs."""

    index: int
    nodes: int
    spares: int
    gpus: int


@dataclass(frozen=True, slots=True)
class RackGroup:
    """``racks`` identical racks in one SU, each holding ``nodes_per_rack`` nodes at ``kw_per_rack`` IT power."""

    name: str
    su: int
    racks: int
    nodes_per_rack: int
    gpus_per_rack: int
    kw_per_rack: float | None
    nvlink_domains_per_rack: int
    """NVLink domains that sit wholly in one rack (1 for NVL72; one per node for HGX)."""


@dataclass(frozen=True, slots=True)
class RackLayout:
    """How a pool's nodes fill racks. ``basis`` says where nodes per rack came from."""

    nodes_per_rack: int | None
    basis: str
    groups: tuple[RackGroup, ...]

    @property
    def racks(self) -> int:
        return sum(g.racks for g in self.groups)


def plan_scalable_units(*, pool: str, nodes: int, spares: int, nodes_per_su: int, gpus_per_node: int,
                        domain_nodes: int = 1) -> tuple[ScalableUnit, ...]:
    """Split ``nodes + spares`` into SUs of ``nodes_per_su``; spares spread evenly (whole domains stay whole)."""
    total = nodes + spares
    if domain_nodes > 1 and nodes_per_su % domain_nodes:
        raise SpecError("fabric.nodes_per_su", f"{nodes_per_su} splits {pool}'s NVLink domains of {domain_nodes} "
                        f"nodes; use a multiple of {domain_nodes}")
    count = ceil(total / nodes_per_su)
    base, extra = divmod(spares, count)
    units = []
    for i in range(count):
        su_nodes = min(nodes_per_su, total - i * nodes_per_su)
        su_spares = min(su_nodes, base + (1 if i < extra else 0))
        units.append(ScalableUnit(index=i, nodes=su_nodes, spares=su_spares, gpus=su_nodes * gpus_per_node))
    return tuple(units)


def plan_racks(*, pool: str, system: System, units: tuple[ScalableUnit, ...], power_budget_kw: float | None,
               rack_units: int, max_nodes_per_rack: int | None, nodes_per_rack: int | None,
               physical: bool) -> RackLayout:
    """Lay a pool's SUs into racks.

    ``physical`` is true where we own the racks (baremetal) or the rack is the product (NVL72): then node power
    must be known (and node height, where it is, limits nodes per rack). Elsewhere the provider places nodes, and
    no racks are planned.
    """
    if system.kind == "nvl72-rack":
        # One NVL72 rack = 18 trays = one NVLink domain (GB200RA [P]).
        per_rack = system.nvlink_domain_nodes
        nvl72_groups = tuple(
            RackGroup(name=f"{pool}-su{u.index}", su=u.index, racks=u.nodes // per_rack, nodes_per_rack=per_rack,
                      gpus_per_rack=per_rack * system.gpus_per_node, kw_per_rack=system.rack_power_kw,
                      nvlink_domains_per_rack=1)
            for u in units
        )
        return RackLayout(nodes_per_rack=per_rack, basis="nvl72: one rack per NVLink domain", groups=nvl72_groups)
    if not physical or system.kind in ("aws", "aws-ultraserver"):
        return RackLayout(nodes_per_rack=None, basis="provider-placed", groups=())
    node_kw = system.node_power_kw
    height = system.rack_units
    if node_kw is None:
        raise SpecError(f"catalog.systems.{system.name}.node_power_kw", "needed to plan racks: set it for this site")
    if nodes_per_rack is not None:
        per_rack, basis = nodes_per_rack, "racks.nodes_per_rack"
    else:
        # Rack space counts only where the node height is known (catalog or catalog.systems.<name>.rack_units).
        limits = {} if height is None else {"rack space": floor(rack_units / height)}
        if power_budget_kw is not None:
            limits["power budget"] = floor(power_budget_kw / node_kw + 1e-9)
        if max_nodes_per_rack is not None:
            limits["racks.max_nodes_per_rack"] = max_nodes_per_rack
        if not limits:
            raise SpecError("racks", f"nothing bounds {system.name} nodes per rack: set racks.power_budget_kw, "
                            f"racks.max_nodes_per_rack, racks.nodes_per_rack or catalog.systems.{system.name}"
                            ".rack_units")
        basis, per_rack = min(limits.items(), key=lambda item: item[1])
        if per_rack < 1:
            size = "" if height is None else f" and {height}U"
            raise SpecError(
                "racks.power_budget_kw" if basis == "power budget" else "racks.rack_units",
                f"a {system.name} node needs {node_kw:g} kW{size}; a rack of {power_budget_kw or '-'} kW and "
                f"{rack_units}U fits none",
            )
    groups: list[RackGroup] = []
    for u in units:
        full, rest = divmod(u.nodes, per_rack)
        for count, n in ((full, per_rack), (1 if rest else 0, rest)):
            if count:
                groups.append(RackGroup(
                    name=f"{pool}-su{u.index}-r{n}", su=u.index, racks=count, nodes_per_rack=n,
                    gpus_per_rack=n * system.gpus_per_node, kw_per_rack=round(n * node_kw, 3),
                    nvlink_domains_per_rack=n // system.nvlink_domain_nodes))
    return RackLayout(nodes_per_rack=per_rack, basis=basis, groups=tuple(groups))
