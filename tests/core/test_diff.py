"""``neocloud diff``: a stack against its saved plan, a changed stack against the saved plan, two stacks, bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from neocloud.cli import main
from neocloud.cli.plan import input_digests, plan_document
from neocloud.diff import diff_plans, resource_key
from neocloud.vocabulary import SECRET_PLACEHOLDER as SECRET_MASK
from tests.conftest import REPO, stack_run


def _saved(tmp_path: Path, stack: str) -> Path:
    path = tmp_path / f"{stack}-plan.json"
    path.write_text(json.dumps(plan_document(stack_run(stack))))
    return path


def _project(tmp: Path, stack: str, cluster: object) -> Path:
    """A copy of the project whose stack ``stack`` has the given cluster spec (same stack name: same URNs)."""
    (tmp / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp / name).write_text((REPO / name).read_text())
    (tmp / "components").symlink_to(REPO / "components")
    document = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    document["config"]["neocloud:cluster"] = cluster
    (tmp / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return tmp


def test_a_stack_against_its_saved_plan_has_no_differences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = _saved(tmp_path, "staging")
    assert main(["diff", "staging", str(saved), "--project-dir", str(REPO), "--exit-code"]) == 0
    assert capsys.readouterr().out == f"diff stack staging -> {saved} (stack staging)\n  no differences\n"


def test_a_second_su_shows_in_gpus_racks_fabric_power_and_resources(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    saved = _saved(tmp_path, "staging")
    cluster = yaml.safe_load((REPO / "stacks" / "Pulumi.staging.yaml").read_text())["config"]["neocloud:cluster"]
    cluster["pools"][0]["nodes"] = 61  # 61 + 2 spares = 63 nodes: H100RA's 2-SU build
    project = _project(tmp_path / "project", "staging", cluster)
    args = ["diff", str(saved), "staging", "--project-dir", str(project)]
    assert main([*args, "--exit-code"]) == 1
    capsys.readouterr()
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    fields = {(f["where"], f["field"]): (f["before"], f["after"], f["delta"]) for f in doc["fields"]}
    assert fields[("cluster", "gpus")] == (232, 488, 256)
    assert fields[("cluster", "nodes")] == (31, 63, 32)
    assert fields[("cluster", "racks")][:2] == (8, 16)
    # H100RA Table 4: 2 SU = 16 leaf, 8 spine [P] (1 SU: 8 and 4).
    assert fields[("fabric h100", "leaf")][:2] == (8, 16)
    assert fields[("fabric h100", "spine")][:2] == (4, 8)
    assert fields[("cluster", "IT kW")][:2] == pytest.approx((316.2, 642.6))
    assert fields[("cluster", "$/hour")][:2] == pytest.approx((520.8, 1058.4))  # 2.10 $/GPU-hour x GPUs
    changed = {r["name"]: r["inputs"] for r in doc["resources"]["changed"]}
    assert "neocloud" in changed["staging-h100"]  # the pool's plan facts
    assert doc["resources"]["compared_inputs"] is True
    plan = plan_document(stack_run("staging"))
    assert (len(doc["resources"]["removed"]) + len(doc["resources"]["changed"]) + doc["resources"]["unchanged"]
            == plan["resource_count"])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "fabric h100:\n  tiers" not in out and "  leaf: 8 -> 16 (+8)" in out
    assert "  ~ urn:pulumi:staging::neocloud::neocloud:index:GpuCluster$neocloud:index:GpuPool::staging-h100  [" in out


def test_two_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "dev", "prod", "--project-dir", str(REPO), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    fields = {(f["where"], f["field"]): (f["before"], f["after"]) for f in doc["fields"]}
    assert fields[("pool train", "capacity")] == ("on-demand", "capacity-block")
    assert fields[("cluster", "environment")] == ("dev", "prod")
    resources = doc["resources"]
    prod = plan_document(stack_run("prod"))["resource_count"]
    assert len(resources["added"]) + len(resources["changed"]) + resources["unchanged"] == prod


def test_resource_keys_drop_the_stack() -> None:
    assert resource_key("urn:pulumi:dev::neocloud::a:b:C::x") == "neocloud::a:b:C::x"
    assert resource_key("not-a-urn") == "not-a-urn"


def test_a_plan_saved_without_digests_says_inputs_were_not_compared() -> None:
    now = plan_document(stack_run("staging"))
    old = json.loads(json.dumps(now))
    for r in old["resources"]:
        r.pop("urn"), r.pop("input_digests")
    result = diff_plans(old, now)
    assert result.compared_inputs is False and result.changed == [] and result.added == result.removed == []
    assert result.unchanged == len(now["resources"])
    from neocloud.cli.diff import render

    assert "(inputs not compared: a side has no input_digests)" in render(diff_plans(old, {**now, "gpus": 1}))


def test_secret_inputs_are_hashed_as_a_mask() -> None:
    run = stack_run("dev")
    secret = run.by_name("dev-k8s")  # the Kubernetes provider: its kubeconfig is a Pulumi secret
    key = secret.secret_paths[0]
    assert key == "kubeconfig"
    mask = hashlib.sha256(json.dumps(SECRET_MASK).encode()).hexdigest()[:16]
    assert input_digests(secret)[key] == mask
    assert json.dumps(secret.inputs[key], sort_keys=True) != json.dumps(SECRET_MASK)  # the value itself is not a mask


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neocloud", "diff", *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO)


def test_bad_sides_are_one_line_exit_2(tmp_path: Path) -> None:
    result = _cli("nosuch", "staging")
    assert result.returncode == 2 and result.stderr.startswith("neocloud: error: STACK: no stack 'nosuch'")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    other = tmp_path / "other.json"
    other.write_text('{"stack": "x"}')
    result = _cli("staging", str(other))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (f"neocloud: error: B: {other} is not a `neocloud plan --json` "
                                              "document (no pools, resources)")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = _cli(str(broken), "staging")
    assert result.returncode == 2 and result.stderr.startswith(f"neocloud: error: A: {broken} is not valid JSON")
    result = _cli(str(tmp_path / "missing.json"), "staging")
    assert result.returncode == 2 and result.stderr.startswith(f"neocloud: error: A: cannot read {tmp_path}")
