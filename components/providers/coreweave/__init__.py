"""Provider ``coreweave``: CKS, VPC, AI Object Storage and NodePools (official ``pulumi-coreweave``).

``profile`` holds what the rest of neocloud asks about this provider (pure: no Pulumi); ``_build`` registers
its resources and is imported on first use of a name below."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

if TYPE_CHECKING:
    from ._build import NODEPOOL_API_VERSION, NODEPOOL_KIND, bucket_policy, build, nodepool_labels, nodepool_spec

__all__ = ["NODEPOOL_API_VERSION", "NODEPOOL_KIND", "bucket_policy", "build", "nodepool_labels", "nodepool_spec"]

__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "._build"))
