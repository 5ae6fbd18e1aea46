"""Properties of the plan-side Kubernetes decisions for any pool size: every node is in exactly one Slurm leaf
and one acceptance group, NVLink blocks are whole domains, Kueue levels end at the host."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from components.kubernetes.topology import HOSTNAME, kueue_levels
from neocloud import build_plan, load_cluster_spec
from neocloud.plan.kubernetes import acceptance_tests
from neocloud.plan.slurm import slurm_topology
from tests.kubernetes.runs import cluster_spec
from tests.kubernetes.test_k8s_composition import _expand


def _plan(base: str, nodes: int, spares: int, nodes_per_su: int | None = None):
    cluster = cluster_spec(base)
    cluster["pools"][0].update(nodes=nodes, spares=spares)
    cluster["kubernetes"]["queues"] = []
    cluster["kubernetes"].pop("traffic_regulator", None)
    if nodes_per_su is not None:
        cluster["fabric"]["nodes_per_su"] = nodes_per_su
    cluster["fabric"].pop("management_ports", None)
    spec = load_cluster_spec(cluster)
    return spec, build_plan(spec)


def _check(spec_plan) -> None:
    spec, plan = spec_plan
    (pool,) = plan.pools
    tree, *blocks = slurm_topology(plan)
    switches = {s["switch"]: s for s in tree["tree"]["switches"]}
    leaves = switches[pool.name]["children"].split(",")
    nodes = [n for leaf in leaves for n in _expand(switches[leaf]["nodes"])]
    assert len(nodes) == len(set(nodes)) == pool.total_nodes
    domain = pool.system.nvlink_domain_nodes
    if domain > 1:
        (block,) = blocks
        sizes = block["block"]["block_sizes"]
        assert sizes[0] == domain
        assert all(b % a == 0 and (b // a) & (b // a - 1) == 0 for a, b in itertools.pairwise(sizes))
        members = [n for b in block["block"]["blocks"] for n in _expand(b["nodes"])]
        assert sorted(members) == sorted(nodes)
        assert all(len(_expand(b["nodes"])) == domain for b in block["block"]["blocks"])
    else:
        assert blocks == []
    tests = acceptance_tests(spec, plan)
    assert sum(t.nodes for t in tests) == pool.total_nodes
    assert [(t.su, t.nodes) for t in tests] == list(pool.su_groups)
    assert len(tests) == len(pool.scalable_units)  # bare metal: the operator labels every node with its plan SU
    fraction = spec.kubernetes.acceptance_busbw_fraction
    assert all(t.min_busbw_gbytes == round(t.line_rate_gbytes * fraction, 3) for t in tests)
    levels = kueue_levels(plan, pool)
    assert levels[-1] == HOSTNAME and HOSTNAME not in levels[:-1] and len(set(levels)) == len(levels) <= 16


@settings(max_examples=40, deadline=None)
# up to 1,024 nodes: what a radix-64 fat tree joins even with 8-node SUs (fabric sizing rejects more)
@given(nodes=st.integers(1, 1000), spares=st.integers(0, 24), nodes_per_su=st.sampled_from([8, 16, 32, 64]))
def test_hgx_pools(nodes: int, spares: int, nodes_per_su: int) -> None:
    _check(_plan("staging", nodes, spares, nodes_per_su))


@settings(max_examples=30, deadline=None)
@given(racks=st.integers(1, 120), spares=st.integers(0, 17))
def test_nvl72_pools(racks: int, spares: int) -> None:
    # NVL72 pools come in whole racks of 18 trays (GB200RA [P]); spares are trays inside those racks.
    _check(_plan("gb200", racks * 18 - spares, spares))
