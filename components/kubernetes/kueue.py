"""``KueueScheduling``: Kueue with Topology-Aware Scheduling, driven by the plan.

Objects (all ``kueue.x-k8s.io/v1beta2``, Kueue v0.19.2): one ``Topology`` and one ``ResourceFlavor`` per GPU
pool, one ``ClusterQueue`` per team (in its cohort, with its borrowing limit) and one ``LocalQueue`` in the
team's namespace, and the ``WorkloadPriorityClass`` set. Kueue itself is installed from its OCI Helm chart so
the CRDs exist before the objects.

A drained node's work resumes on a hot spare through Kueue's documented mechanisms (v0.19.2): node hot swap
(``TASFailedNodeReplacement``: a running workload's failed node is replaced by another node of the same topology
domain; the SU's spares are such nodes) and, where no spare fits, eviction and requeuing by ``waitForPodsReady``
(``charts.kueue_configuration``). Requeued, the workload is admitted again because ClusterQueue quotas never
count the spares (spec check and policy queue-quota-within-capacity) while TAS counts every Ready, schedulable
node of the flavor, spares included (concepts/topology_aware_scheduling, "Capacity calculation").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from neocloud.catalog import GPU_VENDORS
from neocloud.plan import ClusterPlan, PoolPlan
from neocloud.plan.kubernetes import TeamQueue
from neocloud.spec import Recovery
from neocloud.vocabulary import KUEUE_API_VERSION

from ..labels import LABEL_POOL, gpu_taint
from .charts import KUEUE, kueue_values
from .objects import CustomObject, child_opts, meta
from .operators import helm_release
from .topology import kueue_levels

__all__ = ["GPU_RESOURCE", "KUEUE_API", "PRIORITY_CLASSES", "KueueScheduling", "PriorityClass", "cluster_queue_spec",
           "resource_flavor_spec"]

KUEUE_API = KUEUE_API_VERSION
GPU_RESOURCE = GPU_VENDORS["nvidia"].resource
"""The NVIDIA device plugin's extended resource. Quotas cover each pool's own vendor resource
(``TeamQueue.gpu_resource``)."""


@dataclass(frozen=True, slots=True)
class PriorityClass:
    """A Kueue WorkloadPriorityClass. Values are relative: only their order matters to Kueue's preemption."""

    name: str
    """``kueue.x-k8s.io/priority-class`` label value workloads use."""
    value: int
    """Priority; higher preempts lower."""
    description: str
    """Shown by ``kubectl get workloadpriorityclass``."""


PRIORITY_CLASSES: tuple[PriorityClass, ...] = (
    PriorityClass("serving", 1000, "Inference serving: preempts training and batch work within its cohort."),
    PriorityClass("training", 500, "Scheduled training runs (the default for training queues)."),
    PriorityClass("preemptible", 100, "Opportunistic work that any other class may preempt."),
)
"""The priority classes every cluster gets; workloads pick one with the ``kueue.x-k8s.io/priority-class``
label."""


def resource_flavor_spec(pool: PoolPlan, topology: str) -> dict[str, Any]:
    """A pool's ResourceFlavor: its nodes (``neocloud.io/pool``), its Topology, and the GPU-taint toleration
    (its vendor's taint) Kueue adds to every pod it admits on the flavor."""
    taint = gpu_taint(pool.system)
    return {
        "nodeLabels": {LABEL_POOL: pool.name},
        "tolerations": [{"key": taint["key"], "operator": "Exists", "effect": taint["effect"]}],
        "topologyName": topology,
    }


def cluster_queue_spec(queue: TeamQueue) -> dict[str, Any]:
    """A team's ClusterQueue: GPU quota on its pool's flavor, borrowing within its cohort, preemption by priority,
    open only to the team's namespace."""
    gpu: dict[str, Any] = {"name": queue.gpu_resource, "nominalQuota": queue.gpu_quota}
    if queue.borrowing_limit is not None:
        gpu["borrowingLimit"] = queue.borrowing_limit
    return {
        "cohortName": queue.cohort,
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": queue.team}},
        "queueingStrategy": "BestEffortFIFO",
        "preemption": {
            "reclaimWithinCohort": "Any",
            "withinClusterQueue": "LowerPriority",
            "borrowWithinCohort": {"policy": "LowerPriority"},
        },
        "resourceGroups": [{
            "coveredResources": [queue.gpu_resource],
            "flavors": [{"name": queue.pool, "resources": [gpu]}],
        }],
    }


class KueueScheduling(pulumi.ComponentResource):
    """Kueue installed and configured from the plan: Topology + ResourceFlavor per pool, ClusterQueue +
    LocalQueue per team, WorkloadPriorityClasses."""

    TYPE = "neocloud:kubernetes:KueueScheduling"

    def __init__(self, name: str, *, plan: ClusterPlan, queues: Sequence[TeamQueue],
                 team_namespaces: Mapping[str, pulumi.Input[str]], recovery: Recovery | None = None,
                 kubernetes_provider: pulumi.ProviderResource | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """``team_namespaces`` maps each team to its namespace name (an Output, so LocalQueues wait for it);
        ``recovery``: Kueue's requeuing after a node failure (default: ``kubernetes.recovery``'s defaults)."""
        recovery = recovery or Recovery()
        levels = {p.name: list(kueue_levels(plan, p)) for p in plan.pools}
        super().__init__(self.TYPE, name, {"levels": levels, "queues": [q.to_dict() for q in queues]}, opts)
        k = kubernetes_provider
        values = kueue_values(pods_ready_timeout_minutes=recovery.pods_ready_timeout_minutes,
                              recovery_timeout_minutes=recovery.recovery_timeout_minutes,
                              requeue_limit=recovery.requeue_limit)
        self.release = helm_release(f"{name}-kueue", KUEUE, values, namespace=KUEUE.namespace,
                                    opts=child_opts(self, k), create_namespace=True)
        after = child_opts(self, k, [self.release])
        self.topologies: dict[str, CustomObject] = {}
        self.flavors: dict[str, CustomObject] = {}
        for pool in plan.pools:
            self.topologies[pool.name] = CustomObject(
                f"{name}-topology-{pool.name}", api_version=KUEUE_API, kind="Topology", metadata=meta(pool.name),
                spec={"levels": [{"nodeLabel": label} for label in levels[pool.name]]}, opts=after,
            )
            self.flavors[pool.name] = CustomObject(
                f"{name}-flavor-{pool.name}", api_version=KUEUE_API, kind="ResourceFlavor", metadata=meta(pool.name),
                spec=resource_flavor_spec(pool, pool.name),
                opts=child_opts(self, k, [self.release, self.topologies[pool.name]]),
            )
        self.priority_classes = [
            CustomObject(
                f"{name}-priority-{pc.name}", api_version=KUEUE_API, kind="WorkloadPriorityClass",
                metadata=meta(pc.name), fields={"value": pc.value, "description": pc.description}, opts=after,
            )
            for pc in PRIORITY_CLASSES
        ]
        self.cluster_queues: dict[str, CustomObject] = {}
        self.local_queues: dict[str, CustomObject] = {}
        for queue in queues:
            cq = CustomObject(
                f"{name}-cq-{queue.team}", api_version=KUEUE_API, kind="ClusterQueue", metadata=meta(queue.team),
                spec=cluster_queue_spec(queue), opts=child_opts(self, k, [self.release, self.flavors[queue.pool]]),
            )
            self.cluster_queues[queue.team] = cq
            self.local_queues[queue.team] = CustomObject(
                f"{name}-lq-{queue.team}", api_version=KUEUE_API, kind="LocalQueue",
                metadata=meta(queue.team, namespace=team_namespaces[queue.team]),
                spec={"clusterQueue": queue.team}, opts=child_opts(self, k, [cq]),
            )
        self.register_outputs({})
