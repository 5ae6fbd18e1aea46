"""Provider ``lambda``: Lambda Cloud (the package is ``lambda_cloud``, since ``lambda`` is a Python keyword).

- ``api``: a client for Lambda's Cloud API (standard library only; no Pulumi import), paced to the documented rate
  limits, with deadlines and retries.
- ``ops``: idempotent workflows (create-or-adopt by tag or name, wait until active, terminate and wait).
- ``resources``: Pulumi dynamic resources for instance groups, filesystems, firewall rulesets and SSH keys.
"""

from __future__ import annotations

from .api import (
    API_BASE_URL,
    DeadlineExceeded,
    InsufficientCapacity,
    LambdaApiError,
    LambdaCloudClient,
    NoAnswer,
    RateLimits,
    Timeouts,
)
from .resources import (
    API_KEY_CONFIG,
    API_KEY_ENV,
    FILESYSTEM_TYPE,
    FIREWALL_RULESET_TYPE,
    INSTANCE_GROUP_TYPE,
    SSH_KEY_TYPE,
    Filesystem,
    FirewallRuleset,
    InstanceGroup,
    SshKey,
    firewall_rule_problems,
)

__all__ = [
    "API_BASE_URL",
    "API_KEY_CONFIG",
    "API_KEY_ENV",
    "FILESYSTEM_TYPE",
    "FIREWALL_RULESET_TYPE",
    "INSTANCE_GROUP_TYPE",
    "SSH_KEY_TYPE",
    "DeadlineExceeded",
    "Filesystem",
    "FirewallRuleset",
    "InstanceGroup",
    "InsufficientCapacity",
    "LambdaApiError",
    "LambdaCloudClient",
    "NoAnswer",
    "RateLimits",
    "SshKey",
    "Timeouts",
    "firewall_rule_problems",
]
