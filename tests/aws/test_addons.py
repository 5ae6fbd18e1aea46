"""EKS managed add-ons and Pod Identity (components/providers/aws/addons.py), against the EKS user guide."""

from __future__ import annotations

import json

import pytest

from neocloud.offline import RecordedResource
from tests.aws.support import aws_resources, variant_run

ADDON = "eks/addon:Addon"
ROLE = "iam/role:Role"


def _addons(variant: str) -> dict[str, RecordedResource]:
    return {r.inputs["addonName"]: r for r in aws_resources(variant_run(variant), ADDON)}


@pytest.mark.parametrize("variant", ["dev", "prod", "p4d", "gb200"])
def test_every_eks_cluster_gets_the_addons_it_needs(variant: str) -> None:
    names = set(_addons(variant))
    assert names >= {"vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent"}
    # FSx for Lustre is mounted through its CSI driver (EKS user guide, FSx for Lustre storage): present exactly
    # where the stack has a filesystem
    has_fsx = bool(aws_resources(variant_run(variant), "fsx/lustreFileSystem:LustreFileSystem"))
    assert ("aws-fsx-csi-driver" in names) is has_fsx
    assert len(names) == 4 + has_fsx


def test_vpc_cni_enables_network_policy() -> None:
    """EKS user guide, "Restrict Pod network traffic with Kubernetes network policies": the VPC CNI enforces
    NetworkPolicy only when the add-on's configuration sets enableNetworkPolicy to "true"."""
    for variant in ("dev", "prod"):
        cni = _addons(variant)["vpc-cni"]
        assert json.loads(cni.inputs["configurationValues"])["enableNetworkPolicy"] == "true"


def test_coredns_waits_for_nodes_and_the_kubernetes_layer_waits_for_the_addons() -> None:
    run = variant_run("dev")
    addons = _addons("dev")
    system = next(r for r in aws_resources(run, "eks/nodeGroup:NodeGroup") if "system" in r.name)
    assert system.urn in addons["coredns"].dependencies
    provider = next(r for r in run.resources if r.type == "pulumi:providers:kubernetes")
    assert {a.urn for a in addons.values()} <= set(provider.dependencies)


def test_fsx_csi_controller_gets_a_pod_identity_role() -> None:
    """EKS Pod Identity: the role trusts pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession, and the
    add-on associates it with the controller's service account."""
    run = variant_run("prod")
    fsx = _addons("prod")["aws-fsx-csi-driver"]
    [association] = fsx.inputs["podIdentityAssociations"]
    assert association["serviceAccount"] == "fsx-csi-controller-sa"
    role = next(r for r in aws_resources(run, ROLE) if "fsx-csi" in r.name)
    statement = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert sorted(statement["Action"]) == ["sts:AssumeRole", "sts:TagSession"]
    attached = [r for r in aws_resources(run, "iam/rolePolicyAttachment:RolePolicyAttachment")
                if "fsx-csi" in r.name]
    assert [a.inputs["policyArn"].rsplit("/", 1)[-1] for a in attached] == ["AmazonFSxFullAccess"]
