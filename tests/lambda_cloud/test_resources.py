"""The Pulumi dynamic providers against the checked stand-in: configuration (the API key only from secret stack
config or the environment), create/read/update/delete, diff with replacements where the Lambda API cannot update
(any launch-time input of an instance, filesystems, SSH keys, a ruleset's region), and what reaches state.

Sources: Lambda Cloud API reference v1.10.0 (https://docs.lambda.ai/api/cloud): POST /instances/{id} changes only
``name``; PATCH /firewall-rulesets/{id} changes ``name`` and ``rules``; filesystems and SSH keys have no update.
pulumi/pulumi#17673: dynamic providers get the stack config in ``configure``.
"""

from __future__ import annotations

import base64
from typing import Any

import dill
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider

from components.providers.lambda_cloud import resources
from components.providers.lambda_cloud.api import Timeouts
from tests.lambda_cloud.conftest import API_KEY, FAST
from tests.lambda_cloud.fake_lambda import FakeLambda

GROUP = {"identity": "neocloud-lambda-lam-gpu", "name_prefix": "lam-gpu", "region": "us-east-1",
         "instance_type": "gpu_8x_h100_sxm5", "count": 2, "ssh_key_names": ["ops"], "file_system_names": [],
         "firewall_ruleset_ids": [], "image_family": None, "user_data": None, "tags": {"neocloud-cluster": "lam"},
         "active_timeout_s": 5, "poll_s": 0.01, "keep_partial": False}


def configured(kind: type[resources._LambdaProvider], server: FakeLambda,
               config: dict[str, Any] | None = None) -> Any:
    provider = kind(limits=FAST, timeouts=Timeouts(request_s=10, call_s=30, max_backoff_s=0.1))
    raw = {resources.API_KEY_CONFIG: API_KEY, resources.BASE_URL_CONFIG: server.url} if config is None else config
    provider.configure(ConfigureRequest(Config(raw, "neocloud")))
    return provider


@pytest.fixture(autouse=True)
def ssh_key(lambda_api: FakeLambda) -> None:
    lambda_api.state.keys["k"] = {"id": "k", "name": "ops", "public_key": "ssh-ed25519 AAAAC3Nza ops@example"}


def test_instance_group_lifecycle_and_state(lambda_api: FakeLambda) -> None:
    provider = configured(resources.InstanceGroupProvider, lambda_api)
    assert provider.check({}, dict(GROUP)).failures == []
    created = provider.create(dict(GROUP))
    outs = created.outs
    assert len(outs["instance_ids"]) == 2 and outs["ips"][0].startswith("198.51.100.")
    assert created.id == outs["generation"] and created.id.startswith(GROUP["identity"])
    assert "jupyter" not in repr(outs) and API_KEY not in repr(outs)
    grown = provider.update(created.id, outs, {**GROUP, "count": 3}).outs
    assert grown["instance_ids"][:2] == outs["instance_ids"] and len(grown["instance_ids"]) == 3
    shrunk = provider.update(created.id, grown, {**GROUP, "count": 1}).outs
    assert shrunk["instance_ids"] == outs["instance_ids"][:1]
    assert provider.read(created.id, shrunk).outs["instance_ids"] == shrunk["instance_ids"]
    provider.delete(created.id, shrunk)
    assert provider.read(created.id, shrunk).id is None
    assert all(i["status"] == "terminated" for i in lambda_api.state.instances.values())


def test_delete_also_terminates_orphans_of_a_lost_answer(lambda_api: FakeLambda) -> None:
    provider = configured(resources.InstanceGroupProvider, lambda_api)
    created = provider.create({**GROUP, "count": 1})
    token = created.outs["generation"]
    orphan = provider.client().launch_instance(resources.ops.LaunchSpec(
        region="us-east-1", instance_type="gpu_8x_h100_sxm5", ssh_key_names=("ops",)).request(
        name="lam-gpu-1", token=token, index=1))[0]
    provider.delete(created.id, created.outs)
    assert lambda_api.state.instances.get(orphan, {"status": "terminated"})["status"] == "terminated"


@pytest.mark.parametrize("key", ["instance_type", "region", "ssh_key_names", "file_system_names",
                                 "firewall_ruleset_ids", "image_family", "user_data", "tags", "name_prefix"])
def test_launch_time_inputs_replace_the_group_deleting_first(key: str) -> None:
    provider = resources.InstanceGroupProvider()
    changed = {**GROUP, key: ["other"] if isinstance(GROUP[key], list) else {"a": "b"} if key == "tags" else "x"}
    diff = provider.diff("id", GROUP, changed)
    assert diff.changes and diff.replaces == [key] and diff.delete_before_replace
    assert resources.generation_token(changed) != resources.generation_token(GROUP)  # never adopts the old ones


@pytest.mark.parametrize(("key", "value"), [("count", 5), ("active_timeout_s", 60), ("poll_s", 3),
                                            ("keep_partial", True)])
def test_count_and_waiting_settings_update_in_place(key: str, value: object) -> None:
    diff = resources.InstanceGroupProvider().diff("id", GROUP, {**GROUP, key: value})
    assert diff.changes and diff.replaces == []
    assert resources.generation_token({**GROUP, key: value}) == resources.generation_token(GROUP)
    assert not resources.InstanceGroupProvider().diff("id", GROUP, dict(GROUP)).changes


@pytest.mark.parametrize(("change", "path"), [
    ({"count": 0}, "count"), ({"count": 1.5}, "count"), ({"ssh_key_names": ["a", "b"]}, "ssh_key_names"),
    ({"ssh_key_names": []}, "ssh_key_names"), ({"name_prefix": "Lam_GPU"}, "name_prefix"),
    ({"name_prefix": "x" * 62, "count": 10}, "name_prefix"), ({"region": ""}, "region"),
    ({"tags": {"Bad Key": "v"}}, "tags.Bad Key"),
])
def test_check_refuses_what_the_launch_request_would(change: dict[str, Any], path: str) -> None:
    failures = resources.InstanceGroupProvider().check({}, {**GROUP, **change}).failures
    assert [f.property for f in failures] == [path]


def test_filesystem_provider_adopts_and_replaces(lambda_api: FakeLambda) -> None:
    provider = configured(resources.FilesystemProvider, lambda_api)
    # A filesystem of that name already in the account (e.g. created by a run whose answer was lost; the lost-answer
    # path itself is test_ops' test_filesystem_create_adopt_and_region_conflict) is adopted, not created twice.
    provider.client().create_filesystem(name="lam-checkpoints", region="us-east-1")
    created = provider.create({"name": "lam-checkpoints", "region": "us-east-1"})
    assert len(lambda_api.requests("POST /filesystems")) == 1
    assert created.outs["adopted"] and created.outs["mount_point"] == "/lambda/nfs/lam-checkpoints"
    old = {"name": "lam-checkpoints", "region": "us-east-1"}
    moved = provider.diff(created.id, old, {**old, "region": "us-west-1"})
    assert moved.replaces == ["region"] and moved.delete_before_replace  # same name: the old one must go first
    renamed = provider.diff(created.id, old, {**old, "name": "lam-ckpt2"})
    assert renamed.replaces == ["name"] and not renamed.delete_before_replace
    assert [f.property for f in provider.check({}, {"name": "9lives", "region": "r"}).failures] == ["name"]
    provider.delete(created.id, created.outs)
    assert provider.read(created.id, created.outs).id is None


def test_firewall_ruleset_provider_updates_rules_in_place(lambda_api: FakeLambda) -> None:
    provider = configured(resources.FirewallRulesetProvider, lambda_api)
    rules = [{"protocol": "tcp", "port_range": [22.0, 22.0], "source_network": "203.0.113.0/24",
              "description": "ssh from the office"}]
    props = {"name": "lam-fw", "region": "us-east-1", "rules": rules}
    created = provider.create(dict(props))  # float ports (as the engine sends numbers) go out as integers
    assert lambda_api.state.rulesets[created.id]["rules"][0]["port_range"] == [22, 22]
    tighter = {**props, "rules": [{**rules[0], "source_network": "203.0.113.7/32"}]}
    diff = provider.diff(created.id, props, tighter)
    assert diff.changes and diff.replaces == []
    provider.update(created.id, created.outs, tighter)
    assert lambda_api.state.rulesets[created.id]["rules"][0]["source_network"] == "203.0.113.7/32"
    assert provider.diff(created.id, props, {**props, "region": "us-west-1"}).replaces == ["region"]
    provider.delete(created.id, created.outs)
    assert created.id not in lambda_api.state.rulesets


@pytest.mark.parametrize(("rule", "path"), [
    ({"protocol": "sctp", "port_range": [1, 2], "source_network": "10.0.0.0/8"}, "rules[0].protocol"),
    ({"protocol": "tcp", "source_network": "10.0.0.0/8"}, "rules[0].port_range"),
    ({"protocol": "tcp", "port_range": [443, 80], "source_network": "10.0.0.0/8"}, "rules[0].port_range"),
    ({"protocol": "icmp", "port_range": [1, 1], "source_network": "10.0.0.0/8"}, "rules[0].port_range"),
    ({"protocol": "udp", "port_range": [1, 70000], "source_network": "10.0.0.0/8"}, "rules[0].port_range"),
    ({"protocol": "all", "port_range": [1, 65535], "source_network": "not-a-cidr"}, "rules[0].source_network"),
    ({"protocol": "tcp", "port_range": [22, 22], "source_network": "10.0.0.0/8", "description": "d" * 129},
     "rules[0].description"),
])
def test_firewall_rules_follow_the_firewall_rule_schema(rule: dict[str, Any], path: str) -> None:
    assert [p for p, _ in resources.firewall_rule_problems([rule])] == [path]


def test_generated_ssh_key_private_key_is_an_output_and_replaced_on_change(lambda_api: FakeLambda) -> None:
    provider = configured(resources.SshKeyProvider, lambda_api)
    created = provider.create({"name": "lam-admin", "public_key": None})
    assert created.outs["private_key"].startswith("-----BEGIN") and not created.outs["adopted"]
    old = {"name": "lam-admin", "public_key": None}
    diff = provider.diff(created.id, old, {**old, "public_key": "ssh-ed25519 AAAAnew x"})
    assert diff.replaces == ["public_key"] and diff.delete_before_replace
    provider.delete(created.id, created.outs)
    assert created.id not in lambda_api.state.keys


def test_the_api_key_comes_only_from_config_or_environment(lambda_api: FakeLambda,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(resources.API_KEY_ENV, raising=False)
    unconfigured = configured(resources.FilesystemProvider, lambda_api, config={})
    with pytest.raises(ValueError, match=r"pulumi config set --secret lambda:apiKey"):
        unconfigured.client()
    monkeypatch.setenv(resources.API_KEY_ENV, API_KEY)
    from_env = configured(resources.FilesystemProvider, lambda_api,
                          config={resources.BASE_URL_CONFIG: lambda_api.url})
    assert from_env.client().list_filesystems() == []


def test_the_serialized_provider_never_holds_the_key(lambda_api: FakeLambda) -> None:
    provider = configured(resources.InstanceGroupProvider, lambda_api)
    blob = base64.b64decode(serialize_provider(provider))
    assert API_KEY.encode() not in blob and lambda_api.url.encode() not in blob
    restored = dill.loads(blob)
    assert not hasattr(restored, "_api_key") and restored.limits == FAST


def test_rate_limits_come_from_config_when_not_given(lambda_api: FakeLambda) -> None:
    provider = resources.InstanceGroupProvider()
    provider.configure(ConfigureRequest(Config({resources.API_KEY_CONFIG: API_KEY,
                                                resources.LAUNCH_INTERVAL_CONFIG: "10"}, "neocloud")))
    assert provider.limits.launch_interval_s == 10 and provider.limits.request_interval_s == 1.0
