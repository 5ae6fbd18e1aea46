"""Pulumi components: a thin layer over ``neocloud.plan`` (components never recompute what the plan decided)."""

from .cluster import GpuCluster, cluster_facts
from .config import ConfigError, load_cluster
from .labels import cluster_tags, pool_labels
from .pool import GpuPool, pool_facts

__all__ = ["ConfigError", "GpuCluster", "GpuPool", "cluster_facts", "cluster_tags", "load_cluster", "pool_facts",
           "pool_labels"]
