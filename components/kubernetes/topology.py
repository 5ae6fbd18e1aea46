"""Kueue Topology levels per pool, from the plan, in the node labels each provider really sets.

Levels run from the widest domain to the single node (``kubernetes.io/hostname`` last, as Kueue requires).

- **aws**: EKS labels nodes ``topology.k8s.aws/network-node-layer-N`` from DescribeInstanceTopology: 3 layers
  for p4d, p4de, p5, p5e, p5en and p6e-gb200, 4 for p6-b200 and p6-b300 (hardware.md AWS [P]), layer 1 the
  farthest from the instance. An UltraServer (p6e-gb200) is one NVLink domain (AWS-EKS [P]); how its
  instances sit under the network layers is not documented, so its levels are the NVLink domain (our
  ``neocloud.io/nvlink-domain`` label, set per UltraServer node group) and the host.
- **coreweave**: ``ib.coreweave.cloud/superpod`` and ``ib.coreweave.cloud/leafgroup`` for the InfiniBand fat
  tree; on GB200 NVL72 the rack (``node.coreweave.cloud/rack``) is the NVLink domain (hardware.md [P]/[S]).
- **elsewhere** (baremetal, nebius): our own labels from ``components.labels``: ``neocloud.io/su``, then the
  NVLink domain where it spans nodes (NVL72) or the rack where racks are planned (baremetal HGX), then host.
"""

from __future__ import annotations

from neocloud.plan import ClusterPlan, PoolPlan

from ..labels import LABEL_NVLINK_DOMAIN, LABEL_RACK, LABEL_SU

__all__ = [
    "AWS_NETWORK_LAYERS",
    "COREWEAVE_LEAFGROUP",
    "COREWEAVE_RACK",
    "COREWEAVE_SUPERPOD",
    "HOSTNAME",
    "aws_layer_label",
    "kueue_levels",
]

HOSTNAME = "kubernetes.io/hostname"
"""The well-known node label; Kueue allows it only as the last level."""

AWS_NETWORK_LAYERS = {"p6-b200.48xlarge": 4, "p6-b300.48xlarge": 4}
"""DescribeInstanceTopology layers where they are not 3 (hardware.md AWS [P])."""

COREWEAVE_SUPERPOD = "ib.coreweave.cloud/superpod"
"""CoreWeave's InfiniBand superpod node label (hardware.md Neoclouds [P]/[S])."""
COREWEAVE_LEAFGROUP = "ib.coreweave.cloud/leafgroup"
"""CoreWeave's InfiniBand leaf group node label (hardware.md Neoclouds [P]/[S])."""
COREWEAVE_RACK = "node.coreweave.cloud/rack"
"""CoreWeave's rack node label; on GB200 NVL72 the rack is the NVLink domain (hardware.md Neoclouds [P]/[S])."""


def aws_layer_label(layer: int) -> str:
    """EKS's node label for DescribeInstanceTopology network layer ``layer`` (1 = top)."""
    return f"topology.k8s.aws/network-node-layer-{layer}"


def kueue_levels(plan: ClusterPlan, pool: PoolPlan) -> tuple[str, ...]:
    """The node labels of ``pool``'s Kueue Topology, widest first, ending with ``kubernetes.io/hostname``."""
    system = pool.system
    multi_node_domain = system.nvlink_domain_nodes > 1
    if plan.provider == "aws":
        if system.kind == "aws-ultraserver":
            return (LABEL_NVLINK_DOMAIN, HOSTNAME)
        layers = AWS_NETWORK_LAYERS.get(system.name, 3)
        return (*(aws_layer_label(i) for i in range(1, layers + 1)), HOSTNAME)
    if plan.provider == "coreweave":
        return (COREWEAVE_SUPERPOD, COREWEAVE_RACK if multi_node_domain else COREWEAVE_LEAFGROUP, HOSTNAME)
    if multi_node_domain:
        return (LABEL_SU, LABEL_NVLINK_DOMAIN, HOSTNAME)
    if pool.racks.groups:
        return (LABEL_SU, LABEL_RACK, HOSTNAME)
    return (LABEL_SU, HOSTNAME)
