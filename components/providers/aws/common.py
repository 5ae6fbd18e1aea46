"""Shared helpers of the AWS provider: tags, resource options for stateful resources, the IAM partition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from neocloud.plan import ClusterPlan, PoolPlan
from neocloud.spec import ClusterSpec

from ...labels import LABEL_POOL, PREFIX, cluster_tags
from .profile import AwsSettings

__all__ = ["Scope", "partition", "pool_tags", "stateful", "tags"]


@dataclass(frozen=True)
class Scope:
    """Where resources go: their parent component, and the explicit AWS provider whose region is the spec's."""

    parent: pulumi.Resource
    provider: pulumi.ProviderResource | None

    def opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Resource options in this scope, plus ``kwargs``."""
        return pulumi.ResourceOptions(parent=self.parent, provider=self.provider, **kwargs)

    def under(self, parent: pulumi.Resource) -> Scope:
        """The same provider under another parent (a pool's resources under its ``GpuPool``)."""
        return Scope(parent, self.provider)


def tags(plan: ClusterPlan, **extra: str) -> dict[str, str]:
    """``cluster_tags`` plus ``extra`` (keys given without the ``neocloud.io/`` prefix); plain values only, so
    policies can read them during a preview."""
    out = cluster_tags(plan)
    out.update({f"{PREFIX}/{k.replace('_', '-')}": str(v) for k, v in extra.items()})
    return out


def pool_tags(plan: ClusterPlan, pool: PoolPlan, **extra: str) -> dict[str, str]:
    """Tags of a pool's resources: the cluster's, the pool's name and system, and ``extra``."""
    out = tags(plan, system=pool.system.name, **extra)
    out[LABEL_POOL] = pool.name
    return out


def stateful(spec: ClusterSpec, scope: Scope, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for resources that hold data (EKS cluster, FSx, buckets, the KMS key): not deleted with the stack
    (``retain_on_delete``, unless ``aws.retain_stateful`` is false outside prod), and in prod not deletable at
    all without an explicit unprotect."""
    retain = spec.settings_of(AwsSettings).retain_stateful
    return scope.opts(protect=spec.environment == "prod", retain_on_delete=retain, **kwargs)


def partition(region: str | None) -> str:
    """The ARN partition of ``region``: ``aws-cn`` for China, ``aws-us-gov`` for GovCloud, else ``aws``
    (AWS General Reference, ARN format). Computed here so the program needs no invoke."""
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
