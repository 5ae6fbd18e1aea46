"""The ``lambda`` stack through the real program under the mock engine: what it registers, that every request the
provider would send from those inputs matches the Lambda Cloud API reference, secrets, the 1-Click Cluster path,
bad config (exit 2 with the path), and the policies over Lambda resources (every violation path).

Request shapes: ``lambda-cloud-api.schema.json``, written from the Lambda Cloud API reference v1.10.0
(https://docs.lambda.ai/api/cloud).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.providers.lambda_cloud import resources
from components.providers.lambda_cloud.profile import (
    FILESYSTEM_TYPE,
    FIREWALL_RULESET_TYPE,
    INSTANCE_GROUP_TYPE,
    SSH_KEY_TYPE,
)
from neocloud import SpecError, load_cluster_spec
from neocloud.offline import ProgramRun, load_stack_config, run_program
from neocloud.offline.analyzer import load_policy_config
from tests.conftest import REPO, stack_run
from tests.lambda_cloud.fake_lambda import SCHEMA, _validator
from tests.policies.support import PACK, analyze, mutate, not_applicable, violations

LAUNCH = _validator(SCHEMA["operations"]["POST /instance-operations/launch"]["request"])
RULESET = _validator(SCHEMA["operations"]["POST /firewall-rulesets"]["request"])
FILESYSTEM = _validator(SCHEMA["operations"]["POST /filesystems"]["request"])
SSH_KEY = _validator(SCHEMA["operations"]["POST /ssh-keys"]["request"])


def cluster() -> dict[str, Any]:
    config, _ = load_stack_config(REPO, "lambda")
    return copy.deepcopy(config["neocloud:cluster"])


def run_with(change: Any = None, extra: dict[str, Any] | None = None, secret_keys: list[str] | None = None,
             ) -> ProgramRun:
    config, keys = load_stack_config(REPO, "lambda")
    config = copy.deepcopy(config)
    if change is not None:
        change(config["neocloud:cluster"])
    config.update(extra or {})
    return run_program(REPO, "lambda", config=config, secret_keys=[*keys, *(secret_keys or [])])


def policy_config() -> dict[str, Any]:
    return load_policy_config(PACK / "config" / "lambda.json")


def test_one_resource_per_pool_and_cluster_wide_storage_firewall_key() -> None:
    run = stack_run("lambda")
    counts = {t: len(run.of_type(t)) for t in (INSTANCE_GROUP_TYPE, FILESYSTEM_TYPE, FIREWALL_RULESET_TYPE,
                                                SSH_KEY_TYPE)}
    assert counts == {INSTANCE_GROUP_TYPE: 1, FILESYSTEM_TYPE: 1, FIREWALL_RULESET_TYPE: 1, SSH_KEY_TYPE: 1}
    [group] = run.of_type(INSTANCE_GROUP_TYPE)
    inputs = group.inputs
    assert inputs["instance_type"] == "gpu_8x_h100_sxm5" and inputs["count"] == 8  # 7 nodes + 1 spare
    assert inputs["ssh_key_names"] == ["lam-train-admin"] and inputs["file_system_names"] == ["lam-train-shared"]
    [firewall] = run.of_type(FIREWALL_RULESET_TYPE)
    assert firewall.urn in group.property_dependencies["firewall_ruleset_ids"]
    [fs] = run.of_type(FILESYSTEM_TYPE)
    assert fs.protect  # prod keeps its data
    assert fs.urn in group.dependencies  # mounted at launch, so it must exist first
    assert group.parent.endswith("neocloud:index:GpuPool::lam-train-h100")
    assert not run.of_type("pulumi:providers:kubernetes")  # tests.conftest.NO_KUBERNETES_STACKS


def test_every_request_the_provider_would_send_matches_the_reference() -> None:
    run = stack_run("lambda")
    for group in run.of_type(INSTANCE_GROUP_TYPE):
        props = {**group.inputs, "firewall_ruleset_ids": ["0123456789abcdef0123456789abcdef"]}
        assert resources.InstanceGroupProvider().check({}, props).failures == []
        spec = resources._launch_spec(props)
        token = resources.generation_token(props)
        for index in (0, int(props["count"]) - 1):
            request = spec.request(name=f"{props['name_prefix']}-{index}", token=token, index=index)
            assert [e.message for e in LAUNCH.iter_errors(request)] == []
    for ruleset in run.of_type(FIREWALL_RULESET_TYPE):
        body = {"name": ruleset.inputs["name"], "region": ruleset.inputs["region"],
                "rules": resources._api_rules(ruleset.inputs["rules"])}
        assert [e.message for e in RULESET.iter_errors(body)] == []
    for fs in run.of_type(FILESYSTEM_TYPE):
        assert [e.message for e in FILESYSTEM.iter_errors({"name": fs.inputs["name"],
                                                           "region": fs.inputs["region"]})] == []
    for key in run.of_type(SSH_KEY_TYPE):
        body = {k: key.inputs[k] for k in ("name", "public_key") if key.inputs.get(k) is not None}
        assert [e.message for e in SSH_KEY.iter_errors(body)] == []


def test_the_api_key_reaches_no_resource_and_plaintext_is_refused() -> None:
    key = "secret_do-not-store_0123456789"
    run = run_with(extra={"lambda:apiKey": key}, secret_keys=["lambda:apiKey"])
    assert all(key.encode() not in r.raw_inputs for r in run.resources)
    for r in run.resources:
        if r.type.startswith("pulumi-python:dynamic/"):
            assert "__provider" in r.secret_paths  # the serialized provider is stored encrypted
    assert "private_key" in run.of_type(SSH_KEY_TYPE)[0].additional_secret_outputs
    with pytest.raises(SpecError, match=r"^lambda:apiKey: a credential in plaintext config; set it with "
                                        r"`pulumi config set --secret lambda:apiKey"):
        run_with(extra={"lambda:apiKey": key})


def test_one_click_cluster_uses_the_existing_kubernetes_path() -> None:
    def one_click(c: dict[str, Any]) -> None:
        c["pools"][0]["capacity"] = {"source": "1-click-cluster"}
        c["lambda"] = {"kubernetes": "existing", "one_click_cluster_id": "0123456789abcdef0123456789abcdef"}
        c["storage"]["filesystem"]["kind"] = "external"
        c["kubernetes"] = {"queues": [{"team": "pretraining", "gpu_quota": 56}]}

    kubeconfig = {"neocloud:kubeconfig": "apiVersion: v1\nkind: Config\n"}
    # The cluster's storage is the site's: a training team's claim on it needs the class that mounts it.
    with pytest.raises(SpecError, match=r"^neocloud:cluster\.storage\.filesystem\.storage_class: required for an "
                                        r"external filesystem with training queues"):
        run_with(one_click, extra=kubeconfig, secret_keys=["neocloud:kubeconfig"])

    def with_class(c: dict[str, Any]) -> None:
        one_click(c)
        c["storage"]["filesystem"]["storage_class"] = "site-shared"

    run = run_with(with_class, extra=kubeconfig, secret_keys=["neocloud:kubeconfig"])
    (claim,) = run.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert claim.inputs["metadata"]["namespace"] == "pretraining"
    assert claim.inputs["spec"]["storageClassName"] == "site-shared"
    assert not [r for r in run.resources if r.type.startswith("pulumi-python:dynamic/")]  # Lambda runs the nodes
    assert run.of_type("pulumi:providers:kubernetes")
    assert run.of_type("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue")
    labels = run.outputs["lambda"]["node_labels"]["h100"]
    assert labels["neocloud.io/pool"] == "h100" and labels["neocloud.io/su"] == "0"


_BASE = {"name": "lam", "provider": "lambda", "environment": "dev", "region": "us-east-1",
         "pools": [{"name": "h100", "system": "hgx-h100", "nodes": 2}], "fabric": {"kind": "infiniband"},
         "lambda": {"ssh_key_name": "ops"}}


def _with(path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(_BASE)
    target: Any = spec
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target.setdefault(key, {})
    target[keys[-1]] = value
    return spec


@pytest.mark.parametrize(("spec", "path", "message"), [
    (_with("pools.0.system", "hgx-h200"), "neocloud:cluster.lambda.instance_types.hgx-h200",
     "required: no built-in Lambda instance type"),
    (_with("pools.0.system", "dgx-h100"), "neocloud:cluster.pools[0].system", "is not available with provider"),
    (_with("lambda", {}), "neocloud:cluster.lambda.ssh_key_name", "required for on-demand pools"),
    (_with("lambda", {"ssh_key_name": "a", "ssh_public_key": "ssh-ed25519 AAAA x"}),
     "neocloud:cluster.lambda.ssh_public_key", "not both"),
    (_with("pools.0.min_nodes", 0), "neocloud:cluster.pools[0].min_nodes", "do not autoscale"),
    (_with("kubernetes", {"queues": [{"team": "t", "gpu_quota": 8}]}), "neocloud:cluster.kubernetes.queues",
     "need a Kubernetes cluster"),
    (_with("pools.0.capacity", {"source": "1-click-cluster"}), "neocloud:cluster.pools[0].capacity.source",
     "set lambda.kubernetes: existing"),
    (_with("lambda.kubernetes", "existing"), "neocloud:cluster.pools[0].capacity.source",
     "joins no Kubernetes cluster"),
    (_with("region", "US East"), "neocloud:cluster.region", "a Lambda region"),
    (_with("fabric", {"kind": "roce", "switch": "SN5600"}), "neocloud:cluster.fabric.kind",
     "1-Click Clusters run on NVIDIA Quantum InfiniBand"),
    (_with("lambda.firewall_rules", [{"protocol": "tcp", "source_network": "10.0.0.0/8"}]),
     "neocloud:cluster.lambda.firewall_rules[0]", "port_range is required for tcp"),
    (_with("lambda.firewall_rules", [{"protocol": "icmp", "port_range": [1, 1], "source_network": "10.0.0.0/8"}]),
     "neocloud:cluster.lambda.firewall_rules[0]", "not allowed for icmp"),
    (_with("lambda.firewall_rules", [{"protocol": "tcp", "port_range": [22, 22], "source_network": "10.0.0.1/8"}]),
     "neocloud:cluster.lambda.firewall_rules[0]", "not a network address"),
    (_with("lambda.instance_types", {"hgx-h999": "gpu_8x_x"}), "neocloud:cluster.lambda.instance_types.hgx-h999",
     "unknown system"),
    ({**_with("name", "c" * 32), "pools": [{"name": "p" * 29, "system": "hgx-h100", "nodes": 2}]},
     "neocloud:cluster.pools[0].name", "is 64 chars"),
])
def test_bad_lambda_config_names_its_path(spec: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_cluster_spec(spec)
    assert caught.value.path == path and message in caught.value.message, str(caught.value)


def test_bad_lambda_stack_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = cluster()
    bad["lambda"]["firewall_rules"][0]["protocol"] = "sctp"
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (tmp_path / "__main__.py").write_text((REPO / "__main__.py").read_text())
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": {"neocloud:cluster": bad}}))
    result = subprocess.run([sys.executable, "-m", "neocloud", "check", "bad", "--project-dir", str(tmp_path)],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "neocloud: error: neocloud:cluster.lambda.firewall_rules[0].protocol: got 'sctp'; allowed: tcp, udp, icmp, all")
    assert "Traceback" not in result.stderr


# --- policies over Lambda resources ------------------------------------------------------------------------


def test_the_shipped_lambda_stack_passes_and_the_lambda_rules_apply(pack: Any) -> None:
    result = analyze(pack, stack_run("lambda"), policy_config())
    assert result.mandatory == [], [d.message for d in result.mandatory]
    skipped = {n.policy for n in result.not_applicable}
    assert {"firewall-not-world-open", "checkpoint-filesystem-mounted", "protect-stateful-in-prod"}.isdisjoint(skipped)


@pytest.mark.parametrize(("rule", "opened"), [
    ({"protocol": "tcp", "port_range": [22, 22], "source_network": "0.0.0.0/0"}, "tcp port 22"),
    ({"protocol": "tcp", "port_range": [1, 65535], "source_network": "0.0.0.0/0"}, "tcp port 22"),
    ({"protocol": "all", "port_range": [20, 30], "source_network": "0.0.0.0/0"}, "all port 22"),
])
def test_ssh_open_to_the_internet_fails(pack: Any, rule: dict[str, Any], opened: str) -> None:
    run = run_with(lambda c: c["lambda"]["firewall_rules"].append(rule))
    [message] = violations(analyze(pack, run, policy_config()), "firewall-not-world-open")
    assert f"rules[2] admits {opened} from 0.0.0.0/0, the whole internet" in message


def test_other_ports_open_to_the_internet_pass_unless_configured(pack: Any) -> None:
    run = run_with(lambda c: c["lambda"]["firewall_rules"].append(
        {"protocol": "tcp", "port_range": [443, 443], "source_network": "0.0.0.0/0"}))
    assert violations(analyze(pack, run, policy_config()), "firewall-not-world-open") == []
    strict = {**policy_config(), "firewall-not-world-open": {"enforcementLevel": "mandatory", "ports": [22, 443]}}
    [message] = violations(analyze(pack, run, strict), "firewall-not-world-open")
    assert "tcp port 443 from 0.0.0.0/0" in message


def test_an_instance_group_without_a_ruleset_fails(pack: Any) -> None:
    run = stack_run("lambda")
    [group] = run.of_type(INSTANCE_GROUP_TYPE)

    def no_ruleset(inputs: dict[str, Any]) -> None:
        inputs["firewall_ruleset_ids"] = []

    deps = {k: v for k, v in group.property_dependencies.items() if k != "firewall_ruleset_ids"}
    patched = [mutate(r, no_ruleset, deps) if r.urn == group.urn else r for r in run.resources]
    [message] = violations(analyze(pack, run, policy_config(), resources=patched), "firewall-not-world-open")
    assert "has no firewall ruleset" in message and "global firewall rules" in message


def test_an_instance_group_that_mounts_no_filesystem_fails(pack: Any) -> None:
    run = stack_run("lambda")
    [group] = run.of_type(INSTANCE_GROUP_TYPE)

    def unmounted(inputs: dict[str, Any]) -> None:
        inputs["file_system_names"] = []

    patched = [mutate(r, unmounted) if r.urn == group.urn else r for r in run.resources]
    [message] = violations(analyze(pack, run, policy_config(), resources=patched), "checkpoint-filesystem-mounted")
    assert "mounts no filesystem" in message and "8B-parameter checkpoint" in message
    exempt = {**policy_config(), "checkpoint-filesystem-mounted": {"enforcementLevel": "mandatory",
                                                                   "exemptPools": ["h100"]}}
    assert violations(analyze(pack, run, exempt, resources=patched), "checkpoint-filesystem-mounted") == []


def test_checkpoint_rule_is_not_applicable_without_a_checkpoint(pack: Any) -> None:
    run = run_with(lambda c: c["storage"].pop("checkpoint"))
    result = analyze(pack, run, policy_config())
    assert not_applicable(result, "checkpoint-filesystem-mounted") == ["no storage.checkpoint"]


def test_an_unprotected_filesystem_in_prod_fails(pack: Any) -> None:
    run = stack_run("lambda")
    patched = [r.__class__(**{**r.__dict__, "protect": False}) if r.type == FILESYSTEM_TYPE else r
               for r in run.resources]
    assert violations(analyze(pack, run, policy_config(), resources=patched), "protect-stateful-in-prod")
