"""A small stand-in for the Kubernetes API server, on 127.0.0.1, for the ramp controller's tests.

kube-apiserver cannot run here, so this serves exactly the three calls the controller makes, in the documented
shapes (Kubernetes API concepts, https://kubernetes.io/docs/reference/using-api/api-concepts/):

- ``GET .../backendtrafficpolicies/NAME``: the object, or a 404 Status.
- ``PATCH`` of the same path with ``Content-Type: application/apply-patch+yaml``, ``fieldManager`` and ``force``
  (server-side apply): the applied fields are merged into the stored object (maps merged key by key, the
  ``rules`` list replaced whole: it is atomic in the CRD, which sets no ``x-kubernetes-list-type``).
- ``GET .../endpointslices?labelSelector=...``: an EndpointSliceList with the collection's resourceVersion.
- ``GET .../endpointslices?watch=true``: newline-delimited watch events. Without ``resourceVersion`` the stream
  starts with synthetic ADDED events for the current objects ("Get State and Start at Most Recent"); with one it
  sends only later changes; an expired one gets an ERROR event with a 410 Status. The server then ends the watch
  at once, as it would at ``timeoutSeconds``.

It records every request (method, path, query, headers) so tests can check them against the controller's Role.
"""

from __future__ import annotations

import copy
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None


@dataclass
class FakeCluster:
    """The objects the stand-in serves and what it was asked."""

    token: str
    policy: dict[str, Any] | None
    slices: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Changes (event type, object) to deliver during the next watch."""
    version: int = 100
    expired_below: int = 0
    """resourceVersions below this get 410 Gone."""
    requests: list[Request] = field(default_factory=list)
    applied: list[dict[str, Any]] = field(default_factory=list)

    def change(self, kind: str, obj: dict[str, Any]) -> None:
        self.pending.append((kind, obj))

    def _next_version(self) -> str:
        self.version += 1
        return str(self.version)

    def _deliver(self) -> list[dict[str, Any]]:
        events = []
        for kind, obj in self.pending:
            obj = copy.deepcopy(obj)
            obj.setdefault("metadata", {})["resourceVersion"] = self._next_version()
            name = obj["metadata"]["name"]
            if kind == "DELETED":
                self.slices.pop(name, None)
            else:
                self.slices[name] = obj
            events.append({"type": kind, "object": obj})
        self.pending = []
        return events

    def watch(self, query: dict[str, str]) -> list[dict[str, Any]]:
        selector = query.get("labelSelector", "")
        version = query.get("resourceVersion")
        if version is not None and int(version) < self.expired_below:
            return [{"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                                 "reason": "Expired", "code": 410,
                                                 "message": f"too old resource version: {version}"}}]
        events = []
        if version is None:
            events = [{"type": "ADDED", "object": copy.deepcopy(s)} for s in self.slices.values()]
        events += self._deliver()
        return [e for e in events if e["type"] == "ERROR" or _selected(e["object"], selector)]

    def list(self, query: dict[str, str]) -> dict[str, Any]:
        selector = query.get("labelSelector", "")
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSliceList",
                "metadata": {"resourceVersion": str(self.version)},
                "items": [copy.deepcopy(s) for s in self.slices.values() if _selected(s, selector)]}

    def apply(self, document: dict[str, Any]) -> dict[str, Any]:
        assert self.policy is not None
        assert document["apiVersion"] == self.policy["apiVersion"] and document["kind"] == self.policy["kind"]
        assert document["metadata"]["name"] == self.policy["metadata"]["name"]
        merged = _merge(self.policy, document)
        merged["metadata"]["resourceVersion"] = self._next_version()
        self.policy = merged
        self.applied.append(document)
        return merged


def _selected(obj: dict[str, Any], selector: str) -> bool:
    """``key in (a,b)`` label selectors, the only form the controller sends."""
    key, _, values = selector.partition(" in ")
    wanted = set(values.strip("()").split(","))
    return ((obj.get("metadata") or {}).get("labels") or {}).get(key) in wanted


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(copy.deepcopy(base))
        for key, value in patch.items():
            out[key] = _merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(patch)


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _record(self, body: Any = None) -> Request:
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        request = Request(self.command, parsed.path, query, {k.lower(): v for k, v in self.headers.items()}, body)
        self.cluster.requests.append(request)
        return request

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self, request: Request) -> bool:
        if request.headers.get("authorization") != f"Bearer {self.cluster.token}":
            self._send(401, {"kind": "Status", "code": 401, "reason": "Unauthorized"})
            return False
        return True

    def do_GET(self) -> None:
        request = self._record()
        if not self._authorized(request):
            return
        if request.path.endswith("/endpointslices") and request.query.get("watch") == "true":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for event in self.cluster.watch(request.query):
                self.wfile.write(json.dumps(event).encode() + b"\n")
            return
        if request.path.endswith("/endpointslices"):
            self._send(200, self.cluster.list(request.query))
            return
        if "/backendtrafficpolicies/" in request.path:
            if self.cluster.policy is None:
                self._send(404, {"kind": "Status", "code": 404, "reason": "NotFound"})
            else:
                self._send(200, self.cluster.policy)
            return
        self._send(404, {"kind": "Status", "code": 404, "reason": "NotFound"})

    def do_PATCH(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length))
        request = self._record(body)
        if not self._authorized(request):
            return
        if request.headers.get("content-type") != "application/apply-patch+yaml" or "fieldManager" not in request.query:
            self._send(415, {"kind": "Status", "code": 415})
            return
        self._send(200, self.cluster.apply(body))


@contextmanager
def serve(cluster: FakeCluster) -> Iterator[str]:
    """Serve ``cluster`` on 127.0.0.1; yields the base URL."""
    handler = type("Handler", (_Handler,), {"cluster": cluster})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
