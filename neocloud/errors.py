"""Errors the command line turns into one line and an exit code: bad input (2) or a crash (3)."""

from __future__ import annotations

import traceback
from collections.abc import Iterable

__all__ = ["CONFIG_KEY", "CrashError", "SpecError", "where_raised"]

CONFIG_KEY = "neocloud:cluster"
"""The structured Pulumi config key that holds the cluster spec."""


class SpecError(ValueError):
    """Bad input: ``path`` names the config path (or command-line flag), ``message`` what is allowed."""

    def __init__(self, path: str, message: str, *, more: Iterable[tuple[str, str]] = ()) -> None:
        # One line, always: user-supplied names (YAML keys, values) may carry newlines or control characters.
        path, message = _one_line(path), _one_line(message)
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.problems: list[tuple[str, str]] = [(path, message), *((_one_line(p), _one_line(m)) for p, m in more)]
        """Every problem found, the first one included: (path, message), one line each."""
        self.registered_resources = 0
        """Resources a program had registered when it raised this (the offline engine sets it; must be 0)."""

    def lines(self) -> list[str]:
        """One ``path: message`` line per problem."""
        return [f"{p}: {m}" for p, m in self.problems]


class CrashError(RuntimeError):
    """Something that should have run to the end did not: the Pulumi program or the policy pack crashed, hung
    past its deadline, or exited early. Never bad input (exit 2): the command line exits 3 with ``what`` (one
    line: the first line of the error) and ``look`` (where to look: a file and line, or a log file)."""

    def __init__(self, what: str, *, look: str = "") -> None:
        what, look = _one_line(what), _one_line(look)
        super().__init__(f"{what}{f' (see {look})' if look else ''}")
        self.what = what
        self.look = look


def where_raised(exc: BaseException, *, under: str | None = None) -> str:
    """``file:line in function`` of the innermost frame of ``exc``'s traceback (under ``under`` when given)."""
    frames: list[traceback.FrameSummary] = list(traceback.extract_tb(exc.__traceback__))
    if under is not None:
        mine = [f for f in frames if f.filename.startswith(under)]
        frames = mine or frames
    if not frames:
        return ""
    frame = frames[-1]
    return f"{frame.filename}:{frame.lineno} in {frame.name}"


def first_line(text: str) -> str:
    """The first non-empty line of ``text`` (an error's first line is what a person reads)."""
    return next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")


def _one_line(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
