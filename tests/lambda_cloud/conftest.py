"""Fixtures: a checked Lambda Cloud API stand-in on 127.0.0.1 and clients with short, test-sized limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from components.providers.lambda_cloud.api import LambdaCloudClient, RateLimits, Timeouts
from tests.lambda_cloud.fake_lambda import FakeLambda

API_KEY = "secret_neocloud-test_0123456789abcdef"
"""A made-up key; tests assert it never leaves the Authorization header."""

FAST = RateLimits(request_interval_s=0.005, launch_interval_s=0.02)
"""Test-sized spacing (the documented 1 s and 12 s are asserted with a fake clock in test_api)."""


@pytest.fixture
def lambda_api() -> Iterator[FakeLambda]:
    server = FakeLambda(api_key=API_KEY).start()
    try:
        yield server
        assert server.violations == [], "requests or answers off the documented shapes"
    finally:
        server.stop()


@pytest.fixture
def client(lambda_api: FakeLambda) -> LambdaCloudClient:
    return LambdaCloudClient(api_key=API_KEY, base_url=lambda_api.url, limits=FAST,
                             timeouts=Timeouts(request_s=0.5, call_s=5, max_backoff_s=0.2))


from tests.policies.conftest import pack  # noqa: E402  (the session's policy pack process, shared)

__all__ = ["API_KEY", "FAST", "client", "lambda_api", "pack"]
