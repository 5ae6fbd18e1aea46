"""What pulumi-digitalocean computes that the program reads, for runs under the offline engine: the DOKS
kubeconfig and the version the versions lookup resolves. Values are clearly fake (``.invalid``, RFC 2606)."""

from __future__ import annotations

from typing import Any

from neocloud.offline.mock_outputs import INVOKES, OUTPUTS

from .profile import CLUSTER

__all__ = ["kubernetes_cluster", "kubernetes_versions"]


def kubernetes_cluster(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A DOKS cluster: endpoint and a kubeconfig without credentials."""
    host = f"https://{name}.k8s.{inputs.get('region', 'region')}.digitalocean.invalid"
    raw = (f"apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster: {{server: {host}}}\n"
           f"contexts:\n- name: {name}\n  context: {{cluster: {name}, user: {name}}}\ncurrent-context: {name}\n"
           f"users:\n- name: {name}\n  user: {{}}\n")
    return {"endpoint": host, "kubeConfigs": [{"rawConfig": raw, "host": host}], "status": "running"}


def kubernetes_versions(args: dict[str, Any]) -> dict[str, Any]:
    prefix = str(args.get("versionPrefix") or "1.33.")
    return {"latestVersion": f"{prefix}1-do.0", "validVersions": [f"{prefix}1-do.0"], "versionPrefix": prefix}


OUTPUTS[CLUSTER] = kubernetes_cluster
INVOKES["digitalocean:index/getKubernetesVersions:getKubernetesVersions"] = kubernetes_versions
