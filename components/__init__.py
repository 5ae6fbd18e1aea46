"""Pulumi components: a thin layer over ``neocloud.plan`` (components never recompute what the plan decided).

The names below are imported on first use, so ``components.providers.<name>.profile`` (pure provider data that
``neocloud.spec`` and the policies read) imports without Pulumi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

if TYPE_CHECKING:
    from .cluster import GpuCluster, cluster_facts
    from .config import ConfigError, load_cluster
    from .labels import cluster_tags, pool_labels
    from .pool import GpuPool, pool_facts

__all__ = ["ConfigError", "GpuCluster", "GpuPool", "cluster_facts", "cluster_tags", "load_cluster", "pool_facts",
           "pool_labels"]

__getattr__ = lazy_exports(__name__, {
    "GpuCluster": ".cluster", "cluster_facts": ".cluster", "ConfigError": ".config", "load_cluster": ".config",
    "cluster_tags": ".labels", "pool_labels": ".labels", "GpuPool": ".pool", "pool_facts": ".pool",
})
