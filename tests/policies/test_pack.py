"""The pack as a plugin and the analyzer protocol: start-up, metadata, config reconciliation, enforcement levels,
schema defaults applied by the rules themselves, URN tracking and secrets on the wire."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s
import pytest
from google.protobuf import json_format

from neocloud.errors import SpecError
from neocloud.offline.analyzer import PolicyPackProcess, _properties, load_policy_config, reconcile_config
from tests.conftest import REPO
from tests.policies import builders as b
from tests.policies.support import BASE_BAREMETAL, PACK, analyze, facts_components, record, spec_with, violations

RULES = {
    "rack-power-budget", "nvlink-domain-whole", "rail-alignment", "fabric-nonblocking", "single-zone-fabric",
    "no-placement-group-on-reserved-capacity", "no-overlapping-gpu-pools", "topology-labels-consistent",
    "storage-throughput-per-gpu", "checkpoint-write-time", "goodput-floor", "node-remediation-in-prod",
    "hot-spare-ratio",
    "fabric-leaf-utilisation",
    "queue-quota-within-capacity",
    "dev-scales-to-zero", "whole-node-gpu-requests", "imdsv2-required", "storage-encrypted",
    "bucket-public-access-blocked", "bucket-versioning", "protect-stateful-in-prod", "efa-security-group-self-only",
    "tenant-default-deny", "no-plaintext-secrets", "workloads-admissible", "inference-routes-through-regulator",
    "traffic-regulator-covers-routes", "firewall-not-world-open", "checkpoint-filesystem-mounted",
    "images-pinned-by-digest",
    "team-filesystem-claims",
}


def test_main_prints_only_the_port_first():
    process = subprocess.Popen([sys.executable, "-u", str(PACK / "__main__.py")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=REPO)
    try:
        assert process.stdout is not None
        first = process.stdout.readline().decode().strip()
        assert re.fullmatch(r"\d{2,5}", first), first
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_rule_modules_import_without_side_effects():
    code = ("import policies, policies.topology, policies.efficiency, policies.security, policies.serving; "
            "print('imported')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "imported\n"


def test_policy_pack_constructed_only_in_main():
    constructs = [p.relative_to(REPO).as_posix() for p in PACK.rglob("*.py")
                  if "PolicyPack(" in p.read_text() and "venv" not in p.parts]
    assert constructs == ["policies/__main__.py"]


def test_analyzer_info(pack):
    name, _, policies = pack.info()
    assert name == "neocloud"
    assert {p.name for p in policies} == RULES
    for p in policies:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", p.name)
        assert len(p.description) > 40
        assert p.enforcement_level in ("advisory", "mandatory")
        assert p.policy_type in ("resource", "stack")
        props = p.config_schema["properties"]
        assert props, p.name
        for key, prop in props.items():
            assert "default" in prop and "description" in prop, (p.name, key)


def test_reconcile_applies_defaults_all_and_overrides(pack):
    _, _, policies = pack.info()
    config = reconcile_config(policies, {"all": {"enforcementLevel": "advisory"},
                                         "hot-spare-ratio": {"enforcementLevel": "mandatory", "minSparePercent": 3}})
    assert config["hot-spare-ratio"] == {"enforcementLevel": "mandatory", "minSparePercent": 3,
                                         "maxSparePercent": 12.5}
    assert config["rack-power-budget"] == {"enforcementLevel": "advisory", "maxRackKw": 0, "headroomPercent": 0}
    assert {c["enforcementLevel"] for n, c in config.items() if n != "hot-spare-ratio"} == {"advisory"}


@pytest.mark.parametrize("given, path, message", [
    ({"hot-spare-ratio": {"minSparePercent": "lots"}}, "hot-spare-ratio.minSparePercent", "is not of type 'number'"),
    ({"fabric-nonblocking": {"maxOversubscription": 0.5}}, "fabric-nonblocking.maxOversubscription",
     "is less than the minimum of 1"),
    ({"rack-power-budjet": "mandatory"}, "rack-power-budjet", "no such policy in the pack"),
])
def test_reconcile_rejects_bad_config(pack, given, path, message):
    _, _, policies = pack.info()
    with pytest.raises(SpecError) as error:
        reconcile_config(policies, given, "cfg.json")
    assert error.value.path == f"cfg.json: {path}"
    assert message in error.value.message


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"imdsv2-required": "blocking"}', "'blocking' is not a valid enforcement level"),
    ('{"imdsv2-required": 3}', "is not a valid value; must be a string or object"),
    ('["mandatory"]', "must be a JSON object"),
])
def test_load_policy_config_rejects_bad_files(tmp_path: Path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SpecError) as error:
        load_policy_config(path)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_shipped_configs_are_valid(pack):
    _, _, policies = pack.info()
    for path in sorted((PACK / "config").glob("*.json")):
        reconcile_config(policies, load_policy_config(path), path.name)
    stacks = {p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (REPO / "stacks").glob("Pulumi.*.yaml")}
    assert {p.stem for p in (PACK / "config").glob("*.json")} == stacks


def over_spared() -> object:
    spec = spec_with(BASE_BAREMETAL, pools=[{"name": "h100", "system": "dgx-h100", "nodes": 23, "spares": 8}])
    return record(lambda: facts_components(spec))


def test_enforcement_levels(pack):
    run = over_spared()
    default = analyze(pack, run)
    assert [d.enforcement_level for d in default.diagnostics if d.policy == "hot-spare-ratio"] == ["advisory"]
    mandatory = analyze(pack, run, {"hot-spare-ratio": "mandatory"})
    assert [d.policy for d in mandatory.mandatory] == ["hot-spare-ratio"]
    remediate = analyze(pack, run, {"hot-spare-ratio": "remediate"})  # no remediation: reported as mandatory
    assert [d.policy for d in remediate.mandatory] == ["hot-spare-ratio"]
    disabled = analyze(pack, run, {"hot-spare-ratio": "disabled"})
    assert violations(disabled, "hot-spare-ratio") == []
    assert not [n for n in disabled.not_applicable if n.policy == "hot-spare-ratio"]


def test_rules_apply_schema_defaults_themselves(pack):
    """Configure with levels only (no properties), as a caller that skips the engine's reconciliation would:
    the rule still uses its schema default (maxSparePercent 12.5)."""
    from pulumi.runtime.proto import analyzer_pb2

    run = over_spared()
    pool = next(r for r in run.resources if r.type == "neocloud:index:GpuPool")
    _, _, policies = pack.info()
    pack.configure({p.name: {"enforcementLevel": "mandatory"} for p in policies})
    reply = pack.stub.Analyze(analyzer_pb2.AnalyzeRequest(type=pool.type, properties=_properties(pool), urn=pool.urn,
                                                          name=pool.name))
    messages = [d.message for d in reply.diagnostics if d.policyName == "hot-spare-ratio"]
    assert len(messages) == 1 and "above the 12.5% maximum" in messages[0]
    assert all(d.urn == "" for d in reply.diagnostics)  # the engine's analyzers report no URN: the client tracks it


def test_client_tracks_urns_of_resource_diagnostics(pack):
    run = over_spared()
    pool = next(r for r in run.resources if r.type == "neocloud:index:GpuPool")
    [diagnostic] = [d for d in analyze(pack, run).diagnostics if d.policy == "hot-spare-ratio"]
    assert (diagnostic.urn, diagnostic.resource_type, diagnostic.resource_name) == (pool.urn, pool.type, pool.name)


def test_secrets_reach_the_pack_marked_as_the_engine_sends_them(pack):
    def build() -> None:
        k8s.Provider("k8s", kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"))

    provider = record(build).by_name("k8s")
    wire = json_format.MessageToDict(_properties(provider))
    assert wire["kubeconfig"] == {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
                                  "value": "apiVersion: v1\nkind: Config\n"}


def test_stack_resource_and_component_resources_are_analyzed(pack):
    run = record(lambda: b.namespace("tools"))
    result = analyze(pack, run)
    assert result.resources == len(run.resources) + 1  # + the root pulumi:pulumi:Stack


def test_pack_that_fails_to_start_is_one_clear_error(tmp_path: Path):
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text("print('hello')\n")
    from neocloud.offline.analyzer import AnalyzerError

    with pytest.raises(AnalyzerError) as error:
        PolicyPackProcess(tmp_path)
    assert "did not start" in str(error.value) and "hello" in str(error.value)

