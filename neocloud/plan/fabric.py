"""Rail-optimized fat-tree sizing (leaf / spine / core), as in NVIDIA's DGX SuperPOD reference architectures.

The model (H100RA "network-fabrics", hardware.md):

- A scalable unit (SU) has ``nodes_per_su`` node slots. Each node has ``rails`` compute NICs; NIC *i* of every
  node in an SU lands on the rail-*i* leaf group of that SU, so same-rail traffic is one hop.
- A partial SU still gets its leaf switches and leaf-spine cables built for the full SU [P].
- Leaves split their ports into downlinks and uplinks at the designed oversubscription (1:1 = non-blocking [P]).
- Two tiers while every spine can reach every leaf (leaves <= radix: k leaves, k/2 spines, k^2/2 endpoints);
  beyond that a third tier: leaves form pods (whole SUs, at most k/2 leaves), each pod has its own spine group
  with half its ports down and half up, and cores join the pods (at most k pods: k^3/4 endpoints, 5k^2/4
  switches; Al-Fares et al., SIGCOMM 2008 [P]).
- Fabric-manager ports (UFM: 4 in H100RA's 31- and 127-node builds) take leaf ports in free node slots.
- A fabric whose endpoints all fit one switch is a single switch (one tier).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import ceil, floor
from typing import Any

from ..errors import SpecError

__all__ = ["Cables", "FabricPlan", "RailCabling", "Transceivers", "size_fabric"]


@dataclass(frozen=True, slots=True)
class Cables:
    """Cable counts per tier."""

    node_leaf: int
    leaf_spine: int
    spine_core: int

    @property
    def total(self) -> int:
        return self.node_leaf + self.leaf_spine + self.spine_core


@dataclass(frozen=True, slots=True)
class Transceivers:
    """Transceivers (OSFP modules) at switch cages and at node cages."""

    switch: int
    node: int


@dataclass(frozen=True, slots=True)
class RailCabling:
    """What one rail's cabling looks like: its leaves and the node (and manager) cables into them."""

    rail: int
    leaves: int
    node_cables: int
    management_cables: int


@dataclass(frozen=True, slots=True)
class FabricPlan:
    """A sized compute fabric. All counts are exact integers."""

    nodes: int
    rails: int
    radix: int
    nodes_per_su: int
    oversubscription_limit: float
    """The oversubscription the design was asked to stay within."""
    management_ports: int
    scalable_units: int
    tiers: int
    leaf: int
    spine: int
    core: int
    leaves_per_su: int
    leaf_downlinks: int
    """Downlink ports per leaf, built for a full SU."""
    leaf_uplinks: int
    pods: int
    """Three-tier only: leaf/spine pods joined by the cores (1 otherwise)."""
    spines_per_pod: int
    cables: Cables
    transceivers: Transceivers
    rails_cabling: tuple[RailCabling, ...]

    @property
    def oversubscription(self) -> float:
        """Designed leaf downlink:uplink ratio (1.0 = non-blocking)."""
        if self.tiers == 1 or self.leaf_uplinks == 0:
            return 1.0
        return self.leaf_downlinks / self.leaf_uplinks

    @property
    def switches(self) -> int:
        return self.leaf + self.spine + self.core

    @property
    def max_endpoints(self) -> int:
        """Endpoint ports this topology class could reach at this radix (k^2/2 or k^3/4)."""
        k = self.radix
        return {1: k, 2: k * k // 2, 3: k * k * k // 4}[self.tiers]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["oversubscription"] = round(self.oversubscription, 4)
        out["switches"] = self.switches
        out["cables"]["total"] = self.cables.total
        out["rails_cabling"] = [asdict(r) for r in self.rails_cabling]
        return out


def size_fabric(
    *,
    nodes: int,
    rails: int,
    radix: int,
    nodes_per_su: int,
    oversubscription: float = 1.0,
    management_ports: int = 0,
    switch_ports_per_cage: int = 2,
    node_ports_per_cage: int = 1,
    path: str = "fabric",
) -> FabricPlan:
    """Size a rail-optimized fat tree. Raises ``SpecError`` (naming ``path``) for impossible inputs."""
    _require(nodes >= 1, f"{path}.nodes", f"must be at least 1; got {nodes}")
    _require(rails >= 1, f"{path}.rails", f"must be at least 1; got {rails}")
    _require(radix >= 4 and radix % 2 == 0, f"{path}.radix", f"must be an even number >= 4; got {radix}")
    _require(nodes_per_su >= 1, f"{path}.nodes_per_su", f"must be at least 1; got {nodes_per_su}")
    _require(oversubscription >= 1.0, f"{path}.oversubscription", f"must be >= 1.0; got {oversubscription}")
    _require(management_ports >= 0, f"{path}.management_ports", f"must be >= 0; got {management_ports}")

    endpoint_ports = nodes * rails + management_ports
    node_cages = nodes * ceil(rails / node_ports_per_cage)
    if endpoint_ports <= radix:
        return _single_switch(nodes, rails, radix, nodes_per_su, oversubscription, management_ports,
                              switch_ports_per_cage, node_cages)

    # Leaf port split at the designed ratio: down/up <= oversubscription.
    max_down = floor(radix * oversubscription / (1 + oversubscription))
    leaves_per_rail_per_su = ceil(nodes_per_su / max_down)
    down = ceil(nodes_per_su / leaves_per_rail_per_su)
    up = ceil(down / oversubscription)
    # Fabric-manager ports take whole node slots (one port per rail).
    manager_slots = ceil(management_ports / rails)
    sus = ceil((nodes + manager_slots) / nodes_per_su)
    leaves_per_su = rails * leaves_per_rail_per_su
    leaves = sus * leaves_per_su
    leaf_spine = leaves * up

    if leaves <= radix:
        tiers, pods, spines_per_pod = 2, 1, ceil(leaf_spine / radix)
        spines, cores, spine_core = spines_per_pod, 0, 0
    else:
        half = radix // 2
        if leaves_per_su <= half:
            leaves_per_pod = (half // leaves_per_su) * leaves_per_su
        else:
            leaves_per_pod = half
        pods = ceil(leaves / leaves_per_pod)
        _require(
            pods <= radix,
            f"{path}.nodes",
            f"{nodes} nodes x {rails} rails need {pods} pods; a three-tier fat tree of radix {radix} joins at most "
            f"{radix} ({radix ** 3 // 4} endpoints at 1:1). Use a larger-radix switch or more oversubscription",
        )
        spines_per_pod = ceil(leaves_per_pod * up / half)
        full_pods, rest = divmod(leaves, leaves_per_pod)
        spines = full_pods * spines_per_pod + (ceil(rest * up / half) if rest else 0)
        tiers = 3
        spine_core = leaf_spine  # spines are non-blocking: one uplink per downlink in use
        cores = ceil(spine_core / radix)

    cables = Cables(node_leaf=endpoint_ports, leaf_spine=leaf_spine, spine_core=spine_core)
    leaf_ports_built = leaves * (down + up)
    spine_ports = leaf_spine + spine_core
    transceivers = Transceivers(
        switch=ceil(leaf_ports_built / switch_ports_per_cage)
        + ceil(spine_ports / switch_ports_per_cage)
        + ceil(spine_core / switch_ports_per_cage),
        node=node_cages,
    )
    return FabricPlan(
        nodes=nodes,
        rails=rails,
        radix=radix,
        nodes_per_su=nodes_per_su,
        oversubscription_limit=oversubscription,
        management_ports=management_ports,
        scalable_units=sus,
        tiers=tiers,
        leaf=leaves,
        spine=spines,
        core=cores,
        leaves_per_su=leaves_per_su,
        leaf_downlinks=down,
        leaf_uplinks=up,
        pods=pods,
        spines_per_pod=spines_per_pod,
        cables=cables,
        transceivers=transceivers,
        rails_cabling=_rails(nodes, rails, management_ports, sus * leaves_per_rail_per_su),
    )


def _single_switch(
    nodes: int, rails: int, radix: int, nodes_per_su: int, oversubscription: float, management_ports: int,
    switch_ports_per_cage: int, node_cages: int,
) -> FabricPlan:
    ports = nodes * rails + management_ports
    return FabricPlan(
        nodes=nodes, rails=rails, radix=radix, nodes_per_su=nodes_per_su, oversubscription_limit=oversubscription,
        management_ports=management_ports, scalable_units=1, tiers=1, leaf=1, spine=0, core=0,
        leaves_per_su=1, leaf_downlinks=ports, leaf_uplinks=0, pods=1, spines_per_pod=0,
        cables=Cables(node_leaf=ports, leaf_spine=0, spine_core=0),
        transceivers=Transceivers(switch=ceil(ports / switch_ports_per_cage), node=node_cages),
        rails_cabling=_rails(nodes, rails, management_ports, 1),
    )


def _rails(nodes: int, rails: int, management_ports: int, leaves_per_rail: int) -> tuple[RailCabling, ...]:
    # Manager ports go one per rail, starting at rail 0 (UFM's 4 ports land on 4 rails).
    per_rail, extra = divmod(management_ports, rails)
    return tuple(
        RailCabling(rail=i, leaves=leaves_per_rail, node_cables=nodes,
                    management_cables=per_rail + (1 if i < extra else 0))
        for i in range(rails)
    )


def _require(ok: bool, path: str, message: str) -> None:
    if not ok:
        raise SpecError(path, message)
