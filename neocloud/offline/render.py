"""What a program would apply, as files: Kubernetes manifests, Helm releases and every resource's inputs.

Read from the offline engine's recorded ``RegisterResource`` requests (``ProgramRun``), so the files show exactly
what the engine would send to the providers, not a second rendering of the spec:

- ``kubernetes.yaml``: every Kubernetes API object (typed pulumi-kubernetes objects and custom objects carry
  ``apiVersion``, ``kind`` and ``metadata`` in their inputs, exactly the manifest the provider applies), one YAML
  document each, in registration order;
- ``helm-releases.yaml``: each ``kubernetes:helm.sh/v3:Release`` (chart, version, repository, namespace, values);
- ``resources.json``: every registered resource (urn, type, name, parent, inputs, protect / retainOnDelete and
  the other resource options the engine receives).

Secret values never reach the files: every value the program marked secret (Pulumi's secret signature in the
serialized inputs, at any depth) is written as ``"[secret]"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..vocabulary import SECRET_PLACEHOLDER, SECRET_SIG, SECRET_SIG_KEY
from .engine import ProgramRun, RecordedResource

__all__ = [
    "HELM_RELEASE",
    "SECRET_PLACEHOLDER",
    "RenderSummary",
    "UnrenderableResource",
    "helm_releases",
    "kubernetes_manifests",
    "masked_inputs",
    "resource_records",
    "write_render",
]

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
UNKNOWN_PLACEHOLDER = "[unknown]"
"""A value the engine would only know after deploy (none under the mocks' up mode; kept visible, never dropped)."""

_RESOURCE_REF_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""Pulumi's sentinel for an unknown value in serialized properties (pulumi.runtime.rpc.UNKNOWN)."""
_NOT_OBJECTS = ("pulumi:providers:",)
"""Type prefixes of resources that are not Kubernetes API objects even though they belong to a Kubernetes
provider."""


class UnrenderableResource(ValueError):
    """A Kubernetes-provider resource that is neither an API object nor a Helm release (e.g. a ConfigGroup, whose
    objects only the provider binary expands): rendering it silently would hide what it applies."""


@dataclass(frozen=True)
class RenderSummary:
    """What ``write_render`` wrote."""

    directory: Path
    manifests: int
    releases: int
    resources: int


def masked_inputs(resource: RecordedResource) -> dict[str, Any]:
    """The resource's inputs as sent to the engine, with every secret (at any depth) as ``"[secret]"`` and
    integral floats (the engine sends every number as a float) as ints."""
    from google.protobuf import json_format, struct_pb2

    struct = struct_pb2.Struct()
    struct.ParseFromString(resource.raw_inputs)
    value = _mask(json_format.MessageToDict(struct))
    return value if isinstance(value, dict) else {}


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        signature = value.get(SECRET_SIG_KEY)
        if signature == SECRET_SIG:
            return SECRET_PLACEHOLDER
        if signature == _RESOURCE_REF_SIG:
            return value.get("urn")
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == _UNKNOWN:
        return UNKNOWN_PLACEHOLDER
    return value


def _is_kubernetes(resource: RecordedResource) -> bool:
    return resource.type.startswith("kubernetes:") and not resource.type.startswith(_NOT_OBJECTS)


_INSTALL_ORDER = (
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodDisruptionBudget", "ServiceAccount", "Secret",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
    "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service", "DaemonSet", "Pod", "ReplicaSet",
    "Deployment", "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
    "APIService",
)
"""Kinds in the order Helm installs them (helm/helm pkg/release/util/kind_sorter.go, ``InstallOrder``), so
``kubectl apply -f kubernetes.yaml`` meets a Namespace before what lives in it; every other kind (custom resources,
admission policies) follows, by API version and kind."""


def _manifest_key(manifest: Mapping[str, Any]) -> tuple[Any, ...]:
    kind = str(manifest.get("kind", ""))
    metadata: Mapping[str, Any] = manifest["metadata"] if isinstance(manifest.get("metadata"), Mapping) else {}
    rank = _INSTALL_ORDER.index(kind) if kind in _INSTALL_ORDER else len(_INSTALL_ORDER)
    return (rank, str(manifest.get("apiVersion", "")), kind, str(metadata.get("namespace") or ""),
            str(metadata.get("name") or ""))


def kubernetes_manifests(run: ProgramRun) -> list[dict[str, Any]]:
    """Every Kubernetes API object the program registers, as the manifest the provider would apply: in Helm's
    install order, then by namespace and name, never in registration order (which varies with the order the
    engine resolves outputs in), so two renders of one program are byte-identical."""
    out = []
    for r in sorted(run.resources, key=lambda r: r.urn):
        if not _is_kubernetes(r) or r.type == HELM_RELEASE:
            continue
        inputs = masked_inputs(r)
        if not {"apiVersion", "kind", "metadata"} <= inputs.keys():
            raise UnrenderableResource(f"{r.type} '{r.name}' is not a Kubernetes object (no apiVersion, kind and "
                                       f"metadata in its inputs); render cannot show what it applies")
        out.append(inputs)
    return sorted(out, key=_manifest_key)


def helm_releases(run: ProgramRun) -> list[dict[str, Any]]:
    """Each Helm release: chart, pinned version, repository (``None`` for an ``oci://`` chart), namespace and the
    values the program sets."""
    out = []
    for r in sorted(run.of_type(HELM_RELEASE), key=lambda r: r.urn):  # stable, whatever the registration order
        inputs = masked_inputs(r)
        repo = inputs.get("repositoryOpts") or {}
        out.append({
            "name": inputs.get("name", r.name),
            "chart": inputs.get("chart"),
            "version": inputs.get("version"),
            "repository": repo.get("repo") if isinstance(repo, dict) else None,
            "namespace": inputs.get("namespace"),
            "createNamespace": bool(inputs.get("createNamespace", False)),
            "values": inputs.get("values") or {},
            "urn": r.urn,
        })
    return out


def resource_records(run: ProgramRun) -> list[dict[str, Any]]:
    """Every registered resource with its masked inputs and the options the engine receives."""
    return [
        {
            "urn": r.urn,
            "type": r.type,
            "name": r.name,
            "custom": r.custom,
            "parent": r.parent or None,
            "provider": r.provider or None,
            "dependencies": sorted(r.dependencies),  # a set to the engine; it arrives in resolution order
            "inputs": masked_inputs(r),
            "secretInputs": list(r.secret_paths),
            "protect": r.protect,
            "retainOnDelete": r.retain_on_delete,
            "deleteBeforeReplace": r.delete_before_replace,
            "ignoreChanges": list(r.ignore_changes),
            "additionalSecretOutputs": list(r.additional_secret_outputs),
        }
        for r in sorted(run.resources, key=lambda r: r.urn)
    ]


_FIRST_KEYS = ("apiVersion", "kind", "metadata", "name", "chart", "version", "repository", "namespace")
"""Top-level keys written first (as people write manifests); every other key in sorted order, so that two
renders of the same program are byte-identical whatever order the engine serialized the inputs in."""


def _ordered(value: Any, top: bool = False) -> Any:
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (_FIRST_KEYS.index(k) if top and k in _FIRST_KEYS else len(_FIRST_KEYS),
                                            k))
        return {k: _ordered(value[k]) for k in keys}
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


def _yaml_documents(documents: Iterable[dict[str, Any]]) -> str:
    return yaml.safe_dump_all([_ordered(d, top=True) for d in documents], sort_keys=False, explicit_start=True,
                              width=120)


def write_render(run: ProgramRun, out: Path) -> RenderSummary:
    """Write ``kubernetes.yaml``, ``helm-releases.yaml`` and ``resources.json`` for ``run`` into ``out``
    (created if missing; the three files are replaced)."""
    manifests = kubernetes_manifests(run)
    releases = helm_releases(run)
    records = resource_records(run)
    out.mkdir(parents=True, exist_ok=True)
    (out / "kubernetes.yaml").write_text(_yaml_documents(manifests))
    (out / "helm-releases.yaml").write_text(_yaml_documents(releases))
    document = {"project": run.project, "stack": run.stack, "resources": records}
    (out / "resources.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return RenderSummary(directory=out, manifests=len(manifests), releases=len(releases), resources=len(records))
