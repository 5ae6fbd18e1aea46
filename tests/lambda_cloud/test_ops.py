"""Idempotent workflows against the checked stand-in: create, adoption after a lost answer or a crashed run,
launch failure (insufficient capacity) with rollback or kept for adoption, waiting with deadlines, deletion.

The stand-in validates every request and answer against the shapes of the Lambda Cloud API reference v1.10.0
(https://docs.lambda.ai/api/cloud); see fake_lambda.py.
"""

from __future__ import annotations

import pytest

from components.providers.lambda_cloud import ops
from components.providers.lambda_cloud.api import (
    DeadlineExceeded,
    InsufficientCapacity,
    LambdaApiError,
    LambdaCloudClient,
)
from tests.lambda_cloud.fake_lambda import FakeLambda, Fault

LAUNCH = "POST /instance-operations/launch"
SPEC = ops.LaunchSpec(region="us-east-1", instance_type="gpu_8x_h100_sxm5", ssh_key_names=("ops",),
                      file_system_names=("ckpt",), tags={"neocloud-cluster": "lam"})
WAIT = ops.Waiter(timeout_s=5, poll_s=0.01)


@pytest.fixture(autouse=True)
def ssh_key(lambda_api: FakeLambda) -> None:
    lambda_api.state.keys["k"] = {"id": "k", "name": "ops", "public_key": "ssh-ed25519 AAAAC3Nza ops@example"}


def launched(server: FakeLambda) -> list[dict[str, object]]:
    return [s.body for s in server.requests(LAUNCH) if s.answered == 200]


def test_creates_count_instances_tagged_and_waits_until_active(lambda_api: FakeLambda,
                                                              client: LambdaCloudClient) -> None:
    lambda_api.boot_polls = 3
    instances = ops.ensure_instances(client, SPEC, token="tok-1", count=3, name_prefix="lam-gpu", waiter=WAIT)
    assert [i["status"] for i in instances] == ["active"] * 3
    assert [i["name"] for i in instances] == ["lam-gpu-0", "lam-gpu-1", "lam-gpu-2"]
    bodies = launched(lambda_api)
    assert len(bodies) == 3
    assert {"key": "neocloud-token", "value": "tok-1"} in bodies[0]["tags"]  # type: ignore[operator]
    assert bodies[2]["hostname"] == "lam-gpu-2" and bodies[2]["file_system_names"] == ["ckpt"]


def test_a_lost_launch_answer_is_adopted_not_launched_twice(lambda_api: FakeLambda,
                                                           client: LambdaCloudClient) -> None:
    lambda_api.fail(LAUNCH, Fault("apply-then-drop"))
    instances = ops.ensure_instances(client, SPEC, token="tok-2", count=2, name_prefix="lam-gpu", waiter=WAIT)
    assert len(instances) == 2
    assert len(lambda_api.requests(LAUNCH)) == 2  # the dropped one took effect and was adopted
    assert len(lambda_api.state.instances) == 2


def test_a_rerun_after_a_crash_adopts_everything(lambda_api: FakeLambda, client: LambdaCloudClient) -> None:
    first = ops.ensure_instances(client, SPEC, token="tok-3", count=2, name_prefix="lam-gpu", waiter=WAIT)
    again = ops.ensure_instances(client, SPEC, token="tok-3", count=2, name_prefix="lam-gpu", waiter=WAIT)
    assert [i["id"] for i in again] == [i["id"] for i in first]
    assert len(lambda_api.requests(LAUNCH)) == 2
    other = ops.ensure_instances(client, SPEC, token="tok-other", count=1, name_prefix="lam-x", waiter=WAIT)
    assert other[0]["id"] not in {i["id"] for i in first}  # another token never adopts these


def test_insufficient_capacity_rolls_back_what_this_call_launched(lambda_api: FakeLambda,
                                                                 client: LambdaCloudClient) -> None:
    lambda_api.capacity = {("gpu_8x_h100_sxm5", "us-east-1"): 2}
    with pytest.raises(InsufficientCapacity):
        ops.ensure_instances(client, SPEC, token="tok-4", count=3, name_prefix="lam-gpu", waiter=WAIT)
    assert {i["status"] for i in lambda_api.state.instances.values()} <= {"terminated"}
    assert ops.group_instances(client, "tok-4") == {}


def test_kept_partial_launches_are_adopted_when_capacity_returns(lambda_api: FakeLambda,
                                                                client: LambdaCloudClient) -> None:
    lambda_api.capacity = {("gpu_8x_h100_sxm5", "us-east-1"): 2}
    with pytest.raises(InsufficientCapacity):
        ops.ensure_instances(client, SPEC, token="tok-5", count=3, name_prefix="lam-gpu", waiter=WAIT,
                             keep_partial=True)
    assert sorted(ops.group_instances(client, "tok-5")) == [0, 1]
    lambda_api.capacity[("gpu_8x_h100_sxm5", "us-east-1")] = 1
    instances = ops.ensure_instances(client, SPEC, token="tok-5", count=3, name_prefix="lam-gpu", waiter=WAIT)
    assert len(instances) == 3 and len(launched(lambda_api)) == 3


def test_an_instance_that_ends_while_booting_fails_the_create(lambda_api: FakeLambda,
                                                             client: LambdaCloudClient) -> None:
    lambda_api.boot_polls = 50
    ids = client.launch_instance(SPEC.request(name="lam-gpu-0", token="tok-6", index=0))
    lambda_api.state.instances[ids[0]]["status"] = "preempted"
    with pytest.raises(ops.InstanceFailed, match="preempted"):
        ops.wait_active(client, token="tok-6", count=1, waiter=WAIT)


def test_waiting_for_active_has_a_deadline(lambda_api: FakeLambda, client: LambdaCloudClient) -> None:
    lambda_api.boot_polls = 10_000
    with pytest.raises(DeadlineExceeded, match=r"slot 0: booting"):
        ops.ensure_instances(client, SPEC, token="tok-7", count=1, name_prefix="lam-gpu",
                             waiter=ops.Waiter(timeout_s=0.2, poll_s=0.02))
    assert ops.group_instances(client, "tok-7") == {}  # rolled back


def test_terminate_waits_until_gone_and_tolerates_missing(lambda_api: FakeLambda, client: LambdaCloudClient) -> None:
    instances = ops.ensure_instances(client, SPEC, token="tok-8", count=2, name_prefix="lam-gpu", waiter=WAIT)
    ops.terminate_and_wait(client, [str(i["id"]) for i in instances] + ["never-existed"], waiter=WAIT)
    assert ops.group_instances(client, "tok-8") == {}


def test_filesystem_create_adopt_and_region_conflict(lambda_api: FakeLambda, client: LambdaCloudClient) -> None:
    lambda_api.fail("POST /filesystems", Fault("apply-then-drop"))
    fs, adopted = ops.ensure_filesystem(client, name="lam-checkpoints", region="us-east-1")
    assert adopted and fs["mount_point"] == "/lambda/nfs/lam-checkpoints"
    assert len(lambda_api.requests("POST /filesystems")) == 1
    again, adopted = ops.ensure_filesystem(client, name="lam-checkpoints", region="us-east-1")
    assert adopted and again["id"] == fs["id"]
    with pytest.raises(ops.Conflict, match="unique per account"):
        ops.ensure_filesystem(client, name="lam-checkpoints", region="us-west-1")


def test_a_mounted_filesystem_is_not_deleted(lambda_api: FakeLambda, client: LambdaCloudClient) -> None:
    fs, _ = ops.ensure_filesystem(client, name="ckpt", region="us-east-1")
    instances = ops.ensure_instances(client, SPEC, token="tok-9", count=1, name_prefix="lam-gpu", waiter=WAIT)
    with pytest.raises(LambdaApiError) as caught:
        client.delete_filesystem(str(fs["id"]))
    assert caught.value.code == "filesystems/filesystem-in-use"
    ops.terminate_and_wait(client, [str(instances[0]["id"])], waiter=WAIT)
    client.delete_filesystem(str(fs["id"]))
    client.delete_filesystem(str(fs["id"]))  # already gone: fine


def test_firewall_ruleset_adopted_after_lost_answer_and_patched(lambda_api: FakeLambda,
                                                               client: LambdaCloudClient) -> None:
    rules = [{"protocol": "tcp", "port_range": [22, 22], "source_network": "203.0.113.0/24", "description": "ssh"}]
    lambda_api.fail("POST /firewall-rulesets", Fault("apply-then-drop"))
    ruleset, adopted = ops.ensure_firewall_ruleset(client, name="lam-fw", region="us-east-1", rules=rules)
    assert adopted and ruleset["rules"] == rules
    tighter = [{**rules[0], "source_network": "203.0.113.7/32"}]
    ruleset, adopted = ops.ensure_firewall_ruleset(client, name="lam-fw", region="us-east-1", rules=tighter)
    assert adopted and ruleset["rules"] == tighter
    assert len(lambda_api.requests("POST /firewall-rulesets")) == 1
    assert len(lambda_api.requests("PATCH /firewall-rulesets/{id}")) == 1


def test_ssh_keys_uploaded_adopted_generated_and_conflicting(lambda_api: FakeLambda,
                                                            client: LambdaCloudClient) -> None:
    key, adopted = ops.ensure_ssh_key(client, name="ops", public_key="ssh-ed25519 AAAAC3Nza other-comment")
    assert adopted and key["id"] == "k"  # same key material, comment aside
    with pytest.raises(ops.Conflict, match="different key"):
        ops.ensure_ssh_key(client, name="ops", public_key="ssh-ed25519 AAAAdifferent x")
    lambda_api.fail("POST /ssh-keys", Fault("apply-then-drop"))
    generated, adopted = ops.ensure_ssh_key(client, name="gen", public_key=None)
    assert not adopted and generated["private_key"].startswith("-----BEGIN")  # lost one deleted, made again
    assert [k["name"] for k in lambda_api.state.keys.values()].count("gen") == 1
    with pytest.raises(ops.Conflict, match="cannot be recovered"):
        ops.ensure_ssh_key(client, name="gen", public_key=None)
