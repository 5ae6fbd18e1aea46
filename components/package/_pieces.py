"""The pieces people compose alone, for the component package: a tenant, the traffic regulator, Kueue, and the
per-node acceptance of GPU nodes.

Each takes plain typed inputs (what the schema inference accepts) and validates them with the spec's own
models, so a value the stack config would refuse is refused here with the same message and its property path.
The Kubernetes API is the consumer's: pass ``providers: {kubernetes: <provider>}`` as a resource option; the
engine hands it to ``Construct`` and the component's children inherit it through their parent (Pulumi docs,
"Resource options: providers").
"""

# No `from __future__ import annotations`: the schema inference reads annotations as real types.

from typing import Annotated, Any, NotRequired, TypedDict

import pulumi
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from neocloud import SpecError, build_plan, load_cluster_spec
from neocloud.plan.kubernetes import acceptance_pools, acceptance_tests, plan_team_queues, traffic_ramp
from neocloud.spec import Queue
from neocloud.spec import TrafficRegulator as RegulatorModel

from ..kubernetes import acceptance as _acceptance
from ..kubernetes import kueue as _kueue
from ..kubernetes import tenants as _tenants
from ..kubernetes import traffic as _traffic
from ._errors import SpecInputError, input_error
from ._spec_types import ClusterSpec, TrafficRegulatorSpec

__all__ = ["KueueScheduling", "KueueSchedulingArgs", "NodeAcceptance", "NodeAcceptanceArgs", "Tenant", "TenantArgs",
           "TrafficRegulator", "TrafficRegulatorArgs"]


def _validated(model: type[BaseModel], value: Any, *, arg: str) -> Any:
    """``model`` from ``value``; the first problem as a ``SpecInputError`` at ``arg.<field>``."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(p for p in [arg, *(str(p) for p in first["loc"])] if p)
        raise SpecInputError(where, first["msg"]) from None


_GPUS_PER_POD = TypeAdapter(Annotated[int, Field(ge=1)])


def _required(args: Any, *keys: str) -> None:
    for key in keys:
        if args.get(key) is None:
            raise SpecInputError(key, "required")


class TenantArgs(TypedDict):
    """Inputs of ``Tenant``."""

    team: str
    """Team name: the namespace, and the LocalQueue a `KueueScheduling` gives the team (a DNS label)."""
    kubernetes_version: str
    """Kubernetes minor version of the cluster (e.g. "1.33"), pinned as the Pod Security version."""
    gpu_quota: int
    """Most GPUs the namespace may request at once (ResourceQuota)."""
    max_gpus_per_pod: int
    """GPUs of one node (LimitRange): no pod can use more."""
    group: NotRequired[str]
    """Identity-provider group bound to the team's Role; default: the team name."""
    gateway_namespace: NotRequired[str]
    """Namespace of the gateway's proxies, allowed to reach the team's pods (serving teams)."""
    pod_security: NotRequired[str]
    """Pod Security Standard level the namespace enforces: restricted (default), baseline or privileged."""


class Tenant(_tenants.Tenant):
    """A team's namespace on an existing cluster: GPU ResourceQuota, LimitRange, default-deny NetworkPolicy
    (with the exceptions the team needs), Role and RoleBinding for the team's group."""

    TYPE = "neocloud:index:Tenant"

    namespace: pulumi.Output[str]
    """The team's namespace name (objects that must wait for the namespace use it)."""

    def __init__(self, name: str, args: TenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _required(args, "team", "kubernetes_version", "gpu_quota", "max_gpus_per_pod")
        queue = _validated(Queue, {"team": args["team"], "gpu_quota": args["gpu_quota"],
                                   "pod_security": args.get("pod_security", "restricted"),
                                   "group": args.get("group")}, arg="")
        try:
            # Numbers cross the provider protocol as floats (protobuf Struct); lax int takes 8.0, refuses 8.5.
            max_gpus = _GPUS_PER_POD.validate_python(args["max_gpus_per_pod"])
        except ValidationError as exc:
            raise SpecInputError("maxGpusPerPod", exc.errors()[0]["msg"]) from None
        super().__init__(
            name, team=queue.team, kubernetes_version=args["kubernetes_version"], gpu_quota=queue.gpu_quota,
            max_gpus_per_pod=max_gpus, group=queue.group or queue.team,
            gateway_namespace=args.get("gateway_namespace"), pod_security=queue.pod_security, opts=opts,
        )


class TrafficRegulatorArgs(TypedDict):
    """Inputs of ``TrafficRegulator``."""

    namespace: pulumi.Input[str]
    """Namespace of the inference Services; the Gateway, routes and policy are created there."""
    regulator: TrafficRegulatorSpec
    """The regulator: rate, ramp after a resume and backends, as the spec's `kubernetes.traffic_regulator`."""
    install_envoy_gateway: NotRequired[bool]
    """Also install Envoy Gateway and its GatewayClass (default true; false where the cluster runs it)."""


class TrafficRegulator(_traffic.TrafficRegulator):
    """Gateway API + Envoy Gateway in front of a namespace's inference Services, letting traffic in gradually
    after the service comes back."""

    TYPE = "neocloud:index:TrafficRegulator"

    def __init__(self, name: str, args: TrafficRegulatorArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        _required(args, "namespace", "regulator")
        regulator = _validated(RegulatorModel, args["regulator"], arg="regulator")
        super().__init__(
            name, namespace=args["namespace"], ramp=traffic_ramp(regulator), backends=regulator.backends,
            hostnames=regulator.hostnames, listener_port=regulator.listener_port,
            retry_after_seconds=regulator.retry_after_seconds, max_pending_requests=regulator.max_pending_requests,
            controller_image=regulator.controller_image,
            install_envoy_gateway=args.get("install_envoy_gateway", True), opts=opts,
        )


class KueueSchedulingArgs(TypedDict):
    """Inputs of ``KueueScheduling``."""

    cluster: ClusterSpec
    """The cluster spec whose pools and queues Kueue schedules (Topology and ResourceFlavor per pool,
    ClusterQueue and LocalQueue per team), validated as the stack config is."""


class KueueScheduling(_kueue.KueueScheduling):
    """Kueue installed and configured from a cluster's plan on an existing cluster: topology-aware scheduling
    levels from the same model as the hardware, team queues and priority classes. Each team's LocalQueue is
    created in the namespace named after the team (a `Tenant` makes it)."""

    TYPE = "neocloud:index:KueueScheduling"

    queue_names: pulumi.Output[list[str]]
    """LocalQueue names, one per team."""

    def __init__(self, name: str, args: KueueSchedulingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        try:
            spec = load_cluster_spec(args.get("cluster"))
        except SpecError as error:
            raise input_error(error, arg="cluster") from None
        plan = build_plan(spec)
        queues = plan_team_queues(spec, plan)
        self.queue_names = pulumi.Output.from_input([q.team for q in queues])
        super().__init__(name, plan=plan, queues=queues, team_namespaces={q.team: q.team for q in queues},
                         recovery=spec.kubernetes.recovery, opts=opts)


class NodeAcceptanceArgs(TypedDict):
    """Inputs of ``NodeAcceptance``."""

    cluster: ClusterSpec
    """The cluster spec whose pools' joining GPU nodes are checked (thresholds, images and deadlines from its
    `kubernetes.acceptance`), validated as the stack config is."""


class NodeAcceptance(_acceptance.NodeAcceptance):
    """Per-node acceptance on an existing cluster: every GPU node that joins labelled and tainted
    `neocloud.io/acceptance=pending` is checked on its own (hardware against the plan, DCGM diagnostics,
    intra-node NCCL) and untainted only if it passes; one DaemonSet per pool and a periodic multi-node NCCL sweep
    per SU that names slow nodes. The nodes' SU labels must be the plan's (`neocloud.io/su`)."""

    TYPE = "neocloud:index:NodeAcceptance"

    daemon_sets: pulumi.Output[list[str]]
    """Names of the acceptance DaemonSets (one per pool) in the neocloud-acceptance namespace."""

    def __init__(self, name: str, args: NodeAcceptanceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        try:
            spec = load_cluster_spec(args.get("cluster"))
        except SpecError as error:
            raise input_error(error, arg="cluster") from None
        plan = build_plan(spec)
        kube = spec.kubernetes
        pools = acceptance_pools(spec, plan)
        self.daemon_sets = pulumi.Output.from_input([p.name for p in pools])
        # Sweeps with the plan's SU groups, images and NIC resource (neocloud.plan.kubernetes), as the layer's.
        super().__init__(
            name, pools=pools, sweeps=acceptance_tests(spec, plan), sweep_schedule=kube.acceptance.sweep_schedule,
            kubernetes_version=kube.version, dcgm_image=kube.acceptance.dcgm_image or _acceptance.DCGM_IMAGE,
            opts=opts,
        )
