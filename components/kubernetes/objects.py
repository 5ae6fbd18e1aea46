"""Small helpers shared by the Kubernetes layer's components: object metadata, resource options, and a typed
custom-resource class for CRDs whose objects carry top-level fields besides ``spec``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

__all__ = [
    "MANAGED_BY",
    "CustomObject",
    "child_opts",
    "meta",
    "name_of",
    "namespace_labels",
]

MANAGED_BY = {"app.kubernetes.io/managed-by": "neocloud"}
"""Label on every object the layer creates."""


def meta(name: str, *, namespace: pulumi.Input[str] | None = None, labels: Mapping[str, str] | None = None,
         annotations: Mapping[str, str] | None = None) -> k8s.meta.v1.ObjectMetaArgs:
    """Object metadata with an explicit name (no Pulumi auto-naming: the names are part of the contract)."""
    return k8s.meta.v1.ObjectMetaArgs(
        name=name,
        namespace=namespace,
        labels={**MANAGED_BY, **(labels or {})},
        annotations=dict(annotations) if annotations else None,
    )


def namespace_labels(pod_security: str, version: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Pod Security Admission labels (enforce, audit and warn at ``pod_security``, pinned to the cluster's
    Kubernetes minor ``version``, e.g. ``1.33`` -> ``v1.33``) plus ``extra``."""
    labels = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = pod_security
        labels[f"pod-security.kubernetes.io/{mode}-version"] = f"v{version}"
    labels.update(extra or {})
    return labels


def name_of(obj: k8s.core.v1.Namespace) -> pulumi.Output[str]:
    """An object's ``metadata.name`` as an Output, so that whatever uses it waits for the object."""
    return obj.metadata.apply(lambda m: str(m.name))


def child_opts(parent: pulumi.Resource, provider: pulumi.ProviderResource | None,
               depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
    """Options for a Kubernetes object under ``parent`` on ``provider`` (``None``: inherit from the parent)."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on or None)


class CustomObject(pulumi.CustomResource):
    """An object of a custom resource type, registered as ``kubernetes:<apiVersion>:<kind>`` exactly like
    ``pulumi_kubernetes.apiextensions.CustomResource``, but able to carry top-level fields other than ``spec``
    (Kueue's WorkloadPriorityClass has ``value`` and ``description`` and no ``spec``)."""

    def __init__(self, resource_name: str, *, api_version: str, kind: str,
                 metadata: k8s.meta.v1.ObjectMetaArgs, spec: Mapping[str, Any] | None = None,
                 fields: Mapping[str, Any] | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": metadata}
        if spec is not None:
            props["spec"] = dict(spec)
        props.update(fields or {})
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(version=_provider_version()))
        super().__init__(f"kubernetes:{api_version}:{kind}", resource_name, props, opts)


def _provider_version() -> str:
    from pulumi_kubernetes import _utilities

    return str(_utilities.get_version())
