"""A pure model of what Kubernetes (and Kueue) do when a workload's pods are created: would they be admitted and
scheduled on the planned nodes? No Pulumi imports; plain values in, plain values out, so tests can hold each
behaviour against its documentation.

Modelled behaviours and their sources:

- **LimitRange defaulting** (API defaulting of the LimitRange object, then the LimitRanger admission plugin):
  for a ``Container`` item, a missing ``default`` (limit) is the ``max``; a missing ``defaultRequest`` is the
  ``default``, else the ``min`` (kubernetes/kubernetes ``pkg/apis/core/v1/defaults.go``,
  ``SetDefaults_LimitRangeItem``). LimitRanger then gives every container and init container that lacks a limit
  or request for a resource the item's default (``plugin/pkg/admission/limitranger/admission.go``,
  ``mergeContainerResources``), and rejects the pod when a container, or the pod's sum of containers (init
  containers: the largest, sidecars added), exceeds ``max``, or has *no* limit for a resource with a ``max``
  ("maximum ... usage per Pod is N. No limit is specified"). Kubernetes docs: "Limit Ranges"
  (https://kubernetes.io/docs/concepts/policy/limit-range/) and "Configure Minimum and Maximum Memory
  Constraints for a Namespace" (a container without limits gets the ``max`` as its limit and request).
- **Requests default to limits**: a container that sets a limit and no request for a resource gets a request
  equal to the limit (``SetDefaults_Pod``; "Resource Management for Pods and Containers": "If you specify a
  limit for a resource, but do not specify any request, ... Kubernetes copies the limit you specified and uses
  it as the requested value"). Extended resources cannot be overcommitted: request and limit must be equal
  (same page, "Extended resources").
- **ResourceQuota**: the namespace's ``requests.<resource>`` (and plain ``<resource>``) hard limits against the
  sum of the pods' requests (https://kubernetes.io/docs/concepts/policy/resource-quotas/, "Resource quota for
  extended resources": only ``requests.``-prefixed quota is allowed for extended resources).
- **Pod Security admission**: the namespace's ``pod-security.kubernetes.io/enforce`` level, with the
  capability and security-context rules of the Pod Security Standards
  (https://kubernetes.io/docs/concepts/security/pod-security-standards/): baseline allows adding only the
  default container-runtime capabilities; restricted also requires ``runAsNonRoot``,
  ``allowPrivilegeEscalation: false``, a ``RuntimeDefault``/``Localhost`` seccomp profile and dropping ALL
  capabilities (adding only NET_BIND_SERVICE).
- **Taints and tolerations** (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/): a
  pod schedules on a node only if it tolerates every ``NoSchedule``/``NoExecute`` taint; ``Exists`` matches any
  value, an empty key with ``Exists`` matches every taint, an empty effect matches every effect.
- **nodeSelector** (https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/): every key/value
  must be a label of the node.
- **Kueue**: an admitted workload's pods get the ResourceFlavor's ``nodeLabels`` as node selectors and its
  ``tolerations`` (https://kueue.sigs.k8s.io/docs/concepts/cluster_queue/#flavors-and-resources,
  "ResourceFlavor"); a ClusterQueue admits a workload only when its covered resources fit the flavor's quota
  (nominal plus borrowing limit); Topology-Aware Scheduling's ``kueue.x-k8s.io/podset-required-topology``
  annotation must name a level of the flavor's Topology
  (https://kueue.sigs.k8s.io/docs/concepts/topology_aware_scheduling/).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

__all__ = [
    "BASELINE_CAPABILITIES",
    "Container",
    "LimitRangeItem",
    "Pod",
    "Taint",
    "Toleration",
    "apply_limit_ranges",
    "check_extended_resources",
    "check_pod_security",
    "check_quota",
    "default_limit_range_item",
    "default_requests_to_limits",
    "is_extended_resource",
    "limit_range_items",
    "missing_labels",
    "parse_quantity",
    "pod_limits",
    "pod_requests",
    "untolerated",
    "validate_limit_ranges",
]

_SUFFIXES: dict[str, Fraction | int] = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}
_QUANTITY = re.compile(r"^([+-]?[0-9.]+)(?:[eE]([+-]?[0-9]+))?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def parse_quantity(value: Any) -> Fraction:
    """A Kubernetes resource quantity (``"8"``, ``"500m"``, ``"64Gi"``, or a number) as an exact fraction."""
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, int | float):
        return Fraction(value).limit_denominator(10**9)
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        raise ValueError(f"not a quantity: {value!r}")
    number, exponent, suffix = match.groups()
    out = Fraction(number) * Fraction(_SUFFIXES[suffix or ""])
    if exponent:
        out *= Fraction(10) ** int(exponent)
    return out


Resources = dict[str, Fraction]


def _resources(value: Mapping[str, Any] | None) -> Resources:
    return {str(k): parse_quantity(v) for k, v in (value or {}).items()}


def is_extended_resource(name: str) -> bool:
    """Extended resources: a name with a domain outside ``kubernetes.io`` (``nvidia.com/gpu``,
    ``vpc.amazonaws.com/efa``, ``rdma/ib``) -- they cannot be overcommitted (requests equal limits)."""
    if "/" not in name:
        return False
    domain = name.split("/", 1)[0]
    return not (domain == "kubernetes.io" or domain.endswith(".kubernetes.io") or name.startswith("requests."))


@dataclass(frozen=True)
class Container:
    name: str
    requests: Mapping[str, Fraction] = field(default_factory=dict)
    limits: Mapping[str, Fraction] = field(default_factory=dict)
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()
    privileged: bool = False
    run_as_non_root: bool | None = None
    allow_privilege_escalation: bool | None = None
    seccomp: str | None = None
    """``RuntimeDefault``, ``Localhost``, ``Unconfined`` or unset."""
    restart_always: bool = False
    """An init container with ``restartPolicy: Always``: a sidecar, counted with the regular containers."""


@dataclass(frozen=True)
class Pod:
    name: str
    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...] = ()
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Toleration, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    host_network: bool = False

    def all_containers(self) -> tuple[tuple[str, Container], ...]:
        return (*(("container", c) for c in self.containers),
                *(("init container", c) for c in self.init_containers))


@dataclass(frozen=True)
class LimitRangeItem:
    type: str
    max: Mapping[str, Fraction] = field(default_factory=dict)
    min: Mapping[str, Fraction] = field(default_factory=dict)
    default: Mapping[str, Fraction] = field(default_factory=dict)
    default_request: Mapping[str, Fraction] = field(default_factory=dict)


def limit_range_items(spec: Mapping[str, Any]) -> list[LimitRangeItem]:
    """The items of a LimitRange's ``spec`` (as the engine sends it: camelCase keys, quantities as strings)."""
    out = []
    for item in spec.get("limits") or []:
        out.append(LimitRangeItem(
            type=str(item.get("type")), max=_resources(item.get("max")), min=_resources(item.get("min")),
            default=_resources(item.get("default")), default_request=_resources(item.get("defaultRequest")),
        ))
    return out


def default_limit_range_item(item: LimitRangeItem) -> LimitRangeItem:
    """The item as the API server stores it (``SetDefaults_LimitRangeItem``): for ``Container`` items, a missing
    default limit is the max; a missing default request is the default limit, else the min."""
    if item.type != "Container":
        return item
    default = dict(item.default)
    for key, value in item.max.items():
        default.setdefault(key, value)
    default_request = dict(item.default_request)
    for key, value in default.items():
        default_request.setdefault(key, value)
    for key, value in item.min.items():
        default_request.setdefault(key, value)
    return replace(item, default=default, default_request=default_request)


def default_requests_to_limits(container: Container) -> Container:
    """``SetDefaults_Pod``: a resource with a limit and no request gets the limit as its request."""
    requests = dict(container.requests)
    for key, value in container.limits.items():
        requests.setdefault(key, value)
    return replace(container, requests=requests)


def apply_limit_ranges(pod: Pod, items: Iterable[LimitRangeItem]) -> tuple[Pod, list[str]]:
    """LimitRanger's mutation: every container and init container without a limit / request for a resource
    gets the Container items' default (after API defaulting). Returns the pod and what was set, as LimitRanger's
    annotation lists it."""
    limits: Resources = {}
    requests: Resources = {}
    for item in (default_limit_range_item(i) for i in items):
        if item.type == "Container":
            limits.update(item.default)
            requests.update(item.default_request)
    notes: list[str] = []

    def merge(kind: str, container: Container) -> Container:
        new_limits = dict(container.limits)
        new_requests = dict(container.requests)
        for key, value in limits.items():
            if key not in new_limits:
                new_limits[key] = value
                notes.append(f"{key} limit {value} for {kind} {container.name}")
        for key, value in requests.items():
            if key not in new_requests:
                new_requests[key] = value
                notes.append(f"{key} request {value} for {kind} {container.name}")
        return replace(container, limits=new_limits, requests=new_requests)

    mutated = replace(pod, containers=tuple(merge("container", c) for c in pod.containers),
                      init_containers=tuple(merge("init container", c) for c in pod.init_containers))
    return mutated, notes


def _aggregate(pod: Pod, which: str) -> Resources:
    """``podRequests`` / ``podLimits`` of LimitRanger (and the scheduler): the sum of the containers and
    sidecars, or the largest init container (plus the sidecars started before it) if that is more."""
    total: Resources = {}
    for c in pod.containers:
        for key, value in getattr(c, which).items():
            total[key] = total.get(key, Fraction(0)) + value
    sidecars: Resources = {}
    init_max: Resources = {}
    for c in pod.init_containers:
        own = dict(getattr(c, which))
        if c.restart_always:
            for key, value in own.items():
                total[key] = total.get(key, Fraction(0)) + value
                sidecars[key] = sidecars.get(key, Fraction(0)) + value
            effective = dict(sidecars)
        else:
            effective = dict(own)
            for key, value in sidecars.items():
                effective[key] = effective.get(key, Fraction(0)) + value
        for key, value in effective.items():
            if value > init_max.get(key, Fraction(-1)):
                init_max[key] = value
    for key, value in init_max.items():
        if value > total.get(key, Fraction(-1)):
            total[key] = value
    return total


def pod_requests(pod: Pod) -> Resources:
    return _aggregate(pod, "requests")


def pod_limits(pod: Pod) -> Resources:
    return _aggregate(pod, "limits")


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def _max_violation(where: str, key: str, enforced: Fraction, requests: Resources, limits: Resources) -> str | None:
    # LimitRanger's maxConstraint: a max needs a limit, and neither limit nor request may exceed it.
    if key not in limits:
        return f"maximum {key} usage per {where} is {_fmt(enforced)}. No limit is specified"
    if limits[key] > enforced:
        return f"maximum {key} usage per {where} is {_fmt(enforced)}, but limit is {_fmt(limits[key])}"
    if key in requests and requests[key] > enforced:
        return f"maximum {key} usage per {where} is {_fmt(enforced)}, but request is {_fmt(requests[key])}"
    return None


def _min_violation(where: str, key: str, enforced: Fraction, requests: Resources, limits: Resources) -> str | None:
    if key not in requests:
        return f"minimum {key} usage per {where} is {_fmt(enforced)}. No request is specified"
    if requests[key] < enforced:
        return f"minimum {key} usage per {where} is {_fmt(enforced)}, but request is {_fmt(requests[key])}"
    if key in limits and limits[key] < enforced:
        return f"minimum {key} usage per {where} is {_fmt(enforced)}, but limit is {_fmt(limits[key])}"
    return None


def validate_limit_ranges(pod: Pod, items: Iterable[LimitRangeItem]) -> list[str]:
    """LimitRanger's validation of an (already defaulted) pod: Container items per container and init
    container, Pod items on the pod's aggregate requests and limits."""
    errors: list[str] = []
    for item in items:
        if item.type == "Container":
            for kind, c in pod.all_containers():
                for key, enforced in item.min.items():
                    if (e := _min_violation("Container", key, enforced, dict(c.requests), dict(c.limits))):
                        errors.append(f"{kind} {c.name}: {e}")
                for key, enforced in item.max.items():
                    if (e := _max_violation("Container", key, enforced, dict(c.requests), dict(c.limits))):
                        errors.append(f"{kind} {c.name}: {e}")
        elif item.type == "Pod":
            requests, limits = pod_requests(pod), pod_limits(pod)
            for key, enforced in item.min.items():
                if (e := _min_violation("Pod", key, enforced, requests, limits)):
                    errors.append(e)
            for key, enforced in item.max.items():
                if (e := _max_violation("Pod", key, enforced, requests, limits)):
                    errors.append(e)
    return errors


def check_extended_resources(pod: Pod) -> list[str]:
    """Pod validation for extended resources: they cannot be overcommitted, so a container's request must equal
    its limit, and a request needs a limit."""
    errors = []
    for kind, c in pod.all_containers():
        for key in sorted(set(c.requests) | set(c.limits)):
            if not is_extended_resource(key):
                continue
            if key not in c.limits:
                errors.append(f"{kind} {c.name}: {key} is requested without a limit (extended resources need one)")
            elif key in c.requests and c.requests[key] != c.limits[key]:
                errors.append(f"{kind} {c.name}: {key} request {_fmt(c.requests[key])} must equal its limit "
                              f"{_fmt(c.limits[key])} (extended resources cannot be overcommitted)")
    return errors


def check_quota(hard: Mapping[str, Fraction], pods: Sequence[Pod], used: Mapping[str, Fraction] | None = None
                ) -> list[str]:
    """ResourceQuota admission of ``pods`` (created one after another) into a namespace whose quota ``hard``
    already has ``used`` consumed: ``requests.<r>`` and plain ``<r>`` count requests, ``limits.<r>`` limits."""
    errors: list[str] = []
    consumed: dict[str, Fraction] = dict(used or {})
    for pod in pods:
        requests, limits = pod_requests(pod), pod_limits(pod)
        for name, ceiling in hard.items():
            if name.startswith("limits."):
                amount = limits.get(name.removeprefix("limits."), Fraction(0))
            else:
                amount = requests.get(name.removeprefix("requests."), Fraction(0))
            if consumed.get(name, Fraction(0)) + amount > ceiling:
                errors.append(f"pod {pod.name}: exceeded quota: {name}, requested {_fmt(amount)}, used "
                              f"{_fmt(consumed.get(name, Fraction(0)))}, limited {_fmt(ceiling)}")
                return errors
            consumed[name] = consumed.get(name, Fraction(0)) + amount
    return errors


BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
"""Capabilities the baseline Pod Security Standard lets a container add (Pod Security Standards, "Capabilities")."""
PSS_LEVELS = ("privileged", "baseline", "restricted")


def check_pod_security(pod: Pod, level: str) -> list[str]:
    """What the Pod Security admission controller at ``level`` (enforce) would reject in ``pod``."""
    if level not in PSS_LEVELS:
        return [f"unknown Pod Security level {level!r}"]
    if level == "privileged":
        return []
    errors = []
    if pod.host_network:
        errors.append("hostNetwork=true (baseline forbids host namespaces)")
    for kind, c in pod.all_containers():
        who = f"{kind} {c.name}"
        if c.privileged:
            errors.append(f"{who}: privileged (baseline forbids it)")
        added = set(c.capabilities_add)
        allowed = {"NET_BIND_SERVICE"} if level == "restricted" else BASELINE_CAPABILITIES
        if added - allowed:
            errors.append(f"{who}: adds capabilities {', '.join(sorted(added - allowed))}, which {level} forbids")
        if level != "restricted":
            continue
        if c.run_as_non_root is not True:
            errors.append(f"{who}: runAsNonRoot is not true (restricted)")
        if c.allow_privilege_escalation is not False:
            errors.append(f"{who}: allowPrivilegeEscalation is not false (restricted)")
        if c.seccomp not in ("RuntimeDefault", "Localhost"):
            errors.append(f"{who}: seccompProfile is {c.seccomp or 'unset'}, restricted needs RuntimeDefault or "
                          f"Localhost")
        if "ALL" not in c.capabilities_drop:
            errors.append(f"{who}: does not drop ALL capabilities (restricted)")
    return errors


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"


@dataclass(frozen=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"
    value: str = ""
    effect: str = ""

    def tolerates(self, taint: Taint) -> bool:
        """Kubernetes' ``Toleration.ToleratesTaint``."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return bool(self.key) and self.value == taint.value


def untolerated(taints: Iterable[Taint], tolerations: Iterable[Toleration]) -> list[Taint]:
    """Taints that keep the pod off the node (``NoSchedule`` / ``NoExecute`` ones no toleration matches)."""
    tols = list(tolerations)
    return [t for t in taints if t.effect in ("NoSchedule", "NoExecute") and not any(x.tolerates(t) for x in tols)]


def missing_labels(node_selector: Mapping[str, str], node_labels: Mapping[str, str]) -> dict[str, str]:
    """nodeSelector entries the node's labels do not satisfy."""
    return {k: v for k, v in node_selector.items() if node_labels.get(k) != v}
