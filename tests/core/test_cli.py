"""The command line: stable JSON, exit codes, one-line errors without tracebacks, and the engine's URN check."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from neocloud.cli import main
from neocloud.offline import DuplicateUrnError, run_program
from tests.conftest import REPO, VENDOR


def test_pulumi_yaml_validates_against_the_vendored_project_schema() -> None:
    schema = json.loads((VENDOR / "pulumi" / "project.json").read_text())
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text())
    jsonschema.Draft202012Validator(schema).validate(project)
    assert project["stackConfigDir"] == "stacks"
    assert project["runtime"]["name"] == "python"


def test_plan_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "staging", "--json", "--project-dir", str(REPO)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["gpus"], doc["nodes"], doc["racks"]) == (232, 31, 8)
    assert doc["power_kw"]["it"] == pytest.approx(316.2)
    assert doc["fabric"]["h100"]["leaf"] == 8
    assert all(set(r) == {"type", "name", "parent", "urn", "input_digests"} for r in doc["resources"])
    assert {"type": "neocloud:index:GpuCluster", "name": "staging", "parent": None} in [
        {k: r[k] for k in ("type", "name", "parent")} for r in doc["resources"]]
    assert doc["resource_count"] == len(doc["resources"])
    # No storage.filesystem in staging: plan --json carries no storage targets, only the checkpoint's size.
    assert not {"tier", "read_gbps", "write_gbps", "capacity_tib", "read_gbps_per_gpu"} & set(doc["storage"])
    assert doc["storage"]["checkpoint_write_basis"] == "limit" and doc["filesystem"] is None


def test_plan_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "gb200", "--project-dir", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert "NVLink: 8 domains of 72 GPUs" in out
    # kW per rack against racks.power_budget_kw (132 in the gb200 stack).
    assert "nvl72-su0: 8 x 18 nodes, 120 of 132 kW per rack (91%)" in out
    # No storage.filesystem in that stack: no targets to meet.
    assert "storage: no shared filesystem (storage.filesystem is not set): no throughput or capacity targets" in out
    assert "to object storage (not modelled): goodput assumes the spec's limit of 600 s per write" in out
    assert "tier targets" not in out
    assert "1,497.6 kW facility" in out


def test_plan_text_on_a_cloud(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "dev", "--project-dir", str(REPO)]) == 0
    out = capsys.readouterr().out
    assert "on 2 nodes, placed by the provider" in out and "0 racks" not in out
    assert "  racks: placed by the provider" in out
    assert "fabric: built by the provider (efa, 32 network cards per node): no switches or cables to buy" in out
    # 2 nodes get the good tier's single-node figure (4 GB/s read, H100RA Table 6), and what FSx was actually sized
    # to for it (4,800 GiB at 1000 MB/s/TiB: 2,400 GiB would carry only 2.34 GB/s), next to the targets.
    assert "storage (fsx-lustre, good tier targets): read 4 GB/s, the tier's single-node floor, write 2 GB/s" in out
    assert "FSx for Lustre: 4,800 GiB (4.688 TiB) at 1000 MB/s/TiB = 4.688 GB/s, sized by throughput" in out


def test_rack_lines_flag_racks_over_budget() -> None:
    from neocloud.cli.plan import _rack_lines

    racks = {"count": 1200, "nodes_per_rack": 4, "basis": "racks.nodes_per_rack",
             "groups": [{"name": "g", "racks": 1200, "nodes_per_rack": 4, "kw_per_rack": 57.2}]}
    assert _rack_lines(racks, 41.0)[1] == "    g: 1,200 x 4 nodes, 57.2 of 41 kW per rack (140%) OVER BUDGET"
    assert _rack_lines(racks, None)[1] == "    g: 1,200 x 4 nodes, 57.2 kW per rack (no racks.power_budget_kw)"


def test_fabric_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fabric", "--nodes", "127", "--rails", "8", "--radix", "64", "--nodes-per-su", "32",
                 "--management-ports", "4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["tiers"], doc["leaf"], doc["spine"], doc["core"]) == (2, 32, 16, 0)
    assert doc["cables"]["node_leaf"] == 1020 and doc["cables"]["leaf_spine"] == 1024
    assert doc["cables"]["spine_core"] == 0


def test_fabric_bad_flag_names_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fabric", "--nodes", "8", "--radix", "63"]) == 2
    assert capsys.readouterr().err == "neocloud: error: --radix: must be an even number >= 4; got 63\n"


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(schema)
    config = yaml.safe_load((REPO / "stacks" / "Pulumi.prod.yaml").read_text())["config"]["neocloud:cluster"]
    jsonschema.Draft202012Validator(schema).validate(config)


def test_unknown_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "nosuch", "--project-dir", str(REPO)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neocloud: error: STACK: no stack 'nosuch'") and err.count("\n") == 1


def _project_with_stack(tmp: Path, cluster: object) -> Path:
    (tmp / "stacks").mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp / name).write_text((REPO / name).read_text())
    (tmp / "components").symlink_to(REPO / "components")
    (tmp / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": {"neocloud:cluster": cluster}}))
    return tmp


def test_bad_config_is_one_line_exit_2_without_traceback(tmp_path: Path) -> None:
    cluster = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())["config"]["neocloud:cluster"]
    cluster["pools"][0]["system"] = "p9.mega"
    project = _project_with_stack(tmp_path, cluster)
    result = subprocess.run([sys.executable, "-m", "neocloud", "plan", "bad", "--project-dir", str(project)],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("neocloud: error: neocloud:cluster.pools[0].system: unknown system 'p9.mega'; known:")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_duplicate_urns_are_rejected_like_the_engine(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: dup\nruntime: python\n")
    (tmp_path / "Pulumi.x.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text(
        "import pulumi\n"
        "pulumi.ComponentResource('neocloud:test:Thing', 'same')\n"
        "pulumi.ComponentResource('neocloud:test:Thing', 'same')\n"
    )
    with pytest.raises(DuplicateUrnError, match="urn:pulumi:x::dup::neocloud:test:Thing::same"):
        run_program(tmp_path, "x")


def test_engine_records_parents_and_outputs() -> None:
    run = run_program(REPO, "staging")
    cluster = run.by_name("staging")
    pool = run.by_name("staging-h100")
    assert pool.parent == cluster.urn
    assert pool.inputs["neocloud"]["fabric"]["spine"] == 4
    assert run.outputs["plan"]["gpus"] == 232


def test_readme_config_reference_is_generated_from_the_spec() -> None:
    from neocloud.reference import BEGIN, END, config_reference

    readme = (REPO / "README.md").read_text()
    block = readme[readme.index(BEGIN) + len(BEGIN):readme.index(END)]
    assert block == f"\n{config_reference()}", "run: python -m neocloud.reference --write README.md"


def test_plan_text_shows_the_component_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "staging", "--project-dir", str(REPO)]) == 0
    lines = capsys.readouterr().out.splitlines()
    cluster = lines.index("  neocloud:index:GpuCluster staging")
    assert lines[cluster + 1].startswith("    ")  # children are indented under their component
    assert "    neocloud:index:GpuPool staging-h100" in lines


def test_fabric_for_a_catalog_system_counts_its_transceivers(capsys: pytest.CaptureFixture[str]) -> None:
    # H100RA 4-SU BOM: 1,536 switch OSFP and 508 system OSFP transceivers [P].
    assert main(["fabric", "--system", "dgx-h100", "--nodes", "127", "--management-ports", "4", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["rails"], doc["transceivers"]["switch"], doc["transceivers"]["node"]) == (8, 1536, 508)
    assert main(["fabric", "--system", "p9.mega", "--nodes", "8"]) == 2
    assert capsys.readouterr().err.startswith("neocloud: error: --system: unknown system 'p9.mega'; known: ")
