"""inference-routes-through-regulator and traffic-regulator-covers-routes: one program per violation path, built
from the real TrafficRegulator component plus the objects a team might add, analyzed by the real pack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi_kubernetes as k8s

from components.kubernetes.objects import CustomObject, meta
from components.kubernetes.traffic import GATEWAY_API, POLICY_API, TrafficRegulator
from neocloud.plan.traffic import RampConfig
from neocloud.spec import Backend
from tests.policies.support import analyze, mutate, not_applicable, record, replace_resource, violations

ROUTES = "inference-routes-through-regulator"
COVERS = "traffic-regulator-covers-routes"
TEAM = "chat"


def regulated(extra: Callable[[], None] | None = None) -> Any:
    def build() -> None:
        TrafficRegulator("chat-traffic", namespace=TEAM, ramp=RampConfig(floor=5, full=50, window_seconds=60),
                         backends=[Backend(service="llama", port=8000, path_prefix="/v1")],  # type: ignore[call-arg]
                         install_envoy_gateway=False)
        if extra is not None:
            extra()

    return record(build)


def route(name: str, parents: list[dict[str, Any]], backends: list[dict[str, Any]], namespace: str = TEAM,
          kind: str = "HTTPRoute") -> None:
    CustomObject(f"route-{name}", api_version=GATEWAY_API, kind=kind, metadata=meta(name, namespace=namespace),
                 spec={"parentRefs": parents, "rules": [{"backendRefs": backends}]})


def gateway(name: str, namespace: str = TEAM) -> None:
    CustomObject(f"gateway-{name}", api_version=GATEWAY_API, kind="Gateway", metadata=meta(name, namespace=namespace),
                 spec={"gatewayClassName": "other", "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}]})


def traffic_policy(name: str, spec: dict[str, Any]) -> None:
    CustomObject(f"btp-{name}", api_version=POLICY_API, kind="BackendTrafficPolicy",
                 metadata=meta(name, namespace=TEAM), spec=spec)


LLAMA = [{"name": "llama", "port": 8000}]
REGULATED = [{"name": "inference-gateway"}]


# --- inference-routes-through-regulator ----------------------------------------------------------------------


def test_routes_compliant(pack):
    def extra() -> None:
        route("llama-extra", REGULATED, LLAMA)  # a second route, on the regulated Gateway
        gateway("public")
        route("other-app", [{"name": "public"}], [{"name": "web", "port": 80}])  # not a regulated Service
        k8s.core.v1.Service("llama", metadata=meta("llama", namespace=TEAM),
                            spec=k8s.core.v1.ServiceSpecArgs(ports=[k8s.core.v1.ServicePortArgs(port=8000)]))

    result = analyze(pack, regulated(extra))
    assert violations(result, ROUTES) == []
    assert violations(result, COVERS) == []


def test_route_through_another_gateway(pack):
    def extra() -> None:
        gateway("public")
        route("llama-direct", [{"name": "public"}], LLAMA)

    [message] = violations(analyze(pack, regulated(extra)), ROUTES)
    assert message.startswith("HTTPRoute 'chat/llama-direct' sends traffic to regulated Service 'chat/llama' "
                              "through Gateway 'chat/public'")


def test_route_with_a_second_parent(pack):
    def extra() -> None:
        route("llama-both", [*REGULATED, {"name": "edge", "namespace": "infra"}], LLAMA)

    [message] = violations(analyze(pack, regulated(extra)), ROUTES)
    assert "through Gateway 'infra/edge'" in message


def test_route_from_another_namespace_to_the_regulated_service(pack):
    def extra() -> None:
        route("steal", [{"name": "shared", "namespace": "infra"}], [{**LLAMA[0], "namespace": TEAM}],
              namespace="web", kind="GRPCRoute")

    [message] = violations(analyze(pack, regulated(extra)), ROUTES)
    assert message.startswith("GRPCRoute 'web/steal' sends traffic to regulated Service 'chat/llama'")


def test_mesh_route_with_a_service_parent(pack):
    def extra() -> None:
        route("mesh", [{"group": "", "kind": "Service", "name": "llama"}], LLAMA)

    [message] = violations(analyze(pack, regulated(extra)), ROUTES)
    assert "through Service 'chat/llama'" in message


def test_ingress_around_the_gateway(pack):
    def extra() -> None:
        net = k8s.networking.v1
        backend = net.IngressBackendArgs(service=net.IngressServiceBackendArgs(
            name="llama", port=net.ServiceBackendPortArgs(number=8000)))
        net.Ingress("llama-ingress", metadata=meta("llama", namespace=TEAM), spec=net.IngressSpecArgs(rules=[
            net.IngressRuleArgs(http=net.HTTPIngressRuleValueArgs(paths=[
                net.HTTPIngressPathArgs(path="/", path_type="Prefix", backend=backend)]))]))

    [message] = violations(analyze(pack, regulated(extra)), ROUTES)
    assert message.startswith("Ingress 'chat/llama' exposes regulated Service 'chat/llama'")


def test_service_exposed_directly(pack):
    def extra() -> None:
        k8s.core.v1.Service("llama", metadata=meta("llama", namespace=TEAM), spec=k8s.core.v1.ServiceSpecArgs(
            type="LoadBalancer", ports=[k8s.core.v1.ServicePortArgs(port=8000)]))

    run = regulated(extra)
    [message] = violations(analyze(pack, run), ROUTES)
    assert message.startswith("Service 'chat/llama' is regulated but of type LoadBalancer")
    assert violations(analyze(pack, run, {ROUTES: {"exposedServiceTypes": ["NodePort"]}}), ROUTES) == []


def test_routes_not_applicable_without_a_regulator(pack):
    run = record(lambda: route("x", [{"name": "public"}], LLAMA))
    assert not_applicable(analyze(pack, run), ROUTES)
    assert not_applicable(analyze(pack, run), COVERS)


# --- traffic-regulator-covers-routes ---------------------------------------------------------------------------


def _policy_resource(run: Any) -> Any:
    (policy,) = [r for r in run.resources
                 if r.type.endswith(":BackendTrafficPolicy") and r.name == "chat-traffic-policy"]
    return policy


def test_covers_missing_policy(pack):
    run = regulated()
    resources = [r for r in run.resources if r is not _policy_resource(run)]
    [message] = violations(analyze(pack, run, resources=resources), COVERS)
    assert message == "traffic regulator 'chat-traffic' has no BackendTrafficPolicy 'chat/inference-regulator'"


def test_covers_policy_on_routes_instead_of_the_gateway(pack):
    run = regulated()
    policy = _policy_resource(run)

    def on_route(inputs: dict[str, Any]) -> None:
        inputs["spec"]["targetRefs"] = [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "llama"}]

    [message] = violations(analyze(pack, run, resources=replace_resource(run, policy.name, mutate(policy, on_route))),
                           COVERS)
    assert "does not target Gateway 'inference-gateway' as a whole, so routes attached to it later" in message


def test_covers_policy_on_one_listener_only(pack):
    run = regulated()
    policy = _policy_resource(run)

    def on_listener(inputs: dict[str, Any]) -> None:
        inputs["spec"]["targetRefs"][0]["sectionName"] = "http"

    [message] = violations(analyze(pack, run, resources=replace_resource(run, policy.name,
                                                                         mutate(policy, on_listener))), COVERS)
    assert "does not target Gateway 'inference-gateway' as a whole" in message


def test_covers_policy_without_a_rate_limit(pack):
    run = regulated()
    policy = _policy_resource(run)

    def no_limit(inputs: dict[str, Any]) -> None:
        del inputs["spec"]["rateLimit"]

    [message] = violations(analyze(pack, run, resources=replace_resource(run, policy.name, mutate(policy, no_limit))),
                           COVERS)
    assert message.endswith("has no local rate limit rule for the ramp to move")


def test_covers_route_policy_that_replaces_the_gateway_policy(pack):
    def extra() -> None:
        traffic_policy("llama-timeouts", {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "llama"}],
            "timeout": {"http": {"requestTimeout": "300s"}}})

    [message] = violations(analyze(pack, regulated(extra)), COVERS)
    assert message.startswith("BackendTrafficPolicy 'chat/llama-timeouts' targets routes llama of regulated Gateway "
                              "'inference-gateway' and has no mergeType")


def test_covers_merging_route_policy_with_its_own_rate_limit(pack):
    def extra() -> None:
        traffic_policy("llama-fast", {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "llama"}],
            "mergeType": "StrategicMerge",
            "rateLimit": {"local": {"rules": [{"limit": {"requests": 10000, "unit": "Second"}}]}}})

    run = regulated(extra)
    [message] = violations(analyze(pack, run), COVERS)
    assert "sets its own rateLimit" in message
    assert violations(analyze(pack, run, {COVERS: {"allowMergedRouteRateLimits": True}}), COVERS) == []


def test_covers_label_selected_and_listener_policies(pack):
    def extra() -> None:
        traffic_policy("by-label", {"targetSelectors": [{"kind": "HTTPRoute", "matchLabels": {"app": "llama"}}]})
        one_per_second = {"local": {"rules": [{"limit": {"requests": 1, "unit": "Second"}}]}}
        traffic_policy("on-listener", {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                                       "name": "inference-gateway", "sectionName": "http"}],
                                       "rateLimit": one_per_second})

    messages = violations(analyze(pack, regulated(extra)), COVERS)
    assert sorted(m.split("'")[1] for m in messages) == ["chat/by-label", "chat/on-listener"]


def test_covers_merging_route_policy_without_a_rate_limit_is_fine(pack):
    def extra() -> None:
        traffic_policy("llama-timeouts", {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "llama"}],
            "mergeType": "StrategicMerge", "timeout": {"http": {"requestTimeout": "300s"}}})
        # A non-merging policy on a route of another Gateway does not touch the regulator.
        gateway("public")
        route("web", [{"name": "public"}], [{"name": "web", "port": 80}])
        traffic_policy("web", {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                               "name": "web"}]})

    assert violations(analyze(pack, regulated(extra)), COVERS) == []


def _regulator_component(run: Any) -> Any:
    (component,) = [r for r in run.resources if r.type == "neocloud:kubernetes:TrafficRegulator"]
    return component


def test_regulator_without_its_facts_is_a_violation_not_a_pass(pack):
    run = regulated()
    component = _regulator_component(run)

    def no_backends(inputs: dict[str, Any]) -> None:
        del inputs["backends"]
        del inputs["gateway"]

    resources = replace_resource(run, component.name, mutate(component, no_backends))
    for rule in (ROUTES, COVERS):
        [message] = violations(analyze(pack, run, resources=resources), rule)
        assert message == ("traffic regulator 'chat-traffic' lacks the fact(s) gateway, backends the serving rules "
                           "need (its component inputs)")


def test_regulator_whose_gateway_is_missing_is_a_violation(pack):
    run = regulated()
    resources = [r for r in run.resources if not r.type.endswith(":Gateway")]
    for rule in (ROUTES, COVERS):
        [message] = violations(analyze(pack, run, resources=resources), rule)
        assert message == "traffic regulator 'chat-traffic' has no Gateway 'inference-gateway' child with a namespace"
