"""Failure messages: throttling (retried, then success or a clear give-up), missing permissions naming the IAM
action, expired credentials, no credentials, unknown profile, an API the endpoint does not serve.

Over real HTTP: ``FaultProxy`` sits in front of the moto server, so botocore's own retry handler and error
parser run exactly as against AWS. Where a call is not served by moto, ``botocore.stub.Stubber`` supplies the
error, checked against the AWS API model.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from botocore.stub import Stubber

from neocloud.aws_ops import AwsError, AwsOptions, AwsSession, iam_action, translate
from neocloud.aws_ops.backend import bootstrap_backend
from neocloud.aws_ops.topology import describe_instance_topology
from neocloud.cli import main
from tests.aws_ops.conftest import REGION, FaultProxy, launch
from tests.conftest import REPO

PREFLIGHT_DEV = ["preflight", "dev", "--project-dir", str(REPO), "--region", "us-east-1", "--skip", "quota"]


def test_clients_carry_the_retry_config(session: AwsSession) -> None:
    config = session.client("ec2").meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}
    assert config.user_agent_appid == "neocloud"
    assert session.client("s3").meta.config.s3 == {"addressing_style": "path"}  # --endpoint-url given
    adaptive = AwsSession(AwsOptions(region=REGION, max_attempts=3, retry_mode="adaptive"))
    assert adaptive.client("s3").meta.config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert adaptive.client("s3").meta.config.s3 is None  # AWS itself: botocore's default addressing


def test_throttling_is_retried_with_backoff_then_succeeds(fault_proxy: FaultProxy,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    fault_proxy.fail_next(2, 503, "RequestLimitExceeded", "Request limit exceeded.")
    assert main([*PREFLIGHT_DEV, "--endpoint-url", fault_proxy.url]) == 0
    assert fault_proxy.faulted == 2
    # The first call was sent three times (two throttled answers, then moto's), the second once.
    assert fault_proxy.actions() == ["DescribeInstanceTypes"] * 3 + ["DescribeInstanceTypeOfferings"]
    assert "OK: 2 passed" in capsys.readouterr().out


def test_throttling_that_outlasts_the_retries_is_one_clear_line(fault_proxy: FaultProxy,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    fault_proxy.fail_next(5, 503, "RequestLimitExceeded", "Request limit exceeded.")
    assert main([*PREFLIGHT_DEV, "--endpoint-url", fault_proxy.url, "--max-attempts", "2"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == ("neocloud: error: AWS throttled ec2:DescribeInstanceTypes (RequestLimitExceeded) after 2 "
                       "attempt(s) with backoff; retry later or raise --max-attempts")
    assert fault_proxy.faulted == 2
    assert not any("Traceback" in line for line in err)


def test_missing_permission_names_the_iam_action(moto_endpoint: str, fault_proxy: FaultProxy, raw_client: Any,
                                                 unique: Any, capsys: pytest.CaptureFixture[str]) -> None:
    cluster = unique("denied")
    launch(raw_client("ec2"), cluster, 2)
    fault_proxy.fail_next(1, 403, "UnauthorizedOperation", "You are not authorized to perform this operation.",
                          action="DescribeInstanceTopology")
    code = main(["topology", "import", "--cluster", cluster, "--endpoint-url", fault_proxy.url, "--region", REGION])
    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "neocloud: error: permission denied: the caller needs IAM permission ec2:DescribeInstanceTopology "
        "(UnauthorizedOperation: You are not authorized to perform this operation.)")
    assert fault_proxy.actions() == ["DescribeInstances", "DescribeInstanceTypes", "DescribeInstanceTopology"]


def test_expired_credentials_say_so(fault_proxy: FaultProxy, capsys: pytest.CaptureFixture[str]) -> None:
    fault_proxy.fail_next(1, 400, "ExpiredToken", "The security token included in the request is expired")
    assert main([*PREFLIGHT_DEV, "--endpoint-url", fault_proxy.url]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "neocloud: error: AWS credentials have expired (ExpiredToken: The security token included in the request "
        "is expired) calling ec2:DescribeInstanceTypes: refresh them (`aws sso login`, a new session token, or "
        "re-assume the role) and re-run")
    assert fault_proxy.faulted == 1  # not retried


def test_no_credentials_is_bad_configuration(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code = main(["backend", "bootstrap", "no-creds-bucket", "--endpoint-url", moto_endpoint, "--region", REGION])
    assert code == 2
    assert capsys.readouterr().err == (
        "neocloud: error: no AWS credentials found: pass --profile, set AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws sso login`\n")


def test_unknown_profile_is_bad_configuration(capsys: pytest.CaptureFixture[str], moto_endpoint: str) -> None:
    assert main(["backend", "bootstrap", "any-bucket", "--profile", "nope", "--region", REGION]) == 2
    assert capsys.readouterr().err == (
        "neocloud: error: --profile: The config profile (nope) could not be found (see ~/.aws/config)\n")


def test_an_api_the_endpoint_does_not_serve_is_one_line(moto_endpoint: str, raw_client: Any, unique: Any,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    cluster = unique("unserved")
    launch(raw_client("ec2"), cluster, 1)
    # moto answers DescribeInstanceTopology with an HTML 500 page (reference/pulumi-offline.md).
    code = main(["topology", "import", "--cluster", cluster, "--endpoint-url", moto_endpoint, "--region", REGION,
                 "--max-attempts", "1"])
    assert code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("neocloud: error: the endpoint answered with something that is not an AWS API "
                              "response")
    assert err[-1].endswith("it may not serve this API (check --endpoint-url)")


def test_access_denied_from_s3_names_the_s3_action(session: AwsSession) -> None:
    s3 = session.client("s3")
    with Stubber(s3) as stub:
        stub.add_response("head_bucket", {}, {"Bucket": "state-bucket"})
        stub.add_response("get_bucket_versioning", {"Status": "Enabled"}, {"Bucket": "state-bucket"})
        stub.add_client_error("get_bucket_encryption", service_error_code="AccessDenied",
                              service_message="Access Denied", http_status_code=403)
        with pytest.raises(AwsError) as caught:
            bootstrap_backend(s3, "state-bucket", region=REGION)
    assert str(caught.value) == ("permission denied: the caller needs IAM permission s3:GetEncryptionConfiguration "
                                 "(AccessDenied: Access Denied)")
    assert caught.value.exit_code == 2


def test_stubbed_unauthorized_topology_call(session: AwsSession) -> None:
    ec2 = session.client("ec2")
    with Stubber(ec2) as stub:
        stub.add_client_error("describe_instance_topology", service_error_code="UnauthorizedOperation",
                              service_message="You are not authorized to perform this operation.",
                              http_status_code=403, expected_params={"InstanceIds": ["i-0123456789abcdef0"]})
        with pytest.raises(AwsError) as caught:
            describe_instance_topology(ec2, ["i-0123456789abcdef0"])
    assert caught.value.action == "ec2:DescribeInstanceTopology"
    assert caught.value.kind == "permission"


@pytest.mark.parametrize(("service", "operation", "action"), [
    ("ec2", "DescribeCapacityReservationTopology", "ec2:DescribeCapacityReservationTopology"),
    ("servicequotas", "GetServiceQuota", "servicequotas:GetServiceQuota"),
    ("s3", "HeadBucket", "s3:ListBucket"),
    ("s3", "PutBucketLifecycleConfiguration", "s3:PutLifecycleConfiguration"),
    ("s3", "PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    ("s3", "CreateBucket", "s3:CreateBucket"),
])
def test_iam_action_names(service: str, operation: str, action: str) -> None:
    assert iam_action(service, operation) == action


@pytest.mark.parametrize(("code", "status", "kind", "exit_code"), [
    ("ThrottlingException", 400, "throttled", 1),
    ("AccessDeniedException", 400, "permission", 2),
    ("ExpiredTokenException", 400, "credentials", 2),
    ("UnrecognizedClientException", 400, "credentials", 2),
    ("NoSuchResourceException", 400, "not-found", 2),
    ("ServiceException", 500, "service", 1),
])
def test_service_quotas_errors_are_classified(session: AwsSession, code: str, status: int, kind: str,
                                              exit_code: int) -> None:
    quotas = session.client("service-quotas")
    with Stubber(quotas) as stub:
        stub.add_client_error("get_service_quota", service_error_code=code, service_message="m",
                              http_status_code=status)
        try:
            quotas.get_service_quota(ServiceCode="ec2", QuotaCode="L-417A185B")
        except Exception as error:  # whatever botocore raised: its translation is under test
            translated = translate(error, service="servicequotas")
        else:
            pytest.fail("the stubbed error was not raised")
    assert (translated.kind, translated.exit_code) == (kind, exit_code)
    assert "servicequotas:GetServiceQuota" in str(translated)


def test_an_unreachable_endpoint_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["backend", "bootstrap", "unreachable-bucket", "--region", REGION,
                 "--endpoint-url", f"http://127.0.0.1:{port}", "--max-attempts", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f'neocloud: error: cannot reach the AWS endpoint: Could not connect to the endpoint URL: '
                          f'"http://127.0.0.1:{port}/unreachable-bucket"')
    assert err.count("\n") == 1
