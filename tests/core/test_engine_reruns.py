"""Several programs run in one process (benchmarks, tools that check many stacks): every run sees the same
provider-profile classes the spec was assembled from, however the runs are ordered."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

SCRIPT = """
from pathlib import Path
from neocloud.offline import run_program
for stack in ("dev", "prod", "staging", "dev"):
    print(stack, len(run_program(Path({repo!r}), stack).resources))
"""


def test_runs_in_a_fresh_process_one_after_another() -> None:
    # A fresh interpreter: nothing of components/ imported before the first run (the test process has it).
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(repo=str(REPO))], capture_output=True, text=True,
                          cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    counts = dict(line.split() for line in done.stdout.splitlines())
    assert set(counts) == {"dev", "prod", "staging"} and all(int(n) > 0 for n in counts.values())
