"""``neocloud node verify``: does this node's hardware match its catalog system?

Exit 0 when it matches, 1 with one line per mismatch, 2 when an input is unreadable or not what its flag says.
The per-node acceptance pod runs this on the node's own ``nvidia-smi -q -x``, ``nvidia-smi topo -m`` and
``ibstat`` output.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..catalog import SYSTEMS, known_system_names
from ..errors import SpecError
from ..node import (
    NodeInputError,
    expectation_for,
    parse_ibstat,
    parse_nvidia_smi_xml,
    parse_topo,
    verify_node,
)

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("node", help="check one GPU node against its catalog system")
    commands = parser.add_subparsers(dest="node_command", required=True, parser_class=type(parser))
    verify = commands.add_parser(
        "verify", help="compare nvidia-smi -q -x (and topo -m, ibstat) output with the catalog system")
    verify.add_argument("--system", required=True, help="catalog system (e.g. dgx-h100, p5.48xlarge)")
    verify.add_argument("--nvidia-smi-xml", required=True, type=Path, help="output of `nvidia-smi -q -x`")
    verify.add_argument("--topo", type=Path, default=None,
                        help="output of `nvidia-smi topo -m` (checks NVLink links, NIC count and GPU-NIC affinity)")
    verify.add_argument("--ibstat", type=Path, default=None,
                        help="output of `ibstat` (checks every compute NIC port is Active/LinkUp at the line rate)")
    verify.add_argument("--min-driver", default=None, help="lowest acceptable driver version (e.g. 550.54.15)")
    verify.add_argument("--product-name", default=None,
                        help="expected nvidia-smi product name (default: the catalog's for the system's GPU)")
    verify.add_argument("--nvlinks", type=int, default=None,
                        help="expected NVLink links between every GPU pair (default: the catalog GPU's)")
    verify.add_argument("--json", action="store_true", help="print a JSON document instead of lines")
    verify.set_defaults(run=_verify)


def _read(path: Path, flag: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(flag, f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None


def _parse(parser, path: Path, flag: str):  # type: ignore[no-untyped-def]
    try:
        return parser(_read(path, flag))
    except NodeInputError as error:
        raise SpecError(flag, f"{path}: {error}") from None


def _verify(args: argparse.Namespace) -> int:
    system = SYSTEMS.get(args.system)
    if system is None:
        raise SpecError("--system", f"unknown system '{args.system}'; known: {', '.join(known_system_names())}")
    if args.nvlinks is not None and args.nvlinks < 0:
        raise SpecError("--nvlinks", f"must be a number >= 0; got {args.nvlinks}")
    try:
        expect = expectation_for(system, product_name=args.product_name, nvlinks=args.nvlinks,
                                 min_driver=args.min_driver)
    except KeyError as error:
        raise SpecError("--system", str(error.args[0])) from None
    smi = _parse(parse_nvidia_smi_xml, args.nvidia_smi_xml, "--nvidia-smi-xml")
    topo = None if args.topo is None else _parse(parse_topo, args.topo, "--topo")
    ports = None if args.ibstat is None else _parse(parse_ibstat, args.ibstat, "--ibstat")
    result = verify_node(expect, smi, topo=topo, ports=ports)
    if args.json:
        print(json.dumps({"system": system.name, "ok": result.ok, "mismatches": list(result.mismatches),
                          "checked": list(result.checked), "skipped": list(result.skipped),
                          "driver_version": smi.driver_version}, indent=2))
    elif result.ok:
        skipped = f"; not checked: {', '.join(result.skipped)}" if result.skipped else ""
        print(f"ok: node matches {system.name} ({expect.gpus} x {expect.product_name}); checked "
              f"{', '.join(result.checked)}{skipped}")
    else:
        print("\n".join(result.mismatches))
    return 0 if result.ok else 1
