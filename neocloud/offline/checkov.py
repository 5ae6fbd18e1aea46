"""Checkov on rendered manifests, with every finding either fixed or waived in one reviewed file.

``python -m neocloud.offline.checkov --checkov BIN --waivers FILE DIR...`` runs checkov's Kubernetes framework
on each ``DIR/kubernetes.yaml`` (written by ``neocloud render``) and exits 1 when a failed check is not waived,
or when a waiver matches no finding at all (a stale waiver hides nothing and must go). Checkov runs with
``--skip-download`` so that it never contacts its vendor's API (this project talks to nothing but 127.0.0.1).

The waiver file (``.ci/checkov-waivers.yaml``) is a list of ``{checks: [CKV_...], resources: [glob], reason}``;
a finding is waived when its check id is listed and its checkov resource id (``Kind.namespace.name``) matches
one of the globs. Every waiver must say why.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "Finding",
    "GateResult",
    "Waiver",
    "check_rendered",
    "gate",
    "load_waivers",
    "parse_report",
    "run_checkov",
]

CHECKOV_TIMEOUT_SECONDS = 600
"""A deadline for one checkov run (one stack takes a few seconds here)."""


@dataclass(frozen=True)
class Finding:
    """One failed checkov check on one rendered object."""

    check_id: str
    check_name: str
    resource: str
    """checkov's resource id: ``Kind.namespace.name`` (``Kind.default.name`` for cluster-scoped objects)."""
    source: str
    """The rendered stack (its directory name)."""


@dataclass(frozen=True)
class Waiver:
    checks: tuple[str, ...]
    resources: tuple[str, ...]
    reason: str

    def covers(self, finding: Finding) -> bool:
        return finding.check_id in self.checks and any(fnmatch.fnmatchcase(finding.resource, g)
                                                       for g in self.resources)


@dataclass(frozen=True)
class GateResult:
    findings: tuple[Finding, ...]
    unwaived: tuple[Finding, ...]
    stale: tuple[Waiver, ...]
    passed_checks: int

    @property
    def ok(self) -> bool:
        return not self.unwaived and not self.stale


class WaiverFileError(ValueError):
    """The waiver file is malformed (one line naming the entry)."""


def load_waivers(path: Path) -> list[Waiver]:
    document = yaml.safe_load(path.read_text()) or {}
    entries = document.get("waivers") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise WaiverFileError(f"{path}: needs a top-level 'waivers' list")
    out = []
    for i, entry in enumerate(entries):
        where = f"{path}: waivers[{i}]"
        if not isinstance(entry, Mapping) or set(entry) != {"checks", "resources", "reason"}:
            raise WaiverFileError(f"{where}: needs exactly 'checks', 'resources' and 'reason'")
        checks, resources, reason = entry["checks"], entry["resources"], entry["reason"]
        if not (isinstance(checks, list) and checks and all(isinstance(c, str) and c.startswith("CKV_")
                                                             for c in checks)):
            raise WaiverFileError(f"{where}.checks: a non-empty list of checkov ids (CKV_...)")
        if not (isinstance(resources, list) and resources and all(isinstance(r, str) and r for r in resources)):
            raise WaiverFileError(f"{where}.resources: a non-empty list of resource globs (Kind.namespace.name)")
        if not isinstance(reason, str) or len(reason.split()) < 5:
            raise WaiverFileError(f"{where}.reason: say why the finding is accepted (a sentence)")
        out.append(Waiver(tuple(checks), tuple(resources), " ".join(reason.split())))
    return out


def parse_report(report: Any, sources: Mapping[str, str] | None = None) -> tuple[list[Finding], int]:
    """Failed checks and the count of passed ones from checkov's ``-o json`` output (one report, or a list of
    reports when several frameworks ran). ``sources`` names the stack of each scanned file (absolute path ->
    stack); a finding in a file not listed is named by its path."""
    reports = report if isinstance(report, list) else [report]
    findings: list[Finding] = []
    passed = 0
    for r in reports:
        if not isinstance(r, Mapping):
            continue
        summary = r.get("summary") or {}
        if summary.get("parsing_errors"):
            raise ValueError(f"checkov could not parse {summary['parsing_errors']} file(s)")
        passed += int(summary.get("passed", 0))
        for failed in (r.get("results") or {}).get("failed_checks") or []:
            path = str(failed.get("file_abs_path") or failed.get("file_path") or "")
            source = (sources or {}).get(path, path)
            findings.append(Finding(str(failed["check_id"]), str(failed.get("check_name", "")),
                                    str(failed["resource"]), source))
    return findings, passed


def run_checkov(checkov: str, manifests: Sequence[Path]) -> Any:
    """checkov's JSON report for rendered ``kubernetes.yaml`` files, in one run (checkov's start-up is most of
    its cost)."""
    command = [checkov, "--framework", "kubernetes", "--skip-download", "--quiet", "--compact", "-o", "json"]
    for manifest in manifests:
        command += ["-f", str(manifest.resolve())]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CHECKOV_TIMEOUT_SECONDS, check=False)
    # checkov exits 1 when a check failed; anything else, or no JSON, means it did not run.
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise RuntimeError(f"checkov did not run on {len(manifests)} file(s) (exit {done.returncode}): "
                           f"{done.stderr.strip().splitlines()[-1:] or 'no output'}")
    return json.loads(done.stdout)


def gate(report: Any, waivers: Sequence[Waiver], sources: Mapping[str, str] | None = None) -> GateResult:
    """Match every finding of checkov's report against the waivers."""
    findings, passed = parse_report(report, sources)
    unwaived = tuple(f for f in findings if not any(w.covers(f) for w in waivers))
    stale = tuple(w for w in waivers if not any(w.covers(f) for f in findings))
    return GateResult(tuple(findings), unwaived, stale, passed)


def check_rendered(checkov: str, rendered: Mapping[str, Path], waivers: Sequence[Waiver]) -> GateResult:
    """Checkov on each stack's ``DIR/kubernetes.yaml`` (stack -> DIR), matched against the waivers."""
    manifests = {stack: (directory / "kubernetes.yaml").resolve() for stack, directory in rendered.items()}
    report = run_checkov(checkov, list(manifests.values()))
    return gate(report, waivers, {str(path): stack for stack, path in manifests.items()})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neocloud.offline.checkov")
    parser.add_argument("--checkov", required=True, help="the checkov executable")
    parser.add_argument("--waivers", type=Path, required=True, help="the reviewed waiver file")
    parser.add_argument("rendered", type=Path, nargs="+", help="directories written by `neocloud render`")
    args = parser.parse_args(argv)
    try:
        waivers = load_waivers(args.waivers)
    except (OSError, WaiverFileError) as error:
        print(f"checkov gate: {error}", file=sys.stderr)
        return 2
    for directory in args.rendered:
        if not (directory / "kubernetes.yaml").is_file():
            print(f"checkov gate: {directory / 'kubernetes.yaml'} not found (run `neocloud render STACK --out "
                  f"{directory}`)", file=sys.stderr)
            return 2
    result = check_rendered(args.checkov, {d.name: d for d in args.rendered}, waivers)
    waived = len(result.findings) - len(result.unwaived)
    print(f"checkov: {len(args.rendered)} stacks, {result.passed_checks} passed, {len(result.findings)} failed "
          f"({waived} waived in {args.waivers}, {len(result.unwaived)} not waived)")
    for f in result.unwaived:
        print(f"  NOT WAIVED {f.source}: {f.check_id} {f.resource} ({f.check_name})")
    for w in result.stale:
        print(f"  STALE WAIVER {', '.join(w.checks)} on {', '.join(w.resources)}: matches no finding; remove it")
    return 0 if result.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
