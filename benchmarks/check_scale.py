"""`neocloud check` scale: policy analysis time against the number of resources the program registers.

Run: python benchmarks/check_scale.py [--quick]. Prints tables; nothing here is asserted (timings vary by machine).

Table 1 grows the prod stack (p5.48xlarge on EFA, FSx, S3, EKS, the Kubernetes layer) by tenant teams: each team
adds a namespace, quota, limit range, network policies, RBAC and Kueue queues (about 11 resources), so the rows
reach past 10,000 resources (each team's 1-GPU quota cannot admit a whole-node job, so the rows carry violations:
the table counts them, and they cost the pack the same as passes). The policy pack is started once, as `neocloud
check` does per run (its start-up is shown separately). Columns: program = the run under the mock engine; analyze =
GetAnalyzerInfo + Configure + Analyze per resource + AnalyzeStack over gRPC; ms/resource = analyze / resources (flat
when analysis is linear); x first = this row's ms/resource over the first row's.

Table 2 is `neocloud check` end to end (a subprocess, wall clock) for a 100,000-GPU DGX H100 bare-metal stack.

Why analysis was superlinear-looking and slow before: the Python policy SDK deserializes every resource's inputs
once per policy (pulumi_policy/policy.py ``Analyze``/``AnalyzeStack``), so each resource was copied ~20 times per
call; policies/_runtime.py shares one deserialization per request and pauses the cyclic garbage collector while a
request runs (its full passes over every live object dominated large requests), and ``StackIndex.of_type`` is an
index lookup (a rule called it once per team, which made analysis quadratic in the teams).
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from neocloud.offline import load_stack_config, run_program  # noqa: E402
from neocloud.offline.analyzer import PolicyPackProcess, analyze_run, load_policy_config  # noqa: E402

TEAMS = (10, 100, 250, 500, 900)
QUICK_TEAMS = (10, 50, 100)


def prod_with_teams(teams: int) -> tuple[dict[str, Any], list[str]]:
    """The prod stack with ``teams`` tenant teams sharing its GPU pool (1 GPU of guaranteed quota each)."""
    config, secret_keys = load_stack_config(REPO, "prod")
    config = copy.deepcopy(config)
    cluster = config["neocloud:cluster"]
    pool = cluster["pools"][0]["name"]
    cluster["kubernetes"]["queues"] = [{"team": f"team{i}", "pool": pool, "gpu_quota": 1} for i in range(teams)]
    return config, secret_keys


def dgx_h100_100k() -> dict[str, Any]:
    """100,000 GPUs: 12,500 DGX H100 on a Quantum-X800 (radix 144) fabric, 32-node SUs."""
    return {
        "name": "scale", "provider": "baremetal", "environment": "staging",
        "pools": [{"name": "h100", "system": "dgx-h100", "nodes": 12_500}],
        "racks": {"power_budget_kw": 41},
        "fabric": {"kind": "infiniband", "switch": "Q3400", "nodes_per_su": 32},
        # InfiniBand training pins memory (IPC_LOCK): only a privileged namespace admits it (workloads-admissible).
        "kubernetes": {"queues": [{"team": "research", "gpu_quota": 50_000, "pod_security": "privileged"}]},
    }


def analysis_table(teams: tuple[int, ...]) -> None:
    policy_config = load_policy_config(REPO / "policies" / "config" / "prod.json")
    started = time.perf_counter()
    with PolicyPackProcess(REPO / "policies", project="neocloud", stack="prod") as pack:
        startup = time.perf_counter() - started
        print(f"policy pack start-up (subprocess + first stdout line + channel ready): {startup:.2f}s")
        run_program(REPO, "prod", config=prod_with_teams(1)[0])  # warm imports
        header = (f"{'teams':>6}{'resources':>11}{'program s':>11}{'analyze s':>11}{'ms/resource':>13}"
                  f"{'x first':>9}{'mandatory':>11}")
        print(header)
        print("-" * len(header))
        first: float | None = None
        for count in teams:
            config, secret_keys = prod_with_teams(count)
            t0 = time.perf_counter()
            run = run_program(REPO, "prod", config=config, secret_keys=secret_keys)
            t1 = time.perf_counter()
            result = analyze_run(run, pack_dir=REPO / "policies", policy_config=policy_config, pack=pack)
            t2 = time.perf_counter()
            per = (t2 - t1) / result.resources * 1000
            first = first or per
            print(f"{count:>6}{result.resources:>11,}{t1 - t0:>11.2f}{t2 - t1:>11.2f}{per:>13.2f}"
                  f"{per / first:>9.2f}{len(result.mandatory):>11}", flush=True)


def end_to_end_100k() -> None:
    with tempfile.TemporaryDirectory(prefix="neocloud-check-scale-") as tmp:
        root = Path(tmp)
        for name in ("Pulumi.yaml", "__main__.py", "components", "policies"):
            (root / name).symlink_to(REPO / name)
        (root / "stacks").mkdir()
        (root / "stacks" / "Pulumi.h100k.yaml").write_text(
            yaml.safe_dump({"config": {"neocloud:cluster": dgx_h100_100k()}}))
        started = time.perf_counter()
        # The staging stack's policy config: also a bare-metal staging cluster, whose CNI the operator names.
        done = subprocess.run([sys.executable, "-m", "neocloud", "check", "h100k", "--project-dir", str(root),
                               "--policy-config", str(REPO / "policies" / "config" / "staging.json")],
                              capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - started
    registered = next((ln for ln in done.stderr.splitlines() if ln.startswith("registered")), "?")
    verdict = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-200:]
    print(f"neocloud check, 100,000 GPUs (12,500 DGX H100, bare metal): exit {done.returncode}, {wall:.2f}s wall")
    print(f"  {registered}; {verdict}")


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    # Timings on a shared machine mean little without its load: print it before and after.
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (1 min) at the start")
    analysis_table(QUICK_TEAMS if quick else TEAMS)
    print()
    end_to_end_100k()
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at the end")


if __name__ == "__main__":
    main()
