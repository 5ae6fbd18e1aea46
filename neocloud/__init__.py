"""neocloud: plan, provision and police AI GPU clusters from one spec.

The domain core (this package) never imports Pulumi: ``spec`` validates the ``neocloud:cluster`` config,
``catalog`` holds the cited hardware numbers, ``plan`` decides racks, NVLink domains, fabric, storage, power and
cost. ``components`` turns a plan into Pulumi resources; ``policies`` enforces rules on them.
"""

from .catalog import GPUS, SWITCHES, SYSTEMS, Gpu, Switch, System
from .errors import CONFIG_KEY, SpecError
from .plan import ClusterPlan, FabricPlan, PoolPlan, build_plan, size_fabric
from .spec import ClusterSpec, json_schema, load_cluster_spec

__all__ = [
    "CONFIG_KEY",
    "GPUS",
    "SWITCHES",
    "SYSTEMS",
    "ClusterPlan",
    "ClusterSpec",
    "FabricPlan",
    "Gpu",
    "PoolPlan",
    "SpecError",
    "Switch",
    "System",
    "build_plan",
    "json_schema",
    "load_cluster_spec",
    "size_fabric",
]
