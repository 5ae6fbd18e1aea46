"""``neocloud check STACK``: the stack's policies, without the Pulumi CLI or a cloud.

Runs the program under the mock engine (as ``plan`` does), starts the real policy pack (``policies/``) and speaks
the Pulumi analyzer gRPC protocol to it (``neocloud.offline.analyzer``), so enforcement levels, config and
not-applicable results are those of ``pulumi preview --policy-pack policies --policy-pack-config ...``.
Exit 0 when no mandatory policy is violated, 1 when one is, 2 on bad input, 3 when the program or the pack
crashed or a policy call passed its deadline (``--policy-timeout``): a check that did not run never passes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..offline.analyzer import DEFAULT_CALL_TIMEOUT, AnalysisResult, Diagnostic, analyze_run, load_policy_config
from ..offline.engine import ProgramRun, load_stack_config
from .plan import add_stack_arguments, run_stack

__all__ = ["FAIL_ON", "add_policy_arguments", "check_document", "check_policy_arguments", "failed", "register",
           "run_policies", "sarif_document"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
CONCERNS = {"topology": "rack topology", "efficiency": "efficiency", "security": "security"}
FAIL_ON = ("mandatory", "advisory")
"""``--fail-on``: the lowest enforcement level whose violations make ``check`` exit 1 (``advisory`` fails on any
violation, as a strict CI gate wants; remediate-level findings count as mandatory, as the engine blocks on both)."""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("check", help="run the policy pack on a stack offline (exit 1 on a mandatory "
                                   "violation)")
    add_stack_arguments(parser)
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                        help="output format (default text; sarif for GitHub code scanning)")
    parser.add_argument("--fail-on", choices=FAIL_ON, default="mandatory",
                        help="exit 1 on violations at this level or above (default mandatory; advisory: any)")
    add_policy_arguments(parser)
    parser.set_defaults(run=_run)


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """``--policy-config`` and ``--policy-pack``, shared by the commands that run the pack (check, report)."""
    parser.add_argument("--policy-config", type=Path, default=None, metavar="FILE",
                        help="policy pack config JSON, as for pulumi --policy-pack-config "
                        "(default: policies/config/STACK.json if present)")
    parser.add_argument("--policy-pack", type=Path, default=None, metavar="DIR",
                        help="the policy pack directory (default: policies/ in the project)")
    parser.add_argument("--policy-timeout", default=None, metavar="SECONDS",
                        help=f"deadline of each policy pack call; past it the run is a timeout naming the policy "
                        f"(exit 3) (default ${TIMEOUT_ENV} or {DEFAULT_CALL_TIMEOUT:g})")


TIMEOUT_ENV = "NEOCLOUD_POLICY_TIMEOUT"


def policy_timeout(value: str | None) -> float:
    """``--policy-timeout`` (else ``$NEOCLOUD_POLICY_TIMEOUT``, else the default) as seconds > 0."""
    where = "--policy-timeout"
    if value is None:
        value, where = os.environ.get(TIMEOUT_ENV), TIMEOUT_ENV
    if value is None or value == "":
        return DEFAULT_CALL_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= 86400):
        raise SpecError(where, f"got {value!r}; allowed: a number of seconds, > 0 and at most 86400")
    return seconds


def _run(args: argparse.Namespace) -> int:
    check_policy_arguments(args)
    root, run = run_stack(args)
    result, config_display = run_policies(args, root, run)
    stack_file = _stack_file(root, args.stack)
    if args.format == "json":
        print(json.dumps(check_document(result, run.stack, run.project, config_display), indent=2))
    elif args.format == "sarif":
        print(json.dumps(sarif_document(result, root, stack_file, run.stack), indent=2))
    else:
        print(render(result, run.stack, config_display, fail_on=args.fail_on))
    return 1 if failed(result, args.fail_on) else 0


def failed(result: AnalysisResult, fail_on: str) -> bool:
    """Whether ``result`` fails at ``--fail-on`` level (see ``FAIL_ON``)."""
    if fail_on == "advisory":
        return bool(result.diagnostics)
    return bool(result.mandatory) or any(d.enforcement_level == "remediate" for d in result.diagnostics)


def check_policy_arguments(args: argparse.Namespace) -> None:
    """Bad ``--policy-config`` or ``--policy-timeout`` is bad input before any work is done."""
    if args.policy_config is not None and not args.policy_config.is_file():
        raise SpecError("--policy-config", f"{args.policy_config} is not a file")
    policy_timeout(args.policy_timeout)


def run_policies(args: argparse.Namespace, root: Path, run: ProgramRun) -> tuple[AnalysisResult, str]:
    """The policy pack over ``run``, with ``--policy-pack`` / ``--policy-config`` (default
    ``policies/config/STACK.json``) as ``check`` runs it; returns the result and the config's display name."""
    check_policy_arguments(args)
    pack_dir = args.policy_pack or _default_pack(root)
    if not (pack_dir / "PulumiPolicy.yaml").is_file():
        raise SpecError("--policy-pack", f"{pack_dir} has no PulumiPolicy.yaml")
    config_path = args.policy_config
    if config_path is None and (root / "policies" / "config" / f"{args.stack}.json").is_file():
        config_path = root / "policies" / "config" / f"{args.stack}.json"
    policy_config = load_policy_config(config_path) if config_path is not None else {}
    stack_config, _ = load_stack_config(root, args.stack)
    print(f"analyzing {len(run.resources)} resources with policy pack {pack_dir.name}/ "
          f"(config: {_display(config_path, root)}) ...", file=sys.stderr, flush=True)
    # An AnalyzerError (crash, timeout, a pack with no policies) is a crash, exit 3: never "bad input", never 0.
    result = analyze_run(run, pack_dir=pack_dir, policy_config=policy_config,
                         config_source=_display(config_path, root), stack_config=stack_config,
                         call_timeout=policy_timeout(args.policy_timeout))
    return result, _display(config_path, root)


def _default_pack(root: Path) -> Path:
    """The project's own ``policies/``, else the pack installed with neocloud: a program of its own (such as
    examples/serving-on-existing-cluster, checked from its folder) is policed by the same pack."""
    own = root / "policies"
    if (own / "PulumiPolicy.yaml").is_file():
        return own
    try:
        import policies
    except ImportError:
        return own
    installed = Path(policies.__file__).resolve().parent
    return installed if (installed / "PulumiPolicy.yaml").is_file() else own


def _display(path: Path | None, root: Path) -> str:
    if path is None:
        return "pack defaults"
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _stack_file(root: Path, stack: str) -> Path:
    import yaml

    project = yaml.safe_load((root / "Pulumi.yaml").read_text()) or {}
    return root / str(project.get("stackConfigDir", ".")) / f"Pulumi.{stack}.yaml"


def _subject(d: Diagnostic) -> str:
    return f"{d.resource_type} {d.resource_name}" if d.resource_name else "stack"


def render(result: AnalysisResult, stack: str, config: str, *, fail_on: str = "mandatory") -> str:
    out = [f"stack {stack}: policy pack {result.pack} {result.pack_version}, {len(result.policies)} policies, "
           f"{result.resources} resources (config: {config})"]
    order = {"mandatory": 0, "remediate": 1, "advisory": 2}
    for d in sorted(result.diagnostics, key=lambda d: (order.get(d.enforcement_level, 3), d.policy, d.urn)):
        out.append(f"  {d.enforcement_level:<9} {d.policy}  [{_subject(d)}]")
        out.extend(f"      {line}" for line in d.message.splitlines())
    out.extend(_not_applicable_lines(result))
    verdict = "FAILED" if failed(result, fail_on) else "passed"
    out.append(f"{verdict}: {len(result.mandatory)} mandatory, {len(result.advisory)} advisory violation(s) in "
               f"{result.seconds:.2f}s")
    return "\n".join(out)


def _not_applicable_lines(result: AnalysisResult) -> list[str]:
    """One line per policy that did not apply, with its reasons (a reason given for several resources is shown
    once, with the count), so a reader sees why a rule checked nothing rather than only that it did not."""
    reasons: dict[str, dict[str, int]] = {}
    for n in result.not_applicable:
        per = reasons.setdefault(n.policy, {})
        per[n.reason] = per.get(n.reason, 0) + 1
    out = []
    for policy in sorted(reasons):
        parts = [reason if count == 1 else f"{reason} (x{count})" for reason, count in reasons[policy].items()]
        out.append(f"  not applicable {policy}: {'; '.join(p or 'no reason given' for p in parts)}")
    return out


def check_document(result: AnalysisResult, stack: str, project: str, config: str) -> dict[str, Any]:
    """The stable ``check --format json`` document (documented in docs/policies.md)."""
    return {
        "stack": stack,
        "project": project,
        "policyPack": {"name": result.pack, "version": result.pack_version},
        "config": config,
        "resources": result.resources,
        "policies": [{"name": p.name, "type": p.policy_type, "description": p.description,
                      "enforcementLevel": result.config.get(p.name, {}).get("enforcementLevel", p.enforcement_level)}
                     for p in result.policies],
        "violations": [{"policy": d.policy, "enforcementLevel": d.enforcement_level, "message": d.message,
                        "description": d.description, "urn": d.urn, "resourceType": d.resource_type,
                        "resourceName": d.resource_name} for d in result.diagnostics],
        "notApplicable": [{"policy": n.policy, "reason": n.reason, "urn": n.urn} for n in result.not_applicable],
        "summary": {"mandatory": len(result.mandatory), "advisory": len(result.advisory),
                    "passed": result.passed, "seconds": round(result.seconds, 3)},
    }


def _concern(name: str) -> str:
    try:
        from policies import efficiency, security, topology
    except ImportError:  # a pack outside this checkout
        return "policy"
    for module in (topology, efficiency, security):
        if any(p.name == name for p in module.POLICIES):
            return CONCERNS[module.__name__.rsplit(".", 1)[-1]]
    return "policy"


def _sarif_level(level: str) -> str:
    return {"mandatory": "error", "remediate": "error", "advisory": "warning"}.get(level, "none")


def _line_of(stack_file: Path, d: Diagnostic) -> int:
    """The stack file line a finding points at: its pool's ``- name:`` line, else the neocloud:cluster key."""
    try:
        lines = stack_file.read_text().splitlines()
    except OSError:
        return 1
    key_line = next((i for i, ln in enumerate(lines, 1) if ln.strip().startswith("neocloud:cluster:")), 1)
    match = re.search(r"\bpool '([^']+)'", d.message)
    pool = match.group(1) if match else None
    if pool:
        for i, ln in enumerate(lines, 1):
            if ln.strip() in (f"- name: {pool}", f"name: {pool}") and i > key_line:
                return i
    return key_line


def sarif_document(result: AnalysisResult, root: Path, stack_file: Path, stack: str) -> dict[str, Any]:
    """SARIF 2.1.0 for GitHub code scanning: one rule per policy, one result per violation, located in the
    stack's config file (where the cluster spec lives)."""
    try:
        uri = stack_file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        uri = stack_file.name
    index = {p.name: i for i, p in enumerate(result.policies)}
    rules = []
    for p in result.policies:
        level = result.config.get(p.name, {}).get("enforcementLevel", p.enforcement_level)
        rules.append({
            "id": p.name,
            "name": "".join(w.capitalize() for w in p.name.split("-")),
            "shortDescription": {"text": p.description},
            "fullDescription": {"text": p.description},
            "help": {"text": f"{p.description} See docs/policies.md#{p.name}.",
                     "markdown": f"{p.description}\n\nSee [docs/policies.md](docs/policies.md#{p.name})."},
            "defaultConfiguration": {"level": _sarif_level(level)},
            "properties": {"tags": [_concern(p.name), "neocloud"], "enforcementLevel": level,
                           "policyType": p.policy_type},
        })
    results = []
    for d in result.diagnostics:
        fingerprint = hashlib.sha256(f"{d.policy}|{d.urn}|{d.message}".encode()).hexdigest()[:32]
        location: dict[str, Any] = {
            "physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                                 "region": {"startLine": _line_of(stack_file, d)}},
        }
        if d.urn:
            location["logicalLocations"] = [{"fullyQualifiedName": d.urn, "name": d.resource_name,
                                             "kind": "resource"}]
        results.append({
            "ruleId": d.policy,
            "ruleIndex": index.get(d.policy, 0),
            "level": _sarif_level(d.enforcement_level),
            "message": {"text": f"{d.message} [{_subject(d)}]"},
            "locations": [location],
            "partialFingerprints": {"neocloudFinding/v1": fingerprint},
            "properties": {"enforcementLevel": d.enforcement_level, "urn": d.urn},
        })
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "neocloud-policies", "semanticVersion": result.pack_version,
                                "version": result.pack_version, "informationUri": "https://neocloud.dev/policies",
                                "rules": rules}},
            "automationDetails": {"id": f"neocloud-check/{stack}/"},
            "results": results,
            "properties": {"stack": stack, "resources": result.resources},
        }],
    }
