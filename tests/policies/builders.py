"""Real pulumi-aws / pulumi-kubernetes resources for policy tests, built the way the providers build them."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s


def child(parent: pulumi.Resource | None, **kwargs: Any) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def efa_interfaces(cards: int, security_group: Any, *, card0: str = "efa",
                   indexes: list[int] | None = None) -> list[dict[str, Any]]:
    """One EFA interface per network card: 'efa' at device 0 on card 0, 'efa-only' on the others."""
    out = []
    for card in indexes if indexes is not None else range(cards):
        out.append({"interface_type": card0 if card == 0 else "efa-only", "network_card_index": card,
                    "device_index": 0 if card == 0 else 1, "security_groups": [security_group.id],
                    "delete_on_termination": "true"})
    return out


def efa_security_group(name: str = "efa", *, extra_ingress: list[dict[str, Any]] | None = None,
                       self_egress: bool = True, self_ingress: bool = True) -> aws.ec2.SecurityGroup:
    ingress = [{"protocol": "-1", "from_port": 0, "to_port": 0, "self": True}] if self_ingress else []
    egress = [{"protocol": "-1", "from_port": 0, "to_port": 0, "self": True}] if self_egress else []
    return aws.ec2.SecurityGroup(name, vpc_id="vpc-1", ingress=ingress + (extra_ingress or []), egress=egress)


def launch_template(name: str, *, parent: pulumi.Resource | None = None, interfaces: list[dict[str, Any]] | None = None,
                    http_tokens: str = "required", placement: dict[str, Any] | None = None,
                    reservation: dict[str, Any] | None = None, market: str | None = None,
                    ebs: dict[str, Any] | None = None, tags: dict[str, str] | None = None) -> aws.ec2.LaunchTemplate:
    kwargs: dict[str, Any] = {
        "instance_type": "p5.48xlarge",
        "metadata_options": {"http_tokens": http_tokens, "http_endpoint": "enabled", "http_put_response_hop_limit": 1},
        "block_device_mappings": [{"device_name": "/dev/xvda",
                                   "ebs": ebs or {"encrypted": "true", "volume_size": 512}}],
    }
    if interfaces is not None:
        kwargs["network_interfaces"] = interfaces
    if placement is not None:
        kwargs["placement"] = placement
    if reservation is not None:
        kwargs["capacity_reservation_specification"] = reservation
    if market is not None:
        kwargs["instance_market_options"] = {"market_type": market}
    if tags is not None:
        kwargs["tags"] = tags
    return aws.ec2.LaunchTemplate(name, opts=child(parent), **kwargs)


def subnet(name: str, zone: str) -> aws.ec2.Subnet:
    return aws.ec2.Subnet(name, vpc_id="vpc-1", cidr_block="10.0.0.0/24", availability_zone=zone)


def node_group(name: str, *, parent: pulumi.Resource | None, subnets: list[aws.ec2.Subnet],
               template: aws.ec2.LaunchTemplate | None = None, labels: dict[str, str] | None = None,
               sizes: tuple[int, int, int] = (0, 2, 2)) -> aws.eks.NodeGroup:
    kwargs: dict[str, Any] = {}
    if template is not None:
        kwargs["launch_template"] = {"id": template.id, "version": "1"}
    return aws.eks.NodeGroup(
        name, cluster_name="c", node_role_arn="arn:aws:iam::000000000000:role/n",
        subnet_ids=[s.id for s in subnets], labels=labels or {},
        scaling_config={"min_size": sizes[0], "desired_size": sizes[1], "max_size": sizes[2]},
        opts=child(parent), **kwargs,
    )


def kueue(kind: str, name: str, spec: dict[str, Any], parent: pulumi.Resource | None = None) -> Any:
    return k8s.apiextensions.CustomResource(
        f"{kind.lower()}-{name}", api_version="kueue.x-k8s.io/v1beta2", kind=kind,
        metadata={"name": name}, spec=spec, opts=child(parent))


def topology(name: str, levels: list[str]) -> Any:
    return kueue("Topology", name, {"levels": [{"nodeLabel": label} for label in levels]})


def flavor(name: str, node_labels: dict[str, str], topology_name: str | None = None) -> Any:
    spec: dict[str, Any] = {"nodeLabels": node_labels}
    if topology_name is not None:
        spec["topologyName"] = topology_name
    return kueue("ResourceFlavor", name, spec)


def cluster_queue(name: str, flavor_name: str, gpus: int | str) -> Any:
    return kueue("ClusterQueue", name, {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}},
        "resourceGroups": [{"coveredResources": ["nvidia.com/gpu"],
                            "flavors": [{"name": flavor_name,
                                         "resources": [{"name": "nvidia.com/gpu", "nominalQuota": gpus}]}]}],
    })


def bucket(name: str, purpose: str = "checkpoints", *, protect: bool = False, acl: str | None = None) -> aws.s3.Bucket:
    kwargs: dict[str, Any] = {"acl": acl} if acl else {}
    return aws.s3.Bucket(name, tags={"neocloud.io/purpose": purpose}, opts=pulumi.ResourceOptions(protect=protect),
                         **kwargs)


def private_bucket(name: str, purpose: str = "checkpoints", *, protect: bool = False, versioned: bool = True,
                   expire: bool = True, block: dict[str, bool] | None = None,
                   encrypted: bool = True) -> aws.s3.Bucket:
    """A bucket as the AWS provider builds one: public access block, SSE, versioning, noncurrent expiry."""
    b = bucket(name, purpose, protect=protect)
    flags = {"block_public_acls": True, "block_public_policy": True, "ignore_public_acls": True,
             "restrict_public_buckets": True}
    flags.update(block or {})
    aws.s3.BucketPublicAccessBlock(f"{name}-pab", bucket=b.id, **flags)
    if encrypted:
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse", bucket=b.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}])
    aws.s3.BucketVersioning(f"{name}-versioning", bucket=b.id,
                            versioning_configuration={"status": "Enabled" if versioned else "Suspended"})
    if expire:
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=b.id, rules=[{
            "id": "noncurrent", "status": "Enabled", "filter": {},
            "noncurrent_version_expiration": {"noncurrent_days": 30}}])
    return b


def namespace(name: str, labels: dict[str, str] | None = None) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(f"ns-{name}", metadata={"name": name, "labels": labels or {}})


def network_policy(name: str, ns: k8s.core.v1.Namespace, spec: dict[str, Any]) -> k8s.networking.v1.NetworkPolicy:
    return k8s.networking.v1.NetworkPolicy(
        f"np-{name}", metadata={"name": name, "namespace": ns.metadata["name"]}, spec=spec)
