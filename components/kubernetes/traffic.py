"""``TrafficRegulator``: let traffic back into inference services gradually after an outage.

A cold model server that gets full traffic the moment it is Ready falls over again (caches empty, KV cache
cold, autoscaler behind). The regulator puts an Envoy Gateway in front of the services:

- Gateway API ``Gateway`` (one HTTP listener) and one ``HTTPRoute`` per backend Service
  (``gateway.networking.k8s.io/v1``).
- Envoy Gateway ``BackendTrafficPolicy`` (``gateway.envoyproxy.io/v1alpha1``) on those routes with
  - a **local rate limit** of ``requests_per_second`` per route (each Envoy replica enforces it: N proxy replicas
    admit up to N x the limit; a single cluster-wide limit needs Envoy Gateway's Redis-backed global rate
    limit service), and
  - a **slow-start window**: an endpoint that joins (or comes back) gets a linearly growing share of requests
    over ``slow_start_seconds`` instead of its full share at once (Envoy's slow start; RoundRobin balancing).
- Optionally Envoy Gateway itself (pinned Helm chart) and its ``GatewayClass``.

Usable on its own (see ``examples/serving-on-existing-cluster``): it takes plain typed arguments, no plan.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from neocloud.spec import Backend

from .charts import ENVOY_GATEWAY
from .objects import CustomObject, child_opts, meta
from .operators import helm_release

__all__ = [
    "ENVOY_CONTROLLER",
    "GATEWAY_API",
    "GATEWAY_CLASS",
    "POLICY_API",
    "TrafficRegulator",
    "traffic_policy_spec",
]

GATEWAY_API = "gateway.networking.k8s.io/v1"
"""Gateway API v1.6.1 standard channel (storage version v1)."""
POLICY_API = "gateway.envoyproxy.io/v1alpha1"
"""Envoy Gateway v1.9.0 policy API (BackendTrafficPolicy)."""
ENVOY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller"
"""Envoy Gateway's GatewayClass controller name."""
GATEWAY_CLASS = "neocloud-envoy"
"""Name of the GatewayClass the regulator creates (or expects) for Envoy Gateway."""


def traffic_policy_spec(routes: Sequence[str], *, requests_per_second: int, slow_start_seconds: int) -> dict:
    """The BackendTrafficPolicy spec for ``routes`` (HTTPRoute names in the policy's namespace)."""
    return {
        "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": r} for r in routes],
        "rateLimit": {"local": {"rules": [{"limit": {"requests": requests_per_second, "unit": "Second"}}]}},
        # Slow start works with RoundRobin, LeastRequest and BackendUtilization balancing (CRD validation rule).
        "loadBalancer": {"type": "RoundRobin", "slowStart": {"window": f"{slow_start_seconds}s"}},
    }


class TrafficRegulator(pulumi.ComponentResource):
    """Gateway, routes and the rate-limit / slow-start policy in front of a namespace's inference Services."""

    TYPE = "neocloud:kubernetes:TrafficRegulator"

    def __init__(self, name: str, *, namespace: pulumi.Input[str], requests_per_second: int,
                 slow_start_seconds: int, backends: Sequence[Backend], hostnames: Sequence[str] = (),
                 listener_port: int = 80, install_envoy_gateway: bool = True,
                 kubernetes_provider: pulumi.ProviderResource | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """``namespace``: where the Gateway, routes and policy live (the Services' namespace);
        ``install_envoy_gateway``: also install Envoy Gateway and the ``neocloud-envoy`` GatewayClass (off when
        the cluster already runs it under that class name)."""
        super().__init__(self.TYPE, name, {
            "requestsPerSecond": requests_per_second, "slowStartSeconds": slow_start_seconds,
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
        gateway_name = "inference-gateway"
        self.gateway = CustomObject(
            f"{name}-gateway", api_version=GATEWAY_API, kind="Gateway",
            metadata=meta(gateway_name, namespace=namespace),
            spec={
                "gatewayClassName": GATEWAY_CLASS,
                "listeners": [{"name": "http", "protocol": "HTTP", "port": listener_port,
                               "allowedRoutes": {"namespaces": {"from": "Same"}}}],
            },
            opts=child_opts(self, k, deps),
        )
        self.routes = []
        for backend in backends:
            spec: dict = {
                "parentRefs": [{"name": gateway_name}],
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
                opts=child_opts(self, k, [self.gateway]),
            ))
        self.policy = CustomObject(
            f"{name}-policy", api_version=POLICY_API, kind="BackendTrafficPolicy",
            metadata=meta("inference-regulator", namespace=namespace),
            spec=traffic_policy_spec([b.service for b in backends], requests_per_second=requests_per_second,
                                     slow_start_seconds=slow_start_seconds),
            opts=child_opts(self, k, [*deps, *self.routes]),
        )
        self.register_outputs({})
