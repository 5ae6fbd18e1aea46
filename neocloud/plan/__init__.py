"""Pure planning: racks, NVLink domains, SUs, fabric, storage, power and cost. No Pulumi imports."""

from .cluster import ClusterPlan, PoolPlan, build_plan
from .cost import PoolCost, pool_cost
from .fabric import Cables, FabricPlan, RailCabling, Transceivers, size_fabric
from .power import PoolPower, pool_power
from .racks import RackGroup, RackLayout, ScalableUnit, plan_racks, plan_scalable_units
from .storage import STORAGE_TIERS_PER_SU, StoragePlan, size_storage

__all__ = [
    "STORAGE_TIERS_PER_SU",
    "Cables",
    "ClusterPlan",
    "FabricPlan",
    "PoolCost",
    "PoolPlan",
    "PoolPower",
    "RackGroup",
    "RackLayout",
    "RailCabling",
    "ScalableUnit",
    "StoragePlan",
    "Transceivers",
    "build_plan",
    "plan_racks",
    "plan_scalable_units",
    "pool_cost",
    "pool_power",
    "size_fabric",
    "size_storage",
]
