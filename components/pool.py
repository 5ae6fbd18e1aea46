"""``GpuPool``: a component per GPU pool that carries the pool's plan facts as plain values.

Policies read these facts (racks, NVLink domains, fabric, SUs) from the component's inputs, so rules work the
same in ``pulumi preview --policy-pack`` and in ``neocloud check``. Provider resources for the pool are its
children.
"""

from __future__ import annotations

from typing import Any

import pulumi

from neocloud.plan import ClusterPlan, PoolPlan

from .labels import pool_labels

__all__ = ["GpuPool", "pool_facts"]


def pool_facts(plan: ClusterPlan, pool: PoolPlan) -> dict[str, Any]:
    """The plain-value facts policies read: the pool plan plus cluster context."""
    facts = pool.to_dict()
    facts.update(
        cluster=plan.name,
        provider=plan.provider,
        environment=plan.environment,
        fabric_kind=plan.fabric_kind,
        labels=pool_labels(plan, pool),
        efa_network_cards=pool.system.efa_network_cards,
        efa_first_card=pool.system.efa_first_card,
        nvlink_domain_nodes=pool.system.nvlink_domain_nodes,
        system_kind=pool.system.kind,
        gpu_vendor=pool.system.gpu_vendor.name,
        gpu_resource=pool.system.gpu_vendor.resource,
    )
    blocks = getattr(plan.placement, "blocks", None)
    if blocks is not None and pool.name in blocks:
        # The per-block node labels the plan decided (AWS placement blocks): policies check node groups against
        # them instead of re-deriving them.
        facts["block_labels"] = [b.labels for b in blocks[pool.name]]
    return facts


class GpuPool(pulumi.ComponentResource):
    """One GPU pool; its provider resources are its children."""

    TYPE = "neocloud:index:GpuPool"

    def __init__(self, name: str, *, plan: ClusterPlan, pool: PoolPlan,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, {"neocloud": pool_facts(plan, pool)}, opts)
        self.plan = plan
        self.pool = pool
        self.register_outputs({})
