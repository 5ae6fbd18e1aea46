"""Test support for the policy pack: programs built from real SDK resource classes, run under the mock engine,
then analyzed by the real pack over gRPC.

``record(build)`` writes a one-line Pulumi program that calls ``build()``, runs it with ``run_program`` (so inputs,
secrets, parents and property dependencies are serialized by the real Pulumi SDK) and returns the ``ProgramRun``.
``mutate`` rewrites a recorded resource's wire-format inputs (secrets kept) for shapes the spec itself rejects.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi

from components import GpuPool, cluster_facts
from neocloud import build_plan, load_cluster_spec
from neocloud.offline import ProgramRun, RecordedResource, run_program
from neocloud.offline.analyzer import AnalysisResult, PolicyPackProcess, analyze_run
from neocloud.offline.engine import _plain
from tests.conftest import REPO

PACK = REPO / "policies"

_CURRENT: list[Callable[[], None]] = []

_MAIN = "from tests.policies.support import _run_current\n_run_current()\n"


def _run_current() -> None:
    _CURRENT[-1]()


def record(build: Callable[[], None], stack: str = "test", config: Mapping[str, Any] | None = None) -> ProgramRun:
    """Run ``build`` as a Pulumi program under the mock engine and return what it registered."""
    with tempfile.TemporaryDirectory(prefix="neocloud-policy-test-") as tmp:
        root = Path(tmp)
        (root / "Pulumi.yaml").write_text("name: policytest\nruntime: python\n")
        (root / "__main__.py").write_text(_MAIN)
        _CURRENT.append(build)
        try:
            return run_program(root, stack, config=dict(config or {}))
        finally:
            _CURRENT.pop()


def analyze(pack: PolicyPackProcess, run: ProgramRun, config: Mapping[str, Any] | None = None,
            resources: list[RecordedResource] | None = None) -> AnalysisResult:
    return analyze_run(run, pack_dir=PACK, policy_config=config or {}, pack=pack, resources=resources)


def violations(result: AnalysisResult, policy: str) -> list[str]:
    """Messages of ``policy``'s violations."""
    return [d.message for d in result.diagnostics if d.policy == policy]


def not_applicable(result: AnalysisResult, policy: str) -> list[str]:
    return [n.reason for n in result.not_applicable if n.policy == policy]


# --- plan facts from a real spec ---------------------------------------------------------------------------

BASE_AWS: dict[str, Any] = {
    "name": "t", "provider": "aws", "environment": "prod", "region": "us-east-1", "zone": "us-east-1a",
    "pools": [{"name": "train", "system": "p5.48xlarge", "nodes": 62, "spares": 2}],
    "fabric": {"kind": "efa"},
}
BASE_BAREMETAL: dict[str, Any] = {
    "name": "t", "provider": "baremetal", "environment": "staging",
    "pools": [{"name": "h100", "system": "dgx-h100", "nodes": 29, "spares": 2}],
    "racks": {"power_budget_kw": 41, "max_nodes_per_rack": 4},
    "fabric": {"kind": "infiniband", "switch": "QM9700", "nodes_per_su": 32, "management_ports": 4},
}
BASE_GB200: dict[str, Any] = {
    "name": "t", "provider": "baremetal", "environment": "staging",
    "pools": [{"name": "nvl72", "system": "gb200-nvl72", "nodes": 128, "spares": 16}],
    "racks": {"power_budget_kw": 132},
    "fabric": {"kind": "infiniband", "switch": "Q3400"},
    "catalog": {"systems": {"gb200-nvl72": {"rack_power_kw": 120}}},
    # multi-node NVLink needs Kubernetes DRA for ComputeDomains: on by default from 1.34 (neocloud.profiles)
    "kubernetes": {"version": "1.34"},
}


def spec_with(base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(dict(base))
    spec.update(changes)
    return spec


def facts_components(spec_dict: Mapping[str, Any]) -> dict[str, pulumi.Resource]:
    """Inside a program: a GpuCluster-typed component with the real cluster facts and one real ``GpuPool`` per
    pool (the components the program attaches plan facts to). Returns {"cluster": ..., pool name: GpuPool}."""
    spec = load_cluster_spec(dict(spec_dict))
    plan = build_plan(spec)
    cluster = pulumi.ComponentResource("neocloud:index:GpuCluster", spec.name, {"neocloud": cluster_facts(spec, plan)})
    out: dict[str, pulumi.Resource] = {"cluster": cluster}
    for p in plan.pools:
        out[p.name] = GpuPool(f"{spec.name}-{p.name}", plan=plan, pool=p,
                              opts=pulumi.ResourceOptions(parent=cluster))
    return out


# --- rewriting recorded resources --------------------------------------------------------------------------


def wire_inputs(resource: RecordedResource) -> dict[str, Any]:
    """The resource's inputs as sent on the wire (secrets still marked), as a JSON-like dict."""
    from google.protobuf import json_format, struct_pb2

    raw = struct_pb2.Struct()
    raw.ParseFromString(resource.raw_inputs)
    return json_format.MessageToDict(raw)


def mutate(resource: RecordedResource, change: Callable[[dict[str, Any]], None],
           property_dependencies: Mapping[str, tuple[str, ...]] | None = None) -> RecordedResource:
    """A copy of ``resource`` whose wire inputs ``change`` edited in place (and optionally new property deps)."""
    from google.protobuf import struct_pb2

    inputs = wire_inputs(resource)
    change(inputs)
    struct = struct_pb2.Struct()
    struct.update(inputs)
    return dataclasses.replace(
        resource, inputs=_plain(json.loads(json.dumps(inputs))), raw_inputs=struct.SerializeToString(),
        property_dependencies=dict(property_dependencies if property_dependencies is not None
                                   else resource.property_dependencies),
    )


def replace_resource(run: ProgramRun, name: str, new: RecordedResource) -> list[RecordedResource]:
    return [new if r.name == name else r for r in run.resources]
