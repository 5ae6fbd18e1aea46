"""Provider ``coreweave`` under the Pulumi mock engine: the real inputs of the VPC, CKS cluster, buckets,
NodePools and shared-storage claim, and NodePools checked against a JSON Schema derived from CoreWeave's published
Node Pool reference (https://docs.coreweave.com/docs/products/cks/reference/node-pool) and the GB200 whole-rack
rule (https://docs.coreweave.com/docs/platform/instances/gb200)."""

from __future__ import annotations

import json
from math import ceil
from typing import Any

import jsonschema
import pytest
import yaml

from neocloud import SpecError
from neocloud.offline import ProgramRun, run_program
from tests.conftest import REPO, stack_run
from tests.providers.helpers import applied_object, one, run_with, schema, stack_config

NODEPOOL = "kubernetes:compute.coreweave.com/v1alpha1:NodePool"
CKS = "coreweave:index/cksCluster:CksCluster"
VPC = "coreweave:index/networkingVpc:NetworkingVpc"
BUCKET = "coreweave:index/objectStorageBucket:ObjectStorageBucket"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
K8S_PROVIDER = "pulumi:providers:kubernetes"


def nodepool_validator() -> jsonschema.Draft202012Validator:
    """The committed NodePool schema (its description cites the CoreWeave Node Pool reference)."""
    document = schema("coreweave-nodepool.schema.json")
    jsonschema.Draft202012Validator.check_schema(document)
    assert "docs.coreweave.com/docs/products/cks/reference/node-pool" in document["description"]
    return jsonschema.Draft202012Validator(document)


def gb200_cluster(nodes: int = 68, spares: int = 4, **pool: Any) -> dict[str, Any]:
    """The coreweave stack with its pool replaced by GB200 NVL72 trays."""
    cluster = stack_config("coreweave")["neocloud:cluster"]
    cluster["pools"] = [{"name": "nvl72", "system": "gb200-nvl72", "nodes": nodes, "spares": spares, **pool}]
    cluster["fabric"] = {"kind": "infiniband", "switch": "Q3400"}
    cluster["kubernetes"]["queues"] = [{"team": "frontier", "gpu_quota": 4 * nodes}]
    return cluster


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return stack_run("coreweave")


def test_vpc_prefixes_feed_the_cks_cluster(run: ProgramRun) -> None:
    vpc, cks = one(run, VPC), one(run, CKS)
    prefixes = {p["name"]: p["value"] for p in vpc.inputs["vpcPrefixes"]}
    assert prefixes == {"pod-cidr": "10.244.0.0/16", "service-cidr": "10.96.0.0/16", "internal-lb-cidr": "10.32.4.0/22"}
    assert cks.inputs["podCidrName"] in prefixes and cks.inputs["serviceCidrName"] in prefixes
    assert cks.inputs["internalLbCidrNames"] == ["internal-lb-cidr"]
    assert cks.inputs["vpcId"] == f"{vpc.name}-id" and vpc.urn in cks.property_dependencies["vpcId"]
    assert cks.inputs["zone"] == vpc.inputs["zone"] == "US-EAST-04A"
    assert cks.inputs["version"] == "v1.33"
    assert cks.protect, "prod protects the cluster"


def test_nodepool_is_sized_by_the_plan_with_spares(run: ProgramRun) -> None:
    pool = one(run, NODEPOOL)
    plan = run.outputs["plan"]["pools"][0]
    spec = pool.inputs["spec"]
    assert plan["nodes"] == 62 and plan["spares"] == 2
    assert spec["targetNodes"] == plan["total_nodes"] == 64
    assert spec["minNodes"] == spec["maxNodes"] == 64 and spec["autoscaling"] is False
    assert "lifecycle" not in spec
    assert spec["instanceType"] == "gd-8xh200ib-i128"
    assert spec["nodeLabels"]["neocloud.io/pool"] == "h200"
    assert spec["nodeLabels"]["neocloud.io/su"] == "0", "one NodePool is one SU group for acceptance tests"
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in spec["nodeTaints"]
    assert "namespace" not in pool.inputs["metadata"], "NodePool is cluster-scoped"
    gpu_pool = one(run, "neocloud:index:GpuPool")
    assert pool.parent == gpu_pool.urn
    assert pool.provider.startswith(one(run, K8S_PROVIDER).urn)


def test_kubernetes_layer_gets_the_groups_and_labels_the_nodes_carry(run: ProgramRun) -> None:
    assert run.outputs["placement_blocks"] == {"h200": [{"index": 0, "nodes": 64}]}
    acceptance = run.outputs["kubernetes"]["acceptance"]
    assert [(a["pool"], a["su"], a["nodes"]) for a in acceptance] == [("h200", 0, 64)]
    for label in run.outputs["kubernetes"]["topology_levels"]["h200"]:
        assert label == "kubernetes.io/hostname" or label.split("/")[0].endswith(".coreweave.cloud"), (
            f"{label}: CKS sets CoreWeave's own topology labels; a NodePool cannot label single nodes"
        )


def test_nodepools_validate_against_coreweave_schema(run: ProgramRun) -> None:
    validator = nodepool_validator()
    gb200 = run_with("coreweave", gb200_cluster())
    for resource in [*run.of_type(NODEPOOL), *gb200.of_type(NODEPOOL)]:
        obj = applied_object(resource)
        errors = [e.message for e in validator.iter_errors(obj)]
        assert errors == [], errors
        spec = obj["spec"]
        assert spec["minNodes"] <= spec["targetNodes"] <= spec["maxNodes"]


def test_schema_rejects_what_coreweave_rejects(run: ProgramRun) -> None:
    validator = nodepool_validator()
    good = applied_object(one(run, NODEPOOL))
    partial_rack = json.loads(json.dumps(good))
    partial_rack["spec"].update(instanceType="gb200-4x", targetNodes=20)
    both_targets = json.loads(json.dumps(good))
    both_targets["spec"]["targetRacks"] = 1
    unknown_field = json.loads(json.dumps(good))
    unknown_field["spec"]["replicas"] = 3
    bad_taint = json.loads(json.dumps(good))
    bad_taint["spec"]["nodeTaints"] = [{"key": "a", "effect": "NoScheduleAtAll"}]
    namespaced = json.loads(json.dumps(good))
    namespaced["metadata"]["namespace"] = "default"
    for broken in (partial_rack, both_targets, unknown_field, bad_taint, namespaced):
        assert not validator.is_valid(broken), broken


def test_gb200_pools_are_whole_nvl72_racks() -> None:
    run = run_with("coreweave", gb200_cluster(nodes=68, spares=4))
    spec = one(run, NODEPOOL).inputs["spec"]
    assert spec["instanceType"] == "gb200-4x"
    assert spec["targetNodes"] == 72 and spec["targetNodes"] % 18 == 0
    assert run.outputs["coreweave"]["node_pools"]["nvl72"]["racks"] == 4
    assert "node.coreweave.cloud/rack" in run.outputs["kubernetes"]["topology_levels"]["nvl72"]
    with pytest.raises(SpecError, match=r"pools\[0\]\.nodes: gb200-nvl72 comes in whole NVLink domains of 18"):
        run_with("coreweave", gb200_cluster(nodes=70, spares=0))
    with pytest.raises(SpecError, match=r"pools\[0\]\.min_nodes: gb200-nvl72 scales in whole racks of 18"):
        run_with("coreweave", gb200_cluster(min_nodes=20))


def test_autoscaling_between_min_and_total() -> None:
    cluster = stack_config("coreweave")["neocloud:cluster"]
    cluster["environment"] = "dev"
    cluster["pools"][0].update(nodes=30, spares=2, min_nodes=0)
    cluster["kubernetes"]["queues"] = [{"team": "research", "gpu_quota": 240}]
    spec = one(run_with("coreweave", cluster), NODEPOOL).inputs["spec"]
    assert (spec["autoscaling"], spec["minNodes"], spec["targetNodes"], spec["maxNodes"]) == (True, 0, 32, 32)
    assert spec["lifecycle"] == {"scaleDownStrategy": "IdleOnly"}, "scaling down never takes a busy node"
    assert nodepool_validator().is_valid(applied_object(one(run_with("coreweave", cluster), NODEPOOL)))


def test_buckets_are_versioned_expire_old_versions_and_deny_other_orgs(run: ProgramRun) -> None:
    buckets = {b.inputs["name"]: b for b in run.of_type(BUCKET)}
    assert set(buckets) == {"example-cw-train-datasets", "example-cw-train-checkpoints"}
    assert all(b.protect for b in buckets.values()), "prod protects buckets"
    days = {"example-cw-train-datasets": 30, "example-cw-train-checkpoints": 7}
    for name, bucket in buckets.items():
        children = [r for r in run.resources if r.inputs.get("bucket") == name]
        by_type = {r.type.rsplit(":", 1)[-1]: r for r in children}
        assert by_type["ObjectStorageBucketVersioning"].inputs["versioningConfiguration"] == {"status": "Enabled"}
        (rule,) = by_type["ObjectStorageBucketLifecycleConfiguration"].inputs["rules"]
        assert rule["status"] == "Enabled"
        assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": days[name]}
        assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
        policy = json.loads(by_type["ObjectStorageBucketPolicy"].inputs["policy"])
        (statement,) = policy["Statement"]
        assert statement["Effect"] == "Deny" and statement["Action"] == ["s3:*"]
        assert statement["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
        assert statement["Condition"] == {"StringNotEquals": {"cw:PrincipalOrgID": ["example-org"]}}
        assert bucket.urn in by_type["ObjectStorageBucketPolicy"].property_dependencies["bucket"]
        assert not any(s["Effect"] == "Allow" for s in policy["Statement"]), "no public or cross-org grant"


def test_each_training_team_gets_a_distributed_file_storage_claim_in_its_namespace(run: ProgramRun) -> None:
    # CoreWeave: Distributed File Storage volumes are PVCs, ReadWriteMany, storage class shared-vast, "created and
    # scoped to a namespace" (docs.coreweave.com/products/storage/distributed-file-storage/create-volumes), so a
    # claim in `default` mounts in no team's pods: one per training team namespace, the planned capacity split by
    # GPU quota (pretraining 448, research 48).
    claims = {c.inputs["metadata"]["namespace"]: c for c in run.of_type(PVC)}
    assert set(claims) == {"pretraining", "research"}
    capacity_gib = run.outputs["plan"]["storage"]["capacity_tib"] * 1024
    sizes = {ns: int(c.inputs["spec"]["resources"]["requests"]["storage"].removesuffix("Gi"))
             for ns, c in claims.items()}
    assert sizes == {"pretraining": int(capacity_gib * 448 / 496), "research": int(capacity_gib * 48 / 496)}
    assert sum(sizes.values()) <= ceil(capacity_gib)
    for claim in claims.values():
        assert claim.inputs["spec"]["accessModes"] == ["ReadWriteMany"]
        assert claim.inputs["spec"]["storageClassName"] == "shared-vast"
        assert "volumeName" not in claim.inputs["spec"]  # dynamically provisioned by CKS
        assert claim.protect and claim.provider.startswith(one(run, K8S_PROVIDER).urn)


def test_kubeconfig_is_a_secret_built_from_endpoint_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COREWEAVE_API_TOKEN", "CW-SECRET-test-token")
    run = run_with("coreweave", stack_config("coreweave")["neocloud:cluster"])
    assert "kubeconfig" in run.secret_outputs
    provider = one(run, K8S_PROVIDER)
    assert provider.secret_paths == ("kubeconfig",)
    kubeconfig = yaml.safe_load(run.outputs["kubeconfig"])
    endpoint = run.outputs["coreweave"]["api_server_endpoint"]
    assert kubeconfig["clusters"][0]["cluster"] == {"server": f"https://{endpoint}"}
    assert kubeconfig["users"][0]["user"] == {"token": "CW-SECRET-test-token"}
    assert b"CW-SECRET-test-token" not in one(run, CKS).raw_inputs


def test_no_credentials_in_stack_config() -> None:
    text = (REPO / "stacks" / "Pulumi.coreweave.yaml").read_text()
    assert "CW-SECRET" not in text and "token:" not in text
    assert "coreweave:token" not in yaml.safe_load(text)["config"]


def test_unverified_instance_types_must_be_configured() -> None:
    cluster = stack_config("coreweave")["neocloud:cluster"]
    cluster["pools"][0]["system"] = "hgx-b200"
    with pytest.raises(SpecError, match=r"^neocloud:cluster\.coreweave\.instance_types\.hgx-b200: required"):
        run_with("coreweave", cluster)
    cluster["coreweave"]["instance_types"] = {"hgx-b200": "b200-8x"}
    assert one(run_with("coreweave", cluster), NODEPOOL).inputs["spec"]["instanceType"] == "b200-8x"


def test_buckets_need_the_org_and_a_zone() -> None:
    cluster = stack_config("coreweave")["neocloud:cluster"]
    del cluster["coreweave"]["org_id"]
    with pytest.raises(SpecError, match=r"^neocloud:cluster\.coreweave\.org_id: required with storage\.buckets"):
        run_with("coreweave", cluster)
    cluster = stack_config("coreweave")["neocloud:cluster"]
    del cluster["zone"]
    with pytest.raises(SpecError, match=r"^neocloud:cluster\.coreweave\.zone: required"):
        run_with("coreweave", cluster)


def provider_resources(run: ProgramRun) -> list[str]:
    """Types of what this provider registers (the Kubernetes layer on top scales with SUs, by design)."""
    return sorted(r.type for r in run.resources
                  if r.type.startswith("coreweave:") or r.type in (NODEPOOL, PVC, K8S_PROVIDER))


def test_cluster_name_fits_coreweave_name_limits() -> None:
    cluster = stack_config("coreweave")["neocloud:cluster"]
    cluster["name"] = "a-very-long-cluster-name-for-cw"
    with pytest.raises(SpecError, match=r"^neocloud:cluster\.name: .* at most 26 with provider 'coreweave'"):
        run_with("coreweave", cluster)


def test_resources_scale_with_pools_not_nodes(run: ProgramRun) -> None:
    cluster = stack_config("coreweave")["neocloud:cluster"]
    cluster["pools"][0].update(nodes=1022, spares=2)
    bigger = run_with("coreweave", cluster)
    assert provider_resources(bigger) == provider_resources(run)
    # VPC, CKS, 4 per bucket x 2, NodePool, provider, one PVC per training team (2): grows with teams, not nodes
    assert len(provider_resources(run)) == 14
    assert one(bigger, NODEPOOL).inputs["spec"]["targetNodes"] == 1024
    cluster["pools"].append({"name": "h100", "system": "hgx-h100", "nodes": 16})
    two_pools = run_with("coreweave", cluster)
    assert provider_resources(two_pools) == sorted([*provider_resources(run), NODEPOOL])


def test_token_from_secret_pulumi_config_stays_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COREWEAVE_API_TOKEN", raising=False)
    config = stack_config("coreweave")
    config["coreweave:token"] = "CW-SECRET-from-config"
    run = run_program(REPO, "coreweave", config=config, secret_keys=["coreweave:token"])
    assert "kubeconfig" in run.secret_outputs
    user = yaml.safe_load(run.outputs["kubeconfig"])["users"][0]["user"]
    assert user == {"token": "CW-SECRET-from-config"}
    carriers = [r for r in run.resources if b"CW-SECRET-from-config" in r.raw_inputs]
    assert [r.type for r in carriers] == [K8S_PROVIDER]
    assert carriers[0].secret_paths == ("kubeconfig",), "the token reaches state only as a secret"


@pytest.mark.parametrize("stack", ["coreweave", "nebius"])
def test_preview_with_unknown_outputs_registers_the_same_resources(stack: str) -> None:
    preview = run_program(REPO, stack, preview=True)
    full = stack_run(stack)
    assert sorted(r.urn for r in preview.resources) == sorted(r.urn for r in full.resources)


def test_shared_storage_claim_validates_against_kubernetes_schema(run: ProgramRun) -> None:
    import kubernetes_validate

    claim = applied_object(run.of_type(PVC)[0])
    kubernetes_validate.validate(claim, "1.33", strict=True)
    broken = json.loads(json.dumps(claim))
    broken["spec"]["accessMode"] = ["ReadWriteMany"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.33", strict=True)
