"""The pack's runtime (policies/_runtime.py): sharing one deserialization per request across policies gives the
same results as the SDK's own servicer, and its Struct conversion is ``json_format.MessageToDict``'s."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2

from neocloud.offline.analyzer import AnalysisResult, PolicyPackProcess, analyze_run, load_policy_config
from policies._runtime import _struct
from tests.conftest import STACKS, stack_run
from tests.policies.support import PACK


@pytest.mark.parametrize("stack", STACKS)
def test_struct_conversion_is_message_to_dict(stack: str) -> None:
    for resource in stack_run(stack).resources:
        message = struct_pb2.Struct()
        message.ParseFromString(resource.raw_inputs)
        expected = json_format.MessageToDict(message)
        got = _struct(message)
        assert got == expected and repr(got) == repr(expected), resource.urn


def test_struct_conversion_refuses_infinity_like_message_to_dict() -> None:
    message = struct_pb2.Struct()
    message.update({"x": float("inf")})
    with pytest.raises(ValueError):
        json_format.MessageToDict(message)
    with pytest.raises(ValueError, match=r"Value\.number_value"):
        _struct(message)


class _Stub:
    """Calls an in-process SDK servicer the way the gRPC stub calls the pack."""

    def __init__(self, servicer: Any) -> None:
        self._servicer = servicer

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._servicer, name)
        return lambda request, timeout=None: method(request, None)


class _InProcessPack(PolicyPackProcess):
    """The SDK's own servicer with the pack's policies and secret marking, as policies/__main__.py serves them, but
    without ``_runtime.install`` (which never runs in the test process)."""

    def __init__(self) -> None:  # no subprocess
        from pulumi_policy.policy import EnforcementLevel, _PolicyAnalyzerServicer

        import policies
        from policies import _secrets

        _secrets.install()
        self.pack_dir = PACK
        self.project, self.stack = "policytest", "test"
        self.call_timeout = 60.0
        self.failed = False
        servicer = _PolicyAnalyzerServicer("neocloud", "0.0.1", policies.all_policies(), EnforcementLevel.ADVISORY,
                                           None, None, None, None, None, None, None)
        self.stub = _Stub(servicer)

    def close(self) -> None:
        pass


def _findings(result: AnalysisResult) -> list[tuple[str, str, str, str]]:
    found = [(d.policy, d.enforcement_level, d.urn, d.message) for d in result.diagnostics]
    found += [(n.policy, "not-applicable", n.urn, n.reason) for n in result.not_applicable]
    return sorted(found)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_shared_deserialization_gives_the_sdks_results(pack: PolicyPackProcess, stack: str) -> None:
    from pulumi_policy import policy as sdk

    import policies._runtime as runtime

    assert not getattr(sdk, "_neocloud_shared", False), "the runtime must not be installed in the test process"
    run = stack_run(stack)
    config = load_policy_config(PACK / "config" / f"{stack}.json")
    shared = analyze_run(run, pack_dir=PACK, policy_config=config, pack=pack)  # the real pack, runtime installed
    plain = analyze_run(run, pack_dir=PACK, policy_config=config, pack=_InProcessPack())
    assert _findings(shared) == _findings(plain)
    assert _findings(shared)  # the comparison is about something
    assert runtime.IN_FLIGHT.startswith("neocloud-pack:")
