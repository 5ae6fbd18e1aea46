"""``topology import``: the cluster's instances come from moto (DescribeInstances, DescribeInstanceTypes); the
topology itself from ``Stubber`` (moto does not serve DescribeInstanceTopology), or from a saved response file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.aws_ops import AwsSession
from neocloud.aws_ops.topology import (
    BLOCK_TAG,
    HOSTNAME_LABEL,
    build_import,
    cluster_instances,
    describe_instance_topology,
    kueue_topology,
    level_labels,
    parse_topology_document,
)
from neocloud.cli import main
from neocloud.plan import build_plan
from neocloud.spec import load_cluster_spec
from tests.aws_ops.conftest import REGION, aws_cluster, launch
from tests.conftest import REPO

LAYERS3 = ["topology.k8s.aws/network-node-layer-1", "topology.k8s.aws/network-node-layer-2",
           "topology.k8s.aws/network-node-layer-3"]


def _entry(instance_id: str, nodes: list[str], zone: str = "us-east-2b", itype: str = "p5.48xlarge") -> dict[str, Any]:
    return {"InstanceId": instance_id, "InstanceType": itype, "NetworkNodes": nodes, "AvailabilityZone": zone,
            "ZoneId": "use2-az2"}


def test_cluster_instances_are_the_tagged_running_gpu_instances(session: AwsSession, raw_client: Any,
                                                                unique: Any) -> None:
    ec2 = raw_client("ec2")
    cluster = unique("gpu")
    gpus = launch(ec2, cluster, 3)
    launch(ec2, cluster, 1, instance_type="m5.large")  # a system node: no GPU, no topology labels wanted
    launch(ec2, unique("other"), 1)  # another cluster's GPU node
    stopped = launch(ec2, cluster, 1)
    ec2.stop_instances(InstanceIds=[stopped[0]["InstanceId"]])
    found = cluster_instances(session.client("ec2"), cluster)
    assert sorted(i.instance_id for i in found) == sorted(i["InstanceId"] for i in gpus)
    assert {i.node_name for i in found} == {i["PrivateDnsName"] for i in gpus}
    assert all(i.instance_type == "p5.48xlarge" and i.zone == f"{REGION}b" for i in found)
    assert [i.node_name for i in found] == sorted(i.node_name for i in found)


def test_cluster_instances_by_another_tag(session: AwsSession, raw_client: Any, unique: Any) -> None:
    name = unique("selfmanaged")
    launched = launch(raw_client("ec2"), "unrelated", 1, tags={f"kubernetes.io/cluster/{name}": "owned"})
    found = cluster_instances(session.client("ec2"), name, (f"kubernetes.io/cluster/{name}", "owned"))
    assert [i.instance_id for i in found] == [launched[0]["InstanceId"]]
    assert cluster_instances(session.client("ec2"), name) == []


def test_cli_bad_tag_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topology", "import", "--cluster", "c", "--tag", "no-equals-sign"]) == 2
    assert capsys.readouterr().err == "neocloud: error: --tag: expected KEY=VALUE; got 'no-equals-sign'\n"


def test_import_labels_levels_and_a_pool_spread_over_too_many_layer3_nodes(session: AwsSession, raw_client: Any,
                                                                           unique: Any) -> None:
    cluster = unique("spread")
    launch(raw_client("ec2"), cluster, 2, tags={"eks:nodegroup-name": "train-b0"})
    launch(raw_client("ec2"), cluster, 1, tags={"neocloud.io/pool": "train"})
    ec2 = session.client("ec2")
    instances = cluster_instances(ec2, cluster)  # served by moto
    ids = [i.instance_id for i in instances]
    nodes = [["nn-top", "nn-mid", "nn-leaf-a"], ["nn-top", "nn-mid", "nn-leaf-a"], ["nn-top", "nn-mid", "nn-leaf-b"]]
    with Stubber(ec2) as stub:  # from here on, this client answers from the stub
        stub.add_response("describe_instance_topology",
                          {"Instances": [_entry(i, n) for i, n in zip(ids, nodes, strict=True)]}, {"InstanceIds": ids})
        topology = describe_instance_topology(ec2, ids)
        stub.assert_no_pending_responses()
    plan = build_plan(load_cluster_spec(aws_cluster(pools=[{"name": "train", "system": "p5.48xlarge", "nodes": 3}])))
    result = build_import(cluster, topology, instances=instances, plan=plan)
    doc = result.to_dict()
    assert doc["layers"] == 3
    assert doc["levels"] == [*LAYERS3, HOSTNAME_LABEL]
    by_name = {i.node_name: i.instance_id for i in instances}
    assert set(doc["nodes"]) == set(by_name)
    first = doc["nodes"][instances[0].node_name]
    assert first["pool"] == "train" and first["instance_id"] == ids[0]
    assert first["labels"] == dict(zip(LAYERS3, nodes[0], strict=True))
    (violation,) = doc["violations"]
    assert violation["kind"] == "spread" and violation["allowed"] == 1 and violation["placement_blocks"] == 1
    assert violation["instances"] == [ids[2]]
    assert violation["network_nodes"] == {"nn-leaf-a": 2, "nn-leaf-b": 1}
    assert violation["message"] == (f"pool train spans 2 layer-3 network nodes; its 1 placement block(s) allow 1: "
                                    f"1 instance(s) outside nn-leaf-a: {ids[2]}")
    loose = build_import(cluster, topology, instances=instances, plan=plan, max_per_block=2)
    assert loose.violations == []


def test_each_tagged_placement_block_must_sit_under_its_own_layer3_nodes(session: AwsSession, raw_client: Any,
                                                                         unique: Any) -> None:
    cluster = unique("blocks")
    ec2 = raw_client("ec2")
    for block, count in (("train-b0", 3), ("train-b1", 2)):
        launch(ec2, cluster, count, tags={"neocloud.io/pool": "train", BLOCK_TAG: block})
    client = session.client("ec2")
    instances = cluster_instances(client, cluster)
    block_of = {i.instance_id: i.tags[BLOCK_TAG] for i in instances}
    b0 = sorted(i for i, b in block_of.items() if b == "train-b0")
    b1 = sorted(i for i, b in block_of.items() if b == "train-b1")
    # Block b0 straddles two layer-3 nodes; b1 sits under one. Together they use 3 nodes, which the pool-level
    # bound (2 blocks x 1) would also flag -- but the tags say which block is at fault.
    leaf = {b0[0]: "nn-x", b0[1]: "nn-x", b0[2]: "nn-y", b1[0]: "nn-z", b1[1]: "nn-z"}
    topology = parse_topology_document({"Instances": [_entry(i, ["nn-top", "nn-mid", leaf[i]]) for i in leaf]})
    plan = build_plan(load_cluster_spec(aws_cluster(pools=[{"name": "train", "system": "p5.48xlarge", "nodes": 5}])))
    result = build_import(cluster, topology, instances=instances, plan=plan, block_counts={"train": 2})
    (violation,) = result.violations
    assert violation["kind"] == "block-spread" and violation["placement_block"] == "train-b0"
    assert violation["instances"] == [b0[2]] and violation["network_nodes"] == {"nn-x": 2, "nn-y": 1}
    assert {n["placement_block"] for n in result.nodes.values()} == {"train-b0", "train-b1"}


def test_instances_outside_the_pool_zone_are_reported() -> None:
    plan = build_plan(load_cluster_spec(aws_cluster(pools=[{"name": "train", "system": "p5.48xlarge", "nodes": 2}])))
    topology = parse_topology_document({"Instances": [
        _entry("i-0000000000000000a", ["nn-1", "nn-2", "nn-3"]),
        _entry("i-0000000000000000b", ["nn-9", "nn-8", "nn-7"], zone="us-east-2a")]})
    result = build_import("c", topology, plan=plan, max_per_block=2)
    assert [(v["kind"], v["instances"]) for v in result.violations] == [("zone", ["i-0000000000000000b"])]


def test_describe_instance_topology_sends_at_most_100_ids_per_request(session: AwsSession) -> None:
    ec2 = session.client("ec2")
    ids = [f"i-{n:017x}" for n in range(150)]
    with Stubber(ec2) as stub:
        for chunk in (ids[:100], ids[100:]):
            stub.add_response("describe_instance_topology",
                              {"Instances": [_entry(i, ["nn-a", "nn-b", "nn-c"]) for i in chunk]},
                              {"InstanceIds": chunk})
        got = describe_instance_topology(ec2, ids)
        stub.assert_no_pending_responses()
    assert [t.instance_id for t in got] == ids


def test_describe_instance_topology_follows_pages(session: AwsSession) -> None:
    ec2 = session.client("ec2")
    ids = ["i-0000000000000000a", "i-0000000000000000b"]
    with Stubber(ec2) as stub:
        stub.add_response("describe_instance_topology", {"Instances": [_entry(ids[0], ["n1", "n2", "n3"])],
                                                         "NextToken": "page-2"}, {"InstanceIds": ids})
        stub.add_response("describe_instance_topology", {"Instances": [_entry(ids[1], ["n1", "n2", "n4"])]},
                          {"InstanceIds": ids, "NextToken": "page-2"})
        got = describe_instance_topology(ec2, ids)
    assert [t.network_nodes[-1] for t in got] == ["n3", "n4"]


def test_four_layer_types_get_four_layer_levels() -> None:
    topology = parse_topology_document({"Instances": [
        _entry("i-0000000000000000a", ["nn-1", "nn-2", "nn-3", "nn-4"], itype="p6-b200.48xlarge")]})
    result = build_import("c", topology)
    assert result.levels == [*LAYERS3, "topology.k8s.aws/network-node-layer-4", HOSTNAME_LABEL]
    assert result.nodes["i-0000000000000000a"]["labels"]["topology.k8s.aws/network-node-layer-4"] == "nn-4"


def test_kueue_topology_validates_against_the_vendored_crd(vendor: Path) -> None:
    crd = yaml.safe_load((vendor / "kueue" / "kueue.x-k8s.io_topologies.yaml").read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta2")
    obj = kueue_topology("aws-network", 3)
    jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"]).validate(obj)
    labels = [level["nodeLabel"] for level in obj["spec"]["levels"]]
    # The CRD's CEL rules (not checked by JSON Schema): unique labels, hostname only as the last level.
    assert len(set(labels)) == len(labels) and labels.index(HOSTNAME_LABEL) == len(labels) - 1
    assert labels == level_labels(3)
    assert obj["apiVersion"] == f"{crd['spec']['group']}/v1beta2" and obj["kind"] == crd["spec"]["names"]["kind"]


def _saved_response(tmp_path: Path, leaves: list[str]) -> Path:
    path = tmp_path / "topology.json"
    path.write_text(json.dumps({"Instances": [
        _entry(f"i-{n:017x}", ["nn-top", f"nn-mid-{n % 2}", leaf]) for n, leaf in enumerate(leaves)]}))
    return path


def test_cli_import_from_a_saved_response_against_the_prod_plan(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # prod: 128 p5.48xlarge on two Capacity Blocks of 64 = 2 placement blocks (one node group per reservation,
    # neocloud.plan.placement) -> at most 2 layer-3 nodes with --max-per-block 1.
    leaves = ["nn-l3-a", "nn-l3-a", "nn-l3-b", "nn-l3-c", "nn-l3-d", "nn-l3-e", "nn-l3-a", "nn-l3-b"]
    saved = _saved_response(tmp_path, leaves)
    out_file = tmp_path / "labels.yaml"
    code = main(["topology", "import", "--cluster", "prod", "--from-file", str(saved), "--stack", "prod",
                 "--project-dir", str(REPO), "--output", str(out_file)])
    captured = capsys.readouterr()
    assert code == 1
    doc = yaml.safe_load(out_file.read_text())
    assert doc["source"] == f"file:{saved}" and len(doc["nodes"]) == 8
    assert doc["kueue_topology"]["spec"]["levels"][-1] == {"nodeLabel": HOSTNAME_LABEL}
    (violation,) = doc["violations"]
    assert violation["allowed"] == 2 and violation["placement_blocks"] == 2
    assert violation["instances"] == [f"i-{n:017x}" for n in (3, 4, 5)]  # outside the two most populated leaves
    assert "pool train: 8 of 128 planned instances have topology" in doc["notes"]
    assert captured.out.startswith(f"wrote {out_file}: 8 node(s), 3 network layer(s)")
    assert captured.err.splitlines()[-1].startswith(
        "violation: pool train spans 5 layer-3 network nodes; its 2 placement block(s) allow 2: 3 instance(s) "
        "outside nn-l3-a, nn-l3-b")


def test_cli_import_that_fits_the_plan_prints_json_and_exits_0(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    saved = _saved_response(tmp_path, ["nn-l3-a", "nn-l3-a", "nn-l3-b"])
    assert main(["topology", "import", "--cluster", "prod", "--from-file", str(saved), "--stack", "prod",
                 "--project-dir", str(REPO)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["violations"] == [] and doc["levels"] == [*LAYERS3, HOSTNAME_LABEL]
    assert {n["pool"] for n in doc["nodes"].values()} == {"train"}


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "--from-file: not valid JSON: line 1 column 1: Expecting value"),
    ('{"Reservations": []}', "--from-file: expected a DescribeInstanceTopology response"),
    ('{"Instances": [{"NetworkNodes": []}]}', "--from-file: Instances[0]: expected an object with an 'InstanceId'"),
])
def test_cli_bad_saved_response_is_bad_input(tmp_path: Path, content: str, message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["topology", "import", "--cluster", "c", "--from-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"neocloud: error: {message.format(path=path)}") and err.count("\n") == 1


def test_cli_topology_needs_an_aws_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = _saved_response(tmp_path, ["a"])
    assert main(["topology", "import", "--cluster", "c", "--from-file", str(saved), "--stack", "staging",
                 "--project-dir", str(REPO)]) == 2
    assert "--stack: stack 'staging' is provider 'baremetal'" in capsys.readouterr().err


@settings(deadline=None)  # a shared 2-core machine: timing is not what is under test
@given(leaves=st.lists(st.sampled_from(["nn-a", "nn-b", "nn-c", "nn-d", "nn-e", "nn-f"]), min_size=1, max_size=40),
       per_block=st.integers(min_value=1, max_value=3))
def test_the_reported_instances_are_exactly_what_breaks_the_block_limit(leaves: list[str], per_block: int) -> None:
    plan = build_plan(load_cluster_spec(aws_cluster(
        pools=[{"name": "train", "system": "p5.48xlarge", "nodes": 40}], fabric={"kind": "efa", "nodes_per_su": 20})))
    topology = parse_topology_document({"Instances": [
        _entry(f"i-{n:017x}", ["nn-top", "nn-mid", leaf]) for n, leaf in enumerate(leaves)]})
    result = build_import("c", topology, plan=plan, max_per_block=per_block)
    allowed = 2 * per_block  # 40 nodes in SUs of 20: two placement blocks
    reported = {i for v in result.violations for i in v["instances"]}
    kept = {leaf for n, leaf in enumerate(leaves) if f"i-{n:017x}" not in reported}
    assert len(kept) <= allowed
    assert bool(result.violations) == (len(set(leaves)) > allowed)
    if result.violations:  # what stays is the most populated nodes: nothing reported outranks what is kept
        counts = {leaf: leaves.count(leaf) for leaf in set(leaves)}
        assert min(counts[k] for k in kept) >= max(counts[leaf] for n, leaf in enumerate(leaves)
                                                   if f"i-{n:017x}" in reported)
