"""The S3 bucket behind a Pulumi DIY state backend, made idempotently and without risking anyone's data.

``bootstrap_backend`` first *reads* the bucket (its region, settings, lifecycle rules, policy status, ACL and
whether it holds objects outside the state path), decides, and only then writes, and only what differs: a second
run makes no write call at all. It never deletes an object, a version, a policy, an ACL grant or another
lifecycle rule. What it found is always reported, setting by setting.

It refuses (changes nothing, exit 1; ``BootstrapReport.refused`` says why) when:

- a lifecycle rule of the bucket would expire *current* objects of the state path (``Expiration`` with
  ``Days``/``Date``), or transition them to S3 Glacier Flexible Retrieval or Deep Archive (objects there "are not
  available for real-time access" until restored: S3 User Guide, "Understanding S3 Glacier storage classes"): the
  state would be deleted or unreadable. Such a rule belongs to someone; fix or narrow it, then re-run;
- the bucket policy is public (``GetBucketPolicyStatus`` ``IsPublic``) or the ACL grants to ``AllUsers`` /
  ``AuthenticatedUsers`` (S3 User Guide, "Access control list (ACL) overview", predefined groups): the state
  (resource inputs, secrets' ciphertext) must never be readable by anyone. Remove them, then re-run;
- the bucket is *shared* (it existed and holds objects outside the state path -- ``PREFIX/.pulumi/`` with a
  prefix, else ``.pulumi/``) and a bucket-wide setting (versioning, default encryption, public access block)
  differs: those apply to every team's objects (enabling versioning keeps every overwritten object, billed), so
  they change only with ``bucket_wide=True`` (``--bucket-wide``).

A bucket in another region than ``region`` is bad input (``--region``): HeadBucket answers with its region
(``x-amz-bucket-region``, S3 API Reference "HeadBucket"), and the login URL must name it.

Settings (each reported as ``created``/``set``/``ok``, or ``needs`` when refused):

- bucket: created in the region (``LocationConstraint`` outside us-east-1);
- versioning: ``Enabled`` (every state write keeps the previous checkpoint as a noncurrent version);
- default encryption: SSE-S3 (``AES256``), or SSE-KMS with a bucket key when a KMS key is given; an existing
  default encryption is kept as is (never downgraded);
- public access block: all four settings true;
- lifecycle: rule ``neocloud-state-noncurrent-versions`` (with a prefix: ``...-<hash>`` scoped to ``PREFIX/``, so
  other teams' objects are never touched) expires noncurrent versions after ``noncurrent_days`` and aborts
  incomplete multipart uploads after 7 days; other rules of the bucket are kept.

The login URL follows Pulumi's DIY backend guide (pulumi.com/docs/iac/operations/stack-management/
using-a-diy-backend, "AWS S3"): ``s3://<bucket>?region=<r>&awssdk=v2&profile=<p>`` on AWS, and
``endpoint=<host:port>``, ``s3ForcePathStyle=true`` (and ``disableSSL=true`` over http) for S3-compatible stores;
state goes under ``<prefix>/.pulumi/``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.exceptions import ClientError

from ..aws_rules import bucket_name_problem
from ..errors import SpecError
from .errors import AwsError, translated

__all__ = [
    "DEFAULT_NONCURRENT_DAYS",
    "LIFECYCLE_RULE_ID",
    "BootstrapReport",
    "bootstrap_backend",
    "lifecycle_rule_id",
    "pulumi_login_url",
    "split_backend_path",
]

LIFECYCLE_RULE_ID = "neocloud-state-noncurrent-versions"
DEFAULT_NONCURRENT_DAYS = 90
"""Days a superseded state checkpoint is kept (a choice, not an AWS number: long enough to roll back a quarter)."""
ABORT_MULTIPART_DAYS = 7
"""Days before an incomplete multipart upload is aborted (a choice: state files are small, uploads finish in
seconds; the parts of an abandoned one are otherwise billed forever)."""
STATE_DIR = ".pulumi/"
"""Where the DIY backend keeps state under the login URL's path (Pulumi DIY backend guide)."""
ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
"""Storage classes whose objects cannot be read without a restore (S3 Glacier Instant Retrieval can)."""
PUBLIC_GROUPS = frozenset({"http://acs.amazonaws.com/groups/global/AllUsers",
                           "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"})
_UNSUPPORTED = ("NotImplemented", "501", "MethodNotAllowed", "405", "XNotImplemented")

@dataclass
class BootstrapReport:
    """What ``bootstrap_backend`` found and did, setting by setting, and the ``pulumi login`` URL."""

    bucket: str
    region: str
    login_url: str
    prefix: str = ""
    steps: list[tuple[str, str, str]] = field(default_factory=list)
    """(setting, outcome, detail); outcome is ``created``, ``set``, ``ok`` (already as wanted) or ``needs``
    (differs, not changed because the run was refused)."""
    found: list[str] = field(default_factory=list)
    """What the bucket held before this run that matters for the state (always reported)."""
    refused: list[str] = field(default_factory=list)
    """Why nothing was changed; empty when the run went through."""

    @property
    def changed(self) -> bool:
        """Whether this run wrote anything."""
        return any(outcome in ("created", "set") for _, outcome, _ in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The stable ``backend bootstrap --json`` document."""
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "region": self.region,
            "changed": self.changed,
            "refused": list(self.refused),
            "found": list(self.found),
            "steps": [{"setting": s, "outcome": o, "detail": d} for s, o, d in self.steps],
            "login": None if self.refused else f"pulumi login '{self.login_url}'",
            "login_url": None if self.refused else self.login_url,
        }


def split_backend_path(path: str) -> tuple[str, str]:
    """``BUCKET[/PREFIX]`` -> (bucket, prefix). Raises ``SpecError`` naming ``BUCKET`` for an invalid name."""
    text = path.removeprefix("s3://").strip("/")
    bucket, _, prefix = text.partition("/")
    # The S3 naming rules, checked once for every bucket name neocloud handles (neocloud.aws_rules).
    problem = bucket_name_problem(bucket)
    if problem:
        raise SpecError("BUCKET", problem)
    return bucket, prefix


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


def lifecycle_rule_id(prefix: str) -> str:
    """Our lifecycle rule's ID: one per state path, so teams sharing a bucket each keep their own."""
    if not prefix:
        return LIFECYCLE_RULE_ID
    return f"{LIFECYCLE_RULE_ID}-{hashlib.sha256(prefix.encode()).hexdigest()[:12]}"


@dataclass
class _Bucket:
    """What the bucket is now (read before any write)."""

    existed: bool
    versioning: str | None = None
    encryption: list[dict[str, Any]] = field(default_factory=list)
    public_access_block: dict[str, Any] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    """Up to a page of object keys outside the state path."""


def bootstrap_backend(
    s3: Any,
    path: str,
    *,
    region: str,
    profile: str | None = None,
    endpoint_url: str | None = None,
    noncurrent_days: int = DEFAULT_NONCURRENT_DAYS,
    kms_key_id: str | None = None,
    bucket_wide: bool = False,
) -> BootstrapReport:
    """Create or complete the state bucket ``path`` (``BUCKET[/PREFIX]``) with the S3 client ``s3``.

    Reads everything first; refuses (``report.refused``, nothing written) in the cases of the module docstring;
    else writes only the settings that differ. ``bucket_wide`` allows changing bucket-wide settings of a shared
    bucket. Raises ``SpecError`` for a bad name, day count or a bucket in another region, ``AwsError`` for AWS
    failures (a bucket name taken by another account included).
    """
    bucket, prefix = split_backend_path(path)
    prefix = prefix.strip("/")
    if not 1 <= noncurrent_days <= 36500:
        raise SpecError("--noncurrent-days", f"must be 1 to 36500; got {noncurrent_days}")
    report = BootstrapReport(bucket=bucket, region=region, prefix=prefix, login_url=pulumi_login_url(
        bucket, prefix, region=region, profile=profile, endpoint_url=endpoint_url))
    state_path = f"{prefix}/{STATE_DIR}" if prefix else STATE_DIR
    rule_id = lifecycle_rule_id(prefix)
    rule_prefix = f"{prefix}/" if prefix else ""
    with translated(s3):
        current = _inspect(s3, bucket, region, state_path, report)
        if current.existed:
            _check_lifecycle(current.rules, state_path, rule_id, report)
            _check_public(s3, bucket, report)
        shared = current.existed and bool(current.outside)
        wanted = _wanted(current, kms_key_id)
        for setting, (needed, detail) in wanted.items():
            if needed and shared and not bucket_wide:
                report.refused.append(
                    f"{setting} is bucket-wide and would change ({detail}) on a shared bucket (it holds objects "
                    f"outside {state_path}, e.g. {current.outside[0]!r}): pass --bucket-wide to change it for "
                    "every object of the bucket")
        lifecycle_needed, lifecycle_detail, others = _lifecycle_plan(current.rules, rule_id, rule_prefix,
                                                                     noncurrent_days)
        if report.refused:
            report.steps.append(("bucket", "ok", f"s3://{bucket} exists in {region}"))
            for setting, (needed, detail) in wanted.items():
                report.steps.append((setting, "needs" if needed else "ok", detail))
            report.steps.append(("lifecycle", "needs" if lifecycle_needed else "ok", lifecycle_detail))
            return report
        report.steps.append(("bucket", *(_create_bucket(s3, bucket, region) if not current.existed
                                         else ("ok", f"s3://{bucket} exists in {region}"))))
        report.steps.append(("versioning", *_apply_versioning(s3, bucket, *wanted["versioning"])))
        report.steps.append(("encryption", *_apply_encryption(s3, bucket, kms_key_id, *wanted["encryption"])))
        report.steps.append(("public-access-block", *_apply_pab(s3, bucket, *wanted["public-access-block"])))
        if lifecycle_needed:
            s3.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": [*others, _wanted_rule(rule_id, rule_prefix,
                                                                                     noncurrent_days)]})
            ours = any(r.get("ID") == rule_id for r in current.rules)
            report.steps.append(("lifecycle", "set" if ours else "created", lifecycle_detail))
        else:
            report.steps.append(("lifecycle", "ok", lifecycle_detail))
    return report


def _code(error: ClientError) -> str:
    return str((error.response.get("Error") or {}).get("Code") or "")


def _inspect(s3: Any, bucket: str, region: str, state_path: str, report: BootstrapReport) -> _Bucket:
    try:
        head = s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        if _code(error) in ("404", "NoSuchBucket", "NotFound"):
            report.found.append(f"no bucket s3://{bucket}: it will be created in {region}")
            return _Bucket(existed=False)
        if _code(error) in ("403", "AccessDenied"):
            raise AwsError(f"bucket {bucket!r} exists but this identity cannot use it (HTTP 403 on HeadBucket): "
                           "it belongs to another account, or the caller lacks s3:ListBucket on it",
                           kind="permission", exit_code=2, code="AccessDenied", action="s3:ListBucket") from None
        raise
    actual = head.get("BucketRegion") or (head.get("ResponseMetadata") or {}).get("HTTPHeaders", {}).get(
        "x-amz-bucket-region")
    if actual and actual != region:
        raise SpecError("--region", f"bucket s3://{bucket} is in {actual}, not {region}: pass --region {actual} "
                        "(the login URL and every call must name the bucket's region)")
    found = _Bucket(existed=True)
    found.versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    try:
        found.encryption = list(s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"])
    except ClientError as error:
        if _code(error) != "ServerSideEncryptionConfigurationNotFoundError":
            raise
    try:
        found.public_access_block = dict(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"])
    except ClientError as error:
        if _code(error) != "NoSuchPublicAccessBlockConfiguration":
            raise
    try:
        found.rules = list(s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []))
    except ClientError as error:
        if _code(error) != "NoSuchLifecycleConfiguration":
            raise
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=1000)
    keys = [str(o["Key"]) for o in page.get("Contents", [])]
    found.outside = [k for k in keys if not k.startswith(state_path)]
    inside = len(keys) - len(found.outside)
    more = "+" if page.get("IsTruncated") else ""
    versioning = found.versioning or "never enabled"
    report.found.append(f"s3://{bucket} exists in {actual or region}: versioning {versioning}, "
                        f"{len(found.rules)} lifecycle rule(s), {inside}{more if not found.outside else ''} object(s) "
                        f"under {state_path}, {len(found.outside)}{more if found.outside else ''} outside it"
                        f"{' (a shared bucket)' if found.outside else ''}")
    return found


def _covers(rule: dict[str, Any], state_path: str) -> bool:
    """Whether a lifecycle rule can apply to objects of the state path (Pulumi state objects carry no tags, so
    a rule that requires tags does not; a size filter may)."""
    filt = rule.get("Filter")
    if filt is None:
        prefix = str(rule.get("Prefix") or "")  # the legacy rule-level prefix
        tags: list[Any] = []
    else:
        and_ = filt.get("And") or {}
        prefix = str(filt.get("Prefix") or and_.get("Prefix") or "")
        tags = [filt["Tag"]] if filt.get("Tag") else list(and_.get("Tags") or [])
    if tags:
        return False
    return state_path.startswith(prefix) or prefix.startswith(state_path)


def _check_lifecycle(rules: list[dict[str, Any]], state_path: str, rule_id: str, report: BootstrapReport) -> None:
    for rule in rules:
        name = rule.get("ID") or "(no ID)"
        if rule.get("Status") != "Enabled" or rule.get("ID") == rule_id or not _covers(rule, state_path):
            continue
        expiration = rule.get("Expiration") or {}
        if expiration.get("Days") is not None or expiration.get("Date") is not None:
            when = (f"after {expiration['Days']} day(s)" if expiration.get("Days") is not None
                    else f"on {expiration['Date']}")
            report.refused.append(f"lifecycle rule {name!r} expires current objects of {state_path} {when}: it "
                                  "would delete the Pulumi state; narrow its filter or remove it, then re-run")
        for transition in rule.get("Transitions") or []:
            if transition.get("StorageClass") in ARCHIVE_CLASSES:
                report.refused.append(f"lifecycle rule {name!r} moves objects of {state_path} to "
                                      f"{transition['StorageClass']}, where they cannot be read without a restore; "
                                      "narrow its filter or remove it, then re-run")
        noncurrent = (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays")
        if noncurrent is not None:
            report.found.append(f"lifecycle rule {name!r} also expires old state versions after {noncurrent} day(s)")


def _check_public(s3: Any, bucket: str, report: BootstrapReport) -> None:
    try:
        status = s3.get_bucket_policy_status(Bucket=bucket).get("PolicyStatus") or {}
        if status.get("IsPublic"):
            report.refused.append(f"the bucket policy of s3://{bucket} is public (GetBucketPolicyStatus IsPublic): "
                                  "remove its public statements (the state must never be readable by anyone), "
                                  "then re-run")
    except ClientError as error:
        if _code(error) in _UNSUPPORTED:
            report.found.append("the endpoint cannot tell whether the bucket policy is public (GetBucketPolicyStatus "
                                "not implemented): check it yourself")
        elif _code(error) != "NoSuchBucketPolicy":
            raise
    try:
        grants = s3.get_bucket_acl(Bucket=bucket).get("Grants") or []
    except ClientError as error:
        if _code(error) not in _UNSUPPORTED:
            raise
        report.found.append("the endpoint cannot show the bucket ACL (GetBucketAcl not implemented): check it yourself")
        return
    public = sorted({f"{g.get('Permission')} to {g['Grantee']['URI'].rsplit('/', 1)[-1]}" for g in grants
                     if (g.get("Grantee") or {}).get("URI") in PUBLIC_GROUPS})
    if public:
        report.refused.append(f"the bucket ACL of s3://{bucket} grants {', '.join(public)}: remove those grants "
                              "(aws s3api put-bucket-acl --acl private), then re-run")


_PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _wanted(current: _Bucket, kms_key_id: str | None) -> dict[str, tuple[bool, str]]:
    """Per bucket-wide setting: (needs a write, what it is or becomes)."""
    out: dict[str, tuple[bool, str]] = {}
    if current.versioning == "Enabled":
        out["versioning"] = (False, "Enabled")
    else:
        out["versioning"] = (True, f"Enabled (was {current.versioning or 'never enabled'})")
    defaults = [r.get("ApplyServerSideEncryptionByDefault", {}) for r in current.encryption]
    algorithms = [c.get("SSEAlgorithm") for c in defaults if c.get("SSEAlgorithm")]
    if algorithms and (kms_key_id is None or any(
            c.get("SSEAlgorithm") == "aws:kms" and c.get("KMSMasterKeyID") == kms_key_id for c in defaults)):
        out["encryption"] = (False, ", ".join(str(a) for a in algorithms))
    else:
        target = f"aws:kms ({kms_key_id}) with bucket key" if kms_key_id else "AES256 (SSE-S3)"
        out["encryption"] = (True, target + (f" (was {', '.join(str(a) for a in algorithms)})" if algorithms else ""))
    off = [k for k in _PAB_KEYS if current.public_access_block.get(k) is not True]
    out["public-access-block"] = ((True, f"blocked ({', '.join(off)} were off)") if off
                                  else (False, "all public access blocked"))
    return out


def _create_bucket(s3: Any, bucket: str, region: str) -> tuple[str, str]:
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


def _apply_versioning(s3: Any, bucket: str, needed: bool, detail: str) -> tuple[str, str]:
    if not needed:
        return "ok", detail
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return "set", detail


def _apply_encryption(s3: Any, bucket: str, kms_key_id: str | None, needed: bool, detail: str) -> tuple[str, str]:
    if not needed:
        return "ok", detail
    if kms_key_id:
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms_key_id},
                "BucketKeyEnabled": True}
    else:
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [rule]})
    return "set", detail


def _apply_pab(s3: Any, bucket: str, needed: bool, detail: str) -> tuple[str, str]:
    if not needed:
        return "ok", detail
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={k: True for k in _PAB_KEYS})
    return "set", detail


def _wanted_rule(rule_id: str, prefix: str, noncurrent_days: int) -> dict[str, Any]:
    return {
        "ID": rule_id,
        "Status": "Enabled",
        "Filter": {"Prefix": prefix},
        "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS},
    }


def _rule_matches(rule: dict[str, Any], prefix: str, noncurrent_days: int) -> bool:
    # Compare only what we set: servers add defaults (e.g. TransitionDefaultMinimumObjectSize) to what they return.
    return (
        rule.get("Status") == "Enabled"
        and (rule.get("Filter") or {}).get("Prefix", "") == prefix
        and len(rule.get("Filter") or {}) <= 1
        and (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays") == noncurrent_days
        and (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation") == ABORT_MULTIPART_DAYS
        and "Expiration" not in rule
        and not rule.get("Transitions")
    )


def _lifecycle_plan(rules: list[dict[str, Any]], rule_id: str, prefix: str,
                    noncurrent_days: int) -> tuple[bool, str, list[dict[str, Any]]]:
    """(needs a write, detail, the other rules kept as they are)."""
    ours = [r for r in rules if r.get("ID") == rule_id]
    scope = f" under {prefix}" if prefix else ""
    detail = (f"{rule_id}: noncurrent versions{scope} expire after {noncurrent_days} days; incomplete uploads after "
              f"{ABORT_MULTIPART_DAYS}")
    others = [r for r in rules if r.get("ID") != rule_id]
    if others:
        detail += f"; kept {len(others)} other rule(s)"
    needed = not (len(ours) == 1 and _rule_matches(ours[0], prefix, noncurrent_days))
    return needed, detail, others
