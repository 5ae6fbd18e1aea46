"""The EKS managed add-ons a GPU cluster needs, and Pod Identity for the platform's own workloads.

- ``vpc-cni`` with ``enableNetworkPolicy: "true"``: the VPC CNI enforces Kubernetes NetworkPolicies only when its
  add-on enables network policy (EKS user guide, "Restrict Pod network traffic with Kubernetes network
  policies": "Enable the network policy parameter for the add-on") [P]; without it every tenant's default-deny
  policy is accepted and ignored. ``aws-node`` runs on the host network and keeps using the node role's
  AmazonEKS_CNI_Policy (the hop limit of 1 does not hide IMDS from host-network pods).
- ``kube-proxy`` and ``coredns``: Service routing and cluster DNS as EKS add-ons, so EKS keeps their versions
  matched to the cluster's (EKS user guide, "Amazon EKS add-ons") [P]. CoreDNS needs nodes, so it waits for the
  system node group.
- ``eks-pod-identity-agent``: the agent that hands EKS Pod Identity credentials to pods (EKS user guide, "Learn
  how EKS Pod Identity grants pods access to AWS services") [P]. With IMDS's hop limit at 1 (the default of
  ``aws.imds_hop_limit``) pods cannot read the node role; a platform workload that calls AWS gets its own role.
- ``aws-fsx-csi-driver`` (with an FSx for Lustre filesystem): mounts it in pods through PersistentVolumes (EKS
  user guide, "Use high-performance app storage with Amazon FSx for Lustre"). Its controller's service account
  ``fsx-csi-controller-sa`` gets a Pod Identity role with ``AmazonFSxFullAccess``, the policy that guide names.

Add-on versions are left to EKS (the default version for the cluster's Kubernetes minor) unless
``aws.addon_versions`` pins one: the compatible versions are per Kubernetes minor and not verified here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from neocloud.plan import ClusterPlan
from neocloud.spec import ClusterSpec

from .common import Scope, partition, tags
from .profile import AwsSettings

__all__ = [
    "FSX_CSI_CONTROLLER_SERVICE_ACCOUNT",
    "POD_IDENTITY_PRINCIPAL",
    "VPC_CNI_CONFIGURATION",
    "AddOns",
    "build_addons",
    "pod_identity_trust_policy",
]

VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
"""The vpc-cni add-on's configuration values that turn on its network policy agent (EKS user guide) [P]."""
POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com"
"""The service principal an EKS Pod Identity role trusts, with ``sts:AssumeRole`` and ``sts:TagSession`` (EKS user
guide, "Assign an IAM role to a Kubernetes service account", Pod Identity trust policy) [P]."""
FSX_CSI_CONTROLLER_SERVICE_ACCOUNT = ("kube-system", "fsx-csi-controller-sa")
"""Namespace and service account of the FSx for Lustre CSI controller (the add-on's)."""
FSX_CSI_POLICY = "AmazonFSxFullAccess"
"""The AWS managed policy the EKS FSx for Lustre guide attaches to the CSI driver's role."""


@dataclass(frozen=True)
class AddOns:
    """The add-ons by name and the Pod Identity roles of platform workloads (service account -> role)."""

    addons: dict[str, aws.eks.Addon]
    roles: dict[str, aws.iam.Role]


def pod_identity_trust_policy() -> str:
    """The trust policy of a Pod Identity role."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": POD_IDENTITY_PRINCIPAL},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }]})


def build_addons(name: str, spec: ClusterSpec, plan: ClusterPlan, cluster: aws.eks.Cluster,
                 system_nodes: pulumi.Resource, scope: Scope, *, fsx: bool) -> AddOns:
    """The add-ons of ``cluster``; ``fsx``: the stack has an FSx for Lustre filesystem to mount."""
    settings: AwsSettings = spec.settings_of(AwsSettings)
    versions = dict(settings.addon_versions)
    addons: dict[str, aws.eks.Addon] = {}
    roles: dict[str, aws.iam.Role] = {}

    def addon(addon_name: str, *, after: list[pulumi.Resource] | None = None, **extra: Any) -> aws.eks.Addon:
        # EKS installs self-managed vpc-cni, kube-proxy and CoreDNS with every cluster: the managed add-on takes
        # over their configuration on create, and keeps ours on update (EKS API, ResolveConflicts).
        addons[addon_name] = aws.eks.Addon(
            f"{name}-addon-{addon_name}", cluster_name=cluster.name, addon_name=addon_name,
            addon_version=versions.get(addon_name), resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE", tags=tags(plan), opts=scope.opts(depends_on=after), **extra,
        )
        return addons[addon_name]

    addon("vpc-cni", configuration_values=json.dumps(VPC_CNI_CONFIGURATION))
    addon("kube-proxy")
    addon("eks-pod-identity-agent")
    addon("coredns", after=[system_nodes])
    if fsx:
        namespace, account = FSX_CSI_CONTROLLER_SERVICE_ACCOUNT
        role = aws.iam.Role(f"{name}-fsx-csi-role", assume_role_policy=pod_identity_trust_policy(),
                            tags=tags(plan, role="fsx-csi-controller"), opts=scope.opts())
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-fsx-csi-{FSX_CSI_POLICY}", role=role.name,
            policy_arn=f"arn:{partition(spec.region)}:iam::aws:policy/{FSX_CSI_POLICY}", opts=scope.opts())
        roles[f"{namespace}/{account}"] = role
        addon("aws-fsx-csi-driver", after=[system_nodes, addons["eks-pod-identity-agent"], attachment],
              pod_identity_associations=[{"role_arn": role.arn, "service_account": account}])
    return AddOns(addons=addons, roles=roles)
