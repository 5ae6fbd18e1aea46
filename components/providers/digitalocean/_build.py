"""Provider ``digitalocean``: a VPC, a DOKS cluster with a small CPU default pool, one GPU node pool per spec pool
(``KubernetesNodePool`` by size slug), Spaces buckets (private, versioned, with a lifecycle rule) and a DigitalOcean
NFS share for the shared filesystem, with the official ``pulumi-digitalocean``.

What DOKS manages itself (see ``profile``): GPU drivers on its GPU node images, the NVIDIA/AMD device plugins and
the RDMA shared device plugin, so the Kubernetes layer installs no GPU Operator there.

Credentials never come from ``neocloud:cluster``: pulumi-digitalocean reads ``DIGITALOCEAN_TOKEN`` (or the secret
``digitalocean:token``) and the Spaces keys ``SPACES_ACCESS_KEY_ID`` / ``SPACES_SECRET_ACCESS_KEY``; the kubeconfig
DOKS returns is a stack output marked secret.
"""

from __future__ import annotations

from typing import Any

import pulumi

from neocloud.plan import ClusterPlan, PoolPlan
from neocloud.spec import ClusterSpec
from neocloud.vocabulary import LABEL_ROLE

from ...labels import LABEL_SU, cluster_tags, pool_labels
from .._buckets import ABORT_MULTIPART_DAYS
from .._context import ProviderContext, ProviderResult, TeamVolumeSource
from .._neocloud import filesystem_gib, gpu_taints, one_su_label, secret, stateful, su_group_outputs
from .profile import DigitalOceanSettings

__all__ = ["NFS_MIN_GIB", "build", "do_tags", "node_pool_args"]

NFS_MIN_GIB = 50
"""Smallest DigitalOcean NFS share ("The size of the NFS share in GiB. Minimum size is 50 GiB.", pulumi-digitalocean
``Nfs.size``)."""


def do_tags(plan: ClusterPlan, *extra: str) -> list[str]:
    """DigitalOcean tags are plain strings (letters, digits, ``:``, ``-``, ``_``), not key/value maps, so the
    cluster's tags become ``key:value`` words without the ``neocloud.io/`` prefix."""
    return [f"{k.rsplit('/', 1)[-1]}:{v}" for k, v in cluster_tags(plan).items()] + list(extra)


def node_pool_args(spec: ClusterSpec, plan: ClusterPlan, pool: PoolPlan) -> dict[str, Any]:
    """The DOKS node pool for one GPU pool: its size slug, nodes + spares, autoscaling down to ``min_nodes``, the pool
    labels (one node pool is the plan's one ``neocloud.io/su`` group, ``PoolPlan.su_groups``) and the GPU taints."""
    settings = spec.settings_of(DigitalOceanSettings)
    size = settings.size(pool.system.name)
    if size is None:  # the spec's cross-field check rejects this first
        raise ValueError(f"no DigitalOcean size for {pool.system.name}")
    total = pool.total_nodes
    args: dict[str, Any] = {
        "size": size,
        "labels": {**pool_labels(plan, pool), LABEL_SU: one_su_label(pool)},
        "taints": gpu_taints(pool.system, settings.acceptance_taint),
        "tags": do_tags(plan, f"pool:{pool.name}"),
    }
    if pool.min_nodes < total:
        args.update(auto_scale=True, min_nodes=pool.min_nodes, max_nodes=total)
    else:
        args.update(node_count=total)
    return args


def build(ctx: ProviderContext) -> ProviderResult:
    """VPC, DOKS cluster (default CPU pool), GPU node pools, Spaces buckets, NFS, and a Kubernetes provider."""
    import pulumi_digitalocean as do
    import pulumi_kubernetes as k8s

    spec, plan, name = ctx.spec, ctx.plan, ctx.name
    settings = spec.settings_of(DigitalOceanSettings)
    region = str(spec.region)
    child = pulumi.ResourceOptions(parent=ctx.parent)

    vpc = do.Vpc(f"{name}-vpc", name=f"{name}-vpc", region=region, ip_range=settings.vpc_cidr, opts=child)
    prefix = settings.version_prefix or f"{spec.kubernetes.version}."
    version = do.get_kubernetes_versions_output(version_prefix=prefix).latest_version
    firewall: Any = ({"enabled": True, "allowed_addresses": list(settings.api_allowed_cidrs)}
                     if settings.api_allowed_cidrs else None)
    system_pool: Any = {"name": f"{name}-system", "size": settings.system_pool_size,
                        "node_count": settings.system_nodes, "labels": {LABEL_ROLE: "system"}}
    filesystem_on = spec.storage.filesystem is not None and spec.storage.filesystem.kind == "digitalocean-nfs"
    amd = any(pool.system.gpu_vendor.name == "amd" for pool in plan.pools)
    cluster = do.KubernetesCluster(
        f"{name}-doks", name=name, region=region, version=version, vpc_uuid=vpc.id, ha=settings.ha,
        # Pinned: DOKS upgrades replace nodes; GPU jobs must not lose nodes to an unplanned upgrade.
        auto_upgrade=False, surge_upgrade=True,
        # The default pool is part of the cluster resource: changing its size replaces the cluster
        # (pulumi/pulumi#5049). It only runs system pods; GPU pools are separate KubernetesNodePools below.
        node_pool=system_pool,
        control_plane_firewall=firewall,
        nvidia_gpu_device_plugin={"enabled": True},
        rdma_shared_device_plugin={"enabled": True},
        # AMD pools: the AMD GPU Device Plugin (amd.com/gpu; "If not specified, the component will be enabled by
        # default for clusters with AMD GPU nodes", declared here) and the AMD GPU device metrics exporter ("If not
        # specified, the component will not be installed"): pulumi-digitalocean KubernetesCluster, and DigitalOcean's
        # API spec (profile docstring). Unset without AMD pools: the platform's default stands.
        amd_gpu_device_plugin={"enabled": True} if amd else None,
        amd_gpu_device_metrics_exporter_plugin={"enabled": True} if amd else None,
        nfs_csi_plugin={"enabled": True} if filesystem_on else None,
        tags=do_tags(plan),
        opts=stateful(ctx.parent, plan),
    )

    node_pools: dict[str, dict[str, Any]] = {}
    for pool in plan.pools:
        args = node_pool_args(spec, plan, pool)
        do.KubernetesNodePool(
            f"{name}-{pool.name}", cluster_id=cluster.id, name=f"{name}-{pool.name}", **args,
            opts=pulumi.ResourceOptions(parent=ctx.pools[pool.name]),
        )
        node_pools[pool.name] = {"size": args["size"], "nodes": pool.total_nodes}

    buckets: dict[str, str] = {}
    bucket_prefix = settings.bucket_prefix or name
    for spec_bucket in spec.storage.buckets:
        bucket_name = f"{bucket_prefix}-{spec_bucket.purpose}"
        do.SpacesBucket(
            f"{name}-{spec_bucket.purpose}", name=bucket_name, region=settings.spaces_region or region,
            acl="private", versioning={"enabled": True},
            # Spaces takes the lifecycle rule inline (the S3 rule shape of _buckets, in the provider's fields).
            lifecycle_rules=[{
                "id": "expire-noncurrent-versions", "enabled": True,
                "noncurrent_version_expiration": {"days": spec_bucket.noncurrent_version_days},
                "abort_incomplete_multipart_upload_days": ABORT_MULTIPART_DAYS,
            }],
            opts=stateful(ctx.parent, plan),
        )
        buckets[spec_bucket.purpose] = bucket_name

    filesystem: dict[str, Any] | None = None
    team_volume: TeamVolumeSource | None = None
    if filesystem_on:
        gib = max(NFS_MIN_GIB, filesystem_gib(plan))
        share = do.Nfs(
            f"{name}-shared", name=f"{name}-shared", region=region, size=gib, vpc_id=vpc.id,
            performance_tier=settings.nfs_performance_tier, tags=do_tags(plan, "purpose:shared"),
            opts=stateful(ctx.parent, plan),
        )
        filesystem = {"id": share.id, "size_gib": gib, "performance_tier": settings.nfs_performance_tier,
                      "host": share.host, "mount_path": share.mount_path}
        # One static PV per training team of DOKS's NFS CSI driver (profile team_volume): server = the share's host
        # IP in the VPC, share = its mount path; the handle {server}#{share}#{team} is unique per PV, as the driver
        # asks ("Specify a value the driver can use to uniquely identify the share in the cluster").
        team_volume = TeamVolumeSource(
            volume_handle=pulumi.Output.all(share.host, share.mount_path).apply(
                lambda hp: f"{hp[0]}#{hp[1]}#{{team}}"),
            volume_attributes={"server": share.host, "share": share.mount_path},
            capacity_gib=gib,
        )

    kubeconfig = secret(cluster.kube_configs.apply(lambda configs: str(configs[0].raw_config) if configs else ""))
    provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=child)
    outputs: dict[str, Any] = {
        "kubeconfig": kubeconfig,
        "digitalocean": {
            "region": region, "vpc_id": vpc.id, "cluster_id": cluster.id, "version": version,
            "node_pools": node_pools, "buckets": buckets, "filesystem": filesystem,
        },
        "placement_blocks": su_group_outputs(plan),
    }
    return ProviderResult(outputs=outputs, kubernetes_provider=provider, team_volume_source=team_volume)
