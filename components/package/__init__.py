"""The component package: neocloud's components for every Pulumi language (``pulumi package add``).

Pulumi's source-based component packages: ``package/PulumiPlugin.yaml`` declares the Python runtime and
``package/__main__.py`` serves ``COMPONENTS`` with the Python SDK's component provider host, which infers the
package schema from these classes' typed ``args`` and output annotations. Each class here is the Python
component of the same name with plain typed inputs; the rich pydantic spec stays inside and validates them.
"""

from ._cluster import GpuCluster, GpuClusterArgs
from ._errors import SpecInputError
from ._pieces import (
    KueueScheduling,
    KueueSchedulingArgs,
    NodeAcceptance,
    NodeAcceptanceArgs,
    Tenant,
    TenantArgs,
    TrafficRegulator,
    TrafficRegulatorArgs,
)

PACKAGE_NAME = "neocloud"
"""The package name: type tokens are ``neocloud:index:<Component>``."""

COMPONENTS = [GpuCluster, Tenant, TrafficRegulator, KueueScheduling, NodeAcceptance]
"""The components the package serves."""

__all__ = ["COMPONENTS", "PACKAGE_NAME", "GpuCluster", "GpuClusterArgs", "KueueScheduling", "KueueSchedulingArgs",
           "NodeAcceptance", "NodeAcceptanceArgs", "SpecInputError", "Tenant", "TenantArgs", "TrafficRegulator",
           "TrafficRegulatorArgs"]
