"""`neocloud fabric --system` and `neocloud plan` size the same hardware the same way (one code path)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from neocloud import SpecError, build_plan, load_cluster_spec
from neocloud.catalog import SWITCHES, SYSTEMS
from neocloud.cli import main
from neocloud.plan import fabric_for_system

FABRIC_SYSTEMS = sorted(name for name, s in SYSTEMS.items()
                        if s.kind not in ("aws", "aws-ultraserver") and s.rails > 0)
"""Systems whose fabric we build (on AWS, EFA is built by AWS; a system without compute-fabric NICs has none)."""


@pytest.mark.parametrize("name", sorted(n for n, s in SYSTEMS.items() if s.rails == 0))
def test_no_fabric_for_a_system_without_fabric_nics(capsys: pytest.CaptureFixture[str], name: str) -> None:
    """A 1-GPU Droplet has 25 Gbps private networking and no RDMA fabric (DigitalOcean "Droplet features"): the
    command and the planner both say there is no fabric, neither sizes one."""
    assert main(["fabric", "--system", name, "--nodes", "8"]) == 2
    assert "has no compute-fabric NIC (catalog rails 0)" in capsys.readouterr().err
    raw = {"name": "t", "provider": "digitalocean", "environment": "staging", "region": "atl1",
           "pools": [{"name": "p", "system": name, "nodes": 8}], "fabric": {"kind": "roce", "switch": "SN5600"}}
    assert build_plan(load_cluster_spec(raw)).pools[0].fabric is None


def _overrides(name: str) -> dict[str, Any]:
    """Site values for what the catalog leaves unverified (needed to plan racks), NIC speed kept as catalogued."""
    system = SYSTEMS[name]
    values = {"node_power_kw": 10.0, "rack_power_kw": 120.0, "nic_gbps": system.nic_gbps}
    return {f: values[f] for f in system.unverified if f in values}


def _cli_fabric(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["fabric", *args, "--json"]) == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


@pytest.mark.parametrize("switch", sorted(SWITCHES))
@pytest.mark.parametrize("name", FABRIC_SYSTEMS)
def test_fabric_command_and_plan_agree(capsys: pytest.CaptureFixture[str], name: str, switch: str) -> None:
    system = SYSTEMS[name]
    kind = "roce" if SWITCHES[switch].kind == "ethernet" else "infiniband"
    # 2.5 SUs: a partial SU, whole NVLink domains (GB200: 20 racks of 18 trays).
    nodes = system.default_nodes_per_su * 5 // 2 // system.nvlink_domain_nodes * system.nvlink_domain_nodes
    cli = _cli_fabric(capsys, "--system", name, "--switch", switch, "--nodes", str(nodes))
    raw = {
        "name": "t", "provider": "baremetal", "environment": "staging",
        "pools": [{"name": "p", "system": name, "nodes": nodes}],
        "racks": {"power_budget_kw": 130, "max_nodes_per_rack": 4},
        "fabric": {"kind": kind, "switch": switch},
        "catalog": {"systems": {name: o} if (o := _overrides(name)) else {}},
        "kubernetes": {"version": "1.34"},  # NVL72's ComputeDomains need DRA (on by default from 1.34)
    }
    try:
        spec = load_cluster_spec(raw)
    except SpecError as error:
        # A system the spec cannot deploy yet (AMD GPUs: no operator) still sizes its fabric the one way.
        assert error.path == "neocloud:cluster.pools[0].system"
        planned = fabric_for_system(system=system, switch=SWITCHES[switch], nodes=nodes)
    else:
        pool_fabric = build_plan(spec).pools[0].fabric
        assert pool_fabric is not None
        planned = pool_fabric
    assert cli == planned.to_dict()
    # The system sets rails, NIC speed and the SU size.
    assert (cli["rails"], cli["nic_gbps"], cli["nodes_per_su"]) == (system.rails, system.nic_gbps,
                                                                    system.default_nodes_per_su)


def test_flags_override_the_system(capsys: pytest.CaptureFixture[str]) -> None:
    doc = _cli_fabric(capsys, "--system", "dgx-h100", "--nodes", "96", "--nodes-per-su", "16", "--rails", "4")
    assert (doc["rails"], doc["nodes_per_su"], doc["scalable_units"]) == (4, 16, 6)


def test_gb200_su_is_eight_whole_racks(capsys: pytest.CaptureFixture[str]) -> None:
    # GB200RA: an SU is 8 NVL72 racks of 18 compute trays (4 CX-7 400G each) = 576 GPUs.
    doc = _cli_fabric(capsys, "--system", "gb200-nvl72", "--nodes", "288")
    assert (doc["nodes_per_su"], doc["scalable_units"], doc["rails"], doc["nic_gbps"]) == (144, 2, 4, 400)
    assert doc["cables"]["node_leaf"] == 288 * 4


@pytest.mark.parametrize(("args", "message"), [
    (["--nodes", "100"],
     "--nodes: gb200-nvl72 comes in whole NVLink domains of 18 nodes; 100 is not a multiple of 18"),
    (["--nodes", "144", "--nodes-per-su", "100"],
     "--nodes-per-su: 100 splits gb200-nvl72's NVLink domains of 18 nodes; use a multiple of 18"),
])
def test_gb200_racks_are_never_split(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["fabric", "--system", "gb200-nvl72", *args]) == 2
    assert capsys.readouterr().err == f"neocloud: error: {message}\n"


def test_split_ports_for_slower_nics(capsys: pytest.CaptureFixture[str]) -> None:
    # B300RA: each 800G SN5600 port carries two 400G links; DGX H100's 400G NICs on it use split ports.
    doc = _cli_fabric(capsys, "--system", "dgx-h100", "--switch", "SN5600", "--nodes", "64")
    assert (doc["link_gbps"], doc["port_split"], doc["link_radix"]) == (400, 2, 128)
    # Without a verified split (Q3400), a 400G link takes a whole 800G port unless the site says otherwise.
    doc = _cli_fabric(capsys, "--system", "dgx-h100", "--switch", "Q3400", "--nodes", "64")
    assert (doc["link_gbps"], doc["port_split"], doc["link_radix"]) == (400, 1, 144)
    doc = _cli_fabric(capsys, "--system", "dgx-h100", "--switch", "Q3400", "--nodes", "64", "--port-split", "2")
    assert (doc["port_split"], doc["link_radix"], doc["cables"]["node_leaf"]) == (2, 288, 64 * 8 // 2)


def test_leaf_utilisation_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fabric", "--system", "dgx-h100", "--switch", "Q3400", "--nodes", "96"]) == 0
    out = capsys.readouterr().out
    assert "leaf links: 32 down / 32 up of 144 (44% used; oversubscription 1:1)" in out


def test_faster_nics_on_slower_ports_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fabric", "--system", "dgx-b300", "--switch", "QM9700", "--nodes", "64"]) == 0
    assert "800G NICs run at 400G" in capsys.readouterr().out
