"""Shared flags and error handling of the AWS commands (``backend``, ``preflight``, ``topology``).

Not a command module (its name starts with ``_``, so the command discovery skips it).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

from ..aws_ops import AwsError, AwsOptions, translate
from ..aws_ops.errors import BOTOCORE_ERRORS
from ..aws_ops.session import DEFAULT_MAX_ATTEMPTS
from ..errors import SpecError

__all__ = ["add_aws_arguments", "aws_command", "aws_options"]

Run = Callable[[argparse.Namespace], int]


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """``--region``, ``--profile``, ``--endpoint-url`` and the retry flags."""
    group = parser.add_argument_group("AWS")
    group.add_argument("--region", default=None, help="AWS region (default: the stack's, else AWS_REGION/profile)")
    group.add_argument("--profile", default=None, help="named profile from ~/.aws/config")
    group.add_argument("--endpoint-url", default=None,
                       help="send every AWS call here (an S3-compatible store, or a local test endpoint)")
    group.add_argument("--max-attempts", type=int, default=DEFAULT_MAX_ATTEMPTS,
                       help=f"attempts per AWS call, retries with backoff included (default {DEFAULT_MAX_ATTEMPTS})")
    group.add_argument("--retry-mode", choices=("standard", "adaptive"), default="standard",
                       help="botocore retry mode (default standard; adaptive adds client-side rate limiting)")


def aws_options(args: argparse.Namespace, region: str | None = None) -> AwsOptions:
    """``AwsOptions`` from the parsed flags; ``region`` (e.g. the stack's) is used when ``--region`` is absent."""
    if args.max_attempts < 1 or args.max_attempts > 20:
        raise SpecError("--max-attempts", f"must be 1 to 20; got {args.max_attempts}")
    endpoint = args.endpoint_url
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise SpecError("--endpoint-url", f"must start with http:// or https://; got {endpoint!r}")
    return AwsOptions(region=args.region or region, profile=args.profile, endpoint_url=endpoint,
                      max_attempts=args.max_attempts, retry_mode=args.retry_mode)


def aws_command(run: Run) -> Run:
    """Wrap a command so that no AWS or botocore error escapes as a traceback: one line, its exit code."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except AwsError as error:
            print(f"neocloud: error: {error}", file=sys.stderr)
            return error.exit_code
        except BOTOCORE_ERRORS as error:  # a call outside translated(): still one line
            translated = translate(error)
            print(f"neocloud: error: {translated}", file=sys.stderr)
            return translated.exit_code

    return wrapper
