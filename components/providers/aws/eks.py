"""The EKS control plane: a KMS key, IAM roles, the cluster, its kubeconfig and a Kubernetes provider.

- Secrets are envelope-encrypted with a customer-managed KMS key with yearly rotation (EKS user guide,
  "Encrypt Kubernetes secrets with KMS") [P]; the same key encrypts the S3 buckets and FSx.
- Access entries (``authentication_mode: API``) replace the aws-auth ConfigMap; the identity that runs Pulumi
  gets cluster admin so the Kubernetes layer can be applied (EKS user guide, access entries) [P].
- The API endpoint is private unless ``aws.api_public_cidrs`` lists networks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from neocloud.plan import ClusterPlan
from neocloud.spec import ClusterSpec

from .common import Scope, partition, stateful, tags
from .network import Network
from .profile import AwsSettings

__all__ = ["ControlPlane", "build_control_plane", "kubeconfig_document"]

CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
"""AWS managed policies the EKS cluster role needs (EKS user guide, "Amazon EKS cluster IAM role") [P]."""

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy")
"""AWS managed policies of the node role (EKS user guide, "Amazon EKS node IAM role") [P]."""


@dataclass(frozen=True)
class ControlPlane:
    """The cluster, the node role, the KMS key and the kubeconfig (a secret Output)."""

    cluster: aws.eks.Cluster
    node_role: aws.iam.Role
    node_role_policies: tuple[aws.iam.RolePolicyAttachment, ...]
    kms_key: aws.kms.Key
    kubeconfig: pulumi.Output[str]


def _assume_role(service: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    })


def kubeconfig_document(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates through ``aws eks get-token`` (no long-lived token is stored)."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
            "interactiveMode": "Never",
        }
    }
    return json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "users": [{"name": cluster_name, "user": user}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
    })


def build_control_plane(name: str, spec: ClusterSpec, plan: ClusterPlan, network: Network,
                        scope: Scope) -> ControlPlane:
    """KMS key, IAM roles and the EKS cluster, with subnets in the network's control-plane zones."""
    opts = scope.opts()
    arn_partition = partition(spec.region)
    key = aws.kms.Key(
        f"{name}-kms", description=f"neocloud {plan.name}: EKS secrets, S3 and FSx",
        enable_key_rotation=True, deletion_window_in_days=30, tags=tags(plan),
        # Losing the key loses every object encrypted with it: it is as stateful as the data.
        opts=stateful(spec, scope),
    )
    cluster_role = aws.iam.Role(f"{name}-cluster-role", assume_role_policy=_assume_role("eks.amazonaws.com"),
                                tags=tags(plan, role="eks-cluster"), opts=opts)
    cluster_policies = [
        aws.iam.RolePolicyAttachment(f"{name}-cluster-{policy}", role=cluster_role.name,
                                     policy_arn=f"arn:{arn_partition}:iam::aws:policy/{policy}", opts=opts)
        for policy in CLUSTER_POLICIES
    ]
    node_role = aws.iam.Role(f"{name}-node-role", assume_role_policy=_assume_role("ec2.amazonaws.com"),
                             tags=tags(plan, role="eks-node"), opts=opts)
    node_policies = tuple(
        aws.iam.RolePolicyAttachment(f"{name}-node-{policy}", role=node_role.name,
                                     policy_arn=f"arn:{arn_partition}:iam::aws:policy/{policy}", opts=opts)
        for policy in NODE_POLICIES
    )
    public = bool(spec.settings_of(AwsSettings).api_public_cidrs)
    vpc_config: Any = {
        # Availability Zones only: "you must not specify Local Zone subnets when you create your cluster" (EKS user
        # guide, "Launch low-latency EKS clusters with AWS Local Zones"); a P6e-GB200 pool's Local Zone subnet
        # serves its node group only.
        "subnet_ids": [network.private_subnets[z].id for z in network.control_plane_zones],
        "endpoint_private_access": True,
        "endpoint_public_access": public,
    }
    if public:
        vpc_config["public_access_cidrs"] = list(spec.settings_of(AwsSettings).api_public_cidrs)
    cluster = aws.eks.Cluster(
        f"{name}-eks",
        role_arn=cluster_role.arn,
        version=spec.kubernetes.version,
        vpc_config=vpc_config,
        access_config=_access_config(),
        encryption_config=_secrets_encryption(key),
        enabled_cluster_log_types=list(spec.settings_of(AwsSettings).control_plane_logs),
        tags=tags(plan),
        opts=stateful(spec, scope, depends_on=cluster_policies),
    )
    region = spec.region or ""
    kubeconfig = pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority).apply(
        lambda values: kubeconfig_document(values[0], values[1], _ca_data(values[2]), region)
    )
    return ControlPlane(cluster=cluster, node_role=node_role, node_role_policies=node_policies, kms_key=key,
                        kubeconfig=pulumi.Output.secret(kubeconfig))


def _access_config() -> Any:
    # Access entries, not the aws-auth ConfigMap; whoever runs Pulumi becomes cluster admin.
    return {"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True}


def _secrets_encryption(key: aws.kms.Key) -> Any:
    return {"provider": {"key_arn": key.arn}, "resources": ["secrets"]}


def _ca_data(ca: Any) -> str:
    """``certificate_authority.data`` whether the SDK hands back the output type or a plain dict."""
    if isinstance(ca, dict):
        return str(ca.get("data", ""))
    return str(getattr(ca, "data", "") or "")
