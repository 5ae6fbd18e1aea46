"""The node-acceptance program the per-node acceptance pod runs: this package's own parsers and checks, bundled
into one self-contained Python file (standard library only), so the pod verifies a node with exactly the code
``neocloud node verify`` runs and the tests exercise.

Subcommands (each writes one JSON result file and exits 0 once it has written it, so the pod's last step always
runs and reports; a step that writes nothing is a failure):

- ``verify --expect FILE --out FILE``: ``nvidia-smi -q -x`` and ``nvidia-smi topo -m`` (run with a deadline), NIC
  state from ``/sys/class/infiniband`` (or ``ibstat`` when present), checked against the expectation.
- ``dcgm --in FILE --rc FILE --out FILE``: reads what ``dcgmi diag -r LEVEL -j`` wrote (the DCGM container runs it
  under ``timeout``; exit 124 is a deadline) and records pass/fail.
- ``retry``: delete this pod (after the retry wait), so the DaemonSet runs the checks again.
- ``report --results DIR``: all steps passed -> remove the acceptance taint and label from this node (JSON patch
  with ``test`` ops, so exactly those and only if unchanged) and set the node condition ``True``; otherwise leave
  the taint, set the condition ``False`` with the reason, and post an Event on the node.
"""

from __future__ import annotations

import inspect
import re

from . import _dcgm, _inputs, _verify

__all__ = ["ACCEPTANCE_CONDITION", "acceptance_program"]

ACCEPTANCE_CONDITION = "NeocloudAcceptance"
"""The node condition the acceptance pod sets (``True`` accepted, ``False`` failed with the reason)."""

_RUNNER = r'''
# --- runner --------------------------------------------------------------------------------------------------
import argparse, datetime, glob, json, os, shutil, ssl, subprocess, sys, urllib.request
from pathlib import Path

CONDITION = "%(condition)s"
STEPS = ("verify", "dcgm", "nccl")


def _run(cmd, timeout):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def cmd_verify(args):
    spec = json.loads(Path(args.expect).read_text())
    expect = NodeExpectation(**spec)
    out = {"step": "verify", "passed": False, "problems": []}
    try:
        smi = _run(["nvidia-smi", "-q", "-x"], args.timeout)
        report = parse_nvidia_smi_xml(smi.stdout)
        topo = parse_topo(_run(["nvidia-smi", "topo", "-m"], args.timeout).stdout)
        if shutil.which("ibstat"):
            ports = parse_ibstat(_run(["ibstat"], args.timeout).stdout)
        else:
            ports = read_sysfs_infiniband(Path(args.sysfs))
        result = verify_node(expect, report, topo=topo, ports=ports)
        out.update(passed=result.ok, problems=list(result.mismatches), checked=list(result.checked),
                   driver=report.driver_version)
    except subprocess.TimeoutExpired as error:
        out["problems"] = [f"verify: {error.cmd[0]} gave no answer within {args.timeout} s"]
    except (NodeInputError, OSError) as error:
        out["problems"] = [f"verify: {error}"]
    Path(args.out).write_text(json.dumps(out))


def cmd_dcgm(args):
    out = {"step": "dcgm", "passed": False, "problems": []}
    rc = Path(args.rc).read_text().strip() if Path(args.rc).exists() else ""
    if rc == "124":
        out["problems"] = [f"dcgm: dcgmi diag -r {args.level} gave no result within its deadline"]
    else:
        try:
            result = parse_dcgm_diag(Path(getattr(args, "in")).read_text())
            out.update(passed=result.passed, problems=[f"dcgm: {f}" for f in result.failures])
        except (OSError, ValueError) as error:
            out["problems"] = [f"dcgm: {error} (exit {rc or 'unknown'})"]
    Path(args.out).write_text(json.dumps(out))


class Api:
    def __init__(self):
        sa = os.environ.get("SERVICEACCOUNT_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
        self.base = os.environ.get("KUBERNETES_API_URL") or (
            f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}")
        self.token = Path(f"{sa}/token").read_text().strip()
        self.ctx = ssl.create_default_context(cafile=f"{sa}/ca.crt") if self.base.startswith("https:") else None

    def call(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type})
        with urllib.request.urlopen(req, context=self.ctx, timeout=30) as resp:
            text = resp.read()
        return json.loads(text) if text else None


def _results(directory):
    problems, passed = [], True
    for step in STEPS:
        path = Path(directory) / f"{step}.json"
        if not path.exists():
            passed = False
            problems.append(f"{step}: produced no result (crashed or was killed at its deadline)")
            continue
        result = json.loads(path.read_text())
        passed = passed and bool(result.get("passed"))
        problems.extend(result.get("problems", []))
    return passed and not problems, problems


def cmd_report(args):
    node, key, label = os.environ["NODE_NAME"], os.environ["TAINT_KEY"], os.environ["ACCEPTANCE_LABEL"]
    passed, problems = _results(args.results)
    api = Api()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%%Y-%%m-%%dT%%H:%%M:%%SZ")
    message = "all acceptance checks passed" if passed else "; ".join(problems)[:1000]
    reason = "Accepted" if passed else problems[0].split(":", 1)[0].title().replace("-", "") + "Failed"
    condition = {"type": CONDITION, "status": "True" if passed else "False", "reason": reason, "message": message,
                 "lastHeartbeatTime": now, "lastTransitionTime": now}
    api.call("PATCH", f"/api/v1/nodes/{node}/status", {"status": {"conditions": [condition]}},
             "application/strategic-merge-patch+json")
    if passed:
        current = api.call("GET", f"/api/v1/nodes/{node}")
        patch = []
        for i, taint in reversed(list(enumerate(current["spec"].get("taints") or []))):
            if taint["key"] == key:
                patch += [{"op": "test", "path": f"/spec/taints/{i}", "value": taint},
                          {"op": "remove", "path": f"/spec/taints/{i}"}]
        labels = current["metadata"].get("labels") or {}
        if label in labels:
            escaped = label.replace("~", "~0").replace("/", "~1")
            patch.append({"op": "remove", "path": f"/metadata/labels/{escaped}"})
        if patch:
            api.call("PATCH", f"/api/v1/nodes/{node}", patch, "application/json-patch+json")
        print(f"accepted: {node}")
        return 0
    namespace = os.environ.get("POD_NAMESPACE", "default")
    event = {"apiVersion": "v1", "kind": "Event",
             "metadata": {"generateName": f"{node}.acceptance-", "namespace": namespace},
             "involvedObject": {"kind": "Node", "name": node, "uid": node, "apiVersion": "v1"},
             "reason": reason, "message": message, "type": "Warning", "firstTimestamp": now, "lastTimestamp": now,
             "count": 1, "source": {"component": "neocloud-node-acceptance", "host": node}}
    api.call("POST", f"/api/v1/namespaces/{namespace}/events", event)
    print(f"rejected: {node}: {message}", file=sys.stderr)
    return 1


def cmd_retry(args):
    """Delete this pod so that its DaemonSet runs every check again (a rejected node keeps its taint meanwhile)."""
    api = Api()
    api.call("DELETE", f"/api/v1/namespaces/{os.environ['POD_NAMESPACE']}/pods/{os.environ['POD_NAME']}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="node-acceptance")
    sub = parser.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--expect", required=True)
    v.add_argument("--out", required=True)
    v.add_argument("--timeout", type=int, default=120)
    v.add_argument("--sysfs", default="/sys/class/infiniband")
    d = sub.add_parser("dcgm")
    d.add_argument("--in", required=True)
    d.add_argument("--rc", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--level", default="3")
    r = sub.add_parser("report")
    r.add_argument("--results", required=True)
    sub.add_parser("retry")
    args = parser.parse_args(argv)
    commands = {"verify": cmd_verify, "dcgm": cmd_dcgm, "report": cmd_report, "retry": cmd_retry}
    return commands[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
'''


def _module_source(module: object) -> str:
    """A module's source without its docstring's ``from __future__`` or package-relative imports (the bundle
    defines every name itself)."""
    text = inspect.getsource(module)  # type: ignore[arg-type]
    text = re.sub(r"^from __future__ import annotations\n", "", text, flags=re.M)
    text = re.sub(r"^from \.[\w.]* import \([^)]*\)\n|^from \.[\w.]* import [^\n]*\n", "", text, flags=re.M)
    return re.sub(r"^__all__ = \[[^\]]*\]\n", "", text, flags=re.M)


def acceptance_program() -> str:
    """The acceptance pod's program: ``_inputs``, ``_verify`` and ``_dcgm`` verbatim plus the runner."""
    parts = ['"""neocloud node acceptance (generated from neocloud.node; do not edit)."""',
             "from __future__ import annotations"]
    parts += [_module_source(m) for m in (_inputs, _verify, _dcgm)]
    parts.append(_RUNNER % {"condition": ACCEPTANCE_CONDITION})
    return "\n\n".join(parts)
