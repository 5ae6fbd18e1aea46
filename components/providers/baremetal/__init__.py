"""Provider ``baremetal``: the operator's own racks and an existing Kubernetes cluster.

``profile`` holds what the rest of neocloud asks about this provider (pure: no Pulumi); ``_build`` registers
its resources and is imported on first use of a name below."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

if TYPE_CHECKING:
    from ._build import bill_of_materials, build, kubernetes_provider

__all__ = ["bill_of_materials", "build", "kubernetes_provider"]

__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "._build"))
