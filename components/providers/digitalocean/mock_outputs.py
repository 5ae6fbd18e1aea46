"""What pulumi-digitalocean computes that the program reads, for runs under the offline engine: the DOKS
kubeconfig, the version the versions lookup resolves, and an NFS share's host and mount path. Values are clearly
fake (``.invalid``, RFC 2606; TEST-NET addresses, RFC 5737)."""

from __future__ import annotations

from typing import Any

from neocloud.offline.mock_outputs import INVOKES, OUTPUTS

from .profile import CLUSTER, NFS

__all__ = ["kubernetes_cluster", "kubernetes_versions", "nfs_share"]


def kubernetes_cluster(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A DOKS cluster: endpoint and a kubeconfig without credentials."""
    host = f"https://{name}.k8s.{inputs.get('region', 'region')}.digitalocean.invalid"
    raw = (f"apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster: {{server: {host}}}\n"
           f"contexts:\n- name: {name}\n  context: {{cluster: {name}, user: {name}}}\ncurrent-context: {name}\n"
           f"users:\n- name: {name}\n  user: {{}}\n")
    return {"endpoint": host, "kubeConfigs": [{"rawConfig": raw, "host": host}], "status": "running"}


def nfs_share(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """An NFS share: ``host`` (its IP in the VPC; TEST-NET-1, RFC 5737) and ``mount_path`` (pulumi-digitalocean
    Nfs outputs "The host IP of the NFS server accessible from the associated VPC", "The mount path for accessing
    the NFS share"). The path's shape is not documented: a placeholder."""
    return {"host": "192.0.2.10", "mountPath": f"/{name}", "status": "ACTIVE"}


def kubernetes_versions(args: dict[str, Any]) -> dict[str, Any]:
    prefix = str(args.get("versionPrefix") or "1.33.")
    return {"latestVersion": f"{prefix}1-do.0", "validVersions": [f"{prefix}1-do.0"], "versionPrefix": prefix}


OUTPUTS[CLUSTER] = kubernetes_cluster
OUTPUTS[NFS] = nfs_share
INVOKES["digitalocean:index/getKubernetesVersions:getKubernetesVersions"] = kubernetes_versions
