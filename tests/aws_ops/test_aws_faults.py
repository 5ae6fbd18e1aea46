"""Faults and bad input of the AWS commands: an endpoint that accepts and never answers (bounded retries, a total
deadline and a message per attempt), an endpoint that is not AWS, bad regions and flags, and topology inputs
that are binary, 100k deep, deeper than a Kueue Topology allows, or written to a directory.

Every command that could hang runs in a subprocess with a bounded ``timeout``: a regression fails, never hangs.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neocloud.cli import main
from tests.aws_ops.conftest import REGION
from tests.conftest import REPO

GUARD = 90
"""Seconds a subprocess here may take before the test fails."""


def _neocloud(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    return subprocess.run([sys.executable, "-m", "neocloud", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=GUARD, env=env)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts every connection and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


@pytest.fixture
def not_aws_endpoint() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that answers everything with 200 and an HTML page (a web server, not AWS)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"<html><body>It works!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_HEAD = _answer

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_endpoint_that_never_answers_gives_up_at_the_deadline_saying_so(silent_endpoint: str) -> None:
    started = time.monotonic()
    result = _neocloud("backend", "bootstrap", "state-bucket", "--endpoint-url", silent_endpoint, "--region", REGION,
                       "--aws-timeout", "1", "--aws-deadline", "4", "--max-attempts", "10")
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    retries = [ln for ln in lines if "no answer within 1 s (attempt" in ln and "retrying" in ln]
    assert retries, result.stderr  # a message per attempt, not silence
    assert lines[-1].startswith("neocloud: error: gave up")
    assert "4 s deadline (--aws-deadline)" in lines[-1]
    assert elapsed < 40  # about the deadline plus start-up, not attempts x read timeout


def test_without_a_deadline_flag_the_attempts_still_end(silent_endpoint: str) -> None:
    result = _neocloud("backend", "bootstrap", "state-bucket", "--endpoint-url", silent_endpoint, "--region", REGION,
                       "--aws-timeout", "1", "--max-attempts", "2")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("neocloud: error: cannot reach the AWS endpoint")


@pytest.mark.parametrize("args", [
    ["topology", "import", "--cluster", "prod"],
    ["backend", "bootstrap", "state-bucket"],
])
def test_an_endpoint_that_is_not_aws_is_refused_not_read_as_empty(not_aws_endpoint: str, args: list[str]) -> None:
    result = _neocloud(*args, "--endpoint-url", not_aws_endpoint, "--region", REGION)
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"neocloud: error: {not_aws_endpoint} answered ")
    assert "with HTTP 200 but no AWS request id: it is not an AWS API endpoint (check --endpoint-url)" in last
    assert "0 GPU instance" not in result.stderr


@pytest.mark.parametrize("region, said", [
    ("us-eest-2", "'us-eest-2' is not an AWS region; did you mean"),
    ("xx-nowhere-1", "'xx-nowhere-1' is not an AWS region;"),
    ("us east 2", "'us east 2' is not an AWS region;"),
])
@pytest.mark.parametrize("command", [["backend", "bootstrap", "state-bucket"],
                                     ["topology", "import", "--cluster", "c"]])
def test_a_bad_region_is_bad_input_before_any_call(region: str, said: str, command: list[str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--region", region]) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1


@pytest.mark.parametrize("region", ["us-eest-2", "xx-nowhere-1", "us east 2"])
def test_preflight_with_a_bad_region_is_bad_input(region: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["preflight", "dev", "--region", region]) == 2
    err = capsys.readouterr().err
    assert err == f"neocloud: error: --region: stack 'dev' is in us-east-1, not {region}\n"


def test_any_plain_region_name_goes_to_an_s3_compatible_endpoint(moto_endpoint: str) -> None:
    from neocloud.cli._aws import check_region

    check_region("auto", "--region", endpoint_url=moto_endpoint)  # R2-style; no error


@pytest.mark.parametrize("flag, value", [("--aws-timeout", "0"), ("--aws-timeout", "inf"),
                                         ("--aws-deadline", "-1"), ("--aws-deadline", "nan")])
def test_bad_timeouts_are_bad_input(flag: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backend", "bootstrap", "state-bucket", "--region", REGION, flag, value]) == 2
    assert capsys.readouterr().err.startswith(f"neocloud: error: {flag}: got ")


# --- topology import inputs --------------------------------------------------------------------------------

def _entry(instance: str, layers: int) -> dict[str, object]:
    return {"InstanceId": instance, "InstanceType": "p5.48xlarge", "AvailabilityZone": f"{REGION}b",
            "NetworkNodes": [f"nn-{instance}-{i}" for i in range(layers)]}


@pytest.mark.parametrize("content, said", [
    (b"\x00\x01binary", "is binary"),
    (b"[" * 100_000 + b"]" * 100_000, "nested more than 64 levels deep"),
    (b'{"Instances": [', "not valid JSON: line 1 column 16: "),
])
def test_bad_topology_files_are_one_line(tmp_path: Path, content: bytes, said: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "topology.json"
    path.write_bytes(content)
    assert main(["topology", "import", "--cluster", "c", "--from-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neocloud: error: --from-file: ") and said in err and err.count("\n") == 1


def test_a_topology_deeper_than_kueue_allows_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "topology.json"
    path.write_text(json.dumps({"Instances": [_entry("i-0a", 3), _entry("i-0b", 17)]}))
    assert main(["topology", "import", "--cluster", "c", "--from-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == ("neocloud: error: --from-file: instance i-0b has 17 network layers; a Kueue Topology has at most "
                   "16 levels (15 layers and the hostname)\n")


def test_fifteen_layers_fit_a_kueue_topology(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "topology.json"
    path.write_text(json.dumps({"Instances": [_entry("i-0a", 15)]}))
    assert main(["topology", "import", "--cluster", "c", "--from-file", str(path)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["levels"]) == 16


def test_topology_output_to_a_directory_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "topology.json"
    path.write_text(json.dumps({"Instances": [_entry("i-0a", 3)]}))
    assert main(["topology", "import", "--cluster", "c", "--from-file", str(path), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"neocloud: error: --output: {tmp_path} is a directory; give a file name")


@pytest.mark.parametrize("value", ["inf", "nan", "1e400"])
def test_fabric_oversubscription_must_be_finite(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fabric", "--nodes", "64", "--oversubscription", value]) == 2
    err = capsys.readouterr().err
    assert "--oversubscription: must be a finite number >= 1.0" in err and "Traceback" not in err
