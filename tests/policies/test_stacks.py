"""Every shipped stack passes `neocloud check` with its policy config; deliberately broken copies fail with the
expected rule; output formats, exit codes and speed of the command.

Broken copies, and how each is made:
- power over budget, oversubscribed fabric, too little storage throughput: a config change run through
  ``run_program(REPO, stack, config=...)`` (the real program, the real provider sizing);
- split NVL72 domain: the spec refuses to plan one (whole NVLink domains per rack), so the recorded GpuPool's
  plan facts are edited before analysis;
- public bucket, pool across zones: the spec has no way to ask for one (buckets are always private, a pool has one
  zone), so the recorded S3 bucket policy / EFA node group is edited before analysis (for the zones: a second
  subnet in another AZ, with the property dependency the engine would send).
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from neocloud.cli import main
from neocloud.offline import ProgramRun, load_stack_config, run_program
from neocloud.offline.analyzer import AnalysisResult, load_policy_config
from tests.conftest import REPO, STACKS, stack_run
from tests.policies.support import PACK, analyze, mutate
from tests.policies.test_pack import RULES


def stack_config(stack: str) -> dict[str, Any]:
    return load_policy_config(PACK / "config" / f"{stack}.json")


def broken(stack: str, change: Any) -> ProgramRun:
    config, secret_keys = load_stack_config(REPO, stack)
    config = copy.deepcopy(config)
    change(config["neocloud:cluster"])
    return run_program(REPO, stack, config=config, secret_keys=secret_keys)


def failed_rules(result: AnalysisResult) -> set[str]:
    return {d.policy for d in result.mandatory}


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_passes(pack, stack):
    result = analyze(pack, stack_run(stack), stack_config(stack))
    assert result.mandatory == [], [d.message for d in result.mandatory]


def test_every_rule_runs_on_some_shipped_stack(pack):
    """No rule is vacuous on what the program really builds: each one applies to at least one shipped stack."""
    applicable: set[str] = set()
    for stack in STACKS:
        result = analyze(pack, stack_run(stack), stack_config(stack))
        skipped = {n.policy for n in result.not_applicable}
        applicable |= {p.name for p in result.policies} - skipped
    _, _, policies = pack.info()
    assert applicable == {p.name for p in policies}


def test_power_over_budget(pack):
    run = broken("staging", lambda c: c["racks"].update(nodes_per_rack=5))
    result = analyze(pack, run, stack_config("staging"))
    assert failed_rules(result) == {"rack-power-budget"}
    assert "6 racks of 5 nodes draw 51 kW each, over the 41 kW budget" in result.mandatory[0].message


def test_split_nvl72_domain(pack):
    run = stack_run("gb200")

    def split(inputs: dict[str, Any]) -> None:
        inputs["neocloud"]["racks"]["groups"][0].update(nodes_per_rack=9, racks=16, nvlink_domains_per_rack=0)

    resources = [mutate(r, split) if r.type == "neocloud:index:GpuPool" else r for r in run.resources]
    result = analyze(pack, run, stack_config("gb200"), resources=resources)
    assert failed_rules(result) == {"nvlink-domain-whole"}


def test_oversubscribed_fabric(pack):
    run = broken("staging", lambda c: c["fabric"].update(oversubscription=2.0, max_oversubscription=2.0))
    result = analyze(pack, run, stack_config("staging"))
    assert failed_rules(result) == {"fabric-nonblocking"}
    assert "oversubscribed); allowed at most 1:1" in result.mandatory[0].message


def test_p6_b300_efa_from_card_one(pack):
    # AWS-ACC: 17 network cards on p6-b300, EFA on cards 1-16 behind an ENA-only card 0.
    def p6_b300(cluster: dict[str, Any]) -> None:
        cluster["pools"][0].update(system="p6-b300.48xlarge", nodes=2)
        for queue in cluster["kubernetes"]["queues"]:
            queue["gpu_quota"] = 8

    run = broken("dev", p6_b300)
    assert "rail-alignment" not in failed_rules(analyze(pack, run, stack_config("dev")))

    def efa_from_card_zero(inputs: dict[str, Any]) -> None:
        for interface in inputs["networkInterfaces"]:
            interface["networkCardIndex"] -= 1

    templates = [r for r in run.resources if r.type == "aws:ec2/launchTemplate:LaunchTemplate"
                 and len(r.inputs.get("networkInterfaces") or []) == 17]
    assert templates
    resources = [mutate(r, efa_from_card_zero) if r in templates else r for r in run.resources]
    result = analyze(pack, run, stack_config("dev"), resources=resources)
    messages = [d.message for d in result.mandatory if d.policy == "rail-alignment"]
    assert any("EFA interfaces on network cards [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]; expected "
               "cards 1..16" in m for m in messages), messages


def test_public_bucket(pack):
    run = stack_run("prod")
    policy = next(r for r in run.resources if r.type == "aws:s3/bucketPolicy:BucketPolicy")

    def open_to_all(inputs: dict[str, Any]) -> None:
        inputs["policy"] = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::x/*"}]})

    resources = [mutate(r, open_to_all) if r.urn == policy.urn else r for r in run.resources]
    result = analyze(pack, run, stack_config("prod"), resources=resources)
    assert failed_rules(result) == {"bucket-public-access-blocked"}


def test_pool_across_zones(pack):
    run = stack_run("prod")
    group = next(r for r in run.resources if r.type == "aws:eks/nodeGroup:NodeGroup" and "train" in r.name)
    other = next(r for r in run.resources if r.type == "aws:ec2/subnet:Subnet"
                 and r.inputs.get("availabilityZone") != "us-east-2b" and "private" in r.name)

    def two_subnets(inputs: dict[str, Any]) -> None:
        inputs["subnetIds"] = [*inputs["subnetIds"], f"{other.name}-id"]

    deps = dict(group.property_dependencies)
    deps["subnetIds"] = (*deps["subnetIds"], other.urn)
    resources = [mutate(r, two_subnets, deps) if r.urn == group.urn else r for r in run.resources]
    result = analyze(pack, run, stack_config("prod"), resources=resources)
    assert failed_rules(result) == {"single-zone-fabric"}
    messages = " ".join(d.message for d in result.mandatory)
    assert "spans 2 subnets" in messages and "us-east-2a" in messages


def test_too_little_storage_throughput(pack):
    run = broken("prod", lambda c: c["storage"]["filesystem"].update(tier="good"))
    result = analyze(pack, run, stack_config("prod"))
    assert failed_rules(result) == {"storage-throughput-per-gpu"}
    assert "below the 0.15625 GB/s per GPU floor" in result.mandatory[0].message


# --- the command -------------------------------------------------------------------------------------------


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["check", *args, "--project-dir", str(REPO)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("stack", STACKS)
def test_check_passes_every_shipped_stack(capsys, stack):
    code, out, _ = check(capsys, stack)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"stack {stack}: policy pack neocloud 0.1.0, {len(RULES)} policies")
    assert f"(config: policies/config/{stack}.json)" in lines[0]
    assert lines[-1].startswith("passed: 0 mandatory")


def test_check_json(capsys):
    code, out, _ = check(capsys, "staging", "--format", "json")
    document = json.loads(out)
    assert code == 0
    assert document["summary"]["passed"] is True
    assert document["config"] == "policies/config/staging.json"
    assert len(document["policies"]) == len(RULES)
    assert {p["name"]: p["enforcementLevel"] for p in document["policies"]}["whole-node-gpu-requests"] == "mandatory"


def test_check_exit_1_and_sarif(capsys, tmp_path: Path):
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"hot-spare-ratio": {"enforcementLevel": "mandatory", "minSparePercent": 10}}))
    code, out, _ = check(capsys, "prod", "--format", "sarif", "--policy-config", str(strict))
    assert code == 1
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    [run] = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert len(rules) == len(RULES)
    assert {r["id"] for r in rules} == {r["id"] for r in rules if r["shortDescription"]["text"]}
    assert run["results"], "expected hot-spare-ratio results"
    # prod's tag-only acceptance images are advisory findings (images-pinned-by-digest): SARIF warnings.
    advisory = [r for r in run["results"] if r["ruleId"] == "images-pinned-by-digest"]
    assert advisory and all(r["level"] == "warning" for r in advisory)
    for result in (r for r in run["results"] if r not in advisory):
        assert result["ruleId"] == "hot-spare-ratio"
        assert rules[result["ruleIndex"]]["id"] == "hot-spare-ratio"
        assert result["level"] == "error"
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "stacks/Pulumi.prod.yaml"
        line = (REPO / "stacks/Pulumi.prod.yaml").read_text().splitlines()[physical["region"]["startLine"] - 1]
        assert line.strip() == "- name: train"
        assert result["message"]["text"]


@pytest.mark.parametrize("args, message", [
    (["nope"], "no stack 'nope'"),
    (["prod", "--policy-config", "/nonexistent.json"], "--policy-config: /nonexistent.json is not a file"),
])
def test_check_bad_input(capsys, args, message):
    code, _, err = check(capsys, *args)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("neocloud: error: ")


def test_check_bad_format(capsys):
    with pytest.raises(SystemExit) as exit_:
        check(capsys, "prod", "--format", "xml")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'xml'" in err and len(err.strip().splitlines()) == 1


def test_check_bad_policy_config_is_exit_2(capsys, tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hot-spare-ratio": {"maxSparePercent": "many"}}))
    code, _, err = check(capsys, "gb200", "--policy-config", str(bad))
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("neocloud: error: ") and "hot-spare-ratio.maxSparePercent" in last


def test_check_prod_as_a_command():
    # Times are measured in benchmarks/check_scale.py, not here (a loaded CI machine is no stopwatch); the
    # timeout only bounds a hang.
    done = subprocess.run([sys.executable, "-m", "neocloud", "check", "prod", "--format", "json"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["passed"] is True


# --- preview: IDs and ARNs are unknown ---------------------------------------------------------------------

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's marker for an unknown string during preview (what it sends for computed IDs and ARNs)."""


def _unknown_ids(value: Any) -> Any:
    if isinstance(value, str) and (value.endswith("-id") or value.startswith(("arn:", "sg-"))):
        return UNKNOWN
    if isinstance(value, list):
        return [_unknown_ids(v) for v in value]
    if isinstance(value, dict):
        return {k: _unknown_ids(v) for k, v in value.items()}
    return value


def as_in_preview(resources: list[Any]) -> list[Any]:
    def change(inputs: dict[str, Any]) -> None:
        replaced = _unknown_ids(inputs)
        inputs.clear()
        inputs.update(replaced)

    return [mutate(r, change) for r in resources]


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_rules_decide_during_preview(pack, stack):
    """With every mock ID/ARN replaced by the preview unknown marker, rules still decide from plain facts and
    property dependencies: no violation and no "can't run policy during preview" advisory."""
    run = stack_run(stack)
    resources = as_in_preview(run.resources)
    assert sum(a.raw_inputs != b.raw_inputs for a, b in zip(run.resources, resources, strict=True)) > 20
    result = analyze(pack, run, stack_config(stack), resources=resources)
    # The one expected finding: prod's tag-only acceptance images (advisory), decided during preview too.
    expected = [d for d in result.diagnostics if d.policy == "images-pinned-by-digest" and "by tag only" in d.message
                and d.enforcement_level == "advisory"]
    assert bool(expected) == (stack == "prod")
    assert [d for d in result.diagnostics if d not in expected] == []


def test_pool_across_zones_during_preview(pack):
    run = stack_run("prod")
    group = next(r for r in run.resources if r.type == "aws:eks/nodeGroup:NodeGroup" and "train" in r.name)
    other = next(r for r in run.resources if r.type == "aws:ec2/subnet:Subnet"
                 and r.inputs.get("availabilityZone") != "us-east-2b" and "private" in r.name)

    def two_unknown_subnets(inputs: dict[str, Any]) -> None:
        inputs["subnetIds"] = [UNKNOWN, UNKNOWN]

    deps = dict(group.property_dependencies)
    deps["subnetIds"] = (*deps["subnetIds"], other.urn)
    resources = [mutate(r, two_unknown_subnets, deps) if r.urn == group.urn else r
                 for r in as_in_preview(run.resources)]
    assert all(UNKNOWN in r.raw_inputs.decode(errors="ignore") for r in resources if r.urn == group.urn)
    result = analyze(pack, run, stack_config("prod"), resources=resources)
    assert failed_rules(result) == {"single-zone-fabric"}
