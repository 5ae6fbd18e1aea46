"""Capacity Block node groups (issue #11, defect 6): an update strategy that needs no spare capacity, and a scale
to zero before the block ends, from the end time the spec gives.

Documented behaviour encoded here:
- EKS API, NodegroupUpdateConfig.updateStrategy: DEFAULT "launches the new instances first, before terminating the
  old instances"; MINIMAL "terminates the old instances before launching the new instances ... useful in scenarios
  where you are constrained to resources or costs (for example, with hardware accelerators such as GPUs)". A
  Capacity Block or Capacity Reservation holds no spare instance to launch first.
- EKS user guide, "Create a managed node group with Capacity Blocks for ML": pods are drained before the
  reservation ends by a scheduled scaling policy that scales the node group to 0 (EKS's own runs 40 minutes before
  the end); EC2 begins terminating the instances 30 minutes before the end (60 for UltraServers; EC2 user guide,
  capacity-blocks-monitor). Capacity Blocks end at 11:30 UTC (EC2 user guide, Capacity Blocks for ML).
- EC2 Auto Scaling API, PutScheduledUpdateGroupAction: StartTime "in YYYY-MM-DDThh:mm:ssZ format in UTC/GMT only";
  the scheduled action runs on moto's Auto Scaling here.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from neocloud import SpecError, load_cluster_spec
from tests.aws.support import CAPACITY_BLOCK_END, aws_resources, gpu_node_groups, stack_config, variant_run

EKS_SCALEDOWN_MINUTES = 40
EC2_TERMINATION_MINUTES = {"p5.48xlarge": 30, "p6e-gb200.36xlarge": 60}


@pytest.fixture(scope="module")
def moto_autoscaling(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """An Auto Scaling client on a moto server on 127.0.0.1 and one group of 2 instances."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch_module.delenv(key, raising=False)
    monkeypatch_module.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch_module.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        url = f"http://{host}:{port}"
        ec2 = boto3.client("ec2", region_name="us-east-2", endpoint_url=url)
        template = ec2.create_launch_template(LaunchTemplateName="lt", LaunchTemplateData={
            "ImageId": "ami-12c6146b", "InstanceType": "p5.48xlarge"})["LaunchTemplate"]["LaunchTemplateId"]
        client = boto3.client("autoscaling", region_name="us-east-2", endpoint_url=url)
        client.create_auto_scaling_group(AutoScalingGroupName="eks-prod-train-b0", MinSize=2, MaxSize=2,
                                         DesiredCapacity=2, AvailabilityZones=["us-east-2b"],
                                         LaunchTemplate={"LaunchTemplateId": template})
        yield client, "eks-prod-train-b0"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def schedules(variant: str) -> list[Any]:
    return aws_resources(variant_run(variant), "autoscaling/schedule:Schedule")


@pytest.mark.parametrize("variant", ["prod", "gb200", "grouped_blocks", "odcr"])
def test_reserved_capacity_updates_terminate_before_they_launch(variant: str) -> None:
    for group in gpu_node_groups(variant_run(variant)):
        assert group.inputs["updateConfig"] == {"maxUnavailable": 1, "updateStrategy": "MINIMAL"}, group.name


def test_on_demand_node_groups_keep_the_default_strategy() -> None:
    (group,) = gpu_node_groups(variant_run("dev"))
    assert "updateStrategy" not in group.inputs["updateConfig"]  # DEFAULT: on-demand capacity can launch first


@pytest.mark.parametrize(("variant", "system"), [("prod", "p5.48xlarge"), ("gb200", "p6e-gb200.36xlarge"),
                                                 ("grouped_blocks", "p5.48xlarge")])
def test_every_capacity_block_node_group_scales_to_zero_before_its_block_ends(variant: str, system: str) -> None:
    groups = gpu_node_groups(variant_run(variant))
    found = schedules(variant)
    assert len(found) == len(groups) > 0
    end = datetime.fromisoformat(CAPACITY_BLOCK_END)
    # each on its own node group's Auto Scaling group (EKS names it eks-<nodegroup>-<uuid>)
    owners = sorted(next(g.name for g in groups if s.inputs["autoscalingGroupName"].startswith(f"eks-{g.name}-"))
                    for s in found)
    assert owners == sorted(g.name for g in groups)
    for schedule in found:
        start = schedule.inputs["startTime"]
        assert start.endswith("Z") and datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ")
        lead = end - datetime.fromisoformat(start.replace("Z", "+00:00"))
        # before EKS's own scale-down and before EC2 starts terminating the instances
        assert lead > timedelta(minutes=max(EKS_SCALEDOWN_MINUTES, EC2_TERMINATION_MINUTES[system]))
        assert (schedule.inputs["minSize"], schedule.inputs["desiredCapacity"]) == (0, 0)
        assert schedule.inputs["maxSize"] == -1  # unchanged
        assert "recurrence" not in schedule.inputs  # once


def test_no_scale_down_without_capacity_blocks() -> None:
    assert schedules("dev") == [] and schedules("odcr") == []


def test_the_scale_down_time_comes_from_the_spec() -> None:
    config, _ = stack_config("prod")
    raw = copy.deepcopy(config["neocloud:cluster"])
    raw["aws"]["capacity_block_end_times"] = {"cr-0a1b2c3d4e5f60718": "2027-01-08T11:30:00Z",
                                              "cr-0f1e2d3c4b5a69788": "2027-02-05T11:30:00Z"}
    raw["aws"]["capacity_block_drain_minutes"] = 120
    from neocloud import build_plan

    blocks = build_plan(load_cluster_spec(raw)).placement.blocks["train"]
    assert [(b.ends_at, b.scale_to_zero_at) for b in blocks] == [
        ("2027-01-08T11:30:00Z", "2027-01-08T09:30:00Z"), ("2027-02-05T11:30:00Z", "2027-02-05T09:30:00Z")]
    # blocks ending at different times never share a node group, even when allowed to
    raw["aws"]["reservations_per_node_group"] = 2
    assert len(build_plan(load_cluster_spec(raw)).placement.blocks["train"]) == 2


def prod_error(**aws: Any) -> str:
    config, _ = stack_config("prod")
    raw = copy.deepcopy(config["neocloud:cluster"])
    raw["aws"].update(aws)
    with pytest.raises(SpecError) as info:
        load_cluster_spec(raw)
    return str(info.value)


def test_capacity_block_ends_are_required_and_validated() -> None:
    assert prod_error(capacity_block_end_times={}) == (
        "neocloud:cluster.aws.capacity_block_end_times: required for Capacity Block 'cr-0a1b2c3d4e5f60718' "
        "(pools[0].capacity.reservation_ids[0]): its EndDate, e.g. 2027-01-08T11:30:00Z")
    assert prod_error(capacity_block_end_times={"cr-0a1b2c3d4e5f60718": "2027-01-08T12:00:00Z",
                                                "cr-0f1e2d3c4b5a69788": CAPACITY_BLOCK_END}).startswith(
        "neocloud:cluster.aws.capacity_block_end_times.cr-0a1b2c3d4e5f60718: 2027-01-08T12:00:00+00:00 is not a "
        "Capacity Block end: blocks end at 11:30 UTC")
    # a time without a zone is ambiguous: refused by the schema
    assert prod_error(capacity_block_end_times={"cr-0a1b2c3d4e5f60718": "2027-01-08T11:30:00",
                                                "cr-0f1e2d3c4b5a69788": CAPACITY_BLOCK_END}).startswith(
        "neocloud:cluster.aws.capacity_block_end_times.cr-0a1b2c3d4e5f60718:")
    assert prod_error(capacity_block_end_times={"cr-0a1b2c3d4e5f60718": CAPACITY_BLOCK_END,
                                                "cr-0f1e2d3c4b5a69788": CAPACITY_BLOCK_END,
                                                "cr-00000000000000009": CAPACITY_BLOCK_END}).startswith(
        "neocloud:cluster.aws.capacity_block_end_times.cr-00000000000000009: 'cr-00000000000000009' is not a "
        "Capacity Block")
    # EKS's own scale-down runs 40 minutes before the end: ours runs first
    assert prod_error(capacity_block_drain_minutes=40).startswith(
        "neocloud:cluster.aws.capacity_block_drain_minutes: got 40; allowed: a number >= 41")


def test_ultraserver_blocks_drain_before_ec2_terminates_them_60_minutes_ahead() -> None:
    config, _ = stack_config("dev")
    raw = copy.deepcopy(config["neocloud:cluster"])
    ids = ["cr-00000000000000001", "cr-00000000000000002"]
    raw["pools"][0].update(system="p6e-gb200.36xlarge", nodes=36, min_nodes=0,
                           capacity={"source": "capacity-block", "reservation_ids": ids})
    raw["catalog"] = {"systems": {"p6e-gb200.36xlarge": {"efa_network_cards": 4}}}
    raw["kubernetes"]["queues"] = []
    raw["aws"] = {"reservation_instances": dict.fromkeys(ids, 18),
                  "capacity_block_end_times": dict.fromkeys(ids, CAPACITY_BLOCK_END),
                  "capacity_block_drain_minutes": 50}
    with pytest.raises(SpecError) as info:
        load_cluster_spec(raw)
    assert str(info.value).startswith("neocloud:cluster.aws.capacity_block_drain_minutes: 50 minutes: EC2 starts "
                                      "terminating p6e-gb200.36xlarge Capacity Block instances 60 minutes")
    raw["aws"]["capacity_block_drain_minutes"] = 61
    load_cluster_spec(raw)


def test_moto_auto_scaling_runs_the_scale_down_as_planned(moto_autoscaling: Any) -> None:
    """The scheduled action's inputs as EC2 Auto Scaling takes them (PutScheduledUpdateGroupAction; Pulumi's -1
    for MaxSize means the provider leaves MaxSize out)."""
    (schedule, *_) = schedules("prod")
    client, group = moto_autoscaling
    start = datetime.strptime(schedule.inputs["startTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    client.put_scheduled_update_group_action(
        AutoScalingGroupName=group, ScheduledActionName=schedule.inputs["scheduledActionName"], StartTime=start,
        MinSize=schedule.inputs["minSize"], DesiredCapacity=schedule.inputs["desiredCapacity"])
    (action,) = client.describe_scheduled_actions(AutoScalingGroupName=group)["ScheduledUpdateGroupActions"]
    assert action["StartTime"] == start
    assert (action["MinSize"], action["DesiredCapacity"]) == (0, 0)
    assert "MaxSize" not in action or action["MaxSize"] is None
