"""``neocloud report STACK --out FILE.html``: the plan as pictures on one self-contained page, with the policy results.

Runs the program offline (as ``plan``) and the real policy pack (as ``check``), then draws the page with
``neocloud.report``. Exit 0 when the page is written (policy violations are shown on it; gate on ``check``), 2 on
bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..offline import ProgramRun
from ..offline.analyzer import AnalysisResult
from ..report import render_report
from .check import add_policy_arguments, check_document, check_policy_arguments, run_policies
from .plan import add_stack_arguments, plan_document, run_stack

__all__ = ["register", "report_document"]

CLUSTER_TYPE = "neocloud:index:GpuCluster"
"""The component that carries the cluster-wide facts (``components.cluster.GpuCluster.TYPE``)."""
RACK_POLICY = "rack-power-budget"
GOODPUT_POLICY = "goodput-floor"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("report", help="write an HTML page with pictures of the plan: racks, fabric, "
                                   "NVLink domains, storage, power, cost, policy results")
    add_stack_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.html", help="the page to write")
    parser.add_argument("--no-policies", action="store_true",
                        help="do not run the policy pack (the page then says so)")
    add_policy_arguments(parser)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.is_dir():
        raise SpecError("--out", f"{out} is a directory; give a file name such as {out / 'report.html'}")
    if not out.parent.is_dir():
        raise SpecError("--out", f"directory {out.parent} does not exist")
    check_policy_arguments(args)
    root, run = run_stack(args)
    result: AnalysisResult | None = None
    config = ""
    if not args.no_policies:
        result, config = run_policies(args, root, run)
    from . import version

    html = render_report(report_document(run, result, config, generated_by=f"neocloud {version()}"))
    # Written whole or not at all: a half-written page must not be mistaken for a report.
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(html)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    verdict = "" if result is None else (f"; policies {'passed' if result.passed else 'FAILED'} "
                                         f"({len(result.mandatory)} mandatory, {len(result.advisory)} advisory)")
    print(f"wrote {out} ({len(html.encode()):,} bytes){verdict}", file=sys.stderr)
    return 0


def report_document(run: ProgramRun, result: AnalysisResult | None, config: str = "", *,
                    generated_by: str = "neocloud") -> dict[str, Any]:
    """What the page is drawn from: the ``plan --json`` document, the ``check --format json`` document, the rack
    power budget, the filesystem spec and the exported placement blocks (never secrets or kubeconfigs)."""
    facts = _cluster_facts(run)
    checks = None if result is None else check_document(result, run.stack, run.project, config)
    blocks = run.outputs.get("placement_blocks")
    return {
        "plan": plan_document(run),
        "checks": checks,
        "rack_budget": _rack_budget(facts, result),
        "filesystem": facts.get("filesystem"),
        "placement_blocks": blocks if isinstance(blocks, Mapping) else {},
        "goodput_floor": _setting(result, GOODPUT_POLICY, "minExpectedGoodput"),
        "provider_builds_network": _provider_builds_network(run.outputs.get("plan", {}).get("provider")),
        "generated_by": generated_by,
    }


def _provider_builds_network(provider: Any) -> bool:
    """Whether the provider, not the site, builds the racks and the fabric (its profile has no physical racks)."""
    from ..profiles import profile

    try:
        return not profile(str(provider)).physical_racks
    except KeyError:  # a program without a cluster plan
        return False


def _setting(result: AnalysisResult | None, policy: str, name: str) -> Any:
    """A policy's reconciled config value, or None when the pack did not run or the policy is disabled."""
    settings = result.config.get(policy, {}) if result is not None else {}
    return None if settings.get("enforcementLevel", "disabled") == "disabled" else settings.get(name)


def _cluster_facts(run: ProgramRun) -> Mapping[str, Any]:
    cluster = next((r for r in run.resources if r.type == CLUSTER_TYPE), None)
    facts = cluster.inputs.get("neocloud") if cluster is not None else None
    return facts if isinstance(facts, Mapping) else {}


def _rack_budget(facts: Mapping[str, Any], result: AnalysisResult | None) -> dict[str, Any]:
    """The budgets the rack-power-budget policy reads (the spec's and its config's), for the picture's budget line;
    whether a rack is over it is the policy's verdict, read from its violations."""
    sources: list[dict[str, Any]] = []
    spec_kw = (facts.get("racks_spec") or {}).get("power_budget_kw")
    if spec_kw:
        sources.append({"kw": float(spec_kw), "source": "racks.power_budget_kw"})
    settings = (result.config.get(RACK_POLICY, {}) if result is not None else {})
    headroom = 0.0
    if settings.get("enforcementLevel", "disabled") != "disabled":
        if settings.get("maxRackKw"):
            sources.append({"kw": float(settings["maxRackKw"]), "source": "policy maxRackKw"})
        headroom = float(settings.get("headroomPercent") or 0)
    limit = min(float(s["kw"]) for s in sources) * (1 - headroom / 100) if sources else None
    return {"sources": sources, "headroom_percent": headroom, "limit_kw": limit}
