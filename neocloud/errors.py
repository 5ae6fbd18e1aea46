"""Errors that the command line turns into one line and exit code 2."""

from __future__ import annotations

__all__ = ["SpecError", "CONFIG_KEY"]

CONFIG_KEY = "neocloud:cluster"
"""The structured Pulumi config key that holds the cluster spec."""


class SpecError(ValueError):
    """Bad input: ``path`` names the config path (or command-line flag), ``message`` what is allowed."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
