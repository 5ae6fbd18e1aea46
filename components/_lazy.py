"""Lazy re-exports for packages whose pure parts must import without Pulumi.

A provider's ``profile`` module (spec settings, validation, resource types) is read by ``neocloud.spec`` and by
the policy pack, which must not pay for -- or, in the domain core, depend on -- ``pulumi`` and the provider SDKs.
Python runs every parent package's ``__init__`` before a submodule, so those ``__init__`` files import their
Pulumi modules only when one of their names is first used (PEP 562 module ``__getattr__``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module relative to the package)
    on first use of ``name``."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    return __getattr__
