"""``neocloud backend bootstrap BUCKET``: the S3 bucket for a Pulumi state backend, idempotently."""

from __future__ import annotations

import argparse
import json

from ..aws_ops import AwsSession
from ..aws_ops.backend import DEFAULT_NONCURRENT_DAYS, BootstrapReport, bootstrap_backend
from ..errors import SpecError
from ._aws import add_aws_arguments, aws_command, aws_options

__all__ = ["register", "render_bootstrap"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``backend bootstrap``."""
    parser = subparsers.add_parser("backend", help="Pulumi state backend on S3 (bootstrap)")
    commands = parser.add_subparsers(dest="backend_command", required=True)
    boot = commands.add_parser(
        "bootstrap", help="create or complete the state bucket (versioned, encrypted, private) and print the login",
        description="Idempotent: re-running changes nothing; never deletes an object, version, policy, ACL grant "
                    "or lifecycle rule. Reads the bucket first and refuses (exit 1, nothing changed) when a lifecycle "
                    "rule would expire or archive the state, the bucket policy or ACL is public, or a bucket-wide "
                    "setting of a shared bucket would change without --bucket-wide; a bucket in another region is "
                    "bad input (exit 2).")
    boot.add_argument("bucket", metavar="BUCKET", help="bucket name, optionally with a path: BUCKET[/PREFIX]")
    boot.add_argument("--noncurrent-days", type=int, default=DEFAULT_NONCURRENT_DAYS,
                      help=f"keep superseded state versions this many days (default {DEFAULT_NONCURRENT_DAYS})")
    boot.add_argument("--kms-key-id", default=None, help="default encryption with this KMS key (default SSE-S3)")
    boot.add_argument("--bucket-wide", action="store_true",
                      help="allow changing bucket-wide settings (versioning, default encryption, public access "
                      "block) of a bucket that also holds other objects (shared with other teams)")
    boot.add_argument("--json", action="store_true", help="print the JSON document")
    add_aws_arguments(boot)
    boot.set_defaults(run=_run)


@aws_command
def _run(args: argparse.Namespace) -> int:
    options = aws_options(args)
    session = AwsSession(options)
    region = session.region
    if not region:
        raise SpecError("--region", "no AWS region: pass --region or set AWS_REGION (the bucket is created there)")
    report = bootstrap_backend(
        session.client("s3"), args.bucket, region=region, profile=options.profile,
        endpoint_url=options.endpoint_url, noncurrent_days=args.noncurrent_days, kms_key_id=args.kms_key_id,
        bucket_wide=args.bucket_wide)
    print(json.dumps(report.to_dict(), indent=2) if args.json else render_bootstrap(report))
    return 1 if report.refused else 0


def render_bootstrap(report: BootstrapReport) -> str:
    """The text report: one line per setting, then the ``pulumi login`` line."""
    path = f"{report.bucket}/{report.prefix}" if report.prefix else report.bucket
    state = ("REFUSED, nothing changed" if report.refused else "changed" if report.changed
             else "already as wanted, nothing changed")
    lines = [f"state backend s3://{path} ({report.region}): {state}"]
    lines += [f"  found: {finding}" for finding in report.found]
    lines += [f"  {setting:<20} {outcome:<8} {detail}" for setting, outcome, detail in report.steps]
    lines += [f"refused: {reason}" for reason in report.refused]
    if not report.refused:
        lines.append(f"pulumi login '{report.login_url}'")
    return "\n".join(lines)
