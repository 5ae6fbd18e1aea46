"""Shared test fixtures: paths to the repo and to the vendored upstream files, and cached stack runs."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from neocloud.offline import ProgramRun, run_program

REPO = Path(__file__).resolve().parents[1]
"""The project checkout (where Pulumi.yaml is)."""
SHARED = REPO.parent / "shared"
"""The steering repo's shared/ folder, beside the checkout (locally and in CI)."""
VENDOR = SHARED / "vendor"
"""Unmodified upstream CRDs, chart values and schemas (see shared/vendor/SOURCES.md)."""
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (REPO / "stacks").glob("Pulumi.*.yaml"))
"""Every shipped stack."""


@functools.cache
def stack_run(stack: str) -> ProgramRun:
    """The program's registrations for a shipped stack (run once per test session)."""
    return run_program(REPO, stack)


@pytest.fixture(scope="session")
def vendor() -> Path:
    if not VENDOR.is_dir():
        pytest.fail(f"vendored upstream files not found at {VENDOR}: shared/ must sit beside the checkout")
    return VENDOR
