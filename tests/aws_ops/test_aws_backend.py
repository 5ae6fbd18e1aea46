"""``backend bootstrap`` against a real local S3 endpoint (moto server): settings, idempotence, no deletions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from neocloud.aws_ops import AwsError
from neocloud.aws_ops.backend import LIFECYCLE_RULE_ID, bootstrap_backend, pulumi_login_url, split_backend_path
from neocloud.cli import main
from neocloud.errors import SpecError
from tests.aws_ops.conftest import REGION


def _settings(s3: Any, bucket: str) -> dict[str, Any]:
    """Everything bootstrap manages, read back from the endpoint."""
    return {
        "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        "encryption": s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"],
        "public_access": s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
        "lifecycle": s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"],
        "location": s3.get_bucket_location(Bucket=bucket).get("LocationConstraint"),
    }


def test_bootstrap_creates_a_versioned_encrypted_private_bucket(session: Any, raw_client: Any, unique: Any) -> None:
    bucket = unique("state")
    report = bootstrap_backend(session.client("s3"), bucket, region=REGION, noncurrent_days=30)
    assert [(s, o) for s, o, _ in report.steps] == [
        ("bucket", "created"), ("versioning", "set"), ("encryption", "set"), ("public-access-block", "set"),
        ("lifecycle", "created")]
    got = _settings(raw_client("s3"), bucket)
    assert got["versioning"] == "Enabled"
    assert got["encryption"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert got["public_access"] == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                                    "RestrictPublicBuckets": True}
    (rule,) = got["lifecycle"]
    assert rule["ID"] == LIFECYCLE_RULE_ID and rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
    assert "Expiration" not in rule  # current state objects never expire
    assert got["location"] == REGION


def test_bootstrap_twice_changes_nothing_and_keeps_objects(session: Any, raw_client: Any, unique: Any) -> None:
    s3 = raw_client("s3")
    bucket = unique("state")
    first = bootstrap_backend(session.client("s3"), bucket, region=REGION)
    assert first.changed
    before = _settings(s3, bucket)
    key = ".pulumi/stacks/neocloud/dev.json"
    s3.put_object(Bucket=bucket, Key=key, Body=b'{"version": 3}')
    s3.put_object(Bucket=bucket, Key=key, Body=b'{"version": 3, "checkpoint": 2}')  # a noncurrent version too
    versions_before = s3.list_object_versions(Bucket=bucket)["Versions"]

    second = bootstrap_backend(session.client("s3"), bucket, region=REGION)

    assert not second.changed
    assert {o for _, o, _ in second.steps} == {"ok"}
    assert _settings(s3, bucket) == before
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b'{"version": 3, "checkpoint": 2}'
    versions_after = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert sorted(v["VersionId"] for v in versions_after) == sorted(v["VersionId"] for v in versions_before)
    assert len(versions_after) == 2
    assert "DeleteMarkers" not in s3.list_object_versions(Bucket=bucket)


def test_bootstrap_completes_an_existing_bucket_and_keeps_its_rules_and_data(
        session: Any, raw_client: Any, unique: Any) -> None:
    s3 = raw_client("s3")
    bucket = unique("legacy")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="old-state.json", Body=b"keep me")
    logs_rule = {"ID": "expire-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 3}}
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [logs_rule]})

    # The bucket holds an object outside .pulumi/: bucket-wide changes need the explicit flag
    # (tests/aws_ops/test_aws_backend_safety.py has the refusal).
    report = bootstrap_backend(session.client("s3"), bucket, region=REGION, bucket_wide=True)

    outcomes = dict((s, o) for s, o, _ in report.steps)
    assert outcomes["bucket"] == "ok" and outcomes["versioning"] == "set" and outcomes["lifecycle"] == "created"
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert set(rules) == {"expire-logs", LIFECYCLE_RULE_ID}
    assert rules["expire-logs"]["Expiration"]["Days"] == 3
    assert s3.get_object(Bucket=bucket, Key="old-state.json")["Body"].read() == b"keep me"
    assert "kept 1 other rule" in dict((s, d) for s, _, d in report.steps)["lifecycle"]


def test_bootstrap_keeps_an_existing_kms_default_encryption(session: Any, raw_client: Any, unique: Any) -> None:
    s3 = raw_client("s3")
    bucket = unique("kms")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    kms = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/x"}}]}
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=kms)
    report = bootstrap_backend(session.client("s3"), bucket, region=REGION)
    assert ("encryption", "ok", "aws:kms") in report.steps
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_bootstrap_in_us_east_1_sends_no_location_constraint(moto_endpoint: str, raw_client: Any,
                                                             unique: Any) -> None:
    from neocloud.aws_ops import AwsOptions, AwsSession

    east = AwsSession(AwsOptions(region="us-east-1", endpoint_url=moto_endpoint))
    bucket = unique("east")
    report = bootstrap_backend(east.client("s3"), bucket, region="us-east-1")
    assert report.steps[0][1] == "created"
    assert raw_client("s3", "us-east-1").get_bucket_location(Bucket=bucket).get("LocationConstraint") in (None, "")


def test_a_bucket_name_taken_by_another_account_is_one_clear_error(session: Any) -> None:
    s3 = session.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", service_error_code="404", http_status_code=404,
                              expected_params={"Bucket": "taken-name"})
        stub.add_client_error("create_bucket", service_error_code="BucketAlreadyExists",
                              service_message="The requested bucket name is not available.", http_status_code=409,
                              expected_params={"Bucket": "taken-name",
                                               "CreateBucketConfiguration": {"LocationConstraint": REGION}})
        with pytest.raises(AwsError) as caught:
            bootstrap_backend(s3, "taken-name", region=REGION)
        stub.assert_no_pending_responses()
    assert caught.value.exit_code == 2
    assert "taken by another AWS account" in str(caught.value)


def test_a_forbidden_existing_bucket_names_the_permission(session: Any) -> None:
    s3 = session.client("s3")
    with Stubber(s3) as stub:
        stub.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
        with pytest.raises(AwsError) as caught:
            bootstrap_backend(s3, "someone-elses", region=REGION)
    assert caught.value.kind == "permission" and caught.value.action == "s3:ListBucket"


@pytest.mark.parametrize("name", ["ab", "Upper-Case", "under_score", "-dash-first", "192.168.1.1", "a..b"])
def test_invalid_bucket_names_are_bad_input(name: str) -> None:
    with pytest.raises(SpecError) as caught:
        split_backend_path(name)
    assert caught.value.path == "BUCKET"


def test_backend_path_with_prefix() -> None:
    assert split_backend_path("s3://team-state/app/project1") == ("team-state", "app/project1")


def test_login_urls_follow_the_pulumi_diy_backend_forms() -> None:
    assert pulumi_login_url("st", "", region="us-east-2", profile=None, endpoint_url=None) == \
        "s3://st?region=us-east-2&awssdk=v2"
    assert pulumi_login_url("st", "app/p1", region="eu-west-1", profile="ops", endpoint_url=None) == \
        "s3://st/app/p1?region=eu-west-1&awssdk=v2&profile=ops"
    assert pulumi_login_url("st", "", region="us-east-1", profile=None, endpoint_url="http://minio.local:9000") == \
        "s3://st?region=us-east-1&endpoint=minio.local:9000&s3ForcePathStyle=true&disableSSL=true"
    assert pulumi_login_url("st", "", region="auto", profile="r2", endpoint_url="https://acct.r2.example.com") == \
        "s3://st?region=auto&endpoint=acct.r2.example.com&s3ForcePathStyle=true&profile=r2"


def test_cli_bootstrap_end_to_end(moto_endpoint: str, raw_client: Any, unique: Any,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    bucket = unique("cli")
    args = ["backend", "bootstrap", bucket, "--endpoint-url", moto_endpoint, "--region", REGION]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    host = moto_endpoint.removeprefix("http://")
    assert out[-1] == (f"pulumi login 's3://{bucket}?region={REGION}&endpoint={host}&s3ForcePathStyle=true"
                       "&disableSSL=true'")
    assert "changed" in out[0]
    raw_client("s3").put_object(Bucket=bucket, Key=".pulumi/meta.yaml", Body=b"version: 1\n")
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["changed"] is False
    assert [s["outcome"] for s in doc["steps"]] == ["ok"] * 5
    assert doc["login"].startswith(f"pulumi login 's3://{bucket}?region={REGION}")
    assert raw_client("s3").get_object(Bucket=bucket, Key=".pulumi/meta.yaml")["Body"].read() == b"version: 1\n"


def test_cli_bootstrap_with_a_profile(moto_endpoint: str, tmp_path: Path, unique: Any,
                                      monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config"
    config.write_text(f"[profile state-admin]\nregion = {REGION}\naws_access_key_id = testing\n"
                      "aws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    bucket = unique("prof")
    assert main(["backend", "bootstrap", bucket, "--profile", "state-admin", "--endpoint-url", moto_endpoint]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("&disableSSL=true&profile=state-admin'")


def test_cli_bad_bucket_name_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backend", "bootstrap", "Bad_Name", "--region", REGION]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neocloud: error: BUCKET: 'Bad_Name' is not a valid S3 bucket name")
    assert err.count("\n") == 1


def test_cli_no_region_is_bad_input(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert main(["backend", "bootstrap", "no-region-bucket", "--endpoint-url", moto_endpoint]) == 2
    assert capsys.readouterr().err.startswith("neocloud: error: --region: no AWS region")
