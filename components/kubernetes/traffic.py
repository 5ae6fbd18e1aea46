"""``TrafficRegulator``: let traffic back into inference services gradually after an outage.

A cold model server that gets full traffic the moment it is Ready falls over again (caches empty, KV cache
cold, autoscaler behind). The regulator puts Envoy Gateway in front of the team's inference Services and ramps
the rate it admits; Envoy Gateway stays the whole data plane (nothing of ours is in the request path):

- Gateway API ``Gateway`` (one HTTP listener, routes from the same namespace) and one ``HTTPRoute`` per backend
  Service (``gateway.networking.k8s.io/v1``).
- One Envoy Gateway ``BackendTrafficPolicy`` (``gateway.envoyproxy.io/v1alpha1``) that targets the **Gateway**, so
  it covers every route attached to it, including routes a team adds later: "When targeting a Gateway, it will
  apply the configured settings ... to all children xRoute resources of that Gateway" (Envoy Gateway design doc
  "BackendTrafficPolicy", https://gateway.envoyproxy.io/contributions/design/backend-traffic-policy/). A policy
  on a route would win over it, so the policy pack's ``traffic-regulator-covers-routes`` rule fails one that
  could switch the limit off, and ``inference-routes-through-regulator`` fails routes that bypass the Gateway.
  It sets:
  - a **local rate limit** (``rateLimit.local``) whose one rule the ramp controller moves from the floor to the
    full rate. Excess requests get Envoy's immediate 429 (a token bucket, no queue); Envoy Gateway applies the
    limit per route ("Even if a BackendTrafficPolicy targets a gateway, each route in that gateway still has a
    separate rate limit bucket") and per Envoy replica ("each replica will allow 10 requests/second"), both from
    its "Local Rate Limit" task (https://gateway.envoyproxy.io/docs/tasks/traffic/local-rate-limit/).
  - a **response override** on Envoy's own 429s (``source: Local``, "a 429 from rate limiting", Envoy Gateway
    "Response Override" task) that sets ``Retry-After``, so clients back off instead of hammering.
  - a **circuit breaker** bound on queued requests (``maxPendingRequests``; Envoy's default is 1024, Envoy docs
    "Circuit breakers"): beyond it Envoy answers 503 at once. No ``retry`` (the CRD: "If not set, retry will be
    disabled"), so a struggling backend is not sent each request twice.
  - Envoy's **slow start** (``loadBalancer.slowStart``, RoundRobin) for endpoints that join warm ones (partial
    restarts, scale-out): the case it is documented to work for.
- The **ramp controller** (``ramp_controller.py``): one Deployment on a stock pinned Python image running our
  stdlib-only code from a ConfigMap, with a Role that may only list and watch EndpointSlices in the team
  namespace and get and patch this one policy. Its decisions are ``neocloud.plan.traffic`` (pure, tested alone).
- A ``ValidatingAdmissionPolicy`` bound to the team namespace (Kubernetes 1.30+) so the cluster refuses, from
  anyone, a route with another parent, a LoadBalancer/NodePort Service or an Ingress there.
- Optionally Envoy Gateway itself (pinned Helm chart) and its ``GatewayClass``.

Capacity-aware admission is ``RampConfig.per_replica`` (ready endpoints x a per-replica rate caps the limit). The
load-aware alternative, where a cluster runs it, is the Gateway API Inference Extension: an ``InferencePool`` whose
endpoint picker (Envoy ext_proc) routes by model-server queue depth and KV-cache use (Kubernetes blog "Introducing
Gateway API Inference Extension", 2025-06-05); this component does not deploy it.

Usable on its own (see ``examples/serving-on-existing-cluster``): it takes plain typed arguments, no plan.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from neocloud.plan import traffic as ramp_module
from neocloud.plan.traffic import RampConfig
from neocloud.spec import Backend
from neocloud.vocabulary import (
    ENVOY_GATEWAY_API_VERSION,
    GATEWAY_API_GROUP,
    GATEWAY_API_VERSION,
    TRAFFIC_REGULATOR_TYPE,
)

from .charts import ENVOY_GATEWAY
from .objects import CustomObject, child_opts, meta
from .operators import helm_release

__all__ = [
    "CONTROLLER_FILES",
    "DEFAULT_CONTROLLER_IMAGE",
    "ENVOY_CONTROLLER",
    "GATEWAY_API",
    "GATEWAY_CLASS",
    "GATEWAY_NAME",
    "POLICY_API",
    "POLICY_NAME",
    "TrafficRegulator",
    "admission_policy_supported",
    "admission_validations",
    "controller_role_rules",
    "traffic_policy_spec",
]

GATEWAY_API = GATEWAY_API_VERSION
"""Gateway API v1.6.1 standard channel (storage version v1)."""
POLICY_API = ENVOY_GATEWAY_API_VERSION
"""Envoy Gateway v1.9.0 policy API (BackendTrafficPolicy)."""
ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
"""Envoy Gateway's GatewayClass controller name."""
GATEWAY_CLASS = "neocloud-envoy"
"""Name of the GatewayClass the regulator creates (or expects) for Envoy Gateway."""
GATEWAY_NAME = "inference-gateway"
"""The regulated Gateway in the team namespace."""
POLICY_NAME = "inference-regulator"
"""The BackendTrafficPolicy on that Gateway (the one object the ramp controller may patch)."""
DEFAULT_CONTROLLER_IMAGE = (
    "docker.io/library/python:3.13.7-slim@sha256:8220ccec22e88cddd9a541cacd1bf48423bda8cdeb1015249e4b298edf86cdc7"
)
"""The Docker Official Image for Python 3.13.7 (slim), pinned by digest as Renovate recorded it in RDFLib/rdflib
commit d45c236 (``FROM docker.io/library/python:3.13.7-slim@sha256:8220cc...``); check it with
``docker buildx imagetools inspect`` before relying on it, or pass your mirror's copy. Runs stdlib code only."""
CONTROLLER_FILES = {
    "ramp_controller.py": Path(__file__).with_name("ramp_controller.py"),
    "traffic.py": Path(ramp_module.__file__),
}
"""Source files the controller's ConfigMap carries (read at program time: the code tested is the code shipped)."""
_MOUNT = "/opt/neocloud"
_HEARTBEAT = "/tmp/heartbeat"
_LIVENESS_SECONDS = 120
"""The liveness probe fails when the loop has not beaten for this long (several watch steps and API timeouts)."""


ADMISSION_MIN_MINOR = 30
"""``admissionregistration.k8s.io/v1`` ValidatingAdmissionPolicy is GA (served by default) from Kubernetes 1.30
(Kubernetes docs, "Validating Admission Policy")."""


def admission_policy_supported(kubernetes_version: str) -> bool:
    """Whether a cluster of Kubernetes minor ``kubernetes_version`` (``1.33``) serves ValidatingAdmissionPolicy v1."""
    major, minor = (int(part) for part in kubernetes_version.split(".")[:2])
    return (major, minor) >= (1, ADMISSION_MIN_MINOR)


def admission_validations(gateway: str = GATEWAY_NAME) -> list[dict[str, str]]:
    """CEL validations the team namespace's admission policy applies to what anyone creates or updates there: a
    route may attach only to the regulated Gateway (any other parent, or a Service parent of a mesh route, would
    carry the traffic around the rate limit), Services stay ClusterIP (or ExternalName), and there is no Ingress.
    The API server applies the CRD defaults (parentRefs ``group`` and ``kind``) before validating admission."""
    route = ("!(object.kind in ['HTTPRoute', 'GRPCRoute']) || !has(object.spec.parentRefs) || "
             "object.spec.parentRefs.all(p, (!has(p.group) || p.group == 'gateway.networking.k8s.io') && "
             f"(!has(p.kind) || p.kind == 'Gateway') && p.name == '{gateway}' && "
             "(!has(p.namespace) || p.namespace == object.metadata.namespace))")
    return [
        {"expression": route, "message": f"routes in this namespace attach only to Gateway {gateway}, where the "
         "traffic regulator applies"},
        {"expression": "object.kind != 'Service' || !has(object.spec.type) || "
         "object.spec.type in ['ClusterIP', 'ExternalName']",
         "message": "Services in this namespace stay ClusterIP: clients reach the inference servers only through "
         "the traffic regulator's Gateway"},
        {"expression": "object.kind != 'Ingress'",
         "message": "no Ingress in this namespace: clients reach the inference servers only through the traffic "
         "regulator's Gateway"},
    ]


def traffic_policy_spec(*, gateway: str, ramp: RampConfig, retry_after_seconds: int,
                        max_pending_requests: int) -> dict:
    """The BackendTrafficPolicy spec on ``gateway`` (in the policy's namespace), created at the ramp's floor:
    until the controller runs, the gateway admits the floor, never the full rate cold."""
    return {
        "targetRefs": [{"group": GATEWAY_API_GROUP, "kind": "Gateway", "name": gateway}],
        "rateLimit": {"local": {"rules": [{"limit": {"requests": ramp.floor, "unit": "Second"}}]}},
        "responseOverride": [{
            "match": {"statusCodes": [{"type": "Value", "value": 429}]},
            "source": "Local",
            "response": {
                "contentType": "application/json",
                "body": {"type": "Inline", "inline": '{"error": "rate limited while the service warms up; retry '
                         f'after {retry_after_seconds} s"}}'},
                "header": {"set": [{"name": "Retry-After", "value": str(retry_after_seconds)}]},
            },
        }],
        "circuitBreaker": {"maxPendingRequests": max_pending_requests},
        # Slow start works with RoundRobin, LeastRequest and BackendUtilization balancing (CRD validation rule).
        "loadBalancer": {"type": "RoundRobin", "slowStart": {"window": f"{ramp.window_seconds}s"}},
    }


def controller_role_rules(policy: str = POLICY_NAME) -> list[dict]:
    """Everything the ramp controller may do in the team namespace: list and watch EndpointSlices (list for the
    collection's resourceVersion to watch from; it shows nothing a watch does not), and get and patch the one
    policy (by name: RBAC resourceNames)."""
    return [
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        {"apiGroups": ["gateway.envoyproxy.io"], "resources": ["backendtrafficpolicies"],
         "resourceNames": [policy], "verbs": ["get", "patch"]},
    ]


class TrafficRegulator(pulumi.ComponentResource):
    """Gateway, routes, the ramped rate-limit policy and its controller in front of a namespace's inference
    Services."""

    TYPE = TRAFFIC_REGULATOR_TYPE

    def __init__(self, name: str, *, namespace: pulumi.Input[str], ramp: RampConfig, backends: Sequence[Backend],
                 hostnames: Sequence[str] = (), listener_port: int = 80, retry_after_seconds: int = 1,
                 max_pending_requests: int = 1024, controller_image: str = DEFAULT_CONTROLLER_IMAGE,
                 controller_namespace: str = ENVOY_GATEWAY.namespace, install_envoy_gateway: bool = True,
                 admission_policy: bool = True,
                 kubernetes_provider: pulumi.ProviderResource | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """``namespace``: where the Gateway, routes and policy live (the Services' namespace); ``ramp``: floor,
        full rate and window (``neocloud.plan.kubernetes.traffic_ramp`` from the spec's settings);
        ``controller_namespace``: where the ramp controller runs (default Envoy Gateway's: a platform namespace
        the team cannot edit, whose egress already reaches the API server); ``install_envoy_gateway``: also
        install Envoy Gateway and the ``neocloud-envoy`` GatewayClass (off when the cluster already runs it under
        that class name); ``admission_policy``: also make the cluster refuse routes, Services and Ingresses in the
        namespace that bypass the Gateway (a ValidatingAdmissionPolicy: Kubernetes 1.30+,
        ``admission_policy_supported``)."""
        super().__init__(self.TYPE, name, {
            "gateway": GATEWAY_NAME, "policy": POLICY_NAME, "ramp": ramp.to_dict(),
            "backends": [b.model_dump() for b in backends], "hostnames": list(hostnames),
        }, opts)
        k = kubernetes_provider
        deps: list[pulumi.Resource] = []
        if install_envoy_gateway:
            self.envoy_gateway = helm_release(f"{name}-envoy-gateway", ENVOY_GATEWAY, {},
                                              namespace=ENVOY_GATEWAY.namespace, opts=child_opts(self, k),
                                              create_namespace=True)
            self.gateway_class = CustomObject(
                f"{name}-gateway-class", api_version=GATEWAY_API, kind="GatewayClass", metadata=meta(GATEWAY_CLASS),
                spec={"controllerName": ENVOY_CONTROLLER}, opts=child_opts(self, k, [self.envoy_gateway]),
            )
            deps = [self.envoy_gateway, self.gateway_class]
        self.gateway = CustomObject(
            f"{name}-gateway", api_version=GATEWAY_API, kind="Gateway",
            metadata=meta(GATEWAY_NAME, namespace=namespace),
            spec={
                "gatewayClassName": GATEWAY_CLASS,
                "listeners": [{"name": "http", "protocol": "HTTP", "port": listener_port,
                               "allowedRoutes": {"namespaces": {"from": "Same"}}}],
            },
            opts=child_opts(self, k, deps),
        )
        # The policy exists before any route attaches, so no route ever serves unregulated.
        self.policy = CustomObject(
            f"{name}-policy", api_version=POLICY_API, kind="BackendTrafficPolicy",
            metadata=meta(POLICY_NAME, namespace=namespace),
            spec=traffic_policy_spec(gateway=GATEWAY_NAME, ramp=ramp, retry_after_seconds=retry_after_seconds,
                                     max_pending_requests=max_pending_requests),
            opts=pulumi.ResourceOptions.merge(child_opts(self, k, [*deps, self.gateway]),
                                              pulumi.ResourceOptions(ignore_changes=["spec.rateLimit"])),
        )
        self.routes = []
        for backend in backends:
            spec: dict = {
                "parentRefs": [{"name": GATEWAY_NAME}],
                "rules": [{
                    "matches": [{"path": {"type": "PathPrefix", "value": backend.path_prefix}}],
                    "backendRefs": [{"name": backend.service, "port": backend.port}],
                }],
            }
            if hostnames:
                spec["hostnames"] = list(hostnames)
            self.routes.append(CustomObject(
                f"{name}-route-{backend.service}", api_version=GATEWAY_API, kind="HTTPRoute",
                metadata=meta(backend.service, namespace=namespace), spec=spec,
                opts=child_opts(self, k, [self.gateway, self.policy]),
            ))
        if admission_policy:
            self._admission(name, namespace=namespace, kubernetes_provider=k, deps=deps)
        self._controller(name, namespace=namespace, ramp=ramp, backends=[b.service for b in backends],
                         image=controller_image, controller_namespace=controller_namespace,
                         kubernetes_provider=k, deps=[*deps, self.policy])
        self.register_outputs({})

    def _admission(self, name: str, *, namespace: pulumi.Input[str],
                   kubernetes_provider: pulumi.ProviderResource | None, deps: list[pulumi.Resource]) -> None:
        """The in-cluster half of "nothing bypasses it": the policy pack checks the stack, this checks whatever
        is applied to the namespace later (the team's Role may create routes and Services)."""
        adm, k = k8s.admissionregistration.v1, kubernetes_provider
        policy_name = f"{name}-routes"
        write = ["CREATE", "UPDATE"]
        self.admission_policy = adm.ValidatingAdmissionPolicy(
            f"{name}-admission", metadata=meta(policy_name),
            spec=adm.ValidatingAdmissionPolicySpecArgs(
                failure_policy="Fail",
                match_constraints=adm.MatchResourcesArgs(resource_rules=[
                    adm.NamedRuleWithOperationsArgs(api_groups=[GATEWAY_API_GROUP], api_versions=["*"],
                                                    operations=write, resources=["httproutes", "grpcroutes"]),
                    adm.NamedRuleWithOperationsArgs(api_groups=[""], api_versions=["v1"], operations=write,
                                                    resources=["services"]),
                    adm.NamedRuleWithOperationsArgs(api_groups=["networking.k8s.io"], api_versions=["v1"],
                                                    operations=write, resources=["ingresses"]),
                ]),
                validations=[adm.ValidationArgs(expression=v["expression"], message=v["message"])
                             for v in admission_validations()],
            ),
            opts=child_opts(self, k, deps),
        )
        self.admission_binding = adm.ValidatingAdmissionPolicyBinding(
            f"{name}-admission-binding", metadata=meta(policy_name),
            spec=adm.ValidatingAdmissionPolicyBindingSpecArgs(
                policy_name=policy_name, validation_actions=["Deny"],
                match_resources=adm.MatchResourcesArgs(namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={"kubernetes.io/metadata.name": namespace})),
            ),
            opts=child_opts(self, k, [self.admission_policy]),
        )

    def _controller(self, name: str, *, namespace: pulumi.Input[str], ramp: RampConfig, backends: list[str],
                    image: str, controller_namespace: str, kubernetes_provider: pulumi.ProviderResource | None,
                    deps: list[pulumi.Resource]) -> None:
        k = kubernetes_provider
        controller = f"{name}-ramp"
        labels = {"app.kubernetes.io/name": "neocloud-traffic-ramp", "app.kubernetes.io/instance": controller}
        core, rbac = k8s.core.v1, k8s.rbac.v1
        self.controller_account = core.ServiceAccount(
            f"{name}-ramp-account", metadata=meta(controller, namespace=controller_namespace, labels=labels),
            opts=child_opts(self, k, deps),
        )
        self.controller_role = rbac.Role(
            f"{name}-ramp-role", metadata=meta(controller, namespace=namespace, labels=labels),
            rules=[rbac.PolicyRuleArgs(api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"],
                                       resource_names=r.get("resourceNames")) for r in controller_role_rules()],
            opts=child_opts(self, k, deps),
        )
        self.controller_binding = rbac.RoleBinding(
            f"{name}-ramp-binding", metadata=meta(controller, namespace=namespace, labels=labels),
            role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=controller),
            subjects=[rbac.SubjectArgs(kind="ServiceAccount", name=controller, namespace=controller_namespace)],
            opts=child_opts(self, k, [self.controller_role, self.controller_account]),
        )
        config = {"policy": POLICY_NAME, "backends": backends, "ramp": ramp.to_dict(), "heartbeat": _HEARTBEAT}
        data = {file: path.read_text() for file, path in CONTROLLER_FILES.items()}
        data["config.json"] = json.dumps(config, indent=2, sort_keys=True)
        self.controller_code = core.ConfigMap(
            f"{name}-ramp-code", metadata=meta(controller, namespace=controller_namespace, labels=labels),
            data=data, opts=child_opts(self, k, deps),
        )
        stale = f"import os,sys,time; sys.exit(time.time() - os.path.getmtime('{_HEARTBEAT}') > {_LIVENESS_SECONDS})"
        container = core.ContainerArgs(
            name="ramp", image=image,
            command=["python", f"{_MOUNT}/ramp_controller.py", f"{_MOUNT}/config.json"],
            env=[core.EnvVarArgs(name="NEOCLOUD_NAMESPACE", value=namespace),
                 core.EnvVarArgs(name="PYTHONDONTWRITEBYTECODE", value="1"),
                 core.EnvVarArgs(name="PYTHONUNBUFFERED", value="1")],
            resources=core.ResourceRequirementsArgs(requests={"cpu": "10m", "memory": "32Mi"},
                                                    limits={"cpu": "200m", "memory": "128Mi"}),
            security_context=core.SecurityContextArgs(
                allow_privilege_escalation=False, read_only_root_filesystem=True, run_as_non_root=True,
                run_as_user=65534, run_as_group=65534, capabilities=core.CapabilitiesArgs(drop=["ALL"]),
                seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
            ),
            liveness_probe=core.ProbeArgs(
                exec_=core.ExecActionArgs(command=["python", "-c", stale]),
                initial_delay_seconds=_LIVENESS_SECONDS, period_seconds=30, timeout_seconds=5,
            ),
            # Ready once the loop has beaten at least once (no Service routes to it; readiness shows in rollout).
            readiness_probe=core.ProbeArgs(
                exec_=core.ExecActionArgs(command=["python", "-c", stale]),
                initial_delay_seconds=5, period_seconds=15, timeout_seconds=5,
            ),
            volume_mounts=[core.VolumeMountArgs(name="code", mount_path=_MOUNT, read_only=True),
                           core.VolumeMountArgs(name="tmp", mount_path="/tmp")],
        )
        self.controller = k8s.apps.v1.Deployment(
            f"{name}-ramp", metadata=meta(controller, namespace=controller_namespace, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                # Recreate: the old controller is gone before a new one starts, so two never patch at once.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate"),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
                template=core.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=core.PodSpecArgs(
                        service_account_name=controller, automount_service_account_token=True,
                        security_context=core.PodSecurityContextArgs(
                            run_as_non_root=True, run_as_user=65534, run_as_group=65534,
                            seccomp_profile=core.SeccompProfileArgs(type="RuntimeDefault"),
                        ),
                        containers=[container],
                        volumes=[core.VolumeArgs(name="code", config_map=core.ConfigMapVolumeSourceArgs(
                                     name=controller)),
                                 core.VolumeArgs(name="tmp", empty_dir=core.EmptyDirVolumeSourceArgs(
                                     size_limit="1Mi"))],
                    ),
                ),
            ),
            opts=child_opts(self, k, [self.controller_code, self.controller_binding]),
        )
