"""AWS stacks at 1k, 10k and 100k GPUs: resources registered, `neocloud plan` time and peak memory.

Run: python benchmarks/aws_scale.py. Prints a table; nothing is asserted (timings vary by machine; the resource
budget is asserted in tests/aws). Each row runs in a fresh Python process, so its peak RSS is that size's alone.

What a row runs is what `neocloud plan` runs: the real program under Pulumi's mock engine
(``neocloud.offline.run_program``), with the stack config built in memory. Shapes:

- ``p5 on-demand``: one p5.48xlarge pool, cluster placement groups per placement block (448 nodes by default);
- ``p5 capacity-block``: the same pool on Capacity Blocks of 64 instances, one node group per block: resources
  grow with reservations, which is the price of targeting each one explicitly;
- ``p5 cb x7``: the same Capacity Blocks, 7 per node group through Capacity Reservation resource groups
  (``aws.reservations_per_node_group: 7``): one group membership per block, but node groups, launch templates
  and acceptance Jobs per 448 nodes.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GPU_COUNTS = (1_000, 10_000, 100_000)
SHAPES = ("p5 on-demand", "p5 capacity-block", "p5 cb x7")
GPUS_PER_NODE = 8  # p5.48xlarge: 8 H100 (hardware.md AWS [P])


def cluster(shape: str, gpus: int) -> dict[str, Any]:
    """An AWS cluster spec for ``gpus`` GPUs of p5.48xlarge in one pool."""
    nodes = -(-gpus // GPUS_PER_NODE)
    pool: dict[str, Any] = {"name": "train", "system": "p5.48xlarge", "nodes": nodes}
    settings: dict[str, Any] = {}
    if shape in ("p5 capacity-block", "p5 cb x7"):
        blocks = -(-nodes // 64)
        ids = [f"cr-{i:017x}" for i in range(1, blocks + 1)]
        pool["capacity"] = {"source": "capacity-block", "reservation_ids": ids}
        # every Capacity Block's end (blocks end at 11:30 UTC); its node group scales to zero before it
        settings["capacity_block_end_times"] = dict.fromkeys(ids, "2027-01-08T11:30:00Z")
    if shape == "p5 cb x7":
        settings["reservations_per_node_group"] = 7
    return {
        "name": "scale", "provider": "aws", "environment": "prod", "region": "us-east-1", "zone": "us-east-1a",
        "pools": [pool],
        "fabric": {"kind": "efa"},
        "storage": {"filesystem": {"kind": "fsx-lustre", "tier": "better"},
                    "buckets": [{"purpose": "datasets"}, {"purpose": "checkpoints"}]},
        "kubernetes": {"queues": [{"team": "research", "gpu_quota": nodes * GPUS_PER_NODE // 2}]},
        "aws": settings,
    }


def one(shape: str, gpus: int) -> dict[str, Any]:
    """Run the program once for (shape, gpus) in this process and measure it."""
    from neocloud.cli.plan import plan_document
    from neocloud.offline import run_program

    config = {"aws:region": "us-east-1", "neocloud:cluster": cluster(shape, gpus)}
    started = time.perf_counter()
    run = run_program(REPO, "scale", config=config)
    plan_document(run)  # what `neocloud plan --json` renders from the run
    seconds = time.perf_counter() - started
    # A second run under tracemalloc: Python heap peak of one plan (tracing slows it, so it is not timed).
    tracemalloc.start()
    run_program(REPO, "scale", config=config)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "resources": len(run.resources),
        "aws_resources": sum(1 for r in run.resources if r.type.startswith("aws:")),
        "node_groups": sum(1 for r in run.resources if r.type == "aws:eks/nodeGroup:NodeGroup"),
        "seconds": seconds,
        "peak_rss_mib": rss_kib / 1024,
        "traced_peak_mib": traced / 2**20,
    }


def main() -> None:
    """Print the table (one child process per row), or with ``--one SHAPE GPUS`` measure one row as JSON."""
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]))))
        return
    header = (f"{'shape':<19}{'GPUs':>9}{'nodes':>8}{'node groups':>13}{'AWS res.':>10}{'all res.':>10}"
              f"{'plan s':>9}{'peak RSS MiB':>14}{'heap MiB':>10}")
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        for gpus in GPU_COUNTS:
            child = subprocess.run([sys.executable, __file__, "--one", shape, str(gpus)], capture_output=True,
                                   text=True, cwd=REPO, check=False)
            lines = [ln for ln in child.stdout.splitlines() if ln.startswith("{")]
            if child.returncode != 0 or not lines:
                reason = (child.stderr.strip().splitlines() or ["no output"])[-1]
                print(f"{shape:<19}{gpus:>9,}  failed: {reason}")
                continue
            row = json.loads(lines[-1])
            print(f"{shape:<19}{gpus:>9,}{-(-gpus // GPUS_PER_NODE):>8,}{row['node_groups']:>13}"
                  f"{row['aws_resources']:>10}{row['resources']:>10}{row['seconds']:>9.2f}"
                  f"{row['peak_rss_mib']:>14.1f}{row['traced_peak_mib']:>10.1f}")


if __name__ == "__main__":
    main()
