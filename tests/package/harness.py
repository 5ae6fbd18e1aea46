"""The component package's provider process driven as the Pulumi engine drives it, over gRPC.

The engine starts a plugin with its own address as the argument and reads the plugin's gRPC port from the
first line of its stdout (``pulumi.provider.main``; Pulumi docs "Pulumi packages: how packages work"). For
``Construct`` it passes the address of its resource monitor, and the component registers its children there.
Here the engine is a small ``Engine`` servicer (it keeps the plugin's log messages) and the resource monitor
is neocloud's recording monitor (Pulumi's ``MockMonitor`` with the engine's URN and duplicate rules), served on
127.0.0.1, so the resources a construct registers are recorded exactly as ``run_program`` records a program's.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2_grpc, resource_pb2_grpc

from neocloud.offline import ProgramRun
from neocloud.offline.engine import recording_monitor
from tests.conftest import REPO

ENTRY_POINT = REPO / "package" / "__main__.py"
START_SECONDS = 60.0
"""Deadline for the plugin to print its port (it imports pulumi-aws, which is slow on a busy machine)."""
CALL_SECONDS = 120.0
"""Deadline for one gRPC call to the plugin."""


@dataclass
class EngineLog(engine_pb2_grpc.EngineServicer):
    """The engine's ``Log`` endpoint: what the plugin reported."""

    messages: list[tuple[int, str]] = field(default_factory=list)

    def Log(self, request: Any, context: Any) -> Any:
        self.messages.append((request.severity, request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: Any) -> Any:
        return engine_pb2.SetRootResourceResponse()


def _monitor_servicer(monitor: Any) -> Any:
    """A ``ResourceMonitor`` servicer whose every method is the recording monitor's (which takes no context)."""
    methods = {
        name: (lambda self, request, context, _name=name: getattr(monitor, _name)(request))
        for name in dir(resource_pb2_grpc.ResourceMonitorServicer)
        if name[0].isupper() and hasattr(monitor, name)
    }
    return type("RecordingMonitorServicer", (resource_pb2_grpc.ResourceMonitorServicer,), methods)()


@dataclass
class Plugin:
    """A running plugin process and the servers it talks to."""

    provider: Any
    """``ResourceProviderStub`` connected to the plugin."""
    monitor_address: str
    run: ProgramRun
    log: EngineLog


@contextmanager
def started_plugin(*, project: str = "neocloud", stack: str = "dev") -> Iterator[Plugin]:
    """Start the engine and monitor servers and the plugin as the engine starts it; stop all on exit."""
    log = EngineLog()
    run = ProgramRun(project=project, stack=stack)
    servers = []
    try:
        engine = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        engine_pb2_grpc.add_EngineServicer_to_server(log, engine)
        engine_port = engine.add_insecure_port("127.0.0.1:0")
        engine.start()
        servers.append(engine)
        monitor = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_monitor_servicer(recording_monitor(run)), monitor)
        monitor_port = monitor.add_insecure_port("127.0.0.1:0")
        monitor.start()
        servers.append(monitor)
        with _plugin_process(f"127.0.0.1:{engine_port}") as port, \
                grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Plugin(provider_pb2_grpc.ResourceProviderStub(channel), f"127.0.0.1:{monitor_port}", run, log)
    finally:
        for server in servers:
            server.stop(grace=None)


@contextmanager
def _plugin_process(engine_address: str) -> Iterator[int]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, str(ENTRY_POINT), engine_address], cwd=ENTRY_POINT.parent,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        yield _first_line_port(process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _first_line_port(process: subprocess.Popen[bytes]) -> int:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    if not selector.select(timeout=START_SECONDS):
        raise AssertionError(f"the plugin printed no port within {START_SECONDS:.0f} s")
    line = process.stdout.readline().decode().strip()
    if not line.isdigit():
        stderr = process.stderr.read().decode() if process.stderr and process.poll() is not None else ""
        raise AssertionError(f"the plugin's first line is not a port: {line!r} {stderr[-2000:]}")
    return int(line)


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    json_format.ParseDict(value, message)
    return message
