"""``neocloud catalog``: the hardware the planner knows -- systems, switches and GPUs -- with each entry's source.

A number the catalog does not verify (``None`` there, listed as ``unverified``) is shown as ``site`` : the spec's
``catalog`` section must set it before a plan uses it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from .. import catalog

__all__ = ["catalog_document", "register", "source_keys"]

SECTIONS = ("systems", "switches", "gpus")
CLOUD_KINDS = ("aws", "aws-ultraserver")
"""System kinds that are cloud instances (see ``catalog.SystemKind``)."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("catalog", help="list the catalog: systems, switches and GPUs with sources")
    parser.add_argument("section", nargs="?", choices=SECTIONS, default=None,
                        help="only this part of the catalog (default: all)")
    parser.add_argument("--json", action="store_true", help="print JSON (every field of every entry)")
    parser.set_defaults(run=_run)


def source_keys() -> dict[str, str]:
    """Source key -> what it stands for, from the catalog module's documentation (its ``- ``KEY``: title`` lines),
    so the legend is the one written next to the numbers."""
    keys: dict[str, str] = {}
    names = re.compile(r"((?:``[A-Z0-9-]+``(?: / )?)+): ")
    for line in re.findall(r"^- (``.+)$", catalog.__doc__ or "", re.MULTILINE):
        # "``A`` / ``B``: title. ``C``: title." -> A, B and C with their titles
        pieces = names.split(line)
        for group, title in zip(pieces[1::2], pieces[2::2], strict=False):
            for key in re.findall(r"``([A-Z0-9-]+)``", group):
                keys[key] = title.strip()
    return keys


def catalog_document() -> dict[str, Any]:
    """Every catalog entry with all its fields (the ``--json`` document)."""
    return {
        "systems": [_entry(s) for s in catalog.SYSTEMS.values()],
        "switches": [_entry(s) for s in catalog.SWITCHES.values()],
        "gpus": [_entry(g) for g in catalog.GPUS.values()],
        "source_keys": source_keys(),
    }


def _entry(item: Any) -> dict[str, Any]:
    out = dataclasses.asdict(item)
    for name, value in out.items():
        if isinstance(value, tuple):
            out[name] = list(value)
    if isinstance(item, catalog.System):
        out["gpus_per_nvlink_domain"] = item.gpus_per_nvlink_domain
    return out


def _run(args: argparse.Namespace) -> int:
    document = catalog_document()
    if args.json:
        if args.section:
            document = {args.section: document[args.section], "source_keys": document["source_keys"]}
        print(json.dumps(document, indent=2))
        return 0
    print(render(args.section))
    return 0


def render(section: str | None = None) -> str:
    parts: list[str] = []
    if section in (None, "systems"):
        parts.append(_systems())
    if section in (None, "switches"):
        parts.append(_switches())
    if section in (None, "gpus"):
        parts.append(_gpus())
    legend = source_keys()
    if legend:
        parts.append("sources (tags: [P] vendor document, [S] third party restating one, [D] derived; "
                     "'site' = not verified, set it in the spec's catalog section):\n"
                     + "\n".join(f"  {key:<10} {title}" for key, title in legend.items()))
    return "\n\n".join(parts)


def _value(value: Any, unit: str = "") -> str:
    if value is None:
        return "site"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}{unit}" if isinstance(value, int) else f"{value}{unit}"


def _systems() -> str:
    rows = []
    for s in catalog.SYSTEMS.values():
        unverified = set(s.unverified)
        power = s.rack_power_kw if s.kind == "nvl72-rack" else s.node_power_kw
        rows.append([
            s.name, s.kind, f"{s.gpus_per_node} x {s.gpu}", f"{s.rails} x {s.nic_gbps}G"
            if "nic_gbps" not in unverified else f"{s.rails} x site",
            f"{s.gpus_per_nvlink_domain} GPUs",
            # A cloud instance's power and height are the provider's, not a site number.
            "-" if s.kind in CLOUD_KINDS else _value(power, " kW") + (" /rack" if s.kind == "nvl72-rack" else ""),
            "-" if s.kind in CLOUD_KINDS else _value(s.rack_units, "U"),
            str(s.default_nodes_per_su), s.source,
        ])
    return "systems:\n" + _table(["name", "kind", "GPUs", "compute NICs", "NVLink domain", "power", "height",
                                  "SU nodes", "source"], rows)


def _switches() -> str:
    rows = [[s.name, s.kind, str(s.ports), f"{s.port_gbps}G", str(s.ports_per_cage), s.source]
            for s in catalog.SWITCHES.values()]
    return "switches:\n" + _table(["name", "kind", "ports", "port speed", "ports/cage", "source"], rows)


def _gpus() -> str:
    rows = [[g.name, str(getattr(g, "vendor", "-")), _value(g.memory_gb, " GB"), _value(g.hbm_tbps, " TB/s"),
             _value(g.bf16_tflops), _value(g.fp8_tflops) if g.fp8_tflops is not None or g.bf16_tflops is None else "-",
             _value(g.tdp_w, " W"), g.source] for g in catalog.GPUS.values()]
    return "GPUs (dense TFLOPS):\n" + _table(["name", "vendor", "memory", "HBM", "BF16", "FP8", "TDP", "source"],
                                              rows)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    body = [list(header), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in body) for i in range(len(header))]
    lines = ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in body]
    return "\n".join(lines)
