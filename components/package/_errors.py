"""Spec errors as the component provider protocol reports bad inputs."""

from __future__ import annotations

import re

from pulumi.errors import InputPropertyError
from pulumi.provider.experimental.util import camel_case

from neocloud import CONFIG_KEY, SpecError

__all__ = ["SpecInputError", "input_error"]

_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")


class SpecInputError(InputPropertyError):
    """A bad component input: the provider host reports it to the engine as an invalid property (the CLI prints
    the property path and reason, no traceback); in a Python program it reads ``path: reason``."""

    def __str__(self) -> str:
        return f"{self.property_path}: {self.reason}"


def input_error(error: SpecError, *, arg: str) -> SpecInputError:
    """``SpecError`` -> ``SpecInputError`` naming the consumer's property path.

    The message is the stack config's own; the path is the package input's, in the schema's camelCase
    names (``cluster.pools[0].nodesPerSu``), since that is what a TypeScript, Go or YAML program wrote.
    """
    path = error.path
    if path == CONFIG_KEY or path.startswith((f"{CONFIG_KEY}.", f"{CONFIG_KEY}[")):
        path = arg + path[len(CONFIG_KEY):]
    path = _SEGMENT.sub(lambda m: "." + camel_case(m.group(1)), path)
    return SpecInputError(path, error.message)
