"""``neocloud fabric``: size a rail-optimized fat tree from flags, the same way ``neocloud plan`` sizes a pool's.

Both go through ``neocloud.plan.fabric_for_system``: ``--system`` sets rails, NIC speed, node cages and the SU size
(GB200 NVL72: 8 racks of 18 trays, GB200RA), ``--switch`` the radix, port speed and cages; flags override them.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from ..catalog import SWITCHES, SYSTEMS, known_system_names
from ..errors import SpecError
from ..plan import fabric_for_system, plan_scalable_units

__all__ = ["fabric_lines", "register"]

_FLAGS = {"nodes": "--nodes", "rails": "--rails", "radix": "--radix", "nodes_per_su": "--nodes-per-su",
          "oversubscription": "--oversubscription", "management_ports": "--management-ports",
          "planes": "--planes", "port_split": "--port-split"}
_GENERIC_RAILS = 8
"""Rails without ``--system``: one NIC per GPU of an 8-GPU HGX/DGX node (H100RA)."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("fabric", help="size a rail-optimized fat-tree fabric")
    parser.add_argument("--nodes", type=int, required=True, help="nodes on the fabric (spares included)")
    parser.add_argument("--system", default=None,
                        help="catalog system: sets rails, NIC speed, node transceivers and the SU size "
                        "(e.g. dgx-h100, gb200-nvl72)")
    parser.add_argument("--rails", type=int, default=None,
                        help=f"compute NICs per node (default: the system's, else {_GENERIC_RAILS})")
    parser.add_argument("--radix", type=int, default=None, help="switch ports (default: the --switch's)")
    parser.add_argument("--switch", default="QM9700", help=f"switch model: {', '.join(sorted(SWITCHES))}")
    parser.add_argument("--nodes-per-su", type=int, default=None,
                        help="nodes per scalable unit (default: the system's, else 32)")
    parser.add_argument("--oversubscription", type=float, default=1.0, help="leaf down:up ratio (default 1.0)")
    parser.add_argument("--management-ports", type=int, default=0, help="fabric-manager (UFM) leaf ports")
    parser.add_argument("--planes", type=int, default=1, help="independent fabric planes (default 1)")
    parser.add_argument("--port-split", type=int, default=None,
                        help="links per switch port when ports are faster than a link (default: the switch's "
                        "verified split, else 1)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    switch = SWITCHES.get(args.switch)
    if switch is None:
        raise SpecError("--switch", f"unknown switch '{args.switch}'; known: {', '.join(sorted(SWITCHES))}")
    system = None
    if args.system is not None:
        system = SYSTEMS.get(args.system)
        if system is None:
            raise SpecError("--system", f"unknown system '{args.system}'; known: {', '.join(known_system_names())}")
        if system.rails == 0 and args.rails is None:
            # The planner gives such a pool no fabric (neocloud.plan.cluster): say so instead of "--rails: 0".
            raise SpecError("--system", f"'{system.name}' has no compute-fabric NIC (catalog rails 0), so there is no "
                            f"fabric to size; pass --rails to size one anyway")
    try:
        if system is not None:
            domain = system.nvlink_domain_nodes
            if domain > 1 and args.nodes % domain:
                # A multi-node NVLink domain (an NVL72 rack of 18 trays, GB200RA) is never split.
                raise SpecError("nodes", f"{system.name} comes in whole NVLink domains of {domain} nodes; "
                                f"{args.nodes} is not a multiple of {domain}")
            # The SU check the planner applies to a pool (whole NVLink domains per SU).
            plan_scalable_units(pool=system.name, nodes=args.nodes, spares=0,
                                nodes_per_su=args.nodes_per_su or system.default_nodes_per_su,
                                gpus_per_node=system.gpus_per_node, domain_nodes=domain)
        plan = fabric_for_system(
            system=system, switch=switch, nodes=args.nodes,
            nodes_per_su=args.nodes_per_su if system is not None else (args.nodes_per_su or 32),
            rails=args.rails if system is not None or args.rails is not None else _GENERIC_RAILS,
            radix=args.radix, oversubscription=args.oversubscription, management_ports=args.management_ports,
            planes=args.planes, port_split=args.port_split, path="fabric",
        )
    except SpecError as error:
        field = error.path.removeprefix("fabric.")
        raise SpecError(_FLAGS.get(field, error.path), error.message) from None
    doc = plan.to_dict()
    print(json.dumps(doc, indent=2) if args.json else "\n".join(fabric_lines(doc, indent="")))
    return 0


def fabric_lines(fabric: Mapping[str, Any], *, indent: str = "  ") -> list[str]:
    """A fabric plan (``FabricPlan.to_dict()``) as text: the same lines in ``neocloud fabric`` and ``neocloud plan``."""
    c, t = fabric["cables"], fabric["transceivers"]
    planes = fabric.get("planes", 1)
    speed = ""
    if fabric.get("link_gbps"):
        split = fabric.get("port_split", 1)
        speed = f", {fabric['link_gbps']}G links" + (f" ({split} per {fabric['port_gbps']}G port)" if split > 1 else "")
        nic = fabric.get("nic_gbps")
        if nic and nic // planes > fabric["link_gbps"]:
            speed += f"; {nic}G NICs run at {fabric['link_gbps']}G"
    head = (f"fabric: {fabric['nodes']:,} nodes x {fabric['rails']} rails on {fabric.get('switch') or 'a switch'} "
            f"(radix {fabric['radix']}{speed}), {fabric['scalable_units']} SU of {fabric['nodes_per_su']} nodes"
            + (f", {planes} planes" if planes > 1 else ""))
    pods = f", {fabric['pods']} pods per plane" if fabric["tiers"] == 3 else ""
    lines = [
        head,
        f"  tiers {fabric['tiers']}: leaf {fabric['leaf']:,}, spine {fabric['spine']:,}, core {fabric['core']:,} "
        f"({fabric['switches']:,} switches{pods})",
        f"  leaf links: {fabric['leaf_downlinks']} down / {fabric['leaf_uplinks']} up of {fabric['link_radix']} "
        f"({fabric['leaf_port_utilisation']:.0%} used; oversubscription {fabric['oversubscription']:g}:1)",
    ]
    if fabric["tiers"] > 1:
        even = (f"  even cabling: {_links(fabric['leaf_spine_links'])} from each leaf to each of "
                f"{fabric['spines_per_pod']} spines")
        if fabric["tiers"] == 3:
            even += (f"; {_links(fabric['spine_core_links'])} from each spine to each of "
                     f"{fabric['cores_per_group']} cores in its group ({fabric['core_groups']} groups)")
        lines.append(even)
    lines += [
        f"  cables: node-leaf {c['node_leaf']:,}, leaf-spine {c['leaf_spine']:,}, spine-core {c['spine_core']:,} "
        f"(total {c['total']:,})",
        f"  transceivers: switch {t['switch']:,}, node {t['node']:,}",
    ]
    return [indent + line for line in lines]


def _links(count: int) -> str:
    return f"{count} link" + ("" if count == 1 else "s")
