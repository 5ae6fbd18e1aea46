"""``neocloud render``: manifests, Helm releases and resource inputs from the recorded registrations; and the
checkov gate CI runs on them (real checkov from ``.venv-checkov``, which ``.ci/run`` installs)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from neocloud.cli import main
from neocloud.offline.checkov import (
    Finding,
    Waiver,
    WaiverFileError,
    check_rendered,
    gate,
    load_waivers,
    run_checkov,
)
from neocloud.offline.render import SECRET_PLACEHOLDER, helm_releases, kubernetes_manifests, write_render
from tests.conftest import KUBERNETES_STACKS, NO_KUBERNETES_STACKS, REPO, STACKS, stack_run

WAIVERS = REPO / ".ci" / "checkov-waivers.yaml"


def _checkov() -> str | None:
    explicit = os.environ.get("NEOCLOUD_CHECKOV")
    if explicit:
        return explicit
    local = REPO / ".venv-checkov" / "bin" / "checkov"
    return str(local) if local.is_file() else shutil.which("checkov")


@pytest.mark.parametrize("stack", sorted(NO_KUBERNETES_STACKS))
def test_render_of_a_stack_without_kubernetes_writes_its_resources(stack: str, tmp_path: Path) -> None:
    run = stack_run(stack)
    summary = write_render(run, tmp_path)
    assert summary.manifests == 0 and summary.releases == 0
    document = json.loads((tmp_path / "resources.json").read_text())
    assert [r["urn"] for r in document["resources"]] == sorted(r.urn for r in run.resources)  # URN order: stable


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_render_writes_every_object_release_and_resource(stack: str, tmp_path: Path) -> None:
    run = stack_run(stack)
    summary = write_render(run, tmp_path)
    documents = list(yaml.safe_load_all((tmp_path / "kubernetes.yaml").read_text()))
    kube_objects = [r for r in run.resources if r.type.startswith("kubernetes:")
                    and r.type != "kubernetes:helm.sh/v3:Release" and not r.type.startswith("pulumi:")]
    assert len(documents) == summary.manifests == len(kube_objects) > 0
    # each manifest is the object the provider would apply: its resource's type token names the same apiVersion
    # and kind (documents are in install order, not registration order, so compare as multisets)
    tokens = Counter((r.type.split(":")[1].removeprefix("core/"), r.type.split(":")[2]) for r in kube_objects)
    assert Counter((doc["apiVersion"], doc["kind"]) for doc in documents) == tokens
    assert all(doc["metadata"]["name"] for doc in documents)
    releases = list(yaml.safe_load_all((tmp_path / "helm-releases.yaml").read_text()))
    assert len(releases) == len(run.of_type("kubernetes:helm.sh/v3:Release")) == summary.releases > 0
    for release in releases:
        assert release["chart"] and release["version"] and release["namespace"]
        assert isinstance(release["values"], dict)
        # a repository URL, or an OCI chart reference that carries its registry
        assert release["repository"] or str(release["chart"]).startswith("oci://")
    document = json.loads((tmp_path / "resources.json").read_text())
    records = document["resources"]
    in_urn_order = sorted(run.resources, key=lambda r: r.urn)
    assert [r["urn"] for r in records] == [r.urn for r in in_urn_order]
    for record, resource in zip(records, in_urn_order, strict=True):
        assert record["protect"] is resource.protect
        assert record["retainOnDelete"] is resource.retain_on_delete
        assert record["type"] == resource.type and record["name"] == resource.name


@pytest.mark.parametrize("stack", [s for s in STACKS if any(r.secret_paths for r in stack_run(s).resources)])
def test_render_never_writes_a_secret_value(stack: str, tmp_path: Path) -> None:
    run = stack_run(stack)
    write_render(run, tmp_path)
    written = "".join(p.read_text() for p in tmp_path.iterdir())
    secrets = [(r, key) for r in run.resources for key in r.secret_paths]
    assert secrets
    for resource, key in secrets:
        plaintext = json.dumps(resource.inputs[key]).strip('"')
        assert len(plaintext) > 20, "the secret under test must be a real value, not a placeholder"
        assert plaintext not in written
    records = {r["urn"]: r for r in json.loads((tmp_path / "resources.json").read_text())["resources"]}
    for resource, key in secrets:
        assert records[resource.urn]["inputs"][key] == SECRET_PLACEHOLDER


def test_render_shows_prod_protection(tmp_path: Path) -> None:
    write_render(stack_run("prod"), tmp_path)
    records = json.loads((tmp_path / "resources.json").read_text())["resources"]
    stateful = [r for r in records if r["type"] in ("aws:fsx/lustreFileSystem:LustreFileSystem",
                                                     "aws:s3/bucket:Bucket", "aws:eks/cluster:Cluster")]
    assert stateful and all(r["protect"] for r in stateful)


def test_render_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "dev", "--out", str(tmp_path / "dev"), "--project-dir", str(REPO)]) == 0
    assert {p.name for p in (tmp_path / "dev").iterdir()} == {"kubernetes.yaml", "helm-releases.yaml",
                                                             "resources.json"}
    assert "Kubernetes objects" in capsys.readouterr().out


def test_render_out_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["render", "dev", "--out", str(target), "--project-dir", str(REPO)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neocloud: error: --out:") and err.count("\n") == 1


def test_render_is_deterministic(tmp_path: Path) -> None:
    """The engine registers resources in the order their inputs resolve, which differs between runs: the same
    program registered in another order must render byte-identical files."""
    run = stack_run("staging")
    reordered = dataclasses.replace(run, resources=[dataclasses.replace(r, dependencies=tuple(reversed(r.dependencies)))
                                                    for r in reversed(run.resources)])
    write_render(run, tmp_path / "a")
    write_render(reordered, tmp_path / "b")
    for name in ("kubernetes.yaml", "helm-releases.yaml", "resources.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_rendered_namespaces_come_before_what_lives_in_them() -> None:
    """`kubectl apply -f kubernetes.yaml` applies documents in file order, so a Namespace (and a CRD) must come
    before the objects that need it (Helm's install order)."""
    manifests = kubernetes_manifests(stack_run("staging"))
    position = {(m["kind"], m["metadata"]["name"]): i for i, m in enumerate(manifests)}
    for i, m in enumerate(manifests):
        namespace = m["metadata"].get("namespace")
        if namespace and ("Namespace", namespace) in position:
            assert position[("Namespace", namespace)] < i, (m["kind"], m["metadata"]["name"])


def test_manifests_and_releases_are_plain_values() -> None:
    run = stack_run("dev")
    assert all(isinstance(m["metadata"]["name"], str) for m in kubernetes_manifests(run))
    assert {r["chart"] for r in helm_releases(run)} >= {"gpu-operator"}


# --- the checkov gate ---------------------------------------------------------------------------------------

def _report(*failed: tuple[str, str], path: str = "/r/dev/kubernetes.yaml") -> dict[str, object]:
    return {"check_type": "kubernetes", "summary": {"passed": 3, "failed": len(failed), "parsing_errors": 0},
            "results": {"failed_checks": [{"check_id": c, "check_name": c, "resource": r, "file_abs_path": path}
                                          for c, r in failed]}}


SOURCES = {"/r/dev/kubernetes.yaml": "dev", "/r/prod/kubernetes.yaml": "prod"}


def test_gate_fails_on_an_unwaived_finding() -> None:
    waiver = Waiver(("CKV_K8S_10",), ("Job.ns.accept-*",), "reason of five words here")
    result = gate(_report(("CKV_K8S_10", "Job.ns.accept-a"), ("CKV_K8S_11", "Job.ns.accept-a")), [waiver], SOURCES)
    assert not result.ok
    assert result.unwaived == (Finding("CKV_K8S_11", "CKV_K8S_11", "Job.ns.accept-a", "dev"),)


def test_gate_fails_on_a_stale_waiver() -> None:
    live = Waiver(("CKV_K8S_10",), ("Job.ns.*",), "reason of five words here")
    stale = Waiver(("CKV_K8S_99",), ("Job.ns.*",), "reason of five words here")
    result = gate(_report(("CKV_K8S_10", "Job.ns.x")), [live, stale], SOURCES)
    assert not result.ok and result.stale == (stale,) and not result.unwaived


def test_gate_passes_when_every_finding_is_waived() -> None:
    waiver = Waiver(("CKV_K8S_10",), ("Job.ns.*",), "reason of five words here")
    assert gate([_report(("CKV_K8S_10", "Job.ns.x")), _report(path="/r/prod/kubernetes.yaml")], [waiver], SOURCES).ok


def test_gate_refuses_a_report_checkov_could_not_parse() -> None:
    report = _report()
    report["summary"] = {"passed": 0, "failed": 0, "parsing_errors": 1}
    with pytest.raises(ValueError, match="could not parse"):
        gate(report, [])


@pytest.mark.parametrize("entry, message", [
    ({"checks": ["CKV_K8S_10"], "resources": ["Job.*"]}, "exactly"),
    ({"checks": [], "resources": ["Job.*"], "reason": "a reason of five words"}, "checks"),
    ({"checks": ["K8S_10"], "resources": ["Job.*"], "reason": "a reason of five words"}, "checks"),
    ({"checks": ["CKV_K8S_10"], "resources": [], "reason": "a reason of five words"}, "resources"),
    ({"checks": ["CKV_K8S_10"], "resources": ["Job.*"], "reason": "because"}, "reason"),
])
def test_waivers_need_checks_resources_and_a_reason(tmp_path: Path, entry: dict[str, object], message: str) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(yaml.safe_dump({"waivers": [entry]}))
    with pytest.raises(WaiverFileError, match=message):
        load_waivers(path)


def test_the_reviewed_waiver_file_loads() -> None:
    waivers = load_waivers(WAIVERS)
    assert waivers and all(w.reason for w in waivers)


def test_checkov_finds_nothing_unwaived_on_every_stack(tmp_path: Path) -> None:
    """The real checkov (its Kubernetes framework, offline) on every shipped stack's rendered manifests."""
    checkov = _checkov()
    if checkov is None:
        if os.environ.get("CI"):
            pytest.fail("checkov is not installed: .ci/run installs it into .venv-checkov")
        pytest.skip("checkov not installed here (python3 -m venv .venv-checkov && "
                    ".venv-checkov/bin/pip install checkov==3.3.30)")
    for stack in STACKS:
        write_render(stack_run(stack), tmp_path / stack)
    result = check_rendered(checkov, {stack: tmp_path / stack for stack in STACKS}, load_waivers(WAIVERS))
    assert {f.source for f in result.findings} <= set(STACKS)
    assert result.passed_checks > 0
    assert not result.unwaived, [f"{f.source}: {f.check_id} {f.resource}" for f in result.unwaived]
    assert not result.stale, result.stale


def test_checkov_really_fails_an_insecure_manifest(tmp_path: Path) -> None:
    """The gate is only as good as checkov's verdicts: a privileged pod must come back failed."""
    checkov = _checkov()
    if checkov is None:
        if os.environ.get("CI"):
            pytest.fail("checkov is not installed: .ci/run installs it into .venv-checkov")
        pytest.skip("checkov not installed here")
    manifest = tmp_path / "kubernetes.yaml"
    container = {"name": "c", "image": "busybox", "securityContext": {"privileged": True}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "team"},
           "spec": {"containers": [container]}}
    manifest.write_text(yaml.safe_dump(pod))
    result = gate(run_checkov(checkov, [manifest]), [])
    assert "CKV_K8S_16" in {f.check_id for f in result.unwaived}  # "Container should not be privileged"
