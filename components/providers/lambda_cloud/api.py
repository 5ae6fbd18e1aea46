"""A client for Lambda's Cloud API: the standard library only, no Pulumi, so it runs in the dynamic provider's
process and in tests alike.

What it follows, from the Lambda Cloud API reference (docs.lambda.ai/api/cloud, OpenAPI ``info.version`` 1.10.0,
served as https://docs.lambda.ai/api/cloud/spec.json):

- Base URL ``https://cloud.lambda.ai`` (``cloud.lambdalabs.com`` is the deprecated secondary server); every path
  is under ``/api/v1``.
- Authentication: ``Authorization: Bearer <API key>`` ("In general, Lambda recommends passing an HTTP Bearer
  header"); API keys have full access to every operation (docs.lambda.ai/public-cloud/access-security), so the
  key is a credential and is never logged, repr'd or returned.
- Success answers are ``{"data": <payload>}``; failures are ``{"error": {"code", "message", "suggestion"?}}``
  and clients must branch on ``code``, never on ``message`` or ``suggestion`` ("these values are subject to
  change"). Codes prefixed ``provider/`` come from upstream services (outages, unavailability; the documented
  example says "Try again shortly"), so they are retried like 5xx.
- Rate limits: "Requests to the API are generally limited to one request per second. Requests to the
  /instance-operations/launch endpoint are limited to one request per 12 seconds, or five requests per minute."
  (Older pages said one launch per 10 s; the 12 s of the current reference is the stricter and the default.)
  The reference does not document the answer to a request over the limit; this client treats HTTP 429 (RFC 6585)
  as "not processed, try later", honours ``Retry-After`` (RFC 9110 §10.2.3) and otherwise backs off
  exponentially from the documented interval, always within a total deadline.

Every call has a deadline: one HTTP exchange times out after ``Timeouts.request_s`` and one logical call
(retries and backoff included) gives up after ``Timeouts.call_s`` with ``DeadlineExceeded``. Calls that create
something are never blindly repeated after an unanswered request (the request may have taken effect): they raise
``NoAnswer`` and the idempotent workflows in ``ops`` look the resource up and adopt it before trying again.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "API_BASE_URL",
    "INSUFFICIENT_CAPACITY",
    "NOT_FOUND_CODES",
    "DeadlineExceeded",
    "InsufficientCapacity",
    "LambdaApiError",
    "LambdaCloudClient",
    "NoAnswer",
    "Pacer",
    "RateLimits",
    "Timeouts",
]

API_BASE_URL = "https://cloud.lambda.ai/api/v1"
"""The production server of the Lambda Cloud API reference, with the ``/api/v1`` prefix every path has."""

INSUFFICIENT_CAPACITY = "instance-operations/launch/insufficient-capacity"
"""Launch error code: "Not enough capacity to fulfill launch request" (ApiErrorInsufficientCapacity)."""

DUPLICATE = "global/duplicate"
"""Create error code for a name that is taken (ApiErrorDuplicate, e.g. POST /filesystems)."""

NOT_FOUND_CODES = frozenset({"global/object-does-not-exist", "global/not-found"})
"""Error codes for a missing object (ApiErrorInstanceNotFound, ...FilesystemNotFound, ...FirewallRulesetNotFound
use ``global/object-does-not-exist``; ApiErrorNotFound uses ``global/not-found``)."""


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    """Minimum spacing of requests, in seconds (the documented limits; configurable for accounts that differ)."""

    request_interval_s: float = 1.0
    """"generally limited to one request per second"."""
    launch_interval_s: float = 12.0
    """"/instance-operations/launch ... one request per 12 seconds, or five requests per minute"."""


@dataclass(frozen=True, kw_only=True)
class Timeouts:
    """Deadlines: nothing waits without one."""

    request_s: float = 30.0
    """One HTTP exchange (connect + answer)."""
    call_s: float = 300.0
    """One logical call, retries and backoff included."""
    max_backoff_s: float = 60.0
    """Longest single wait between retries (a ``Retry-After`` beyond it is still honoured if the deadline allows)."""


class LambdaApiError(Exception):
    """An error answer of the API: HTTP status and the documented ``error`` object."""

    def __init__(self, *, status: int, code: str, message: str, suggestion: str | None, method: str,
                 path: str) -> None:
        hint = f" ({suggestion})" if suggestion else ""
        super().__init__(f"Lambda Cloud API {method} {path}: HTTP {status} {code}: {message}{hint}")
        self.status = status
        self.code = code
        self.message = message
        self.suggestion = suggestion
        self.method = method
        self.path = path

    @property
    def retryable(self) -> bool:
        """Rate limited, a server error, or an upstream provider error: worth trying again later."""
        return self.status == 429 or self.status >= 500 or self.code.startswith("provider/")

    @property
    def not_found(self) -> bool:
        return self.status == 404 or self.code in NOT_FOUND_CODES


class InsufficientCapacity(LambdaApiError):
    """The launch was refused for lack of capacity of that instance type in that region (HTTP 400
    ``instance-operations/launch/insufficient-capacity``). Not retried: capacity does not come back in seconds,
    and the ``regions_with_capacity_available`` of GET /instance-types says where it is."""


class NoAnswer(Exception):
    """The request got no answer (timeout, refused or reset connection, or a 5xx to a create): it may or may not
    have taken effect, so the caller must look before it tries again."""


class DeadlineExceeded(Exception):
    """A call or a wait ran out of time; the message says what was pending and the last error seen."""


class Pacer:
    """Keeps requests apart by the documented intervals: every request waits for the general slot, launches
    also for the launch slot. Thread-safe; one per process is right, since the limits are per account."""

    def __init__(self, *, limits: RateLimits, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limits = limits
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_request = float("-inf")
        self._next_launch = float("-inf")

    def wait_time(self, *, launch: bool) -> float:
        """Seconds until a request (a launch if ``launch``) may be sent."""
        now = self._clock()
        ready = max(self._next_request, self._next_launch if launch else float("-inf"))
        return max(0.0, ready - now)

    def acquire(self, *, launch: bool, deadline: float) -> None:
        """Wait for the slot and take it; ``DeadlineExceeded`` if the slot opens after ``deadline``."""
        with self._lock:
            wait = self.wait_time(launch=launch)
            if self._clock() + wait > deadline:
                raise DeadlineExceeded(f"rate limit: the next {'launch' if launch else 'request'} slot opens in "
                                       f"{wait:.1f} s, after the call's deadline")
            if wait > 0:
                self._sleep(wait)
            now = self._clock()
            self._next_request = now + self.limits.request_interval_s
            if launch:
                self._next_launch = now + self.limits.launch_interval_s

    def push_back(self, seconds: float, *, launch: bool) -> None:
        """Delay every later request by ``seconds`` (the server said we were too fast)."""
        with self._lock:
            until = self._clock() + seconds
            self._next_request = max(self._next_request, until)
            if launch:
                self._next_launch = max(self._next_launch, until)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); None if absent or bad."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: Any


class LambdaCloudClient:
    """The API's operations that the neocloud provider uses, each paced, retried where that is safe, and bounded
    by a deadline. ``idempotent`` calls (reads, deletes, terminate) are repeated after a 5xx or no answer;
    creates are repeated only after a 429 (a rejected request) and raise ``NoAnswer`` otherwise."""

    def __init__(self, *, api_key: str, base_url: str = API_BASE_URL, limits: RateLimits | None = None,
                 timeouts: Timeouts | None = None, pacer: Pacer | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if not api_key:
            raise ValueError("a Lambda Cloud API key is required")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts or Timeouts()
        self._clock = clock
        self._sleep = sleep
        self.pacer = pacer or Pacer(limits=limits or RateLimits(), clock=clock, sleep=sleep)

    def __repr__(self) -> str:  # never the key
        return f"LambdaCloudClient(base_url={self.base_url!r})"

    # -- transport -------------------------------------------------------------------------------------------

    def _exchange(self, method: str, path: str, body: Any | None) -> _Answer:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            **({"Content-Type": "application/json"} if data is not None else {}),
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeouts.request_s) as response:
                raw, status, headers = response.read(), response.status, dict(response.headers.items())
        except urllib.error.HTTPError as error:
            raw, status, headers = error.read(), error.code, dict(error.headers.items())
        except (OSError, http.client.HTTPException) as error:  # URLError, timeouts, resets are OSErrors
            raise NoAnswer(f"Lambda Cloud API {method} {path}: no answer ({error})") from None
        try:
            parsed = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            parsed = None
        return _Answer(status=status, headers=headers, body=parsed)

    def _error(self, answer: _Answer, method: str, path: str) -> LambdaApiError:
        error = answer.body.get("error") if isinstance(answer.body, dict) else None
        if not isinstance(error, dict):
            error = {"code": f"http/{answer.status}", "message": "no error object in the answer"}
        kind = InsufficientCapacity if error.get("code") == INSUFFICIENT_CAPACITY else LambdaApiError
        return kind(status=answer.status, code=str(error.get("code", "")), message=str(error.get("message", "")),
                    suggestion=error.get("suggestion"), method=method, path=path)

    def call(self, method: str, path: str, body: Any | None = None, *, idempotent: bool,
             launch: bool = False) -> Any:
        """One logical call: its ``data`` payload, or ``LambdaApiError`` / ``NoAnswer`` / ``DeadlineExceeded``."""
        deadline = self._clock() + self.timeouts.call_s
        attempt = 0
        last: Exception | None = None
        while True:
            try:
                self.pacer.acquire(launch=launch, deadline=deadline)
            except DeadlineExceeded as error:
                raise DeadlineExceeded(f"{method} {path}: {error}; last error: {last}") from None
            wait: float | None = None
            try:
                answer = self._exchange(method, path, body)
            except NoAnswer as unanswered:
                if not idempotent:
                    raise
                last = unanswered
            else:
                if 200 <= answer.status < 300:
                    return answer.body.get("data") if isinstance(answer.body, dict) else None
                failure = self._error(answer, method, path)
                if answer.status == 429:
                    # Rejected by the limiter, so safe to repeat even for a create.
                    wait = _retry_after(answer.headers)
                    self.pacer.push_back(wait or 0.0, launch=launch)
                elif not (failure.retryable and idempotent):
                    if failure.retryable:  # a 5xx to a create: it may have happened
                        raise NoAnswer(str(failure)) from failure
                    raise failure
                last = failure
            interval = self.pacer.limits.launch_interval_s if launch else self.pacer.limits.request_interval_s
            if wait is None:
                wait = min(self.timeouts.max_backoff_s, max(interval, 0.5) * 2 ** attempt)
            attempt += 1
            if self._clock() + wait > deadline:
                raise DeadlineExceeded(f"Lambda Cloud API {method} {path}: gave up after {attempt} attempt(s) "
                                       f"within {self.timeouts.call_s:.0f} s; last error: {last}")
            self._sleep(wait)

    # -- operations (paths and bodies as in the API reference) -----------------------------------------------

    def list_instance_types(self) -> dict[str, Any]:
        """GET /instance-types: ``{name: {instance_type, regions_with_capacity_available}}``."""
        result: dict[str, Any] = self.call("GET", "/instance-types", idempotent=True)
        return result

    def list_instances(self) -> list[dict[str, Any]]:
        """GET /instances: your running instances."""
        result: list[dict[str, Any]] = self.call("GET", "/instances", idempotent=True)
        return result

    def get_instance(self, instance_id: str) -> dict[str, Any] | None:
        """GET /instances/{id}; None if it does not exist."""
        try:
            result: dict[str, Any] = self.call("GET", f"/instances/{_segment(instance_id)}", idempotent=True)
        except LambdaApiError as error:
            if error.not_found:
                return None
            raise
        return result

    def launch_instance(self, request: Mapping[str, Any]) -> list[str]:
        """POST /instance-operations/launch (InstanceLaunchRequest): the new instance IDs."""
        result = self.call("POST", "/instance-operations/launch", dict(request), idempotent=False, launch=True)
        return list(result["instance_ids"])

    def terminate_instances(self, instance_ids: list[str]) -> list[dict[str, Any]]:
        """POST /instance-operations/terminate: the terminated instances. Repeating it is harmless, so it is
        retried like a read."""
        result = self.call("POST", "/instance-operations/terminate", {"instance_ids": list(instance_ids)},
                           idempotent=True)
        return list(result["terminated_instances"])

    def list_filesystems(self) -> list[dict[str, Any]]:
        """GET /file-systems (the list path is spelt with a hyphen in the reference, the create path is not)."""
        result: list[dict[str, Any]] = self.call("GET", "/file-systems", idempotent=True)
        return result

    def create_filesystem(self, *, name: str, region: str) -> dict[str, Any]:
        """POST /filesystems (FilesystemCreateRequest)."""
        result: dict[str, Any] = self.call("POST", "/filesystems", {"name": name, "region": region},
                                           idempotent=False)
        return result

    def delete_filesystem(self, filesystem_id: str) -> None:
        """DELETE /filesystems/{id}; a missing filesystem counts as deleted. A mounted one is refused
        (``filesystems/filesystem-in-use``)."""
        try:
            self.call("DELETE", f"/filesystems/{_segment(filesystem_id)}", idempotent=True)
        except LambdaApiError as error:
            if not error.not_found:
                raise

    def list_firewall_rulesets(self) -> list[dict[str, Any]]:
        """GET /firewall-rulesets."""
        result: list[dict[str, Any]] = self.call("GET", "/firewall-rulesets", idempotent=True)
        return result

    def create_firewall_ruleset(self, *, name: str, region: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
        """POST /firewall-rulesets (FirewallRulesetCreateRequest)."""
        result: dict[str, Any] = self.call("POST", "/firewall-rulesets",
                                           {"name": name, "region": region, "rules": rules}, idempotent=False)
        return result

    def update_firewall_ruleset(self, ruleset_id: str, *, name: str | None = None,
                                rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """PATCH /firewall-rulesets/{id}: name, rules or both (FirewallRulesetPatchRequest). Setting the same
        values again is harmless, so it is retried like a read."""
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if rules is not None:
            body["rules"] = rules
        result: dict[str, Any] = self.call("PATCH", f"/firewall-rulesets/{_segment(ruleset_id)}", body,
                                           idempotent=True)
        return result

    def delete_firewall_ruleset(self, ruleset_id: str) -> None:
        """DELETE /firewall-rulesets/{id}; a missing ruleset counts as deleted. One still associated with
        instances is refused (``firewall-rulesets/firewall-ruleset-in-use``)."""
        try:
            self.call("DELETE", f"/firewall-rulesets/{_segment(ruleset_id)}", idempotent=True)
        except LambdaApiError as error:
            if not error.not_found:
                raise

    def list_ssh_keys(self) -> list[dict[str, Any]]:
        """GET /ssh-keys."""
        result: list[dict[str, Any]] = self.call("GET", "/ssh-keys", idempotent=True)
        return result

    def add_ssh_key(self, *, name: str, public_key: str | None) -> dict[str, Any]:
        """POST /ssh-keys (AddSSHKeyRequest); without ``public_key`` Lambda generates a pair and answers the
        private key once ("Lambda doesn't store your private key after it's been generated")."""
        body: dict[str, Any] = {"name": name}
        if public_key is not None:
            body["public_key"] = public_key
        result: dict[str, Any] = self.call("POST", "/ssh-keys", body, idempotent=False)
        return result

    def delete_ssh_key(self, key_id: str) -> None:
        """DELETE /ssh-keys/{id}; a missing key counts as deleted."""
        try:
            self.call("DELETE", f"/ssh-keys/{_segment(key_id)}", idempotent=True)
        except LambdaApiError as error:
            if not error.not_found:
                raise


def _segment(value: str) -> str:
    """One URL path segment (IDs come from the API, but never trust them to be URL-safe)."""
    return urllib.parse.quote(value, safe="")
