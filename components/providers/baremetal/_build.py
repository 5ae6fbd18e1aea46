"""Bare metal: the operator's own racks. The plan itself is the product: rack elevations, the fabric bill of
materials and cabling per rail are stack outputs; the Kubernetes layer runs on the existing cluster given by
the ``neocloud:kubeconfig`` secret config.
"""

from __future__ import annotations

from typing import Any

import pulumi

from neocloud.plan import ClusterPlan, PoolPlan

from .._context import ProviderContext, ProviderResult

__all__ = ["bill_of_materials", "build", "kubernetes_provider"]


def bill_of_materials(plan: ClusterPlan, pool: PoolPlan, switch: str) -> dict[str, Any]:
    """Switches, cables and transceivers for one pool's fabric."""
    fabric = pool.fabric
    if fabric is None:
        return {}
    return {
        "switch_model": switch,
        "switches": {"leaf": fabric.leaf, "spine": fabric.spine, "core": fabric.core, "total": fabric.switches},
        "cables": {
            "node_leaf": fabric.cables.node_leaf,
            "leaf_spine": fabric.cables.leaf_spine,
            "spine_core": fabric.cables.spine_core,
            "total": fabric.cables.total,
        },
        "transceivers": {"switch": fabric.transceivers.switch, "node": fabric.transceivers.node},
        "nodes": pool.total_nodes,
        "racks": pool.racks.racks,
    }


def build(ctx: ProviderContext) -> ProviderResult:
    plan, spec = ctx.plan, ctx.spec
    outputs: dict[str, Any] = {
        "racks": {
            p.name: [
                {"group": g.name, "su": g.su, "racks": g.racks, "nodes_per_rack": g.nodes_per_rack,
                 "kw_per_rack": g.kw_per_rack}
                for g in p.racks.groups
            ]
            for p in plan.pools
        },
        "fabric_bom": {p.name: bill_of_materials(plan, p, spec.fabric.switch) for p in plan.pools},
        "cabling": {
            p.name: [
                {"rail": r.rail, "leaves": r.leaves, "node_cables": r.node_cables,
                 "management_cables": r.management_cables}
                for r in (p.fabric.rails_cabling if p.fabric else ())
            ]
            for p in plan.pools
        },
    }
    return ProviderResult(outputs=outputs, kubernetes_provider=kubernetes_provider(ctx))


def kubernetes_provider(ctx: ProviderContext) -> Any:
    """The existing cluster's API: kubeconfig from the ``neocloud:kubeconfig`` secret config if set, else the
    ambient kubeconfig (pulumi-kubernetes' default: ``$KUBECONFIG`` or ``~/.kube/config``); the context from
    ``neocloud:kubeContext`` if set, else the kubeconfig's current context."""
    import pulumi_kubernetes as k8s

    config = pulumi.Config("neocloud")
    return k8s.Provider(f"{ctx.name}-k8s", kubeconfig=config.get_secret("kubeconfig"),
                        context=config.get("kubeContext"), opts=pulumi.ResourceOptions(parent=ctx.parent))
