"""Fixtures for the AWS operations: a real local AWS endpoint (moto in server mode), a fault-injecting front
for it, clients, and throwaway Pulumi projects.

The moto server runs once per session on 127.0.0.1 at a port the OS picks. Every test here gets fake
credentials from the environment (an autouse fixture); config and credential files point nowhere and the instance
metadata service is off, so nothing on the machine can leak in, and nothing leaks out to other tests.
"""

from __future__ import annotations

import http.client
import http.server
import itertools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from neocloud.aws_ops import AwsOptions, AwsSession

REGION = "us-east-2"
_names = itertools.count()


_SCRUBBED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
             "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
             "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE")


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fake credentials and a region in the environment of every test here; no config files, no IMDS."""
    nowhere = tmp_path_factory.getbasetemp() / "no-aws-config"
    for key in _SCRUBBED:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(nowhere))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto server on 127.0.0.1, started once per session at a port the OS picks."""
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def session(moto_endpoint: str) -> AwsSession:
    """An ``AwsSession`` pointed at moto (retries as the command line sets them)."""
    return AwsSession(AwsOptions(region=REGION, endpoint_url=moto_endpoint))


@pytest.fixture
def raw_client(moto_endpoint: str) -> Any:
    """A plain boto3 client factory for moto, for arranging and inspecting state outside the code under test."""

    def make(service: str, region: str = REGION) -> Any:
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=region)

    return make


@pytest.fixture
def unique() -> Any:
    """Unique lower-case names, so tests sharing the one moto server never collide."""

    def make(prefix: str) -> str:
        return f"{prefix}-{next(_names)}-{threading.get_ident() % 10000}"

    return make


class FaultProxy:
    """An HTTP front for moto that answers chosen requests with an EC2 error and forwards the rest.

    It lets the tests drive botocore's real retry handler and error parsing over real HTTP (moto itself never
    throttles). EC2 errors are XML ``<Response><Errors><Error>`` documents (EC2 API reference, "Error codes").
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.lock = threading.Lock()
        self.pending: list[tuple[str | None, int, str, str]] = []
        self.requests: list[str] = []
        self.faulted = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                text = body.decode("utf-8", "replace")
                with proxy.lock:
                    proxy.requests.append(text)
                    fault = next((f for f in proxy.pending if f[0] is None or f"Action={f[0]}&" in f"{text}&"), None)
                    if fault:
                        proxy.pending.remove(fault)
                        proxy.faulted += 1
                if fault:
                    _, status, code, message = fault
                    payload = (f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
                               f"<Message>{message}</Message></Error></Errors><RequestID>fault-{proxy.faulted}"
                               "</RequestID></Response>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body, headers=headers)
                upstream = conn.getresponse()
                data = upstream.read()
                self.send_response(upstream.status)
                for key, value in upstream.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail_next(self, count: int, status: int, code: str, message: str, action: str | None = None) -> None:
        """Answer the next ``count`` requests (of EC2 ``action`` only, if given) with HTTP ``status`` and ``code``."""
        with self.lock:
            self.pending.extend([(action, status, code, message)] * count)

    def actions(self) -> list[str]:
        """The EC2 ``Action`` of every request received, in order."""
        out = []
        for body in self.requests:
            fields = dict(p.split("=", 1) for p in body.split("&") if "=" in p)
            out.append(fields.get("Action", "?"))
        return out

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fault_proxy(moto_endpoint: str) -> Iterator[FaultProxy]:
    """A ``FaultProxy`` in front of the moto server."""
    proxy = FaultProxy(moto_endpoint)
    try:
        yield proxy
    finally:
        proxy.close()


def write_project(root: Path, stacks: dict[str, dict[str, Any]]) -> Path:
    """A minimal Pulumi project at ``root`` with ``stacks/Pulumi.<name>.yaml`` holding each cluster spec."""
    (root / "stacks").mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: neocloud-test\nruntime: python\nstackConfigDir: stacks\n")
    for name, cluster in stacks.items():
        (root / "stacks" / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": {"neocloud:cluster": cluster}}))
    return root


def aws_cluster(**overrides: Any) -> dict[str, Any]:
    """A valid AWS cluster spec (one p5.48xlarge pool in us-east-2b), with top-level overrides."""
    cluster: dict[str, Any] = {
        "name": "t",
        "provider": "aws",
        "environment": "dev",
        "region": REGION,
        "zone": f"{REGION}b",
        "pools": [{"name": "train", "system": "p5.48xlarge", "nodes": 2}],
        "fabric": {"kind": "efa"},
    }
    cluster.update(overrides)
    return cluster


MOTO_AMI = "ami-760aaa0f"
"""An Amazon Linux AMI in moto's built-in AMI list (moto/ec2/resources/amis.json.gz)."""


def launch(ec2: Any, cluster: str, count: int, instance_type: str = "p5.48xlarge", zone: str = f"{REGION}b",
           tags: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Run ``count`` instances tagged ``eks:cluster-name=<cluster>`` on the endpoint; returns them."""
    all_tags = {"eks:cluster-name": cluster, **(tags or {})}
    reply = ec2.run_instances(
        ImageId=MOTO_AMI, MinCount=count, MaxCount=count, InstanceType=instance_type,
        Placement={"AvailabilityZone": zone},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in all_tags.items()]}])
    return list(reply["Instances"])
