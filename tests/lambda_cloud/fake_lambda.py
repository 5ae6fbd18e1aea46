"""A Lambda Cloud API stand-in on 127.0.0.1 that checks every request and every answer against the documented
shapes.

There is no real peer to test against (no Lambda account, no network), so this server keeps just enough state
(instances, filesystems, firewall rulesets, SSH keys) to answer like the API, and validates:

- the method and path against the operations of the Lambda Cloud API reference (v1.10.0,
  https://docs.lambda.ai/api/cloud), paths under ``/api/v1``;
- ``Authorization: Bearer <key>`` (the reference's recommended header);
- each request body and each answer it sends against ``lambda-cloud-api.schema.json`` (JSON Schema written from
  that reference; see its ``$comment``).

Anything off goes into ``violations``, which the ``lambda_api`` fixture asserts is empty after every test.
Faults are scripted per operation: ``429`` (with or without ``Retry-After``), ``500``, an error code
(``insufficient-capacity``), ``apply-then-drop`` (the request takes effect, the connection closes without an
answer: a lost response) and ``stall`` (no answer before the client's timeout).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = json.loads((Path(__file__).resolve().parent / "lambda-cloud-api.schema.json").read_text())
PREFIX = "/api/v1"


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "$defs": SCHEMA["$defs"]})


@dataclass
class Fault:
    """One scripted misbehaviour for the next matching request."""

    kind: str  # "status" | "apply-then-drop" | "stall"
    status: int = 0
    code: str = ""
    retry_after: str | None = None
    seconds: float = 0.0


@dataclass
class Seen:
    method: str
    operation: str
    body: Any
    at: float
    answered: int | None


@dataclass
class State:
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    filesystems: dict[str, dict[str, Any]] = field(default_factory=dict)
    rulesets: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls_to_active: dict[str, int] = field(default_factory=dict)


def _region(name: str) -> dict[str, str]:
    return {"name": name, "description": f"{name} (test)"}


def _error(status: int, code: str, message: str, suggestion: str | None = None) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"code": code, "message": message}
    if suggestion:
        body["suggestion"] = suggestion
    return status, {"error": body}


class FakeLambda:
    """The server: ``url`` is the API base (``http://127.0.0.1:<port>/api/v1``)."""

    def __init__(self, *, api_key: str, boot_polls: int = 1,
                 capacity: dict[tuple[str, str], int] | None = None) -> None:
        self.api_key = api_key
        self.boot_polls = boot_polls
        """How many instance reads see ``booting`` before ``active``."""
        self.capacity = capacity
        """Instances left per (instance type, region); None: unlimited."""
        self.state = State()
        self.faults: dict[str, deque[Fault]] = {}
        self.seen: list[Seen] = []
        self.violations: list[str] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._validators = {
            op: (_validator(spec["request"]) if spec["request"] else None,
                 {status: _validator(schema) for status, schema in spec["responses"].items()})
            for op, spec in SCHEMA["operations"].items()
        }
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{PREFIX}"

    def start(self) -> FakeLambda:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, operation: str, *faults: Fault) -> None:
        """Script faults for the next requests of ``operation`` (e.g. ``"POST /instance-operations/launch"``)."""
        self.faults.setdefault(operation, deque()).extend(faults)

    def requests(self, operation: str) -> list[Seen]:
        return [s for s in self.seen if s.operation == operation]

    def new_id(self) -> str:
        return uuid.UUID(int=next(self._ids)).hex

    # -- request handling ----------------------------------------------------------------------------------------

    def _operation(self, method: str, path: str) -> tuple[str, str | None] | None:
        if not path.startswith(PREFIX):
            return None
        rest = path[len(PREFIX):]
        for op in SCHEMA["operations"]:
            op_method, template = op.split(" ", 1)
            pattern = "^" + re.sub(r"\{id\}", "(?P<id>[^/]+)", template) + "$"
            match = re.match(pattern, rest)
            if op_method == method and match:
                return op, match.groupdict().get("id")
        return None

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any, dict[str, str],
                                                                                          Fault | None]:
        found = self._operation(method, path)
        if found is None:
            self.violations.append(f"{method} {path}: not an operation of the Lambda Cloud API reference")
            return 404, {"error": {"code": "global/not-found", "message": "no such route"}}, {}, None
        operation, object_id = found
        body = json.loads(raw) if raw else None
        request_validator, response_validators = self._validators[operation]
        if headers.get("authorization") != f"Bearer {self.api_key}":
            self.violations.append(f"{operation}: Authorization is not 'Bearer <API key>'")
        if request_validator is None and body is not None:
            self.violations.append(f"{operation}: sent a body where the reference has none")
        elif request_validator is not None:
            if headers.get("content-type") != "application/json":
                self.violations.append(f"{operation}: Content-Type is {headers.get('content-type')!r}")
            for problem in request_validator.iter_errors(body):
                self.violations.append(f"{operation} request: {problem.message} at {list(problem.absolute_path)}")
        with self._lock:
            queue = self.faults.get(operation)
            fault = queue.popleft() if queue else None
            record = Seen(method, operation, body, time.monotonic(), None)
            self.seen.append(record)
            if fault is not None and fault.kind == "status":
                status, answer = _error(fault.status, fault.code or ("global/internal-error" if fault.status >= 500
                                                                     else "global/too-many-requests"),
                                        "scripted fault", "Try again later.")
                extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            else:
                status, answer = self._apply(operation, object_id, body)
                extra = {}
        record.answered = status
        if fault is None or fault.kind != "status":  # scripted faults are our own deviations, not API answers
            validator = response_validators.get(str(status))
            if validator is None:
                self.violations.append(f"{operation}: answered {status}, which the reference does not list")
            else:
                for problem in validator.iter_errors(answer):
                    self.violations.append(f"{operation} answer: {problem.message} at {list(problem.absolute_path)}")
        return status, answer, extra, fault if fault is not None and fault.kind != "status" else None

    # -- the API's behaviour ---------------------------------------------------------------------------------------

    def _instance_view(self, instance: dict[str, Any]) -> dict[str, Any]:
        if instance["status"] == "booting":
            left = self.state.polls_to_active.get(instance["id"], 0)
            if left <= 0:
                instance["status"] = "active"
            else:
                self.state.polls_to_active[instance["id"]] = left - 1
        elif instance["status"] == "terminating":
            instance["status"] = "terminated"
        return dict(instance)

    def _apply(self, operation: str, object_id: str | None, body: Any) -> tuple[int, Any]:
        st = self.state
        if operation == "GET /instances":
            views = [self._instance_view(i) for i in st.instances.values()]
            for gone in [i for i in views if i["status"] == "terminated"]:
                st.instances.pop(gone["id"], None)  # a list of your *running* instances
            return 200, {"data": views}
        if operation == "GET /instances/{id}":
            instance = st.instances.get(str(object_id))
            if instance is None:
                return _error(404, "global/object-does-not-exist", "Specified instance does not exist.")
            return 200, {"data": self._instance_view(instance)}
        if operation == "GET /instance-types":
            return 200, {"data": {}}
        if operation == "POST /instance-operations/launch":
            return self._launch(body)
        if operation == "POST /instance-operations/terminate":
            missing = [i for i in body["instance_ids"] if i not in st.instances]
            if missing:
                return _error(404, "global/object-does-not-exist", "Specified instance does not exist.")
            done = []
            for instance_id in body["instance_ids"]:
                st.instances[instance_id]["status"] = "terminating"
                done.append(dict(st.instances[instance_id]))
            return 200, {"data": {"terminated_instances": done}}
        if operation == "GET /file-systems":
            for fs in st.filesystems.values():
                fs["is_in_use"] = any(fs["name"] in i["file_system_names"] and i["status"] != "terminated"
                                      for i in st.instances.values())
            return 200, {"data": list(st.filesystems.values())}
        if operation == "POST /filesystems":
            if any(f["name"] == body["name"] for f in st.filesystems.values()):
                return _error(400, "global/duplicate", "A filesystem with this name already exists.")
            fs_id = self.new_id()
            st.filesystems[fs_id] = {"id": fs_id, "name": body["name"], "mount_point": f"/lambda/nfs/{body['name']}",
                                     "created": "2026-12-01T00:00:00+00:00", "is_in_use": False,
                                     "created_by": {"id": "u1", "email": "ops@example.com", "status": "active"},
                                     "region": _region(body["region"]), "bytes_used": 0}
            return 200, {"data": st.filesystems[fs_id]}
        if operation == "DELETE /filesystems/{id}":
            fs = st.filesystems.get(str(object_id))
            if fs is None:
                return _error(404, "global/object-does-not-exist", "Filesystem was not found.")
            if any(fs["name"] in i["file_system_names"] and i["status"] not in ("terminated",)
                   for i in st.instances.values()):
                return _error(400, "filesystems/filesystem-in-use", "Filesystem is in use.")
            del st.filesystems[str(object_id)]
            return 200, {"data": {"deleted_ids": [str(object_id)]}}
        if operation == "GET /firewall-rulesets":
            return 200, {"data": list(st.rulesets.values())}
        if operation == "POST /firewall-rulesets":
            rid = self.new_id()
            st.rulesets[rid] = {"id": rid, "name": body["name"], "region": _region(body["region"]),
                                "rules": body["rules"], "created": "2026-12-01T00:00:00+00:00", "instance_ids": []}
            return 200, {"data": st.rulesets[rid]}
        if operation == "PATCH /firewall-rulesets/{id}":
            ruleset = st.rulesets.get(str(object_id))
            if ruleset is None:
                return _error(404, "global/object-does-not-exist", "Firewall ruleset does not exist.",
                              "Check your firewall ruleset ID and try again.")
            ruleset.update({k: v for k, v in body.items() if k in ("name", "rules")})
            return 200, {"data": ruleset}
        if operation == "DELETE /firewall-rulesets/{id}":
            ruleset = st.rulesets.get(str(object_id))
            if ruleset is None:
                return _error(404, "global/object-does-not-exist", "Firewall ruleset does not exist.",
                              "Check your firewall ruleset ID and try again.")
            if any({"id": object_id} in i.get("firewall_rulesets", []) and i["status"] != "terminated"
                   for i in st.instances.values()):
                return _error(400, "firewall-rulesets/firewall-ruleset-in-use", "Firewall ruleset is in use.",
                              "Terminate all instances that are using the ruleset before deleting it.")
            del st.rulesets[str(object_id)]
            return 200, {"data": {}}
        if operation == "GET /ssh-keys":
            return 200, {"data": [{k: v for k, v in key.items() if k != "private_key"} for key in st.keys.values()]}
        if operation == "POST /ssh-keys":
            key_id = self.new_id()
            key = {"id": key_id, "name": body["name"],
                   "public_key": body.get("public_key") or f"ssh-ed25519 AAAAGENERATED{key_id} generated"}
            if "public_key" not in body:
                key["private_key"] = (f"-----BEGIN OPENSSH PRIVATE KEY-----\n{key_id}\n"
                                      "-----END OPENSSH PRIVATE KEY-----\n")
            st.keys[key_id] = key
            return 200, {"data": key}
        if operation == "DELETE /ssh-keys/{id}":
            if st.keys.pop(str(object_id), None) is None:
                return _error(404, "global/not-found", "The requested resource was not found.")
            return 200, {"data": {}}
        raise AssertionError(operation)

    def _launch(self, body: dict[str, Any]) -> tuple[int, Any]:
        st = self.state
        key = (body["instance_type_name"], body["region_name"])
        if self.capacity is not None:
            if self.capacity.get(key, 0) <= 0:
                return _error(400, "instance-operations/launch/insufficient-capacity",
                              "Not enough capacity to fulfill launch request.",
                              "Choose an instance type with more availability, or try again later.")
            self.capacity[key] -= 1
        known_keys = {k["name"] for k in st.keys.values()}
        for name in body["ssh_key_names"]:
            if name not in known_keys:
                return _error(404, "global/object-does-not-exist", f"SSH key {name} not found",
                              "Check the SSH key name.")
        instance_id = self.new_id()
        index = len(st.instances) + 2
        st.instances[instance_id] = {
            "id": instance_id, "name": body.get("name", ""), "ip": f"198.51.100.{index}",
            "private_ip": f"10.0.2.{index}", "status": "booting", "ssh_key_names": body["ssh_key_names"],
            "file_system_names": body.get("file_system_names", []), "region": _region(body["region_name"]),
            "instance_type": {"name": body["instance_type_name"], "description": "8x H100 (80 GB SXM5)",
                              "gpu_description": "H100 (80 GB SXM5)", "price_cents_per_hour": 2392,
                              "specs": {"vcpus": 208, "memory_gib": 1800, "storage_gib": 24780, "gpus": 8}},
            "hostname": body.get("hostname", f"198-51-100-{index}"),
            "jupyter_token": "0123456789abcdef0123456789abcdef",
            "jupyter_url": "https://jupyter-0123.lambdaspaces.com/?token=0123456789abcdef0123456789abcdef",
            "actions": {a: {"available": True} for a in ("migrate", "rebuild", "restart", "cold_reboot",
                                                         "terminate")},
            "tags": body.get("tags", []), "firewall_rulesets": body.get("firewall_rulesets", []),
        }
        st.polls_to_active[instance_id] = self.boot_polls
        return 200, {"data": {"instance_ids": [instance_id]}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, answer, extra, fault = fake.handle(self.command, self.path, headers, raw)
                if fault is not None and fault.kind == "stall":
                    time.sleep(fault.seconds)
                if fault is not None:  # apply-then-drop, stall: no answer at all
                    self.close_connection = True
                    self.connection.close()
                    return
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        return Handler
