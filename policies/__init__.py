"""neocloud's Pulumi policy pack: rack topology, efficiency, security, workload-admission and serving rules.

The rule modules (``topology``, ``efficiency``, ``storage``, ``security``, ``workloads``, ``serving``) only define
policies; importing them has no side effects. ``policies/__main__.py`` is the one place that constructs ``PolicyPack``
(which serves gRPC forever), exactly as ``pulumi preview --policy-pack policies`` and ``neocloud check`` start it.

Rules read what the components attach to resources -- the plain-value ``neocloud`` input of
``neocloud:index:GpuCluster`` and ``neocloud:index:GpuPool`` -- and the real inputs of provider resources
(pulumi-aws, pulumi-kubernetes, ...), with the names the engine sends (camelCase).
"""

from __future__ import annotations

__all__ = ["PACK_NAME", "all_policies"]

PACK_NAME = "neocloud"
"""The policy pack name (also in PulumiPolicy.yaml's directory name for `pulumi policy publish`)."""


def all_policies() -> list:  # type: ignore[type-arg]
    """Every policy of the pack, grouped by concern (topology, efficiency, security, workloads, serving)."""
    from . import efficiency, security, serving, storage, topology, workloads

    return [*topology.POLICIES, *efficiency.POLICIES, *storage.POLICIES, *security.POLICIES, *workloads.POLICIES,
            *serving.POLICIES]
