"""The Lambda stack's resources from the spec and its plan.

``lambda.kubernetes: none``: per cluster an SSH key (when ``ssh_public_key`` is given), one firewall ruleset and
the ``lambda-filesystem`` (when the spec has one); per pool one ``InstanceGroup`` of ``nodes + spares`` instances
(resources grow with pools, never with nodes), each instance mounting the filesystem and carrying the ruleset.

``lambda.kubernetes: existing``: nothing is launched (1-Click Clusters are reserved through Lambda, not the API);
the Kubernetes layer gets the existing cluster's API from the ``neocloud:kubeconfig`` secret config, and the
outputs say which labels the operator puts on which cluster's nodes.
"""

from __future__ import annotations

from typing import Any

import pulumi

from neocloud.plan import ClusterPlan, PoolPlan
from neocloud.vocabulary import LABEL_POOL, LABEL_SU

from ...labels import pool_labels
from .._context import ProviderContext, ProviderResult
from .._neocloud import one_su_label, stateful, su_group_outputs
from ..baremetal import kubernetes_provider
from .profile import FILESYSTEM_KIND, PROFILE, LambdaSettings
from .resources import Filesystem, FirewallRuleset, InstanceGroup, SshKey

__all__ = ["build", "instance_tags", "node_labels"]


def instance_tags(plan: ClusterPlan, pool: PoolPlan) -> dict[str, str]:
    """Launch tags of a pool's instances. Lambda tag keys match ``^[a-z][a-z0-9-:]+$`` (RequestedTagEntry), so
    our ``neocloud.io/...`` keys are spelt ``neocloud-...`` here."""
    return {"neocloud-cluster": plan.name, "neocloud-pool": pool.name, "neocloud-environment": plan.environment,
            "managed-by": "neocloud"}


def node_labels(plan: ClusterPlan, pool: PoolPlan) -> dict[str, str]:
    """The labels the Kubernetes layer expects on a 1-Click Cluster pool's nodes (the operator applies them:
    Lambda documents no topology labels for them). One pool is the plan's one ``neocloud.io/su`` group."""
    return {**pool_labels(plan, pool), LABEL_SU: one_su_label(pool)}


def _existing(ctx: ProviderContext, settings: LambdaSettings) -> ProviderResult:
    plan = ctx.plan
    outputs: dict[str, Any] = {
        "lambda": {
            "kubernetes": "existing",
            "one_click_cluster_id": settings.one_click_cluster_id,
            "node_labels": {p.name: node_labels(plan, p) for p in plan.pools},
        },
        "placement_blocks": su_group_outputs(plan),
    }
    return ProviderResult(outputs=outputs, kubernetes_provider=kubernetes_provider(ctx))


def build(ctx: ProviderContext) -> ProviderResult:
    spec, plan, name = ctx.spec, ctx.plan, ctx.name
    settings = PROFILE.settings_of(spec)
    if settings.kubernetes == "existing":
        return _existing(ctx, settings)
    region = str(spec.region)
    child = pulumi.ResourceOptions(parent=ctx.parent)
    waits_for: list[pulumi.Resource] = []

    key_name = settings.ssh_key_name or f"{name}-admin"
    if settings.ssh_public_key:
        waits_for.append(SshKey(f"{name}-ssh-key", key_name=key_name, public_key=settings.ssh_public_key,
                                opts=child))
    firewall = FirewallRuleset(
        f"{name}-firewall", ruleset_name=f"{name}-firewall", region=region,
        rules=[rule.model_dump(exclude_none=True) for rule in settings.firewall_rules], opts=child,
    )
    filesystem: dict[str, Any] | None = None
    mounts: list[str] = []
    fs = spec.storage.filesystem
    if fs is not None and fs.kind == FILESYSTEM_KIND:
        fs_name = settings.filesystem_name or f"{name}-shared"
        shared = Filesystem(f"{name}-shared-fs", filesystem_name=fs_name, region=region,
                            opts=stateful(ctx.parent, plan))
        waits_for.append(shared)
        mounts.append(fs_name)
        filesystem = {"name": fs_name, "id": shared.id, "mount_point": shared.mount_point}

    groups: dict[str, Any] = {}
    for pool in plan.pools:
        instance_type = settings.instance_type(pool.system.name)
        if instance_type is None:  # the profile's checks refuse this first
            raise ValueError(f"no Lambda instance type for {pool.system.name}")
        group = InstanceGroup(
            f"{name}-{pool.name}-instances",
            identity=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}-{pool.name}",
            name_prefix=f"{name}-{pool.name}", region=region, instance_type=instance_type,
            count=pool.total_nodes, ssh_key_names=[key_name], file_system_names=mounts,
            firewall_ruleset_ids=[firewall.id], image_family=settings.image_family,
            tags=instance_tags(plan, pool), active_timeout_s=settings.active_timeout_s,
            keep_partial=settings.keep_partial_launches,
            opts=pulumi.ResourceOptions(parent=ctx.pools[pool.name], depends_on=waits_for),
        )
        groups[pool.name] = {"instance_type": instance_type, "count": pool.total_nodes,
                             "instance_ids": group.instance_ids, "ips": group.ips,
                             "private_ips": group.private_ips, "labels": {LABEL_POOL: pool.name}}

    outputs: dict[str, Any] = {
        "lambda": {
            "kubernetes": "none",
            "region": region,
            "ssh_key_name": key_name,
            "firewall_ruleset_id": firewall.id,
            "filesystem": filesystem,
            "instance_groups": groups,
        },
    }
    return ProviderResult(outputs=outputs, kubernetes_provider=None)
