"""The DCGM diagnostic reader on the JSON shapes dcgmi prints, and the sysfs NIC reader on the kernel's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neocloud.node import NodeInputError, parse_dcgm_diag, read_sysfs_infiniband


def _result(status: str, gpu: str = "0,1,2,3,4,5,6,7", warning: str | None = None) -> dict:  # type: ignore[type-arg]
    r: dict = {"gpu_ids": gpu, "status": status}  # type: ignore[type-arg]
    if warning:
        r["warnings"] = [warning]
    return r


def dcgm3(hardware_status: str = "Pass", warning: str | None = None) -> str:
    """DCGM 3.x ``dcgmi diag -r 3 -j``: categories Deployment, Integration, Hardware, Stress (NvvsCommon.h)."""
    deployment = [{"name": n, "results": [_result("Pass")]} for n in (
        "Denylist", "NVML Library", "CUDA Main Library", "Permissions and OS-related Blocks", "Persistence Mode",
        "Environmental Variables", "Page Retirement/Row Remap", "Graphics Processes", "Inforom")]
    per_gpu = [_result("Pass", str(i)) for i in range(7)] + [_result(hardware_status, "7", warning)]
    doc = {"DCGM GPU Diagnostic": {"test_categories": [
        {"category": "Deployment", "tests": deployment},
        {"category": "Integration", "tests": [{"name": "PCIe",
                                               "results": [_result("Pass", str(i)) for i in range(8)]}]},
        {"category": "Hardware", "tests": [{"name": "GPU Memory", "results": per_gpu},
                                           {"name": "Diagnostic", "results": [_result("Pass", str(i))
                                                                              for i in range(8)]}]},
        {"category": "Stress", "tests": [{"name": "Targeted Stress", "results": [_result("Skip", str(i))
                                                                              for i in range(8)]}]},
    ]}, "version": "3.3.7"}
    return "Successfully ran diagnostic for group.\n" + json.dumps(doc, indent=1)


def test_dcgm3_level3_pass() -> None:
    result = parse_dcgm_diag(dcgm3())
    assert result.passed and result.tests == 13 and result.failures == ()


def test_dcgm3_memory_failure_names_the_gpu_and_the_warning() -> None:
    result = parse_dcgm_diag(dcgm3("Fail", "Error using CUDA API cudaMalloc: 2 (out of memory) on GPU 7"))
    assert not result.passed
    assert result.failures == ("GPU Memory: fail on GPU 7 (Error using CUDA API cudaMalloc: 2 (out of memory) on "
                               "GPU 7)",)


def test_dcgm4_layout_with_entity_results() -> None:
    doc = {"DCGM Diagnostic": {"version": "4.2.3", "tests": [
        {"name": "memory", "results": [{"entity_group": "GPU", "entity_id": i, "status": "Pass"} for i in range(8)]},
        {"name": "pcie", "results": [{"entity_group": "GPU", "entity_id": 3, "status": "Fail",
                                      "warnings": [{"warning": "PCIe replay rate 12 exceeds 8"}]}]}]}}
    result = parse_dcgm_diag(json.dumps(doc))
    assert result.failures == ("pcie: fail on GPU 3 (PCIe replay rate 12 exceeds 8)",)


def test_dcgm_document_without_results_is_not_a_pass() -> None:
    result = parse_dcgm_diag('{"DCGM GPU Diagnostic": {"version": "4.2.3"}}')
    assert not result.passed and result.failures == ("no test produced a result",)
    with pytest.raises(ValueError, match="no JSON document"):
        parse_dcgm_diag("Error: unable to connect to host engine at 127.0.0.1:5555\n")


def _port(root: Path, ca: str, state: str, phys: str, rate: str, layer: str = "InfiniBand") -> None:
    port = root / ca / "ports" / "1"
    port.mkdir(parents=True)
    for name, value in (("state", state), ("phys_state", phys), ("rate", rate), ("link_layer", layer)):
        (port / name).write_text(value + "\n")


def test_sysfs_infiniband_reads_what_the_kernel_writes(tmp_path: Path) -> None:
    _port(tmp_path, "mlx5_0", "4: ACTIVE", "5: LinkUp", "400 Gb/sec (4X NDR)")
    _port(tmp_path, "mlx5_1", "1: DOWN", "3: Disabled", "40 Gb/sec (4X QDR)")
    ports = read_sysfs_infiniband(tmp_path)
    assert [(p.ca, p.state, p.physical_state, p.rate_gbps) for p in ports] == [
        ("mlx5_0", "4: ACTIVE", "5: LinkUp", 400.0), ("mlx5_1", "1: DOWN", "3: Disabled", 40.0)]
    with pytest.raises(NodeInputError, match="no adapter port"):
        read_sysfs_infiniband(tmp_path / "mlx5_0" / "ports" / "1")
