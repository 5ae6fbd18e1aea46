"""What pulumi-aws computes that the neocloud program reads, for runs under mocks.

Only provider-computed values the program (or its outputs) reads are here: auto-generated names, ARNs, the EKS
endpoint, certificate authority and cluster security group, the launch template version, the FSx DNS and mount
names. Values are clearly fake: account ``000000000000``, ``.invalid`` host names (RFC 2606). The program calls
no AWS invoke (it derives the ARN partition from the region), so ``INVOKES`` gets nothing from this module.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

from components.providers.aws.profile import (
    EKS_CLUSTER,
    EKS_NODE_GROUP,
    LAUNCH_TEMPLATE,
    LUSTRE,
    PLACEMENT_GROUP,
    S3_BUCKET,
)

from . import FAKE_ACCOUNT, OUTPUTS

__all__ = ["physical_name"]

_REGION = "mock-region-1"
"""Resource inputs do not carry the provider's region; ARNs use this placeholder."""

_FAKE_CA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nneocloud mock CA\n-----END CERTIFICATE-----\n").decode()


def physical_name(name: str, max_length: int = 63) -> str:
    """Pulumi's auto-name: the logical name plus a 7-hex suffix (deterministic here)."""
    suffix = hashlib.sha256(name.encode()).hexdigest()[:7]
    return f"{name[: max_length - 8]}-{suffix}"


def _arn(service: str, resource: str, *, region: bool = True) -> str:
    return f"arn:aws:{service}:{_REGION if region else ''}:{FAKE_ACCOUNT}:{resource}"


def _eks_cluster(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    cluster = inputs.get("name") or physical_name(name, 100)
    vpc_config = dict(inputs.get("vpcConfig") or {})
    vpc_config.update(clusterSecurityGroupId=f"sg-{name}-cluster", vpcId="vpc-mock")
    return {
        "name": cluster,
        "arn": _arn("eks", f"cluster/{cluster}"),
        "endpoint": f"https://{hashlib.sha256(cluster.encode()).hexdigest()[:32].upper()}.eks.invalid",
        "certificateAuthority": {"data": _FAKE_CA},
        "vpcConfig": vpc_config,
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.invalid/id/{cluster}"}]}],
        "status": "ACTIVE",
    }


def _node_group(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    group = inputs.get("nodeGroupName") or physical_name(name)
    # EKS names a managed node group's Auto Scaling group eks-<nodegroup>-<uuid> (Nodegroup.resources).
    asg = f"eks-{group}-{hashlib.sha256(group.encode()).hexdigest()[:8]}"
    return {"nodeGroupName": group, "arn": _arn("eks", f"nodegroup/{group}"), "status": "ACTIVE",
            "resources": [{"autoscalingGroups": [{"name": asg}], "remoteAccessSecurityGroupId": ""}]}


def _launch_template(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    template = inputs.get("name") or physical_name(name, 128)
    return {"name": template, "arn": _arn("ec2", f"launch-template/lt-{name}"), "latestVersion": 1,
            "defaultVersion": 1}


def _named(service: str, kind: str, key: str = "name", max_length: int = 63) -> Callable[..., dict[str, Any]]:
    def outputs(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
        """The auto-generated name (unless the program set one) and an ARN built from it."""
        value = inputs.get(key) or physical_name(name, max_length)
        return {key: value, "arn": _arn(service, f"{kind}/{value}", region=service != "iam")}
    return outputs


def _bucket(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    bucket = inputs.get("bucket") or physical_name(name)
    return {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "bucketDomainName": f"{bucket}.s3.invalid"}


def _kms_key(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    key_id = hashlib.sha256(name.encode()).hexdigest()[:32]
    return {"keyId": key_id, "arn": _arn("kms", f"key/{key_id}")}


def _lustre(name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    fs_id = f"fs-{hashlib.sha256(name.encode()).hexdigest()[:17]}"
    return {
        "arn": _arn("fsx", f"file-system/{fs_id}"),
        "dnsName": f"{fs_id}.fsx.{_REGION}.invalid",
        "mountName": hashlib.sha256(fs_id.encode()).hexdigest()[:8],
    }


OUTPUTS.update({
    EKS_CLUSTER: _eks_cluster,
    EKS_NODE_GROUP: _node_group,
    LAUNCH_TEMPLATE: _launch_template,
    PLACEMENT_GROUP: _named("ec2", "placement-group"),
    "aws:iam/role:Role": _named("iam", "role", max_length=64),
    S3_BUCKET: _bucket,
    "aws:kms/key:Key": _kms_key,
    LUSTRE: _lustre,
    "aws:resourcegroups/group:Group": _named("resource-groups", "group", max_length=128),
})
