"""Command-line conveniences: ``--version``, ``catalog``, ``check --fail-on``, not-applicable reasons in check's text
output, and shell completion driven through a real bash."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from neocloud import catalog
from neocloud.cli import main
from tests.conftest import REPO


def test_version_is_the_installed_distribution() -> None:
    result = subprocess.run([sys.executable, "-m", "neocloud", "--version"], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0
    assert result.stdout == f"neocloud {version('neocloud')}\n"


def test_catalog_lists_every_system_switch_and_gpu_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    for item in (*catalog.SYSTEMS.values(), *catalog.SWITCHES.values(), *catalog.GPUS.values()):
        line = next((ln for ln in out.splitlines() if ln.split()[:1] == [item.name]), None)
        assert line is not None, item.name
        assert line.rstrip().endswith(item.source), (item.name, line)
    # Unverified numbers are shown as site values, never as a number (hgx-h100 chassis power is the OEM's).
    hgx = next(ln for ln in out.splitlines() if ln.split()[:1] == ["hgx-h100"])
    assert " site " in hgx and "kW" not in hgx
    assert "  H100RA     NVIDIA DGX SuperPOD Reference Architecture, DGX H100" in out


def test_catalog_json_and_sections(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in doc["systems"]] == list(catalog.SYSTEMS)
    h100 = next(s for s in doc["systems"] if s["name"] == "dgx-h100")
    assert (h100["node_power_kw"], h100["rails"], h100["nic_gbps"], h100["gpus_per_nvlink_domain"]) == (10.2, 8, 400, 8)
    assert {s["name"]: s["ports"] for s in doc["switches"]} == {s.name: s.ports for s in catalog.SWITCHES.values()}
    assert doc["source_keys"]["GB200UG"] == "DGX GB200 user guide."
    assert main(["catalog", "switches"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("switches:") and "systems:" not in out and "QM9700" in out
    with pytest.raises(SystemExit) as exit_:
        main(["catalog", "racks"])
    assert exit_.value.code == 2
    assert "argument section: invalid choice: 'racks'" in capsys.readouterr().err


def _policy_config(tmp_path: Path, **changes: object) -> Path:
    config = json.loads((REPO / "policies" / "config" / "staging.json").read_text())
    config.update(changes)
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(config))
    return path


def test_check_fail_on_advisory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 2 spares on 31 nodes is 6.5%: an advisory hot-spare-ratio violation once the floor is 10%.
    config = _policy_config(tmp_path, **{"hot-spare-ratio": {"enforcementLevel": "advisory", "minSparePercent": 10}})
    args = ["check", "staging", "--project-dir", str(REPO), "--policy-config", str(config)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "  advisory  hot-spare-ratio  [neocloud:index:GpuPool staging-h100]" in out
    assert out.splitlines()[-1].startswith("passed: 0 mandatory, 1 advisory")
    assert main([*args, "--fail-on", "advisory"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("FAILED: 0 mandatory, 1 advisory")
    assert main([*args, "--fail-on", "advisory", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["summary"]["advisory"] == 1


def test_check_fail_on_advisory_passes_a_clean_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "staging", "--project-dir", str(REPO), "--fail-on", "advisory"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("passed: 0 mandatory, 0 advisory")


def test_check_fail_on_bad_value_is_one_line_exit_2() -> None:
    result = subprocess.run([sys.executable, "-m", "neocloud", "check", "dev", "--fail-on", "warning"],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("neocloud: error: argument --fail-on: invalid choice: 'warning' (choose from ")
    assert result.stderr.count("\n") == 1 and "advisory" in result.stderr


def test_check_text_says_why_a_policy_did_not_apply(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "dev", "--project-dir", str(REPO)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert ("  not applicable rack-power-budget: no rack power budget: set racks.power_budget_kw or the policy's "
            "maxRackKw") in lines
    # Every not-applicable result the pack sent is in the text, with the pack's own reason.
    assert main(["check", "dev", "--project-dir", str(REPO), "--format", "json"]) == 0
    skipped = json.loads(capsys.readouterr().out)["notApplicable"]
    assert {n["policy"] for n in skipped} >= {"rack-power-budget", "fabric-nonblocking"}
    for n in skipped:
        assert f"  not applicable {n['policy']}: {n['reason']}" in lines


@pytest.fixture(scope="module")
def bash_completion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("bash") is None:  # pragma: no cover - bash is part of every CI image here
        pytest.fail("bash is needed to test the completion script")
    script = tmp_path_factory.mktemp("completion") / "neocloud.bash"
    result = subprocess.run([sys.executable, "-m", "neocloud", "completion", "bash"], capture_output=True, text=True,
                            timeout=60, cwd=REPO, check=True)
    script.write_text(result.stdout)
    return script


def _complete(script: Path, *words: str, cwd: Path = REPO) -> list[str]:
    """What bash offers for ``words`` (the last is the word being completed), as ``complete -F`` would call it."""
    quoted = " ".join(f"'{w}'" for w in words)
    program = (f"source '{script}'\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMPREPLY=()\n"
               "_neocloud\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], capture_output=True, text=True,
                            timeout=30, cwd=cwd, check=True)
    return [w for w in result.stdout.splitlines() if w]


def test_bash_completion_of_commands_options_and_stacks(bash_completion: Path) -> None:
    commands = _complete(bash_completion, "neocloud", "")
    assert {"plan", "check", "catalog", "completion", "backend"} <= set(commands)
    assert _complete(bash_completion, "neocloud", "ca") == ["catalog"]
    stacks = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (REPO / "stacks").glob("Pulumi.*"))
    assert _complete(bash_completion, "neocloud", "check", "") == stacks
    assert _complete(bash_completion, "neocloud", "check", "dev", "--format", "") == ["text", "json", "sarif"]
    assert _complete(bash_completion, "neocloud", "check", "dev", "--fail-on", "a") == ["advisory"]
    assert set(_complete(bash_completion, "neocloud", "check", "dev", "--fa")) == {"--fail-on"}
    assert _complete(bash_completion, "neocloud", "backend", "") == ["bootstrap"]
    assert _complete(bash_completion, "neocloud", "catalog", "s") == ["systems", "switches"]
    assert _complete(bash_completion, "neocloud", "fabric", "--system", "dgx-h") == ["dgx-h100", "dgx-h200"]
    assert _complete(bash_completion, "neocloud", "fabric", "--switch", "Q") == ["Q3400", "QM9700"]
    assert _complete(bash_completion, "neocloud", "vendor", "") == ["fetch", "check"]


def test_bash_completion_of_paths(bash_completion: Path, tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.lab.yaml").write_text("config: {}\n")
    (tmp_path / "pack").mkdir()
    (tmp_path / "policy.json").write_text("{}")
    assert _complete(bash_completion, "neocloud", "plan", "", cwd=tmp_path) == ["lab"]
    assert _complete(bash_completion, "neocloud", "check", "lab", "--policy-config", "po", cwd=tmp_path) == \
        ["policy.json"]
    assert sorted(_complete(bash_completion, "neocloud", "check", "lab", "--policy-pack", "", cwd=tmp_path)) == \
        ["pack", "stacks"]  # directories only: policy.json is not offered


def test_zsh_completion_wraps_the_bash_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "zsh"]) == 0
    out = capsys.readouterr().out
    assert "autoload -U +X bashcompinit && bashcompinit" in out and "complete -o default -F _neocloud neocloud" in out
    if shutil.which("zsh"):  # zsh is not part of the CI image; where it is, the script must load cleanly
        subprocess.run(["zsh", "-f", "-c", out + "\n(( $+functions[_neocloud] ))"], check=True, timeout=30)


def test_the_example_program_plans_and_checks_from_its_own_folder() -> None:
    example = REPO / "examples" / "serving-on-existing-cluster"
    env = {k: v for k, v in os.environ.items() if k != "PULUMI_CONFIG"}
    plan = subprocess.run([sys.executable, "-m", "neocloud", "plan", "dev"], cwd=example, capture_output=True,
                          text=True, timeout=300, env=env)
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.startswith("stack dev: project serving-on-existing-cluster exports no cluster plan")
    assert "  neocloud:kubernetes:TrafficRegulator chat-traffic" in plan.stdout
    # The example runs on someone's existing cluster: its policy config names the CNI the operator verified
    # enforces NetworkPolicy (tenant-default-deny cannot know it from the stack).
    check = subprocess.run([sys.executable, "-m", "neocloud", "check", "dev", "--policy-config",
                            "policy-config.json"], cwd=example, capture_output=True, text=True, timeout=300, env=env)
    assert check.returncode == 0, check.stderr
    # The pack installed with neocloud polices the example's resources (it has no policies/ of its own).
    assert check.stdout.startswith("stack dev: policy pack neocloud ")
    assert check.stdout.splitlines()[-1].startswith("passed: 0 mandatory, 0 advisory")


def test_requirements_txt_installs_the_nebius_extra() -> None:
    # `pulumi install` fills Pulumi.yaml's virtualenv from requirements.txt; the nebius stack imports pulumi_nebius.
    lines = [ln.strip() for ln in (REPO / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert lines == ["-e .[nebius]"]
    stack = (REPO / "stacks" / "Pulumi.nebius.yaml").read_text()
    assert "provider: nebius" in stack


def test_completion_for_an_unknown_shell_is_one_line_exit_2() -> None:
    result = subprocess.run([sys.executable, "-m", "neocloud", "completion", "fish"], capture_output=True,
                            text=True, timeout=60, cwd=REPO)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("neocloud: error: argument shell: invalid choice: 'fish'")
    assert result.stderr.count("\n") == 1


def test_the_github_workflow_runs_ci_run() -> None:
    # One CI script everywhere: the workflow's test job is .ci/run, which installs what the tests need.
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    assert any(step.get("run") == "bash .ci/run" for step in steps)
    script = (REPO / ".ci" / "run").read_text()
    assert "apt-get install -y -qq chromium" in script and "neocloud vendor fetch" in script


def test_plan_json_cost_without_a_price_is_null(capsys: pytest.CaptureFixture[str]) -> None:
    # The README: `cost` is `per_hour`, `per_month`, null without a price (stack outputs drop nulls on the way).
    assert main(["plan", "dev", "--json", "--project-dir", str(REPO)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cost"] == {"per_hour": None, "per_month": None}
    assert doc["pools"][0]["cost"] == {"price_per_gpu_hour": None, "per_hour": None, "per_month": None}
    assert main(["plan", "staging", "--json", "--project-dir", str(REPO)]) == 0
    priced = json.loads(capsys.readouterr().out)
    assert priced["cost"]["per_hour"] == pytest.approx(priced["total_gpus"] * 2.1)  # 2.10 $/GPU-hour in the stack
