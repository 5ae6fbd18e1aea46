"""The spec: exact path-naming messages for bad input, cross-field rules, schema, and a hypothesis fuzz."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neocloud import SpecError, build_plan, json_schema, load_cluster_spec
from neocloud.offline import run_program
from neocloud.profiles import REGISTRY
from tests.conftest import REPO, STACKS


def stack_cluster(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    return copy.deepcopy(document["config"]["neocloud:cluster"])


def error_for(raw: object) -> str:
    with pytest.raises(SpecError) as info:
        load_cluster_spec(raw)
    return str(info.value)


def test_shipped_stacks_are_valid() -> None:
    for stack in STACKS:
        spec = load_cluster_spec(stack_cluster(stack))
        assert spec.provider in REGISTRY


def test_unknown_system_names_path_and_known_systems() -> None:
    raw = stack_cluster("staging")
    raw["pools"].append({"name": "extra", "system": "p9.mega", "nodes": 1})
    message = error_for(raw)
    assert message.startswith("neocloud:cluster.pools[1].system: unknown system 'p9.mega'; known: ")
    assert "dgx-h100" in message and "gb200-nvl72" in message


def test_enum_error_lists_allowed_values() -> None:
    raw = stack_cluster("dev")
    raw["provider"] = "gcp"
    assert error_for(raw) == f"neocloud:cluster.provider: got 'gcp'; allowed: {', '.join(REGISTRY)}"
    assert "aws, nebius, coreweave, baremetal" in error_for(raw)


def test_unknown_field_lists_allowed_fields() -> None:
    raw = stack_cluster("dev")
    raw["fabric"]["radx"] = 64
    message = error_for(raw)
    assert message.startswith("neocloud:cluster.fabric.radx: unknown field 'radx'; did you mean 'radix'? allowed: "
                              "kind, switch, radix")


def test_missing_field() -> None:
    raw = stack_cluster("dev")
    del raw["pools"][0]["nodes"]
    assert error_for(raw) == "neocloud:cluster.pools[0].nodes: required"


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        (("pools", 0, "nodes"), 0, "neocloud:cluster.pools[0].nodes: got 0; allowed: a number >= 1"),
        (("pools", 0, "nodes"), "many", "neocloud:cluster.pools[0].nodes: got 'many'; allowed: a whole number"),
        (("pools", 0, "spares"), 2.5, "neocloud:cluster.pools[0].spares: got 2.5; allowed: a whole number"),
        (("pools",), [], "neocloud:cluster.pools: got []; allowed: at least 1 item"),
        (("power",), {"pue": 0.5}, "neocloud:cluster.power.pue: got 0.5; allowed: a number >= 1.0"),
        (("storage",), {"buckets": "x"}, "neocloud:cluster.storage.buckets: got 'x'; allowed: a list"),
        (("fabric",), "efa", "neocloud:cluster.fabric: got 'efa'; allowed: a mapping with fields kind, switch, "
                             "radix, nodes_per_su, oversubscription, max_oversubscription, management_ports, planes, "
                             "port_split, name"),
    ],
)
def test_type_and_bound_errors_say_what_is_allowed(where: tuple[Any, ...], value: Any, expected: str) -> None:
    raw = stack_cluster("dev")
    parent: Any = raw
    for part in where[:-1]:
        parent = parent[part]
    parent[where[-1]] = value
    assert error_for(raw) == expected


def test_long_bad_values_are_cut_to_one_readable_line() -> None:
    raw = stack_cluster("dev")
    raw["pools"][0]["name"] = "X" * 500
    message = error_for(raw)
    assert len(message) < 200 and "..." in message


def test_not_a_mapping() -> None:
    assert error_for("cluster") == "neocloud:cluster: must be an object (a YAML mapping); got str"


def test_nvl72_whole_racks() -> None:
    raw = stack_cluster("gb200")
    raw["pools"][0]["spares"] = 10
    assert error_for(raw) == (
        "neocloud:cluster.pools[0].nodes: gb200-nvl72 comes in whole NVLink domains of 18 nodes; "
        "nodes + spares = 138 is not a multiple of 18"
    )


def test_efa_pool_needs_one_zone() -> None:
    raw = stack_cluster("dev")
    del raw["zone"]
    assert error_for(raw).startswith(
        "neocloud:cluster.pools[0].zone: an EFA pool lives in exactly one availability zone"
    )


def test_zone_must_be_in_region() -> None:
    raw = stack_cluster("dev")
    raw["pools"][0]["zone"] = "us-west-2a"
    assert error_for(raw).startswith(
        "neocloud:cluster.pools[0].zone: 'us-west-2a' is not a zone of region 'us-east-1'; allowed: an Availability "
        "Zone (us-east-1a, us-east-1b, ...) or a Local Zone")


def test_external_filesystem_needs_the_class_that_mounts_it() -> None:
    # Every training team gets a claim on the filesystem in its namespace; for one the stack does not create, only
    # the site knows its StorageClass. A provider's own filesystem is mounted the way the provider documents.
    raw = stack_cluster("staging")  # baremetal, training queues
    raw["storage"]["filesystem"] = {"kind": "external", "capacity_tib": 100}
    assert error_for(raw).startswith("neocloud:cluster.storage.filesystem.storage_class: required for an external "
                                     "filesystem with training queues")
    raw["storage"]["filesystem"]["storage_class"] = "site-lustre"
    load_cluster_spec(raw)
    cw = stack_cluster("coreweave")
    cw["storage"]["filesystem"]["storage_class"] = "shared-vast"
    assert error_for(cw) == ("neocloud:cluster.storage.filesystem.storage_class: only for kind external; a "
                             "'coreweave-vast' filesystem is mounted the way its provider documents")


def test_capacity_blocks_hold_64_instances() -> None:
    raw = stack_cluster("prod")
    raw["pools"][0]["capacity"]["reservation_ids"] = raw["pools"][0]["capacity"]["reservation_ids"][:1]
    assert error_for(raw) == (
        "neocloud:cluster.pools[0].capacity.reservation_ids: 1 Capacity Block(s) hold at most 64 instances "
        "(64 each); the pool needs 128"
    )


def test_reservation_id_format() -> None:
    raw = stack_cluster("prod")
    raw["pools"][0]["capacity"]["reservation_ids"] = ["reservation-1"]
    assert error_for(raw).startswith("neocloud:cluster.pools[0].capacity.reservation_ids[0]: got 'reservation-1'; "
                                     "allowed: a capacity reservation id")


def test_efa_only_on_aws_and_aws_systems_only_on_aws() -> None:
    raw = stack_cluster("staging")
    raw["fabric"]["kind"] = "efa"
    assert error_for(raw) == "neocloud:cluster.fabric.kind: 'efa' with provider 'baremetal'; allowed: infiniband, roce"
    raw = stack_cluster("staging")
    raw["pools"][0]["system"] = "p5.48xlarge"
    assert error_for(raw).startswith("neocloud:cluster.pools[0].system: 'p5.48xlarge' is not available with provider "
                                     "'baremetal'; allowed: dgx-b200")


def test_switch_must_match_fabric_kind() -> None:
    raw = stack_cluster("staging")
    raw["fabric"]["switch"] = "SN5600"
    assert error_for(raw) == ("neocloud:cluster.fabric.switch: 'SN5600' is an Ethernet switch; infiniband needs one of "
                              "Q3400, QM9700")


def test_unverified_catalog_numbers_must_be_set_for_baremetal() -> None:
    raw = stack_cluster("gb200")
    del raw["catalog"]
    assert error_for(raw).startswith("neocloud:cluster.catalog.systems.gb200-nvl72.rack_power_kw: required: "
                                     "hardware.md does not verify")


def test_power_budget_that_fits_no_node() -> None:
    raw = stack_cluster("staging")
    raw["racks"]["power_budget_kw"] = 8
    spec = load_cluster_spec(raw)
    with pytest.raises(SpecError) as info:
        build_plan(spec)
    assert str(info.value).startswith("neocloud:cluster.racks.power_budget_kw: a dgx-h100 node needs 10.2 kW")


def test_duplicate_names() -> None:
    raw = stack_cluster("staging")
    raw["pools"].append(dict(raw["pools"][0]))
    assert error_for(raw) == "neocloud:cluster.pools[1].name: duplicate pool name 'h100'"
    raw = stack_cluster("staging")
    raw["kubernetes"]["queues"][1]["team"] = "research"
    assert error_for(raw) == "neocloud:cluster.kubernetes.queues[1].team: duplicate team 'research'"


def test_json_schema_describes_every_field() -> None:
    schema = json_schema()
    assert schema["title"] == "neocloud:cluster"
    assert "dgx-h100" in schema["x-neocloud-systems"]

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for name, prop in node.get("properties", {}).items():
                assert "description" in prop, f"{where}.{name} has no description"
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    walk(schema, "schema")


# ---- fuzzing: any mutation of a valid config is either accepted or refused with one path-naming line ----

_values = st.one_of(
    st.none(), st.booleans(), st.integers(-10, 200_000), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict[str, Any]:
    raw = stack_cluster(draw(st.sampled_from(STACKS)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(raw)
        path = draw(st.sampled_from(paths))
        parent: Any = raw
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(_values)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(_values)
    return raw


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=mutated_configs())
def test_fuzzed_spec_accepts_or_names_a_path(raw: dict[str, Any]) -> None:
    try:
        spec = load_cluster_spec(raw)
    except SpecError as error:
        line = str(error)
        assert line.startswith("neocloud:cluster"), line
        assert "\n" not in line
        assert error.message
        return
    try:
        build_plan(spec)
    except SpecError as error:
        assert "\n" not in str(error)


FUZZ_PROGRAM_EXAMPLES = int(os.environ.get("NEOCLOUD_FUZZ_EXAMPLES", "60"))
"""Whole-program fuzz runs per test session (each is a full program run); raise it locally to hunt."""


@settings(max_examples=FUZZ_PROGRAM_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=mutated_configs())
def test_fuzzed_program_registers_nothing_on_bad_config(raw: dict[str, Any]) -> None:
    # Accepted configs must run to the end (ProgramError fails the test); refused ones register nothing.
    config = {"neocloud:cluster": raw, "aws:region": "us-east-1"}
    try:
        run_program(REPO, "fuzz", config=config)
    except SpecError as error:
        assert "\n" not in str(error)
        assert error.registered_resources == 0


# --- capacity booked once; names a cluster would reject ------------------------------------------------------

def test_a_reservation_listed_twice_is_refused() -> None:
    raw = stack_cluster("prod")
    ids = raw["pools"][0]["capacity"]["reservation_ids"]
    raw["pools"][0]["capacity"]["reservation_ids"] = [ids[0], ids[0]]
    assert error_for(raw) == (f"neocloud:cluster.pools[0].capacity.reservation_ids[1]: '{ids[0]}' is listed twice; "
                              "each reservation once")


def test_two_pools_on_the_same_capacity_blocks_are_refused() -> None:
    raw = stack_cluster("prod")
    second = copy.deepcopy(raw["pools"][0])
    second["name"] = "train2"
    raw["pools"].append(second)
    first_id = raw["pools"][0]["capacity"]["reservation_ids"][0]
    assert error_for(raw) == (f"neocloud:cluster.pools[1].capacity.reservation_ids[0]: '{first_id}' is already "
                              "pools[0]'s capacity; a reservation backs one pool")


@pytest.mark.parametrize("team", ["kube-system", "kube-flannel", "default", "neocloud-acceptance", "gpu-operator",
                                  "kueue-system"])
def test_a_team_may_not_take_over_a_system_or_platform_namespace(team: str) -> None:
    raw = stack_cluster("dev")
    raw["kubernetes"]["queues"][0]["team"] = team
    message = error_for(raw)
    assert message.startswith(f"neocloud:cluster.kubernetes.queues[0].team: '{team}' is a system or platform "
                              "namespace; a team may not take it over")
    assert message.count("\n") == 0


def test_the_platform_namespace_list_covers_every_namespace_the_layer_creates() -> None:
    """PLATFORM_NAMESPACES cannot drift from the layer: every namespace a shipped stack creates is a team's or
    listed (so a team can never be named after one)."""
    from neocloud.vocabulary import PLATFORM_NAMESPACES
    from tests.conftest import stack_run

    for stack in STACKS:
        run = stack_run(stack)
        teams = {q["team"] for q in stack_cluster(stack).get("kubernetes", {}).get("queues", [])}
        created = {r.inputs["metadata"]["name"] for r in run.resources if r.type == "kubernetes:core/v1:Namespace"}
        created |= {r.inputs["namespace"] for r in run.resources
                    if r.type == "kubernetes:helm.sh/v3:Release" and r.inputs.get("createNamespace")}
        assert created - teams <= PLATFORM_NAMESPACES, (stack, created - teams - PLATFORM_NAMESPACES)


def test_a_capacity_source_of_another_provider_names_who_offers_it() -> None:
    raw = stack_cluster("coreweave")
    raw["pools"][0]["capacity"] = {"source": "capacity-block"}
    message = error_for(raw)
    assert message == ("neocloud:cluster.pools[0].capacity.source: 'capacity-block' is a capacity source of aws, "
                       "not of 'coreweave'; allowed with 'coreweave': on-demand")
