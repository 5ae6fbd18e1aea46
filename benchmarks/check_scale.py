"""`neocloud check` scale: policy-check time against the number of resources the program registers.

Run: python benchmarks/check_scale.py. Prints a table; nothing here is asserted (timings vary by machine).
Each row is the prod stack's shape (p5.48xlarge on EFA, FSx, S3, EKS, the Kubernetes layer) with more GPU
pools, so the program registers more resources (resources grow with pools and placement blocks, not nodes).
The policy pack is started once, as `neocloud check` does per run; its start-up time is shown separately.
Columns: program = run under the mock engine; analyze = GetAnalyzerInfo + Configure + Analyze per resource +
AnalyzeStack over gRPC; per resource = analyze / resources.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from neocloud.offline import load_stack_config, run_program  # noqa: E402
from neocloud.offline.analyzer import PolicyPackProcess, analyze_run, load_policy_config  # noqa: E402

POOLS = (1, 2, 4, 8, 16, 32)
NODES_PER_POOL = 64


def prod_with_pools(pools: int) -> tuple[dict[str, Any], list[str]]:
    config, secret_keys = load_stack_config(REPO, "prod")
    config = copy.deepcopy(config)
    cluster = config["neocloud:cluster"]
    cluster["pools"] = [
        {"name": f"train{i}", "system": "p5.48xlarge", "nodes": NODES_PER_POOL - 2, "spares": 2,
         "capacity": {"source": "on-demand"}}
        for i in range(pools)
    ]
    gpus = (NODES_PER_POOL - 2) * 8
    cluster["kubernetes"]["queues"] = [
        {"team": f"team{i}", "pool": f"train{i}", "gpu_quota": gpus} for i in range(pools)
    ]
    return config, secret_keys


def main() -> None:
    policy_config = load_policy_config(REPO / "policies" / "config" / "prod.json")
    started = time.perf_counter()
    with PolicyPackProcess(REPO / "policies", project="neocloud", stack="prod") as pack:
        startup = time.perf_counter() - started
        print(f"policy pack start-up (subprocess + first stdout line + channel ready): {startup:.2f}s")
        run_program(REPO, "prod", config=prod_with_pools(1)[0])  # warm imports
        header = (f"{'pools':>6}{'GPUs':>8}{'resources':>11}{'program s':>11}{'analyze s':>11}"
                  f"{'ms/resource':>13}{'total s':>9}{'mandatory':>11}")
        print(header)
        print("-" * len(header))
        for pools in POOLS:
            config, secret_keys = prod_with_pools(pools)
            t0 = time.perf_counter()
            run = run_program(REPO, "prod", config=config, secret_keys=secret_keys)
            t1 = time.perf_counter()
            result = analyze_run(run, pack_dir=REPO / "policies", policy_config=policy_config, pack=pack)
            t2 = time.perf_counter()
            gpus = pools * NODES_PER_POOL * 8
            print(f"{pools:>6}{gpus:>8,}{result.resources:>11}{t1 - t0:>11.2f}{t2 - t1:>11.2f}"
                  f"{(t2 - t1) / result.resources * 1000:>13.2f}{t2 - t0 + startup:>9.2f}{len(result.mandatory):>11}")


if __name__ == "__main__":
    main()
