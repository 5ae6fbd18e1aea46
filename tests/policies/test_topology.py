"""Rack-topology rules, each through the real pack over gRPC: every violation path and the compliant path.

Resources are built with the real pulumi-aws / pulumi-kubernetes classes and the real GpuPool component (plan
facts from a real spec); shapes the spec refuses to plan (a split NVL72 rack, a 4-rail H100) are made by editing
a recorded GpuPool's facts before analysis (``mutate``).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from tests.policies import builders as b
from tests.policies.support import (
    BASE_AWS,
    BASE_BAREMETAL,
    BASE_GB200,
    analyze,
    facts_components,
    mutate,
    not_applicable,
    record,
    spec_with,
    violations,
)

POOL = "neocloud:index:GpuPool"


def facts_only(spec: dict[str, Any]) -> Any:
    return record(lambda: facts_components(spec))


def with_pool_facts(run: Any, change: Any) -> list[Any]:
    """The run's resources with the GpuPool's facts edited by ``change(facts)``."""
    def edit(inputs: dict[str, Any]) -> None:
        change(inputs["neocloud"])

    return [mutate(r, edit) if r.type == POOL else r for r in run.resources]


# --- rack-power-budget -------------------------------------------------------------------------------------


def test_rack_power_budget_compliant(pack):
    result = analyze(pack, facts_only(BASE_BAREMETAL))
    assert violations(result, "rack-power-budget") == []
    assert not not_applicable(result, "rack-power-budget")


def test_rack_power_budget_over_spec_budget(pack):
    spec = spec_with(BASE_BAREMETAL, racks={"power_budget_kw": 41, "nodes_per_rack": 5})
    [message] = violations(analyze(pack, facts_only(spec)), "rack-power-budget")
    assert "51 kW each, over the 41 kW budget (racks.power_budget_kw)" in message


def test_rack_power_budget_over_policy_cap(pack):
    [message] = violations(analyze(pack, facts_only(BASE_BAREMETAL), {"rack-power-budget": {"maxRackKw": 40}}),
                           "rack-power-budget")
    assert "40.8 kW each, over the 40 kW budget (policy maxRackKw)" in message


def test_rack_power_budget_headroom(pack):
    result = analyze(pack, facts_only(BASE_BAREMETAL), {"rack-power-budget": {"headroomPercent": 5}})
    [message] = violations(result, "rack-power-budget")
    assert "less 5% headroom = 38.95 kW" in message


def test_rack_power_budget_not_applicable_without_racks(pack):
    result = analyze(pack, facts_only(BASE_AWS))
    assert not_applicable(result, "rack-power-budget")
    assert violations(result, "rack-power-budget") == []


# --- nvlink-domain-whole -----------------------------------------------------------------------------------


def test_nvlink_domain_whole_compliant(pack):
    result = analyze(pack, facts_only(BASE_GB200))
    assert violations(result, "nvlink-domain-whole") == []
    assert not not_applicable(result, "nvlink-domain-whole")


def test_nvlink_domain_split_across_racks(pack):
    run = facts_only(BASE_GB200)

    def split(facts: dict[str, Any]) -> None:
        group = facts["racks"]["groups"][0]
        group.update(nodes_per_rack=9, racks=16, nvlink_domains_per_rack=0)

    [message] = violations(analyze(pack, run, resources=with_pool_facts(run, split)), "nvlink-domain-whole")
    assert "9 nodes per rack hold 0 whole NVLink domains of 18 nodes" in message


def test_nvlink_domain_rack_of_two_domains(pack):
    run = facts_only(BASE_GB200)

    def double(facts: dict[str, Any]) -> None:
        facts["racks"]["groups"][0].update(nodes_per_rack=36, racks=4, nvlink_domains_per_rack=2)

    [message] = violations(analyze(pack, run, resources=with_pool_facts(run, double)), "nvlink-domain-whole")
    assert "an NVL72 rack is one NVLink domain of 18 trays; got 36" in message


def test_nvlink_domain_partial_pool_and_su(pack):
    run = facts_only(BASE_GB200)

    def partial(facts: dict[str, Any]) -> None:
        facts["total_nodes"] = 140
        facts["scalable_units"][0]["nodes"] = 140

    messages = violations(analyze(pack, run, resources=with_pool_facts(run, partial)), "nvlink-domain-whole")
    assert any("140 nodes (with spares) split NVLink domains of 18 nodes (72 GPUs)" in m for m in messages)
    assert any("SU 0: 140 nodes split an NVLink domain" in m for m in messages)


def test_nvlink_domain_ultraserver_node_group_sizes(pack):
    spec = spec_with(BASE_AWS, pools=[{"name": "gb", "system": "p6e-gb200.36xlarge", "nodes": 36}],
                     catalog={"systems": {"p6e-gb200.36xlarge": {"efa_network_cards": 4}}})

    def build() -> None:
        c = facts_components(spec)
        s = b.subnet("s", "us-east-1a")
        b.node_group("ok", parent=c["gb"], subnets=[s], sizes=(0, 18, 36))
        b.node_group("bad", parent=c["gb"], subnets=[s], sizes=(9, 18, 36))

    messages = violations(analyze(pack, record(build)), "nvlink-domain-whole")
    assert messages == ["node group 'bad' of pool 'gb': scalingConfig.minSize 9 is not a whole number of NVLink "
                        "domains (18 nodes each)"]
    relaxed = analyze(pack, record(build), {"nvlink-domain-whole": {"checkNodeGroups": False}})
    assert violations(relaxed, "nvlink-domain-whole") == []


def test_nvlink_domain_not_applicable_for_hgx(pack):
    assert not_applicable(analyze(pack, facts_only(BASE_BAREMETAL)), "nvlink-domain-whole")


# --- rail-alignment ----------------------------------------------------------------------------------------


def efa_pool(interfaces: Any = None, card0: str = "efa", indexes: list[int] | None = None) -> Any:
    def build() -> None:
        c = facts_components(BASE_AWS)
        sg = b.efa_security_group()
        b.launch_template("lt", parent=c["train"],
                          interfaces=b.efa_interfaces(interfaces or 32, sg, card0=card0, indexes=indexes))

    return record(build)


def test_rail_alignment_compliant(pack):
    assert violations(analyze(pack, efa_pool()), "rail-alignment") == []
    assert violations(analyze(pack, facts_only(BASE_BAREMETAL)), "rail-alignment") == []


def test_rail_alignment_too_few_efa_interfaces(pack):
    [message] = violations(analyze(pack, efa_pool(interfaces=31)), "rail-alignment")
    assert "31 EFA interfaces, but p5.48xlarge has 32 network cards" in message


def test_rail_alignment_two_interfaces_on_one_card(pack):
    messages = violations(analyze(pack, efa_pool(indexes=[0, *range(1, 31), 30])), "rail-alignment")
    assert any("several EFA interfaces on network card(s) 30" in m for m in messages)


def test_rail_alignment_gap_in_cards(pack):
    messages = violations(analyze(pack, efa_pool(indexes=[0, *range(2, 33)])), "rail-alignment")
    assert any("expected cards 0..31" in m for m in messages)


def test_rail_alignment_card_zero_must_be_efa(pack):
    messages = violations(analyze(pack, efa_pool(card0="efa-only")), "rail-alignment")
    assert any("network card 0 must carry interface type 'efa'" in m for m in messages)
    relaxed = analyze(pack, efa_pool(card0="efa-only"), {"rail-alignment": {"requireEfaOnCardZero": False}})
    assert violations(relaxed, "rail-alignment") == []


def test_rail_alignment_nics_per_gpu(pack):
    run = facts_only(BASE_BAREMETAL)

    def four_rails(facts: dict[str, Any]) -> None:
        facts["rails"] = 4

    messages = violations(analyze(pack, run, resources=with_pool_facts(run, four_rails)), "rail-alignment")
    assert any("4 compute NICs per node for 8 GPUs" in m for m in messages)
    assert any("the fabric is cabled for 8 rails, the nodes have 4 NICs" in m for m in messages)


def test_rail_alignment_efa_cards_vs_rails(pack):
    run = facts_only(BASE_AWS)

    def fewer(facts: dict[str, Any]) -> None:
        facts["rails"] = 16

    [message] = violations(analyze(pack, run, resources=with_pool_facts(run, fewer)), "rail-alignment")
    assert "16 rails planned but the instance has 32 EFA network cards" in message


# --- fabric-nonblocking ------------------------------------------------------------------------------------


def test_fabric_nonblocking_compliant(pack):
    result = analyze(pack, facts_only(BASE_BAREMETAL))
    assert violations(result, "fabric-nonblocking") == []
    assert not not_applicable(result, "fabric-nonblocking")


def test_fabric_oversubscribed(pack):
    # The stricter of the spec's fabric.max_oversubscription and the policy's maxOversubscription applies.
    fabric = dict(BASE_BAREMETAL["fabric"], oversubscription=2.0, max_oversubscription=2.0)
    run = facts_only(spec_with(BASE_BAREMETAL, fabric=fabric))
    assert violations(analyze(pack, run), "fabric-nonblocking") == []
    [message] = violations(analyze(pack, run, {"fabric-nonblocking": {"maxOversubscription": 1}}),
                           "fabric-nonblocking")
    assert "(2.00:1 oversubscribed); allowed at most 1:1 (policy maxOversubscription)" in message
    assert violations(analyze(pack, run, {"fabric-nonblocking": {"maxOversubscription": 2}}),
                      "fabric-nonblocking") == []


def test_fabric_spec_limit_is_stricter_than_the_policy(pack):
    fabric = dict(BASE_BAREMETAL["fabric"], oversubscription=1.5, max_oversubscription=1.5)
    run = facts_only(spec_with(BASE_BAREMETAL, fabric=fabric))
    assert violations(analyze(pack, run, {"fabric-nonblocking": {"maxOversubscription": 4}}),
                      "fabric-nonblocking") == []

    def two_to_one(facts: dict[str, Any]) -> None:
        facts["fabric"]["leaf_uplinks"] = facts["fabric"]["leaf_downlinks"] / 2

    messages = violations(analyze(pack, run, {"fabric-nonblocking": {"maxOversubscription": 4}},
                                  resources=with_pool_facts(run, two_to_one)), "fabric-nonblocking")
    assert any("(2.00:1 oversubscribed); allowed at most 1.5:1 (fabric.max_oversubscription)" in m
               for m in messages)


def test_fabric_spines_short_of_ports(pack):
    run = facts_only(BASE_BAREMETAL)

    def one_spine(facts: dict[str, Any]) -> None:
        facts["fabric"].update(spine=1, spines_per_pod=1)

    [message] = violations(analyze(pack, run, resources=with_pool_facts(run, one_spine)), "fabric-nonblocking")
    assert "need 256 spine ports; 1 spines of 64 ports have 64" in message


def test_fabric_uneven_leaf_spine_cabling(pack):
    # 32 uplinks per leaf over 6 spines: 5.33 links each; NVIDIA's tables only build even splits.
    run = facts_only(BASE_BAREMETAL)

    def six_spines(facts: dict[str, Any]) -> None:
        facts["fabric"].update(spine=6, spines_per_pod=6)

    [message] = violations(analyze(pack, run, resources=with_pool_facts(run, six_spines)), "fabric-nonblocking")
    assert "uneven cabling: 32 uplinks per leaf do not split evenly over 6 spines per pod (5.33 links each)" in message


def test_fabric_uneven_spine_core_cabling(pack):
    # B200RA's 16-SU row: three tiers, 128 / 128 / 64 switches.
    run = facts_only(spec_with(BASE_BAREMETAL, pools=[{"name": "h100", "system": "dgx-h100", "nodes": 512}],
                               fabric={"kind": "infiniband", "switch": "QM9700"}))
    assert violations(analyze(pack, run), "fabric-nonblocking") == []

    def three_per_group(facts: dict[str, Any]) -> None:
        assert facts["fabric"]["tiers"] == 3
        facts["fabric"]["cores_per_group"] = 3

    [message] = violations(analyze(pack, run, resources=with_pool_facts(run, three_per_group)),
                           "fabric-nonblocking")
    assert "uplinks per spine do not split evenly over 3 cores per group" in message


def test_fabric_nonblocking_not_applicable_on_efa(pack):
    assert not_applicable(analyze(pack, facts_only(BASE_AWS)), "fabric-nonblocking")


# --- single-zone-fabric ------------------------------------------------------------------------------------


def zoned(zones: list[str], *, lt_zone: str | None = None, strategy: str = "cluster") -> Any:
    def build() -> None:
        c = facts_components(BASE_AWS)
        subnets = [b.subnet(f"s-{z}-{i}", z) for i, z in enumerate(zones)]
        import pulumi_aws as aws

        pg = aws.ec2.PlacementGroup("pg", strategy=strategy)
        placement: dict[str, Any] = {"group_name": pg.name}
        if lt_zone:
            placement["availability_zone"] = lt_zone
        lt = b.launch_template("lt", parent=c["train"], placement=placement,
                               interfaces=b.efa_interfaces(32, b.efa_security_group()))
        b.node_group("ng", parent=c["train"], subnets=subnets, template=lt,
                     labels={"neocloud.io/pool": "train"})

    return record(build)


def test_single_zone_fabric_compliant(pack):
    result = analyze(pack, zoned(["us-east-1a"], lt_zone="us-east-1a"))
    assert violations(result, "single-zone-fabric") == []


def test_pool_across_zones(pack):
    messages = violations(analyze(pack, zoned(["us-east-1a", "us-east-1b"])), "single-zone-fabric")
    assert any("node group 'ng' of pool 'train' spans 2 subnets" in m for m in messages)
    assert any("spreads its fabric across zones" in m and "us-east-1b" in m for m in messages)


def test_pool_in_other_zone_than_planned(pack):
    messages = violations(analyze(pack, zoned(["us-east-1a"], lt_zone="us-east-1c")), "single-zone-fabric")
    assert messages == ["pool 'train' (zone us-east-1a) spreads its fabric across zones: us-east-1a: node group 'ng' "
                        "(subnet 's-us-east-1a-0'); us-east-1c: launch template 'lt'"]


def test_spread_placement_group(pack):
    [message] = violations(analyze(pack, zoned(["us-east-1a"], strategy="spread")), "single-zone-fabric")
    assert "placement group 'pg' with strategy 'spread'; EFA needs a cluster placement group" in message


def test_pool_without_zone(pack):
    run = facts_only(BASE_AWS)

    def no_zone(facts: dict[str, Any]) -> None:
        facts["zone"] = None

    [message] = violations(analyze(pack, run, resources=with_pool_facts(run, no_zone)), "single-zone-fabric")
    assert message == "pool 'train' on efa has no zone; a fabric lives in one zone"


def test_pool_on_two_infiniband_fabrics(pack):
    spec = spec_with(BASE_BAREMETAL)

    def build() -> None:
        c = facts_components(spec)
        for i, fabric in enumerate(["fabric-3", "fabric-6"]):
            pulumi.CustomResource("nebius:index/computeV1GpuCluster:ComputeV1GpuCluster", f"gc{i}",
                                  {"infinibandFabric": fabric, "parentId": "project-x"},
                                  opts=pulumi.ResourceOptions(parent=c["h100"]))

    [message] = violations(analyze(pack, record(build)), "single-zone-fabric")
    assert "joins 2 InfiniBand fabrics" in message


# --- no-placement-group-on-reserved-capacity ---------------------------------------------------------------

RESERVATION = {"capacity_reservation_target": {"capacity_reservation_id": "cr-0a1b2c3d4e5f60718"}}


@pytest.mark.parametrize("kwargs, reason", [
    ({"reservation": RESERVATION}, "a capacity reservation target"),
    ({"reservation": RESERVATION, "market": "capacity-block"}, "a capacity reservation target"),
    ({"market": "capacity-block"}, "instance market type 'capacity-block'"),
    ({"reservation": {"capacity_reservation_preference": "capacity-reservations-only"}},
     "capacityReservationPreference 'capacity-reservations-only'"),
])
def test_placement_group_on_reserved_capacity(pack, kwargs, reason):
    run = record(lambda: b.launch_template("lt", placement={"group_name": "pg-1"}, **kwargs))
    [message] = violations(analyze(pack, run), "no-placement-group-on-reserved-capacity")
    assert f"forces a placement group onto reserved capacity ({reason})" in message


def test_placement_group_on_reserved_instance(pack):
    import pulumi_aws as aws

    run = record(lambda: aws.ec2.Instance("i", ami="ami-1", instance_type="p5.48xlarge", placement_group="pg-1",
                                          capacity_reservation_specification=RESERVATION))
    assert len(violations(analyze(pack, run), "no-placement-group-on-reserved-capacity")) == 1


@pytest.mark.parametrize("kwargs", [
    {"reservation": RESERVATION, "market": "capacity-block"},
    {"placement": {"group_name": "pg-1"}},
    {"placement": {"group_name": "pg-1"}, "reservation": {"capacity_reservation_preference": "open"}},
])
def test_placement_group_on_reserved_capacity_compliant(pack, kwargs):
    run = record(lambda: b.launch_template("lt", **kwargs))
    assert violations(analyze(pack, run), "no-placement-group-on-reserved-capacity") == []


# --- no-overlapping-gpu-pools ------------------------------------------------------------------------------

TWO_POOLS = spec_with(BASE_AWS, pools=[{"name": "train", "system": "p5.48xlarge", "nodes": 32},
                                       {"name": "infer", "system": "p5.48xlarge", "nodes": 8}])


def two_pools(infer_labels: dict[str, str], *, infer_efa: bool = True, flavors: dict[str, dict[str, str]] | None = None,
              train_labels: dict[str, str] | None = None, extra_train: dict[str, str] | None = None) -> Any:
    def build() -> None:
        c = facts_components(TWO_POOLS)
        s = b.subnet("s", "us-east-1a")
        sg = b.efa_security_group()
        lt_train = b.launch_template("lt-train", parent=c["train"], interfaces=b.efa_interfaces(32, sg))
        lt_infer = b.launch_template("lt-infer", parent=c["infer"],
                                     interfaces=b.efa_interfaces(32, sg) if infer_efa else None)
        b.node_group("ng-train", parent=c["train"], subnets=[s], template=lt_train,
                     labels=train_labels if train_labels is not None else {"neocloud.io/pool": "train"})
        b.node_group("ng-infer", parent=c["infer"], subnets=[s], template=lt_infer, labels=infer_labels)
        if extra_train is not None:
            lt_plain = b.launch_template("lt-train-plain", parent=c["train"])
            b.node_group("ng-train-plain", parent=c["train"], subnets=[s], template=lt_plain, labels=extra_train)
        for name, selector in (flavors or {}).items():
            b.flavor(name, selector)

    return record(build)


def test_no_overlapping_pools_compliant(pack):
    run = two_pools({"neocloud.io/pool": "infer"}, flavors={"train": {"neocloud.io/pool": "train"},
                                                            "infer": {"neocloud.io/pool": "infer"}})
    assert violations(analyze(pack, run), "no-overlapping-gpu-pools") == []


def test_node_group_without_pool_label(pack):
    messages = violations(analyze(pack, two_pools({"team": "x"})), "no-overlapping-gpu-pools")
    assert any("node group 'ng-infer' of pool 'infer' lacks node label neocloud.io/pool=infer" in m for m in messages)


def test_two_pools_same_labels(pack):
    messages = violations(analyze(pack, two_pools({"neocloud.io/pool": "train"})), "no-overlapping-gpu-pools")
    pairs = [m for m in messages if "are two pools that no node label tells apart" in m]
    assert len(pairs) == 1 and "'ng-train'" in pairs[0] and "'ng-infer'" in pairs[0], messages


def test_efa_and_non_efa_node_sets_in_one_pool(pack):
    run = two_pools({"neocloud.io/pool": "infer"}, extra_train={"neocloud.io/pool": "train"})
    messages = violations(analyze(pack, run), "no-overlapping-gpu-pools")
    pairs = [m for m in messages if "are an EFA and a non-EFA node set" in m]
    assert len(pairs) == 1 and "'ng-train'" in pairs[0] and "'ng-train-plain'" in pairs[0], messages


def test_flavor_selecting_two_pools(pack):
    run = two_pools({"neocloud.io/pool": "infer", "neocloud.io/cluster": "t"},
                    train_labels={"neocloud.io/pool": "train", "neocloud.io/cluster": "t"},
                    flavors={"all": {"neocloud.io/cluster": "t"}})
    [message] = violations(analyze(pack, run), "no-overlapping-gpu-pools")
    assert "ResourceFlavor 'all' selects nodes of pools infer, train" in message


def test_flavor_selecting_efa_and_non_efa(pack):
    run = two_pools({"neocloud.io/pool": "infer"}, extra_train={"neocloud.io/pool": "train", "x": "1"},
                    flavors={"train": {"neocloud.io/pool": "train"}})
    messages = violations(analyze(pack, run), "no-overlapping-gpu-pools")
    assert any("selects both EFA and non-EFA nodes of pool 'train'" in m for m in messages)


# --- topology-labels-consistent ----------------------------------------------------------------------------

GB200_LEVELS = ["neocloud.io/su", "neocloud.io/nvlink-domain", "nvidia.com/gpu.clique", "kubernetes.io/hostname"]


def gb200_kueue(levels: list[str], flavor_labels: dict[str, str] | None = None, topology_name: str | None = "nvl72",
                node_group_labels: dict[str, str] | None = None, gfd: bool | None = True) -> Any:
    """A GB200 stack's Kueue objects; ``gfd``: a GPU Operator release with GPU Feature Discovery on (True), off
    (False), or no GPU Operator (None)."""
    def build() -> None:
        c = facts_components(BASE_GB200)
        if gfd is not None:
            import pulumi_kubernetes as k8s

            k8s.helm.v3.Release("gpu-operator", chart="gpu-operator", version="v26.7.0",
                                values={"gfd": {"enabled": gfd}})
        b.topology("nvl72", levels)
        b.flavor("nvl72", flavor_labels or {"neocloud.io/pool": "nvl72"}, topology_name)
        if node_group_labels is not None:
            b.node_group("ng", parent=c["nvl72"], subnets=[b.subnet("s", "z")], labels=node_group_labels)

    return record(build)


def test_topology_labels_compliant(pack):
    result = analyze(pack, gb200_kueue(GB200_LEVELS))
    assert violations(result, "topology-labels-consistent") == []


@pytest.mark.parametrize("levels, expected", [
    (["example.com/unknown", "kubernetes.io/hostname"], "level 'example.com/unknown' is a label no planned node"),
    (["neocloud.io/nvlink-domain", "neocloud.io/su", "kubernetes.io/hostname"],
     "lists 'neocloud.io/su' after 'neocloud.io/nvlink-domain'"),
    (["neocloud.io/su", "neocloud.io/nvlink-domain"], "ends with 'neocloud.io/nvlink-domain'"),
    (["neocloud.io/su", "kubernetes.io/hostname"], "has no NVLink-domain level (nvidia.com/gpu.clique); jobs "
     "could straddle 72-GPU domains"),
    # the plan's domain label alone is not the real partition: a one-domain job cannot require it
    (["neocloud.io/su", "neocloud.io/nvlink-domain", "kubernetes.io/hostname"],
     "has no NVLink-domain level (nvidia.com/gpu.clique)"),
    (["neocloud.io/su", "nvidia.com/gpu.clique", "neocloud.io/nvlink-domain", "kubernetes.io/hostname"],
     "lists 'neocloud.io/nvlink-domain' after 'nvidia.com/gpu.clique'"),
    (["neocloud.io/su", "neocloud.io/su", "neocloud.io/nvlink-domain", "kubernetes.io/hostname"], "repeats a level"),
    ([], "has no levels"),
])
def test_topology_levels(pack, levels, expected):
    messages = violations(analyze(pack, gb200_kueue(levels)), "topology-labels-consistent")
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize("gfd", [False, None])
def test_clique_level_needs_gpu_feature_discovery(pack, gfd):
    """nvidia.com/gpu.clique is set by GPU Feature Discovery (k8s-dra-driver-gpu docs/prerequisites.md), not by our
    node sets: without GFD (disabled, or no GPU Operator) no node carries it, so the level is refused."""
    messages = violations(analyze(pack, gb200_kueue(GB200_LEVELS, gfd=gfd)), "topology-labels-consistent")
    assert messages == ["Topology 'nvl72' level 'nvidia.com/gpu.clique' is a label no planned node carries"]


def test_flavor_references(pack):
    unknown = violations(analyze(pack, gb200_kueue(GB200_LEVELS, topology_name="other")), "topology-labels-consistent")
    assert unknown == ["ResourceFlavor 'nvl72' names Topology 'other', which the stack does not define"]
    missing = violations(analyze(pack, gb200_kueue(GB200_LEVELS, topology_name=None)), "topology-labels-consistent")
    assert any("has no topologyName" in m for m in missing)
    pool = violations(analyze(pack, gb200_kueue(GB200_LEVELS, {"neocloud.io/pool": "nope"})),
                      "topology-labels-consistent")
    assert any("selects neocloud.io/pool=nope, which is not a planned pool (nvl72)" in m for m in pool)
    system = violations(analyze(pack, gb200_kueue(GB200_LEVELS, {"neocloud.io/pool": "nvl72",
                                                                 "neocloud.io/system": "dgx-h100"})),
                        "topology-labels-consistent")
    assert any("nodes carry neocloud.io/system=gb200-nvl72" in m for m in system)


def test_node_group_labels_disagree_with_plan(pack):
    run = gb200_kueue(GB200_LEVELS, node_group_labels={"neocloud.io/pool": "nvl72", "neocloud.io/system": "x"})
    messages = violations(analyze(pack, run), "topology-labels-consistent")
    assert messages == ["node group 'ng' labels neocloud.io/system=x; the plan for pool 'nvl72' says "
                        "neocloud.io/system=gb200-nvl72"]


def test_topology_labels_not_applicable(pack):
    assert not_applicable(analyze(pack, facts_only(BASE_GB200)), "topology-labels-consistent")


# --- node sets of the other providers: Nebius mk8s node groups and NVL instance groups, CoreWeave NodePools ---

NEBIUS_GB200 = spec_with(BASE_GB200, provider="nebius", environment="prod", region="eu-north1",
                         fabric={"kind": "infiniband", "switch": "Q3400", "name": "fabric-6"},
                         nebius={"parent_id": "project-e00example", "api_allowed_cidrs": ["203.0.113.0/24"],
                                 "platforms": {"gb200-nvl72": {"platform": "gpu-gb200",
                                                               "preset": "4gpu-144vcpu-960gb"}}},
                         racks={}, catalog={"systems": {"gb200-nvl72": {"rack_power_kw": 120, "nic_gbps": 400}}})


def nebius_racks(node_count: int, nvl_size: int, fabrics: tuple[str, ...] = ("fabric-6",)) -> Any:
    import pulumi_nebius as nebius

    def build() -> None:
        c = facts_components(NEBIUS_GB200)
        clusters = [nebius.ComputeV1GpuCluster(f"gc-{f}", parent_id="project-e00example", infiniband_fabric=f)
                    for f in fabrics]
        nvl = nebius.ComputeV1NvlInstanceGroup("nvl-r0", parent_id="project-e00example", size=nvl_size,
                                               type="GB200", opts=pulumi.ResourceOptions(parent=c["nvl72"]))
        for i, cluster in enumerate(clusters):
            nebius.Mk8sV1NodeGroup(
                f"ng-r{i}", parent_id="mk8s-1", fixed_node_count=node_count,
                template={"metadata": {"labels": {"neocloud.io/pool": "nvl72"}}, "gpu_cluster": {"id": cluster.id},
                          "nvlink": {"nvl_instance_group_id": nvl.id},
                          "resources": {"platform": "gpu-gb200", "preset": "4gpu-144vcpu-960gb"}},
                opts=pulumi.ResourceOptions(parent=c["nvl72"]))

    return record(build)


def test_nebius_whole_racks_compliant(pack):
    result = analyze(pack, nebius_racks(18, 18))
    assert violations(result, "nvlink-domain-whole") == []
    assert violations(result, "single-zone-fabric") == []
    assert violations(result, "no-overlapping-gpu-pools") == []


def test_nebius_split_racks(pack):
    messages = violations(analyze(pack, nebius_racks(9, 9)), "nvlink-domain-whole")
    assert sorted(messages) == [
        "NVL instance group 'nvl-r0' of pool 'nvl72': size 9 is not a whole number of NVLink domains (18 nodes each)",
        "mk8s node group 'ng-r0' of pool 'nvl72': fixedNodeCount 9 is not a whole number of NVLink domains (18 "
        "nodes each)",
    ]


def test_nebius_pool_on_two_fabrics_through_node_groups(pack):
    [message] = violations(analyze(pack, nebius_racks(18, 18, ("fabric-3", "fabric-6"))), "single-zone-fabric")
    assert "pool 'nvl72' joins 2 InfiniBand fabrics" in message
    assert "ComputeV1GpuCluster 'gc-fabric-3'" in message and "ComputeV1GpuCluster 'gc-fabric-6'" in message


def coreweave_node_pool(node_labels: dict[str, str], min_nodes: int, environment: str = "staging") -> Any:
    import pulumi_kubernetes as k8s

    spec = spec_with(BASE_BAREMETAL, environment=environment)

    def build() -> None:
        c = facts_components(spec)
        k8s.apiextensions.CustomResource(
            "np", api_version="compute.coreweave.com/v1alpha1", kind="NodePool", metadata={"name": "h100"},
            spec={"instanceType": "gd-8xh100ib-i128", "targetNodes": 31, "minNodes": min_nodes, "maxNodes": 31,
                  "nodeLabels": node_labels},
            opts=pulumi.ResourceOptions(parent=c["h100"]))

    return record(build)


def test_coreweave_node_pool_without_pool_label(pack):
    run = coreweave_node_pool({"neocloud.io/cluster": "t", "neocloud.io/system": "dgx-h100"}, 31)
    [message] = violations(analyze(pack, run), "no-overlapping-gpu-pools")
    assert message.startswith("NodePool 'np' of pool 'h100' lacks node label neocloud.io/pool=h100")
    labelled = coreweave_node_pool({"neocloud.io/pool": "h100"}, 31)
    assert violations(analyze(pack, labelled), "no-overlapping-gpu-pools") == []


def test_coreweave_node_pool_labels_disagree_with_plan(pack):
    run = coreweave_node_pool({"neocloud.io/pool": "h100", "neocloud.io/system": "hgx-h200"}, 31)
    [message] = violations(analyze(pack, run), "topology-labels-consistent")
    assert message == ("NodePool 'np' labels neocloud.io/system=hgx-h200; the plan for pool 'h100' says "
                       "neocloud.io/system=dgx-h100")


def nebius_labelled(labels: dict[str, str], node_count: int = 18) -> Any:
    import pulumi_nebius as nebius

    def build() -> None:
        c = facts_components(NEBIUS_GB200)
        nebius.Mk8sV1NodeGroup(
            "ng-r0", parent_id="mk8s-1", fixed_node_count=node_count,
            template={"metadata": {"labels": {"neocloud.io/pool": "nvl72", **labels}},
                      "resources": {"platform": "gpu-gb200", "preset": "4gpu-144vcpu-960gb"}},
            opts=pulumi.ResourceOptions(parent=c["nvl72"]))

    return record(build)


def test_topology_label_values_within_plan(pack):
    # 128 + 16 trays = 8 NVL72 racks = 8 NVLink domains in 1 SU.
    ok = nebius_labelled({"neocloud.io/su": "0", "neocloud.io/nvlink-domain": "7", "neocloud.io/rack": "7"})
    assert violations(analyze(pack, ok), "topology-labels-consistent") == []


def test_topology_label_values_beyond_plan(pack):
    run = nebius_labelled({"neocloud.io/su": "1", "neocloud.io/nvlink-domain": "8"}, node_count=36)
    messages = violations(analyze(pack, run), "topology-labels-consistent")
    assert sorted(messages) == [
        "mk8s node group 'ng-r0' of pool 'nvl72': labelled as one NVLink domain (neocloud.io/nvlink-domain=8) but "
        "sized up to 36 nodes; a domain holds 18",
        "mk8s node group 'ng-r0' of pool 'nvl72': neocloud.io/nvlink-domain=8, but the plan has 8 NVLink domains "
        "(0..7)",
        "mk8s node group 'ng-r0' of pool 'nvl72': neocloud.io/su=1, but the plan has 1 scalable units (0..0)",
    ]
