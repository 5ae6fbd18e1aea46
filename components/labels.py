"""Topology label and tag keys: one vocabulary (pool, su, rack, nvlink domain, rail) for every provider.

Values are plain strings computed from the plan, never Outputs, so policies can read them during a preview.
"""

from __future__ import annotations

from neocloud.plan import ClusterPlan, PoolPlan

__all__ = [
    "ACCEPTANCE_TAINT",
    "GPU_TAINT",
    "LABEL_ACCELERATOR",
    "LABEL_CLUSTER",
    "LABEL_NVLINK_DOMAIN",
    "LABEL_POOL",
    "LABEL_RACK",
    "LABEL_RAIL",
    "LABEL_SU",
    "LABEL_SYSTEM",
    "cluster_tags",
    "pool_labels",
]

PREFIX = "neocloud.io"
LABEL_CLUSTER = f"{PREFIX}/cluster"
LABEL_POOL = f"{PREFIX}/pool"
"""GPU pool name."""
LABEL_SYSTEM = f"{PREFIX}/system"
"""Catalog system name (instance type on AWS)."""
LABEL_ACCELERATOR = f"{PREFIX}/accelerator"
"""Catalog GPU name."""
LABEL_SU = f"{PREFIX}/su"
"""Scalable unit (placement block on AWS)."""
LABEL_RACK = f"{PREFIX}/rack"
LABEL_NVLINK_DOMAIN = f"{PREFIX}/nvlink-domain"
LABEL_RAIL = f"{PREFIX}/rail"

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
"""Keeps non-GPU pods off GPU nodes."""
ACCEPTANCE_TAINT = {"key": f"{PREFIX}/acceptance", "value": "pending", "effect": "NoSchedule"}
"""Put on new GPU nodes; the node acceptance job removes it when NCCL and DCGM tests pass."""


def cluster_tags(plan: ClusterPlan) -> dict[str, str]:
    """Tags for every taggable cloud resource of the cluster."""
    return {LABEL_CLUSTER: plan.name, f"{PREFIX}/environment": plan.environment, "managed-by": "neocloud"}


def pool_labels(plan: ClusterPlan, pool: PoolPlan) -> dict[str, str]:
    """Node labels every node of ``pool`` carries (per-node SU/rack/domain labels come from the provider)."""
    return {
        LABEL_CLUSTER: plan.name,
        LABEL_POOL: pool.name,
        LABEL_SYSTEM: pool.system.name,
        LABEL_ACCELERATOR: pool.system.gpu,
    }
