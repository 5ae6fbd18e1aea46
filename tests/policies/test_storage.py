"""team-filesystem-claims through the real pack over gRPC, on what the program really builds: the compliant path of
every provider's way of mounting (static FSx / NFS volumes, dynamic CoreWeave / Nebius claims), each violation
path, and where the rule does not apply.

The Kubernetes behaviours encoded (Kubernetes docs, "Persistent Volumes"): a pod mounts only claims of its own
namespace ("Claims must exist in the same namespace as the Pod using the claim"); a PV binds to exactly one claim,
and one reserved with ``claimRef`` only to that claim ("Reserving a PersistentVolume"); claim and PV bind only with
the same ``storageClassName``, and a claim without one gets the default class; ``Delete``/``Recycle`` reclaim
policies remove the volume's data when the claim goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from neocloud.offline import ProgramRun, RecordedResource
from tests.conftest import stack_run
from tests.policies.support import analyze, mutate, not_applicable, violations
from tests.policies.test_stacks import broken, stack_config

RULE = "team-filesystem-claims"
PV = "kubernetes:core/v1:PersistentVolume"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
LAYER = "neocloud:kubernetes:KubernetesLayer"


def check(pack: Any, stack: str, resources: list[RecordedResource] | None = None) -> tuple[list[str], list[str]]:
    result = analyze(pack, stack_run(stack), stack_config(stack), resources=resources)
    return violations(result, RULE), not_applicable(result, RULE)


def edited(run: ProgramRun, type_: str, change: Callable[[dict[str, Any]], None], *, only: str | None = None
           ) -> list[RecordedResource]:
    """The run's resources with ``change`` applied to those of ``type_`` (``only``: the one whose name has it)."""
    return [mutate(r, change) if r.type == type_ and (only is None or only in r.name) else r for r in run.resources]


@pytest.mark.parametrize("stack", ["dev", "prod", "coreweave", "nebius", "digitalocean"])
def test_every_stack_with_a_filesystem_gives_each_training_team_a_claim(pack, stack):
    found, skipped = check(pack, stack)
    assert found == [] and skipped == []
    # and the claims really are one per training team, each in the team's namespace
    run = stack_run(stack)
    teams = {q["team"] for q in run.outputs["kubernetes"]["queues"] if q["workload"] == "training"}
    assert {c.inputs["metadata"]["namespace"] for c in run.of_type(PVC)} == teams


def test_not_applicable_without_filesystem_kubernetes_or_training_team(pack):
    assert check(pack, "staging")[1] == ["no shared filesystem (storage.filesystem)"]
    assert check(pack, "lambda")[1] == ["no Kubernetes layer, so no team namespaces to mount the filesystem in"]
    run = stack_run("coreweave")
    inference = [mutate(r, lambda i: [q.update(workload="inference") for q in i["neocloud"]["queues"]])
                 if r.type == "neocloud:index:GpuCluster" else r for r in run.resources]
    assert check(pack, "coreweave", inference)[1] == ["no training team queue"]


def test_claim_outside_the_team_namespace_fails(pack):
    # The original defect: CoreWeave's one shared PVC in `default`, where no team's pods can mount it.
    run = stack_run("coreweave")
    moved = edited(run, PVC, lambda i: i["metadata"].update(namespace="default"), only="research")
    [message] = check(pack, "coreweave", moved)[0]
    assert message.startswith("training team 'research' has no claim on the coreweave-vast filesystem in its "
                              "namespace 'research' (claims elsewhere:")
    assert "default/shared-filesystem" in message


def test_dynamic_claim_with_another_class_or_access_mode_fails(pack):
    run = stack_run("coreweave")
    wrong_class = edited(run, PVC, lambda i: i["spec"].update(storageClassName="standard"), only="research")
    [message] = check(pack, "coreweave", wrong_class)[0]
    assert "names storage class 'standard', not the provider's 'shared-vast'" in message
    single = edited(run, PVC, lambda i: i["spec"].update(accessModes=["ReadWriteOnce"]), only="research")
    [message] = check(pack, "coreweave", single)[0]
    assert "is not ReadWriteMany" in message


def test_static_volume_that_deletes_the_filesystem_fails(pack):
    run = stack_run("dev")
    for policy in ("Delete", "Recycle"):
        changed = edited(run, PV, lambda i, p=policy: i["spec"].update(persistentVolumeReclaimPolicy=p))
        [message] = check(pack, "dev", changed)[0]
        assert f"has reclaim policy {policy}: deleting the claim must leave the filesystem alone (Retain)" in message


def test_static_volume_reserved_for_another_claim_fails(pack):
    run = stack_run("dev")
    changed = edited(run, PV, lambda i: i["spec"]["claimRef"].update(namespace="other"))
    [message] = check(pack, "dev", changed)[0]
    assert "is reserved for claim 'other/shared-filesystem' (claimRef), not 'research/shared-filesystem'" in message


def test_static_claim_that_gets_the_default_class_or_no_volume_fails(pack):
    run = stack_run("dev")
    no_class = edited(run, PVC, lambda i: i["spec"].pop("storageClassName"))
    [message] = check(pack, "dev", no_class)[0]
    assert "sets no storageClassName, so the default StorageClass is given to it" in message
    unbound = edited(run, PVC, lambda i: i["spec"].pop("volumeName"))
    [message] = check(pack, "dev", unbound)[0]
    assert "names no PersistentVolume (spec.volumeName)" in message
    dangling = edited(run, PVC, lambda i: i["spec"].update(volumeName="gone"))
    [message] = check(pack, "dev", dangling)[0]
    assert "names PersistentVolume 'gone', which the stack does not create" in message
    no_pv = [r for r in run.resources if r.type != PV]
    [message] = check(pack, "dev", no_pv)[0]
    assert "which the stack does not create" in message


def test_static_volume_of_another_driver_or_without_its_attributes_fails(pack):
    run = stack_run("dev")
    other = edited(run, PV, lambda i: i["spec"]["csi"].update(driver="efs.csi.aws.com"))
    [message] = check(pack, "dev", other)[0]
    assert "uses CSI driver 'efs.csi.aws.com', not the provider's 'fsx.csi.aws.com'" in message
    bare = edited(run, PV, lambda i: i["spec"]["csi"].pop("volumeAttributes"))
    [message] = check(pack, "dev", bare)[0]
    assert "lacks csi.volumeAttributes dnsname, mountname" in message
    small = edited(run, PV, lambda i: i["spec"]["capacity"].update(storage="1Gi"))
    [message] = check(pack, "dev", small)[0]
    assert "holds less than the claim requests" in message


def test_driver_not_installed_fails(pack):
    # FSx: the EKS add-on aws-fsx-csi-driver; Nebius: its csi-mounted-fs-path chart.
    run = stack_run("dev")
    without = [r for r in run.resources if not (r.type == "aws:eks/addon:Addon"
                                                and r.inputs.get("addonName") == "aws-fsx-csi-driver")]
    [message] = check(pack, "dev", without)[0]
    assert message.startswith("the fsx-lustre filesystem's driver is not installed: no aws:eks/addon:Addon with "
                              "addonName = 'aws-fsx-csi-driver'")
    run = stack_run("nebius")
    without = [r for r in run.resources if "csi-mounted-fs-path" not in str(r.inputs.get("chart", ""))]
    [message] = check(pack, "nebius", without)[0]
    assert "no kubernetes:helm.sh/v3:Release with chart = " in message


def test_filesystem_with_no_documented_mount_fails_closed(pack):
    run = stack_run("dev")
    none = edited(run, LAYER, lambda i: i["neocloud"].update(team_volume={"mode": "none"}))
    [message] = check(pack, "dev", none)[0]
    assert message == ("the fsx-lustre filesystem has no documented way to be mounted in a team namespace (the "
                       "provider's team_volume), so training teams research cannot use it")
    missing = edited(run, LAYER, lambda i: i["neocloud"].pop("team_volume"))
    assert check(pack, "dev", missing)[0] == [message]


def test_bare_metal_external_filesystem_through_the_sites_class(pack):
    # Bare metal: the site's filesystem, mounted through the StorageClass the site configured.
    def with_filesystem(c: dict[str, Any]) -> None:
        c["storage"]["filesystem"] = {"kind": "external", "capacity_tib": 100, "storage_class": "site-lustre"}

    run = broken("staging", with_filesystem)
    claims = run.of_type(PVC)
    teams = {q["team"] for q in run.outputs["kubernetes"]["queues"] if q["workload"] == "training"}
    assert {c.inputs["metadata"]["namespace"] for c in claims} == teams
    assert {c.inputs["spec"]["storageClassName"] for c in claims} == {"site-lustre"}
    result = analyze(pack, run, stack_config("staging"))
    assert violations(result, RULE) == [] and not_applicable(result, RULE) == []
