"""What pulumi-nebius computes that the program reads: the mk8s control plane's public endpoint and CA (the
kubeconfig is built from them). Values are clearly fake (``.invalid`` host, a non-certificate PEM body)."""

from __future__ import annotations

from typing import Any

from components.providers.nebius.profile import MK8S_CLUSTER

from . import OUTPUTS

__all__ = ["FAKE_CA_PEM", "mk8s_cluster"]

FAKE_CA_PEM = "-----BEGIN CERTIFICATE-----\nbmVvY2xvdWQtbW9jay1jYQ==\n-----END CERTIFICATE-----\n"
"""Stands in for the cluster CA; its body is base64 of 'neocloud-mock-ca', not a certificate."""


def mk8s_cluster(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """An mk8s cluster: the endpoints and CA that ``status.control_plane`` reports."""
    return {
        "status": {
            "state": "RUNNING",
            "controlPlane": {
                "endpoints": {
                    "publicEndpoint": f"{name}.mk8s.nebius.invalid",
                    "privateEndpoint": f"{name}.mk8s.internal.invalid",
                },
                "auth": {"clusterCaCertificate": FAKE_CA_PEM},
            },
        }
    }


OUTPUTS[MK8S_CLUSTER] = mk8s_cluster
