"""Provider ``digitalocean``: VPC, DOKS with GPU node pools (NVIDIA, AMD), Spaces and NFS (``pulumi-digitalocean``).

``profile`` holds what the rest of neocloud asks about this provider (pure: no Pulumi); ``_build`` registers
its resources and is imported on first use of a name below."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

if TYPE_CHECKING:
    from ._build import NFS_MIN_GIB, build, do_tags, node_pool_args

__all__ = ["NFS_MIN_GIB", "build", "do_tags", "node_pool_args"]

__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "._build"))
