"""Topology label and tag keys: one vocabulary (pool, su, rack, nvlink domain, rail) for every provider.

Values are plain strings computed from the plan, never Outputs, so policies can read them during a preview.
"""

from __future__ import annotations

from neocloud.catalog import GPU_VENDORS, System
from neocloud.plan import ClusterPlan, PoolPlan
from neocloud.vocabulary import (
    ACCEPTANCE_LABEL,
    ACCEPTANCE_TAINT,
    LABEL_ACCELERATOR,
    LABEL_CLUSTER,
    LABEL_ENVIRONMENT,
    LABEL_NVLINK_DOMAIN,
    LABEL_POOL,
    LABEL_RACK,
    LABEL_RAIL,
    LABEL_SU,
    LABEL_SYSTEM,
    PREFIX,
)

__all__ = [
    "ACCEPTANCE_LABEL",
    "ACCEPTANCE_LABELS",
    "ACCEPTANCE_TAINT",
    "GPU_TAINT",
    "LABEL_ACCELERATOR",
    "LABEL_CLUSTER",
    "LABEL_ENVIRONMENT",
    "LABEL_NVLINK_DOMAIN",
    "LABEL_POOL",
    "LABEL_RACK",
    "LABEL_RAIL",
    "LABEL_SU",
    "LABEL_SYSTEM",
    "PREFIX",
    "cluster_tags",
    "gpu_taint",
    "pool_labels",
]

ACCEPTANCE_LABELS = {ACCEPTANCE_LABEL["key"]: ACCEPTANCE_LABEL["value"]}
"""Node labels of a node set whose nodes join with ``ACCEPTANCE_TAINT`` (so the acceptance DaemonSet finds them)."""


def gpu_taint(system: System) -> dict[str, str]:
    """Keeps non-GPU pods off GPU nodes: the key is the vendor's GPU resource (``nvidia.com/gpu``,
    ``amd.com/gpu``), so pods that request it get the toleration from Kueue's ResourceFlavor."""
    return {"key": system.gpu_vendor.resource, "value": "present", "effect": "NoSchedule"}


GPU_TAINT = {"key": GPU_VENDORS["nvidia"].resource, "value": "present", "effect": "NoSchedule"}
"""NVIDIA GPU nodes' taint (``gpu_taint``); the NVIDIA GPU Operator's DaemonSets tolerate it."""


def cluster_tags(plan: ClusterPlan) -> dict[str, str]:
    """Tags for every taggable cloud resource of the cluster."""
    return {LABEL_CLUSTER: plan.name, LABEL_ENVIRONMENT: plan.environment, "managed-by": "neocloud"}


def pool_labels(plan: ClusterPlan, pool: PoolPlan) -> dict[str, str]:
    """Node labels every node of ``pool`` carries (per-node SU/rack/domain labels come from the provider)."""
    return {
        LABEL_CLUSTER: plan.name,
        LABEL_POOL: pool.name,
        LABEL_SYSTEM: pool.system.name,
        LABEL_ACCELERATOR: pool.system.gpu,
    }
