"""Provider ``nebius``: VPC network and subnet, a GPU cluster on the region's InfiniBand fabric, a Managed
Kubernetes (mk8s) cluster with a CPU node group and GPU node groups in that GPU cluster, a shared filesystem sized
by the planner, and versioned buckets.

``pulumi-nebius`` is a community bridge of Nebius's official Terraform provider, installed with the optional
extra ``neocloud[nebius]``; it is imported only inside ``build`` so the other providers work without it.

Sources (resource and argument names are the SDK's own, ``pulumi_nebius`` 0.6.73):

- A GPU cluster is tied to one InfiniBand fabric (``ComputeV1GpuCluster.infiniband_fabric``;
  https://docs.nebius.com/compute/clusters/gpu#fabrics); hardware.md Neoclouds [S].
- GB200 VMs have 4 GPUs and the NVLink domain spans the rack through an NVLink instance group
  (``ComputeV1NvlInstanceGroup``, type ``GB200``, ``size`` = instances); a node group with NVLink has a fixed
  node count (``Mk8sV1NodeGroup.fixed_node_count``: "except for a node group with NVLink").
- mk8s node labels and taints apply to nodes created after the change and are not propagated to existing nodes
  (``Mk8sV1NodeGroupTemplate.taints``), so an acceptance taint removed by the acceptance job stays removed.
- Kubernetes API credentials come from the Nebius CLI (``nebius iam get-access-token``) through a kubeconfig
  ``exec`` plugin; the cluster CA comes from ``status.control_plane.auth.cluster_ca_certificate``.
"""

from __future__ import annotations

from typing import Any

import pulumi

from neocloud.catalog import System
from neocloud.plan import ClusterPlan, PoolPlan
from neocloud.spec import ClusterSpec
from neocloud.vocabulary import LABEL_ROLE

from ...labels import ACCEPTANCE_LABELS, LABEL_CLUSTER, LABEL_NVLINK_DOMAIN, LABEL_RACK, LABEL_SU, pool_labels
from .._buckets import lifecycle_rule
from .._context import ProviderContext, ProviderResult
from .._neocloud import (
    filesystem_gib,
    gpu_taints,
    one_su_label,
    render_kubeconfig,
    secret,
    stateful,
    su_group_outputs,
)
from .profile import FILESYSTEM_CSI_CHART, FILESYSTEM_CSI_CHART_VERSION, NebiusSettings

__all__ = [
    "CPU_BOOT_DISK_GIB",
    "EXEC_CREDENTIAL",
    "FILESYSTEM_CSI_NAMESPACE",
    "NVL_GROUP_TYPES",
    "build",
    "filesystem_cloud_init",
    "filesystem_csi_values",
    "nebius_labels",
    "racks",
]

NVL_GROUP_TYPES = {"GB200": "GB200"}
"""NVLink instance group ``type`` by catalog GPU (``ComputeV1NvlInstanceGroup.type``: GB200, GB300)."""

EXEC_CREDENTIAL: dict[str, Any] = {
    "exec": {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "sh",
        "args": [
            "-c",
            "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
            "\"status\":{\"token\":\"%s\"}}' \"$(nebius iam get-access-token)\"",
        ],
        "interactiveMode": "Never",
    }
}
"""Kubeconfig user: a short-lived IAM token from the Nebius CLI profile, never a stored secret."""

CPU_BOOT_DISK_GIB = 128
"""Boot disk of the CPU (system) node group: our choice, enough for system images and logs."""

_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}


def nebius_labels(plan: ClusterPlan, **extra: str) -> dict[str, str]:
    """Labels for Nebius resources. Keys are plain words: that Nebius accepts Kubernetes-style prefixed keys
    (``neocloud.io/...``) on cloud resources is not verified. Node labels (``template.metadata.labels``) are
    Kubernetes labels and use the ``neocloud.io/`` vocabulary."""
    return {"neocloud-cluster": plan.name, "neocloud-environment": plan.environment, "managed-by": "neocloud",
            **extra}


def racks(pool: PoolPlan) -> list[tuple[int, int]]:
    """``(rack index, SU index)`` for every whole NVL72 rack of a pool (spares included), from the plan's rack
    groups."""
    out: list[tuple[int, int]] = []
    for group in pool.racks.groups:
        out.extend((len(out), group.su) for _ in range(group.racks))
    return out


def _public_endpoint(status: Any) -> str | None:
    """``status.control_plane.endpoints.public_endpoint`` of an mk8s cluster (None while unknown)."""
    endpoints = getattr(getattr(status, "control_plane", None), "endpoints", None)
    return getattr(endpoints, "public_endpoint", None)


def _cluster_ca(status: Any) -> str | None:
    """``status.control_plane.auth.cluster_ca_certificate`` of an mk8s cluster (None while unknown)."""
    auth = getattr(getattr(status, "control_plane", None), "auth", None)
    return getattr(auth, "cluster_ca_certificate", None)


def _kube_network(service_cidr: str) -> Any:
    return {"service_cidrs": [service_cidr]}


def _taints(system: System, acceptance: bool) -> list[dict[str, str]]:
    return [{"key": t["key"], "value": t["value"], "effect": _TAINT_EFFECTS[t["effect"]]}
            for t in gpu_taints(system, acceptance)]


FILESYSTEM_CSI_NAMESPACE = "kube-system"
"""Where the csi-mounted-fs-path release runs (a node-level storage driver, with the cluster's own)."""


def filesystem_mount_point(mount_tag: str) -> str:
    return f"/mnt/{mount_tag}"


def filesystem_cloud_init(mount_tag: str) -> str:
    """cloud-init user data that mounts the attached shared filesystem at ``/mnt/<mount_tag>`` on every boot.

    A node group's ``filesystems`` only attaches it: the mount tag is "the user-defined identifier, allowing to use
    it as a device in mount command" (Mk8sV1NodeGroupTemplateFilesystem.mount_tag); Nebius mounts it with
    ``mount -t virtiofs <mount_tag> <mount point>`` and an fstab line ``<mount_tag> <mount point> virtiofs
    defaults,nofail 0 2`` (recalled from Nebius's compute docs, "Mounting a shared filesystem": that page is not in
    the index we could read, so this is unverified here; the virtiofs mount by tag matches the pulumi-nebius field
    doc above). ``nofail``: a
    node whose mount fails still boots and joins, and the CSI driver's claims fail visibly instead."""
    point = filesystem_mount_point(mount_tag)
    line = f"{mount_tag} {point} virtiofs defaults,nofail 0 2"
    return "\n".join([
        "#cloud-config",
        "runcmd:",
        f"  - mkdir -p {point}",
        f"  - grep -q '^{mount_tag} ' /etc/fstab || echo '{line}' >> /etc/fstab",
        f"  - mount {point} || mount -t virtiofs {mount_tag} {point}",
        "",
    ])


def filesystem_csi_values(mount_tag: str) -> dict[str, Any]:
    """Values of the csi-mounted-fs-path chart: ``dataDir`` on the node's mount of the shared filesystem, as in
    Nebius's install line (``--set dataDir=/mnt/<mount_tag>/csi-mounted-fs-path-data/``)."""
    return {"dataDir": f"{filesystem_mount_point(mount_tag)}/csi-mounted-fs-path-data/"}


def _filesystem_attachment(settings: NebiusSettings, filesystem_id: pulumi.Input[str]) -> dict[str, Any]:
    return {
        "filesystems": [{
            "attach_mode": "READ_WRITE",
            "mount_tag": settings.filesystem_mount_tag,
            "existing_filesystem": {"id": filesystem_id},
        }],
        "cloud_init_user_data": filesystem_cloud_init(settings.filesystem_mount_tag),
    }


def _with_filesystem(template: Any, settings: NebiusSettings, filesystem_id: pulumi.Input[str] | None) -> Any:
    return {**template, **_filesystem_attachment(settings, filesystem_id)} if filesystem_id is not None else template


def _cpu_template(platform: str, preset: str, subnet_id: pulumi.Input[str], cluster: str) -> Any:
    return {
        "resources": {"platform": platform, "preset": preset},
        "boot_disk": {"type": "NETWORK_SSD", "size_gibibytes": CPU_BOOT_DISK_GIB},
        "network_interfaces": [{"subnet_id": subnet_id}],
        "metadata": {"labels": {LABEL_CLUSTER: cluster, LABEL_ROLE: "system"}},
    }


def _gpu_template(spec: ClusterSpec, plan: ClusterPlan, pool: PoolPlan, *, gpu_cluster_id: pulumi.Input[str],
                  subnet_id: pulumi.Input[str], filesystem_id: pulumi.Input[str] | None,
                  extra_labels: dict[str, str], nvl_group_id: pulumi.Input[str] | None) -> Any:
    settings = spec.settings_of(NebiusSettings)
    platform = settings.platform(pool.system.name)
    if platform is None:  # the spec's cross-field check rejects this first
        raise ValueError(f"no Nebius platform for {pool.system.name}")
    template: dict[str, Any] = {
        "resources": {"platform": platform.platform, "preset": platform.preset},
        "gpu_cluster": {"id": gpu_cluster_id},
        "boot_disk": {"type": "NETWORK_SSD", "size_gibibytes": settings.boot_disk_gib},
        "network_interfaces": [{"subnet_id": subnet_id}],
        "metadata": {"labels": {**pool_labels(plan, pool), **extra_labels,
                                **(ACCEPTANCE_LABELS if settings.acceptance_taint else {})}},
        "taints": _taints(pool.system, settings.acceptance_taint),
    }
    if settings.drivers_preset:
        template["gpu_settings"] = {"drivers_preset": settings.drivers_preset}
    if filesystem_id is not None:
        template.update(_filesystem_attachment(settings, filesystem_id))
    if nvl_group_id is not None:
        template["nvlink"] = {"nvl_instance_group_id": nvl_group_id}
    return template


def build(ctx: ProviderContext) -> ProviderResult:
    """Network, GPU cluster, mk8s with CPU and GPU node groups, shared filesystem, buckets, Kubernetes provider."""
    import pulumi_kubernetes as k8s

    try:
        import pulumi_nebius as nebius
    except ImportError as exc:
        raise RuntimeError("provider 'nebius' needs the pulumi-nebius package: pip install 'neocloud[nebius]'") from exc

    spec, plan, name = ctx.spec, ctx.plan, ctx.name
    settings = spec.settings_of(NebiusSettings)
    parent_id = settings.parent_id
    fabric = spec.fabric.name
    if parent_id is None or fabric is None:  # the spec's cross-field check requires both
        raise ValueError("nebius.parent_id and fabric.name are required")
    child = pulumi.ResourceOptions(parent=ctx.parent)
    labels = nebius_labels(plan)

    network = nebius.VpcV1Network(f"{name}-network", name=f"{name}-network", parent_id=parent_id, labels=labels,
                                  opts=child)
    subnet = nebius.VpcV1Subnet(f"{name}-subnet", name=f"{name}-subnet", parent_id=parent_id,
                                network_id=network.id, labels=labels, opts=child)
    gpu_cluster = nebius.ComputeV1GpuCluster(f"{name}-gpu-cluster", name=f"{name}-gpu-cluster",
                                             parent_id=parent_id, infiniband_fabric=fabric, labels=labels,
                                             opts=child)
    control_plane: Any = {
        "subnet_id": subnet.id,
        "version": spec.kubernetes.version,
        "etcd_cluster_size": settings.etcd_cluster_size,
        "endpoints": {"public_endpoint": {"allowed_cidrs": list(settings.api_allowed_cidrs)}},
    }
    cluster = nebius.Mk8sV1Cluster(
        f"{name}-mk8s", name=name, parent_id=parent_id, control_plane=control_plane,
        kube_network=_kube_network(settings.service_cidr), labels=labels,
        opts=stateful(ctx.parent, plan),
    )

    filesystem_id: pulumi.Output[str] | None = None
    filesystem: dict[str, Any] | None = None
    fs = spec.storage.filesystem
    if fs is not None and fs.kind == "nebius-shared":
        gib = filesystem_gib(plan)
        shared = nebius.ComputeV1Filesystem(
            f"{name}-shared-fs", name=f"{name}-shared", parent_id=parent_id, type=settings.filesystem_type,
            size_gibibytes=gib, forbid_deletion=plan.environment == "prod", labels=labels,
            opts=stateful(ctx.parent, plan),
        )
        filesystem_id = shared.id
        filesystem = {"id": shared.id, "size_gib": gib, "type": settings.filesystem_type,
                      "mount_tag": settings.filesystem_mount_tag}

    nebius.Mk8sV1NodeGroup(
        f"{name}-cpu", name="cpu", parent_id=cluster.id, fixed_node_count=settings.cpu_nodes,
        # The CPU nodes mount the shared filesystem too: the CSI driver serves a team's claim on whichever node its
        # pod runs, and a node without the filesystem would give it a directory of its boot disk instead.
        template=_with_filesystem(_cpu_template(settings.cpu_platform, settings.cpu_preset, subnet.id, plan.name),
                                  settings, filesystem_id),
        labels=labels, opts=child,
    )

    node_groups: dict[str, Any] = {}
    for pool in plan.pools:
        pool_opts = pulumi.ResourceOptions(parent=ctx.pools[pool.name])
        if pool.system.nvlink_domain_nodes > 1:
            group_type = NVL_GROUP_TYPES.get(pool.system.gpu)
            if group_type is None:
                raise ValueError(f"no NVLink instance group type for {pool.system.gpu}")
            rack_groups = []
            for rack, su in racks(pool):
                rack_name = f"{pool.name}-r{rack}"
                nvl = nebius.ComputeV1NvlInstanceGroup(
                    f"{name}-{rack_name}-nvl", name=f"{name}-{rack_name}", parent_id=parent_id,
                    size=pool.system.nvlink_domain_nodes, type=group_type, labels=labels, opts=pool_opts,
                )
                nebius.Mk8sV1NodeGroup(
                    f"{name}-{rack_name}", name=rack_name, parent_id=cluster.id,
                    fixed_node_count=pool.system.nvlink_domain_nodes,
                    template=_gpu_template(spec, plan, pool, gpu_cluster_id=gpu_cluster.id, subnet_id=subnet.id,
                                           filesystem_id=filesystem_id, nvl_group_id=nvl.id,
                                           extra_labels={LABEL_SU: str(su), LABEL_RACK: str(rack),
                                                         LABEL_NVLINK_DOMAIN: str(rack)}),
                    labels=labels, opts=pool_opts,
                )
                rack_groups.append(rack_name)
            node_groups[pool.name] = {"racks": rack_groups, "nodes_per_rack": pool.system.nvlink_domain_nodes}
        else:
            autoscale = pool.min_nodes < pool.total_nodes
            autoscaling: Any = (
                {"min_node_count": pool.min_nodes, "max_node_count": pool.total_nodes} if autoscale else None
            )
            nebius.Mk8sV1NodeGroup(
                f"{name}-{pool.name}", name=pool.name, parent_id=cluster.id,
                template=_gpu_template(spec, plan, pool, gpu_cluster_id=gpu_cluster.id, subnet_id=subnet.id,
                                       filesystem_id=filesystem_id, nvl_group_id=None,
                                       extra_labels={LABEL_SU: one_su_label(pool)}),
                autoscaling=autoscaling, fixed_node_count=None if autoscale else pool.total_nodes,
                labels=labels, opts=pool_opts,
            )
            node_groups[pool.name] = {"nodes": pool.total_nodes, "min_nodes": pool.min_nodes}

    buckets: dict[str, str] = {}
    prefix = settings.bucket_prefix or name
    for spec_bucket in spec.storage.buckets:
        bucket_name = f"{prefix}-{spec_bucket.purpose}"
        nebius.StorageV1Bucket(
            f"{name}-{spec_bucket.purpose}", name=bucket_name, parent_id=parent_id,
            versioning_policy="ENABLED",
            lifecycle_configuration={"rules": [lifecycle_rule(spec_bucket.noncurrent_version_days, status="ENABLED")]},
            labels={**labels, "neocloud-purpose": spec_bucket.purpose},
            opts=stateful(ctx.parent, plan),
        )
        buckets[spec_bucket.purpose] = bucket_name

    kubeconfig = secret(
        pulumi.Output.all(
            cluster.status.apply(_public_endpoint), cluster.status.apply(_cluster_ca),
        ).apply(lambda args: render_kubeconfig(cluster=name, server=str(args[0]), user=EXEC_CREDENTIAL,
                                               ca_pem=args[1]))
    )
    provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=child)
    installs: list[Any] = []
    if filesystem_id is not None:
        # Nebius's CSI driver for the mounted shared filesystem: the team claims (storage class
        # csi-mounted-fs-path-sc, profile NEBIUS_TEAM_VOLUME) are provisioned by it.
        installs.append(k8s.helm.v3.Release(
            f"{name}-filesystem-csi", name="csi-mounted-fs-path", chart=FILESYSTEM_CSI_CHART,
            version=FILESYSTEM_CSI_CHART_VERSION, namespace=FILESYSTEM_CSI_NAMESPACE,
            values=filesystem_csi_values(settings.filesystem_mount_tag), atomic=True, cleanup_on_fail=True,
            opts=pulumi.ResourceOptions(parent=ctx.parent, provider=provider),
        ))

    outputs: dict[str, Any] = {
        "kubeconfig": kubeconfig,
        "nebius": {
            "parent_id": parent_id,
            "network_id": network.id,
            "subnet_id": subnet.id,
            "gpu_cluster_id": gpu_cluster.id,
            "infiniband_fabric": fabric,
            "cluster_id": cluster.id,
            "node_groups": node_groups,
            "filesystem": filesystem,
            "buckets": buckets,
        },
        "placement_blocks": su_group_outputs(plan),
    }
    return ProviderResult(outputs=outputs, kubernetes_provider=provider, depends_on=installs)
