"""``GpuCluster``: the whole cluster from one spec and its plan."""

from __future__ import annotations

from typing import Any

import pulumi

from neocloud import ClusterPlan, ClusterSpec
from neocloud.plan.kubernetes import plan_team_queues
from neocloud.plan.slurm import slurm_topology_yaml

from .kubernetes import KubernetesLayer
from .pool import GpuPool
from .providers import ProviderContext, ProviderResult, build_provider

__all__ = ["GpuCluster", "cluster_facts"]


def cluster_facts(spec: ClusterSpec, plan: ClusterPlan) -> dict[str, Any]:
    """Cluster-wide plain-value facts for policies: totals, storage targets and the spec's policy inputs."""
    facts = plan.to_dict()
    facts.pop("pools")
    facts["pools"] = [p.name for p in plan.pools]
    facts["schedulable_gpus"] = {p.name: p.gpus for p in plan.pools}
    facts["racks_spec"] = spec.racks.model_dump()
    facts["fabric_spec"] = spec.fabric.model_dump()
    facts["checkpoint"] = spec.storage.checkpoint.model_dump() if spec.storage.checkpoint else None
    facts["filesystem"] = spec.storage.filesystem.model_dump() if spec.storage.filesystem else None
    # The planned team queues (pool resolved once by ClusterSpec.queue_pool), not the raw spec entries: the
    # quota rules read the pool from here and never default it themselves.
    facts["queues"] = [q.to_dict() for q in plan_team_queues(spec, plan)]
    return facts


class GpuCluster(pulumi.ComponentResource):
    """A GPU cluster: one ``GpuPool`` per pool, the provider's infrastructure, and (where a Kubernetes API is
    reachable) the Kubernetes layer. ``stack_outputs`` is what the program exports."""

    TYPE = "neocloud:index:GpuCluster"

    def __init__(self, name: str, *, spec: ClusterSpec, plan: ClusterPlan,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, {"neocloud": cluster_facts(spec, plan)}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.pools = {p.name: GpuPool(f"{name}-{p.name}", plan=plan, pool=p, opts=child) for p in plan.pools}
        self.infrastructure: ProviderResult = build_provider(
            ProviderContext(name=name, spec=spec, plan=plan, parent=self, pools=self.pools)
        )
        self.stack_outputs: dict[str, Any] = {"plan": plan.to_dict(), **self.infrastructure.outputs,
                                              "slurm_topology": slurm_topology_yaml(plan)}
        self.kubernetes: KubernetesLayer | None = None
        if self.infrastructure.kubernetes_provider is not None:
            self.kubernetes = KubernetesLayer(
                f"{name}-kubernetes", spec=spec, plan=plan, kubernetes_provider=self.infrastructure.kubernetes_provider,
                team_volume_source=self.infrastructure.team_volume_source,
                filesystem_depends_on=self.infrastructure.depends_on, opts=child)
            self.stack_outputs.update(self.kubernetes.outputs)
        self.register_outputs(self._component_outputs())

    def _component_outputs(self) -> dict[str, Any]:
        """What the component registers as its own outputs: nothing here (the program exports
        ``stack_outputs``); the component package's ``GpuCluster`` registers its typed outputs. The engine
        accepts one ``RegisterResourceOutputs`` per component, so subclasses override this, not call it again."""
        return {}
