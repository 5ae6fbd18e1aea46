"""Provider ``aws``: EFA GPU clusters on EKS.

What ``build`` registers (all real ``pulumi-aws`` resources):

- network (``network``): VPC, a private and a public subnet per zone, one NAT gateway, route tables, an S3 gateway
  endpoint, the EFA security group (self only) and the FSx security group;
- an explicit ``aws`` provider for the spec's region (``<name>-aws``);
- control plane (``eks``): KMS key, IAM roles, the EKS cluster, a kubeconfig (secret) and a
  ``pulumi_kubernetes.Provider`` built from it;
- compute (``nodes``): per GPU pool and placement block a launch template with one EFA interface per network card,
  an EKS managed node group and, on on-demand capacity, a cluster placement group; a CPU system node group;
- storage (``storage``): FSx for Lustre sized from the plan, S3 buckets;
- add-ons (``addons``): vpc-cni with network policy, kube-proxy, CoreDNS, the EKS Pod Identity agent and, with
  FSx, the FSx for Lustre CSI driver with its Pod Identity role.

Resources grow with pools and placement blocks, never with nodes. Pool resources are children of their
``GpuPool`` component; the rest are children of the ``GpuCluster``.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from neocloud.plan import PlacementBlock
from neocloud.plan.placement import PlacementPlan

from .._context import ProviderContext, ProviderResult, TeamVolumeSource
from .addons import build_addons
from .common import Scope
from .eks import build_control_plane
from .network import build_network
from .nodes import build_pool_blocks, build_system_node_group
from .profile import AwsSettings
from .storage import build_buckets, build_filesystem

__all__ = ["build", "placement", "placement_blocks"]


def placement(ctx: ProviderContext) -> PlacementPlan:
    """The plan's zones and placement blocks (``neocloud.plan.placement``; decided with the plan, read here)."""
    planned = ctx.plan.placement
    if not isinstance(planned, PlacementPlan):  # the AWS profile plans it; this guards direct callers
        raise TypeError(f"plan {ctx.plan.name} has no AWS placement plan")
    return planned


def placement_blocks(ctx: ProviderContext) -> dict[str, tuple[PlacementBlock, ...]]:
    """Every pool's placement blocks, as the plan decided them."""
    return dict(placement(ctx).blocks)


def build(ctx: ProviderContext) -> ProviderResult:
    """Register the AWS infrastructure for ``ctx`` and return its outputs and Kubernetes provider.

    Outputs: ``kubeconfig`` (secret), ``cluster_name``, ``fsx`` (id, dns_name, mount_name and the sizing facts;
    ``None`` without an fsx-lustre filesystem), ``buckets`` (purpose -> bucket name), ``placement_blocks``
    (pool -> plain block facts), ``node_groups`` (pool -> node group names).
    """
    import pulumi_kubernetes as k8s

    spec, plan, parent = ctx.spec, ctx.plan, ctx.parent
    # Zones and blocks come from the plan: a spec that cannot be placed failed before any resource was registered.
    planned = placement(ctx)
    blocks = dict(planned.blocks)
    node_groups_needed = planned.node_groups + 1
    max_node_groups = spec.settings_of(AwsSettings).max_node_groups
    if node_groups_needed > max_node_groups:
        pulumi.log.warn(
            f"{node_groups_needed} EKS managed node groups (GPU placement blocks + system) exceed the "
            f"'Managed node groups per cluster' quota of {max_node_groups} (aws.max_node_groups): request "
            "an increase, or raise aws.placement_block_nodes (on reserved capacity also "
            "aws.reservations_per_node_group)", resource=parent)
    # An explicit provider: resources go to the spec's region whatever `aws:region` the stack config holds.
    # The spec's aws.tags go on every taggable resource through the provider's default tags (checked against AWS's
    # tag limits with the spec).
    user_tags = spec.settings_of(AwsSettings).tags
    aws_provider = aws.Provider(f"{ctx.name}-aws", region=spec.region,
                                default_tags={"tags": dict(user_tags)} if user_tags else None,
                                opts=pulumi.ResourceOptions(parent=parent))
    scope = Scope(parent, aws_provider)
    network = build_network(ctx.name, spec, plan, planned.zones, scope)
    control = build_control_plane(ctx.name, spec, plan, network, scope)
    system = build_system_node_group(ctx.name, spec, plan, network, control, scope)
    pool_groups: dict[str, list[Any]] = {}
    for pool in plan.pools:
        built = build_pool_blocks(ctx.name, spec, plan, pool, blocks[pool.name], network, control,
                                  scope.under(ctx.pools[pool.name]))
        pool_groups[pool.name] = [b.node_group.node_group_name for b in built]
    fsx_output: Any = None
    team_volume: TeamVolumeSource | None = None
    fs = spec.storage.filesystem
    if fs is not None and fs.kind == "fsx-lustre":
        filesystem, sizing = build_filesystem(ctx.name, spec, plan, network, control, scope)
        # Static provisioning of this file system, one PV per training team (profile FSX_TEAM_VOLUME):
        # volumeHandle = FileSystemId, volumeAttributes dnsname = DNSName, mountname = MountName
        # (aws-fsx-csi-driver examples/kubernetes/static_provisioning).
        team_volume = TeamVolumeSource(
            volume_handle=filesystem.id,
            volume_attributes={"dnsname": filesystem.dns_name, "mountname": filesystem.mount_name},
            capacity_gib=sizing.storage_capacity_gib,
        )
        fsx_output = {
            "id": filesystem.id,
            "dns_name": filesystem.dns_name,
            "mount_name": filesystem.mount_name,
            **sizing.to_dict(),
        }
    buckets = build_buckets(ctx.name, spec, plan, control, scope)
    addons = build_addons(ctx.name, spec, plan, control.cluster, system, scope, fsx=fsx_output is not None)
    # The provider waits for the system nodes and the add-ons: charts the Kubernetes layer installs need somewhere
    # to run, with DNS, and NetworkPolicies need the CNI's policy agent before tenants rely on them.
    kubernetes_provider = k8s.Provider(
        f"{ctx.name}-k8s", kubeconfig=control.kubeconfig,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[system, *addons.addons.values()]),
    )
    outputs: dict[str, Any] = {
        "kubeconfig": control.kubeconfig,
        "cluster_name": control.cluster.name,
        "fsx": fsx_output,
        "buckets": {purpose: bucket.bucket for purpose, bucket in buckets.buckets.items()},
        "placement_blocks": {pool: [b.to_dict() for b in pool_blocks] for pool, pool_blocks in blocks.items()},
        "node_groups": pool_groups,
        "addons": sorted(addons.addons),
    }
    return ProviderResult(outputs=outputs, kubernetes_provider=kubernetes_provider, team_volume_source=team_volume)
