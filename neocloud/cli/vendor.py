"""``neocloud vendor fetch [DIR]`` / ``neocloud vendor check [DIR]``: the pinned upstream schemas and chart values
the tests validate against (``neocloud/vendor/manifest.json``), so a clone stands alone without ``../shared``.

``fetch`` downloads every file from its repository at the pinned commit and verifies its size and sha256 (exit 1
naming the file on any failure, leaving DIR as it was); ``check`` verifies a folder (exit 1 listing what is missing
or different). DIR defaults to ``.vendor`` in the project, where the tests look first.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import SpecError
from ..vendor import (
    DEFAULT_BASE_URL,
    DEFAULT_DIR,
    TIMEOUT_SECONDS,
    FetchError,
    fetch,
    find_vendor_dir,
    manifest,
    problems,
)
from .plan import project_dir

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("vendor", help="fetch or verify the pinned upstream schemas the tests use")
    commands = parser.add_subparsers(dest="vendor_command", required=True, parser_class=type(parser))
    fetch_parser = commands.add_parser("fetch", help="download every pinned file and verify its sha256")
    fetch_parser.add_argument("dir", nargs="?", type=Path, default=None,
                              help=f"target folder (default: {DEFAULT_DIR}/ in the project)")
    fetch_parser.add_argument("--base-url", default=DEFAULT_BASE_URL,
                              help=f"raw file host, serving <repository>/<commit>/<path> (default {DEFAULT_BASE_URL})")
    fetch_parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS,
                              help=f"seconds per download before giving up (default {TIMEOUT_SECONDS:g})")
    fetch_parser.add_argument("--refresh", action="store_true",
                              help="fetch even when the tests already have a verified copy")
    fetch_parser.set_defaults(run=_fetch)
    check_parser = commands.add_parser("check", help="verify a folder against the manifest's sha256s")
    check_parser.add_argument("dir", nargs="?", type=Path, default=None,
                              help=f"folder to verify (default: {DEFAULT_DIR}/ in the project)")
    check_parser.set_defaults(run=_check)


def _target(args: argparse.Namespace) -> Path:
    if args.dir is not None:
        return Path(args.dir)
    try:
        return project_dir(None) / DEFAULT_DIR
    except SpecError:
        raise SpecError("DIR", "no Pulumi.yaml in the current directory; give the target folder") from None


def _fetch(args: argparse.Namespace) -> int:
    if not args.base_url.startswith(("http://", "https://")):
        raise SpecError("--base-url", f"{args.base_url!r} is not an http(s) URL")
    if args.timeout <= 0:
        raise SpecError("--timeout", f"must be > 0 seconds; got {args.timeout:g}")
    target = _target(args)
    if args.dir is None and not args.refresh:
        # The README's `neocloud vendor fetch && python -m pytest` must also work where shared/ sits beside the
        # checkout (and nothing needs downloading): say which verified copy the tests will read.
        found = find_vendor_dir(target.parent)
        if found is not None and not problems(found):
            print(f"the tests read {found}: every pinned file is there and verified; nothing to fetch "
                  "(--refresh fetches anyway)")
            return 0
    try:
        files = fetch(target, base_url=args.base_url, timeout=args.timeout,
                      progress=lambda line: print(line, file=sys.stderr, flush=True))
    except FetchError as error:
        print(f"neocloud: vendor fetch failed: {error}", file=sys.stderr)
        return 1
    skipped = [f for f in manifest() if not f.upstream_identical]
    print(f"fetched and verified {len(files)} files into {target}"
          + (f"; not fetchable ({len(skipped)}): " + ", ".join(f.path for f in skipped) if skipped else ""))
    return 0


def _check(args: argparse.Namespace) -> int:
    target = _target(args)
    if not target.is_dir():
        raise SpecError("DIR", f"{target} is not a folder; run `neocloud vendor fetch {args.dir or ''}`".rstrip())
    found = problems(target)
    for line in found:
        print(f"  {line}")
    print(f"{target}: {'FAILED, ' + str(len(found)) + ' problem(s)' if found else 'every pinned file verified'}")
    return 1 if found else 0
