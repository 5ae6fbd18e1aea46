"""One boto3 session per command, with clients that retry with backoff.

Retries are botocore's own (``Config(retries=...)``): the ``standard`` mode retries throttling errors, transient
errors and HTTP 500/502/503/504 with exponential backoff and full jitter, ``rand(0, 1) * min(b * 2**i, 20 s)`` where
``b`` is 1 s after throttling and 50 ms otherwise (botocore/retries/standard.py); ``adaptive`` adds client-side
rate limiting on top (boto3 guide "Retries"). When retries run out, ``errors.translate`` says so in
one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from .errors import translate

__all__ = ["DEFAULT_MAX_ATTEMPTS", "AwsOptions", "AwsSession", "client_config"]

DEFAULT_MAX_ATTEMPTS = 5
"""Total attempts per call, first try included (botocore's standard mode defaults to 3)."""

RetryMode = Literal["standard", "adaptive"]


@dataclass(frozen=True)
class AwsOptions:
    """What the user chose on the command line: ``--region``, ``--profile``, ``--endpoint-url`` and retries."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_mode: RetryMode = "standard"


def client_config(options: AwsOptions) -> Config:
    """The botocore client config: retry mode and attempts, timeouts, and an app id in the User-Agent.

    With ``--endpoint-url`` S3 requests use path-style addressing (``http://host/bucket/key``): S3-compatible
    stores (MinIO, Ceph) often have no wildcard DNS for virtual-hosted buckets, and the ``pulumi login`` URL says
    ``s3ForcePathStyle=true`` for the same endpoint.
    """
    return Config(
        retries={"mode": options.retry_mode, "total_max_attempts": options.max_attempts},
        connect_timeout=10,  # botocore's default is 60 s; an unreachable endpoint should fail sooner
        read_timeout=60,  # botocore's default
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
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.options.endpoint_url, config=client_config(self.options))
            except BotoCoreError as error:  # NoRegionError, unknown profile settings
                raise translate(error) from None
        return self._clients[service]
