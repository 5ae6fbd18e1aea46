"""The AWS provider under Pulumi's mock engine: the real inputs of what the program registers."""

from __future__ import annotations

import json
import logging

import pytest

from components.labels import ACCEPTANCE_TAINT, GPU_TAINT, cluster_tags
from neocloud import build_plan, load_cluster_spec
from neocloud.offline import ProgramRun, run_program
from neocloud.offline.mock_outputs.aws import physical_name
from neocloud.plan import ClusterPlan, size_fsx_lustre
from tests.aws.support import (
    VARIANTS,
    aws_resources,
    by_id,
    gpu_node_groups,
    gpu_templates,
    stack_config,
    variant_run,
)
from tests.conftest import REPO

LT = "ec2/launchTemplate:LaunchTemplate"
NG = "eks/nodeGroup:NodeGroup"
PG = "ec2/placementGroup:PlacementGroup"


def plan_of(name: str) -> ClusterPlan:
    """The plan of a variant, built from the same config the program ran with."""
    stack, mutate = VARIANTS[name]
    config, _ = stack_config(stack, mutate)
    return build_plan(load_cluster_spec(config["neocloud:cluster"]))


# --- EFA interfaces -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("variant", "cards"), [("dev", 32), ("p5en", 16), ("p4d", 4), ("gb200", 4)])
def test_one_efa_interface_per_network_card(variant: str, cards: int) -> None:
    templates = gpu_templates(variant_run(variant))
    assert templates
    for template in templates:
        interfaces = template.inputs["networkInterfaces"]
        assert len(interfaces) == cards
        assert [i["networkCardIndex"] for i in interfaces] == list(range(cards))
        primary, *others = interfaces
        assert (primary["interfaceType"], primary["deviceIndex"]) == ("efa", 0)
        assert all((i["interfaceType"], i["deviceIndex"]) == ("efa-only", 1) for i in others)


def test_p6_b300_has_an_ena_primary_and_efa_on_cards_1_to_16() -> None:
    # AWS-ACC: p6-b300.48xlarge has 17 network cards and 6,400 Gbps (16 x 400G EFA); the EC2 user guide: an ENA
    # primary on card 0 / device 0, then EFA-only at device index 0 on each further card.
    templates = gpu_templates(variant_run("p6b300"))
    assert templates
    for template in templates:
        primary, *efa = template.inputs["networkInterfaces"]
        assert (primary["networkCardIndex"], primary["deviceIndex"], primary["interfaceType"]) == (0, 0, "interface")
        assert [i["networkCardIndex"] for i in efa] == list(range(1, 17))
        assert all((i["interfaceType"], i["deviceIndex"]) == ("efa-only", 0) for i in efa)


def test_efa_interfaces_carry_the_efa_group_and_the_primary_the_cluster_group_too() -> None:
    run = variant_run("dev")
    efa_group = run.by_name("dev-efa-sg")
    ids = by_id(run)
    for template in gpu_templates(run):
        primary, *others = template.inputs["networkInterfaces"]
        assert ids[primary["securityGroups"][0]] is efa_group
        assert primary["securityGroups"][1] == "sg-dev-eks-cluster"  # the EKS cluster security group (mock)
        assert all(i["securityGroups"] == ["dev-efa-sg-id"] for i in others)


def test_efa_security_group_allows_only_itself() -> None:
    for variant in ("dev", "prod"):
        group = next(r for r in aws_resources(variant_run(variant), "ec2/securityGroup:SecurityGroup")
                     if r.name.endswith("-efa-sg"))
        rules = group.inputs["ingress"] + group.inputs["egress"]
        assert len(group.inputs["ingress"]) == len(group.inputs["egress"]) == 1
        assert all(r["self"] is True and r["protocol"] == "-1" for r in rules)
        assert "0.0.0.0/0" not in json.dumps(group.inputs)
        assert not any(r.get("cidrBlocks") for r in rules)


def test_no_security_group_admits_the_internet() -> None:
    for variant in ("dev", "prod"):
        for group in aws_resources(variant_run(variant), "ec2/securityGroup:SecurityGroup"):
            for rule in group.inputs.get("ingress", []):
                assert "0.0.0.0/0" not in rule.get("cidrBlocks", []), group.name


# --- zones, placement and capacity ----------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["dev", "prod", "odcr", "gb200", "scale100k", "two_pools"])
def test_every_gpu_node_group_sits_in_its_pool_zone_only(variant: str) -> None:
    run = variant_run(variant)
    plan = plan_of(variant)
    ids = by_id(run)
    for group in gpu_node_groups(run):
        pool = plan.pool(group.inputs["labels"]["neocloud.io/pool"])
        assert len(group.inputs["subnetIds"]) == 1
        subnet = ids[group.inputs["subnetIds"][0]]
        assert subnet.type == "aws:ec2/subnet:Subnet"
        assert subnet.inputs["availabilityZone"] == pool.zone
        assert subnet.inputs["mapPublicIpOnLaunch"] is False


def test_pools_in_two_zones_keep_their_own_capacity_and_share_the_control_plane() -> None:
    run = variant_run("two_pools")
    ids = by_id(run)
    groups = {g.inputs["labels"]["neocloud.io/pool"]: g for g in gpu_node_groups(run)}
    assert set(groups) == {"train", "infer"}
    assert groups["infer"].inputs["scalingConfig"]["maxSize"] == 4
    (pg,) = aws_resources(run, PG)
    assert ids[f"{pg.name}-id"].parent == run.by_name("dev-train").urn  # only the on-demand pool has one
    infer_templates = [t for t in gpu_templates(run) if t.parent == run.by_name("dev-infer").urn]
    assert [len(t.inputs["networkInterfaces"]) for t in infer_templates] == [4]
    cluster_zones = {ids[s].inputs["availabilityZone"] for s in run.by_name("dev-eks").inputs["vpcConfig"]["subnetIds"]}
    assert cluster_zones == {"us-east-1a", "us-east-1b"}
    fsx = run.by_name("dev-fsx")
    assert ids[fsx.inputs["subnetIds"]].inputs["availabilityZone"] == "us-east-1a"  # the first pool's zone


def test_on_demand_blocks_get_a_cluster_placement_group() -> None:
    run = variant_run("dev")
    groups = aws_resources(run, PG)
    templates = gpu_templates(run)
    assert len(groups) == len(templates) == 1
    assert groups[0].inputs["strategy"] == "cluster"
    # the template names the group by its (auto-named) physical name, the value AWS launches into
    assert templates[0].inputs["placement"] == {"groupName": physical_name("dev-train-b0-pg")}
    assert "capacityReservationSpecification" not in templates[0].inputs
    assert gpu_node_groups(run)[0].inputs["capacityType"] == "ON_DEMAND"


@pytest.mark.parametrize("variant", ["prod", "odcr", "gb200"])
def test_reserved_capacity_is_targeted_and_gets_no_placement_group(variant: str) -> None:
    run = variant_run(variant)
    plan = plan_of(variant)
    assert aws_resources(run, PG) == []
    reservations = {r for p in plan.pools for r in p.reservation_ids}
    targeted = set()
    for template in gpu_templates(run):
        assert "placement" not in template.inputs
        target = template.inputs["capacityReservationSpecification"]["capacityReservationTarget"]
        assert set(target) == {"capacityReservationId"}
        targeted.add(target["capacityReservationId"])
    assert targeted == reservations


@pytest.mark.parametrize("variant", ["prod", "gb200"])
def test_capacity_blocks_use_the_capacity_block_market(variant: str) -> None:
    run = variant_run(variant)
    for template in gpu_templates(run):
        assert template.inputs["instanceMarketOptions"] == {"marketType": "capacity-block"}
        assert template.inputs["instanceType"] == plan_of(variant).pools[0].system.name
    assert {g.inputs["capacityType"] for g in gpu_node_groups(run)} == {"CAPACITY_BLOCK"}


def test_odcr_is_on_demand_capacity_without_the_capacity_block_market() -> None:
    run = variant_run("odcr")
    assert all("instanceMarketOptions" not in t.inputs for t in gpu_templates(run))
    assert {g.inputs["capacityType"] for g in gpu_node_groups(run)} == {"ON_DEMAND"}


def test_prod_node_groups_follow_the_capacity_blocks() -> None:
    run = variant_run("prod")
    groups = sorted(gpu_node_groups(run), key=lambda g: g.name)
    assert [g.inputs["scalingConfig"] for g in groups] == [{"minSize": 64, "maxSize": 64, "desiredSize": 64}] * 2
    assert sum(g.inputs["scalingConfig"]["maxSize"] for g in groups) == 128  # 124 nodes + 4 spares
    templates = {t.name: t for t in gpu_templates(run)}
    ids = by_id(run)
    for group in groups:
        template = ids[group.inputs["launchTemplate"]["id"]]
        assert template is templates[template.name]
        assert template.inputs["tags"]["neocloud.io/su"] == group.inputs["labels"]["neocloud.io/su"]


def test_dev_scales_to_zero_and_ignores_autoscaler_desired_size() -> None:
    run = variant_run("dev")
    (group,) = gpu_node_groups(run)
    assert group.inputs["scalingConfig"] == {"minSize": 0, "maxSize": 2, "desiredSize": 2}
    assert "scalingConfig.desiredSize" in group.ignore_changes


def test_ultraserver_node_groups_are_whole_nvlink_domains_on_arm() -> None:
    run = variant_run("gb200")
    groups = gpu_node_groups(run)
    assert len(groups) == 2
    assert [g.inputs["scalingConfig"]["maxSize"] for g in groups] == [18, 18]
    assert sorted(g.inputs["labels"]["neocloud.io/nvlink-domain"] for g in groups) == ["0", "1"]
    assert {g.inputs["amiType"] for g in groups} == {"AL2023_ARM_64_NVIDIA"}


# --- node labels, taints, AMI ---------------------------------------------------------------------------------

def test_gpu_node_labels_and_taints_come_from_the_plan() -> None:
    run = variant_run("prod")
    for index, group in enumerate(sorted(gpu_node_groups(run), key=lambda g: g.name)):
        assert group.inputs["labels"] == {
            # each 64-node Capacity Block holds two plan SUs of 32 and carries its first: SU 0 and SU 2
            "neocloud.io/cluster": "prod", "neocloud.io/pool": "train", "neocloud.io/system": "p5.48xlarge",
            "neocloud.io/accelerator": "H100-SXM", "neocloud.io/su": str(2 * index),
            # with the acceptance taint: the per-node acceptance DaemonSet selects this label
            "neocloud.io/acceptance": "pending",
        }
        assert group.inputs["taints"] == [
            {"key": GPU_TAINT["key"], "value": GPU_TAINT["value"], "effect": "NO_SCHEDULE"},
            {"key": ACCEPTANCE_TAINT["key"], "value": ACCEPTANCE_TAINT["value"], "effect": "NO_SCHEDULE"},
        ]
        assert group.inputs["amiType"] == "AL2023_x86_64_NVIDIA"


def test_system_node_group_is_untainted_cpu_across_zones() -> None:
    run = variant_run("public_api")
    system = run.by_name("dev-system-ng")
    assert system.inputs["instanceTypes"] == ["m7i.2xlarge"]
    assert system.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert "taints" not in system.inputs
    zones = {by_id(run)[s].inputs["availabilityZone"] for s in system.inputs["subnetIds"]}
    assert zones == {"us-east-1a", "us-east-1c"}


# --- IMDSv2 and encryption ------------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["dev", "prod", "gb200"])
def test_every_launch_template_requires_imdsv2_and_encrypts_its_root_volume(variant: str) -> None:
    templates = aws_resources(variant_run(variant), LT)
    assert len(templates) == len(gpu_templates(variant_run(variant))) + 1  # + the system template
    for template in templates:
        assert template.inputs["metadataOptions"]["httpTokens"] == "required"
        # hop limit 1 by default: a pod, one hop behind the node, cannot read the node role (EKS best practices)
        assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
        (root,) = template.inputs["blockDeviceMappings"]
        assert root["ebs"]["encrypted"] is True
        assert root["deviceName"] == "/dev/xvda"


def test_imds_hop_limit_follows_the_setting() -> None:
    templates = aws_resources(variant_run("public_api"), LT)
    assert len(templates) == 2
    assert {t.inputs["metadataOptions"]["httpPutResponseHopLimit"] for t in templates} == {2}  # the explicit choice


def test_eks_secrets_buckets_and_fsx_are_encrypted_with_the_cluster_key() -> None:
    run = variant_run("prod")
    key = run.by_name("prod-kms")
    assert key.inputs["enableKeyRotation"] is True
    key_arn = "arn:aws:kms:mock-region-1:000000000000:key/"
    cluster = run.by_name("prod-eks")
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster.inputs["encryptionConfig"]["provider"]["keyArn"].startswith(key_arn)
    assert run.by_name("prod-fsx").inputs["kmsKeyId"].startswith(key_arn)
    sse = "s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    encryption = aws_resources(run, sse)
    assert len(encryption) == 2
    for config in encryption:
        (rule,) = config.inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith(key_arn)


def test_api_endpoint_is_private_unless_networks_are_listed() -> None:
    private = variant_run("dev").by_name("dev-eks").inputs["vpcConfig"]
    assert (private["endpointPrivateAccess"], private["endpointPublicAccess"]) == (True, False)
    public = variant_run("public_api").by_name("dev-eks").inputs["vpcConfig"]
    assert public["endpointPublicAccess"] is True
    assert public["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert len(public["subnetIds"]) == 2  # EKS needs two zones


# --- buckets and FSx ------------------------------------------------------------------------------------------

def test_buckets_block_public_access_version_and_expire_noncurrent_versions() -> None:
    run = variant_run("prod")
    spec_days = {"datasets": 90, "checkpoints": 14}
    ids = by_id(run)
    blocks = aws_resources(run, "s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert len(blocks) == 2
    for block in blocks:
        assert {k: block.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                             "restrictPublicBuckets")} == dict.fromkeys(
            ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)
    for versioning in aws_resources(run, "s3/bucketVersioning:BucketVersioning"):
        assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    for lifecycle in aws_resources(run, "s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"):
        bucket = ids[lifecycle.inputs["bucket"]]
        (rule,) = lifecycle.inputs["rules"]
        assert rule["status"] == "Enabled"
        assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": spec_days[bucket.name.split("-")[1]]}
    for policy in aws_resources(run, "s3/bucketPolicy:BucketPolicy"):
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_fsx_is_persistent_2_sized_from_the_plan_in_the_pool_subnet() -> None:
    run = variant_run("prod")
    plan = plan_of("prod")
    fs = run.by_name("prod-fsx")
    assert plan.storage.read_gbps and plan.storage.write_gbps and plan.storage.capacity_tib
    expected = size_fsx_lustre(read_gbps=plan.storage.read_gbps, write_gbps=plan.storage.write_gbps,
                               capacity_tib=plan.storage.capacity_tib)
    assert fs.inputs["deploymentType"] == "PERSISTENT_2"
    assert fs.inputs["storageType"] == "SSD"
    assert fs.inputs["perUnitStorageThroughput"] == expected.per_unit_storage_throughput == 1000
    assert fs.inputs["storageCapacity"] == expected.storage_capacity_gib == 211200
    assert by_id(run)[fs.inputs["subnetIds"]].inputs["availabilityZone"] == "us-east-2b"
    assert by_id(run)[fs.inputs["securityGroupIds"][0]].name == "prod-fsx-sg"
    # dev: 2 nodes at the 'good' tier get its single-node figure, 4 GB/s read (H100RA Table 6). 1,200 and 2,400 GiB
    # at the top tier give 1.17 and 2.34 GB/s, so the file system grows to 4,800 GiB x 1000 MB/s/TiB = 4.69 GB/s.
    dev = variant_run("dev").by_name("dev-fsx")
    assert (dev.inputs["storageCapacity"], dev.inputs["perUnitStorageThroughput"]) == (4800, 1000)


def test_fsx_security_group_opens_only_lustre_ports() -> None:
    group = variant_run("prod").by_name("prod-fsx-sg")
    ports = sorted((r["fromPort"], r["toPort"], r["protocol"]) for r in group.inputs["ingress"])
    assert ports == [(988, 988, "tcp"), (1018, 1023, "tcp")]
    assert all(r["self"] and r["securityGroups"] == ["prod-efa-sg-id"] for r in group.inputs["ingress"])


# --- protect, retain, tags ------------------------------------------------------------------------------------

STATEFUL = {"aws:eks/cluster:Cluster", "aws:fsx/lustreFileSystem:LustreFileSystem", "aws:s3/bucket:Bucket",
            "aws:kms/key:Key"}


@pytest.mark.parametrize(("variant", "protect"), [("prod", True), ("dev", False)])
def test_stateful_resources_are_retained_and_protected_only_in_prod(variant: str, protect: bool) -> None:
    run = variant_run(variant)
    stateful = [r for r in run.resources if r.type in STATEFUL]
    assert len(stateful) == 5  # EKS, FSx, KMS key, two buckets
    assert all(r.retain_on_delete and r.protect is protect for r in stateful)
    compute = aws_resources(run, NG) + aws_resources(run, LT)
    assert not any(r.protect or r.retain_on_delete for r in compute)


def test_a_disposable_dev_stack_deletes_its_billed_resources() -> None:
    stateful = [r for r in variant_run("disposable").resources if r.type in STATEFUL]
    assert len(stateful) == 5
    assert not any(r.retain_on_delete or r.protect for r in stateful)


TAGGABLE_EXEMPT = {"ec2/routeTableAssociation:RouteTableAssociation", "iam/rolePolicyAttachment:RolePolicyAttachment",
                   "s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "s3/bucketVersioning:BucketVersioning",
                   "s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                   "s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "s3/bucketPolicy:BucketPolicy",
                   "autoscaling/schedule:Schedule"}
"""Types that take no tags in pulumi-aws (sub-resources of a tagged parent)."""


@pytest.mark.parametrize("variant", ["dev", "prod"])
def test_every_taggable_resource_carries_the_cluster_tags(variant: str) -> None:
    run = variant_run(variant)
    expected = cluster_tags(plan_of(variant))
    aws = [r for r in run.resources if r.type.startswith("aws:")]
    assert len(aws) > 30
    for resource in aws:
        if resource.type.removeprefix("aws:") in TAGGABLE_EXEMPT:
            continue
        tags = resource.inputs.get("tags")
        assert isinstance(tags, dict), resource.name
        assert expected.items() <= tags.items(), resource.name
        assert all(isinstance(v, str) for v in tags.values()), resource.name


def test_pool_resources_are_children_of_their_pool_component() -> None:
    run = variant_run("prod")
    pool = run.by_name("prod-train")
    children = {r.name for r in run.children(pool)}
    assert {r.name for r in gpu_templates(run) + gpu_node_groups(run)} <= children


@pytest.mark.parametrize(("variant", "region"), [("dev", "us-east-1"), ("prod", "us-east-2")])
def test_every_aws_resource_uses_the_spec_region_provider(variant: str, region: str) -> None:
    run = variant_run(variant)
    provider = run.by_name(f"{variant}-aws")
    assert provider.type == "pulumi:providers:aws"
    assert provider.inputs["region"] == region
    aws = [r for r in run.resources if r.type.startswith("aws:")]
    assert aws and all(r.provider.startswith(f"{provider.urn}::") for r in aws)


# --- outputs and the Kubernetes provider ----------------------------------------------------------------------

def test_outputs_kubeconfig_secret_cluster_fsx_buckets() -> None:
    run = variant_run("prod")
    assert "kubeconfig" in run.secret_outputs
    kubeconfig = json.loads(run.outputs["kubeconfig"])
    (user,) = kubeconfig["users"]
    assert user["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", run.outputs["cluster_name"]]
    assert kubeconfig["clusters"][0]["cluster"]["server"].startswith("https://")
    assert run.outputs["cluster_name"] == physical_name("prod-eks", 100)
    fsx = run.outputs["fsx"]
    assert fsx["dns_name"].endswith(".invalid") and fsx["mount_name"]
    assert fsx["per_unit_storage_throughput"] == 1000
    assert sorted(run.outputs["buckets"]) == ["checkpoints", "datasets"]
    assert all(name.startswith("prod-") for name in run.outputs["buckets"].values())
    assert [b["reservation_id"] for b in run.outputs["placement_blocks"]["train"]] == [
        "cr-0a1b2c3d4e5f60718", "cr-0f1e2d3c4b5a69788"]


def test_kubernetes_provider_is_built_from_the_secret_kubeconfig_after_system_nodes() -> None:
    run = variant_run("dev")
    provider = run.by_name("dev-k8s")
    assert provider.type == "pulumi:providers:kubernetes"
    assert "kubeconfig" in provider.secret_paths
    assert json.loads(provider.inputs["kubeconfig"])["kind"] == "Config"
    assert run.by_name("dev-system-ng").urn in provider.dependencies


# --- resource economy -----------------------------------------------------------------------------------------

def count(run: ProgramRun, prefix: str = "") -> int:
    return sum(1 for r in run.resources if r.type.startswith(prefix))


def test_100k_gpus_register_well_under_500_resources() -> None:
    run = variant_run("scale100k")
    plan = plan_of("scale100k")
    assert plan.total_gpus == 100_000
    assert count(run) < 500
    groups = gpu_node_groups(run)
    assert len(groups) == 28
    assert all(g.inputs["scalingConfig"]["maxSize"] <= 450 for g in groups)
    assert sum(g.inputs["scalingConfig"]["maxSize"] for g in groups) == 12_500
    assert len(aws_resources(run, PG)) == 28
    assert count(run, "aws:") < 150


def test_a_plan_beyond_the_node_group_quota_warns(caplog: pytest.LogCaptureFixture) -> None:
    config, secrets = stack_config("dev", lambda cluster: cluster.update(aws={"max_node_groups": 1}))
    with caplog.at_level(logging.WARNING):
        run = run_program(REPO, "dev", config=config, secret_keys=secrets)
    assert len(aws_resources(run, NG)) == 2
    assert any("2 EKS managed node groups (GPU placement blocks + system) exceed the 'Managed node groups per "
               "cluster' quota of 1" in record.getMessage() for record in caplog.records)


def test_resources_grow_with_blocks_not_nodes() -> None:
    small, large = variant_run("dev"), variant_run("scale100k")
    # 2 nodes -> 12,500 nodes adds 27 blocks x (placement group + launch template + node group) on AWS.
    assert count(large, "aws:") - count(small, "aws:") == 27 * 3



def test_several_capacity_blocks_share_a_node_group_through_a_resource_group() -> None:
    # EC2 user guide (cr-groups, create-group): a CapacityReservationPool resource group of reservations, Capacity
    # Blocks included, is a launch target; the launch template names the group, not a reservation.
    run = variant_run("grouped_blocks")
    (template,) = gpu_templates(run)
    assert template.inputs["instanceMarketOptions"] == {"marketType": "capacity-block"}
    target = template.inputs["capacityReservationSpecification"]["capacityReservationTarget"]
    assert set(target) == {"capacityReservationResourceGroupArn"}
    assert "placement" not in template.inputs
    assert not aws_resources(run, PG)
    (group,) = aws_resources(run, "resourcegroups/group:Group")
    assert target["capacityReservationResourceGroupArn"].endswith(f":group/{physical_name(group.name, 128)}")
    assert [c["type"] for c in group.inputs["configurations"]] == [
        "AWS::EC2::CapacityReservationPool", "AWS::ResourceGroups::Generic"]
    assert group.inputs["configurations"][1]["parameters"] == [
        {"name": "allowed-resource-types", "values": ["AWS::EC2::CapacityReservation"]}]
    members = aws_resources(run, "resourcegroups/resource:Resource")
    assert sorted(m.inputs["resourceArn"].rsplit("/", 1)[-1] for m in members) == [
        "cr-0a1b2c3d4e5f60718", "cr-0f1e2d3c4b5a69788"]
    assert all(m.inputs["resourceArn"].startswith("arn:aws:ec2:us-east-2:") for m in members)
    assert {m.urn for m in members} <= set(template.dependencies)  # launches wait for the group's members
    (group_ng,) = gpu_node_groups(run)
    assert group_ng.inputs["capacityType"] == "CAPACITY_BLOCK"
    assert group_ng.inputs["scalingConfig"]["maxSize"] == 128


def test_100k_gpus_on_capacity_blocks_register_under_500_resources() -> None:
    run = variant_run("scale100k_blocks")
    assert count(run) < 500
    groups = gpu_node_groups(run)
    assert len(groups) == 28  # 196 blocks of 64, 7 per node group
    assert sum(g.inputs["scalingConfig"]["maxSize"] for g in groups) == 12_500
    assert len(aws_resources(run, "resourcegroups/resource:Resource")) == 196
    assert not aws_resources(run, PG)
