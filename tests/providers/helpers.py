"""Helpers for the provider tests: stack configs to modify, and lookups in a recorded program run."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from neocloud.offline import ProgramRun, RecordedResource, run_program
from tests.conftest import REPO

SCHEMAS = Path(__file__).resolve().parent / "schemas"
"""JSON Schemas these tests derive from provider documentation."""


def stack_config(stack: str) -> dict[str, Any]:
    """A deep copy of ``stacks/Pulumi.<stack>.yaml``'s config, with ``neocloud:cluster`` as a dict to edit."""
    document = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return copy.deepcopy(document["config"])


def run_with(stack: str, cluster: dict[str, Any], extra: dict[str, Any] | None = None) -> ProgramRun:
    """Run the real program with a modified ``neocloud:cluster`` (and other config keys)."""
    config = stack_config(stack)
    config["neocloud:cluster"] = cluster
    config.update(extra or {})
    return run_program(REPO, stack, config=config)


def one(run: ProgramRun, type_: str) -> RecordedResource:
    """The only resource of ``type_``."""
    found = run.of_type(type_)
    assert len(found) == 1, f"{len(found)} resources of {type_}"
    return found[0]


def schema(name: str) -> dict[str, Any]:
    """A committed JSON Schema by file name."""
    loaded: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return loaded


def applied_object(resource: RecordedResource) -> dict[str, Any]:
    """The Kubernetes object a ``CustomResource`` registration applies (its inputs, as pulumi-kubernetes sends
    them)."""
    return {key: resource.inputs[key] for key in ("apiVersion", "kind", "metadata", "spec") if key in resource.inputs}
