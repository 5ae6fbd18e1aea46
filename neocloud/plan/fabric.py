"""Rail-optimized fat-tree sizing (leaf / spine / core), as in NVIDIA's DGX SuperPOD reference architectures.

The model (H100RA, B200RA, B300RA, B300XDR "network-fabrics" and "dgx-superpod-architecture"; hardware.md):

- A scalable unit (SU) has ``nodes_per_su`` node slots. Each node has ``rails`` compute NICs; NIC *i* of every
  node in an SU lands on the rail-*i* leaf group of that SU, so same-rail traffic is one hop.
- A partial SU still gets its leaf switches and leaf-spine cables built for the full SU [P].
- Leaves split their ports into downlinks and uplinks at the designed oversubscription (1:1 = non-blocking [P]).
- **Evenly cabled**: every leaf has the same number of links to every spine of its pod, and every spine the same
  number to every core of its core group. Counting spines as ``ceil(uplinks / radix)`` is not enough: H100RA
  builds 16 spines for 3 SU (24 leaves x 32 uplinks), not 12 (32 uplinks cannot split evenly over 12 spines),
  and B300XDR builds 18 spines for 4 SU and 36 for 8 SU (72 uplinks per leaf), not 16 and 32. Among the evenly
  cabled designs the planner takes the one with the fewest switches.
- Two tiers while one spine layer can reach every leaf (at most ``radix`` leaves: k leaves, k/2 spines, k^2/2
  endpoints); beyond that three: leaves form pods (whole SUs, or a share of one SU's leaves when an SU has more
  leaves than half a switch), each pod has its own spines with half their ports down and half up (non-blocking),
  spine *j* of every pod joins core group *j mod groups*, and every pod reaches every core (at most ``radix``
  pods: k^3/4 endpoints with 5k^2/4 switches; Al-Fares et al., SIGCOMM 2008 [P]). B200RA's 16, 32 and 64 SU
  rows (128/128/64, 256/256/128, 512/512/256 leaf/spine/core) are this design.
- **Port speed vs NIC speed**: a link runs at the slower of the NIC (per plane) and the switch port. A switch
  whose ports are faster than the link splits each port into ``port_split`` links (B300RA: 2 x 400G per 800G
  SN5600 port); the fabric is sized in links, and cables and switch transceivers are counted per switch port,
  as NVIDIA's tables count them (one split cable per port).
- **Planes**: a multi-plane fabric (B300RA's twin-planar Spectrum-X: each GPU's 800G NIC is 2 x 400G into two
  independent planes) is ``planes`` identical fat trees, each carrying ``nic_gbps / planes`` per NIC.
- Fabric-manager ports (UFM: 4 in H100RA's 31- and 127-node builds) take leaf ports in free node slots.
- A fabric whose endpoints all fit one switch is a single switch (one tier).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from math import ceil, floor
from typing import Any

from ..catalog import Switch, System
from ..errors import SpecError

__all__ = ["Cables", "FabricPlan", "RailCabling", "Transceivers", "fabric_for_system", "size_fabric"]


@dataclass(frozen=True, slots=True)
class Cables:
    """Cable counts per tier, one per switch port (a split port's cable counts once, as NVIDIA's tables do)."""

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
    """A sized compute fabric. All counts are exact integers; switch and cable counts cover every plane.

    Per-switch figures (``leaf_downlinks``, ``leaf_uplinks``, ``spine_downlinks`` ...) are in links at
    ``link_gbps``; a switch has ``link_radix`` = ``radix x port_split`` of them.
    """

    nodes: int
    rails: int
    radix: int
    """Switch ports at the switch's native speed."""
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
    """Leaves of one SU in one plane."""
    leaf_downlinks: int
    """Downlinks per leaf, built for a full SU."""
    leaf_uplinks: int
    pods: int
    """Pods (leaf groups with their own spines) per plane: 1 in a two-tier fabric."""
    spines_per_pod: int
    cables: Cables
    transceivers: Transceivers
    rails_cabling: tuple[RailCabling, ...]
    planes: int = 1
    """Independent, identical fat trees (B300RA's twin-planar design: 2)."""
    switch: str | None = None
    """The catalog switch model (``None`` when sized from a bare radix)."""
    nic_gbps: int | None = None
    """Line rate of one compute NIC (``None``: not given, speeds are not modelled)."""
    port_gbps: int | None = None
    """Line rate of one switch port at its native speed."""
    link_gbps: int | None = None
    """Line rate of one fabric link: the slower of ``nic_gbps / planes`` and the port, per split."""
    port_split: int = 1
    """Links per switch port (2: an 800G port carries two 400G links)."""
    leaves_per_pod: int = 0
    leaf_spine_links: int = 0
    """Links from each leaf to each spine of its pod (the same for every pair: evenly cabled)."""
    spine_downlinks: int = 0
    """Links per spine towards the leaves, built for a full pod."""
    spine_uplinks: int = 0
    """Links per spine towards the cores (three tiers; 0 otherwise)."""
    core_groups: int = 0
    cores_per_group: int = 0
    spine_core_links: int = 0
    """Links from each spine to each core of its group (the same for every pair)."""

    @property
    def link_radix(self) -> int:
        """Links one switch terminates: native ports x links per port."""
        return self.radix * self.port_split

    @property
    def oversubscription(self) -> float:
        """Designed leaf downlink:uplink ratio (1.0 = non-blocking)."""
        if self.tiers == 1 or self.leaf_uplinks == 0:
            return 1.0
        return self.leaf_downlinks / self.leaf_uplinks

    @property
    def leaf_port_utilisation(self) -> float:
        """Share of a leaf's links the design uses (downlinks of a full SU plus uplinks)."""
        return (self.leaf_downlinks + self.leaf_uplinks) / self.link_radix

    @property
    def switches(self) -> int:
        return self.leaf + self.spine + self.core

    @property
    def max_endpoints(self) -> int:
        """Endpoint links this topology class could reach per plane at this radix (k, k^2/2 or k^3/4)."""
        k = self.link_radix
        return {1: k, 2: k * k // 2, 3: k * k * k // 4}[self.tiers]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["oversubscription"] = round(self.oversubscription, 4)
        out["switches"] = self.switches
        out["link_radix"] = self.link_radix
        out["leaf_port_utilisation"] = round(self.leaf_port_utilisation, 4)
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
    nic_gbps: int | None = None,
    port_gbps: int | None = None,
    max_port_split: int = 1,
    planes: int = 1,
    path: str = "fabric",
) -> FabricPlan:
    """Size an evenly cabled rail-optimized fat tree with the fewest switches.

    ``max_port_split`` is how many links one switch port may carry when it is faster than a link (1: no split).
    Raises ``SpecError`` (naming ``path``) for impossible inputs.
    """
    _require(nodes >= 1, f"{path}.nodes", f"must be at least 1; got {nodes}")
    _require(rails >= 1, f"{path}.rails", f"must be at least 1; got {rails}")
    _require(radix >= 4 and radix % 2 == 0, f"{path}.radix", f"must be an even number >= 4; got {radix}")
    _require(nodes_per_su >= 1, f"{path}.nodes_per_su", f"must be at least 1; got {nodes_per_su}")
    _require(1.0 <= oversubscription < math.inf, f"{path}.oversubscription",
             f"must be a finite number >= 1.0; got {oversubscription}")
    _require(management_ports >= 0, f"{path}.management_ports", f"must be >= 0; got {management_ports}")
    _require(planes >= 1, f"{path}.planes", f"must be at least 1; got {planes}")
    _require(max_port_split >= 1, f"{path}.port_split", f"must be at least 1; got {max_port_split}")
    if nic_gbps is not None:
        _require(nic_gbps % planes == 0, f"{path}.planes",
                 f"{planes} planes do not divide a {nic_gbps}G NIC evenly")

    link_gbps, split = _link_speed(nic_gbps, port_gbps, planes, max_port_split)
    k = radix * split
    endpoint_links = nodes * rails + management_ports  # per plane
    node_cages = nodes * ceil(rails / node_ports_per_cage)
    common: dict[str, Any] = {
        "nodes": nodes, "rails": rails, "radix": radix, "nodes_per_su": nodes_per_su,
        "oversubscription_limit": oversubscription, "management_ports": management_ports, "planes": planes,
        "nic_gbps": nic_gbps, "port_gbps": port_gbps, "link_gbps": link_gbps, "port_split": split,
    }
    if endpoint_links <= k:
        ports = ceil(endpoint_links / split)
        return FabricPlan(
            **common, scalable_units=1, tiers=1, leaf=planes, spine=0, core=0, leaves_per_su=1,
            leaf_downlinks=endpoint_links, leaf_uplinks=0, pods=1, spines_per_pod=0,
            cables=Cables(node_leaf=planes * ports, leaf_spine=0, spine_core=0),
            transceivers=Transceivers(switch=planes * ceil(ports / switch_ports_per_cage), node=node_cages),
            rails_cabling=_rails(nodes, rails, management_ports, planes), leaves_per_pod=1,
        )

    # Leaf port split at the designed ratio: down/up <= oversubscription.
    max_down = floor(k * oversubscription / (1 + oversubscription))
    leaves_per_rail_per_su = ceil(nodes_per_su / max_down)
    down = ceil(nodes_per_su / leaves_per_rail_per_su)
    up = ceil(down / oversubscription)
    # Fabric-manager ports take whole node slots (one port per rail).
    manager_slots = ceil(management_ports / rails)
    sus = ceil((nodes + manager_slots) / nodes_per_su)
    leaves_per_su = rails * leaves_per_rail_per_su
    leaves = sus * leaves_per_su  # per plane

    design = _two_tier(leaves, up, k) or _three_tier(leaves, leaves_per_su, up, k)
    if design is None:
        raise SpecError(
            f"{path}.nodes",
            f"{nodes} nodes x {rails} rails ({leaves} leaves of {up} uplinks) do not fit an evenly cabled "
            f"three-tier fat tree of radix {k} (at most {k} pods, {k ** 3 // 4} endpoints at 1:1). Use a "
            f"larger-radix switch, smaller SUs or more oversubscription",
        )
    leaf_spine_links = leaves * up
    spine_core_links = design.pods * design.spines_per_pod * design.spine_uplinks
    spines = design.pods * design.spines_per_pod
    cores = design.core_groups * design.cores_per_group

    cables = Cables(
        node_leaf=planes * ceil(endpoint_links / split),
        leaf_spine=planes * ceil(leaf_spine_links / split),
        spine_core=planes * ceil(spine_core_links / split),
    )
    # Switch cages: every leaf port built (full SU), every spine and core port cabled.
    leaf_ports = leaves * ceil((down + up) / split)
    spine_ports = ceil(leaf_spine_links / split) + ceil(spine_core_links / split)
    core_ports = ceil(spine_core_links / split)
    transceivers = Transceivers(
        switch=planes * (ceil(leaf_ports / switch_ports_per_cage) + ceil(spine_ports / switch_ports_per_cage)
                         + ceil(core_ports / switch_ports_per_cage)),
        node=node_cages,
    )
    return FabricPlan(
        **common,
        scalable_units=sus,
        tiers=design.tiers,
        leaf=planes * leaves,
        spine=planes * spines,
        core=planes * cores,
        leaves_per_su=leaves_per_su,
        leaf_downlinks=down,
        leaf_uplinks=up,
        pods=design.pods,
        spines_per_pod=design.spines_per_pod,
        cables=cables,
        transceivers=transceivers,
        rails_cabling=_rails(nodes, rails, management_ports, planes * sus * leaves_per_rail_per_su),
        leaves_per_pod=design.leaves_per_pod,
        leaf_spine_links=design.leaf_spine_links,
        spine_downlinks=design.spine_downlinks,
        spine_uplinks=design.spine_uplinks,
        core_groups=design.core_groups,
        cores_per_group=design.cores_per_group,
        spine_core_links=design.spine_core_links,
    )


def fabric_for_system(
    *,
    system: System | None,
    switch: Switch,
    nodes: int,
    nodes_per_su: int | None = None,
    rails: int | None = None,
    radix: int | None = None,
    oversubscription: float = 1.0,
    management_ports: int = 0,
    planes: int = 1,
    port_split: int | None = None,
    path: str = "fabric",
) -> FabricPlan:
    """The fabric for ``nodes`` of a catalog ``system`` on ``switch``: the one code path behind ``neocloud plan``
    and ``neocloud fabric --system``. The system sets rails, NIC speed, node cages and the SU size; the switch
    sets radix, port speed and cages; arguments that are not ``None`` override them. Without a system (a bare
    ``neocloud fabric``) ``rails`` and ``nodes_per_su`` must be given and NIC speed is not modelled."""
    if system is not None:
        rails = system.rails if rails is None else rails
        nodes_per_su = system.default_nodes_per_su if nodes_per_su is None else nodes_per_su
    if rails is None or nodes_per_su is None:
        raise SpecError(f"{path}.rails", "rails and nodes per SU are needed without a catalog system")
    plan = size_fabric(
        nodes=nodes,
        rails=rails,
        radix=switch.ports if radix is None else radix,
        nodes_per_su=nodes_per_su,
        oversubscription=oversubscription,
        management_ports=management_ports,
        switch_ports_per_cage=switch.ports_per_cage,
        node_ports_per_cage=1 if system is None else system.nic_ports_per_cage,
        nic_gbps=None if system is None else system.nic_gbps,
        port_gbps=switch.port_gbps,
        max_port_split=(switch.max_port_split or 1) if port_split is None else port_split,
        planes=planes,
        path=path,
    )
    return replace(plan, switch=switch.name)


@dataclass(frozen=True, slots=True)
class _Design:
    """The switch layers above the leaves of one plane."""

    tiers: int
    pods: int
    leaves_per_pod: int
    spines_per_pod: int
    leaf_spine_links: int
    spine_downlinks: int
    spine_uplinks: int = 0
    core_groups: int = 0
    cores_per_group: int = 0
    spine_core_links: int = 0

    @property
    def switches_above_leaves(self) -> int:
        return self.pods * self.spines_per_pod + self.core_groups * self.cores_per_group

    @property
    def cost(self) -> tuple[int, int, int]:
        """Fewest switches, then fewest spine-core links (a partial pod's spines are built whole), then the
        largest pods."""
        return self.switches_above_leaves, self.pods * self.spines_per_pod * self.spine_uplinks, -self.leaves_per_pod


def _link_speed(nic_gbps: int | None, port_gbps: int | None, planes: int,
                max_port_split: int) -> tuple[int | None, int]:
    """(link Gbit/s, links per switch port). A link runs at the slower end; a faster port splits when it may."""
    if nic_gbps is None or port_gbps is None:
        return (None if nic_gbps is None else nic_gbps // planes), 1
    per_plane = nic_gbps // planes
    if per_plane >= port_gbps:
        return port_gbps, 1
    return per_plane, max(1, min(max_port_split, port_gbps // per_plane))


def _two_tier(leaves: int, up: int, k: int) -> _Design | None:
    """One spine layer: the fewest spines ``s`` that divide every leaf's uplinks evenly and fit their ports."""
    for spines in _divisors(up):
        per_pair = up // spines
        if leaves * per_pair <= k:
            return _Design(tiers=2, pods=1, leaves_per_pod=leaves, spines_per_pod=spines,
                           leaf_spine_links=per_pair, spine_downlinks=leaves * per_pair)
    return None


def _three_tier(leaves: int, leaves_per_su: int, up: int, k: int) -> _Design | None:
    """Pods of whole SUs (or of a share of one SU's leaves) with non-blocking spines, and core groups that every
    pod reaches evenly; the fewest switches wins (then fewer pods)."""
    half = k // 2
    sizes = {p * leaves_per_su for p in range(1, half // leaves_per_su + 1)}
    sizes |= {d for d in _divisors(leaves_per_su) if d <= half}
    best: _Design | None = None
    for leaves_per_pod in sorted(sizes, reverse=True):
        pods = ceil(leaves / leaves_per_pod)
        if pods > k:
            continue
        candidate = _pod_design(pods, leaves_per_pod, up, k)
        if candidate is not None and (best is None or candidate.cost < best.cost):
            best = candidate
    return best


@lru_cache(maxsize=4096)
def _pod_design(pods: int, leaves_per_pod: int, up: int, k: int) -> _Design | None:
    half = k // 2
    best: _Design | None = None
    for spines_per_pod in _divisors(up):
        per_pair = up // spines_per_pod
        spine_down = leaves_per_pod * per_pair
        if spine_down > half:
            continue
        spine_up = spine_down  # non-blocking spines: one uplink per downlink
        for groups in _divisors(spines_per_pod):
            spines_per_group = spines_per_pod // groups  # per pod
            for cores_per_group in _divisors(spine_up):
                links = spine_up // cores_per_group
                if pods * spines_per_group * links <= k:
                    design = _Design(tiers=3, pods=pods, leaves_per_pod=leaves_per_pod,
                                     spines_per_pod=spines_per_pod, leaf_spine_links=per_pair,
                                     spine_downlinks=spine_down, spine_uplinks=spine_up, core_groups=groups,
                                     cores_per_group=cores_per_group, spine_core_links=links)
                    if best is None or design.cost < best.cost:
                        best = design
                    break
    return best


@lru_cache(maxsize=1024)
def _divisors(n: int) -> tuple[int, ...]:
    """Divisors of ``n`` in ascending order."""
    small = [d for d in range(1, int(n ** 0.5) + 1) if n % d == 0]
    return tuple(sorted(set(small + [n // d for d in small])))


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
