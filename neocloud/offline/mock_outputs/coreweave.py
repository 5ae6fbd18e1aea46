"""What pulumi-coreweave computes that the program reads: the CKS API server endpoint (the kubeconfig is built
from it) and the OIDC issuer. Values are clearly fake (``.invalid`` names, RFC 2606)."""

from __future__ import annotations

from typing import Any

from components.providers.coreweave.profile import CKS_CLUSTER

from . import OUTPUTS

__all__ = ["cks_cluster"]


def cks_cluster(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A CKS cluster: the API server endpoint and service-account issuer CoreWeave assigns."""
    zone = str(inputs.get("zone", "zone")).lower()
    host = f"{name}.k8s.{zone}.coreweave.invalid"
    return {
        "apiServerEndpoint": host,
        "serviceAccountOidcIssuerUrl": f"https://{host}/oidc",
        "status": "RUNNING",
    }


OUTPUTS[CKS_CLUSTER] = cks_cluster
