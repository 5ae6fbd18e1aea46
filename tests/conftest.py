"""Shared test fixtures: paths to the repo and to the vendored upstream files, and cached stack runs."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from neocloud.offline import ProgramRun, run_program
from neocloud.vendor import DEFAULT_DIR, ENV_DIR, FETCH_COMMAND, find_vendor_dir

REPO = Path(__file__).resolve().parents[1]
"""The project checkout (where Pulumi.yaml is)."""
SHARED = REPO.parent / "shared"
"""The steering repo's shared/ folder, beside the checkout (locally and in CI)."""
_FOUND_VENDOR = find_vendor_dir(REPO)
VENDOR = _FOUND_VENDOR or REPO / DEFAULT_DIR
"""Unmodified upstream CRDs, chart values and schemas (neocloud/vendor/manifest.json): $NEOCLOUD_VENDOR_DIR, else
.vendor/ (filled by `neocloud vendor fetch`), else ../shared/vendor."""
MISSING_VENDOR = (f"the pinned upstream schemas and chart values are not here (${ENV_DIR}, {DEFAULT_DIR}/ or "
                  f"../shared/vendor): run `{FETCH_COMMAND}` once (it fills {DEFAULT_DIR}/)")
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (REPO / "stacks").glob("Pulumi.*.yaml"))
"""Every shipped stack."""

NO_KUBERNETES_STACKS = frozenset({"lambda"})
"""Shipped stacks with no Kubernetes API (Lambda on-demand instances come without Kubernetes; docs/neoclouds.md).
tests/lambda_cloud/test_stack.py asserts that this stays true."""
KUBERNETES_STACKS = [s for s in STACKS if s not in NO_KUBERNETES_STACKS]
"""Shipped stacks whose provider gives the Kubernetes layer a cluster."""


@functools.cache
def stack_run(stack: str) -> ProgramRun:
    """The program's registrations for a shipped stack (run once per test session)."""
    return run_program(REPO, stack)


def pytest_configure(config: pytest.Config) -> None:
    # One clear line instead of dozens of missing-file errors in a clone without shared/ beside it.
    if _FOUND_VENDOR is None:
        raise pytest.UsageError(MISSING_VENDOR)


@pytest.fixture(scope="session")
def vendor() -> Path:
    if not VENDOR.is_dir():
        pytest.fail(MISSING_VENDOR)
    return VENDOR
