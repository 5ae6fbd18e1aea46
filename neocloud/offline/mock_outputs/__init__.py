"""What providers compute that a program may read (ids, ARNs, endpoints), for runs under mocks.

Only values a program reads belong here; every other output echoes the inputs. Each provider has its own
module that fills ``OUTPUTS`` and ``INVOKES`` with clearly fake values (account 000000000000): here, or as
``mock_outputs`` in the provider's own package (``components/providers/<name>/mock_outputs.py``).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from typing import Any

__all__ = ["FAKE_ACCOUNT", "INVOKES", "OUTPUTS", "invoke_result", "outputs_for"]

FAKE_ACCOUNT = "000000000000"

OUTPUTS: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {}
"""Resource type token -> (name, inputs) -> computed outputs."""

INVOKES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""Invoke token -> (args) -> result."""

_loaded = False


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
        from ...profiles import all_profiles

        for profile in all_profiles():
            name = f"{profile.build_module}.mock_outputs"
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
        _loaded = True


def outputs_for(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    _load()
    computed = OUTPUTS.get(type_)
    return computed(name, inputs) if computed else {}


def invoke_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    _load()
    answer = INVOKES.get(token)
    return answer(args) if answer else {}
