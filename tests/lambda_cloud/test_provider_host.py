"""The instance-group provider through Pulumi's own dynamic-provider host (``python -m pulumi.dynamic``, what the
engine runs as the ``pulumi-python`` resource provider), over its gRPC protocol: the engine's Configure carries the
stack config with the API key as a secret, Create carries the properties with the serialized ``__provider``.

This shows what the unit tests cannot: the provider object serialized in the program process deserializes in
another process, gets the key only there (``configure``), and answers Create/Delete through the real host.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from components.providers.lambda_cloud import resources
from components.providers.lambda_cloud.api import Timeouts
from tests.conftest import REPO
from tests.lambda_cloud.conftest import API_KEY, FAST
from tests.lambda_cloud.fake_lambda import FakeLambda
from tests.lambda_cloud.test_resources import GROUP

URN = "urn:pulumi:lambda::neocloud::pulumi-python:dynamic/lambdacloud:InstanceGroup::lam-gpu"


@pytest.fixture
def host() -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    process = subprocess.Popen([sys.executable, "-m", "pulumi.dynamic"], stdout=subprocess.PIPE, cwd=REPO,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=20)
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.kill()
        process.wait(timeout=10)


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    return asyncio.new_event_loop().run_until_complete(rpc.serialize_properties(values, {}))


def test_create_and_delete_through_the_dynamic_provider_host(host: provider_pb2_grpc.ResourceProviderStub,
                                                             lambda_api: FakeLambda) -> None:
    lambda_api.state.keys["k"] = {"id": "k", "name": "ops", "public_key": "ssh-ed25519 AAAAC3Nza ops@example"}
    secret = {rpc._special_sig_key: rpc._special_secret_sig, "value": API_KEY}
    config = struct_pb2.Struct()
    config.update({resources.API_KEY_CONFIG: secret, resources.BASE_URL_CONFIG: lambda_api.url})
    host.Configure(provider_pb2.ConfigureRequest(args=config), timeout=20)
    provider = resources.InstanceGroupProvider(limits=FAST, timeouts=Timeouts(request_s=1, call_s=10))
    props = {**GROUP, "count": 1, "__provider": serialize_provider(provider)}
    created = host.Create(provider_pb2.CreateRequest(urn=URN, properties=_struct(props)), timeout=60)
    outs = rpc.deserialize_properties(created.properties)
    assert created.id == outs["generation"] and len(outs["instance_ids"]) == 1
    assert API_KEY not in str(outs)
    host.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=created.properties), timeout=60)
    assert all(i["status"] == "terminated" for i in lambda_api.state.instances.values())
