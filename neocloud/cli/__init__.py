"""The ``neocloud`` command line. Exit codes (``EXIT_CODES``, also in ``--help`` and the README): 0 ok, 1 a
policy violation or failed check, 2 bad input, 3 a crash (the program, the policy pack or neocloud itself did not
run to its end: an exception, an early exit, or a deadline passed).

Each subcommand lives in its own module of this package with ``register(subparsers)``; a new command is a new
module, found by ``_command_modules``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence

from ..errors import CrashError, SpecError, first_line, where_raised

__all__ = ["EXIT_BAD_INPUT", "EXIT_BROKEN_PIPE", "EXIT_CODES", "EXIT_CRASH", "EXIT_FAILED", "EXIT_OK",
           "build_parser", "main", "version"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_CRASH = 3
EXIT_BROKEN_PIPE = 128 + 13
"""The reader of stdout went away (128 + SIGPIPE, what a shell reports for a filter killed by the signal)."""
EXIT_CODES = {
    EXIT_OK: "ok",
    EXIT_FAILED: "a mandatory policy violation or a failed check",
    EXIT_BAD_INPUT: "bad input: one line naming the config path or flag and what is allowed",
    EXIT_CRASH: "a crash: the Pulumi program, the policy pack or neocloud did not run to its end (an exception, "
    "an early exit or a deadline); the first line of the error and where to look",
    EXIT_BROKEN_PIPE: "the reader of stdout went away (e.g. `| head`); nothing more is printed",
}
DEBUG_ENV = "NEOCLOUD_DEBUG"
"""Set to 1 to get the full traceback of a crash on stderr."""

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
    codes = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    parser = _Parser(prog="neocloud", description="Plan, provision and police AI GPU clusters from one spec.",
                     epilog=f"exit codes:\n{codes}\n(set {DEBUG_ENV}=1 for a crash's traceback)",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
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
        sys.stdout.flush()  # inside the try: a reader that went away is seen here, not at interpreter exit
    except BrokenPipeError:
        # The reader closed the pipe (`neocloud catalog | head`): stop quietly, as a Unix filter killed by SIGPIPE
        # does (exit 128 + SIGPIPE). Python's docs ("Note on SIGPIPE", library/signal.html) point stdout at devnull
        # so the final flush cannot raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except SpecError as error:
        for line in error.lines():  # every problem, one line each
            print(f"neocloud: error: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except CrashError as error:
        _debug(error)
        print(f"neocloud: crash: {error}", file=sys.stderr)
        return EXIT_CRASH
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug of neocloud itself: still one line, never "bad input"
        _debug(error)
        look = where_raised(error)  # the innermost frame: where it was raised
        print(f"neocloud: crash: {type(error).__name__}: {first_line(str(error)) or 'no message'}"
              f"{f' (see {look})' if look else ''}; a bug in neocloud: set {DEBUG_ENV}=1 for the traceback",
              file=sys.stderr)
        return EXIT_CRASH
    return code


def _debug(error: BaseException) -> None:
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        traceback.print_exception(error, file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
