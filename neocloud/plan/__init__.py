"""Pure planning: racks, NVLink domains, SUs, fabric, storage, power and cost. No Pulumi imports."""

from .cluster import ClusterPlan, PoolPlan, build_plan
from .cost import PoolCost, pool_cost
from .fabric import Cables, FabricPlan, RailCabling, Transceivers, fabric_for_system, size_fabric
from .fsx import FSX_PERSISTENT_2_TIERS, FsxSizing, round_fsx_capacity_gib, size_fsx_lustre
from .goodput import FailureModel, PoolGoodput, plan_goodput, poisson_spares, young_interval_seconds
from .placement import PlacementBlock, plan_placement_blocks
from .power import PoolPower, pool_power
from .racks import RackGroup, RackLayout, ScalableUnit, plan_racks, plan_scalable_units
from .storage import STORAGE_TIERS_PER_SU, StoragePlan, size_storage

__all__ = [
    "FSX_PERSISTENT_2_TIERS",
    "STORAGE_TIERS_PER_SU",
    "Cables",
    "ClusterPlan",
    "FabricPlan",
    "FailureModel",
    "FsxSizing",
    "PlacementBlock",
    "PoolCost",
    "PoolGoodput",
    "PoolPlan",
    "PoolPower",
    "RackGroup",
    "RackLayout",
    "RailCabling",
    "ScalableUnit",
    "StoragePlan",
    "Transceivers",
    "build_plan",
    "fabric_for_system",
    "plan_goodput",
    "plan_placement_blocks",
    "plan_racks",
    "plan_scalable_units",
    "poisson_spares",
    "pool_cost",
    "pool_power",
    "round_fsx_capacity_gib",
    "size_fabric",
    "size_fsx_lustre",
    "size_storage",
    "young_interval_seconds",
]
