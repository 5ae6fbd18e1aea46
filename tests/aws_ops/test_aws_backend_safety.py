"""Data safety of ``backend bootstrap`` against a real local S3 endpoint (moto server), one test per case:
a shared bucket (``bucket/prefix``), a lifecycle rule that would delete or archive the state, a public policy or
ACL, and a bucket in another region. Each refusal changes nothing, says what it found, and prints no login."""

from __future__ import annotations

import json
from typing import Any

import pytest

from neocloud.aws_ops.backend import LIFECYCLE_RULE_ID, bootstrap_backend, lifecycle_rule_id
from neocloud.cli import main
from neocloud.errors import SpecError
from tests.aws_ops.conftest import REGION


def _bucket(raw_client: Any, unique: Any, prefix: str = "shared") -> tuple[Any, str]:
    s3 = raw_client("s3")
    bucket = unique(prefix)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return s3, bucket


def _settings(s3: Any, bucket: str) -> dict[str, Any]:
    """Everything bootstrap could touch, read back (missing configurations as None)."""
    def read(call: Any, key: str) -> Any:
        try:
            return call(Bucket=bucket).get(key)
        except s3.exceptions.ClientError:
            return None

    return {
        "versioning": read(s3.get_bucket_versioning, "Status"),
        "encryption": read(s3.get_bucket_encryption, "ServerSideEncryptionConfiguration"),
        "public_access": read(s3.get_public_access_block, "PublicAccessBlockConfiguration"),
        "lifecycle": read(s3.get_bucket_lifecycle_configuration, "Rules"),
        "policy": read(s3.get_bucket_policy, "Policy"),
        "acl": [g["Grantee"].get("URI") for g in s3.get_bucket_acl(Bucket=bucket)["Grants"]],
    }


# --- a shared bucket: bucket/prefix --------------------------------------------------------------------------

def test_a_prefix_on_a_shared_bucket_changes_no_bucket_wide_setting(session: Any, raw_client: Any,
                                                                    unique: Any) -> None:
    s3, bucket = _bucket(raw_client, unique)
    s3.put_object(Bucket=bucket, Key="team-b/data.bin", Body=b"other team")
    before = _settings(s3, bucket)

    report = bootstrap_backend(session.client("s3"), f"{bucket}/team-a", region=REGION)

    assert _settings(s3, bucket) == before  # nothing changed: not versioning, not encryption, not the PAB
    assert [o for _, o, _ in report.steps] == ["ok", "needs", "needs", "needs", "needs"]
    assert len(report.refused) == 3 and all("--bucket-wide" in r for r in report.refused)
    assert "versioning is bucket-wide and would change" in report.refused[0]
    assert "holds objects outside team-a/.pulumi/, e.g. 'team-b/data.bin'" in report.refused[0]
    assert any("1 outside it (a shared bucket)" in f for f in report.found)


def test_with_bucket_wide_the_shared_bucket_is_completed_and_the_rule_is_scoped_to_the_prefix(
        session: Any, raw_client: Any, unique: Any) -> None:
    s3, bucket = _bucket(raw_client, unique)
    s3.put_object(Bucket=bucket, Key="team-b/data.bin", Body=b"other team")
    theirs = {"ID": "team-b-logs", "Status": "Enabled", "Filter": {"Prefix": "team-b/logs/"},
              "Expiration": {"Days": 3}}
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [theirs]})

    report = bootstrap_backend(session.client("s3"), f"{bucket}/team-a", region=REGION, bucket_wide=True)

    assert not report.refused
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    ours = rules[lifecycle_rule_id("team-a")]
    assert ours["Filter"] == {"Prefix": "team-a/"}  # only our prefix's old versions ever expire
    assert rules["team-b-logs"]["Expiration"] == {"Days": 3}  # theirs untouched
    assert s3.get_object(Bucket=bucket, Key="team-b/data.bin")["Body"].read() == b"other team"
    assert report.login_url.startswith(f"s3://{bucket}/team-a?")


def test_two_teams_on_one_bucket_each_keep_their_own_rule(session: Any, raw_client: Any, unique: Any) -> None:
    s3, bucket = _bucket(raw_client, unique)
    bootstrap_backend(session.client("s3"), f"{bucket}/team-a", region=REGION)
    s3.put_object(Bucket=bucket, Key="team-a/.pulumi/meta.yaml", Body=b"version: 1\n")
    report = bootstrap_backend(session.client("s3"), f"{bucket}/team-b", region=REGION, bucket_wide=True)
    assert not report.refused
    ids = {r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert ids == {lifecycle_rule_id("team-a"), lifecycle_rule_id("team-b")}
    assert LIFECYCLE_RULE_ID not in ids  # no unscoped rule on a shared bucket


# --- lifecycle rules that would delete or archive the state ----------------------------------------------------

@pytest.mark.parametrize("rule, said", [
    ({"ID": "cleanup", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}},
     "lifecycle rule 'cleanup' expires current objects of .pulumi/ after 1 day(s): it would delete the Pulumi state"),
    ({"ID": "old-style", "Status": "Enabled", "Prefix": ".pulumi/", "Expiration": {"Days": 30}},
     "lifecycle rule 'old-style' expires current objects of .pulumi/ after 30 day(s)"),
    ({"ID": "and-filter", "Status": "Enabled", "Filter": {"And": {"Prefix": ".pul", "ObjectSizeGreaterThan": 1}},
      "Expiration": {"Days": 7}}, "lifecycle rule 'and-filter' expires current objects"),
    ({"ID": "archive", "Status": "Enabled", "Filter": {"Prefix": ""},
      "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]},
     "lifecycle rule 'archive' moves objects of .pulumi/ to GLACIER, where they cannot be read without a restore"),
])
def test_a_lifecycle_rule_that_would_delete_or_archive_the_state_is_refused(
        session: Any, raw_client: Any, unique: Any, rule: dict[str, Any], said: str) -> None:
    s3, bucket = _bucket(raw_client, unique, "expiring")
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    before = _settings(s3, bucket)

    report = bootstrap_backend(session.client("s3"), bucket, region=REGION)

    assert [r for r in report.refused if said in r], report.refused
    assert _settings(s3, bucket) == before  # refused: not even versioning was enabled
    assert not report.changed


@pytest.mark.parametrize("rule", [
    {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1}},
    {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}},
    {"ID": "tagged", "Status": "Enabled", "Filter": {"Tag": {"Key": "tmp", "Value": "yes"}}, "Expiration": {"Days": 1}},
    {"ID": "markers", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"ExpiredObjectDeleteMarker": True}},
    {"ID": "instant", "Status": "Enabled", "Filter": {"Prefix": ""},
     "Transitions": [{"Days": 30, "StorageClass": "GLACIER_IR"}]},
])
def test_rules_that_cannot_touch_current_state_are_kept_and_pass(session: Any, raw_client: Any, unique: Any,
                                                                 rule: dict[str, Any]) -> None:
    s3, bucket = _bucket(raw_client, unique, "harmless")
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    report = bootstrap_backend(session.client("s3"), bucket, region=REGION)
    assert not report.refused
    ids = {r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert ids == {rule["ID"], LIFECYCLE_RULE_ID}


def test_a_shorter_noncurrent_expiry_of_another_rule_is_reported(session: Any, raw_client: Any,
                                                                 unique: Any) -> None:
    s3, bucket = _bucket(raw_client, unique, "short")
    rule = {"ID": "short-history", "Status": "Enabled", "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    report = bootstrap_backend(session.client("s3"), bucket, region=REGION)
    assert "lifecycle rule 'short-history' also expires old state versions after 1 day(s)" in report.found


# --- public policy or ACL -----------------------------------------------------------------------------------

def test_a_public_bucket_policy_is_refused_and_kept(session: Any, raw_client: Any, unique: Any) -> None:
    s3, bucket = _bucket(raw_client, unique, "public")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                      "Resource": f"arn:aws:s3:::{bucket}/*"}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    before = _settings(s3, bucket)
    report = bootstrap_backend(session.client("s3"), bucket, region=REGION)
    assert any("bucket policy" in r and "is public (GetBucketPolicyStatus IsPublic)" in r for r in report.refused)
    assert _settings(s3, bucket) == before  # their policy is theirs to fix; nothing else changed either


def test_a_public_acl_is_refused(session: Any, raw_client: Any, unique: Any) -> None:
    s3, bucket = _bucket(raw_client, unique, "acl")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    report = bootstrap_backend(session.client("s3"), bucket, region=REGION)
    assert any("grants READ to AllUsers" in r for r in report.refused)
    assert not report.changed


# --- another region -------------------------------------------------------------------------------------------

def test_a_bucket_in_another_region_is_bad_input_naming_it(session: Any, raw_client: Any, unique: Any) -> None:
    west = raw_client("s3", "eu-west-1")
    bucket = unique("west")
    west.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(SpecError) as caught:
        bootstrap_backend(session.client("s3"), bucket, region=REGION)
    assert caught.value.path == "--region"
    assert caught.value.message.startswith(f"bucket s3://{bucket} is in eu-west-1, not {REGION}: pass --region "
                                           "eu-west-1")
    assert west.get_bucket_versioning(Bucket=bucket).get("Status") is None  # untouched


# --- the command line -----------------------------------------------------------------------------------------

def test_cli_refusal_is_exit_1_with_what_was_found_and_no_login(moto_endpoint: str, raw_client: Any, unique: Any,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    s3, bucket = _bucket(raw_client, unique, "cli")
    s3.put_object(Bucket=bucket, Key="elsewhere/x", Body=b"x")
    args = ["backend", "bootstrap", f"{bucket}/team-a", "--endpoint-url", moto_endpoint, "--region", REGION]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"state backend s3://{bucket}/team-a ({REGION}): REFUSED, nothing changed"
    assert "  found: " in out and "refused: versioning is bucket-wide" in out
    assert "pulumi login" not in out
    assert main([*args, "--bucket-wide", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["refused"] == [] and document["login"].startswith(f"pulumi login 's3://{bucket}/team-a?")


def test_cli_bucket_in_another_region_is_exit_2(moto_endpoint: str, raw_client: Any, unique: Any,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    bucket = unique("far")
    raw_client("s3", "eu-west-1").create_bucket(Bucket=bucket,
                                                CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert main(["backend", "bootstrap", bucket, "--endpoint-url", moto_endpoint, "--region", REGION]) == 2
    err = capsys.readouterr().err
    assert err == (f"neocloud: error: --region: bucket s3://{bucket} is in eu-west-1, not {REGION}: pass --region "
                   "eu-west-1 (the login URL and every call must name the bucket's region)\n")
