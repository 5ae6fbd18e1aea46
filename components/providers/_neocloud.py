"""Helpers shared by the neocloud providers (``coreweave``, ``nebius``): their profiles' pool checks, kubeconfigs,
stateful-resource options and the GPU node taints. No cloud SDK is imported here, and nothing at module level
needs Pulumi or the plan: the providers' pure ``profile`` modules import it (``neocloud.spec`` loads them), so
Pulumi, the plan and the component labels are imported inside the functions that use them."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping
from math import ceil
from typing import TYPE_CHECKING, Any

import yaml

from neocloud.profiles import Problem, floor_problem

if TYPE_CHECKING:
    import pulumi

    from neocloud.catalog import System
    from neocloud.plan import ClusterPlan, PoolPlan
    from neocloud.spec import ClusterSpec

__all__ = [
    "filesystem_gib",
    "gpu_taints",
    "one_su_label",
    "pool_system_problems",
    "render_kubeconfig",
    "secret",
    "stateful",
    "su_group_outputs",
]


def pool_system_problems(spec: ClusterSpec, *, settings_path: str, resolve: Callable[[str], object | None],
                         what: str, hint: str) -> Iterator[Problem]:
    """The per-pool checks every neocloud profile makes: pools of multi-node NVLink domains scale in whole domains
    (``floor_problem``: an NVL72 rack is 18 nodes), and each pool's catalog system resolves to a provider
    instance type (``resolve``: spec value first, then the verified default), else a problem at
    ``<settings_path>.<system>`` naming ``what`` is missing and ``hint`` where to find it."""
    from neocloud.catalog import SYSTEMS

    for i, pool in enumerate(spec.pools):
        system = SYSTEMS.get(pool.system)
        if system is None:
            continue
        if floor := floor_problem(i, pool, system):
            yield floor
        if resolve(pool.system) is None:
            yield (f"{settings_path}.{pool.system}", f"required: no verified {what} for {pool.system} "
                   f"(pools[{i}]); {hint}")



def gpu_taints(system: System, acceptance: bool) -> list[dict[str, str]]:
    """Taints for new GPU nodes: keep non-GPU pods off, and (optionally) hold them until acceptance passes."""
    from ..labels import ACCEPTANCE_TAINT, gpu_taint

    return [gpu_taint(system), *([dict(ACCEPTANCE_TAINT)] if acceptance else [])]


def one_su_label(pool: PoolPlan) -> str:
    """The ``neocloud.io/su`` value of a pool built as ONE node set (one label map for all its nodes): the plan's
    single SU group (``PoolPlan.su_groups``, from the provider profile). Never defaulted here."""
    if len(pool.su_groups) != 1:
        raise ValueError(f"pool {pool.name} has {len(pool.su_groups)} planned SU groups; one node set carries one")
    return str(pool.su_groups[0][0])


def su_group_outputs(plan: ClusterPlan) -> dict[str, list[dict[str, int]]]:
    """The ``placement_blocks`` stack output of the neocloud providers: the plan's SU groups per pool."""
    return {p.name: [{"index": index, "nodes": nodes} for index, nodes in p.su_groups] for p in plan.pools}


def stateful(parent: pulumi.Resource, plan: ClusterPlan, **extra: Any) -> pulumi.ResourceOptions:
    """Options for a resource that holds data or runs the cluster: protected from deletion in prod."""
    import pulumi

    return pulumi.ResourceOptions(parent=parent, protect=plan.environment == "prod", **extra)


def secret(value: pulumi.Output[str]) -> pulumi.Output[str]:
    """``value`` marked as a Pulumi secret (encrypted in state, masked in output)."""
    import pulumi

    marked: pulumi.Output[str] = pulumi.Output.secret(value)  # type: ignore[arg-type]
    return marked


def filesystem_gib(plan: ClusterPlan) -> int:
    """The planner's filesystem capacity (``ClusterPlan.storage.capacity_tib``) in whole GiB, rounded up."""
    if plan.storage.capacity_tib is None:  # only a spec with a filesystem is sized; its builds call this
        raise ValueError("the plan sizes no filesystem (storage.filesystem is not set)")
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
