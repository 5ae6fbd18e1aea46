"""Validate captured Kubernetes objects against upstream schemas.

- Built-in kinds: ``kubernetes_validate.validate(obj, version, strict=True)``.
- Custom resources: the vendored CRD's ``openAPIV3Schema`` for the object's version, made strict (an object
  schema with ``properties`` and no ``additionalProperties`` / ``x-kubernetes-preserve-unknown-fields`` rejects
  unknown fields, as the API server's strict field validation does), with ``jsonschema``.
- Pulumi type tokens (``kubernetes:<group>/<version>:<Kind>``, ``core`` for the legacy group) map back to
  apiVersion/kind; a kind that is neither built in nor backed by a vendored CRD is an error.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from tests.conftest import REPO, VENDOR

HERE = Path(__file__).resolve().parent
DERIVED = HERE / "schemas_derived"
"""JSON Schemas we wrote from an upstream reference that shared/vendor does not carry (each cites its source)."""

CRD_FILES: dict[tuple[str, str], Path] = {
    ("kueue.x-k8s.io", "Topology"): VENDOR / "kueue" / "kueue.x-k8s.io_topologies.yaml",
    ("kueue.x-k8s.io", "ResourceFlavor"): VENDOR / "kueue" / "kueue.x-k8s.io_resourceflavors.yaml",
    ("kueue.x-k8s.io", "ClusterQueue"): VENDOR / "kueue" / "kueue.x-k8s.io_clusterqueues.yaml",
    ("kueue.x-k8s.io", "LocalQueue"): VENDOR / "kueue" / "kueue.x-k8s.io_localqueues.yaml",
    ("kueue.x-k8s.io", "WorkloadPriorityClass"): VENDOR / "kueue" / "kueue.x-k8s.io_workloadpriorityclasses.yaml",
    ("gateway.networking.k8s.io", "GatewayClass"): VENDOR / "gateway" / "gateway.networking.k8s.io_gatewayclasses.yaml",
    ("gateway.networking.k8s.io", "Gateway"): VENDOR / "gateway" / "gateway.networking.k8s.io_gateways.yaml",
    ("gateway.networking.k8s.io", "HTTPRoute"): VENDOR / "gateway" / "gateway.networking.k8s.io_httproutes.yaml",
    ("gateway.envoyproxy.io", "BackendTrafficPolicy"):
        VENDOR / "gateway" / "gateway.envoyproxy.io_backendtrafficpolicies.yaml",
    ("resource.nvidia.com", "ComputeDomain"): VENDOR / "nvidia-dra-driver" / "resource.nvidia.com_computedomains.yaml",
}
"""Custom kinds the layer may create, and the vendored CRD that defines each."""

JSON_SCHEMAS: dict[tuple[str, str], Path] = {
    # No upstream CRD is published for CoreWeave's NodePool; the CoreWeave provider's tests commit a JSON Schema
    # derived from CoreWeave's Node Pool reference (its description cites the pages). Validated here as well
    # so that no captured object skips validation.
    ("compute.coreweave.com", "NodePool"): REPO / "tests" / "providers" / "schemas" / "coreweave-nodepool.schema.json",
    # The Network Operator's NicClusterPolicy CRD is not in shared/vendor: a subset schema derived from it.
    ("mellanox.com", "NicClusterPolicy"): DERIVED / "nicclusterpolicy.schema.json",
}
"""Custom kinds without a vendored CRD, and the committed JSON Schema (draft 2020-12) for each."""

NOT_OBJECTS = {"kubernetes:helm.sh/v3:Release", "pulumi:providers:kubernetes"}
"""Kubernetes-provider resources that are not Kubernetes API objects (Releases are checked on their values)."""

_TOKEN = re.compile(r"^kubernetes:(?P<group>[a-z0-9.-]+)/(?P<version>v[0-9a-z]+):(?P<kind>[A-Za-z]+)$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class UnknownKind(AssertionError):
    """A captured resource whose kind has no schema here."""


def api_version_kind(type_token: str) -> tuple[str, str]:
    """``kubernetes:core/v1:Namespace`` -> (``v1``, ``Namespace``); ``kubernetes:batch/v1:Job`` ->
    (``batch/v1``, ``Job``)."""
    match = _TOKEN.match(type_token)
    if match is None:
        raise UnknownKind(f"not a Kubernetes object type token: {type_token}")
    group, version, kind = match["group"], match["version"], match["kind"]
    return (version if group == "core" else f"{group}/{version}"), kind


@functools.cache
def _crd(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def crd_schema(group: str, version: str, kind: str) -> dict[str, Any]:
    """The strict openAPIV3Schema of ``group/version`` ``kind`` from its vendored CRD."""
    path = CRD_FILES.get((group, kind))
    if path is None:
        raise UnknownKind(f"no vendored CRD for {group}/{version} {kind}")
    crd = _crd(path)
    assert crd["spec"]["group"] == group and crd["spec"]["names"]["kind"] == kind, path
    served = {v["name"]: v for v in crd["spec"]["versions"] if v.get("served")}
    if version not in served:
        raise UnknownKind(f"{path.name} does not serve {version} (serves {', '.join(served)})")
    return strict(served[version]["schema"]["openAPIV3Schema"])


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of an OpenAPI v3 schema in which object schemas with ``properties`` reject unknown fields."""
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if ("properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def validate_object(obj: dict[str, Any], kubernetes_version: str) -> str:
    """Validate one object; returns ``builtin`` or ``crd``. Raises ``jsonschema.ValidationError`` (or
    ``UnknownKind``) on failure."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    group, _, version = api_version.rpartition("/")
    if (group, kind) in CRD_FILES:
        _check_metadata(obj.get("metadata") or {})
        jsonschema.validate(obj, crd_schema(group, version, kind), cls=jsonschema.Draft7Validator)
        return "crd"
    if (group, kind) in JSON_SCHEMAS:
        schema = json.loads(JSON_SCHEMAS[(group, kind)].read_text())
        jsonschema.validate(obj, schema, cls=jsonschema.Draft202012Validator)
        return "crd"
    try:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    except kubernetes_validate.SchemaNotFoundError as exc:
        raise UnknownKind(f"{api_version} {kind}: neither built in nor a vendored CRD ({exc})") from None
    return "builtin"


def _check_metadata(metadata: dict[str, Any]) -> None:
    # A CRD's schema leaves metadata to the API server's ObjectMeta; check what the layer sets.
    allowed = {"name", "namespace", "labels", "annotations"}
    extra = set(metadata) - allowed
    if extra:
        raise jsonschema.ValidationError(f"metadata has fields {sorted(extra)} outside {sorted(allowed)}")
    name = metadata.get("name")
    if not isinstance(name, str) or not _DNS_SUBDOMAIN.match(name):
        raise jsonschema.ValidationError(f"metadata.name {name!r} is not a DNS subdomain")
    for key in ("labels", "annotations"):
        if not all(isinstance(v, str) for v in (metadata.get(key) or {}).values()):
            raise jsonschema.ValidationError(f"metadata.{key} values must be strings")


def values_paths_missing(values: Any, upstream: Any, path: str = "") -> list[str]:
    """Paths of ``values`` keys that the chart's upstream ``values.yaml`` does not have. Recursion stops where
    the upstream value is not a non-empty mapping (a free-form map such as ``nodeSelector: {}``, or a leaf)."""
    missing: list[str] = []
    if not isinstance(values, dict):
        return missing
    for key, value in values.items():
        at = f"{path}.{key}" if path else str(key)
        if not isinstance(upstream, dict) or key not in upstream:
            missing.append(at)
            continue
        below = upstream[key]
        if isinstance(value, dict) and isinstance(below, dict) and below:
            missing.extend(values_paths_missing(value, below, at))
    return missing
