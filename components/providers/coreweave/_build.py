"""Provider ``coreweave``: a VPC, a CKS cluster and AI Object Storage buckets with the official
``pulumi-coreweave``; GPU node pools as CoreWeave ``NodePool`` custom resources applied with pulumi-kubernetes.

Sources:

- NodePool API (``compute.coreweave.com/v1alpha1``, cluster-scoped; ``instanceType``, ``targetNodes``,
  ``minNodes``, ``maxNodes``, ``autoscaling``, ``nodeLabels``, ``nodeTaints``, ``lifecycle.scaleDownStrategy``):
  https://docs.coreweave.com/docs/products/cks/reference/node-pool
- GB200 NVL72 instances (``gb200-4x``) deploy only in whole racks of 18 Nodes; ``targetNodes`` must be a multiple
  of 18: https://docs.coreweave.com/docs/platform/instances/gb200
- The CKS kubeconfig is the API server endpoint plus a CoreWeave API access token as a static bearer token; the
  API server's certificate is publicly trusted (github.com/coreweave/skills, get-coreweave-kubeconfig).
- Bucket policies can deny principals outside the organization with ``cw:PrincipalOrgID``:
  https://docs.coreweave.com/products/storage/object-storage/auth-access/bucket-access/examples

Credentials never come from ``neocloud:cluster``: the CoreWeave provider reads ``COREWEAVE_API_TOKEN`` (or the
secret Pulumi config ``coreweave:token``), and the kubeconfig takes the same token as a Pulumi secret.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pulumi

from neocloud.plan import ClusterPlan, PoolPlan
from neocloud.spec import ClusterSpec
from neocloud.vocabulary import LABEL_PURPOSE

from ...labels import ACCEPTANCE_LABELS, LABEL_SU, cluster_tags, pool_labels
from .._buckets import lifecycle_rule
from .._context import ProviderContext, ProviderResult
from .._neocloud import (
    filesystem_gib,
    gpu_taints,
    one_su_label,
    render_kubeconfig,
    secret,
    stateful,
    su_group_outputs,
)
from .profile import CoreWeaveSettings

__all__ = [
    "NODEPOOL_API_VERSION",
    "NODEPOOL_KIND",
    "bucket_policy",
    "build",
    "nodepool_labels",
    "nodepool_spec",
]

NODEPOOL_API_VERSION = "compute.coreweave.com/v1alpha1"
"""API version of CoreWeave's NodePool CRD (CoreWeave Node Pool reference [P])."""
NODEPOOL_KIND = "NodePool"

_VPC_PREFIXES = ("pod-cidr", "service-cidr", "internal-lb-cidr")
"""Names of the VPC prefixes the CKS cluster takes its Pod, Service and internal LB ranges from."""


def nodepool_labels(plan: ClusterPlan, pool: PoolPlan) -> dict[str, str]:
    """Labels every node of the pool's NodePool carries. One NodePool is one node group, so its nodes share
    ``neocloud.io/su`` of the plan's one SU group (``PoolPlan.su_groups``: 0); the topology
    below it comes from CoreWeave's own ``ib.coreweave.cloud/*`` and ``node.coreweave.cloud/rack`` labels."""
    return {**pool_labels(plan, pool), LABEL_SU: one_su_label(pool)}


def nodepool_spec(spec: ClusterSpec, plan: ClusterPlan, pool: PoolPlan) -> dict[str, Any]:
    """The NodePool ``spec`` for one pool: sized by the plan, spares included; NVL72 pools in whole racks."""
    instance_type = spec.settings_of(CoreWeaveSettings).instance_type(pool.system.name)
    if instance_type is None:  # the spec's cross-field check rejects this first
        raise ValueError(f"no CoreWeave instance type for {pool.system.name}")
    total = pool.total_nodes
    autoscaling = pool.min_nodes < total
    body: dict[str, Any] = {
        "computeClass": "default",
        "instanceType": instance_type,
        "targetNodes": total,
        "autoscaling": autoscaling,
        "minNodes": pool.min_nodes,
        "maxNodes": total,
        "nodeLabels": {**nodepool_labels(plan, pool),
                       **(ACCEPTANCE_LABELS if spec.settings_of(CoreWeaveSettings).acceptance_taint else {})},
        "nodeTaints": gpu_taints(pool.system, spec.settings_of(CoreWeaveSettings).acceptance_taint),
    }
    if autoscaling and spec.settings_of(CoreWeaveSettings).scale_down_strategy:
        body["lifecycle"] = {"scaleDownStrategy": spec.settings_of(CoreWeaveSettings).scale_down_strategy}
    return body


def bucket_policy(bucket: str, org_id: str) -> str:
    """A bucket access policy that denies every S3 action to principals outside ``org_id``."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyOutsideOrganization",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["s3:*"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"StringNotEquals": {"cw:PrincipalOrgID": [org_id]}},
        }],
    }, sort_keys=True)


def _api_token() -> pulumi.Output[str] | None:
    """The CoreWeave API token, as a secret: Pulumi config ``coreweave:token`` or ``COREWEAVE_API_TOKEN``."""
    configured = pulumi.Config("coreweave").get_secret("token")
    if configured is not None:
        return configured
    from_env = os.environ.get("COREWEAVE_API_TOKEN")
    return pulumi.Output.secret(from_env) if from_env else None


def build(ctx: ProviderContext) -> ProviderResult:
    """VPC, CKS cluster, buckets, a Kubernetes provider for the cluster and one NodePool per spec pool."""
    import pulumi_coreweave as coreweave
    import pulumi_kubernetes as k8s

    spec, plan, name = ctx.spec, ctx.plan, ctx.name
    settings = spec.settings_of(CoreWeaveSettings)
    zone = settings.zone or spec.zone
    child = pulumi.ResourceOptions(parent=ctx.parent)

    vpc = coreweave.NetworkingVpc(
        f"{name}-vpc", name=f"{name}-vpc", zone=zone,
        vpc_prefixes=[
            {"name": _VPC_PREFIXES[0], "value": settings.pod_cidr},
            {"name": _VPC_PREFIXES[1], "value": settings.service_cidr},
            {"name": _VPC_PREFIXES[2], "value": settings.internal_lb_cidr},
        ],
        opts=child,
    )
    cks = coreweave.CksCluster(
        f"{name}-cks", name=name, zone=zone, vpc_id=vpc.id, version=f"v{spec.kubernetes.version}",
        public=settings.public_api, pod_cidr_name=_VPC_PREFIXES[0], service_cidr_name=_VPC_PREFIXES[1],
        internal_lb_cidr_names=[_VPC_PREFIXES[2]],
        opts=stateful(ctx.parent, plan),
    )

    buckets: dict[str, str] = {}
    prefix = settings.bucket_prefix or name
    for spec_bucket in spec.storage.buckets:
        bucket_name = f"{prefix}-{spec_bucket.purpose}"
        bucket = coreweave.ObjectStorageBucket(
            f"{name}-{spec_bucket.purpose}", name=bucket_name, zone=zone,
            tags={**cluster_tags(plan), LABEL_PURPOSE: spec_bucket.purpose},
            opts=stateful(ctx.parent, plan),
        )
        coreweave.ObjectStorageBucketVersioning(
            f"{name}-{spec_bucket.purpose}-versioning", bucket=bucket.name,
            versioning_configuration={"status": "Enabled"}, opts=child,
        )
        coreweave.ObjectStorageBucketLifecycleConfiguration(
            f"{name}-{spec_bucket.purpose}-lifecycle", bucket=bucket.name,
            rules=[lifecycle_rule(spec_bucket.noncurrent_version_days)],
            opts=child,
        )
        if settings.org_id is None:  # the spec's cross-field check requires org_id with buckets
            raise ValueError("coreweave.org_id is required with storage.buckets")
        coreweave.ObjectStorageBucketPolicy(
            f"{name}-{spec_bucket.purpose}-policy", bucket=bucket.name,
            policy=bucket_policy(bucket_name, settings.org_id), opts=child,
        )
        buckets[spec_bucket.purpose] = bucket_name

    token = _api_token()
    if token is None:
        pulumi.log.warn("no CoreWeave API token in COREWEAVE_API_TOKEN or coreweave:token: the kubeconfig has no "
                        "credentials, so NodePools cannot be applied")
    kubeconfig = secret(
        pulumi.Output.all(cks.api_server_endpoint, token).apply(
            lambda args: render_kubeconfig(
                cluster=name, server=str(args[0]), user={"token": args[1]} if args[1] else {}
            )
        )
    )
    provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=child)

    node_pools: dict[str, dict[str, Any]] = {}
    for pool in plan.pools:
        body = nodepool_spec(spec, plan, pool)
        k8s.apiextensions.CustomResource(
            f"{name}-{pool.name}-nodepool",
            api_version=NODEPOOL_API_VERSION,
            kind=NODEPOOL_KIND,
            metadata={"name": f"{name}-{pool.name}", "labels": pool_labels(plan, pool)},
            spec=body,
            opts=pulumi.ResourceOptions(parent=ctx.pools[pool.name], provider=provider),
        )
        node_pools[pool.name] = {
            "instance_type": body["instanceType"],
            "target_nodes": body["targetNodes"],
            "racks": pool.nvlink_domains if pool.system.nvlink_domain_nodes > 1 else None,
        }

    filesystem: dict[str, Any] | None = None
    fs = spec.storage.filesystem
    if fs is not None and fs.kind == "coreweave-vast":
        # No claim here: Distributed File Storage volumes are PVCs scoped to a namespace, so the Kubernetes layer
        # gives each training team its own in the team's namespace (profile team_volume, storage class shared-vast).
        filesystem = {"storage_class": settings.filesystem_storage_class, "size_gib": filesystem_gib(plan),
                      "claims": "one per training team namespace"}

    outputs: dict[str, Any] = {
        "kubeconfig": kubeconfig,
        "coreweave": {
            "zone": zone,
            "vpc_id": vpc.id,
            "cluster_id": cks.id,
            "api_server_endpoint": cks.api_server_endpoint,
            "buckets": buckets,
            "node_pools": node_pools,
            "filesystem": filesystem,
        },
        "placement_blocks": su_group_outputs(plan),
    }
    return ProviderResult(outputs=outputs, kubernetes_provider=provider)
