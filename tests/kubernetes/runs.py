"""Cached offline runs of every shipped stack and of the serving example, plus small lookup helpers."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from neocloud.offline import ProgramRun, RecordedResource, run_program
from neocloud.offline.engine import load_stack_config
from tests.conftest import KUBERNETES_STACKS, REPO, stack_run

EXAMPLE = REPO / "examples" / "serving-on-existing-cluster"
"""The composition example: its own Pulumi project."""
EXAMPLE_STACK = "dev"

RUNS = [*KUBERNETES_STACKS, "example"]
"""Every program run whose Kubernetes objects must validate: each shipped stack, and the example."""


@functools.cache
def example_run() -> ProgramRun:
    """The example program's registrations for its shipped stack."""
    return run_program(EXAMPLE, EXAMPLE_STACK)


def run_for(name: str) -> ProgramRun:
    """A shipped stack's run, or the example's for ``example``."""
    return example_run() if name == "example" else stack_run(name)


@functools.cache
def stack_config(stack: str) -> dict[str, Any]:
    """A shipped stack's config values (``neocloud:cluster`` parsed)."""
    config, _ = load_stack_config(REPO, stack)
    return config


def cluster_spec(stack: str) -> dict[str, Any]:
    """A deep copy of a shipped stack's ``neocloud:cluster`` object."""
    return json.loads(json.dumps(stack_config(stack)["neocloud:cluster"]))


def kubernetes_version(name: str) -> str:
    """The Kubernetes minor a run's objects are validated for."""
    if name == "example":
        config, _ = load_stack_config(EXAMPLE, EXAMPLE_STACK)
        return str(config.get("serving:kubernetesVersion", "1.33"))
    return str(stack_config(name)["neocloud:cluster"].get("kubernetes", {}).get("version", "1.33"))


def kube_objects(run: ProgramRun) -> list[RecordedResource]:
    """Every captured Kubernetes API object of a run (not Releases or providers)."""
    return [r for r in run.resources if r.type.startswith("kubernetes:") and r.type != "kubernetes:helm.sh/v3:Release"]


def objects_of(run: ProgramRun, kind: str) -> list[dict[str, Any]]:
    """The inputs of every captured object of ``kind`` (e.g. ``ClusterQueue``)."""
    return [dict(r.inputs) for r in kube_objects(run) if r.type.rsplit(":", 1)[-1] == kind]


def named(objects: list[dict[str, Any]], name: str, namespace: str | None = None) -> dict[str, Any]:
    """The one object called ``name`` (in ``namespace``)."""
    found = [o for o in objects if o["metadata"]["name"] == name
             and (namespace is None or o["metadata"].get("namespace") == namespace)]
    assert len(found) == 1, f"{len(found)} objects named {name!r} in {namespace!r}"
    return found[0]


def project_dir(name: str) -> Path:
    """The Pulumi project directory of a run."""
    return EXAMPLE if name == "example" else REPO
