"""Errors that the command line turns into one line and exit code 2."""

from __future__ import annotations

__all__ = ["CONFIG_KEY", "SpecError"]

CONFIG_KEY = "neocloud:cluster"
"""The structured Pulumi config key that holds the cluster spec."""


class SpecError(ValueError):
    """Bad input: ``path`` names the config path (or command-line flag), ``message`` what is allowed."""

    def __init__(self, path: str, message: str) -> None:
        # One line, always: user-supplied names (YAML keys, values) may carry newlines or control characters.
        path, message = _one_line(path), _one_line(message)
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.registered_resources = 0
        """Resources a program had registered when it raised this (the offline engine sets it; must be 0)."""


def _one_line(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
