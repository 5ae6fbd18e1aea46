"""What changes between two plans: GPUs, racks, fabric, power, cost, storage, and resources by URN.

Both sides are ``plan --json`` documents (a stack run now, or a file saved earlier). Resources are matched by URN
without its stack segment (``urn:pulumi:<stack>::<project>::<type>::<name>``), so a stack compares with its own
saved plan and with another stack alike; a matched resource has changed when the digest of any of its top-level
inputs differs (``input_digests`` in ``plan --json``; secret values are masked before hashing, so a changed secret
is not reported). Pure: no Pulumi imports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FieldChange", "PlanDiff", "ResourceChange", "diff_plans", "resource_key"]

CLUSTER_FIELDS = (
    ("gpus", ("gpus",)), ("total GPUs", ("total_gpus",)), ("nodes", ("nodes",)), ("racks", ("racks",)),
    ("IT kW", ("power_kw", "it")), ("facility kW", ("power_kw", "facility")), ("PUE", ("power_kw", "pue")),
    ("$/hour", ("cost", "per_hour")), ("$/month", ("cost", "per_month")),
    ("storage read GB/s", ("storage", "read_gbps")), ("storage write GB/s", ("storage", "write_gbps")),
    ("storage capacity TiB", ("storage", "capacity_tib")), ("resources", ("resource_count",)),
    ("provider", ("provider",)), ("environment", ("environment",)),
)
"""Cluster-wide fields compared, as (label, path in the plan document)."""

POOL_FIELDS = (
    ("system", ("system",)), ("nodes", ("nodes",)), ("spares", ("spares",)), ("total nodes", ("total_nodes",)),
    ("gpus", ("gpus",)), ("zone", ("zone",)), ("capacity", ("capacity", "source")),
    ("NVLink domains", ("nvlink_domains",)), ("NVLink domain GPUs", ("nvlink_domain_gpus",)),
    ("racks", ("racks", "count")), ("nodes per rack", ("racks", "nodes_per_rack")),
    ("IT kW", ("power", "it_kw")), ("$/hour", ("cost", "per_hour")),
)
FABRIC_FIELDS = (
    ("tiers", ("tiers",)), ("leaf", ("leaf",)), ("spine", ("spine",)), ("core", ("core",)),
    ("switches", ("switches",)), ("radix", ("radix",)), ("oversubscription", ("oversubscription",)),
    ("node-leaf cables", ("cables", "node_leaf")), ("leaf-spine cables", ("cables", "leaf_spine")),
    ("spine-core cables", ("cables", "spine_core")), ("cables", ("cables", "total")),
    ("switch transceivers", ("transceivers", "switch")), ("node transceivers", ("transceivers", "node")),
)


@dataclass(frozen=True)
class FieldChange:
    where: str
    """``cluster``, ``pool NAME`` or ``fabric NAME``."""
    field: str
    before: Any
    after: Any

    @property
    def delta(self) -> float | None:
        if _number(self.before) and _number(self.after):
            return round(float(self.after) - float(self.before), 6)
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "field": self.field, "before": self.before, "after": self.after,
                "delta": self.delta}


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    name: str
    inputs: tuple[str, ...] = ()
    """Changed resources: the top-level inputs whose values differ."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"urn": self.urn, "type": self.type, "name": self.name}
        if self.inputs:
            out["inputs"] = list(self.inputs)
        return out


@dataclass
class PlanDiff:
    before: str
    after: str
    fields: list[FieldChange] = field(default_factory=list)
    pools_added: list[str] = field(default_factory=list)
    pools_removed: list[str] = field(default_factory=list)
    added: list[ResourceChange] = field(default_factory=list)
    removed: list[ResourceChange] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)
    unchanged: int = 0
    compared_inputs: bool = True
    """False when a side has no ``input_digests`` (a plan saved before they existed): changes are not known."""

    @property
    def empty(self) -> bool:
        return not (self.fields or self.pools_added or self.pools_removed or self.added or self.removed
                    or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "before": self.before, "after": self.after, "identical": self.empty,
            "fields": [f.to_dict() for f in self.fields],
            "pools": {"added": self.pools_added, "removed": self.pools_removed},
            "resources": {"added": [r.to_dict() for r in self.added], "removed": [r.to_dict() for r in self.removed],
                          "changed": [r.to_dict() for r in self.changed], "unchanged": self.unchanged,
                          "compared_inputs": self.compared_inputs},
        }


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _get(document: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(key)
    return document


def _same(a: Any, b: Any) -> bool:
    if _number(a) and _number(b):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)))
    return bool(a == b)


def _compare(out: list[FieldChange], where: str, fields: Sequence[tuple[str, Sequence[str]]], a: Any, b: Any) -> None:
    for label, path in fields:
        before, after = _get(a, path), _get(b, path)
        if not _same(before, after):
            out.append(FieldChange(where, label, before, after))


def resource_key(urn: str) -> str:
    """A URN without its stack: ``urn:pulumi:dev::proj::t::n`` -> ``proj::t::n``."""
    head, sep, rest = urn.partition("::")
    return rest if sep and head.startswith("urn:pulumi:") else urn


def diff_plans(before: Mapping[str, Any], after: Mapping[str, Any], *, before_label: str = "before",
               after_label: str = "after") -> PlanDiff:
    """Differences from ``before`` to ``after`` (two ``plan --json`` documents)."""
    result = PlanDiff(before_label, after_label)
    _compare(result.fields, "cluster", CLUSTER_FIELDS, before, after)
    pools_a = {p["name"]: p for p in before.get("pools") or []}
    pools_b = {p["name"]: p for p in after.get("pools") or []}
    result.pools_removed = sorted(set(pools_a) - set(pools_b))
    result.pools_added = sorted(set(pools_b) - set(pools_a))
    for name in sorted(set(pools_a) & set(pools_b)):
        a, b = pools_a[name], pools_b[name]
        _compare(result.fields, f"pool {name}", POOL_FIELDS, a, b)
        units_a, units_b = len(a.get("scalable_units") or []), len(b.get("scalable_units") or [])
        if units_a != units_b:
            result.fields.append(FieldChange(f"pool {name}", "scalable units", units_a, units_b))
        fabric_a, fabric_b = a.get("fabric"), b.get("fabric")
        if (fabric_a is None) != (fabric_b is None):
            result.fields.append(FieldChange(f"fabric {name}", "built by", "the provider" if fabric_a is None else
                                             "us (planned)", "the provider" if fabric_b is None else "us (planned)"))
        _compare(result.fields, f"fabric {name}", FABRIC_FIELDS, fabric_a or {}, fabric_b or {})
    _resources(result, before.get("resources") or [], after.get("resources") or [])
    return result


def _resources(result: PlanDiff, before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]) -> None:
    # Plans saved before URNs were in plan --json: key both sides by type and name instead.
    by_urn = all(r.get("urn") for r in (*before, *after))

    def index(items: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
        return {resource_key(str(r["urn"])) if by_urn else f"{r.get('type')}::{r.get('name')}": r for r in items}

    a, b = index(before), index(after)
    result.compared_inputs = all("input_digests" in r for r in (*before, *after))
    for key in sorted(set(b) - set(a)):
        result.added.append(_change(b[key], key))
    for key in sorted(set(a) - set(b)):
        result.removed.append(_change(a[key], key))
    for key in sorted(set(a) & set(b)):
        digests_a, digests_b = a[key].get("input_digests"), b[key].get("input_digests")
        if isinstance(digests_a, Mapping) and isinstance(digests_b, Mapping):
            names = sorted(k for k in set(digests_a) | set(digests_b) if digests_a.get(k) != digests_b.get(k))
            if names:
                result.changed.append(_change(b[key], key, tuple(names)))
                continue
        result.unchanged += 1


def _change(resource: Mapping[str, Any], key: str, inputs: tuple[str, ...] = ()) -> ResourceChange:
    return ResourceChange(urn=str(resource.get("urn") or key), type=str(resource.get("type")),
                          name=str(resource.get("name")), inputs=inputs)
