"""Fabric sizing: the DGX SuperPOD tables exactly, then invariants for any radix, SU size and tier count."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud import SpecError
from neocloud.plan import size_fabric

QM9700 = 64


@pytest.mark.parametrize(
    ("nodes", "ufm_ports", "leaf", "spine", "node_leaf", "leaf_spine"),
    [
        # H100RA Table 4: 1 SU = 31 nodes + UFM (4 ports), 8 leaf, 4 spine, 252 / 256 cables [P]
        (31, 4, 8, 4, 252, 256),
        # H100RA Table 4: 2 SU = 63 nodes, 16 leaf, 8 spine [P] (cable counts not published: 63*8+4, 16*32)
        (63, 4, 16, 8, 508, 512),
        # H100RA Table 4: 4 SU = 127 nodes, 32 leaf, 16 spine, 1,020 / 1,024 cables [P]
        (127, 4, 32, 16, 1020, 1024),
        # H100RA Table 3 / B200RA: 4 SU full = 128 nodes, 32 / 16, 1,024 / 1,024 [P]
        (128, 0, 32, 16, 1024, 1024),
        # 8 SU = 256 nodes (2,048 GPUs): 64 leaf, 32 spine, 2,048 / 2,048 [P]
        (256, 0, 64, 32, 2048, 2048),
    ],
)
def test_superpod_tables(nodes: int, ufm_ports: int, leaf: int, spine: int, node_leaf: int, leaf_spine: int) -> None:
    plan = size_fabric(nodes=nodes, rails=8, radix=QM9700, nodes_per_su=32, management_ports=ufm_ports,
                       node_ports_per_cage=2)
    assert (plan.tiers, plan.leaf, plan.spine, plan.core) == (2, leaf, spine, 0)
    assert (plan.cables.node_leaf, plan.cables.leaf_spine, plan.cables.spine_core) == (node_leaf, leaf_spine, 0)
    assert plan.oversubscription == 1.0


def test_h100_4su_bill_of_materials() -> None:
    # H100RA 4-SU BOM: 48 compute-fabric QM9700, 1,536 switch OSFP transceivers, 508 system OSFP [P].
    plan = size_fabric(nodes=127, rails=8, radix=QM9700, nodes_per_su=32, management_ports=4,
                       switch_ports_per_cage=2, node_ports_per_cage=2)
    assert plan.switches == 48
    assert plan.transceivers.switch == 1536
    assert plan.transceivers.node == 508


def test_partial_su_gets_full_su_leaves_and_uplinks() -> None:
    # A partial SU still gets its leaf switches and leaf-spine cables built for the full SU [P].
    partial = size_fabric(nodes=40, rails=8, radix=QM9700, nodes_per_su=32)
    assert partial.scalable_units == 2
    assert partial.leaf == 16
    assert partial.cables.leaf_spine == 16 * 32


def test_three_tier_at_full_scale_matches_fat_tree_capacity() -> None:
    # Al-Fares et al.: three tiers of k-port switches reach k^3/4 endpoints with 5k^2/4 switches [P].
    k = QM9700
    plan = size_fabric(nodes=k**3 // 4 // 8, rails=8, radix=k, nodes_per_su=32)
    assert plan.tiers == 3
    assert plan.nodes * plan.rails == k**3 // 4
    assert plan.switches == 5 * k * k // 4
    assert plan.pods == k


def test_beyond_three_tiers_is_bad_input() -> None:
    with pytest.raises(SpecError, match=r"fabric\.nodes: .*three-tier fat tree of radix 64"):
        size_fabric(nodes=64**3 // 4 // 8 + 1, rails=8, radix=QM9700, nodes_per_su=32)


def test_two_tier_limit_is_radix_leaves() -> None:
    # k leaves x k/2 downlinks = k^2/2 endpoints is the two-tier limit [P]: 8 SU on QM9700 is two tiers, 9 is not.
    assert size_fabric(nodes=256, rails=8, radix=QM9700, nodes_per_su=32).tiers == 2
    assert size_fabric(nodes=257, rails=8, radix=QM9700, nodes_per_su=32).tiers == 3


def test_small_fabric_is_one_switch() -> None:
    plan = size_fabric(nodes=4, rails=8, radix=QM9700, nodes_per_su=32)
    assert (plan.tiers, plan.leaf, plan.spine, plan.cables.node_leaf) == (1, 1, 0, 32)


def test_oversubscription_is_within_the_limit() -> None:
    plan = size_fabric(nodes=256, rails=8, radix=QM9700, nodes_per_su=32, oversubscription=2.0)
    assert plan.oversubscription <= 2.0
    assert plan.leaf_downlinks + plan.leaf_uplinks <= QM9700
    # Fewer uplinks than the non-blocking build means fewer spines.
    assert plan.spine < 32


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"nodes": 0}, "fabric.nodes"),
        ({"rails": 0}, "fabric.rails"),
        ({"radix": 63}, "fabric.radix"),
        ({"nodes_per_su": 0}, "fabric.nodes_per_su"),
        ({"oversubscription": 0.5}, "fabric.oversubscription"),
        ({"management_ports": -1}, "fabric.management_ports"),
    ],
)
def test_bad_inputs_name_their_path(kwargs: dict[str, float], path: str) -> None:
    args = {"nodes": 32, "rails": 8, "radix": 64, "nodes_per_su": 32} | kwargs
    with pytest.raises(SpecError) as info:
        size_fabric(**args)  # type: ignore[arg-type]
    assert info.value.path == path


@settings(max_examples=300, deadline=None)
@given(
    nodes=st.integers(1, 6000),
    rails=st.sampled_from([1, 2, 4, 8, 16]),
    radix=st.sampled_from([16, 32, 36, 40, 64, 128, 144]),
    nodes_per_su=st.integers(1, 256),
    oversubscription=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
    management_ports=st.integers(0, 8),
)
def test_fabric_invariants(nodes: int, rails: int, radix: int, nodes_per_su: int, oversubscription: float,
                           management_ports: int) -> None:
    try:
        plan = size_fabric(nodes=nodes, rails=rails, radix=radix, nodes_per_su=nodes_per_su,
                           oversubscription=oversubscription, management_ports=management_ports)
    except SpecError as error:
        # The only refusal is a fabric beyond three tiers: more pods than a core switch has ports.
        assert error.path == "fabric.nodes"
        pods = int(re.search(r"need (\d+) pods", error.message).group(1))  # type: ignore[union-attr]
        assert pods > radix
        return
    endpoints = nodes * rails + management_ports
    # Every node port (and manager port) has a leaf port.
    assert plan.cables.node_leaf == endpoints
    if plan.tiers == 1:
        assert endpoints <= radix
        return
    assert plan.leaf * plan.leaf_downlinks >= endpoints
    # No switch over its radix: leaves, spines (two tiers: all ports; three tiers: half down, half up), cores.
    assert plan.leaf_downlinks + plan.leaf_uplinks <= radix
    if plan.tiers == 2:
        assert plan.leaf <= radix
        assert plan.spine * radix >= plan.cables.leaf_spine
        assert plan.spine <= plan.leaf_uplinks  # every leaf reaches every spine
    else:
        assert plan.spine * (radix // 2) >= plan.cables.leaf_spine
        assert plan.core * radix >= plan.cables.spine_core
        assert plan.pods <= radix
        assert plan.spines_per_pod <= plan.leaf_uplinks
    # Non-blocking when asked; never past the asked ratio.
    assert plan.oversubscription <= oversubscription + 1e-9
    if oversubscription == 1.0:
        assert plan.leaf_uplinks >= plan.leaf_downlinks
        assert plan.cables.spine_core in (0, plan.cables.leaf_spine)
    # Cabling per rail adds up.
    assert sum(r.node_cables + r.management_cables for r in plan.rails_cabling) == endpoints
