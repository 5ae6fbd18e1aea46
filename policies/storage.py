"""Storage rules: every training team can mount the stack's shared filesystem from its own namespace.

A filesystem no pod can mount is money spent on nothing: FSx for Lustre created but never given a PersistentVolume,
or one claim in ``default`` where no team's pods run (a pod mounts claims of its own namespace only: Kubernetes
"Persistent Volumes", "Claims As Volumes": "Claims must exist in the same namespace as the Pod using the claim").

What "mountable" means comes from the provider's profile (``ProviderProfile.team_volume``, carried as the
KubernetesLayer's ``team_volume`` facts), so the rule branches on no provider name:

- **static** (FSx for Lustre through ``fsx.csi.aws.com``; DigitalOcean NFS through DOKS's NFS CSI driver): the
  team's claim names a PersistentVolume (``volumeName``) whose ``claimRef`` is that claim -- a PV binds to exactly
  one claim (Kubernetes "Persistent Volumes", Binding: "a one-to-one mapping, using a ClaimRef") -- of the
  provider's CSI driver, with a ``volumeHandle`` and the ``volumeAttributes`` the driver needs, both
  ``ReadWriteMany``, the same ``storageClassName`` (binding requires it; ``""`` on the claim keeps the
  DefaultStorageClass admission plugin from giving it one: "Reserving a PersistentVolume"), reclaim policy
  ``Retain`` (``Delete``/``Recycle`` would erase or delete the filesystem's data when a claim goes), and a capacity
  at least the claim's request.
- **dynamic** (CoreWeave ``shared-vast``, Nebius ``csi-mounted-fs-path-sc``, a site's class): the team's claim,
  ``ReadWriteMany``, names the class the provider documents.
- where the stack installs the driver itself (the EKS add-on ``aws-fsx-csi-driver``, DOKS ``nfsCsiPlugin``, Nebius's
  chart), that installation is among the resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy

from neocloud.vocabulary import K8S_PV, K8S_PVC

from ._common import StackIndex, as_list, as_map, get_in, has_key, schema, settings
from .efficiency import parse_quantity

__all__ = ["POLICIES", "TEAM_FILESYSTEM_CLAIMS"]

LAYER_TYPE = "neocloud:kubernetes:KubernetesLayer"

_SCHEMA = schema({
    "exemptTeams": {"type": "array", "items": {"type": "string"}, "default": [],
                    "description": "Training teams that need no claim on the shared filesystem (e.g. teams that "
                    "stream from object storage only)."},
})


def _installed(stack: StackIndex, installer: Any) -> bool:
    kind, path, value = [*as_list(installer), None, None, None][:3]
    for resource in stack.of_type(str(kind)):
        if get_in(resource.props, *str(path).split(".")) == value:
            return True
    return False


def _static_problems(claim: Mapping[str, Any], volume: Mapping[str, Any] | None, team: str,
                     expected: Mapping[str, Any]) -> list[str]:
    name = get_in(claim, "metadata", "name")
    volume_name = get_in(claim, "spec", "volumeName")
    if not volume_name:
        return ["names no PersistentVolume (spec.volumeName): a static volume must be pre-bound to it"]
    if volume is None:
        return [f"names PersistentVolume '{volume_name}', which the stack does not create"]
    spec = as_map(volume.get("spec"))
    problems = []
    ref = as_map(spec.get("claimRef"))
    if (ref.get("namespace"), ref.get("name")) != (team, name):
        problems.append(f"PersistentVolume '{volume_name}' is reserved for claim "
                        f"'{ref.get('namespace')}/{ref.get('name')}' (claimRef), not '{team}/{name}'")
    driver = get_in(spec, "csi", "driver")
    if driver != expected.get("csi_driver"):
        problems.append(f"PersistentVolume '{volume_name}' uses CSI driver {driver!r}, not the provider's "
                        f"{expected.get('csi_driver')!r}")
    if not has_key(as_map(spec.get("csi")), "volumeHandle"):
        problems.append(f"PersistentVolume '{volume_name}' has no csi.volumeHandle")
    attributes = as_map(get_in(spec, "csi", "volumeAttributes"))
    missing = [k for k in as_list(expected.get("volume_attributes")) if not has_key(attributes, str(k))]
    if missing:
        problems.append(f"PersistentVolume '{volume_name}' lacks csi.volumeAttributes {', '.join(map(str, missing))}")
    if "ReadWriteMany" not in as_list(spec.get("accessModes")):
        problems.append(f"PersistentVolume '{volume_name}' is not ReadWriteMany")
    if spec.get("storageClassName", "") != get_in(claim, "spec", "storageClassName"):
        problems.append(f"PersistentVolume '{volume_name}' has storageClassName {spec.get('storageClassName')!r}, "
                        "the claim another: they never bind")
    policy = spec.get("persistentVolumeReclaimPolicy")
    if policy != "Retain":
        problems.append(f"PersistentVolume '{volume_name}' has reclaim policy {policy or 'unset'}: deleting the claim "
                        "must leave the filesystem alone (Retain)")
    capacity = parse_quantity(get_in(spec, "capacity", "storage"))
    request = parse_quantity(get_in(claim, "spec", "resources", "requests", "storage"))
    if capacity is not None and request is not None and capacity < request:
        problems.append(f"PersistentVolume '{volume_name}' holds less than the claim requests")
    return problems


def _claim_problems(claim: Mapping[str, Any], stack_volumes: Mapping[str, Mapping[str, Any]], team: str,
                    expected: Mapping[str, Any]) -> list[str]:
    spec = as_map(claim.get("spec"))
    problems = []
    if "ReadWriteMany" not in as_list(spec.get("accessModes")):
        problems.append("is not ReadWriteMany (a training job's pods on many nodes mount it at once)")
    wanted = expected.get("storage_class")
    if not has_key(spec, "storageClassName") and wanted == "":
        problems.append("sets no storageClassName, so the default StorageClass is given to it instead of the "
                        "pre-bound volume")
    elif spec.get("storageClassName") != wanted:
        problems.append(f"names storage class {spec.get('storageClassName')!r}, not the provider's {wanted!r}")
    if expected.get("mode") == "static":
        volume = stack_volumes.get(str(spec.get("volumeName"))) if spec.get("volumeName") else None
        problems.extend(_static_problems(claim, volume, team, expected))
    return problems


def _team_filesystem_claims(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _SCHEMA)
    stack = StackIndex(args.resources)
    if stack.cluster is None:
        args.not_applicable("no GpuCluster")
        return
    fs = as_map(stack.cluster.get("filesystem"))
    if not fs:
        args.not_applicable("no shared filesystem (storage.filesystem)")
        return
    layers = stack.of_type(LAYER_TYPE)
    if not layers:
        # GPU instances without a cluster (Lambda on-demand) mount the filesystem at launch:
        # checkpoint-filesystem-mounted checks those.
        args.not_applicable("no Kubernetes layer, so no team namespaces to mount the filesystem in")
        return
    urn = stack.cluster_resource.urn if stack.cluster_resource else None
    queues = [as_map(q) for q in as_list(stack.cluster.get("queues"))]
    teams = [str(q.get("team")) for q in queues if q.get("workload", "training") == "training"
             and str(q.get("team")) not in cfg["exemptTeams"]]
    if not teams:
        args.not_applicable("no training team queue")
        return
    expected = as_map(get_in(layers[0].props, "neocloud", "team_volume"))
    kind = fs.get("kind")
    if expected.get("mode") not in ("static", "dynamic"):
        report(f"the {kind} filesystem has no documented way to be mounted in a team namespace (the provider's "
               f"team_volume), so training teams {', '.join(teams)} cannot use it", urn)
        return
    installer = expected.get("installer")
    if installer and not _installed(stack, installer):
        kind_, path, value = [*as_list(installer), None, None, None][:3]
        report(f"the {kind} filesystem's driver is not installed: no {kind_} with {path} = {value!r} "
               f"({expected.get('source')})", urn)
    volumes = {str(get_in(r.props, "metadata", "name")): as_map(r.props) for r in stack.of_type(K8S_PV)}
    claims: dict[str, list[Any]] = {}
    for r in stack.of_type(K8S_PVC):
        claims.setdefault(str(get_in(r.props, "metadata", "namespace") or "default"), []).append(r)
    for team in teams:
        found = claims.get(team, [])
        if not found:
            elsewhere = [f"{ns}/{get_in(r.props, 'metadata', 'name')}" for ns, rs in claims.items() for r in rs]
            report(f"training team '{team}' has no claim on the {kind} filesystem in its namespace '{team}'"
                   + (f" (claims elsewhere: {', '.join(elsewhere)}; a pod mounts only its own namespace's "
                      "claims)" if elsewhere else ""), urn)
            continue
        results = [(r, _claim_problems(as_map(r.props), volumes, team, expected)) for r in found]
        if any(not problems for _, problems in results):
            continue
        for r, problems in results:
            report(f"training team '{team}': claim '{get_in(r.props, 'metadata', 'name')}' cannot mount the {kind} "
                   f"filesystem: {'; '.join(problems)}", r.urn)


TEAM_FILESYSTEM_CLAIMS = StackValidationPolicy(
    name="team-filesystem-claims",
    description="A stack with a shared filesystem gives every training team a bound, mountable ReadWriteMany claim "
    "on it in the team's own namespace, the way the provider documents (a pre-bound CSI PersistentVolume per team "
    "with reclaim policy Retain, or the provider's StorageClass), and installs the driver where the stack must.",
    validate=_team_filesystem_claims,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_SCHEMA,
)

POLICIES = [TEAM_FILESYSTEM_CLAIMS]
