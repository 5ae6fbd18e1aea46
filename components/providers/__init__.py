"""One package per target. Each has a pure ``profile`` module (``PROFILE``: the provider's spec settings,
validation, platform facts and resource types; registered in ``neocloud.profiles``) and Pulumi code exposing
``build(ctx: ProviderContext) -> ProviderResult``.

Provider packages are imported only for the provider a stack uses, so ``pulumi-nebius`` stays optional; the
names below are imported on first use, so a profile imports without Pulumi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from ._context import ProviderContext, ProviderResult, TeamVolumeSource, build_provider

__all__ = ["ProviderContext", "ProviderResult", "TeamVolumeSource", "build_provider"]

__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "._context"))
