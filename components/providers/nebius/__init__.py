"""Provider ``nebius``: GPU cluster, mk8s, shared filesystem and buckets (``pulumi-nebius``).

``profile`` holds what the rest of neocloud asks about this provider (pure: no Pulumi); ``_build`` registers
its resources and is imported on first use of a name below."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

if TYPE_CHECKING:
    from ._build import (
        CPU_BOOT_DISK_GIB,
        EXEC_CREDENTIAL,
        NVL_GROUP_TYPES,
        build,
        nebius_labels,
        racks,
    )

__all__ = ["CPU_BOOT_DISK_GIB", "EXEC_CREDENTIAL", "NVL_GROUP_TYPES", "build", "nebius_labels",
           "racks"]

__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, "._build"))
