"""The traffic regulator's in-cluster ramp controller: watches the inference Services' EndpointSlices and patches
the one BackendTrafficPolicy's local rate limit along the ramp that ``neocloud/plan/traffic.py`` decides.

Standard library only, on purpose: ``TrafficRegulator`` ships this file and ``traffic.py`` in a ConfigMap and runs
them on a stock, pinned Python image, so there is no image of ours to build and publish. Envoy Gateway stays the
data plane: this process is never in the request path, it only edits one number (and one annotation) of one object.

What it may do (its Role, and nothing else): ``list`` and ``watch`` EndpointSlices in the team namespace, ``get``
and ``patch`` the BackendTrafficPolicy named in its config. ``list`` reveals nothing a watch does not (a watch
without ``resourceVersion`` replays every object as ADDED), but it returns the collection's resourceVersion, the
correct point to watch from; resuming from an object's own resourceVersion instead can be older than the
server's history and meet ``410 Gone`` again and again (Kubernetes API concepts,
https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).

Deadlines everywhere: every API call has a client timeout; each watch asks the server to end it after one step
(``timeoutSeconds``) and the socket gives up a little after that. A heartbeat file lets the kubelet's liveness
probe restart a controller that stopped looping; repeated API failures exit non-zero so the pod restarts visibly.

Writes are server-side apply with its own field manager and ``force=true``: the controller owns
``spec.rateLimit`` and its state annotation, and the Pulumi program declares ``ignoreChanges: [spec.rateLimit]``,
which pulumi-kubernetes implements by leaving fields another manager owns out of its own apply
(pulumi/pulumi-kubernetes#2566), so ``pulumi up`` never fights the ramp. The state annotation makes a restart
resume the ramp where it was (``traffic.decode_states``).
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

try:  # in the repository (tests, the Pulumi program reading this file)
    from neocloud.plan import traffic as ramp
except ImportError:  # in the pod: the ConfigMap mounts traffic.py beside this file
    import traffic as ramp  # type: ignore[import-not-found,no-redef]

__all__ = [
    "FIELD_MANAGER",
    "OUTAGE_ANNOTATION",
    "POLICY_GROUP_VERSION",
    "SERVICE_NAME_LABEL",
    "STATE_ANNOTATION",
    "Api",
    "ApiError",
    "ControllerConfig",
    "RampController",
    "ready_endpoints",
]

FIELD_MANAGER = "neocloud-traffic-ramp"
"""Server-side apply field manager of the controller's writes."""
STATE_ANNOTATION = "neocloud.io/traffic-ramp-state"
"""Annotation on the BackendTrafficPolicy holding the ramp state (``traffic.encode_states``)."""
OUTAGE_ANNOTATION = "neocloud.io/declared-outage"
"""Annotation an operator sets on the BackendTrafficPolicy to declare an outage (any value; remove it to resume):
``kubectl annotate backendtrafficpolicy inference-regulator neocloud.io/declared-outage=now``."""
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
"""The label the EndpointSlice controller puts on a Service's slices (Kubernetes docs, "EndpointSlices")."""
POLICY_GROUP_VERSION = "gateway.envoyproxy.io/v1alpha1"
"""Envoy Gateway's BackendTrafficPolicy API (v1.9.0). A copy of ``neocloud.vocabulary.ENVOY_GATEWAY_API_VERSION``
because the pod has only this file and ``traffic.py``; a test keeps the two equal."""
DISCOVERY = "/apis/discovery.k8s.io/v1"

_SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
_MAX_FAILURES = 12
"""Consecutive failed cycles before the controller exits (the pod restarts; CrashLoopBackOff is visible)."""


class ApiError(Exception):
    """A Kubernetes API call that failed (``status`` 0: no HTTP answer)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


@dataclass(frozen=True)
class ControllerConfig:
    """The controller's ConfigMap ``config.json`` (plus the namespace, from the environment)."""

    namespace: str
    policy: str
    backends: tuple[str, ...]
    ramp: ramp.RampConfig
    heartbeat: str = "/tmp/heartbeat"

    @classmethod
    def from_json(cls, text: str, namespace: str) -> ControllerConfig:
        data = json.loads(text)
        return cls(namespace=namespace, policy=str(data["policy"]), backends=tuple(data["backends"]),
                   ramp=ramp.RampConfig.from_dict(data["ramp"]), heartbeat=str(data.get("heartbeat", "/tmp/heartbeat")))


class Api:
    """A minimal Kubernetes API client: a bearer token re-read on every call (the kubelet rotates projected
    service-account tokens), the cluster CA, and a timeout on every request."""

    def __init__(self, base_url: str, *, token_path: str, ca_path: str | None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_path = token_path
        self.timeout = timeout
        self.ca_path = ca_path
        self._context: ssl.SSLContext | None = None

    @classmethod
    def in_cluster(cls) -> Api:
        host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if ":" in host:
            host = f"[{host}]"
        return cls(f"https://{host}:{port}", token_path=f"{_SERVICE_ACCOUNT}/token",
                   ca_path=f"{_SERVICE_ACCOUNT}/ca.crt")

    def _open(self, method: str, path: str, *, body: bytes | None = None, content_type: str | None = None,
              timeout: float | None = None) -> Any:
        with open(self.token_path, encoding="utf-8") as handle:
            token = handle.read().strip()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers)
        if self.ca_path and self._context is None:
            self._context = ssl.create_default_context(cafile=self.ca_path)
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout, context=self._context)
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise ApiError(error.code, detail) from None
        except (urllib.error.URLError, OSError) as error:
            raise ApiError(0, str(error)) from None

    def get(self, path: str) -> dict[str, Any]:
        with self._open("GET", path) as response:
            return dict(json.loads(response.read()))

    def apply(self, path: str, document: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply (``application/apply-patch+yaml``; JSON is YAML) as ``FIELD_MANAGER``, forced."""
        query = urllib.parse.urlencode({"fieldManager": FIELD_MANAGER, "force": "true"})
        with self._open("PATCH", f"{path}?{query}", body=json.dumps(document).encode(),
                        content_type="application/apply-patch+yaml") as response:
            return dict(json.loads(response.read()))

    def watch(self, path: str, params: Mapping[str, str], server_timeout: int) -> Iterator[dict[str, Any]]:
        """Watch events, one JSON object per line, until the server ends the watch after ``server_timeout``
        seconds; the socket gives up 10 s later if the server does not."""
        query = urllib.parse.urlencode({**params, "watch": "true", "allowWatchBookmarks": "true",
                                        "timeoutSeconds": str(server_timeout)})
        response = self._open("GET", f"{path}?{query}", timeout=server_timeout + 10)
        try:
            for line in response:
                if line.strip():
                    yield json.loads(line)
        except (TimeoutError, OSError) as error:
            raise ApiError(0, f"watch stream: {error}") from None
        finally:
            response.close()


def ready_endpoints(slices: Mapping[str, Mapping[str, Any]], service: str) -> int:
    """Distinct ready endpoints of ``service`` across its EndpointSlices.

    Per the EndpointSlice API: ``conditions.ready`` nil means unknown, which "in most cases consumers should
    interpret as ready"; an endpoint may appear in more than one slice while slices are updated, so endpoints are
    counted once by their target Pod (else their first address)."""
    seen: set[str] = set()
    for endpoint_slice in slices.values():
        labels = (endpoint_slice.get("metadata") or {}).get("labels") or {}
        if labels.get(SERVICE_NAME_LABEL) != service:
            continue
        for endpoint in endpoint_slice.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            target = endpoint.get("targetRef") or {}
            key = target.get("uid") or ",".join(endpoint.get("addresses") or [])
            if key:
                seen.add(key)
    return len(seen)


@dataclass
class RampController:
    """One controller: ``cycle()`` lists and watches for one step, observes, and applies the limit if it
    changed."""

    config: ControllerConfig
    api: Api
    clock: Callable[[], float] = time.time
    log: Callable[[str], None] = field(default=lambda message: print(message, file=sys.stderr, flush=True))
    states: dict[str, ramp.BackendState] | None = None
    slices: dict[str, dict[str, Any]] = field(default_factory=dict)
    applied: tuple[int, str] | None = None

    @property
    def policy_path(self) -> str:
        return (f"/apis/{POLICY_GROUP_VERSION}/namespaces/{self.config.namespace}/backendtrafficpolicies/"
                f"{self.config.policy}")

    def _observe_all(self, declared: bool) -> None:
        assert self.states is not None
        now = self.clock()
        for backend in self.config.backends:
            observation = ramp.Observation(now, ready_endpoints(self.slices, backend), declared)
            self.states[backend] = ramp.observe(self.states[backend], observation, self.config.ramp)

    def _sync(self, declared: bool) -> None:
        """List the backends' EndpointSlices (the current state and the collection's resourceVersion), then watch
        from that resourceVersion for one step, observing after every event, so a flap between two ticks is
        seen. This is the documented list-then-watch pattern (Kubernetes API concepts, "Efficient detection of
        changes"); a watch that meets ``410 Gone`` just ends the step, and the next step lists afresh."""
        selector = f"{SERVICE_NAME_LABEL} in ({','.join(self.config.backends)})"
        path = f"{DISCOVERY}/namespaces/{self.config.namespace}/endpointslices"
        listing = self.api.get(f"{path}?{urllib.parse.urlencode({'labelSelector': selector})}")
        self.slices = {str((item.get("metadata") or {}).get("name")): item for item in listing.get("items") or []}
        version = str((listing.get("metadata") or {}).get("resourceVersion") or "")
        self._observe_all(declared)
        params = {"labelSelector": selector, "resourceVersion": version} if version else {"labelSelector": selector}
        for event in self.api.watch(path, params, self.config.ramp.step_seconds):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:  # resourceVersion too old: the next step lists again
                    return
                raise ApiError(int(obj.get("code") or 0), str(obj.get("message")))
            if kind == "BOOKMARK":
                continue
            name = str((obj.get("metadata") or {}).get("name"))
            if kind == "DELETED":
                self.slices.pop(name, None)
            elif kind in ("ADDED", "MODIFIED"):
                self.slices[name] = obj
            self._observe_all(declared)

    def cycle(self) -> int | None:
        """One step: read the policy (outage declaration, persisted state), watch, observe, apply. Returns the
        admitted rate, or ``None`` when the policy does not exist (nothing is created: Pulumi owns the object)."""
        try:
            policy = self.api.get(self.policy_path)
        except ApiError as error:
            if error.status == 404:
                self.log(f"BackendTrafficPolicy {self.config.namespace}/{self.config.policy} not found; waiting")
                return None
            raise
        annotations = (policy.get("metadata") or {}).get("annotations") or {}
        declared = OUTAGE_ANNOTATION in annotations
        if self.states is None:
            self.states = ramp.decode_states(annotations.get(STATE_ANNOTATION), self.config.backends, self.clock())
            self.log(f"resumed state {ramp.encode_states(self.states)}")
        self._sync(declared)
        self._observe_all(declared)
        rate = ramp.regulator_rate(self.states, self.clock(), self.config.ramp)
        encoded = ramp.encode_states(self.states)
        current = _current_limit(policy)
        if (rate, encoded) != self.applied or current != rate or annotations.get(STATE_ANNOTATION) != encoded:
            self.api.apply(self.policy_path, _apply_document(self.config, rate, encoded))
            if current != rate:
                self.log(f"admitted rate {current} -> {rate} req/s; state {encoded}")
            self.applied = (rate, encoded)
        return rate

    def run(self, sleep: Callable[[float], None] = time.sleep, cycles: int | None = None) -> int:
        """Cycle forever (or ``cycles`` times), each cycle at least one step long (a watch the server ends early,
        a missing policy or an API error never turns into a tight loop against the API server). Returns 1 after
        ``_MAX_FAILURES`` consecutive failures, so the pod restarts and the failure shows."""
        failures = 0
        done = 0
        while cycles is None or done < cycles:
            started = time.monotonic()
            try:
                self.cycle()
                failures = 0
            except ApiError as error:
                failures += 1
                self.log(f"API error ({failures}/{_MAX_FAILURES}): {error}")
                if failures >= _MAX_FAILURES:
                    return 1
            _touch(self.config.heartbeat)
            done += 1
            sleep(max(0.0, self.config.ramp.step_seconds - (time.monotonic() - started)))
        return 0


def _current_limit(policy: Mapping[str, Any]) -> int | None:
    rules = (((policy.get("spec") or {}).get("rateLimit") or {}).get("local") or {}).get("rules") or []
    if len(rules) != 1:
        return None
    requests = (rules[0].get("limit") or {}).get("requests")
    return requests if isinstance(requests, int) else None


def _apply_document(config: ControllerConfig, rate: int, encoded: str) -> dict[str, Any]:
    """The fields the controller owns: the local rate limit rule and its state annotation."""
    return {
        "apiVersion": POLICY_GROUP_VERSION,
        "kind": "BackendTrafficPolicy",
        "metadata": {"name": config.policy, "namespace": config.namespace,
                     "annotations": {STATE_ANNOTATION: encoded}},
        "spec": {"rateLimit": {"local": {"rules": [{"limit": {"requests": rate, "unit": "Second"}}]}}},
    }


def _touch(path: str) -> None:
    try:
        with open(path, "a", encoding="utf-8"):
            os.utime(path, None)
    except OSError:
        pass


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: ramp_controller.py CONFIG.json", file=sys.stderr)
        return 2
    namespace = os.environ.get("NEOCLOUD_NAMESPACE", "")
    if not namespace:
        print("NEOCLOUD_NAMESPACE: required (the team namespace of the policy and the Services)", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        config = ControllerConfig.from_json(handle.read(), namespace)
    return RampController(config, Api.in_cluster()).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
