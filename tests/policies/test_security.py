"""Security and data-safety rules through the real pack over gRPC: every violation path and the compliant path."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from tests.policies import builders as b
from tests.policies.support import (
    BASE_AWS,
    analyze,
    facts_components,
    not_applicable,
    record,
    spec_with,
    violations,
)

# --- imdsv2-required ---------------------------------------------------------------------------------------


def test_imdsv2_compliant(pack):
    def build() -> None:
        b.launch_template("lt")
        aws.ec2.Instance("i", ami="ami-1", instance_type="m7i.large", metadata_options={"http_tokens": "required"})
        aws.ec2.Instance("off", ami="ami-1", instance_type="m7i.large", metadata_options={"http_endpoint": "disabled"})

    assert violations(analyze(pack, record(build)), "imdsv2-required") == []


def test_imdsv2_optional_tokens(pack):
    [message] = violations(analyze(pack, record(lambda: b.launch_template("lt", http_tokens="optional"))),
                           "imdsv2-required")
    assert message.startswith("lt: metadataOptions.httpTokens is optional; set 'required'")


def test_imdsv2_unset_on_instance(pack):
    run = record(lambda: aws.ec2.Instance("i", ami="ami-1", instance_type="m7i.large"))
    [message] = violations(analyze(pack, run), "imdsv2-required")
    assert message.startswith("i: metadataOptions.httpTokens is unset")


def test_imdsv2_hop_limit(pack):
    two = record(lambda: aws.ec2.LaunchTemplate("lt", metadata_options={
        "http_tokens": "required", "http_put_response_hop_limit": 2}))
    # the default is 1: at 2 any pod can complete the IMDSv2 exchange and read the node role's credentials
    assert violations(analyze(pack, two), "imdsv2-required") == [
        "lt: metadataOptions.httpPutResponseHopLimit 2 exceeds 1"]
    assert violations(analyze(pack, two, {"imdsv2-required": {"maxHopLimit": 2}}), "imdsv2-required") == []
    run = record(lambda: aws.ec2.LaunchTemplate("lt", metadata_options={
        "http_tokens": "required", "http_put_response_hop_limit": 3}))
    [message] = violations(analyze(pack, run), "imdsv2-required")
    assert message == "lt: metadataOptions.httpPutResponseHopLimit 3 exceeds 1"
    assert violations(analyze(pack, run, {"imdsv2-required": {"maxHopLimit": 3}}), "imdsv2-required") == []


# --- storage-encrypted -------------------------------------------------------------------------------------


def test_storage_encrypted_compliant(pack):
    def build() -> None:
        b.launch_template("lt", ebs={"encrypted": "true", "kms_key_id": "arn:kms"})
        aws.ebs.Volume("v", availability_zone="us-east-1a", size=10, encrypted=True, kms_key_id="arn:kms")
        aws.fsx.LustreFileSystem("fsx", storage_capacity=1200, subnet_ids="s", kms_key_id="arn:kms",
                                 per_unit_storage_throughput=250, deployment_type="PERSISTENT_2")
        b.private_bucket("data")

    run = record(build)
    assert violations(analyze(pack, run), "storage-encrypted") == []
    assert violations(analyze(pack, run, {"storage-encrypted": {"requireCustomerManagedKey": True}}),
                      "storage-encrypted") == []


def test_storage_not_encrypted(pack):
    def build() -> None:
        b.launch_template("lt", ebs={"encrypted": "false"})
        aws.ebs.Volume("v", availability_zone="us-east-1a", size=10)
        aws.ec2.Instance("i", ami="ami-1", instance_type="m7i.large", root_block_device={"encrypted": False})
        b.private_bucket("data", encrypted=False)

    messages = violations(analyze(pack, record(build)), "storage-encrypted")
    assert sorted(messages) == sorted([
        "launch template 'lt' blockDeviceMappings[0] (/dev/xvda): EBS volume not encrypted (ebs.encrypted 'false')",
        "EBS volume 'v' is not encrypted",
        "instance 'i' rootBlockDevice: EBS volume not encrypted",
        "S3 bucket 'data' has no server-side encryption configuration",
    ])


def test_storage_customer_managed_key(pack):
    def build() -> None:
        aws.fsx.LustreFileSystem("fsx", storage_capacity=1200, subnet_ids="s", per_unit_storage_throughput=250,
                                 deployment_type="PERSISTENT_2")
        bucket = b.bucket("data")
        aws.s3.BucketServerSideEncryptionConfiguration("sse", bucket=bucket.id, rules=[
            {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}])

    run = record(build)
    assert violations(analyze(pack, run), "storage-encrypted") == []
    messages = violations(analyze(pack, run, {"storage-encrypted": {"requireCustomerManagedKey": True}}),
                          "storage-encrypted")
    assert sorted(messages) == ["FSx file system 'fsx' uses the AWS-managed key; set kmsKeyId",
                                "S3 bucket 'data' default encryption is not SSE-KMS"]


def test_storage_encrypted_not_applicable(pack):
    assert not_applicable(analyze(pack, record(lambda: facts_components(BASE_AWS))), "storage-encrypted")


# --- bucket-public-access-blocked --------------------------------------------------------------------------


def test_bucket_private_compliant(pack):
    def build() -> None:
        bucket = b.private_bucket("data")
        aws.s3.BucketPolicy("tls", bucket=bucket.id, policy=json.dumps({"Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))

    assert violations(analyze(pack, record(build)), "bucket-public-access-blocked") == []


def test_bucket_without_public_access_block(pack):
    [message] = violations(analyze(pack, record(lambda: b.bucket("data"))), "bucket-public-access-blocked")
    assert message == "S3 bucket 'data' has no BucketPublicAccessBlock; block public ACLs and policies"


def test_bucket_public_access_block_partly_off(pack):
    run = record(lambda: b.private_bucket("data", block={"block_public_policy": False, "ignore_public_acls": False}))
    [message] = violations(analyze(pack, run), "bucket-public-access-blocked")
    assert message == "S3 bucket 'data': public access block 'data-pab' leaves blockPublicPolicy, ignorePublicAcls off"


def test_public_bucket_acls_and_policy(pack):
    def build() -> None:
        bucket = b.private_bucket("data")
        aws.s3.BucketAcl("acl", bucket=bucket.id, acl="public-read")
        aws.s3.BucketPolicy("open", bucket=bucket.id, policy=json.dumps({"Statement": [{
            "Sid": "Everyone", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
            "Resource": "*"}]}))
        b.bucket("canned", acl="public-read-write")

    messages = violations(analyze(pack, record(build)), "bucket-public-access-blocked")
    assert "S3 bucket 'data': ACL 'acl' grants public access (public-read)" in messages
    assert ("bucket 'data': policy 'open' allows any principal without a condition (statements Everyone)"
            in messages)
    assert "S3 bucket 'canned' has canned ACL 'public-read-write'" in messages


def test_public_coreweave_bucket_policy(pack):
    def build() -> None:
        bucket = pulumi.CustomResource("coreweave:index/objectStorageBucket:ObjectStorageBucket", "cw",
                                       {"name": "cw-data", "zone": "US-EAST-04A"})
        pulumi.CustomResource("coreweave:index/objectStorageBucketPolicy:ObjectStorageBucketPolicy", "cw-policy",
                              {"bucket": bucket.id, "policy": json.dumps({"Statement": [
                                  {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]})})

    [message] = violations(analyze(pack, record(build)), "bucket-public-access-blocked")
    assert message == "bucket 'cw': policy 'cw-policy' allows any principal without a condition (statements 0)"


def test_bucket_public_access_not_applicable(pack):
    assert not_applicable(analyze(pack, record(lambda: b.launch_template("lt"))), "bucket-public-access-blocked")


# --- bucket-versioning -------------------------------------------------------------------------------------


def test_bucket_versioning_compliant(pack):
    def build() -> None:
        b.private_bucket("data")
        b.bucket("scratch", purpose="artifacts")  # not a purpose that must be versioned
        pulumi.CustomResource("nebius:index/storageV1Bucket:StorageV1Bucket", "nb",
                              {"parentId": "project-x", "versioningPolicy": "ENABLED"})

    assert violations(analyze(pack, record(build)), "bucket-versioning") == []


def test_bucket_not_versioned(pack):
    def build() -> None:
        b.private_bucket("suspended", versioned=False)
        b.bucket("bare", purpose="datasets")
        b.private_bucket("forever", expire=False)
        pulumi.CustomResource("nebius:index/storageV1Bucket:StorageV1Bucket", "nb",
                              {"parentId": "project-x", "versioningPolicy": "DISABLED"})
        pulumi.CustomResource("coreweave:index/objectStorageBucket:ObjectStorageBucket", "cw",
                              {"name": "cw-data", "zone": "US-EAST-04A"})

    messages = violations(analyze(pack, record(build)), "bucket-versioning")
    assert sorted(messages) == sorted([
        "bucket 'suspended' is not versioned (versioning status: Suspended); an overwritten checkpoint or dataset is "
        "lost",
        "bucket 'bare' is not versioned (versioning status: none); an overwritten checkpoint or dataset is lost",
        "S3 bucket 'forever' keeps noncurrent versions forever; add a lifecycle rule with noncurrentVersionExpiration",
        "bucket 'nb': versioningPolicy is DISABLED; set ENABLED",
        "bucket 'cw' is not versioned (versioning status: none); an overwritten checkpoint or dataset is lost",
    ])
    relaxed = analyze(pack, record(build), {"bucket-versioning": {"requireNoncurrentExpiration": False,
                                                                  "purposes": ["checkpoints"]}})
    assert all("'forever'" not in m and "'bare'" not in m for m in violations(relaxed, "bucket-versioning"))


# --- protect-stateful-in-prod ------------------------------------------------------------------------------


def stateful(environment: str, protect: bool) -> Any:
    def build() -> None:
        facts_components(spec_with(BASE_AWS, environment=environment))
        b.private_bucket("data", protect=protect)
        aws.fsx.LustreFileSystem("fsx", storage_capacity=1200, subnet_ids="s", per_unit_storage_throughput=250,
                                 deployment_type="PERSISTENT_2", opts=pulumi.ResourceOptions(protect=protect))

    return record(build)


def test_protect_stateful_compliant(pack):
    assert violations(analyze(pack, stateful("prod", True)), "protect-stateful-in-prod") == []


def test_unprotected_state_in_prod(pack):
    messages = violations(analyze(pack, stateful("prod", False)), "protect-stateful-in-prod")
    assert len(messages) == 2
    assert any(m.startswith("LustreFileSystem 'fsx' holds data in prod but is not protected") for m in messages)
    assert any(m.startswith("Bucket 'data' holds data in prod") for m in messages)


def test_protect_stateful_not_applicable_in_dev(pack):
    result = analyze(pack, stateful("dev", False))
    assert violations(result, "protect-stateful-in-prod") == []
    assert not_applicable(result, "protect-stateful-in-prod") == ["environment dev is not one of prod"]


# --- efa-security-group-self-only --------------------------------------------------------------------------


def efa_group(**kwargs: Any) -> Any:
    def build() -> None:
        sg = b.efa_security_group(**{k: v for k, v in kwargs.items() if k != "rules"})
        if kwargs.get("rules"):
            kwargs["rules"](sg)
        b.launch_template("lt", interfaces=b.efa_interfaces(2, sg))

    return record(build)


def test_efa_security_group_compliant(pack):
    assert violations(analyze(pack, efa_group()), "efa-security-group-self-only") == []


def test_efa_security_group_with_standalone_rules_compliant(pack):
    def rules(sg: Any) -> None:
        aws.vpc.SecurityGroupIngressRule("in", security_group_id=sg.id, referenced_security_group_id=sg.id,
                                         ip_protocol="-1")
        aws.vpc.SecurityGroupEgressRule("out", security_group_id=sg.id, referenced_security_group_id=sg.id,
                                        ip_protocol="-1")

    run = efa_group(self_ingress=False, self_egress=False, rules=rules)
    assert violations(analyze(pack, run), "efa-security-group-self-only") == []


def test_efa_security_group_missing_self_rules(pack):
    messages = violations(analyze(pack, efa_group(self_ingress=False, self_egress=False)),
                          "efa-security-group-self-only")
    assert messages == [
        "EFA security group 'efa' does not allow all inbound traffic from itself; EFA needs it",
        "EFA security group 'efa' does not allow all outbound traffic to itself; EFA needs it",
    ]


def test_efa_security_group_open_ingress(pack):
    def rules(sg: Any) -> None:
        aws.vpc.SecurityGroupIngressRule("ssh", security_group_id=sg.id, cidr_ipv4="0.0.0.0/0", ip_protocol="tcp",
                                         from_port=22, to_port=22)
        aws.ec2.SecurityGroupRule("legacy", type="ingress", security_group_id=sg.id, cidr_blocks=["10.0.0.0/8"],
                                  protocol="-1", from_port=0, to_port=0)

    extra = [{"protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}]
    [message] = violations(analyze(pack, efa_group(extra_ingress=extra, rules=rules)), "efa-security-group-self-only")
    assert message.startswith("EFA security group 'efa' admits traffic from outside itself (inline ingress[1], rule ")
    assert "rule 'ssh'" in message and "rule 'legacy'" in message


def test_efa_security_group_other_egress(pack):
    def rules(sg: Any) -> None:
        aws.vpc.SecurityGroupEgressRule("internet", security_group_id=sg.id, cidr_ipv4="0.0.0.0/0", ip_protocol="-1")

    run = efa_group(rules=rules)
    assert violations(analyze(pack, run), "efa-security-group-self-only") == []
    strict = analyze(pack, run, {"efa-security-group-self-only": {"allowOtherEgress": False}})
    assert violations(strict, "efa-security-group-self-only") == [
        "EFA security group 'efa' sends traffic outside itself (rule 'internet')"]


def test_efa_security_group_not_applicable(pack):
    assert not_applicable(analyze(pack, record(lambda: b.launch_template("lt"))), "efa-security-group-self-only")


# --- tenant-default-deny -----------------------------------------------------------------------------------

DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def tenants(policies: dict[str, dict[str, Any]], *, label: bool = True) -> Any:
    spec = spec_with(BASE_AWS, kubernetes={"queues": [{"team": "research", "gpu_quota": 8}]})

    def build() -> None:
        facts_components(spec)
        # EKS: the VPC CNI enforces the policies only with network policy enabled in its add-on
        aws.eks.Addon("vpc-cni", cluster_name="c", addon_name="vpc-cni",
                      configuration_values=json.dumps({"enableNetworkPolicy": "true"}))
        research = b.namespace("research")  # a team from the spec's queues
        vision = b.namespace("vision", {"neocloud.io/team": "vision"} if label else {})
        b.namespace("kube-tools")  # not a tenant
        for name, np_spec in policies.items():
            b.network_policy(name, research if name.startswith("research") else vision, np_spec)

    return record(build)


def test_tenant_default_deny_compliant(pack):
    run = tenants({"research-deny": DENY_ALL, "vision-deny": DENY_ALL,
                   "vision-allow": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}})
    result = analyze(pack, run, {"tenant-default-deny": {"policyTypes": ["Ingress", "Egress"]}})
    assert violations(result, "tenant-default-deny") == []


def test_tenant_without_default_deny(pack):
    run = tenants({"research-deny": DENY_ALL,
                   "vision-allow": {"podSelector": {}, "policyTypes": ["Ingress"],
                                    "ingress": [{"from": [{"podSelector": {}}]}]},
                   "vision-some": {"podSelector": {"matchLabels": {"app": "x"}}, "policyTypes": ["Ingress"]}})
    [message] = violations(analyze(pack, run), "tenant-default-deny")
    assert message.startswith("tenant namespace 'vision' has no default-deny NetworkPolicy for Ingress")


def test_tenant_without_egress_deny(pack):
    run = tenants({"research-deny": {"podSelector": {}, "policyTypes": ["Ingress"]}, "vision-deny": DENY_ALL})
    assert violations(analyze(pack, run), "tenant-default-deny") == []
    strict = analyze(pack, run, {"tenant-default-deny": {"policyTypes": ["Ingress", "Egress"]}})
    [message] = violations(strict, "tenant-default-deny")
    assert message.startswith("tenant namespace 'research' has no default-deny NetworkPolicy for Egress")


def test_tenant_default_deny_not_applicable(pack):
    assert not_applicable(analyze(pack, record(lambda: b.namespace("tools"))), "tenant-default-deny")


# --- no-plaintext-secrets ----------------------------------------------------------------------------------

KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: Zm9vYmFyYmF6cXV4cXV1eDEyMzQ1Ng\n"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"


def test_secrets_compliant(pack):
    def build() -> None:
        k8s.Provider("k8s", kubeconfig=pulumi.Output.secret(KUBECONFIG))
        k8s.core.v1.Secret("s", metadata={"name": "hf"}, string_data={"token": "hf_" + "a" * 34})  # SDK: secret
        k8s.helm.v3.Release("r", chart="x", values={"auth": {"password": pulumi.Output.secret("hunter2")},
                                                    "tokenTtl": 3600, "existingSecretName": "creds"})

    assert violations(analyze(pack, record(build)), "no-plaintext-secrets") == []


@pytest.mark.parametrize("build, expected", [
    (lambda: k8s.Provider("k8s", kubeconfig=KUBECONFIG), "kubeconfig (a kubeconfig)"),
    (lambda: k8s.helm.v3.Release("r", chart="x", values={"auth": {"password": "hunter2"}}),
     "values.auth.password (a password)"),
    (lambda: k8s.core.v1.ConfigMap("cm", data={"id_rsa": PEM}), "data.id_rsa (a private key)"),
    (lambda: k8s.core.v1.ConfigMap("cm", data={"config": KUBECONFIG}), "data.config (a kubeconfig credential)"),
    (lambda: pulumi.CustomResource("kubernetes:core/v1:Secret", "raw", {"stringData": {"x": "y"}}),
     "stringData.x (Secret data)"),
    (lambda: k8s.core.v1.ConfigMap("cm", data={"HF": "hf_" + "b" * 34}), "data.HF (a Hugging Face token)"),
], ids=["kubeconfig", "helm-password", "pem", "kubeconfig-content", "raw-secret", "hf-token"])
def test_plaintext_secrets(pack, build, expected):
    [message] = violations(analyze(pack, record(build)), "no-plaintext-secrets")
    assert f"plaintext credentials in {expected}" in message


def test_plaintext_secrets_config(pack):
    run = record(lambda: k8s.core.v1.ConfigMap("cm", data={"licenseKey": "ABCD-1234"}))
    assert violations(analyze(pack, run), "no-plaintext-secrets") == []
    extra = analyze(pack, run, {"no-plaintext-secrets": {"extraKeys": ["licenseKey"]}})
    assert len(violations(extra, "no-plaintext-secrets")) == 1
    run = record(lambda: k8s.Provider("k8s", kubeconfig=KUBECONFIG))
    ignored = analyze(pack, run, {"no-plaintext-secrets": {"ignoreTypes": ["pulumi:providers:kubernetes"]}})
    assert violations(ignored, "no-plaintext-secrets") == []


# --- images-pinned-by-digest -------------------------------------------------------------------------------

PINNED = "docker.io/library/python:3.13.7-slim@sha256:8220ccec22e88cddd9a541cacd1bf48423bda8cdeb1015249e4b298edf86cdc7"


def workloads(environment: str, image: str) -> Any:
    def build() -> None:
        facts_components(spec_with(BASE_AWS, environment=environment))
        pod = k8s.core.v1.PodSpecArgs(
            init_containers=[k8s.core.v1.ContainerArgs(name="verify", image=image)],
            containers=[k8s.core.v1.ContainerArgs(name="report", image=image),
                        k8s.core.v1.ContainerArgs(name="sidecar", image=PINNED)])
        template = k8s.core.v1.PodTemplateSpecArgs(spec=pod)
        selector = k8s.meta.v1.LabelSelectorArgs(match_labels={"a": "b"})
        k8s.apps.v1.DaemonSet("ds", spec=k8s.apps.v1.DaemonSetSpecArgs(selector=selector, template=template))
        k8s.batch.v1.CronJob("cj", spec=k8s.batch.v1.CronJobSpecArgs(
            schedule="0 6 * * 0", job_template=k8s.batch.v1.JobTemplateSpecArgs(
                spec=k8s.batch.v1.JobSpecArgs(template=template))))

    return record(build)


def test_digest_pinned_images_compliant(pack):
    assert violations(analyze(pack, workloads("prod", PINNED)), "images-pinned-by-digest") == []


def test_tag_only_images_flagged_in_prod(pack):
    messages = violations(analyze(pack, workloads("prod", "nvcr.io/nvidia/pytorch:25.08-py3")),
                          "images-pinned-by-digest")
    # One message per workload and image, naming the containers; the CronJob's pod template is found too.
    assert sorted(m.split(" runs ")[0] for m in messages) == ["CronJob 'cj'", "DaemonSet 'ds'"]
    assert all("(containers verify, report)" in m for m in messages)
    # A digest without its full 64 hex is no pin.
    short = violations(analyze(pack, workloads("prod", "nvcr.io/nvidia/pytorch:25.08-py3@sha256:abc")),
                       "images-pinned-by-digest")
    assert len(short) == 2


def test_tag_only_images_not_applicable_in_dev(pack):
    result = analyze(pack, workloads("dev", "nvcr.io/nvidia/pytorch:25.08-py3"))
    assert violations(result, "images-pinned-by-digest") == []
    assert not_applicable(result, "images-pinned-by-digest") == ["environment dev is not one of prod"]
