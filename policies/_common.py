"""Helpers shared by the rule modules: config with schema defaults, plan facts, and a stack index.

Provider resource types come from the provider profiles (``neocloud.profiles``, pure data) and label keys from
``neocloud.vocabulary``, so a rule reads what the providers register. Values arrive as the engine sends them:
numbers are floats (``8.0``), mappings and lists are the SDK's unknown-checking proxies (reading a value unknown
during preview raises ``UnknownValueError``, which the SDK reports as an advisory "can't run policy during
preview"). Nothing here has side effects at import.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import PolicyConfigSchema, PolicyResource
from pulumi_policy import proxy as _proxy

from neocloud.profiles import NodeSetShape, all_profiles
from neocloud.vocabulary import LABEL_CLUSTER, LABEL_ENVIRONMENT, LABEL_POOL, LABEL_PURPOSE

__all__ = [
    "CLUSTER_TYPE",
    "LABEL_CLUSTER",
    "LABEL_ENVIRONMENT",
    "LABEL_POOL",
    "LABEL_PURPOSE",
    "NODE_SET_SHAPES",
    "NODE_SET_TYPES",
    "POOL_TYPE",
    "MissingFact",
    "NodeSet",
    "StackIndex",
    "as_list",
    "as_map",
    "fact_list",
    "fact_map",
    "fact_number",
    "fmt",
    "get_in",
    "has_key",
    "labels_of",
    "node_set",
    "num",
    "object_name",
    "report_missing",
    "requires_facts",
    "schema",
    "settings",
    "types_with_role",
    "walk_strings",
]

CLUSTER_TYPE = "neocloud:index:GpuCluster"
POOL_TYPE = "neocloud:index:GpuPool"
FACTS = "neocloud"
"""The input property that carries a component's plan facts."""

UNKNOWNS = frozenset(v for k, v in vars(_proxy).items() if k.startswith("UNKNOWN_") and k.endswith("_VALUE"))
"""The SDK's sentinels for values unknown during preview."""



def schema(properties: dict[str, dict[str, Any]]) -> PolicyConfigSchema:
    """A config schema; every property must carry a ``default`` (rules apply it: the Python SDK does not)."""
    for name, prop in properties.items():
        if "default" not in prop or "description" not in prop:
            raise TypeError(f"config property {name!r} needs a default and a description")
    return PolicyConfigSchema(properties=properties)


def settings(config: Mapping[str, Any], config_schema: PolicyConfigSchema | None) -> dict[str, Any]:
    """The policy's config with schema defaults filled in (the engine does this; direct gRPC callers may not)."""
    out: dict[str, Any] = {}
    if config_schema is not None:
        out.update({k: v["default"] for k, v in config_schema.properties.items() if "default" in v})
        # A misspelt property must not leave the default silently in force (the engine does not refuse it: the
        # SDK's schema has no additionalProperties). Raising makes the rule fail loudly, naming the property.
        extra = sorted(set(config or {}) - set(config_schema.properties))
        if extra:
            raise ValueError(f"unknown config property {extra[0]!r}; properties: "
                             f"{', '.join(sorted(config_schema.properties))}")
    out.update(dict(config or {}))
    return out


def num(value: Any, default: float | None = None) -> float | None:
    """A number from an engine value (ints arrive as floats; Kubernetes quantities as strings)."""
    if value is None or isinstance(value, bool):
        return default
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return default
    return default


class MissingFact(Exception):
    """A plan fact a rule needs is missing or mistyped on a resource the rule applies to.

    ``requires_facts`` turns it into a violation: a rule must not pass because it could not read what it checks
    (a pool without ``fabric.tiers`` is not a non-blocking fabric, it is an unchecked one).
    """

    def __init__(self, path: str, got: Any, *, subject: str, urn: str | None, kind: str) -> None:
        self.path, self.got, self.subject, self.urn, self.kind = path, got, subject, urn, kind
        state = "missing" if got is None else f"not {kind} (got {_shown(got)})"
        super().__init__(f"{subject}: plan fact '{path}' is {state}, so this rule cannot check it; the resource "
                         "must carry the plan facts of this version of the components")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."


def fact_number(facts: Any, path: str, *, subject: str, urn: str | None = None, minimum: float | None = None,
                integer: bool = False) -> float:
    """The number at dotted ``path`` of ``facts``, else ``MissingFact`` (strings, booleans and NaN are not numbers)."""
    value = get_in(facts, *path.split("."))
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise MissingFact(path, value, subject=subject, urn=urn, kind="a number")
    number = float(value)
    if (minimum is not None and number < minimum) or (integer and not number.is_integer()):
        kind = f"a {'whole ' if integer else ''}number{f' >= {minimum:g}' if minimum is not None else ''}"
        raise MissingFact(path, value, subject=subject, urn=urn, kind=kind)
    return number


def fact_list(facts: Any, path: str, *, subject: str, urn: str | None = None) -> Sequence[Any]:
    """The list at dotted ``path`` of ``facts``, else ``MissingFact``."""
    value = get_in(facts, *path.split("."))
    if not (isinstance(value, Sequence) and not isinstance(value, str | bytes)):
        raise MissingFact(path, value, subject=subject, urn=urn, kind="a list")
    return value


def fact_map(facts: Any, path: str, *, subject: str, urn: str | None = None) -> Mapping[str, Any]:
    """The mapping at dotted ``path`` of ``facts``, else ``MissingFact``."""
    value = get_in(facts, *path.split("."))
    if not isinstance(value, Mapping):
        raise MissingFact(path, value, subject=subject, urn=urn, kind="a mapping")
    return value


def requires_facts(validate: Any) -> Any:
    """Wrap a rule so that a ``MissingFact`` it raises is reported as a violation (on the resource whose facts
    are missing), never a silent pass. For rules that check several resources, raise per resource (catching
    ``MissingFact`` inside the loop and calling ``report_missing``) so one bad resource does not hide the rest."""

    def run(args: Any, report: Any) -> Any:
        try:
            return validate(args, report)
        except MissingFact as missing:
            report_missing(report, missing)
            return None

    run.__name__ = getattr(validate, "__name__", "validate")
    run.__doc__ = getattr(validate, "__doc__", None)
    return run


def report_missing(report: Any, missing: MissingFact) -> None:
    """Report ``missing`` as a violation of the running rule."""
    report(str(missing), missing.urn)


def fmt(value: Any) -> str:
    """A number for a message: ``8.0`` -> ``8``."""
    n = num(value)
    return f"{n:g}" if n is not None else str(value)


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> Sequence[Any]:
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return value
    return ()


def get_in(value: Any, *path: str | int, default: Any = None) -> Any:
    """``value[path[0]][path[1]]...`` or ``default`` where a step is missing."""
    current = value
    for step in path:
        if isinstance(step, int):
            seq = as_list(current)
            if step >= len(seq):
                return default
            current = seq[step]
        else:
            m = as_map(current)
            if step not in m:
                return default
            current = m[step]
        if current is None:
            return default
    return current


def has_key(mapping: Any, key: str) -> bool:
    """Whether ``key`` is set, without reading its value (a value unknown during preview is still *set*)."""
    if not isinstance(mapping, Mapping):
        return False
    raw = _raw(mapping)
    return raw.get(key) is not None


def _raw(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """The SDK proxy's underlying dict (values unchecked), or the mapping itself."""
    if isinstance(mapping, dict):
        return mapping
    try:
        target = mapping["__target"]
    except (KeyError, TypeError):
        return mapping
    return target if isinstance(target, Mapping) else mapping


def object_name(resource: PolicyResource) -> str:
    """A Kubernetes object's ``metadata.name`` (its name in the cluster), else the Pulumi resource name."""
    name = get_in(resource.props, "metadata", "name")
    return name if isinstance(name, str) else resource.name


def labels_of(props: Mapping[str, Any]) -> dict[str, str]:
    """Tags and labels a resource carries: AWS ``tags``, EKS node group ``labels``, Kubernetes
    ``metadata.labels``."""
    out: dict[str, str] = {}
    for source in (props.get("tags"), props.get("labels"), get_in(props, "metadata", "labels")):
        for k, v in as_map(source).items():
            if isinstance(v, str):
                out[str(k)] = v
    return out


def types_with_role(role: str) -> tuple[str, ...]:
    """Every provider's resource types that play ``role`` (``ResourceTypes.other``, e.g. ``firewall_ruleset``)."""
    return tuple(dict.fromkeys(t for p in all_profiles() for r, t in p.resource_types.other.items() if r == role))


NODE_SET_SHAPES: dict[str, NodeSetShape] = {s.type: s for p in all_profiles() for s in p.resource_types.node_sets}
"""Resources that each stand for a set of identical nodes (EKS managed node groups, Nebius mk8s node groups,
CoreWeave NodePools, ...), from the provider profiles: where each keeps its node labels and size bounds."""
NODE_SET_TYPES = tuple(NODE_SET_SHAPES)


@dataclass(frozen=True)
class NodeSet:
    """A group of nodes some resource asks the provider for: its node labels and its size bounds."""

    resource: PolicyResource
    kind: str
    labels: dict[str, str]
    sizes: dict[str, float]
    """Size fields as named in the resource (minSize, fixedNodeCount, minNodes, ...) -> value."""
    min_nodes: float | None


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): v for k, v in as_map(value).items() if isinstance(v, str)}


def node_set(resource: PolicyResource) -> NodeSet | None:
    shape = NODE_SET_SHAPES.get(resource.resource_type)
    if shape is None:
        return None
    props = resource.props
    sizes: dict[str, float] = {}
    for path in shape.sizes:
        if (n := num(get_in(props, *path))) is not None:
            sizes[".".join(path)] = n
    low = next((sizes[key] for key in shape.floor if key in sizes), None)
    return NodeSet(resource, shape.kind, _str_map(get_in(props, *shape.labels)), sizes, low)


class StackIndex:
    """The resources of a stack, indexed for rules that relate resources to each other and to the plan."""

    def __init__(self, resources: Iterable[PolicyResource]) -> None:
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources}
        self._by_type: dict[str, list[PolicyResource]] = {}
        """Resources by type, in stack order: ``of_type`` is O(its answer), not O(stack), however often rules
        call it (a rule calling it per team made check superlinear: benchmarks/check_scale.py)."""
        self._position = {id(r): i for i, r in enumerate(self.resources)}
        for r in self.resources:
            self._by_type.setdefault(r.resource_type, []).append(r)
        self.pools: dict[str, tuple[PolicyResource, Mapping[str, Any]]] = {}
        self.cluster: Mapping[str, Any] | None = None
        self.cluster_resource: PolicyResource | None = None
        self.pools_without_facts: list[PolicyResource] = []
        """GpuPools whose plan facts (or their ``name``) are missing: rules that check pools report them."""
        for r in self.resources:
            if r.resource_type == POOL_TYPE:
                facts = as_map(r.props.get(FACTS))
                if isinstance(facts.get("name"), str):
                    self.pools[str(facts["name"])] = (r, facts)
                else:
                    self.pools_without_facts.append(r)
            elif r.resource_type == CLUSTER_TYPE and self.cluster is None:
                self.cluster = as_map(r.props.get(FACTS))
                self.cluster_resource = r

    def report_pools_without_facts(self, report: Any) -> int:
        """Report every GpuPool without its plan facts as a violation of the running rule (a pool the rule cannot
        check is never a pass); returns how many there were."""
        for pool in self.pools_without_facts:
            report_missing(report, MissingFact("neocloud", None, subject=f"GpuPool '{pool.name}'", urn=pool.urn,
                                               kind="plan facts"))
        return len(self.pools_without_facts)

    def of_type(self, *types: str) -> list[PolicyResource]:
        """The resources of ``types``, in stack order."""
        found = [r for t in dict.fromkeys(types) for r in self._by_type.get(t, ())]
        if len(types) > 1:
            found.sort(key=lambda r: self._position[id(r)])
        return found

    def node_sets(self) -> list[tuple[NodeSet, tuple[PolicyResource, Mapping[str, Any]] | None]]:
        """Every node group / NodePool with the GpuPool it belongs to (None: not a GPU pool's)."""
        out = []
        for r in self.of_type(*NODE_SET_TYPES):
            ns = node_set(r)
            if ns is not None:
                owner = self.pool_of(r)
                if owner is None and ns.labels.get(LABEL_POOL) in self.pools:
                    owner = self.pools[ns.labels[LABEL_POOL]]
                out.append((ns, owner))
        return out

    def pool_of(self, resource: PolicyResource) -> tuple[PolicyResource, Mapping[str, Any]] | None:
        """The GpuPool a resource belongs to: its nearest GpuPool ancestor, else its ``neocloud.io/pool`` tag."""
        seen: set[str] = set()
        current = resource.parent
        while current is not None and current.urn not in seen:
            seen.add(current.urn)
            if current.resource_type == POOL_TYPE:
                facts = as_map(current.props.get(FACTS))
                return current, facts
            current = current.parent
        name = labels_of(resource.props).get(LABEL_POOL)
        return self.pools.get(name) if name else None

    def deps(self, resource: PolicyResource, prop: str) -> list[PolicyResource]:
        """Resources that property ``prop`` of ``resource`` was computed from (known even during preview)."""
        return list(resource.property_dependencies.get(prop, []))

    def environment(self) -> str | None:
        if self.cluster is not None and isinstance(self.cluster.get("environment"), str):
            return str(self.cluster["environment"])
        for _, facts in self.pools.values():
            if isinstance(facts.get("environment"), str):
                return str(facts["environment"])
        return None


def walk_strings(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every known string leaf of ``value`` as (path, key, value); ``key`` is the nearest mapping key.

    Reads the SDK proxies' underlying values, so values unknown during preview are skipped instead of failing
    the whole rule.
    """
    yield from _walk(value, path, "")


def _unproxy(value: Any) -> Any:
    if isinstance(value, Mapping | Sequence) and not isinstance(value, str | bytes | dict | list):
        try:
            target = value["__target"]  # type: ignore[index,call-overload]
        except (KeyError, TypeError, IndexError):
            return value
        return target
    return value


def _walk(value: Any, path: str, key: str) -> Iterator[tuple[str, str, Any]]:
    value = _unproxy(value)
    if isinstance(value, str):
        if value not in UNKNOWNS:
            yield path, key, value
    elif isinstance(value, Mapping):
        for k in list(value):
            yield from _walk(value[k], f"{path}.{k}" if path else str(k), str(k))
    elif isinstance(value, Sequence) and not isinstance(value, bytes):
        for i in range(len(value)):
            yield from _walk(value[i], f"{path}[{i}]", key)
