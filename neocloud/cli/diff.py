"""``neocloud diff A B``: what changes from plan A to plan B -- GPUs, racks, fabric, power, cost, storage, and
resources added, removed or changed by URN.

Each side is a stack (run offline now, as ``plan``) or a file saved with ``neocloud plan STACK --json > FILE``.
Exit 0 (``--exit-code``: 1 when the plans differ, as ``git diff --exit-code``), 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..diff import PlanDiff, diff_plans
from ..errors import SpecError
from .plan import plan_document, run_stack

__all__ = ["load_side", "register", "render"]

MAX_LISTED = 200
"""Resources listed per kind in the text output (``--json`` lists all)."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("diff", help="what changes between two stacks, or a stack and a saved plan --json")
    parser.add_argument("stack_a", metavar="A", help="a stack name, or a file saved with `neocloud plan STACK --json`")
    parser.add_argument("stack_b", metavar="B", help="the same, for the other side")
    parser.add_argument("--project-dir", type=Path, default=None,
                        help="the Pulumi project (default: the current directory, else the installed checkout)")
    parser.add_argument("--json", action="store_true", help="print the differences as JSON")
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when the plans differ")
    parser.set_defaults(run=_run)


def load_side(value: str, project_dir: Path | None, flag: str) -> tuple[str, dict[str, Any]]:
    """A side: a saved ``plan --json`` file (a path that exists, or ends in .json) or a stack run now."""
    path = Path(value)
    if path.suffix == ".json" or path.is_file():
        try:
            document = json.loads(path.read_text())
        except OSError as exc:
            raise SpecError(flag, f"cannot read {value}: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise SpecError(flag, f"{value} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") \
                from None
        missing = [k for k in ("stack", "pools", "resources") if not isinstance(document, dict) or k not in document]
        if missing:
            raise SpecError(flag, f"{value} is not a `neocloud plan --json` document (no {', '.join(missing)})")
        return f"{value} (stack {document['stack']})", document
    _, run = run_stack(argparse.Namespace(stack=value, project_dir=project_dir))
    return f"stack {value}", plan_document(run)


def _run(args: argparse.Namespace) -> int:
    label_a, a = load_side(args.stack_a, args.project_dir, "A")
    label_b, b = load_side(args.stack_b, args.project_dir, "B")
    result = diff_plans(a, b, before_label=label_a, after_label=label_b)
    print(json.dumps(result.to_dict(), indent=2) if args.json else render(result))
    return 1 if args.exit_code and not result.empty else 0


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)


def render(result: PlanDiff) -> str:
    out = [f"diff {result.before} -> {result.after}"]
    if result.empty:
        out.append("  no differences")
        return "\n".join(out)
    where = None
    for change in result.fields:
        if change.where != where:
            where = change.where
            out.append(f"{where}:")
        delta = change.delta
        sign = "" if delta is None else f" ({'+' if delta >= 0 else ''}{_value(delta)})"
        out.append(f"  {change.field}: {_value(change.before)} -> {_value(change.after)}{sign}")
    for name in result.pools_added:
        out.append(f"pool {name}: added")
    for name in result.pools_removed:
        out.append(f"pool {name}: removed")
    r = result
    out.append(f"resources: {len(r.added)} added, {len(r.removed)} removed, {len(r.changed)} changed, "
               f"{r.unchanged} unchanged" + ("" if r.compared_inputs else
                                             " (inputs not compared: a side has no input_digests)"))
    for mark, items in (("+", r.added), ("-", r.removed), ("~", r.changed)):
        for item in items[:MAX_LISTED]:
            inputs = f"  [{', '.join(item.inputs)}]" if item.inputs else ""
            out.append(f"  {mark} {item.urn}{inputs}")
        if len(items) > MAX_LISTED:
            out.append(f"  {mark} ... {len(items) - MAX_LISTED} more (see --json)")
    return "\n".join(out)
