"""The S3 bucket behind a Pulumi DIY state backend, made idempotently.

``bootstrap_backend`` reads each setting first and writes only what differs, so a second run makes no write
call at all. It never deletes an object, a version or another lifecycle rule: the only expiry it configures is
for *noncurrent* versions of state files (old checkpoints), after ``noncurrent_days``.

Settings (each reported as ``created``/``set``/``ok``):

- bucket: created in the region (``LocationConstraint`` outside us-east-1);
- versioning: ``Enabled`` (every state write keeps the previous checkpoint as a noncurrent version);
- default encryption: SSE-S3 (``AES256``), or SSE-KMS with a bucket key when a KMS key is given; an existing
  default encryption is kept as is (never downgraded);
- public access block: all four settings true;
- lifecycle: rule ``neocloud-state-noncurrent-versions`` expires noncurrent versions after ``noncurrent_days``
  and aborts incomplete multipart uploads after 7 days; other rules of the bucket are kept.

The login URL follows Pulumi's DIY backend guide (pulumi.com/docs/iac/operations/stack-management/
using-a-diy-backend, "AWS S3"): ``s3://<bucket>?region=<r>&awssdk=v2&profile=<p>`` on AWS, and
``endpoint=<host:port>``, ``s3ForcePathStyle=true`` (and ``disableSSL=true`` over http) for S3-compatible stores.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.exceptions import ClientError

from ..errors import SpecError
from .errors import AwsError, translated

__all__ = [
    "DEFAULT_NONCURRENT_DAYS",
    "LIFECYCLE_RULE_ID",
    "BootstrapReport",
    "bootstrap_backend",
    "pulumi_login_url",
    "split_backend_path",
]

LIFECYCLE_RULE_ID = "neocloud-state-noncurrent-versions"
DEFAULT_NONCURRENT_DAYS = 90
"""Days a superseded state checkpoint is kept (a choice, not an AWS number: long enough to roll back a quarter)."""
ABORT_MULTIPART_DAYS = 7
"""Days before an incomplete multipart upload is aborted (a choice: state files are small, uploads finish in
seconds; the parts of an abandoned one are otherwise billed forever)."""

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
"""S3 general purpose bucket names: 3-63 characters, lower-case letters, digits, dots and hyphens, starting and
ending with a letter or digit (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html)."""


@dataclass
class BootstrapReport:
    """What ``bootstrap_backend`` found and did, setting by setting, and the ``pulumi login`` URL."""

    bucket: str
    region: str
    login_url: str
    steps: list[tuple[str, str, str]] = field(default_factory=list)
    """(setting, outcome, detail); outcome is ``created``, ``set`` or ``ok`` (already as wanted)."""

    @property
    def changed(self) -> bool:
        """Whether this run wrote anything."""
        return any(outcome != "ok" for _, outcome, _ in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The stable ``backend bootstrap --json`` document."""
        return {
            "bucket": self.bucket,
            "region": self.region,
            "changed": self.changed,
            "steps": [{"setting": s, "outcome": o, "detail": d} for s, o, d in self.steps],
            "login": f"pulumi login '{self.login_url}'",
            "login_url": self.login_url,
        }


def split_backend_path(path: str) -> tuple[str, str]:
    """``BUCKET[/PREFIX]`` -> (bucket, prefix). Raises ``SpecError`` naming ``BUCKET`` for an invalid name."""
    text = path.removeprefix("s3://").strip("/")
    bucket, _, prefix = text.partition("/")
    if not _BUCKET.match(bucket) or ".." in bucket or bucket.startswith("xn--") or _is_ip(bucket):
        raise SpecError("BUCKET", f"{bucket!r} is not a valid S3 bucket name: 3-63 lower-case letters, digits, "
                        "dots and hyphens, starting and ending with a letter or digit, not an IP address")
    return bucket, prefix


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def pulumi_login_url(bucket: str, prefix: str, *, region: str, profile: str | None, endpoint_url: str | None) -> str:
    """The ``pulumi login`` URL for the bucket (see the module docstring for the documented forms)."""
    path = f"{bucket}/{prefix}" if prefix else bucket
    params: list[tuple[str, str]] = [("region", region)]
    if endpoint_url:
        parts = urlsplit(endpoint_url if "://" in endpoint_url else f"https://{endpoint_url}")
        params.append(("endpoint", parts.netloc + parts.path.rstrip("/")))
        params.append(("s3ForcePathStyle", "true"))
        if parts.scheme == "http":
            params.append(("disableSSL", "true"))
    else:
        params.append(("awssdk", "v2"))
    if profile:
        params.append(("profile", profile))
    query = "&".join(f"{k}={quote(v, safe=':/.-_')}" for k, v in params)
    return f"s3://{path}?{query}"


def bootstrap_backend(
    s3: Any,
    path: str,
    *,
    region: str,
    profile: str | None = None,
    endpoint_url: str | None = None,
    noncurrent_days: int = DEFAULT_NONCURRENT_DAYS,
    kms_key_id: str | None = None,
) -> BootstrapReport:
    """Create or complete the state bucket ``path`` (``BUCKET[/PREFIX]``) with the S3 client ``s3``.

    Idempotent: reads every setting and writes only the ones that differ. Raises ``SpecError`` for a bad name
    or day count, ``AwsError`` for AWS failures (a bucket name taken by another account included).
    """
    bucket, prefix = split_backend_path(path)
    if not 1 <= noncurrent_days <= 36500:
        raise SpecError("--noncurrent-days", f"must be 1 to 36500; got {noncurrent_days}")
    report = BootstrapReport(bucket=bucket, region=region, login_url=pulumi_login_url(
        bucket, prefix, region=region, profile=profile, endpoint_url=endpoint_url))
    with translated(s3):
        report.steps.append(("bucket", *_ensure_bucket(s3, bucket, region)))
        report.steps.append(("versioning", *_ensure_versioning(s3, bucket)))
        report.steps.append(("encryption", *_ensure_encryption(s3, bucket, kms_key_id)))
        report.steps.append(("public-access-block", *_ensure_public_access_block(s3, bucket)))
        report.steps.append(("lifecycle", *_ensure_lifecycle(s3, bucket, noncurrent_days)))
    return report


def _code(error: ClientError) -> str:
    return str((error.response.get("Error") or {}).get("Code") or "")


def _ensure_bucket(s3: Any, bucket: str, region: str) -> tuple[str, str]:
    try:
        s3.head_bucket(Bucket=bucket)
        return "ok", f"s3://{bucket} exists"
    except ClientError as error:
        if _code(error) not in ("404", "NoSuchBucket", "NotFound"):
            if _code(error) in ("403", "AccessDenied"):
                raise AwsError(f"bucket {bucket!r} exists but this identity cannot use it (HTTP 403 on HeadBucket): "
                               "it belongs to another account, or the caller lacks s3:ListBucket on it",
                               kind="permission", exit_code=2, code="AccessDenied", action="s3:ListBucket") from None
            raise
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except ClientError as error:
        if _code(error) == "BucketAlreadyOwnedByYou":  # created concurrently by us
            return "ok", f"s3://{bucket} exists"
        if _code(error) == "BucketAlreadyExists":
            raise AwsError(f"bucket name {bucket!r} is taken by another AWS account; S3 bucket names are global, "
                           "choose another", kind="invalid", exit_code=2, code="BucketAlreadyExists",
                           action="s3:CreateBucket") from None
        raise
    return "created", f"s3://{bucket} in {region}"


def _ensure_versioning(s3: Any, bucket: str) -> tuple[str, str]:
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    if status == "Enabled":
        return "ok", "Enabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return "set", f"Enabled (was {status or 'never enabled'})"


def _ensure_encryption(s3: Any, bucket: str, kms_key_id: str | None) -> tuple[str, str]:
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as error:
        if _code(error) != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        rules = []
    current = [r.get("ApplyServerSideEncryptionByDefault", {}) for r in rules]
    algorithms = [c.get("SSEAlgorithm") for c in current if c.get("SSEAlgorithm")]
    if algorithms and (kms_key_id is None or any(
            c.get("SSEAlgorithm") == "aws:kms" and c.get("KMSMasterKeyID") == kms_key_id for c in current)):
        return "ok", ", ".join(algorithms)
    if kms_key_id:
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_id},
                "BucketKeyEnabled": True}
        detail = f"aws:kms ({kms_key_id}) with bucket key"
    else:
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        detail = "AES256 (SSE-S3)"
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    return "set", detail


_PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _ensure_public_access_block(s3: Any, bucket: str) -> tuple[str, str]:
    try:
        current = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError as error:
        if _code(error) != "NoSuchPublicAccessBlockConfiguration":
            raise
        current = {}
    if all(current.get(k) is True for k in _PAB_KEYS):
        return "ok", "all public access blocked"
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={k: True for k in _PAB_KEYS})
    off = [k for k in _PAB_KEYS if current.get(k) is not True]
    return "set", f"blocked ({', '.join(off)} were off)"


def _wanted_rule(noncurrent_days: int) -> dict[str, Any]:
    return {
        "ID": LIFECYCLE_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS},
    }


def _rule_matches(rule: dict[str, Any], noncurrent_days: int) -> bool:
    # Compare only what we set: servers add defaults (e.g. TransitionDefaultMinimumObjectSize) to what they return.
    return (
        rule.get("Status") == "Enabled"
        and (rule.get("Filter") or {}).get("Prefix", "") == ""
        and len(rule.get("Filter") or {}) <= 1
        and (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays") == noncurrent_days
        and (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation") == ABORT_MULTIPART_DAYS
        and "Expiration" not in rule
        and not rule.get("Transitions")
    )


def _ensure_lifecycle(s3: Any, bucket: str, noncurrent_days: int) -> tuple[str, str]:
    try:
        rules = list(s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []))
    except ClientError as error:
        if _code(error) != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    ours = [r for r in rules if r.get("ID") == LIFECYCLE_RULE_ID]
    detail = f"noncurrent versions expire after {noncurrent_days} days; incomplete uploads after {ABORT_MULTIPART_DAYS}"
    if len(ours) == 1 and _rule_matches(ours[0], noncurrent_days):
        return "ok", detail
    others = [r for r in rules if r.get("ID") != LIFECYCLE_RULE_ID]
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [*others, _wanted_rule(noncurrent_days)]})
    kept = f"; kept {len(others)} other rule(s)" if others else ""
    return ("set" if ours else "created"), detail + kept
