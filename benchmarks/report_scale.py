"""`neocloud report` scale: page size and render time from 1k to 100k GPUs (the plan's pictures, no policy run).

Run: python benchmarks/report_scale.py. Prints a table; nothing here is asserted (timings vary by machine).
The page draws at most a bounded number of racks, switches, SUs and domains per pool and summarizes the rest, so
its size grows with rack groups and SUs (the table rows), not with nodes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from plan_scale import GPU_COUNTS, dgx_h100, gb200  # noqa: E402

from neocloud.cli.report import report_document  # noqa: E402
from neocloud.offline import run_program  # noqa: E402
from neocloud.report import render_report  # noqa: E402


def main() -> None:
    run_program(REPO, "scale", config={"neocloud:cluster": dgx_h100(1024)})  # warm imports
    header = f"{'shape':<12}{'GPUs':>9}{'racks':>7}{'SUs':>6}{'program ms':>12}{'render ms':>11}{'page KiB':>10}" \
             f"{'pictures':>10}"
    print(header)
    print("-" * len(header))
    for shape, make in (("h100/QM9700", dgx_h100), ("gb200/Q3400", gb200)):
        for gpus in GPU_COUNTS:
            config: dict[str, Any] = make(gpus)
            if shape == "h100/QM9700" and gpus > 65_536:
                config["fabric"]["switch"] = "Q3400"  # QM9700 tops out at 65,536 endpoints (see plan_scale.py)
            started = time.perf_counter()
            run = run_program(REPO, "scale", config={"neocloud:cluster": config})
            program_ms = (time.perf_counter() - started) * 1000
            document = report_document(run, None)
            started = time.perf_counter()
            html = render_report(document)
            render_ms = (time.perf_counter() - started) * 1000
            plan = document["plan"]
            units = sum(len(p["scalable_units"]) for p in plan["pools"])
            print(f"{shape:<12}{plan['total_gpus']:>9,}{plan['racks']:>7,}{units:>6}{program_ms:>12.0f}"
                  f"{render_ms:>11.1f}{len(html.encode()) / 1024:>10.0f}{html.count('<svg '):>10}")


if __name__ == "__main__":
    main()
