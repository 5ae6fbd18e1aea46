"""``neocloud node verify`` on realistic node output.

Fixtures (tests/node/fixtures): ``dgx-h100.nvidia-smi-q-x.xml`` follows the element tree and order of a real
``nvidia-smi -q -x`` document of NVIDIA's ``nvsmi_device_v12.dtd`` (driver R555+, every element of a ``<gpu>``,
``N/A`` where Hopper does not report a feature: page retirement, fan speed) with DGX H100 values (product name
``NVIDIA H100 80GB HBM3``, 81,559 MiB, 700 W, fabric ``Completed``); ``dgx-h100.topo-m.txt`` is the
``nvidia-smi topo -m`` matrix of an 8 x H100 host with 12 ConnectX-7 (8 compute NICs, each ``PIX`` to one GPU,
and two dual-port storage NICs ``NODE``/``SYS`` from every GPU), tab-separated with its Legend and NIC Legend as
the tool prints them; ``dgx-h100.ibstat.txt`` is ``ibstat`` for those 12 adapters (compute ports InfiniBand at 400,
storage ports Ethernet). Each faulty node is the good one with the one element a real fault changes.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from neocloud.catalog import SYSTEMS
from neocloud.cli import main
from neocloud.node import expectation_for, parse_ibstat, parse_nvidia_smi_xml, parse_topo

FIXTURES = Path(__file__).parent / "fixtures"
XML = (FIXTURES / "dgx-h100.nvidia-smi-q-x.xml").read_text()
TOPO = (FIXTURES / "dgx-h100.topo-m.txt").read_text()
IBSTAT = (FIXTURES / "dgx-h100.ibstat.txt").read_text()
DOCTYPE = '<?xml version="1.0" ?>\n<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v12.dtd">\n'


def edit_xml(change) -> str:  # type: ignore[no-untyped-def]
    root = ET.fromstring(XML)
    change(root)
    return DOCTYPE + ET.tostring(root, encoding="unicode")


def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], *, xml: str = XML, topo: str | None = TOPO,
        ibstat: str | None = IBSTAT, extra: tuple[str, ...] = (), system: str = "dgx-h100") -> tuple[int, list[str]]:
    (tmp_path / "q.xml").write_text(xml)
    argv = ["node", "verify", "--system", system, "--nvidia-smi-xml", str(tmp_path / "q.xml"), *extra]
    if topo is not None:
        (tmp_path / "topo.txt").write_text(topo)
        argv += ["--topo", str(tmp_path / "topo.txt")]
    if ibstat is not None:
        (tmp_path / "ibstat.txt").write_text(ibstat)
        argv += ["--ibstat", str(tmp_path / "ibstat.txt")]
    code = main(argv)
    captured = capsys.readouterr()
    lines = (captured.out if code != 2 else captured.err).splitlines()
    return code, lines


def test_fixtures_parse_as_the_real_tools_print_them() -> None:
    smi = parse_nvidia_smi_xml(XML)
    assert (smi.driver_version, smi.attached_gpus, len(smi.gpus)) == ("580.126.20", 8, 8)
    assert {g.product_name for g in smi.gpus} == {"NVIDIA H100 80GB HBM3"}
    assert all(g.memory_mib == 81559 and g.fabric_state == "Completed" for g in smi.gpus)
    topo = parse_topo(TOPO)
    assert topo.gpus == tuple(f"GPU{i}" for i in range(8))
    assert topo.nics == tuple(f"mlx5_{i}" for i in range(12))  # NIC Legend names, as ibstat names the CAs
    assert topo.relation[("GPU0", "GPU7")] == "NV18" and topo.relation[("GPU0", "mlx5_0")] == "PIX"
    ports = parse_ibstat(IBSTAT)
    assert len(ports) == 12 and {p.rate_gbps for p in ports} == {400.0, 200.0}


def test_matching_dgx_h100_node(tmp_path, capsys) -> None:
    code, lines = run(tmp_path, capsys, extra=("--min-driver", "550.54.15"))
    assert code == 0
    assert lines == ["ok: node matches dgx-h100 (8 x NVIDIA H100 80GB HBM3); checked gpus, memory, ecc, fabric, "
                     "driver, nvlink, nics, affinity, nic-link"]


def test_matching_node_without_topo_or_ibstat_says_what_it_did_not_check(tmp_path, capsys) -> None:
    code, lines = run(tmp_path, capsys, topo=None, ibstat=None)
    assert code == 0
    assert "not checked: driver (no minimum given), nvlink (no topo -m), nics and affinity (no topo -m), " \
           "nic-link (no ibstat)" in lines[0]


def _keep_gpus(n: int):  # type: ignore[no-untyped-def]
    def change(root: ET.Element) -> None:
        for gpu in root.findall("gpu")[n:]:
            root.remove(gpu)
        root.find("attached_gpus").text = str(n)  # type: ignore[union-attr]
    return change


def test_node_with_one_gpu_of_eight(tmp_path, capsys) -> None:
    code, lines = run(tmp_path, capsys, xml=edit_xml(_keep_gpus(1)), topo=None, ibstat=None)
    assert (code, lines) == (1, ["gpus: found 1 NVIDIA H100 80GB HBM3, expected 8"])


def test_node_with_a_missing_gpu(tmp_path, capsys) -> None:
    code, lines = run(tmp_path, capsys, xml=edit_xml(_keep_gpus(7)), topo=None, ibstat=None)
    assert (code, lines) == (1, ["gpus: found 7 NVIDIA H100 80GB HBM3, expected 8"])


def test_node_with_a_gpu_of_another_model(tmp_path, capsys) -> None:
    def change(root: ET.Element) -> None:
        last = root.findall("gpu")[-1]
        last.find("product_name").text = "NVIDIA A100-SXM4-80GB"  # type: ignore[union-attr]
        last.find("fb_memory_usage/total").text = "81920 MiB"  # type: ignore[union-attr]
    code, lines = run(tmp_path, capsys, xml=edit_xml(change), topo=None, ibstat=None)
    assert code == 1
    assert lines == ["gpus: found 7 NVIDIA H100 80GB HBM3, expected 8",
                     "gpu 00000000:DF:00.0: NVIDIA A100-SXM4-80GB, expected NVIDIA H100 80GB HBM3"]


def test_h200_node_is_not_an_h100_system(tmp_path, capsys) -> None:
    def change(root: ET.Element) -> None:
        for gpu in root.findall("gpu"):
            gpu.find("product_name").text = "NVIDIA H200"  # type: ignore[union-attr]
            gpu.find("fb_memory_usage/total").text = "143771 MiB"  # type: ignore[union-attr]
    code, lines = run(tmp_path, capsys, xml=edit_xml(change), topo=None, ibstat=None)
    assert code == 1 and lines[0] == "gpus: found 0 NVIDIA H100 80GB HBM3, expected 8"
    code, lines = run(tmp_path, capsys, xml=edit_xml(change), topo=None, ibstat=None, system="dgx-h200")
    assert code == 0


def test_downed_nic_from_ibstat(tmp_path, capsys) -> None:
    # What ibstat prints for a port whose cable or transceiver is out: State Down, Physical state Disabled.
    broken = IBSTAT.replace("CA 'mlx5_3'\n", "CA 'mlx5_3'\n", 1)
    head, rest = broken.split("CA 'mlx5_3'\n", 1)
    block, tail = rest.split("CA 'mlx5_4'\n", 1)
    block = block.replace("State: Active", "State: Down").replace("Physical state: LinkUp",
                                                                  "Physical state: Disabled").replace("Rate: 400",
                                                                                                      "Rate: 40")
    code, lines = run(tmp_path, capsys, ibstat=head + "CA 'mlx5_3'\n" + block + "CA 'mlx5_4'\n" + tail)
    assert (code, lines) == (1, ["nic-link: mlx5_3 port 1 is Down/Disabled, expected Active/LinkUp"])
    # Without topo -m the compute NICs cannot be told from storage NICs: the count of ports up at rate decides.
    code, lines = run(tmp_path, capsys, topo=None, ibstat=head + "CA 'mlx5_3'\n" + block + "CA 'mlx5_4'\n" + tail)
    assert code == 1 and lines[0].startswith("nic-link: found 7 ports Active/LinkUp at 400 Gb/s, expected 8; ")
    assert "mlx5_3 port 1 Down/Disabled 40 Gb/s" in lines[0]


def test_nic_at_the_wrong_rate(tmp_path, capsys) -> None:
    head, rest = IBSTAT.split("CA 'mlx5_7'\n", 1)
    rest = rest.replace("Rate: 400", "Rate: 200", 1)
    code, lines = run(tmp_path, capsys, ibstat=head + "CA 'mlx5_7'\n" + rest)
    assert (code, lines) == (1, ["nic-link: mlx5_7 port 1 runs at 200 Gb/s, expected 400"])


def _topo_cell(text: str, row: str, column: int, value: str) -> str:
    out = []
    for line in text.splitlines():
        cells = line.split("\t")
        if cells[0] == row:
            cells[column + 1] = value
        out.append("\t".join(cells))
    return "\n".join(out) + "\n"


def test_nvlink_link_down(tmp_path, capsys) -> None:
    topo = _topo_cell(_topo_cell(TOPO, "GPU0", 5, "NV17"), "GPU5", 0, "NV17")
    code, lines = run(tmp_path, capsys, topo=topo)
    assert (code, lines) == (1, ["nvlink: GPU0-GPU5 has 17 links (NV17), expected NV18"])


def test_gpu_without_a_nic_under_its_pcie_switch(tmp_path, capsys) -> None:
    topo = _topo_cell(_topo_cell(TOPO, "GPU3", 8 + 2, "NODE"), "GPU3", 8 + 3, "NODE")
    code, lines = run(tmp_path, capsys, topo=topo)
    assert (code, lines) == (1, ["affinity: GPU3 has no NIC under its PCIe switch (nearest NODE/SYS), "
                                 "expected PIX or PXB"])


def test_nic_missing_from_the_pcie_tree(tmp_path, capsys) -> None:
    # A NIC that fell off the bus is gone from topo -m: drop NIC9 (mlx5_9) from the header, rows and legend.
    out = []
    for line in TOPO.splitlines():
        cells = line.split("\t")
        if cells[0] == "NIC9" or line.strip() == "NIC9: mlx5_9":
            continue
        if len(cells) > 18 and (cells[0].startswith(("GPU", "NIC")) or cells[0] == ""):
            del cells[8 + 9 + 1]
        out.append("\t".join(cells))
    code, lines = run(tmp_path, capsys, topo="\n".join(out) + "\n")
    assert code == 1
    assert lines == ["nics: found 7 GPU-affine NICs (mlx5_0, mlx5_1, mlx5_2, mlx5_3, mlx5_6, mlx5_7, mlx5_8), "
                     "expected 8"]


def _set(gpu_index: int, path: str, value: str):  # type: ignore[no-untyped-def]
    def change(root: ET.Element) -> None:
        root.findall("gpu")[gpu_index].find(path).text = value  # type: ignore[union-attr]
    return change


@pytest.mark.parametrize(("change", "line"), [
    (_set(2, "remapped_rows/remapped_row_pending", "Yes"),
     "ecc: gpu 00000000:52:00.0 has a row remapping pending (applied at the next GPU reset), expected none"),
    (_set(4, "remapped_rows/remapped_row_failure", "Yes"),
     "ecc: gpu 00000000:9D:00.0 had a row remapping failure (NVIDIA RMA condition), expected none"),
    (_set(1, "ecc_errors/volatile/dram_uncorrectable", "2"),
     "ecc: gpu 00000000:43:00.0 has 2 uncorrectable ECC errors since driver load, expected 0"),
    (_set(0, "ecc_mode/current_ecc", "Disabled"), "ecc: gpu 00000000:1B:00.0 has ECC disabled, expected enabled"),
    (_set(6, "gpu_recovery_action", "Reset"), "ecc: gpu 00000000:D1:00.0 asks for recovery action Reset, "
     "expected None"),
    (_set(7, "fabric/state", "In Progress"), "fabric: gpu 00000000:DF:00.0 NVLink fabric In Progress/Success, "
     "expected Completed/Success"),
    (_set(3, "fb_memory_usage/total", "40960 MiB"),
     "memory: gpu 00000000:61:00.0 has 40960 MiB, expected at least 76293 MiB"),
])
def test_gpu_health_faults(tmp_path, capsys, change, line) -> None:
    code, lines = run(tmp_path, capsys, xml=edit_xml(change), topo=None, ibstat=None)
    assert (code, lines) == (1, [line])


def test_retired_pages_in_the_pre_ampere_layout(tmp_path, capsys) -> None:
    # Before Ampere, nvidia-smi reports page retirement with counts; pending_retirement Yes until a reboot.
    def change(root: ET.Element) -> None:
        gpu = root.findall("gpu")[5]
        gpu.find("retired_pages/double_bit_retirement/retired_count").text = "3"  # type: ignore[union-attr]
        gpu.find("retired_pages/pending_retirement").text = "Yes"  # type: ignore[union-attr]
    code, lines = run(tmp_path, capsys, xml=edit_xml(change), topo=None, ibstat=None)
    assert (code, lines) == (1, ["ecc: gpu 00000000:C3:00.0 has 3 retired pages, retirement pending, expected none"])


def test_driver_older_than_required(tmp_path, capsys) -> None:
    code, lines = run(tmp_path, capsys, topo=None, ibstat=None, extra=("--min-driver", "590.10"))
    assert (code, lines) == (1, ["driver: found 580.126.20, expected at least 590.10"])


def test_json_document(tmp_path, capsys) -> None:
    code, lines = run(tmp_path, capsys, xml=edit_xml(_keep_gpus(7)), extra=("--json",))
    doc = json.loads("\n".join(lines))
    assert code == 1 and doc["ok"] is False and doc["mismatches"][0] == "gpus: found 7 NVIDIA H100 80GB HBM3, " \
        "expected 8"


@pytest.mark.parametrize(("flag", "content", "message"), [
        # nvidia-smi killed mid-write: a truncated document.
    ("xml", '<?xml version="1.0" ?>\n<nvidia_smi_log><gpu id="1"><product_name>NVIDIA H100',
     "--nvidia-smi-xml: {path}: not well-formed XML (no element found: line 2, column 53)"),
    ("xml", TOPO, "--nvidia-smi-xml: {path}: not well-formed XML (syntax error: line 1, column 1)"),
    ("xml", "<gpu_log/>", "--nvidia-smi-xml: {path}: root element <gpu_log>, expected <nvidia_smi_log> "
     "(nvidia-smi -q -x)"),
    ("xml", '<!DOCTYPE x [<!ENTITY e "boom">]><nvidia_smi_log>&e;</nvidia_smi_log>',
     "--nvidia-smi-xml: {path}: declares XML entities, which nvidia-smi -q -x output never does"),
    ("topo", "nvidia-smi: command not found\n", "--topo: {path}: no matrix header starting with GPU0 "
     "(nvidia-smi topo -m)"),
    ("ibstat", "bash: ibstat: command not found\n", "--ibstat: {path}: no \"CA '<name>'\" block with a "
     "\"Port N:\" section (ibstat)"),
])
def test_malformed_input_is_exit_2_naming_the_flag(tmp_path, capsys, flag, content, message) -> None:
    kwargs = {"xml": XML, "topo": None, "ibstat": None}
    kwargs[flag] = content
    code, lines = run(tmp_path, capsys, **kwargs)  # type: ignore[arg-type]
    path = {"xml": tmp_path / "q.xml", "topo": tmp_path / "topo.txt", "ibstat": tmp_path / "ibstat.txt"}[flag]
    assert (code, lines) == (2, [f"neocloud: error: {message.format(path=path)}"])


def test_unreadable_file_and_unknown_system(tmp_path, capsys) -> None:
    assert main(["node", "verify", "--system", "dgx-h100", "--nvidia-smi-xml", str(tmp_path / "none.xml")]) == 2
    assert capsys.readouterr().err == (f"neocloud: error: --nvidia-smi-xml: cannot read {tmp_path / 'none.xml'}: "
                                       "No such file or directory\n")
    code, lines = run(tmp_path, capsys, system="dgx-h999")
    assert code == 2 and lines[0].startswith("neocloud: error: --system: unknown system 'dgx-h999'; known: ")
    code, lines = run(tmp_path, capsys, system="mi300x-8")
    assert (code, lines) == (2, ["neocloud: error: --system: the catalog has no nvidia-smi product name for GPU "
                                 "'MI300X' of system 'mi300x-8'; pass --product-name"])


def test_expectations_follow_the_catalog() -> None:
    p5 = expectation_for(SYSTEMS["p5.48xlarge"])
    assert (p5.gpus, p5.rails, p5.nic_gbps, p5.nvlinks) == (8, 32, 100.0, 18)  # 32 EFA cards at 100 Gb/s
    tray = expectation_for(SYSTEMS["gb200-nvl72"])
    assert (tray.gpus, tray.rails, tray.product_name) == (4, 4, "NVIDIA GB200")
