"""Zones decided once in the plan, Local Zones kept off the EKS control plane, and names AWS would reject refused by
the spec with one path-naming line before any resource is registered (issues #10 item 3, #11 defects 6 and 7).

Documented behaviour encoded here:
- EKS user guide, "Launch low-latency EKS clusters with AWS Local Zones": "Amazon EKS can't place network
  interfaces into your Local Zone subnets. This means that you must not specify Local Zone subnets when you create
  your cluster"; EKS networking requirements: subnets in at least two Availability Zones. P6e-GB200 UltraServer
  Capacity Blocks are in the Dallas Local Zone (EC2 user guide, capacity-blocks-launch).
- EC2 user guide, Regions and Zones: an Availability Zone is its Region code followed by a letter; regions are the
  ones in the AWS SDK's endpoint metadata (botocore data/endpoints.json).
- Tagging AWS resources, "Tag naming limits and requirements": keys up to 128, values up to 256 characters; the
  aws: prefix is reserved.
- Amazon S3 user guide, "General purpose bucket naming rules": no xn--, sthree- or amzn-s3-demo- prefix, 3-63
  characters, not an IP address.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from neocloud import SpecError, build_plan, load_cluster_spec
from neocloud.aws_rules import bucket_name_problem, known_regions, tag_problem, zone_kind
from neocloud.offline import run_program
from tests.aws.support import CAPACITY_BLOCK_END, aws_resources, by_id, gpu_node_groups, stack_config
from tests.conftest import REPO

DFW = "us-east-1-dfw-2a"
"""The Dallas Local Zone of us-east-1, where P6e-GB200 UltraServer Capacity Blocks are."""


def local_zone_gb200(cluster: dict[str, Any]) -> None:
    ids = ["cr-00000000000000001", "cr-00000000000000002"]
    cluster["pools"][0].update(system="p6e-gb200.36xlarge", nodes=36, min_nodes=0, zone=DFW,
                               capacity={"source": "capacity-block", "reservation_ids": ids})
    cluster["catalog"] = {"systems": {"p6e-gb200.36xlarge": {"efa_network_cards": 4}}}
    cluster["aws"] = {"reservation_instances": dict.fromkeys(ids, 18),
                      "capacity_block_end_times": dict.fromkeys(ids, CAPACITY_BLOCK_END)}
    for queue in cluster["kubernetes"]["queues"]:
        queue["gpu_quota"] = 8


@pytest.fixture(scope="module")
def local_zone_run() -> Any:
    config, secrets = stack_config("dev", local_zone_gb200)
    return run_program(REPO, "dev", config=config, secret_keys=secrets)


def test_the_eks_control_plane_takes_availability_zone_subnets_only(local_zone_run: Any) -> None:
    ids = by_id(local_zone_run)
    (cluster,) = aws_resources(local_zone_run, "eks/cluster:Cluster")
    zones = [ids[s].inputs["availabilityZone"] for s in cluster.inputs["vpcConfig"]["subnetIds"]]
    assert DFW not in zones
    assert len(zones) >= 2 and all(zone_kind(z, "us-east-1") == "availability-zone" for z in zones)
    (system,) = [g for g in aws_resources(local_zone_run, "eks/nodeGroup:NodeGroup") if "-system-" in g.name]
    assert DFW not in [ids[s].inputs["availabilityZone"] for s in system.inputs["subnetIds"]]


def test_the_local_zone_pool_gets_its_own_subnet(local_zone_run: Any) -> None:
    ids = by_id(local_zone_run)
    for group in gpu_node_groups(local_zone_run):
        assert [ids[s].inputs["availabilityZone"] for s in group.inputs["subnetIds"]] == [DFW]


def test_zones_are_decided_in_the_plan() -> None:
    config, _ = stack_config("dev", local_zone_gb200)
    zones = build_plan(load_cluster_spec(config["neocloud:cluster"])).placement.zones
    assert zones.gpu == (DFW,)
    assert zones.control_plane == ("us-east-1a", "us-east-1b")
    assert zones.all == (DFW, "us-east-1a", "us-east-1b")


def dev_error(change: Any) -> SpecError:
    config, _ = stack_config("dev", change)
    with pytest.raises(SpecError) as info:
        load_cluster_spec(config["neocloud:cluster"])
    assert "\n" not in str(info.value)
    return info.value


@pytest.mark.parametrize(("change", "path", "text"), [
    (lambda c: c.update(region="us-east-9"), "region", "'us-east-9' is not an AWS region; known: us-east-1"),
    (lambda c: c.update(region="Virginia"), "region", "'Virginia' is not an AWS region"),
    (lambda c: c.update(zone="us-east-1 a"), "zone", "'us-east-1 a' is not a zone of region 'us-east-1'"),
    (lambda c: c["pools"][0].update(zone="us-west-2a"), "pools[0].zone", "'us-west-2a' is not a zone of region"),
    (lambda c: c.update(aws={"zones": ["useast1b"]}), "aws.zones[0]", "'useast1b' is not a zone of region"),
    (lambda c: c.update(aws={"zones": [DFW]}), "aws.zones[0]", f"'{DFW}' is a Local Zone; EKS cannot place"),
    (lambda c: c.update(aws={"tags": {"team": "x" * 257}}), "aws.tags.team",
     "tag 'team' has a value of 257 characters; AWS allows at most 256"),
    (lambda c: c.update(aws={"tags": {"k" * 129: "v"}}), f"aws.tags.{'k' * 40}", "has 129 characters; AWS allows"),
    (lambda c: c.update(aws={"tags": {"aws:owner": "me"}}), "aws.tags.aws:owner", "AWS reserves"),
    (lambda c: c.update(aws={"tags": {"cost": "a;b"}}), "aws.tags.cost", "characters AWS refuses"),
    (lambda c: c.update(name="xn--gpu", storage={"buckets": [{"purpose": "datasets"}]}), "name",
     "the cluster name starts the S3 bucket names (storage.buckets[0]: 'xn--gpu-datasets-xxxxxxx'): "),
    (lambda c: c.update(name="sthree-gpu", storage={"buckets": [{"purpose": "checkpoints"}]}), "name",
     "starts with 'sthree-', which S3 reserves"),
])
def test_names_and_values_aws_would_reject_are_refused_with_their_path(change: Any, path: str, text: str) -> None:
    error = dev_error(change)
    assert error.path == f"neocloud:cluster.{path}"
    assert text in error.message


def test_a_reserved_cluster_name_is_fine_without_buckets() -> None:
    config, _ = stack_config("dev", lambda c: c.update(name="xn--gpu", storage={}))
    load_cluster_spec(config["neocloud:cluster"])


def test_aws_tags_go_on_every_resource_through_the_provider() -> None:
    config, secrets = stack_config("dev", lambda c: c.update(aws={"tags": {"cost-center": "ml 42/a"}}))
    run = run_program(REPO, "dev", config=config, secret_keys=secrets)
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:aws"]
    # provider inputs travel as JSON strings (the engine's provider config)
    assert json.loads(provider.inputs["defaultTags"]) == {"tags": {"cost-center": "ml 42/a"}}


@pytest.mark.parametrize("change", [
    lambda c: c.update(aws={"zones": ["us-east-1z1"]}),
    lambda c: c.update(region="us-east-9"),
    # a placement the plan cannot make (the reservations hold too few nodes) used to fail after the cluster and
    # pool components were registered
    lambda c: c["pools"][0].update(capacity={"source": "reservation", "reservation_ids": ["cr-00000000000000001"]})
    or c.update(aws={"reservation_instances": {"cr-00000000000000001": 1}}),
    lambda c: c.update(aws={"capacity_block_drain_minutes": 30}),
])
def test_config_errors_register_no_resource(change: Any) -> None:
    config, secrets = stack_config("dev", change)
    with pytest.raises(SpecError) as info:
        run_program(REPO, "dev", config=config, secret_keys=secrets)
    assert info.value.registered_resources == 0, info.value


def test_the_rules_themselves() -> None:
    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= known_regions()
    assert zone_kind("us-east-1a", "us-east-1") == "availability-zone"
    assert zone_kind(DFW, "us-east-1") == "local-zone"
    assert zone_kind("us-west-2-lax-1a", "us-west-2") == "local-zone"
    assert zone_kind("us-east-1-wl1-bos-wlz-1", "us-east-1") is None  # a Wavelength Zone is no GPU capacity
    assert zone_kind("us-east-1a", "us-east-2") is None
    assert tag_problem("k", "v" * 256) is None and tag_problem("k", "v" * 257)
    assert tag_problem("k" * 128, "") is None and tag_problem("k" * 129, "")
    for bad in ("ab", "a" * 64, "Bad", "a..b", "192.168.5.4", "xn--a", "sthree-a", "amzn-s3-demo-a",
                "a-s3alias", "a--ol-s3", "a.mrap", "a--x-s3", "a--table-s3", "-ab", "ab-"):
        assert bucket_name_problem(bad), bad
    for good in ("abc", "a" * 63, "my-bucket.data", "prod-checkpoints-1a2b3c4"):
        assert bucket_name_problem(good) is None, good


def test_plan_json_carries_the_planned_placement() -> None:
    """`neocloud plan --json` shows the zones and blocks the provider builds from (one plan, read everywhere)."""
    from neocloud.cli.plan import plan_document
    from tests.conftest import stack_run

    doc = plan_document(stack_run("prod"))["placement"]
    config, _ = stack_config("prod")
    planned = build_plan(load_cluster_spec(config["neocloud:cluster"])).placement
    assert doc["zones"] == planned.zones.to_dict()
    assert [(b["name"], b["su"], b["ends_at"], b["scale_to_zero_at"]) for b in doc["blocks"]["train"]] == [
        (b.name, b.su, b.ends_at, b.scale_to_zero_at) for b in planned.blocks["train"]]
    assert plan_document(stack_run("staging"))["placement"] is None  # bare metal: no provider placement
