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
    """Generous per-request timeouts: on a loaded machine a short one would turn a slow answer into a lost one
    (the timeout paths are tested with their own clients)."""
    return LambdaCloudClient(api_key=API_KEY, base_url=lambda_api.url, limits=FAST,
                             timeouts=Timeouts(request_s=10, call_s=30, max_backoff_s=0.2))


from tests.policies.conftest import pack  # noqa: E402  (the session's policy pack process, shared)

__all__ = ["API_KEY", "FAST", "client", "lambda_api", "pack"]


# The offline engine forgets modules that a program run imported for the first time; a later run imports them
# again, so the provider modules these tests hold could differ from the ones in sys.modules (dill pickles classes
# by module path, and `except NoAnswer` needs the class the client raises). Pin the ones imported here.
import sys  # noqa: E402

import components.providers.lambda_cloud._build  # noqa: E402
import components.providers.lambda_cloud.ops  # noqa: E402
import components.providers.lambda_cloud.resources  # noqa: E402, F401

_PINNED = {name: module for name, module in sys.modules.items()
           if name == "components.providers.lambda_cloud" or name.startswith("components.providers.lambda_cloud.")}


@pytest.fixture(autouse=True)
def _same_provider_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, module in _PINNED.items():
        monkeypatch.setitem(sys.modules, name, module)
