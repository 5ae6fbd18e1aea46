"""The policy pack, started once per test session exactly as `neocloud check` and the Pulumi CLI start it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from neocloud.offline.analyzer import PolicyPackProcess
from tests.policies.support import PACK


@pytest.fixture(scope="session")
def pack() -> Iterator[PolicyPackProcess]:
    with PolicyPackProcess(PACK, project="policytest", stack="test") as process:
        yield process
