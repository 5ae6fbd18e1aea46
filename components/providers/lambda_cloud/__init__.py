"""Provider ``lambda``: Lambda Cloud (the package is ``lambda_cloud``, since ``lambda`` is a Python keyword).

- ``profile``: what the rest of neocloud asks about Lambda (pure: no Pulumi): settings, checks, resource types.
- ``api``: a client for Lambda's Cloud API (standard library only, no Pulumi), paced to the documented rate
  limits, with deadlines and retries.
- ``ops``: idempotent workflows (create-or-adopt by tag or name, wait until active, terminate and wait).
- ``resources``: Pulumi dynamic resources for instance groups, filesystems, firewall rulesets and SSH keys.
- ``_build``: the stack's resources from the spec and plan (``build``).

Names below are imported on first use, so the profile imports without Pulumi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_exports

if TYPE_CHECKING:
    from ._build import build, node_labels
    from .api import API_BASE_URL, DeadlineExceeded, InsufficientCapacity, LambdaApiError, LambdaCloudClient, NoAnswer
    from .resources import API_KEY_CONFIG, API_KEY_ENV, Filesystem, FirewallRuleset, InstanceGroup, SshKey

_EXPORTS = {
    **dict.fromkeys(("build", "node_labels"), "._build"),
    **dict.fromkeys(("API_BASE_URL", "DeadlineExceeded", "InsufficientCapacity", "LambdaApiError",
                     "LambdaCloudClient", "NoAnswer"), ".api"),
    **dict.fromkeys(("API_KEY_CONFIG", "API_KEY_ENV", "Filesystem", "FirewallRuleset", "InstanceGroup", "SshKey"),
                    ".resources"),
}

__all__ = [
    "API_BASE_URL",
    "API_KEY_CONFIG",
    "API_KEY_ENV",
    "DeadlineExceeded",
    "Filesystem",
    "FirewallRuleset",
    "InstanceGroup",
    "InsufficientCapacity",
    "LambdaApiError",
    "LambdaCloudClient",
    "NoAnswer",
    "SshKey",
    "build",
    "node_labels",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
