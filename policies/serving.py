"""Serving rules: nothing reaches a team's inference Services around the traffic regulator.

The regulator (``neocloud:kubernetes:TrafficRegulator``) names its Gateway, its BackendTrafficPolicy and the
backend Services in its inputs; its Gateway child carries the team namespace. The Envoy Gateway facts the rules
rely on:

- A BackendTrafficPolicy that targets a Gateway applies "to all children xRoute resources of that Gateway"; a
  policy that targets an xRoute "will win in a conflict" over it (Envoy Gateway design doc "BackendTrafficPolicy",
  https://gateway.envoyproxy.io/contributions/design/backend-traffic-policy/). Without ``mergeType`` "no merging
  occurs, and only the most specific configuration takes effect" (BackendTrafficPolicy CRD v1.9.0, ``mergeType``).
  So a route-level policy that does not merge, or that sets its own rate limit, switches the ramp off for that
  route.
- A route only passes through the Gateways named in its ``parentRefs`` (Gateway API HTTPRoute: ``parentRefs``
  "references the resources (usually Gateways) that a Route wants to be attached to"); a parent that is another
  Gateway, or a Service (a mesh route), carries the same backend's traffic without the regulator. An Ingress to
  the Service, or the Service itself as a LoadBalancer / NodePort, does the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, ReportViolation, StackValidationArgs, StackValidationPolicy

from neocloud.vocabulary import (
    ENVOY_GATEWAY_BACKEND_TRAFFIC_POLICY,
    GATEWAY_API_GATEWAY,
    GATEWAY_API_GROUP,
    GATEWAY_API_GRPC_ROUTE,
    GATEWAY_API_HTTP_ROUTE,
    K8S_INGRESS,
    K8S_SERVICE,
    TRAFFIC_REGULATOR_TYPE,
)

from ._common import StackIndex, as_list, as_map, get_in, object_name, schema, settings

__all__ = [
    "INFERENCE_ROUTES_THROUGH_REGULATOR",
    "POLICIES",
    "REGULATOR_TYPE",
    "TRAFFIC_REGULATOR_COVERS_ROUTES",
]

REGULATOR_TYPE = TRAFFIC_REGULATOR_TYPE
GATEWAY_GROUP = GATEWAY_API_GROUP
GATEWAY = GATEWAY_API_GATEWAY
ROUTE_TYPES = (GATEWAY_API_HTTP_ROUTE, GATEWAY_API_GRPC_ROUTE)
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")
BACKEND_TRAFFIC_POLICY = ENVOY_GATEWAY_BACKEND_TRAFFIC_POLICY
INGRESS = K8S_INGRESS
SERVICE = K8S_SERVICE

_ROUTES_SCHEMA = schema({
    "exposedServiceTypes": {"type": "array", "items": {"type": "string"}, "default": ["LoadBalancer", "NodePort"],
                            "description": "Service types that expose a regulated Service around the Gateway."},
})
_COVERS_SCHEMA = schema({
    "allowMergedRouteRateLimits": {"type": "boolean", "default": False,
                                   "description": "Allow a route-level BackendTrafficPolicy that merges (mergeType) "
                                   "to set its own rateLimit, which replaces the ramp for that route."},
})


@dataclass(frozen=True)
class Regulator:
    """One traffic regulator as the stack declares it."""

    resource: PolicyResource
    namespace: str
    gateway: str
    policy: str
    services: frozenset[str]


def _namespace(resource: PolicyResource) -> str | None:
    namespace = get_in(resource.props, "metadata", "namespace")
    return namespace if isinstance(namespace, str) else None


def _regulators(stack: StackIndex, report: ReportViolation) -> list[Regulator]:
    """The stack's traffic regulators. A regulator whose facts are missing (its ``gateway``, ``policy`` or
    ``backends`` input, or a Gateway child with a namespace) is reported, never silently skipped: a rule must
    not pass for lack of facts."""
    out = []
    gateways = stack.of_type(GATEWAY)
    for component in stack.of_type(REGULATOR_TYPE):
        props = component.props
        gateway, policy = props.get("gateway"), props.get("policy")
        services = frozenset(str(as_map(b).get("service")) for b in as_list(props.get("backends"))
                             if isinstance(as_map(b).get("service"), str))
        missing = [name for name, ok in (("gateway", isinstance(gateway, str)), ("policy", isinstance(policy, str)),
                                         ("backends", bool(services))) if not ok]
        if missing:
            report(f"traffic regulator '{component.name}' lacks the fact(s) {', '.join(missing)} the serving rules "
                   "need (its component inputs)", component.urn)
            continue
        owned = [g for g in gateways if g.parent is not None and g.parent.urn == component.urn
                 and object_name(g) == gateway]
        namespace = _namespace(owned[0]) if owned else None
        if namespace is None:
            report(f"traffic regulator '{component.name}' has no Gateway '{gateway}' child with a namespace",
                   component.urn)
            continue
        out.append(Regulator(component, namespace, str(gateway), str(policy), services))
    return out


def _route_backends(route: PolicyResource) -> Iterator[tuple[str, str]]:
    """(namespace, Service name) of every Service a route sends traffic to."""
    namespace = _namespace(route) or ""
    for rule in as_list(get_in(route.props, "spec", "rules")):
        for ref in as_list(as_map(rule).get("backendRefs")):
            ref = as_map(ref)
            if ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", "core"):
                yield str(ref.get("namespace") or namespace), str(ref.get("name"))


def _parents(route: PolicyResource) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of a route's parentRefs, with the Gateway API defaults (kind Gateway, the route's
    namespace)."""
    namespace = _namespace(route) or ""
    out = []
    for ref in as_list(get_in(route.props, "spec", "parentRefs")):
        ref = as_map(ref)
        out.append((str(ref.get("kind") or "Gateway"), str(ref.get("namespace") or namespace), str(ref.get("name"))))
    return out


def _ingress_services(ingress: PolicyResource) -> Iterator[str]:
    spec = as_map(ingress.props.get("spec"))
    default = get_in(spec, "defaultBackend", "service", "name")
    if isinstance(default, str):
        yield default
    for rule in as_list(spec.get("rules")):
        for path in as_list(get_in(rule, "http", "paths")):
            name = get_in(path, "backend", "service", "name")
            if isinstance(name, str):
                yield name


# --- inference-routes-through-regulator ----------------------------------------------------------------------


def _inference_routes_through_regulator(args: StackValidationArgs, report: ReportViolation) -> None:
    exposed = set(settings(args.get_config(), _ROUTES_SCHEMA)["exposedServiceTypes"])
    stack = StackIndex(args.resources)
    if not stack.of_type(REGULATOR_TYPE):
        args.not_applicable("no traffic regulator in the stack")
    regulators = _regulators(stack, report)
    regulated = {(r.namespace, s): r for r in regulators for s in r.services}
    for route in stack.of_type(*ROUTE_TYPES):
        targets = sorted({backend for backend in _route_backends(route) if backend in regulated})
        for namespace, service in targets:
            regulator = regulated[(namespace, service)]
            others = [p for p in _parents(route) if p != ("Gateway", regulator.namespace, regulator.gateway)]
            for kind, parent_ns, parent in others:
                report(f"{route.resource_type.rsplit(':', 1)[-1]} '{_namespace(route)}/{object_name(route)}' sends "
                       f"traffic to regulated Service '{namespace}/{service}' through {kind} '{parent_ns}/{parent}', "
                       f"which the traffic regulator does not cover; attach it only to Gateway "
                       f"'{regulator.namespace}/{regulator.gateway}'", route.urn)
    for ingress in stack.of_type(INGRESS):
        ingress_ns = _namespace(ingress) or ""
        for service in sorted(set(_ingress_services(ingress))):
            if (ingress_ns, service) in regulated:
                report(f"Ingress '{ingress_ns}/{object_name(ingress)}' exposes regulated Service "
                       f"'{ingress_ns}/{service}' around the traffic regulator's Gateway", ingress.urn)
    for svc in stack.of_type(SERVICE):
        svc_ns, svc_type = _namespace(svc) or "", get_in(svc.props, "spec", "type")
        if (svc_ns, object_name(svc)) in regulated and svc_type in exposed:
            report(f"Service '{svc_ns}/{object_name(svc)}' is regulated but of type {svc_type}: clients reach it "
                   "directly, around the traffic regulator (use ClusterIP behind the Gateway)", svc.urn)


INFERENCE_ROUTES_THROUGH_REGULATOR = StackValidationPolicy(
    name="inference-routes-through-regulator",
    description="Every route, Ingress or exposed Service that reaches a traffic-regulated inference Service goes "
    "only through the regulator's Gateway.",
    validate=_inference_routes_through_regulator,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_ROUTES_SCHEMA,
)


# --- traffic-regulator-covers-routes ---------------------------------------------------------------------------


def _targets(policy: PolicyResource) -> list[Mapping[str, Any]]:
    spec = as_map(policy.props.get("spec"))
    refs = [as_map(r) for r in as_list(spec.get("targetRefs"))]
    single = as_map(spec.get("targetRef"))
    return [*refs, single] if single else refs


def _routes_on(stack: StackIndex, regulator: Regulator) -> set[str]:
    """Names of the routes in the regulator's namespace attached to its Gateway."""
    return {object_name(r) for r in stack.of_type(*ROUTE_TYPES) if _namespace(r) == regulator.namespace
            and ("Gateway", regulator.namespace, regulator.gateway) in _parents(r)}


def _overrides(policy: PolicyResource, allow_merged_rate_limits: bool) -> str | None:
    """Why a route-level policy replaces the Gateway's rate limit, or ``None`` if it merges without one."""
    spec = as_map(policy.props.get("spec"))
    if not spec.get("mergeType"):
        return "has no mergeType, so it replaces the Gateway's policy for the route"
    if "rateLimit" in spec and not allow_merged_rate_limits:
        return "sets its own rateLimit"
    return None


def _traffic_regulator_covers_routes(args: StackValidationArgs, report: ReportViolation) -> None:
    allow_merged = bool(settings(args.get_config(), _COVERS_SCHEMA)["allowMergedRouteRateLimits"])
    stack = StackIndex(args.resources)
    if not stack.of_type(REGULATOR_TYPE):
        args.not_applicable("no traffic regulator in the stack")
    regulators = _regulators(stack, report)
    policies = stack.of_type(BACKEND_TRAFFIC_POLICY)
    for regulator in regulators:
        mine = [p for p in policies if _namespace(p) == regulator.namespace and object_name(p) == regulator.policy]
        gateway_ref = {"group": GATEWAY_GROUP, "kind": "Gateway", "name": regulator.gateway}
        if not mine:
            report(f"traffic regulator '{regulator.resource.name}' has no BackendTrafficPolicy "
                   f"'{regulator.namespace}/{regulator.policy}'", regulator.resource.urn)
        for policy in mine:
            if not any({k: t.get(k) for k in gateway_ref} == gateway_ref and not t.get("sectionName")
                       for t in _targets(policy)):
                report(f"BackendTrafficPolicy '{regulator.namespace}/{regulator.policy}' does not target Gateway "
                       f"'{regulator.gateway}' as a whole, so routes attached to it later are not regulated",
                       policy.urn)
            if not as_list(get_in(policy.props, "spec", "rateLimit", "local", "rules")):
                report(f"BackendTrafficPolicy '{regulator.namespace}/{regulator.policy}' has no local rate limit "
                       "rule for the ramp to move", policy.urn)
        routes = _routes_on(stack, regulator)
        for policy in policies:
            if _namespace(policy) != regulator.namespace or policy in mine:
                continue
            why = _overrides(policy, allow_merged)
            if why is None:
                continue
            hit = sorted(str(t.get("name")) for t in _targets(policy)
                         if t.get("kind") in ROUTE_KINDS and t.get("name") in routes)
            selects = [s for s in as_list(get_in(policy.props, "spec", "targetSelectors"))
                       if as_map(s).get("kind") in ROUTE_KINDS]
            gateway_section = [t for t in _targets(policy) if t.get("kind") == "Gateway"
                               and t.get("name") == regulator.gateway and t.get("sectionName")]
            if hit or selects or gateway_section:
                where = (f"routes {', '.join(hit)}" if hit else
                         "routes selected by label" if selects else "a listener of the Gateway")
                report(f"BackendTrafficPolicy '{regulator.namespace}/{object_name(policy)}' targets {where} of "
                       f"regulated Gateway '{regulator.gateway}' and {why}: the more specific policy wins, "
                       "switching the ramp off there", policy.urn)


TRAFFIC_REGULATOR_COVERS_ROUTES = StackValidationPolicy(
    name="traffic-regulator-covers-routes",
    description="The traffic regulator's BackendTrafficPolicy targets its whole Gateway with a local rate limit, "
    "and no more specific BackendTrafficPolicy replaces it for a route on that Gateway.",
    validate=_traffic_regulator_covers_routes,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_COVERS_SCHEMA,
)


POLICIES = [INFERENCE_ROUTES_THROUGH_REGULATOR, TRAFFIC_REGULATOR_COVERS_ROUTES]
