"""Provider `nebius`: the planner and the component skeleton only, until its provider issue lands."""

from __future__ import annotations

from . import ProviderContext, ProviderResult

__all__ = ["build"]


def build(ctx: ProviderContext) -> ProviderResult:
    return ProviderResult(outputs={})
