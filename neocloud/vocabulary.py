"""One vocabulary: the label keys, taints and well-known names that components, policies, ``aws_ops`` and the
provider profiles all use, each defined once (a rename here renames it everywhere; a copy elsewhere would leave a
rule silently not applicable).

Pure constants, no imports: the policy pack and the offline engine read them too.
"""

from __future__ import annotations

__all__ = [
    "ACCEPTANCE_TAINT",
    "AWS_NETWORK_LAYER_LABEL",
    "HOSTNAME",
    "LABEL_ACCELERATOR",
    "LABEL_CLUSTER",
    "LABEL_ENVIRONMENT",
    "LABEL_NVLINK_DOMAIN",
    "LABEL_POOL",
    "LABEL_PURPOSE",
    "LABEL_RACK",
    "LABEL_RAIL",
    "LABEL_SU",
    "LABEL_SYSTEM",
    "PREFIX",
    "aws_layer_label",
]

PREFIX = "neocloud.io"
"""Prefix of every label and tag key this toolkit sets."""
LABEL_CLUSTER = f"{PREFIX}/cluster"
LABEL_ENVIRONMENT = f"{PREFIX}/environment"
LABEL_PURPOSE = f"{PREFIX}/purpose"
"""Bucket purpose (datasets, checkpoints, artifacts)."""
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

HOSTNAME = "kubernetes.io/hostname"
"""The well-known node label; Kueue allows it only as the last Topology level."""

ACCEPTANCE_TAINT = {"key": f"{PREFIX}/acceptance", "value": "pending", "effect": "NoSchedule"}
"""Put on new GPU nodes; the node acceptance job removes it when NCCL and DCGM tests pass."""

AWS_NETWORK_LAYER_LABEL = "topology.k8s.aws/network-node-layer-{}"
"""EKS's node label for DescribeInstanceTopology network layer N (1 = farthest from the instance; Amazon EKS user
guide, "Topology-aware scheduling" / EC2 instance topology)."""


def aws_layer_label(layer: int) -> str:
    """EKS's node label for DescribeInstanceTopology network layer ``layer`` (1 = top)."""
    return AWS_NETWORK_LAYER_LABEL.format(layer)
