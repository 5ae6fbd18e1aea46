"""``neocloud preflight STACK``: capacity, EFA, quota and topology checks for a stack's AWS pools."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from components.providers.aws.profile import AwsSettings

from ..aws_ops import AwsSession
from ..aws_ops.preflight import CHECKS, PreflightReport, Window, run_preflight
from ..errors import CONFIG_KEY, SpecError
from ..offline import load_stack_config
from ..plan import ClusterPlan, build_plan
from ..spec import ClusterSpec, load_cluster_spec
from ._aws import add_aws_arguments, aws_command, aws_options
from .plan import add_stack_arguments, project_dir

__all__ = ["load_stack", "load_stack_plan", "parse_time", "register", "render_preflight"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``preflight``."""
    parser = subparsers.add_parser(
        "preflight", help="check AWS capacity, EFA, quotas and reserved-capacity topology before a deploy",
        description="Exit 0 when every check passes or is skipped, 1 when one fails or cannot run, 2 for bad input "
                    "or missing credentials/permissions.")
    add_stack_arguments(parser)
    parser.add_argument("--start", default=None, help="planned window start, ISO 8601 (default: now, UTC)")
    parser.add_argument("--end", default=None, help="planned window end, ISO 8601 (default: the start)")
    parser.add_argument("--skip", action="append", default=[], choices=CHECKS, metavar="CHECK",
                        help=f"skip a check (repeatable): {', '.join(CHECKS)}")
    parser.add_argument("--min-shared-layer", type=int, default=1,
                        help="reservations of a pool must share a network node down to this layer (default 1)")
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    add_aws_arguments(parser)
    parser.set_defaults(run=_run)


def parse_time(value: str | None, flag: str, default: datetime) -> datetime:
    """An ISO 8601 time (UTC when no offset is given); raises ``SpecError`` naming ``flag``."""
    if value is None:
        return default
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SpecError(flag, f"not an ISO 8601 time: {value!r} (e.g. 2026-12-01T11:30:00Z)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def load_stack(root: Path, stack: str) -> tuple[ClusterSpec, ClusterPlan]:
    """The spec and plan of ``stacks/Pulumi.<stack>.yaml`` (spec + planner; the program is not run)."""
    config, _ = load_stack_config(root, stack)
    raw = config.get(CONFIG_KEY)
    if raw is None:
        raise SpecError(f"stack {stack}", f"no {CONFIG_KEY} key in the stack config")
    spec = load_cluster_spec(raw)
    return spec, build_plan(spec)


def load_stack_plan(root: Path, stack: str) -> ClusterPlan:
    """The plan of ``stacks/Pulumi.<stack>.yaml``."""
    return load_stack(root, stack)[1]


@aws_command
def _run(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    start = parse_time(args.start, "--start", now)
    end = parse_time(args.end, "--end", start)
    if end < start:
        raise SpecError("--end", f"{end.isoformat()} is before --start {start.isoformat()}")
    if not 1 <= args.min_shared_layer <= 4:
        raise SpecError("--min-shared-layer",
                        f"must be 1 to 4 (EC2 reports 3 or 4 layers); got {args.min_shared_layer}")
    spec, plan = load_stack(project_dir(args.project_dir), args.stack)
    if plan.provider != "aws":
        raise SpecError("STACK", f"stack '{args.stack}' is provider '{plan.provider}'; preflight checks AWS pools "
                        "only (stacks with provider aws)")
    if args.region and plan.region and args.region != plan.region:
        raise SpecError("--region", f"stack '{args.stack}' is in {plan.region}, not {args.region}")
    session = AwsSession(aws_options(args, region=plan.region))
    region = session.region or ""
    print(f"preflight: {len(plan.pools)} AWS pool(s) of stack '{args.stack}' in {region} ...", file=sys.stderr,
          flush=True)
    report = run_preflight(plan, session.client("ec2"), session.client("service-quotas"), stack=args.stack,
                           region=region, window=Window(start, end), skip=args.skip,
                           min_shared_layer=args.min_shared_layer, now=now,
                           reservation_sizes=spec.settings_of(AwsSettings).reservation_instances)
    print(json.dumps(report.to_dict(), indent=2) if args.json else render_preflight(report))
    return 0 if report.ok else 1


def render_preflight(report: PreflightReport) -> str:
    """The pass/fail table with reasons, and a verdict line."""
    rows: list[tuple[str, ...]] = [("POOL", "CHECK", "STATUS", "REASON")]
    rows += [(r.pool, r.check, r.status.upper(), r.reason) for r in report.results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"preflight {report.stack} ({report.cluster}, {report.region}), window {report.window.to_dict()['start']}"
             f" to {report.window.to_dict()['end']}"]
    lines += ["  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)) for row in rows]
    counts: dict[str, Any] = report.to_dict()["counts"]
    verdict = "OK" if report.ok else "FAILED"
    lines.append(f"{verdict}: {counts['pass']} passed, {counts['fail']} failed, {counts['error']} could not run, "
                 f"{counts['skip']} skipped")
    return "\n".join(lines)
