"""Planner and `neocloud plan` scale: time and peak memory from 1k to 100k GPUs.

Run: python benchmarks/plan_scale.py. Prints a table; nothing here is asserted (timings vary by machine).
The planner works in SUs and rack groups, so its cost grows with SUs, not with GPUs or nodes.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from neocloud import SpecError, build_plan, load_cluster_spec  # noqa: E402
from neocloud.offline import run_program  # noqa: E402

GPU_COUNTS = (1_024, 4_096, 16_384, 32_768, 65_536, 100_000)


def dgx_h100(gpus: int, switch: str = "QM9700") -> dict[str, Any]:
    return {
        "name": "scale", "provider": "baremetal", "environment": "staging",
        "pools": [{"name": "h100", "system": "dgx-h100", "nodes": gpus // 8}],
        "racks": {"power_budget_kw": 41},
        "fabric": {"kind": "infiniband", "switch": switch, "nodes_per_su": 32},
        "kubernetes": {"queues": [{"team": "research", "gpu_quota": gpus // 2}]},
    }


def dgx_h100_q3400(gpus: int) -> dict[str, Any]:
    return dgx_h100(gpus, switch="Q3400")


def gb200(gpus: int) -> dict[str, Any]:
    racks = max(1, gpus // 72)
    return {
        "name": "scale", "provider": "baremetal", "environment": "staging",
        "pools": [{"name": "nvl72", "system": "gb200-nvl72", "nodes": racks * 18}],
        "racks": {"power_budget_kw": 132},
        "fabric": {"kind": "infiniband", "switch": "Q3400"},
        "catalog": {"systems": {"gb200-nvl72": {"rack_power_kw": 120}}},
        # NVL72 racks need IMEX through ComputeDomains, so Kubernetes with DRA on by default (spec: dra_problem).
        "kubernetes": {"version": "1.34"},
    }


def measure(fn: Any) -> tuple[Any, float, float]:
    """(result, wall ms, peak traced MiB). Timed without tracemalloc, which slows Python several-fold."""
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, elapsed * 1000, peak / 2**20


def main() -> None:
    # Warm imports so the first row does not pay for them.
    run_program(REPO, "scale", config={"neocloud:cluster": dgx_h100(1024)})
    header = f"{'shape':<12}{'GPUs':>9}{'nodes':>8}{'racks':>7}{'SUs':>6}{'switches':>10}" \
             f"{'plan ms':>10}{'plan MiB':>10}{'program ms':>12}{'program MiB':>13}{'resources':>11}"
    print(header)
    print("-" * len(header))
    shapes = (("h100/QM9700", dgx_h100), ("h100/Q3400", dgx_h100_q3400), ("gb200/Q3400", gb200))
    for shape, make in shapes:
        for gpus in GPU_COUNTS:
            config = make(gpus)
            try:
                plan, plan_ms, plan_mib = measure(lambda config=config: build_plan(load_cluster_spec(config)))
            except SpecError as error:
                print(f"{shape:<12}{gpus:>9,}  refused: {error.message.split('. ')[0]}")
                continue
            run, prog_ms, prog_mib = measure(
                lambda config=config: run_program(REPO, "scale", config={"neocloud:cluster": config}))
            pool = plan.pools[0]
            switches = pool.fabric.switches if pool.fabric else 0
            print(f"{shape:<12}{plan.total_gpus:>9,}{plan.nodes:>8,}{plan.racks:>7,}{len(pool.scalable_units):>6}"
                  f"{switches:>10,}{plan_ms:>10.1f}{plan_mib:>10.2f}{prog_ms:>12.1f}{prog_mib:>13.2f}"
                  f"{len(run.resources):>11}")


if __name__ == "__main__":
    main()
