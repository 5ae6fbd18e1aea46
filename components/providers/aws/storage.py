"""FSx for Lustre sized from the plan, and the S3 buckets.

- FSx: ``PERSISTENT_2`` SSD with the capacity and per-TiB tier from ``neocloud.plan.fsx`` (valid sizes and tiers
  cited there), in the first GPU pool's subnet, encrypted with the cluster's KMS key (FSx encrypts persistent
  file systems at rest; the key makes it ours), LZ4 compression (FSx for Lustre guide, "Lustre data
  compression": less data on disk and over the wire) [P].
- Buckets: versioning, default SSE-KMS with an S3 Bucket Key (fewer KMS requests: S3 user guide, "Reducing the
  cost of SSE-KMS with Amazon S3 Bucket Keys") [P], all four public-access-block switches on, a policy that
  refuses plain-HTTP requests, and a lifecycle rule that expires noncurrent versions after
  ``noncurrent_version_days`` and aborts stale multipart uploads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi_aws as aws

from neocloud.plan import ClusterPlan, FsxSizing, size_fsx_lustre
from neocloud.spec import ClusterSpec

from .._buckets import ABORT_MULTIPART_DAYS, lifecycle_rule
from .common import Scope, stateful, tags
from .eks import ControlPlane
from .network import Network
from .profile import AwsSettings

__all__ = ["ABORT_MULTIPART_DAYS", "Buckets", "build_buckets", "build_filesystem", "fsx_sizing"]



@dataclass(frozen=True)
class Buckets:
    """Buckets by purpose."""

    buckets: dict[str, aws.s3.Bucket]


def fsx_sizing(spec: ClusterSpec, plan: ClusterPlan) -> FsxSizing:
    """The FSx size and tier for the plan's storage targets."""
    storage = plan.storage
    if storage.read_gbps is None or storage.write_gbps is None or storage.capacity_tib is None:
        raise ValueError("the plan sizes no filesystem (storage.filesystem is not set)")
    return size_fsx_lustre(read_gbps=storage.read_gbps, write_gbps=storage.write_gbps,
                           capacity_tib=storage.capacity_tib,
                           per_unit_throughput=spec.settings_of(AwsSettings).fsx_per_unit_throughput)


def build_filesystem(name: str, spec: ClusterSpec, plan: ClusterPlan, network: Network, control: ControlPlane,
                     scope: Scope) -> tuple[aws.fsx.LustreFileSystem, FsxSizing]:
    """One Lustre file system in the first GPU pool's zone (the zone of most GPU traffic)."""
    sizing = fsx_sizing(spec, plan)
    zone = network.gpu_zones[0]
    fs = aws.fsx.LustreFileSystem(
        f"{name}-fsx",
        deployment_type="PERSISTENT_2",
        storage_type="SSD",
        storage_capacity=sizing.storage_capacity_gib,
        per_unit_storage_throughput=sizing.per_unit_storage_throughput,
        file_system_type_version=spec.settings_of(AwsSettings).fsx_version,
        # pulumi-aws 7 takes one subnet id here: FSx file systems support only one subnet.
        subnet_ids=network.private_subnets[zone].id,
        security_group_ids=[network.fsx_security_group.id],
        kms_key_id=control.kms_key.arn,
        data_compression_type="LZ4",
        tags=tags(plan, zone=zone, fsx_tier=str(sizing.per_unit_storage_throughput),
                  throughput_mbps=str(round(sizing.throughput_mbps)),
                  target_mbps=str(round(sizing.target_mbps))),
        opts=stateful(spec, scope),
    )
    return fs, sizing


def _tls_only_policy(bucket_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    })


def build_buckets(name: str, spec: ClusterSpec, plan: ClusterPlan, control: ControlPlane,
                  scope: Scope) -> Buckets:
    """One bucket per ``storage.buckets`` entry, with its protection resources."""
    out: dict[str, aws.s3.Bucket] = {}
    for entry in spec.storage.buckets:
        base = f"{name}-{entry.purpose}"
        bucket = aws.s3.Bucket(base, force_destroy=False, tags=tags(plan, purpose=entry.purpose),
                               opts=stateful(spec, scope))
        # The bucket's safety settings are retained and protected with it: deleting one of them from the stack
        # must not leave a retained bucket unversioned, unencrypted or public.
        guard = stateful(spec, scope, depends_on=[bucket])
        aws.s3.BucketPublicAccessBlock(
            f"{base}-public-access", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=guard)
        aws.s3.BucketVersioning(f"{base}-versioning", bucket=bucket.id,
                                versioning_configuration={"status": "Enabled"}, opts=guard)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{base}-encryption", bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                                                                "kms_master_key_id": control.kms_key.arn},
                    "bucket_key_enabled": True}],
            opts=guard)
        aws.s3.BucketPolicy(f"{base}-tls-only", bucket=bucket.id, policy=bucket.arn.apply(_tls_only_policy),
                            opts=guard)
        aws.s3.BucketLifecycleConfiguration(
            f"{base}-lifecycle", bucket=bucket.id,
            rules=[lifecycle_rule(entry.noncurrent_version_days)],
            opts=guard)
        out[entry.purpose] = bucket
    return Buckets(out)
