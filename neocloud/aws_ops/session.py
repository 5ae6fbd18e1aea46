"""One boto3 session per command, with clients that retry with backoff.

Retries are botocore's own (``Config(retries=...)``): the ``standard`` mode retries throttling errors, transient
errors and HTTP 500/502/503/504 with exponential backoff and full jitter, ``rand(0, 1) * min(b * 2**i, 20 s)`` where
``b`` is 1 s after throttling and 50 ms otherwise (botocore/retries/standard.py); ``adaptive`` adds client-side
rate limiting on top (boto3 guide "Retries"). When retries run out, ``errors.translate`` says so in
one line.

Nothing waits without a deadline: each attempt has connect and read timeouts (``timeout``, botocore's
``connect_timeout``/``read_timeout``: "The time in seconds till a timeout exception is thrown when attempting to
make a connection / read from a connection", botocore Config reference), and the whole command has a total
``deadline``: no attempt starts after it, and no retry is scheduled past it, so an endpoint that accepts
connections and never answers costs at most about ``deadline`` seconds, not attempts x 60 s. Each attempt that
times out or fails is said on stderr as it happens. An endpoint that answers HTTP 200 without an AWS request id
(``ResponseMetadata.RequestId``: every AWS API response carries one, from the ``x-amzn-RequestId`` /
``x-amz-request-id`` header or the ``requestId`` element) is not an AWS API, and is refused instead of being
read as an empty answer ("0 GPU instances").
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ReadTimeoutError

from .errors import EXIT_CONFIG, EXIT_FAILED, AwsError, translate

__all__ = ["DEFAULT_DEADLINE", "DEFAULT_MAX_ATTEMPTS", "DEFAULT_TIMEOUT", "AwsOptions", "AwsSession",
           "client_config"]

DEFAULT_MAX_ATTEMPTS = 5
"""Total attempts per call, first try included (botocore's standard mode defaults to 3)."""
DEFAULT_TIMEOUT = 20.0
"""Seconds to connect, and to wait for data, per attempt (a choice: botocore's 60 s read timeout times 5 attempts
is five silent minutes; the AWS calls used here answer in well under a second)."""
DEFAULT_DEADLINE = 120.0
"""Seconds all AWS calls of one command may take, retries included (a choice; ``--aws-deadline``)."""

RetryMode = Literal["standard", "adaptive"]


@dataclass(frozen=True)
class AwsOptions:
    """What the user chose on the command line: ``--region``, ``--profile``, ``--endpoint-url`` and retries."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_mode: RetryMode = "standard"
    timeout: float = DEFAULT_TIMEOUT
    """Connect and read timeout of each attempt, seconds."""
    deadline: float = DEFAULT_DEADLINE
    """Total seconds for every AWS call of the command, retries included."""


def client_config(options: AwsOptions) -> Config:
    """The botocore client config: retry mode and attempts, timeouts, and an app id in the User-Agent.

    With ``--endpoint-url`` S3 requests use path-style addressing (``http://host/bucket/key``): S3-compatible
    stores (MinIO, Ceph) often have no wildcard DNS for virtual-hosted buckets, and the ``pulumi login`` URL says
    ``s3ForcePathStyle=true`` for the same endpoint.
    """
    return Config(
        retries={"mode": options.retry_mode, "total_max_attempts": options.max_attempts},
        connect_timeout=min(10.0, options.timeout),  # botocore's default is 60 s
        read_timeout=min(options.timeout, options.deadline),  # botocore's default is 60 s
        user_agent_appid="neocloud",
        s3={"addressing_style": "path"} if options.endpoint_url else None,
    )


@dataclass
class AwsSession:
    """A boto3 session for one command; ``client(service)`` returns cached, retrying clients."""

    options: AwsOptions
    _session: Any = field(default=None, init=False, repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self._started = time.monotonic()
        try:
            self._session = boto3.Session(profile_name=self.options.profile, region_name=self.options.region)
        except BotoCoreError as error:  # ProfileNotFound
            raise translate(error) from None

    @property
    def region(self) -> str | None:
        """The region in use: ``--region``, else the profile's or the environment's."""
        region: str | None = self._session.region_name
        return region

    def client(self, service: str) -> Any:
        """A client for ``service`` (``s3``, ``ec2``, ``service-quotas``) honouring ``--endpoint-url``."""
        if service not in self._clients:
            try:
                client = self._session.client(
                    service, endpoint_url=self.options.endpoint_url, config=client_config(self.options))
            except BotoCoreError as error:  # NoRegionError, unknown profile settings
                raise translate(error) from None
            client.meta.events.register("before-send", self._before_send)
            client.meta.events.register("needs-retry", self._needs_retry)
            client.meta.events.register("after-call", self._after_call)
            self._clients[service] = client
        return self._clients[service]

    def remaining(self) -> float:
        """Seconds left of the command's deadline."""
        return self.options.deadline - (time.monotonic() - self._started)

    def _endpoint(self) -> str:
        return self.options.endpoint_url or "the AWS endpoint"

    def _before_send(self, request: Any = None, **_: Any) -> None:
        if self.remaining() <= 0:
            raise AwsError(f"gave up: the AWS calls of this command passed their {self.options.deadline:g} s deadline "
                           f"(--aws-deadline) before {_operation(request)} could be sent to {self._endpoint()}",
                           kind="endpoint", exit_code=EXIT_FAILED)

    def _needs_retry(self, attempts: int = 0, caught_exception: Exception | None = None, response: Any = None,
                     operation: Any = None, **_: Any) -> None:
        if caught_exception is None and not (response and int(response[0].status_code) >= 500):
            return
        why = (f"no answer within {self.options.timeout:g} s" if isinstance(caught_exception, ReadTimeoutError)
               else type(caught_exception).__name__ if caught_exception is not None
               else f"HTTP {response[0].status_code}")
        name = getattr(operation, "name", "call")
        if attempts >= self.options.max_attempts:
            return  # botocore gives up now and the error says so
        if self.remaining() <= 0:
            raise AwsError(f"gave up on {name} at {self._endpoint()}: {why} on attempt {attempts} of "
                           f"{self.options.max_attempts}, and the {self.options.deadline:g} s deadline "
                           "(--aws-deadline) has passed", kind="endpoint", exit_code=EXIT_FAILED)
        print(f"neocloud: {name} at {self._endpoint()}: {why} (attempt {attempts} of {self.options.max_attempts}); "
              f"retrying, {self.remaining():.0f} s of the deadline left", file=sys.stderr, flush=True)

    def _after_call(self, http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        status = int(getattr(http_response, "status_code", 0) or 0)
        meta = (parsed or {}).get("ResponseMetadata") or {}
        if getattr(http_response, "raw", None) is None:
            return  # not from the network: botocore's Stubber, which checks shapes against the API models itself
        if 200 <= status < 300 and not meta.get("RequestId"):
            name = getattr(model, "name", "the call")
            raise AwsError(f"{self._endpoint()} answered {name} with HTTP {status} but no AWS request id: it is not "
                           "an AWS API endpoint (check --endpoint-url)", kind="endpoint", exit_code=EXIT_CONFIG)


def _operation(request: Any) -> str:
    context = getattr(request, "context", None) or {}
    return str(context.get("operation_name") or "the next call")
