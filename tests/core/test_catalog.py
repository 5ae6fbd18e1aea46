"""Catalog entries against their sources (AWS-ACC = EC2 accelerated computing specifications; B200RA, NVL72RA)."""

from __future__ import annotations

import pytest

from neocloud.catalog import GPUS, SWITCHES, SYSTEMS
from neocloud.plan import fabric_for_system

AWS = sorted(n for n, s in SYSTEMS.items() if s.kind in ("aws", "aws-ultraserver"))


@pytest.mark.parametrize(("name", "gpu", "gpus", "cards", "gbps", "vcpus", "memory"), [
    # AWS-ACC performance and network specifications tables.
    ("p4d.24xlarge", "A100-SXM-40GB", 8, 4, 400, 96, 1152),
    ("p4de.24xlarge", "A100-SXM-80GB", 8, 4, 400, 96, 1152),
    ("p5.4xlarge", "H100-SXM", 1, 1, 100, 16, 256),
    ("p5.48xlarge", "H100-SXM", 8, 32, 3200, 192, 2048),
    ("p5en.48xlarge", "H200-SXM", 8, 16, 3200, 192, 2048),
    ("p6-b200.48xlarge", "B200", 8, 8, 3200, 192, 2048),
    ("p6-b300.48xlarge", "B300", 8, 16, 6400, 192, 4096),
])
def test_aws_instances_match_the_ec2_specifications(name: str, gpu: str, gpus: int, cards: int, gbps: int,
                                                    vcpus: int, memory: int) -> None:
    system = SYSTEMS[name]
    assert (system.gpu, system.gpus_per_node, system.efa_network_cards, system.efa_gbps) == (gpu, gpus, cards, gbps)
    assert (system.vcpus, system.memory_gib) == (vcpus, memory)
    assert not system.unverified


@pytest.mark.parametrize("name", AWS)
def test_aws_rails_are_the_efa_cards_at_their_line_rate(name: str) -> None:
    system = SYSTEMS[name]
    if system.efa_network_cards is None:
        assert "efa_network_cards" in system.unverified  # a site value, required by the spec before use
        return
    assert system.rails == system.efa_network_cards
    assert system.efa_gbps == system.efa_network_cards * system.nic_gbps


def test_a100_memory_by_instance() -> None:
    # p4d: "320 GiB (8 x 40 GiB)"; p4de: "640 GiB (8 x 80 GiB)" (AWS-ACC).
    assert GPUS[SYSTEMS["p4d.24xlarge"].gpu].memory_gb == 40
    assert GPUS[SYSTEMS["p4de.24xlarge"].gpu].memory_gb == 80


def test_p6_b300_efa_starts_at_card_one() -> None:
    # AWS-ACC: 17 network cards for 16 x 400G of EFA; card 0 is the ENA-only primary.
    system = SYSTEMS["p6-b300.48xlarge"]
    assert (system.efa_first_card, system.efa_first_card + system.efa_network_cards) == (1, 17)
    assert all(SYSTEMS[n].efa_first_card == 0 for n in AWS if n != "p6-b300.48xlarge")


def test_dgx_b200_node_transceivers_are_twin_port() -> None:
    # B200RA: the 8 compute ports use two-port transceivers, so 128 nodes take 512 node OSFPs, not 1,024.
    plan = fabric_for_system(system=SYSTEMS["dgx-b200"], switch=SWITCHES["QM9700"], nodes=128)
    assert plan.transceivers.node == 128 * 4


def test_b300_systems_carry_800g_connectx8() -> None:
    # B300XDR: 72 nodes x 8 rails on 800G XDR leaves; NVL72RA: one ConnectX-8 per GB300 GPU.
    for name in ("dgx-b300", "hgx-b300"):
        assert (SYSTEMS[name].rails, SYSTEMS[name].nic_gbps, SYSTEMS[name].default_nodes_per_su) == (8, 800, 72)
    gb300 = SYSTEMS["gb300-nvl72"]
    assert (gb300.rails, gb300.nic_gbps, gb300.gpus_per_nvlink_domain, gb300.rack_power_kw) == (4, 800, 72, 142.0)
    assert "nic_gbps" not in SYSTEMS["dgx-b300"].unverified
