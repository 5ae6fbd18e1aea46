"""Kueue Topology levels per pool, from the plan, in the node labels each provider really sets.

Levels run from the widest domain to the single node (``kubernetes.io/hostname`` last, as Kueue requires). Which
labels a provider's nodes carry is the provider profile's knowledge (``ProviderProfile.topology_levels``): EKS's
``topology.k8s.aws/network-node-layer-N``, CoreWeave's ``ib.coreweave.cloud/*``, and elsewhere our own
``neocloud.io/su``, NVLink domain and rack labels.
"""

from __future__ import annotations

from neocloud.plan import ClusterPlan, PoolPlan
from neocloud.profiles import profile
from neocloud.vocabulary import HOSTNAME

__all__ = ["HOSTNAME", "kueue_levels"]


def kueue_levels(plan: ClusterPlan, pool: PoolPlan) -> tuple[str, ...]:
    """The node labels of ``pool``'s Kueue Topology, widest first, ending with ``kubernetes.io/hostname``."""
    return profile(plan.provider).topology_levels(plan, pool)
