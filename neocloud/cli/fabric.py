"""``neocloud fabric``: size a rail-optimized fat tree from flags."""

from __future__ import annotations

import argparse
import json

from ..catalog import SWITCHES, SYSTEMS, known_system_names
from ..errors import SpecError
from ..plan import FabricPlan, size_fabric


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("fabric", help="size a rail-optimized fat-tree fabric")
    parser.add_argument("--nodes", type=int, required=True, help="nodes on the fabric (spares included)")
    parser.add_argument("--system", default=None,
                        help="catalog system: sets --rails and node transceivers (e.g. dgx-h100, gb200-nvl72)")
    parser.add_argument("--rails", type=int, default=None, help="compute NICs per node (default: the system's, else 8)")
    parser.add_argument("--radix", type=int, default=None, help="switch ports (default: the --switch's)")
    parser.add_argument("--switch", default="QM9700", help=f"switch model: {', '.join(sorted(SWITCHES))}")
    parser.add_argument("--nodes-per-su", type=int, default=32, help="nodes per scalable unit (default 32)")
    parser.add_argument("--oversubscription", type=float, default=1.0, help="leaf down:up ratio (default 1.0)")
    parser.add_argument("--management-ports", type=int, default=0, help="fabric-manager (UFM) leaf ports")
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
    rails = args.rails if args.rails is not None else (system.rails if system else 8)
    flags = {"nodes": "--nodes", "rails": "--rails", "radix": "--radix", "nodes_per_su": "--nodes-per-su",
             "oversubscription": "--oversubscription", "management_ports": "--management-ports"}
    try:
        plan = size_fabric(
            nodes=args.nodes, rails=rails, radix=args.radix or switch.ports, nodes_per_su=args.nodes_per_su,
            oversubscription=args.oversubscription, management_ports=args.management_ports,
            switch_ports_per_cage=switch.ports_per_cage,
            node_ports_per_cage=system.nic_ports_per_cage if system else 1, path="fabric",
        )
    except SpecError as error:
        field = error.path.removeprefix("fabric.")
        raise SpecError(flags.get(field, error.path), error.message) from None
    print(json.dumps(plan.to_dict(), indent=2) if args.json else render_fabric(plan, switch.name))
    return 0


def render_fabric(plan: FabricPlan, switch: str) -> str:
    c = plan.cables
    lines = [
        f"fabric: {plan.nodes} nodes x {plan.rails} rails, {switch} radix {plan.radix}, "
        f"{plan.scalable_units} SU of {plan.nodes_per_su} nodes",
        f"  tiers {plan.tiers}: leaf {plan.leaf}, spine {plan.spine}, core {plan.core} "
        f"({plan.switches} switches{f', {plan.pods} pods' if plan.tiers == 3 else ''})",
        f"  leaf ports: {plan.leaf_downlinks} down / {plan.leaf_uplinks} up "
        f"(oversubscription {plan.oversubscription:.2f}:1)",
        f"  cables: node-leaf {c.node_leaf}, leaf-spine {c.leaf_spine}, spine-core {c.spine_core} (total {c.total})",
        f"  transceivers: switch {plan.transceivers.switch}, node {plan.transceivers.node}",
    ]
    return "\n".join(lines)
