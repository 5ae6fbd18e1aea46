"""The pack's runtime around the Pulumi policy SDK's analyzer server: in-flight tracking, crash naming, and
one deserialization per request. Installed by ``policies/__main__.py`` only (importing this has no effect).

- **Which policy is running.** Every policy's ``validate`` is wrapped so the pack knows which policy runs on
  which resource. On ``SIGUSR1`` the pack writes one ``IN_FLIGHT`` line per running policy to stderr: a caller
  whose call passed its deadline (``neocloud check`` does this) can name the policy that hangs. A policy that
  raises is re-raised with its name and the resource, and its traceback goes to stderr (the engine and
  ``neocloud check`` keep the pack's stderr), so a crash names the policy and where to look.
- **Deserialize once per request.** The SDK's servicer deserializes a resource's properties once *per policy*
  (``Analyze`` and ``AnalyzeStack`` in pulumi_policy/policy.py call
  ``unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(...)))`` inside the loop over
  policies). With ~20 policies that is ~20 full copies of every resource's inputs per call -- the bulk of
  ``check``'s analysis time, and for a stack of large resources most of its wall time. Within one request the
  three steps are memoized by the identity of their input (kept alive for the request, so identities are never
  reused); the policies get the same read-only proxies, each still in a ``PolicyResource`` of its own. Outside a
  request the SDK's functions run unchanged. The cyclic garbage collector is paused while a request runs (its
  garbage is freed by reference counting as it goes; automatic collection resumes when no request runs). Rules
  never write to ``props`` (a test checks results are the same with and without this).
"""

from __future__ import annotations

import functools
import gc
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["IN_FLIGHT", "install"]

IN_FLIGHT = "neocloud-pack: in flight:"
"""Prefix of the stderr line the pack writes, on SIGUSR1, for each policy still running."""
CRASH = "neocloud-pack: policy crashed:"
"""Prefix of the stderr line before a crashed policy's traceback."""

_running: dict[int, tuple[str, str, float]] = {}
"""Thread id -> (policy, resource URN or 'the stack', start time) of each policy running now."""
_lock = threading.Lock()
_request = threading.local()


def install(policies: Iterable[Any]) -> None:
    """Wrap every policy's ``validate``, memoize deserialization per request, and handle SIGUSR1."""
    for policy in policies:
        policy.validate = _tracked(policy.name, policy.validate)
    _share_deserialization()
    if hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, _report_in_flight)


def _tracked(name: str, validate: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(validate)
    def run(args: Any, report: Any) -> Any:
        subject = str(getattr(args, "urn", "") or "the stack")
        thread = threading.get_ident()
        with _lock:
            _running[thread] = (name, subject, time.monotonic())
        try:
            return validate(args, report)
        except Exception as exc:
            if type(exc).__module__.startswith("pulumi_policy"):  # not-applicable, unknown during preview
                raise
            print(f"{CRASH} '{name}' on {subject}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()
            raise RuntimeError(f"policy '{name}' crashed on {subject}: {type(exc).__name__}: {exc}") from exc
        finally:
            with _lock:
                _running.pop(thread, None)

    return run


def _report_in_flight(_signum: int, _frame: Any) -> None:
    now = time.monotonic()
    with _lock:
        running = list(_running.values())
    for name, subject, started in running:
        print(f"{IN_FLIGHT} policy '{name}' on {subject} for {now - started:.1f}s", file=sys.stderr)
    if not running:
        print(f"{IN_FLIGHT} no policy (the pack itself is busy)", file=sys.stderr)
    sys.stderr.flush()


def _memo(function: Callable[[Any], Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def cached(value: Any, *rest: Any, **options: Any) -> Any:
        memo: dict[tuple[int, Callable[..., Any]], tuple[Any, Any]] | None = getattr(_request, "memo", None)
        if memo is None or rest or options:
            return function(value, *rest, **options)
        key = (id(value), function)
        hit = memo.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        result = function(value)
        memo[key] = (value, result)  # keep ``value`` alive: its id stays unique for the request
        return result

    return cached


class _JsonFormat:
    """``google.protobuf.json_format`` with ``MessageToDict`` memoized per request, and a direct conversion of
    ``google.protobuf.Struct`` (what the SDK converts: resource properties) that gives what ``MessageToDict``
    gives (Proto3 JSON mapping of Struct/Value/ListValue; NaN and infinities refused the same way)."""

    def __init__(self, module: Any) -> None:
        self._module = module
        self.MessageToDict = _memo(self._to_dict)

    def _to_dict(self, message: Any, *rest: Any, **options: Any) -> Any:
        if not rest and not options and message.DESCRIPTOR.full_name == "google.protobuf.Struct":
            return _struct(message)
        return self._module.MessageToDict(message, *rest, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def _struct(message: Any) -> dict[str, Any]:
    return {key: _value(value) for key, value in message.fields.items()}


def _value(message: Any) -> Any:
    which = message.WhichOneof("kind")
    if which == "struct_value":
        return _struct(message.struct_value)
    if which == "list_value":
        return [_value(v) for v in message.list_value.values]
    if which == "string_value":
        return message.string_value
    if which == "number_value":
        number = message.number_value
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"Fail to serialize {number} for Value.number_value, which would parse as string_value")
        return number
    if which == "bool_value":
        return message.bool_value
    return None


def _share_deserialization() -> None:
    from pulumi_policy import policy as sdk

    if getattr(sdk, "_neocloud_shared", False):
        return
    sdk.json_format = _JsonFormat(sdk.json_format)  # type: ignore[assignment]
    sdk.deserialize_properties = _memo(sdk.deserialize_properties)  # type: ignore[assignment]
    sdk.unknown_checking_proxy = _memo(sdk.unknown_checking_proxy)  # type: ignore[assignment]
    servicer = sdk._PolicyAnalyzerServicer
    for method in ("Analyze", "AnalyzeStack"):
        setattr(servicer, method, _one_request(getattr(servicer, method)))
    sdk._neocloud_shared = True  # type: ignore[attr-defined]


_active = [0]
"""Requests being served now (the cyclic garbage collector is paused while any is)."""


def _one_request(handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    def serve(self: Any, request: Any, context: Any) -> Any:
        # A request allocates a few container objects per property per policy and frees them by reference
        # counting; the cyclic collector's full passes over every live object (gc docs: collection frequency follows
        # allocations) took most of a large AnalyzeStack's time. Pause it while requests run, collect after.
        with _lock:
            _active[0] += 1
            gc.disable()
        _request.memo = {}
        try:
            return handler(self, request, context)
        finally:
            _request.memo = None
            with _lock:
                _active[0] -= 1
                if not _active[0]:
                    gc.enable()

    return serve
