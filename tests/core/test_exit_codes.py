"""Exit codes mean one thing each: 2 is bad input only; a program or policy pack that crashes, exits early or
hangs is a crash (3) with the first line of the error and where to look -- never 0, never "bad input".

The hang tests run the command in a subprocess with a bounded ``timeout``: a regression fails, it never hangs CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from neocloud.cli import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_CODES, EXIT_CRASH, build_parser, main
from tests.conftest import REPO

GUARD = 180
"""Seconds any subprocess here may take before the test fails (a hang must fail, not block CI)."""


def _project(root: Path, program: str, config: dict[str, object] | None = None) -> Path:
    (root / "stacks").mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: exits\nruntime: python\nstackConfigDir: stacks\n")
    (root / "stacks" / "Pulumi.x.yaml").write_text(yaml.safe_dump({"config": config or {}}))
    (root / "__main__.py").write_text(program)
    return root


def _neocloud(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neocloud", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=GUARD, env=env)


@pytest.mark.parametrize("program, said", [
    ("import sys\nsys.exit(0)\n", "exited early (SystemExit(0))"),
    ("import sys\nsys.exit(3)\n", "exited early (SystemExit(3))"),
    ("raise SystemExit\n", "exited early (SystemExit(None))"),
    ("class Stop(BaseException):\n    pass\nraise Stop('halt')\n", "Stop: halt"),
    ("import pulumi\npulumi.ComponentResource('t:i:C', 'a')\nraise RuntimeError('boom\\nsecond line')\n",
     "RuntimeError: boom"),
])
@pytest.mark.parametrize("command", ["plan", "check"])
def test_a_program_that_does_not_finish_is_a_crash_never_0(tmp_path: Path, program: str, said: str,
                                                           command: str) -> None:
    project = _project(tmp_path, program)
    result = _neocloud(command, "x", "--project-dir", str(project))
    assert result.returncode == EXIT_CRASH, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("neocloud: crash: stack x: the program crashed: ") and said in last
    assert "second line" not in result.stderr  # the first line of the error only
    assert f"(see {project.resolve() / '__main__.py'}:" in last  # where to look: the program's file and line
    assert "Traceback" not in result.stderr and "analyzing" not in result.stderr


def test_a_crash_of_neocloud_itself_is_exit_3_with_where_to_look(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from neocloud.cli import fabric

    def broken(_args: object) -> int:
        raise KeyError("surprise")

    monkeypatch.setattr(fabric, "_run", broken)
    parser_run = build_parser().parse_args(["fabric", "--nodes", "8"]).run
    assert parser_run is broken
    assert main(["fabric", "--nodes", "8"]) == EXIT_CRASH
    err = capsys.readouterr().err.strip()
    assert err.startswith("neocloud: crash: KeyError: 'surprise' (see ") and "test_exit_codes.py" in err
    assert "NEOCLOUD_DEBUG=1" in err and len(err.splitlines()) == 1


def test_exit_codes_are_in_the_help_and_the_readme() -> None:
    help_text = build_parser().format_help()
    readme = (REPO / "README.md").read_text()
    assert "## Exit codes" in readme
    for code, meaning in EXIT_CODES.items():
        assert f"  {code}  {meaning.split(':')[0]}" in help_text
        assert f"| {code} |" in readme
    assert EXIT_BAD_INPUT == 2 and EXIT_CRASH == 3


def test_a_closed_pipe_stops_quietly_with_128_plus_sigpipe() -> None:
    """`neocloud catalog | head`: the reader goes away before the output is written. Python ignores SIGPIPE and
    raises BrokenPipeError on the write (docs: library/signal.html, "Note on SIGPIPE"); that is not a crash of
    neocloud, so no "crash" line and no traceback, and not 0 either: the output was not all delivered."""
    proc = subprocess.Popen([sys.executable, "-m", "neocloud", "catalog"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first write
    try:
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=GUARD)
    finally:
        proc.kill()
    assert code == EXIT_BROKEN_PIPE == 141
    assert err == ""


# --- the policy pack: a hang, a crash, an empty pack --------------------------------------------------------

_PACK_MAIN = """\
import sys, time
sys.path.insert(0, {repo!r})
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy
from policies import _runtime

def {kind}(args, report):
    if args.resource_type == "pulumi:pulumi:Stack":
        return
    {body}

policies = [ResourceValidationPolicy(name="{name}", description="test rule", validate={kind},
                                     enforcement_level=EnforcementLevel.MANDATORY)]
_runtime.install(policies)
PolicyPack(name="testpack", enforcement_level=EnforcementLevel.MANDATORY, policies=policies)
"""


def _pack(root: Path, name: str, kind: str, body: str) -> Path:
    pack = root / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (pack / "__main__.py").write_text(_PACK_MAIN.format(repo=str(REPO), kind=kind, body=body, name=name))
    return pack


def _one_resource_project(root: Path) -> Path:
    return _project(root / "project", "import pulumi\npulumi.ComponentResource('t:index:Thing', 'one')\n")


def test_a_policy_that_hangs_is_a_timeout_naming_the_policy(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "sleeps-forever", "hang", "time.sleep(3600)")
    project = _one_resource_project(tmp_path)
    result = _neocloud("check", "x", "--project-dir", str(project), "--policy-pack", str(pack),
                       "--policy-timeout", "3")
    assert result.returncode == EXIT_CRASH, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("neocloud: crash: policy pack timed out: Analyze of urn:pulumi:x::exits::t:index:Thing::one "
                           "did not answer within 3s (--policy-timeout); running: policy 'sleeps-forever' on "
                           "urn:pulumi:x::exits::t:index:Thing::one for ")
    assert "neocloud-policy-pack-" in last  # the pack's log is kept and named


def test_the_policy_timeout_also_comes_from_the_environment(tmp_path: Path) -> None:
    import os

    pack = _pack(tmp_path, "sleeps-forever", "hang", "time.sleep(3600)")
    project = _one_resource_project(tmp_path)
    env = {**os.environ, "NEOCLOUD_POLICY_TIMEOUT": "2"}
    result = _neocloud("check", "x", "--project-dir", str(project), "--policy-pack", str(pack), env=env)
    assert result.returncode == EXIT_CRASH and "within 2s" in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "soon", "1e9"])
def test_a_bad_policy_timeout_is_bad_input(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "dev", "--policy-timeout", value]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith(f"neocloud: error: --policy-timeout: got {value!r}; allowed: a number of seconds")


def test_a_policy_that_raises_is_a_crash_naming_the_policy_and_the_log(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "divides", "crash", "1 / 0")
    project = _one_resource_project(tmp_path)
    result = _neocloud("check", "x", "--project-dir", str(project), "--policy-pack", str(pack))
    assert result.returncode == EXIT_CRASH, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("neocloud: crash: policy pack crashed: policy crashed: 'divides' on "
                           "urn:pulumi:x::exits::t:index:Thing::one: ZeroDivisionError: division by zero (see ")
    log = Path(last.rsplit("(see ", 1)[1].rstrip(")"))
    assert "Traceback" in log.read_text() and "1 / 0" in log.read_text()
    log.unlink()


def test_a_pack_that_exits_mid_run_is_a_crash(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "exits", "leave", "import os; os._exit(7)")
    project = _one_resource_project(tmp_path)
    result = _neocloud("check", "x", "--project-dir", str(project), "--policy-pack", str(pack))
    assert result.returncode == EXIT_CRASH, result.stderr
    assert "policy pack crashed: the pack exited with code 7 during Analyze" in result.stderr


def test_a_pack_with_no_policies_never_passes(tmp_path: Path) -> None:
    pack = tmp_path / "empty"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (pack / "__main__.py").write_text("from pulumi_policy import PolicyPack\nPolicyPack(name='empty', policies=[])\n")
    project = _one_resource_project(tmp_path)
    result = _neocloud("check", "x", "--project-dir", str(project), "--policy-pack", str(pack))
    assert result.returncode == EXIT_CRASH
    # The SDK refuses an empty pack at start-up; analyze_run refuses one that starts with none (never a pass).
    assert "did not start" in result.stderr and "Missing policies argument" in result.stderr
