"""Turn botocore errors into one clear line: what failed, why, and what to do about it.

Every AWS call of ``neocloud.aws_ops`` runs inside ``translated(client)``, which converts any
``botocore.exceptions.ClientError`` or ``BotoCoreError`` into an ``AwsError``. The command line prints
``AwsError`` as one line and exits with its ``exit_code``:

- 2 (bad input / configuration): no credentials, expired or rejected credentials, a missing IAM permission
  (the message names the IAM action, e.g. ``ec2:DescribeInstanceTopology``), an unknown profile, no region,
  an invalid parameter.
- 1 (the operation failed): throttling that outlasted the retries, a service or endpoint failure, an API the
  endpoint does not implement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOError,
    TokenRetrievalError,
)
from botocore.parsers import ResponseParserError

__all__ = [
    "BOTOCORE_ERRORS",
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "AwsError",
    "iam_action",
    "translate",
    "translated",
]

EXIT_FAILED = 1
"""The AWS operation failed (throttled past the retries, service error, unimplemented API)."""
EXIT_CONFIG = 2
"""Credentials, permissions, profile or region are wrong: fix the configuration and re-run."""

THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
})
"""Error codes botocore's retry handler treats as throttling (botocore/retries/standard.py, _THROTTLED_ERROR_CODES)."""

EXPIRED_CODES = frozenset({
    "ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired", "InvalidToken",
})
"""Credentials that were valid once and are no longer (session token expired, SSO session over)."""

REJECTED_CODES = frozenset({
    "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "AuthFailure",
    "InvalidAccessKeyId", "IncompleteSignature", "MissingAuthenticationToken", "OptInRequired",
})
"""Credentials AWS does not accept (wrong key, wrong secret, or an account not opted in)."""

DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "AllAccessDisabled",
    "UnauthorizedAccess",
})
"""The caller is authenticated but an IAM (or SCP, or bucket) policy denies the action."""

UNIMPLEMENTED_CODES = frozenset({"InvalidAction", "UnsupportedOperation", "NotImplemented", "UnknownOperation"})

# S3's IAM actions do not all match the API operation name
# (docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
_S3_ACTIONS = {
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "ListObjectVersions": "ListBucketVersions",
    "ListObjectsV2": "ListBucket",
    "GetBucketEncryption": "GetEncryptionConfiguration",
    "PutBucketEncryption": "PutEncryptionConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
}


BOTOCORE_ERRORS = (ClientError, BotoCoreError, ResponseParserError)
"""Everything botocore raises for a failed call (``ResponseParserError`` is not a ``BotoCoreError``)."""


class AwsError(Exception):
    """An AWS failure explained in one line, with the exit code the command line uses for it."""

    def __init__(self, message: str, *, kind: str, exit_code: int, code: str | None = None,
                 action: str | None = None) -> None:
        super().__init__(" ".join(message.split()))
        self.message = str(self)
        self.kind = kind
        """credentials | permission | throttled | not-found | unimplemented | endpoint | invalid | service"""
        self.exit_code = exit_code
        self.code = code
        """The AWS error code, where there is one."""
        self.action = action
        """The IAM action of the failed call (``ec2:DescribeInstanceTopology``), where known."""


def iam_action(signing_name: str, operation: str) -> str:
    """The IAM action that authorizes ``operation`` of the service whose SigV4 signing name is ``signing_name``.

    EC2 and Service Quotas actions are named after the API operation; S3 has a few that are not
    (``HeadBucket`` is authorized by ``s3:ListBucket``).
    """
    if signing_name == "s3":
        operation = _S3_ACTIONS.get(operation, operation)
    return f"{signing_name}:{operation}"


def translate(error: Exception, *, service: str | None = None) -> AwsError:
    """The ``AwsError`` for a botocore exception. ``service`` is the client's signing name (``ec2``, ``s3``)."""
    if isinstance(error, AwsError):
        return error
    if isinstance(error, ClientError):
        return _client_error(error, service)
    if isinstance(error, NoCredentialsError):
        return AwsError(
            "no AWS credentials found: pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or run `aws sso login`", kind="credentials", exit_code=EXIT_CONFIG)
    if isinstance(error, PartialCredentialsError):
        return AwsError(f"incomplete AWS credentials: {error}", kind="credentials", exit_code=EXIT_CONFIG)
    if isinstance(error, TokenRetrievalError | SSOError):
        return AwsError(f"AWS SSO credentials expired or unavailable ({error}); run `aws sso login`",
                        kind="credentials", exit_code=EXIT_CONFIG, code="ExpiredToken")
    if isinstance(error, CredentialRetrievalError):
        return AwsError(f"could not load AWS credentials: {error}", kind="credentials", exit_code=EXIT_CONFIG)
    if isinstance(error, ProfileNotFound):
        return AwsError(f"--profile: {error} (see ~/.aws/config)", kind="credentials", exit_code=EXIT_CONFIG)
    if isinstance(error, NoRegionError):
        return AwsError("--region: no AWS region: pass --region or set AWS_REGION", kind="invalid",
                        exit_code=EXIT_CONFIG)
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return AwsError(f"cannot reach the AWS endpoint: {error}; check --endpoint-url and the network",
                        kind="endpoint", exit_code=EXIT_FAILED)
    if isinstance(error, ResponseParserError):
        return AwsError(f"the endpoint answered with something that is not an AWS API response ({_clean(str(error))});"
                        " it may not serve this API (check --endpoint-url)", kind="unimplemented",
                        exit_code=EXIT_FAILED)
    if isinstance(error, BotoCoreError):
        return AwsError(f"AWS client error: {_clean(str(error))}", kind="service", exit_code=EXIT_FAILED)
    return AwsError(f"{type(error).__name__}: {error}", kind="service", exit_code=EXIT_FAILED)


def _client_error(error: ClientError, service: str | None) -> AwsError:
    response: dict[str, Any] = dict(error.response or {})
    err = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    code = str(err.get("Code") or "")
    message = _clean(str(err.get("Message") or ""))
    status = meta.get("HTTPStatusCode")
    operation = error.operation_name
    action = iam_action(service, operation) if service else operation
    detail = f"{code}: {message}" if message and code != str(status) else (message or code)
    if code in EXPIRED_CODES:
        return AwsError(
            f"AWS credentials have expired ({detail}) calling {action}: refresh them (`aws sso login`, a new "
            "session token, or re-assume the role) and re-run", kind="credentials", exit_code=EXIT_CONFIG,
            code=code, action=action)
    if code in REJECTED_CODES:
        return AwsError(f"AWS rejected the credentials ({detail}) calling {action}: check the access key, secret "
                        "and profile", kind="credentials", exit_code=EXIT_CONFIG, code=code, action=action)
    if code in DENIED_CODES or (status == 403 and code in ("", "403")):
        return AwsError(f"permission denied: the caller needs IAM permission {action} ({detail or 'HTTP 403'})",
                        kind="permission", exit_code=EXIT_CONFIG, code=code or "403", action=action)
    if code in THROTTLING_CODES:
        attempts = int(meta.get("RetryAttempts") or 0) + 1
        return AwsError(f"AWS throttled {action} ({code}) after {attempts} attempt(s) with backoff; retry later or "
                        "raise --max-attempts", kind="throttled", exit_code=EXIT_FAILED, code=code, action=action)
    if code in UNIMPLEMENTED_CODES or (isinstance(status, int) and status == 501):
        return AwsError(f"the endpoint does not implement {action} ({detail})", kind="unimplemented",
                        exit_code=EXIT_FAILED, code=code, action=action)
    if isinstance(status, int) and status >= 500:
        attempts = int(meta.get("RetryAttempts") or 0) + 1
        return AwsError(f"{action} failed on the service side (HTTP {status} {detail}) after {attempts} attempt(s); "
                        "the endpoint may not serve this API", kind="service", exit_code=EXIT_FAILED, code=code,
                        action=action)
    if code.startswith("Invalid") or code.endswith(("NotFound", "Malformed")) or code.startswith("NoSuch"):
        return AwsError(f"{action}: {detail}", kind="not-found" if "NotFound" in code or code.startswith("NoSuch")
                        else "invalid", exit_code=EXIT_CONFIG, code=code, action=action)
    return AwsError(f"{action} failed: {detail or f'HTTP {status}'}", kind="service", exit_code=EXIT_FAILED,
                    code=code, action=action)


def _clean(text: str, limit: int = 240) -> str:
    """One short line: HTML error pages reduced to their text, whitespace collapsed, long text cut."""
    text = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextmanager
def translated(client: Any) -> Iterator[None]:
    """Run AWS calls of ``client``; any botocore error leaves as an ``AwsError`` naming the IAM action."""
    try:
        yield
    except BOTOCORE_ERRORS as error:
        raise translate(error, service=client.meta.service_model.signing_name) from None
