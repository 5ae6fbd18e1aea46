"""The Lambda Cloud API client against the checked stand-in: pacing to the documented rate limits, 429 backoff,
retries of idempotent calls, no blind retries of creates, deadlines, error codes, and the key's secrecy.

Documented behaviour encoded here (Lambda Cloud API reference v1.10.0, https://docs.lambda.ai/api/cloud):
"Requests to the API are generally limited to one request per second. Requests to the
/instance-operations/launch endpoint are limited to one request per 12 seconds"; errors are
``{"error": {"code", "message", "suggestion"}}`` and clients branch on ``code``; a launch without capacity answers
400 ``instance-operations/launch/insufficient-capacity``. HTTP 429 and ``Retry-After`` are not in the reference:
their handling follows RFC 6585 / RFC 9110.
"""

from __future__ import annotations

import importlib.util
import sys
import time

import pytest

from components.providers.lambda_cloud.api import (
    DeadlineExceeded,
    InsufficientCapacity,
    LambdaApiError,
    LambdaCloudClient,
    NoAnswer,
    Pacer,
    RateLimits,
    Timeouts,
)
from tests.lambda_cloud.conftest import API_KEY, FAST
from tests.lambda_cloud.fake_lambda import FakeLambda, Fault

LAUNCH = "POST /instance-operations/launch"
LIST = "GET /instances"


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def launch_body(name: str = "n-0") -> dict[str, object]:
    return {"region_name": "us-east-1", "instance_type_name": "gpu_8x_h100_sxm5", "ssh_key_names": ["ops"],
            "name": name}


def recording_client(server: FakeLambda, *, call_s: float = 30) -> tuple[LambdaCloudClient, list[float]]:
    """A client on a fake clock: its waits (backoff and pacing) are recorded and advance the clock instead of
    sleeping, so deadlines are exact and tests fast (real spacing is tested on its own)."""
    fake = FakeTime()
    client = LambdaCloudClient(api_key=API_KEY, base_url=server.url, limits=FAST,
                               timeouts=Timeouts(request_s=0.5, call_s=call_s, max_backoff_s=60),
                               clock=fake.clock, sleep=fake.sleep)
    return client, fake.slept


def test_pacer_keeps_the_documented_limits() -> None:
    fake = FakeTime()
    pacer = Pacer(limits=RateLimits(), clock=fake.clock, sleep=fake.sleep)
    start = fake.now
    for _ in range(3):
        pacer.acquire(launch=False, deadline=start + 100)
    assert fake.slept == [1.0, 1.0]  # one request per second
    pacer.acquire(launch=True, deadline=start + 100)
    pacer.acquire(launch=True, deadline=start + 100)
    assert fake.now - start == pytest.approx(1.0 + 1.0 + 1.0 + 12.0)  # one launch per 12 s
    with pytest.raises(DeadlineExceeded, match="launch slot"):
        pacer.acquire(launch=True, deadline=fake.now + 5)


def test_requests_reach_the_server_spaced_by_the_interval(lambda_api: FakeLambda) -> None:
    limits = RateLimits(request_interval_s=0.2, launch_interval_s=0.2)
    client = LambdaCloudClient(api_key=API_KEY, base_url=lambda_api.url, limits=limits)
    for _ in range(4):
        client.list_instances()
    times = [s.at for s in lambda_api.requests(LIST)]
    # Each request leaves only after the previous answer and its slot. Arrival times carry the loopback's
    # scheduling jitter (tens of ms on a loaded 2-core machine), so the interval is long enough that a pacing bug
    # (no wait: ~0 s span) and jitter cannot be confused: 3 gaps of 0.2 s, at least 0.48 s observed.
    assert times[-1] - times[0] >= 3 * 0.2 * 0.8


def test_429_honours_retry_after_then_succeeds(lambda_api: FakeLambda) -> None:
    client, waits = recording_client(lambda_api)
    lambda_api.fail(LIST, Fault("status", status=429, retry_after="7"))
    assert client.list_instances() == []
    assert waits == [7.0]
    assert len(lambda_api.requests(LIST)) == 2


def test_429_without_retry_after_backs_off_exponentially_from_the_interval(lambda_api: FakeLambda) -> None:
    client, waits = recording_client(lambda_api)
    lambda_api.fail(LAUNCH, *[Fault("status", status=429)] * 3)
    lambda_api.state.keys["k"] = {"id": "k", "name": "ops", "public_key": "ssh-ed25519 AAAA x"}
    assert len(client.launch_instance(launch_body())) == 1
    interval = FAST.launch_interval_s
    assert waits == [max(interval, 0.5), max(interval, 0.5) * 2, max(interval, 0.5) * 4]
    assert len(lambda_api.requests(LAUNCH)) == 4  # a rejected create is safe to repeat


def test_429_forever_ends_at_the_deadline(lambda_api: FakeLambda) -> None:
    client, waits = recording_client(lambda_api, call_s=10)
    lambda_api.fail(LIST, *[Fault("status", status=429, retry_after="3")] * 20)
    with pytest.raises(DeadlineExceeded, match=r"gave up after \d+ attempt.*429"):
        client.list_instances()
    assert sum(waits) <= 10


def test_server_errors_and_timeouts_are_retried_for_reads(lambda_api: FakeLambda) -> None:
    client, waits = recording_client(lambda_api)
    lambda_api.fail(LIST, Fault("status", status=500), Fault("stall", seconds=0.8), Fault("status", status=503,
                                                                                          code="provider/internal-unavailable"))
    assert client.list_instances() == []
    assert len(lambda_api.requests(LIST)) == 4
    assert len(waits) == 3


def test_unanswered_reads_end_at_the_deadline(lambda_api: FakeLambda) -> None:
    client = LambdaCloudClient(api_key=API_KEY, base_url=lambda_api.url, limits=FAST,
                               timeouts=Timeouts(request_s=0.2, call_s=1.5, max_backoff_s=0.1))
    lambda_api.fail(LIST, *[Fault("stall", seconds=0.4)] * 50)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="no answer"):
        client.list_instances()
    assert time.monotonic() - started < 3


def test_a_create_without_answer_is_not_repeated_blindly(lambda_api: FakeLambda) -> None:
    client, _ = recording_client(lambda_api)
    lambda_api.state.keys["k"] = {"id": "k", "name": "ops", "public_key": "ssh-ed25519 AAAA x"}
    lambda_api.fail(LAUNCH, Fault("apply-then-drop"))
    with pytest.raises(NoAnswer):
        client.launch_instance(launch_body())
    lambda_api.fail(LAUNCH, Fault("status", status=502))
    with pytest.raises(NoAnswer, match="502"):
        client.launch_instance(launch_body("n-1"))
    assert len(lambda_api.requests(LAUNCH)) == 2


def test_insufficient_capacity_is_its_own_error_and_not_retried(lambda_api: FakeLambda) -> None:
    lambda_api.capacity = {}
    lambda_api.state.keys["k"] = {"id": "k", "name": "ops", "public_key": "ssh-ed25519 AAAA x"}
    client, waits = recording_client(lambda_api)
    with pytest.raises(InsufficientCapacity) as caught:
        client.launch_instance(launch_body())
    assert caught.value.code == "instance-operations/launch/insufficient-capacity"
    assert not caught.value.retryable and waits == []
    assert len(lambda_api.requests(LAUNCH)) == 1


def test_other_client_errors_carry_the_code_and_are_not_retried(lambda_api: FakeLambda) -> None:
    client, waits = recording_client(lambda_api)
    with pytest.raises(LambdaApiError) as caught:
        client.launch_instance(launch_body())  # no such SSH key
    assert caught.value.status == 404 and caught.value.code == "global/object-does-not-exist"
    assert waits == []
    assert client.get_instance("does-not-exist") is None


def test_the_key_is_only_in_the_authorization_header(lambda_api: FakeLambda, client: LambdaCloudClient) -> None:
    client.list_instances()  # the stand-in checks 'Authorization: Bearer <key>' on every request
    assert API_KEY not in repr(client)
    lambda_api.fail(LIST, *[Fault("status", status=429)] * 50)
    with pytest.raises(DeadlineExceeded) as caught:
        LambdaCloudClient(api_key=API_KEY, base_url=lambda_api.url, limits=FAST,
                          timeouts=Timeouts(call_s=0.3, max_backoff_s=0.05)).list_instances()
    assert API_KEY not in str(caught.value)
    with pytest.raises(ValueError, match="API key is required"):
        LambdaCloudClient(api_key="")


def test_the_client_module_imports_without_pulumi(monkeypatch: pytest.MonkeyPatch) -> None:
    from components.providers.lambda_cloud import api

    monkeypatch.setitem(sys.modules, "pulumi", None)  # any `import pulumi` now fails
    spec = importlib.util.spec_from_file_location("lambda_api_alone", api.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "lambda_api_alone", module)
    spec.loader.exec_module(module)
    assert module.API_BASE_URL == "https://cloud.lambda.ai/api/v1"
