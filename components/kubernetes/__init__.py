"""The Kubernetes layer: operators, Kueue topology-aware scheduling, tenants, node acceptance and the traffic
regulator. ``KubernetesLayer`` builds all of it from a spec and plan; ``Tenant`` and ``TrafficRegulator`` are
also usable alone on an existing cluster (see ``examples/serving-on-existing-cluster``)."""

from .acceptance import ACCEPTANCE_NAMESPACE, NodeAcceptance
from .kueue import KUEUE_API, PRIORITY_CLASSES, KueueScheduling
from .layer import KubernetesLayer, layer_facts
from .operators import EFA_RESOURCE, RDMA_RESOURCE, GpuOperators
from .tenants import TEAM_LABEL, Tenant
from .topology import kueue_levels
from .traffic import GATEWAY_CLASS, TrafficRegulator

__all__ = [
    "ACCEPTANCE_NAMESPACE",
    "EFA_RESOURCE",
    "GATEWAY_CLASS",
    "KUEUE_API",
    "PRIORITY_CLASSES",
    "RDMA_RESOURCE",
    "TEAM_LABEL",
    "GpuOperators",
    "KubernetesLayer",
    "KueueScheduling",
    "NodeAcceptance",
    "Tenant",
    "TrafficRegulator",
    "kueue_levels",
    "layer_facts",
]
