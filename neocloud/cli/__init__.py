"""The ``neocloud`` command line. Exit codes: 0 ok, 1 policy violation or failed check, 2 bad input.

Each subcommand lives in its own module of this package with ``register(subparsers)``; a new command is a new
module, found by ``_command_modules``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from ..errors import SpecError

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "build_parser", "main", "version"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

_FIRST = ("plan", "check", "fabric", "schema")
"""Commands listed first in --help; the rest follow by name."""


def _command_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return sorted(names, key=lambda n: (_FIRST.index(n) if n in _FIRST else len(_FIRST), n))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's usage dump is noise in CI logs: one line, exit 2.
        self.exit(EXIT_BAD_INPUT, f"neocloud: error: {message} (see --help)\n")


def version() -> str:
    """The installed distribution's version (pyproject.toml), as ``neocloud --version`` prints it."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version("neocloud")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="neocloud", description="Plan, provision and police AI GPU clusters from one spec.")
    parser.add_argument("--version", action="version", version=f"neocloud {version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in _command_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except SpecError as error:
        print(f"neocloud: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
