"""Bad input files and names are exit 2 with one line per problem -- never a traceback, a hang or gigabytes:
stack files (YAML errors with line and column, binary, unreadable, non-mapping, symlinked, alias bombs,
recursive aliases, dates, !!binary, !!set, infinities, 100k-deep nesting, configs over 128 KiB), stack names,
policy configs, every spec error listed and a did-you-mean for misspelt keys.

Commands that could hang run in a subprocess with a bounded ``timeout``, so a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from neocloud.cli import main
from neocloud.errors import SpecError
from neocloud.offline import load_stack_config
from neocloud.offline.analyzer import load_policy_config
from neocloud.offline.engine import MAX_CONFIG_BYTES
from tests.conftest import REPO

GUARD = 120
"""Seconds a subprocess here may take: a hang fails the test instead of blocking CI."""

DEV = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())["config"]["neocloud:cluster"]


def _project(root: Path, stack_text: str | bytes, stack: str = "x") -> Path:
    (root / "stacks").mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: inputs\nruntime: python\nstackConfigDir: stacks\nmain: __main__.py\n")
    (root / "__main__.py").write_text((REPO / "__main__.py").read_text())
    for module in ("components",):
        (root / module).symlink_to(REPO / module)
    target = root / "stacks" / f"Pulumi.{stack}.yaml"
    if isinstance(stack_text, bytes):
        target.write_bytes(stack_text)
    else:
        target.write_text(stack_text)
    return root


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neocloud", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=GUARD)


def _bad_input(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = [ln for ln in result.stderr.strip().splitlines() if ln.startswith("neocloud: error: ")]
    assert lines, result.stderr
    return lines


def _error(root: Path, stack: str = "x") -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_stack_config(root, stack)
    return caught.value


# --- YAML documents -----------------------------------------------------------------------------------------

def test_a_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    root = _project(tmp_path, "config:\n  neocloud:cluster:\n    name: a\n    pools: [1, 2\n")
    error = _error(root)
    assert error.path == "stacks/Pulumi.x.yaml"
    assert error.message.startswith("not valid YAML: line 5 column 1: ")


def test_a_tab_indent_error_names_line_and_column(tmp_path: Path) -> None:
    root = _project(tmp_path, "config:\n\tneocloud:cluster: {}\n")
    assert "line 2 column 1" in _error(root).message


@pytest.mark.parametrize("command", ["plan", "check"])
def test_a_yaml_alias_bomb_is_refused_fast(tmp_path: Path, command: str) -> None:
    lines = ["config:", "  neocloud:cluster:", '    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        lines.append(f"    {name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    root = _project(tmp_path, "\n".join(lines) + "\n")
    (line,) = _bad_input(_run(command, "x", "--project-dir", str(root)))
    assert line == ("neocloud: error: stacks/Pulumi.x.yaml: expands to more than 200,000 values (YAML aliases used "
                    "over and over?); write the values out")


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    root = _project(tmp_path, "config:\n  neocloud:cluster: &loop\n    name: a\n    again: *loop\n")
    error = _error(root)
    assert error.path == "stacks/Pulumi.x.yaml: config.neocloud:cluster.again"
    assert "refers to itself" in error.message


@pytest.mark.parametrize("value, said", [
    ("2026-12-01", "a YAML date (2026-12-01) is not a plain value; quote it"),
    ("!!binary aGVsbG8=", "a !!binary value (aGVsbG8=) is not a plain value; use a (base64) string"),
    ("!!set {a: null, b: null}", "a !!set (...) is not a plain value; use a list"),
])
def test_yaml_values_json_cannot_carry_are_refused_with_their_line(tmp_path: Path, value: str, said: str) -> None:
    root = _project(tmp_path, f"config:\n  neocloud:cluster:\n    name: a\n    since: {value}\n")
    error = _error(root)
    assert error.message.startswith("line 4 column 12: ") and said in error.message


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_infinities_and_nan_are_refused_naming_the_path(tmp_path: Path, value: str) -> None:
    cluster = json.loads(json.dumps(DEV))
    cluster["pools"][0]["price_per_gpu_hour"] = "PLACEHOLDER"
    text = yaml.safe_dump({"config": {"neocloud:cluster": cluster}}).replace("PLACEHOLDER", value)
    root = _project(tmp_path, text)
    error = _error(root)
    assert error.path == "stacks/Pulumi.x.yaml: config.neocloud:cluster.pools[0].price_per_gpu_hour"
    assert "allowed: a finite number" in error.message


def test_a_100k_deep_stack_file_is_refused(tmp_path: Path) -> None:
    root = _project(tmp_path, "config:\n  neocloud:cluster: " + "[" * 100_000 + "]" * 100_000 + "\n")
    (line,) = _bad_input(_run("plan", "x", "--project-dir", str(root)))
    assert "nested more than 64 levels deep" in line


@pytest.mark.parametrize("content, said", [
    (b"\x00\x01\x02binary", "is binary (it contains NUL bytes)"),
    (b"config: \xff\xfe\n", "is not UTF-8 text"),
    ("- a\n- list\n", "must be a YAML mapping with a 'config' key; got a list"),
    ("just a string\n", "must be a YAML mapping with a 'config' key; got a string"),
    ("config: [1, 2]\n", "must be a mapping of config keys; got a list"),
])
def test_unusable_stack_files_are_one_line(tmp_path: Path, content: str | bytes, said: str) -> None:
    root = _project(tmp_path, content)
    (line,) = _bad_input(_run("plan", "x", "--project-dir", str(root)))
    assert said in line


def test_an_unreadable_stack_file_is_one_line_even_as_root(tmp_path: Path) -> None:
    root = _project(tmp_path, "config: {}\n")
    target = root / "stacks" / "Pulumi.x.yaml"
    target.unlink()
    target.mkdir()  # a directory where the file should be: read() fails whoever we are
    error = _error(root)
    assert error.message == f"{target} is not a regular file"


def test_a_dangling_symlink_stack_file_says_where_it_points(tmp_path: Path) -> None:
    root = _project(tmp_path, "config: {}\n")
    target = root / "stacks" / "Pulumi.x.yaml"
    target.unlink()
    target.symlink_to(tmp_path / "gone.yaml")
    assert "is a symlink to" in _error(root).message and "which does not exist" in _error(root).message


def test_a_symlinked_stack_file_that_resolves_is_read(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.yaml"
    real.write_text(yaml.safe_dump({"config": {"neocloud:cluster": DEV}}))
    root = _project(tmp_path / "p", "config: {}\n")
    (root / "stacks" / "Pulumi.x.yaml").unlink()
    (root / "stacks" / "Pulumi.x.yaml").symlink_to(real)
    config, _ = load_stack_config(root, "x")
    assert config["neocloud:cluster"]["name"] == DEV["name"]


def test_a_config_over_128_kib_is_refused_before_the_program_runs(tmp_path: Path) -> None:
    cluster = json.loads(json.dumps(DEV))
    cluster["notes"] = "x" * (MAX_CONFIG_BYTES + 10)
    root = _project(tmp_path, yaml.safe_dump({"config": {"neocloud:cluster": cluster}}))
    (line,) = _bad_input(_run("check", "x", "--project-dir", str(root)))
    assert "as JSON (largest key neocloud:cluster); at most 131,071" in line
    assert "one environment variable, which Linux limits to 128 KiB" in line


# --- stack names --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["x" * 300, "with space", "ünïcode", "a::b", "", "a/b"])
def test_invalid_stack_names_are_bad_input(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neocloud: error: STACK: ") and "is not a valid stack name; allowed: 1 to 100" in err
    assert err.count("\n") == 1


def test_a_misspelt_stack_gets_a_did_you_mean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "prdo"]) == 2
    assert capsys.readouterr().err.rstrip().endswith("did you mean 'prod'?")


# --- the spec: every error, did-you-mean ---------------------------------------------------------------------

def _with(**changes: Any) -> dict[str, Any]:
    cluster = json.loads(json.dumps(DEV))
    cluster.update(changes)
    return cluster


def test_every_spec_error_is_listed_one_line_each(tmp_path: Path) -> None:
    cluster = _with(environment="qa", pools=[{"name": "a", "system": "p9.mega", "nodes": -1}])
    root = _project(tmp_path, yaml.safe_dump({"config": {"neocloud:cluster": cluster}}))
    lines = _bad_input(_run("plan", "x", "--project-dir", str(root)))
    assert len(lines) >= 2 and not any("more)" in ln for ln in lines)
    assert any(ln.startswith("neocloud: error: neocloud:cluster.environment: got 'qa'; allowed: ") for ln in lines)
    assert any(ln.startswith("neocloud: error: neocloud:cluster.pools[0].nodes: ") for ln in lines)


def test_a_misspelt_spec_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    pool = dict(DEV["pools"][0])
    pool["systen"] = pool.pop("system")
    root = _project(tmp_path, yaml.safe_dump({"config": {"neocloud:cluster": _with(pools=[pool])}}))
    lines = _bad_input(_run("plan", "x", "--project-dir", str(root)))
    assert ("neocloud: error: neocloud:cluster.pools[0].systen: unknown field 'systen'; did you mean 'system'? "
            "allowed: name, system,") in "\n".join(lines)


def test_a_misspelt_config_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    root = _project(tmp_path, yaml.safe_dump({"config": {"neocloud:clutser": DEV}}))
    (line,) = _bad_input(_run("plan", "x", "--project-dir", str(root)))
    assert line == ("neocloud: error: stacks/Pulumi.x.yaml: config.neocloud:clutser: unknown config key; did you "
                    "mean 'neocloud:cluster'? known: neocloud:cluster, neocloud:kubeconfig, neocloud:kubeContext")


def test_keys_of_other_namespaces_pass_through(tmp_path: Path) -> None:
    root = _project(tmp_path, yaml.safe_dump({"config": {"neocloud:cluster": DEV, "aws:region": "us-east-2"}}))
    config, _ = load_stack_config(root, "x")
    assert config["aws:region"] == "us-east-2"


# --- policy configs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, said", [
    (b"\x00\x00\x00", "is binary"),
    (b"[" * 100_000 + b"]" * 100_000, "nested more than 64 levels deep"),
    (b'{"hot-spare-ratio": {"maxSparePercent": NaN}}', "NaN is not a JSON number"),
    (b'{"hot-spare-ratio": {\n  "maxSparePercent": }', "not valid JSON: line 2 column 22: "),
])
def test_bad_policy_config_files_are_one_line(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "policy.json"
    path.write_bytes(content)
    with pytest.raises(SpecError) as caught:
        load_policy_config(path)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_a_misspelt_policy_config_property_is_an_error_not_a_default(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"hot-spare-ratio": {"maxSparePrecent": 5}}))
    result = _run("check", "gb200", "--policy-config", str(path))
    (line,) = _bad_input(result)
    assert line.startswith(f"neocloud: error: {path}: hot-spare-ratio.maxSparePrecent: unknown property; did you "
                           "mean 'maxSparePercent'? properties: maxSparePercent, minSparePercent")


def test_a_misspelt_policy_name_gets_a_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"hot-spare-ration": "mandatory"}))
    (line,) = _bad_input(_run("check", "gb200", "--policy-config", str(path)))
    assert "hot-spare-ration: no such policy in the pack; did you mean 'hot-spare-ratio'?" in line


def test_the_program_itself_names_a_misspelt_config_key() -> None:
    # What the program says under the real engine too (config handed over without neocloud's file reader).
    from neocloud.offline import run_program

    with pytest.raises(SpecError) as caught:
        run_program(REPO, "dev", config={"neocloud:clutser": DEV})
    assert caught.value.path == "neocloud:cluster"
    assert caught.value.message == ("required: set it in stacks/Pulumi.<stack>.yaml (the stack sets "
                                    "'neocloud:clutser': misspelt?)")
    assert caught.value.registered_resources == 0


@pytest.mark.parametrize("where, value", [("storage", float("inf")), ("pools", float("nan"))])
def test_non_finite_numbers_given_to_run_program_are_refused(where: str, value: float) -> None:
    # Config handed to run_program directly (tests, tools) passes the same checks as a stack file.
    from neocloud.offline import run_program

    cluster = json.loads(json.dumps(DEV))
    if where == "storage":
        cluster.setdefault("storage", {})["dataset_tib"] = value
        path = "config: neocloud:cluster.storage.dataset_tib"
    else:
        cluster["pools"][0]["price_per_gpu_hour"] = value
        path = "config: neocloud:cluster.pools[0].price_per_gpu_hour"
    with pytest.raises(SpecError) as caught:
        run_program(REPO, "dev", config={"neocloud:cluster": cluster})
    assert caught.value.path == path and "allowed: a finite number" in caught.value.message
