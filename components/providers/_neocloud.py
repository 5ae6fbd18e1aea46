"""Helpers shared by the neocloud providers (``coreweave``, ``nebius``): kubeconfigs, stateful-resource
options and the GPU node taints. No cloud SDK is imported here."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from math import ceil
from typing import Any

import pulumi
import yaml

from neocloud.catalog import System
from neocloud.plan import ClusterPlan

from ..labels import ACCEPTANCE_TAINT, gpu_taint

__all__ = [
    "filesystem_gib",
    "gpu_taints",
    "render_kubeconfig",
    "secret",
    "stateful",
]



def gpu_taints(system: System, acceptance: bool) -> list[dict[str, str]]:
    """Taints for new GPU nodes: keep non-GPU pods off, and (optionally) hold them until acceptance passes."""
    return [gpu_taint(system), *([dict(ACCEPTANCE_TAINT)] if acceptance else [])]


def stateful(parent: pulumi.Resource, plan: ClusterPlan, **extra: Any) -> pulumi.ResourceOptions:
    """Options for a resource that holds data or runs the cluster: protected from deletion in prod."""
    return pulumi.ResourceOptions(parent=parent, protect=plan.environment == "prod", **extra)


def secret(value: pulumi.Output[str]) -> pulumi.Output[str]:
    """``value`` marked as a Pulumi secret (encrypted in state, masked in output)."""
    marked: pulumi.Output[str] = pulumi.Output.secret(value)  # type: ignore[arg-type]
    return marked


def filesystem_gib(plan: ClusterPlan) -> int:
    """The planner's filesystem capacity (``ClusterPlan.storage.capacity_tib``) in whole GiB, rounded up."""
    return max(1, ceil(plan.storage.capacity_tib * 1024))


def render_kubeconfig(*, cluster: str, server: str, user: Mapping[str, Any], ca_pem: str | None = None) -> str:
    """A one-context kubeconfig for ``server`` (``https://`` is added when missing).

    ``user`` is the kubeconfig ``user`` entry (a bearer ``token`` or an ``exec`` credential plugin); with
    ``ca_pem`` the cluster's CA is pinned, without it the system trust store verifies the server.
    """
    endpoint = server if server.startswith("https://") else f"https://{server}"
    entry: dict[str, Any] = {"server": endpoint}
    if ca_pem:
        entry["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": entry}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
        "current-context": cluster,
        "users": [{"name": cluster, "user": dict(user)}],
    }
    return yaml.safe_dump(document, sort_keys=False)
