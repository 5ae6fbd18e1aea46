"""Read ``dcgmi diag --run LEVEL --json`` output: did every diagnostic test pass?

DCGM documents its levels (dcgmi diag reference, docs.nvidia.com/datacenter/dcgm/latest/reference/
command-line-reference/dcgmi/dcgmi-diag.html): 1 quick deployment checks (seconds), 2 medium validation (about two
minutes; the DCGM user guide's "epilogue" level), 3 long hardware diagnostics (about 15 minutes), 4 extended
hardware diagnostics. The JSON document nests tests as ``"DCGM GPU Diagnostic" -> test_categories[] -> tests[] ->
results[]`` (DCGM 3.x; each result has ``status`` Pass/Fail/Warn/Skip and optional ``warnings``), and DCGM 4.x
hoists ``tests`` and reports results per entity, so the reader walks the document for every object with a
``name`` and a ``results`` list instead of assuming one layout. A document with no test results is not a pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["DcgmResult", "parse_dcgm_diag"]


@dataclass(frozen=True, slots=True)
class DcgmResult:
    passed: bool
    tests: int
    failures: tuple[str, ...]
    """One line per failed test: ``<test>: <status> (<first warning>)``."""


def _tests(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("name"), str) and isinstance(node.get("results"), list):
            yield node
        for value in node.values():
            yield from _tests(value)
    elif isinstance(node, list):
        for value in node:
            yield from _tests(value)


def _warning(result: dict[str, Any]) -> str | None:
    for key in ("warnings", "errors"):
        items = result.get(key)
        if isinstance(items, list) and items:
            first = items[0]
            if isinstance(first, dict):
                first = first.get("warning") or first.get("message") or first.get("error")
            return str(first) if first else None
    return None


def parse_dcgm_diag(text: str) -> DcgmResult:
    """``ValueError`` when the text holds no JSON document (dcgmi may print a line before it)."""
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON document in the dcgmi diag output")
    try:
        document = json.loads(text[start:])
    except json.JSONDecodeError as error:
        raise ValueError(f"dcgmi diag output is not JSON ({error})") from None
    failures: list[str] = []
    count = 0
    ran = 0
    for test in _tests(document):
        count += 1
        for result in test["results"]:
            if not isinstance(result, dict):
                continue
            status = str(result.get("status", "")).strip().lower()
            if status in ("pass", "passed", "warn", "warning"):
                ran += 1
            elif status in ("skip", "skipped", "not run"):
                continue
            else:
                ran += 1
                where = result.get("gpu_ids", result.get("entity_id"))
                detail = _warning(result)
                failures.append(f"{test['name']}: {status or 'no status'}"
                                f"{f' on GPU {where}' if where is not None else ''}{f' ({detail})' if detail else ''}")
    if ran == 0:
        failures.append("no test produced a result")
    return DcgmResult(passed=not failures, tests=count, failures=tuple(dict.fromkeys(failures)))
