"""Provider ``aws``: EFA GPU clusters on EKS.

``profile`` holds what the rest of neocloud asks about this provider (pure: no Pulumi); ``_build`` registers
its resources and is imported on first use of a name below."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

if TYPE_CHECKING:
    from ._build import build, placement_blocks

__all__ = ["build", "placement_blocks"]

__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "._build"))
