"""``Tenant``: one team's isolated namespace.

- Namespace with Pod Security ``restricted`` by default (enforce, audit, warn; per team ``pod_security``), pinned
  to the cluster's Kubernetes minor.
- ResourceQuota on GPUs (``requests.<the pool vendor's resource>``, e.g. ``requests.nvidia.com/gpu``): the
  team's ceiling even for pods that bypass Kueue.
- LimitRange: no container or pod asks for more GPUs than one node has, and a container that asks for none gets
  none (``gpu_limit_range_items``).
- NetworkPolicies: default deny (ingress and egress), then explicit allows: DNS to kube-system's resolver,
  traffic within the namespace, and (optionally) ingress from the gateway's namespace.
- RBAC: a Role for the team's workloads, bound to the team's identity-provider group.
- A claim on the shared filesystem (``filesystem``), ReadWriteMany, in the team's namespace: dynamic (the claim
  names the provider's StorageClass) or static (a PersistentVolume of the provider's CSI driver, pre-bound to the
  claim with ``claimRef`` and ``volumeName`` -- "Reserving a PersistentVolume", Kubernetes docs "Persistent
  Volumes" -- with ``storageClassName: ""`` on both so no default class is applied, and reclaim policy ``Retain``
  so that deleting the claim leaves the filesystem alone; one PV per team because a PV binds to exactly one claim).

Usable on its own (see ``examples/serving-on-existing-cluster``): it takes plain typed arguments, no plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from neocloud.catalog import GPU_VENDORS
from neocloud.vocabulary import (
    COMPUTE_DOMAIN_GROUP,
    ENVOY_OWNING_GATEWAY_NAME_LABEL,
    ENVOY_OWNING_GATEWAY_NAMESPACE_LABEL,
    LABEL_TEAM,
)

from .objects import child_opts, meta, name_of, namespace_labels
from .traffic import GATEWAY_NAME

__all__ = [
    "DNS_PORT",
    "TEAM_LABEL",
    "FilesystemClaim",
    "StaticVolume",
    "Tenant",
    "gpu_limit_range_items",
    "team_role_rules",
]

TEAM_LABEL = LABEL_TEAM
DNS_PORT = 53
"""DNS (UDP and TCP) to the cluster resolver."""


@dataclass(frozen=True)
class StaticVolume:
    """A CSI PersistentVolume on an existing filesystem, for one team's claim."""

    csi_driver: str
    volume_handle: pulumi.Input[str]
    volume_attributes: Mapping[str, pulumi.Input[str]]
    capacity_gib: int
    mount_options: Sequence[str] = ()


@dataclass(frozen=True)
class FilesystemClaim:
    """The team's claim on the shared filesystem: ``storage_class`` (``""`` for a static volume) and size;
    ``volume``: the static PersistentVolume it is bound to (``None``: the class provisions one)."""

    name: str
    storage_class: str
    size_gib: int
    volume: StaticVolume | None = None
    protect: bool = False
    """Protect the claim (and its PV) from deletion (prod: a dynamic claim's volume holds the team's data)."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must exist before the claim (the driver's installation)."""


def gpu_limit_range_items(max_gpus_per_pod: int, gpu_resource: str = GPU_VENDORS["nvidia"].resource
                          ) -> list[k8s.core.v1.LimitRangeItemArgs]:
    """The tenant LimitRange: no container and no pod asks for more GPUs than one node has, and no container gets
    a GPU it did not ask for.

    Why the explicit ``default``/``defaultRequest`` of 0: without them the API server defaults a Container item's
    missing ``default`` to its ``max`` and ``defaultRequest`` to that (kubernetes ``SetDefaults_LimitRangeItem``),
    and LimitRanger then gives every container and init container without a GPU limit ``max`` GPUs, so a CPU-only
    sidecar takes a whole node's GPUs and a GPU pod with a sidecar exceeds the Pod max (Kubernetes docs, "Limit
    Ranges"; "Configure Minimum and Maximum Memory Constraints for a Namespace"). The default of 0 also gives every
    pod the GPU limit the Pod item's ``max`` requires ("maximum ... per Pod ... No limit is specified" otherwise).
    For an extended resource the default and defaultRequest must be equal (it cannot be overcommitted)."""
    gpu, most, none = gpu_resource, str(max_gpus_per_pod), "0"
    item = k8s.core.v1.LimitRangeItemArgs
    return [
        item(type="Container", max={gpu: most}, default={gpu: none}, default_request={gpu: none}),
        item(type="Pod", max={gpu: most}),
    ]


def team_role_rules(*, compute_domains: bool = False) -> list[k8s.rbac.v1.PolicyRuleArgs]:
    """What a team may do in its own namespace: run and inspect workloads (Jobs, JobSets, Deployments,
    StatefulSets, pods and their logs), manage their config and routes, and read its Kueue queue and
    workloads. No RBAC, quota, LimitRange or NetworkPolicy edits: those stay with the platform.

    ``compute_domains`` (the team's pool has multi-node NVLink domains): each job creates its own NVIDIA
    ComputeDomain and its pods claim an IMEX channel from the ResourceClaimTemplate the driver's controller makes
    for it, so the team may manage ComputeDomains and read ResourceClaims and their templates. The platform creates
    no shared per-team ComputeDomain: "It is a best practice to create a ComputeDomain per workload job" (EKS user
    guide, ml-eks-nvidia-ultraserver), "Each independent workload should use its own ComputeDomain. Deploying
    multiple workloads into a single ComputeDomain works, but may result in unintended memory sharing between them"
    (docs.coreweave.com products/cks/clusters/scheduling/imex-dra-scheduling); docs/kubernetes.md shows the job's
    objects."""
    rw = ["get", "list", "watch", "create", "update", "patch", "delete"]
    ro = ["get", "list", "watch"]
    rule = k8s.rbac.v1.PolicyRuleArgs
    return [
        rule(api_groups=[""], resources=["pods", "services", "configmaps", "secrets", "persistentvolumeclaims",
                                         "serviceaccounts"], verbs=rw),
        rule(api_groups=[""], resources=["pods/log", "events", "resourcequotas", "limitranges"], verbs=ro),
        rule(api_groups=[""], resources=["pods/exec", "pods/portforward"], verbs=["create"]),
        rule(api_groups=["batch"], resources=["jobs", "cronjobs"], verbs=rw),
        rule(api_groups=["apps"], resources=["deployments", "statefulsets"], verbs=rw),
        rule(api_groups=["jobset.x-k8s.io"], resources=["jobsets"], verbs=rw),
        rule(api_groups=["kueue.x-k8s.io"], resources=["workloads", "localqueues"], verbs=ro),
        rule(api_groups=["gateway.networking.k8s.io"], resources=["httproutes"], verbs=rw),
        *([rule(api_groups=[COMPUTE_DOMAIN_GROUP], resources=["computedomains"], verbs=rw),
           rule(api_groups=["resource.k8s.io"], resources=["resourceclaims", "resourceclaimtemplates"], verbs=ro)]
          if compute_domains else []),
    ]


class Tenant(pulumi.ComponentResource):
    """A team's namespace with quota, limits, default-deny networking and RBAC. ``namespace`` is the
    namespace name as an Output (objects that must wait for the namespace use it)."""

    TYPE = "neocloud:kubernetes:Tenant"

    def __init__(self, name: str, *, team: str, kubernetes_version: str, gpu_quota: int, max_gpus_per_pod: int,
                 group: str, gateway_namespace: str | None = None, pod_security: str = "restricted",
                 gpu_resource: str = GPU_VENDORS["nvidia"].resource, compute_domains: bool = False,
                 filesystem: FilesystemClaim | None = None,
                 kubernetes_provider: pulumi.ProviderResource | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """``gpu_quota``: most GPUs the namespace may request at once (ResourceQuota); ``max_gpus_per_pod``:
        GPUs of one node (LimitRange); ``group``: identity-provider group bound to the team's Role;
        ``gateway_namespace``: where the team's Gateway's proxies run; only those proxies may reach the team's pods;
        ``pod_security``: the Pod Security Standard level (restricted unless RDMA pods need IPC_LOCK);
        ``gpu_resource``: the pool's GPU extended resource (its vendor's: ``nvidia.com/gpu``, ``amd.com/gpu``);
        ``compute_domains``: the team's jobs create NVIDIA ComputeDomains (multi-node NVLink pools;
        ``team_role_rules``);
        ``filesystem``: the team's claim on the shared filesystem (training teams of a stack with one)."""
        super().__init__(self.TYPE, name, {"team": team, "gpuQuota": gpu_quota, "group": group,
                                           "gatewayNamespace": gateway_namespace, "podSecurity": pod_security,
                                           "gpuResource": gpu_resource},
                         opts)
        k = kubernetes_provider
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=meta(team, labels=namespace_labels(pod_security, kubernetes_version, {TEAM_LABEL: team})),
            opts=child_opts(self, k),
        )
        self.namespace: pulumi.Output[str] = name_of(ns)
        in_ns = child_opts(self, k, [ns])
        namespace = self.namespace
        gpu = gpu_resource
        self.resource_quota = k8s.core.v1.ResourceQuota(
            f"{name}-gpu-quota", metadata=meta("gpu-quota", namespace=namespace),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard={f"requests.{gpu}": str(gpu_quota)}), opts=in_ns,
        )
        self.limit_range = k8s.core.v1.LimitRange(
            f"{name}-limits", metadata=meta("gpu-limits", namespace=namespace),
            spec=k8s.core.v1.LimitRangeSpecArgs(limits=gpu_limit_range_items(max_gpus_per_pod, gpu)), opts=in_ns,
        )
        np = k8s.networking.v1
        all_pods = k8s.meta.v1.LabelSelectorArgs()
        self.network_policies = [
            np.NetworkPolicy(
                f"{name}-default-deny", metadata=meta("default-deny", namespace=namespace),
                spec=np.NetworkPolicySpecArgs(pod_selector=all_pods, policy_types=["Ingress", "Egress"]),
                opts=in_ns,
            ),
            np.NetworkPolicy(
                f"{name}-allow-dns", metadata=meta("allow-dns", namespace=namespace),
                spec=np.NetworkPolicySpecArgs(
                    pod_selector=all_pods, policy_types=["Egress"],
                    egress=[np.NetworkPolicyEgressRuleArgs(
                        to=[np.NetworkPolicyPeerArgs(
                            namespace_selector=_ns_selector("kube-system"),
                            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                        )],
                        ports=[np.NetworkPolicyPortArgs(protocol=p, port=DNS_PORT) for p in ("UDP", "TCP")],
                    )],
                ),
                opts=in_ns,
            ),
            np.NetworkPolicy(
                f"{name}-allow-same-namespace", metadata=meta("allow-same-namespace", namespace=namespace),
                spec=np.NetworkPolicySpecArgs(
                    pod_selector=all_pods, policy_types=["Ingress", "Egress"],
                    ingress=[np.NetworkPolicyIngressRuleArgs(from_=[np.NetworkPolicyPeerArgs(pod_selector=all_pods)])],
                    egress=[np.NetworkPolicyEgressRuleArgs(to=[np.NetworkPolicyPeerArgs(pod_selector=all_pods)])],
                ),
                opts=in_ns,
            ),
        ]
        if gateway_namespace is not None:
            self.network_policies.append(np.NetworkPolicy(
                f"{name}-allow-gateway", metadata=meta("allow-gateway", namespace=namespace),
                spec=np.NetworkPolicySpecArgs(
                    pod_selector=all_pods, policy_types=["Ingress"],
                    ingress=[np.NetworkPolicyIngressRuleArgs(
                        # The Gateway's own Envoy proxies only: not every pod of Envoy Gateway's namespace (its
                        # controller and the traffic regulator's ramp controller run there too).
                        from_=[np.NetworkPolicyPeerArgs(
                            namespace_selector=_ns_selector(gateway_namespace),
                            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={
                                ENVOY_OWNING_GATEWAY_NAME_LABEL: GATEWAY_NAME,
                                ENVOY_OWNING_GATEWAY_NAMESPACE_LABEL: team,
                            }),
                        )],
                    )],
                ),
                opts=in_ns,
            ))
        rbac = k8s.rbac.v1
        role = rbac.Role(f"{name}-role", metadata=meta(f"{team}-member", namespace=namespace),
                         rules=team_role_rules(compute_domains=compute_domains), opts=in_ns)
        self.role_binding = rbac.RoleBinding(
            f"{name}-role-binding", metadata=meta(f"{team}-member", namespace=namespace),
            role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=f"{team}-member"),
            subjects=[rbac.SubjectArgs(api_group="rbac.authorization.k8s.io", kind="Group", name=group)],
            opts=child_opts(self, k, [role]),
        )
        self.role = role
        self.filesystem_claim: k8s.core.v1.PersistentVolumeClaim | None = None
        if filesystem is not None:
            self.filesystem_claim = self._claim(name, team, namespace, filesystem, ns, k)
        self.register_outputs({"namespace": self.namespace})

    def _claim(self, name: str, team: str, namespace: pulumi.Output[str], claim: FilesystemClaim,
               ns: k8s.core.v1.Namespace, k: pulumi.ProviderResource | None) -> k8s.core.v1.PersistentVolumeClaim:
        core = k8s.core.v1
        after: list[pulumi.Resource] = [ns, *claim.depends_on]
        volume_name: str | None = None
        if claim.volume is not None:
            v = claim.volume
            volume_name = f"{team}-{claim.name}"
            pv = core.PersistentVolume(
                f"{name}-filesystem-pv", metadata=meta(volume_name, labels={TEAM_LABEL: team}),
                spec=core.PersistentVolumeSpecArgs(
                    capacity={"storage": f"{v.capacity_gib}Gi"}, volume_mode="Filesystem",
                    access_modes=["ReadWriteMany"], persistent_volume_reclaim_policy="Retain",
                    storage_class_name=claim.storage_class, mount_options=list(v.mount_options) or None,
                    claim_ref=core.ObjectReferenceArgs(namespace=team, name=claim.name),
                    csi=core.CSIPersistentVolumeSourceArgs(driver=v.csi_driver, volume_handle=v.volume_handle,
                                                           volume_attributes=dict(v.volume_attributes)),
                ),
                opts=pulumi.ResourceOptions.merge(child_opts(self, k, list(claim.depends_on)),
                                                  pulumi.ResourceOptions(protect=claim.protect)),
            )
            after.append(pv)
        return core.PersistentVolumeClaim(
            f"{name}-filesystem-claim", metadata=meta(claim.name, namespace=namespace, labels={TEAM_LABEL: team}),
            spec=core.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteMany"], storage_class_name=claim.storage_class, volume_name=volume_name,
                resources=core.VolumeResourceRequirementsArgs(requests={"storage": f"{claim.size_gib}Gi"}),
            ),
            opts=pulumi.ResourceOptions.merge(child_opts(self, k, after),
                                              pulumi.ResourceOptions(protect=claim.protect)),
        )


def _ns_selector(namespace: str) -> k8s.meta.v1.LabelSelectorArgs:
    # kubernetes.io/metadata.name is set on every namespace by the API server (Kubernetes 1.22+).
    return k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": namespace})
