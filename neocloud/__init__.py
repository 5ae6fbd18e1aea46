"""neocloud: plan, provision and police AI GPU clusters from one spec.

The domain core (this package) never imports Pulumi: ``spec`` validates the ``neocloud:cluster`` config,
``catalog`` holds the cited hardware numbers, ``plan`` decides racks, NVLink domains, fabric, storage, power and
cost. ``components`` turns a plan into Pulumi resources; ``policies`` enforces rules on them.

The names below are imported on first use (PEP 562), so a provider profile (``neocloud.profiles``) can import
``neocloud.catalog`` and ``neocloud.vocabulary`` while the spec that collects the profiles is still loading.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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

_HOME = {
    "GPUS": "catalog", "SWITCHES": "catalog", "SYSTEMS": "catalog", "Gpu": "catalog", "Switch": "catalog",
    "System": "catalog", "CONFIG_KEY": "errors", "SpecError": "errors", "ClusterPlan": "plan", "FabricPlan": "plan",
    "PoolPlan": "plan", "build_plan": "plan", "size_fabric": "plan", "ClusterSpec": "spec", "json_schema": "spec",
    "load_cluster_spec": "spec",
}


def __getattr__(name: str) -> object:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{home}", __name__), name)
