"""The cluster spec: one typed document in the ``neocloud:cluster`` structured config key.

Every field has a description (it becomes the JSON Schema and the README's config reference). Field
checks live on the fields; checks that span fields live in ``ClusterSpec._check_cross_field`` so that the
error can name the full config path. ``load_cluster_spec`` is the only entry point that turns raw config
into a spec, and it raises ``SpecError`` with a one-line, path-naming message for every bad input.
"""

from __future__ import annotations

from ._base import (
    CHECKPOINT_BYTES_PER_PARAMETER,
    DEFAULT_PUE,
    LLAMA3_EFFECTIVE_TRAINING_TIME,
)
from ._cluster import (
    ClusterSpec,
)
from ._load import (
    json_schema,
    load_cluster_spec,
)
from ._sections import (
    Backend,
    Bucket,
    Capacity,
    CatalogOverrides,
    Checkpoint,
    Fabric,
    FailureRate,
    Filesystem,
    Goodput,
    Kubernetes,
    Pool,
    Power,
    Queue,
    Racks,
    Recovery,
    Storage,
    SystemOverride,
    TrafficRegulator,
)

__all__ = [
    "CHECKPOINT_BYTES_PER_PARAMETER",
    "DEFAULT_PUE",
    "LLAMA3_EFFECTIVE_TRAINING_TIME",
    "Backend",
    "Bucket",
    "Capacity",
    "CatalogOverrides",
    "Checkpoint",
    "ClusterSpec",
    "Fabric",
    "FailureRate",
    "Filesystem",
    "Goodput",
    "Kubernetes",
    "Pool",
    "Power",
    "Queue",
    "Racks",
    "Recovery",
    "Storage",
    "SystemOverride",
    "TrafficRegulator",
    "json_schema",
    "load_cluster_spec",
]
