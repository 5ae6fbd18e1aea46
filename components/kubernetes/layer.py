"""``KubernetesLayer``: the whole Kubernetes layer from one spec and its plan, on any provider's cluster.

Children: ``GpuOperators`` (GPU Operator, Network Operator or EFA device plugin), ``Tenant`` per team,
``KueueScheduling`` (Topology/ResourceFlavor per pool, ClusterQueue/LocalQueue per team, priorities),
``NodeAcceptance`` (one Job per SU) and, when the spec asks for it, ``TrafficRegulator``. Everything runs
on the ``pulumi_kubernetes.Provider`` the cloud provider module returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi

from neocloud import ClusterPlan, ClusterSpec
from neocloud.plan.kubernetes import acceptance_pools, acceptance_tests, plan_team_queues, traffic_ramp
from neocloud.vocabulary import KUBERNETES_LAYER_TYPE, TEAM_FILESYSTEM_CLAIM

from .acceptance import DCGM_IMAGE, NodeAcceptance
from .charts import ENVOY_GATEWAY
from .health import NodeHealth
from .kueue import KueueScheduling
from .operators import GpuOperators
from .tenants import FilesystemClaim, StaticVolume, Tenant
from .topology import kueue_levels
from .traffic import TrafficRegulator, admission_policy_supported

__all__ = [
    "KubernetesLayer",
    "compute_domains",
    "filesystem_claims",
    "gpu_driver_preinstalled",
    "layer_facts",
]


def gpu_driver_preinstalled(spec: ClusterSpec) -> bool:
    """Whether the nodes' image already carries the GPU driver and container toolkit (the provider's profile
    knows: e.g. the EKS accelerated AMIs, Nebius node groups with a drivers preset)."""
    return spec.profile.gpu_driver_preinstalled(spec)


def multi_node_nvlink_pools(plan: ClusterPlan) -> list[str]:
    """Pools whose NVLink domains span nodes (GB200 NVL72 racks, P6e-GB200 UltraServers)."""
    return [p.name for p in plan.pools if p.system.nvlink_domain_nodes > 1]


def compute_domains(spec: ClusterSpec, plan: ClusterPlan) -> str | None:
    """Who runs NVIDIA ComputeDomains for the cluster (the profile's ``compute_domains``: ``dra-driver`` or
    ``platform``), or ``None`` where no pool has multi-node NVLink domains: single-node-domain clusters get no DRA
    driver. Multi-node NVLink needs IMEX, which NVIDIA's DRA driver provides through ComputeDomains
    (docs.nvidia.com gpu-operator/latest/dra-cds.html: "NVIDIA's DRA Driver for GPUs enables MNNVL for Kubernetes
    workloads by introducing a new concept -- the ComputeDomain")."""
    return spec.profile.compute_domains if multi_node_nvlink_pools(plan) else None


def _team_volume_facts(spec: ClusterSpec, plan: ClusterPlan) -> dict[str, Any] | None:
    """How training teams mount the filesystem (the profile's ``team_volume``), the claim's name and each training
    team's planned share; ``None`` without a filesystem. A filesystem the provider documents no way to mount gives
    ``mode: none``, which policy team-filesystem-claims fails."""
    if spec.storage.filesystem is None:
        return None
    volume = spec.profile.team_volume(spec)
    return {**(volume.to_dict() if volume else {"mode": "none"}), "claim": TEAM_FILESYSTEM_CLAIM,
            "teams": dict(plan.storage.team_claim_gib)}


def _team_handle(handle: Any, team: str) -> pulumi.Input[str]:
    if isinstance(handle, pulumi.Output):
        return handle.apply(lambda h: str(h).replace("{team}", team))
    return str(handle).replace("{team}", team)


def filesystem_claims(spec: ClusterSpec, plan: ClusterPlan, source: Any = None,
                      depends_on: Sequence[pulumi.Resource] = ()) -> dict[str, FilesystemClaim]:
    """Training team -> its claim on the shared filesystem, as the provider's profile says to mount it. ``source``:
    the provider's ``TeamVolumeSource`` (static volumes: the handle, attributes and capacity of the filesystem it
    created); ``{team}`` in the handle becomes the team, for drivers that want one handle per PV."""
    volume = spec.profile.team_volume(spec)
    if volume is None or spec.storage.filesystem is None:
        return {}
    protect = plan.environment == "prod"
    out: dict[str, FilesystemClaim] = {}
    for team, gib in plan.storage.team_claim_gib:
        static: StaticVolume | None = None
        size = gib
        if volume.mode == "static":
            if source is None or volume.csi_driver is None:
                raise ValueError(f"provider '{spec.provider}' mounts its filesystem through static volumes but "
                                 "returned no volume source")
            handle: pulumi.Input[str] = _team_handle(source.volume_handle, team)
            static = StaticVolume(csi_driver=volume.csi_driver, volume_handle=handle,
                                  volume_attributes=dict(source.volume_attributes), capacity_gib=source.capacity_gib,
                                  mount_options=volume.mount_options)
            size = source.capacity_gib  # the whole filesystem is the PV; the claim asks for all of it
        out[team] = FilesystemClaim(name=TEAM_FILESYSTEM_CLAIM, storage_class=volume.storage_class, size_gib=size,
                                    volume=static, protect=protect, depends_on=tuple(depends_on))
    return out


def layer_facts(spec: ClusterSpec, plan: ClusterPlan) -> dict[str, Any]:
    """Plain-value facts of the layer for policies and stack outputs: Topology levels per pool, team queues,
    acceptance thresholds and the traffic regulator's settings."""
    kube = spec.kubernetes
    regulator = kube.traffic_regulator
    return {
        "kubernetes_version": kube.version,
        "topology_levels": {p.name: list(kueue_levels(plan, p)) for p in plan.pools},
        "queues": [q.to_dict() for q in plan_team_queues(spec, plan)],
        "schedulable_gpus": {p.name: p.gpus for p in plan.pools},
        "compute_domains": compute_domains(spec, plan),
        "team_volume": _team_volume_facts(spec, plan),
        "acceptance": [t.to_dict() for t in acceptance_tests(spec, plan)],
        "node_acceptance": [p.to_dict() for p in acceptance_pools(spec, plan)],
        "node_health": {**kube.node_health.model_dump(), "repair": spec.profile.repair.to_dict(),
                        "janitor": spec.profile.janitor.to_dict()},
        "recovery": kube.recovery.model_dump(),
        "traffic_regulator": None if regulator is None else {
            **regulator.model_dump(), "team": kube.regulated_team(), "ramp": traffic_ramp(regulator).to_dict(),
        },
    }


class KubernetesLayer(pulumi.ComponentResource):
    """The Kubernetes layer of a GPU cluster, driven by the same plan as the hardware."""

    TYPE = KUBERNETES_LAYER_TYPE

    def __init__(self, name: str, *, spec: ClusterSpec, plan: ClusterPlan,
                 kubernetes_provider: pulumi.ProviderResource,
                 team_volume_source: Any = None, filesystem_depends_on: Sequence[pulumi.Resource] = (),
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """``kubernetes_provider``: the cluster's API (every object of the layer is created through it); the
        ``neocloud.io/su`` groups node acceptance sweeps are the plan's (``PoolPlan.su_groups``);
        ``team_volume_source``: the provider's filesystem for static team volumes; ``filesystem_depends_on``: what
        the team claims wait for (the provider's driver install)."""
        facts = layer_facts(spec, plan)
        super().__init__(self.TYPE, name, {"neocloud": facts}, opts)
        k = kubernetes_provider
        child = pulumi.ResourceOptions(parent=self)
        kube = spec.kubernetes
        self.operators = GpuOperators(
            f"{name}-operators", fabric_kind=plan.fabric_kind,  # type: ignore[arg-type]
            kubernetes_version=kube.version, install_gpu_driver=not gpu_driver_preinstalled(spec),
            install_fabric_driver=spec.profile.installs_fabric_driver,
            platform_managed=spec.profile.platform_manages_gpu_stack,
            fabric_resource_name=spec.profile.fabric_resource(spec) if spec.profile.platform_manages_gpu_stack
            else None,
            compute_domains=compute_domains(spec, plan),  # type: ignore[arg-type]
            control_plane_nodes=spec.profile.control_plane_nodes,
            kubernetes_provider=k, opts=child,
        )
        queues = plan_team_queues(spec, plan)
        nvlink_pools = set(multi_node_nvlink_pools(plan))
        regulated = kube.regulated_team()
        claims = filesystem_claims(spec, plan, team_volume_source, filesystem_depends_on)
        self.tenants = {
            q.team: Tenant(
                f"{name}-tenant-{q.team}", team=q.team, kubernetes_version=kube.version, gpu_quota=q.gpu_ceiling,
                max_gpus_per_pod=q.max_gpus_per_pod, group=q.group, pod_security=q.pod_security,
                gpu_resource=q.gpu_resource, compute_domains=q.pool in nvlink_pools,
                gateway_namespace=ENVOY_GATEWAY.namespace if q.team == regulated else None,
                filesystem=claims.get(q.team), kubernetes_provider=k, opts=child,
            )
            for q in queues
        }
        self.kueue = KueueScheduling(
            f"{name}-kueue", plan=plan, queues=queues,
            team_namespaces={team: t.namespace for team, t in self.tenants.items()}, recovery=kube.recovery,
            kubernetes_provider=k, opts=child,
        )
        self.acceptance = NodeAcceptance(
            f"{name}-acceptance", pools=acceptance_pools(spec, plan),
            sweeps=acceptance_tests(spec, plan), sweep_schedule=kube.acceptance.sweep_schedule,
            kubernetes_version=kube.version, dcgm_image=kube.acceptance.dcgm_image or DCGM_IMAGE,
            depends_on=self.operators.ready, kubernetes_provider=k, opts=child,
        )
        self.health: NodeHealth | None = None
        if kube.node_health.enabled:
            self.health = NodeHealth(
                f"{name}-health", repair=spec.profile.repair, janitor=spec.profile.janitor,
                dry_run=kube.node_health.dry_run,
                kubernetes_version=kube.version, depends_on=list(self.operators.ready), kubernetes_provider=k,
                opts=child,
            )
        self.traffic_regulator: TrafficRegulator | None = None
        regulator = kube.traffic_regulator
        if regulator is not None and regulated is not None:
            self.traffic_regulator = TrafficRegulator(
                f"{name}-traffic", namespace=self.tenants[regulated].namespace, ramp=traffic_ramp(regulator),
                backends=regulator.backends, hostnames=regulator.hostnames, listener_port=regulator.listener_port,
                retry_after_seconds=regulator.retry_after_seconds,
                max_pending_requests=regulator.max_pending_requests, controller_image=regulator.controller_image,
                admission_policy=admission_policy_supported(kube.version), kubernetes_provider=k, opts=child,
            )
        self.outputs: dict[str, Any] = {"kubernetes": facts}
        self.register_outputs({})
