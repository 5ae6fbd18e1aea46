"""Every config error is raised before the first resource is registered: each path run through the real program
under the offline engine (exit 2, one line naming the path, nothing registered)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from neocloud import SpecError
from neocloud.offline import load_stack_config, run_program
from tests.conftest import REPO


def _aws_zones(cluster: dict[str, Any]) -> None:
    # 8 zones: more than the 7 private subnets the VPC is cut into (was raised while building the network,
    # after four resources were registered).
    cluster.setdefault("aws", {})["zones"] = [f"us-east-1{c}" for c in "abcdefgh"]


def _zone_outside_region(cluster: dict[str, Any]) -> None:
    cluster.setdefault("aws", {})["zones"] = ["eu-west-1a"]


def _vpc_host_bits(cluster: dict[str, Any]) -> None:
    cluster.setdefault("aws", {})["vpc_cidr"] = "10.0.0.1/16"


def _beyond_three_tiers(cluster: dict[str, Any]) -> None:
    cluster["pools"][0].update(nodes=8200, spares=0)


def _planes_split_a_nic_unevenly(cluster: dict[str, Any]) -> None:
    cluster["fabric"]["planes"] = 3


def _rack_fits_no_node(cluster: dict[str, Any]) -> None:
    cluster["racks"]["power_budget_kw"] = 5


def _unknown_switch(cluster: dict[str, Any]) -> None:
    cluster["fabric"]["switch"] = "QM9999"


def _split_nvl72(cluster: dict[str, Any]) -> None:
    cluster["fabric"]["nodes_per_su"] = 100


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("dev", _aws_zones, "neocloud:cluster.aws.zones"),
    ("dev", _zone_outside_region, "neocloud:cluster.aws.zones[0]"),
    ("dev", _vpc_host_bits, "neocloud:cluster.aws.vpc_cidr"),
    ("staging", _beyond_three_tiers, "neocloud:cluster.fabric.nodes"),
    ("staging", _planes_split_a_nic_unevenly, "neocloud:cluster.fabric.planes"),
    ("staging", _rack_fits_no_node, "neocloud:cluster.racks.power_budget_kw"),
    ("staging", _unknown_switch, "neocloud:cluster.fabric.switch"),
    ("gb200", _split_nvl72, "neocloud:cluster.fabric.nodes_per_su"),
]


@pytest.mark.parametrize(("stack", "change", "path"), CASES, ids=[c[1].__name__.strip("_") for c in CASES])
def test_config_error_registers_nothing(stack: str, change: Callable[[dict[str, Any]], None], path: str) -> None:
    config, secrets = load_stack_config(REPO, stack)
    config = copy.deepcopy(config)
    change(config["neocloud:cluster"])
    with pytest.raises(SpecError) as info:
        run_program(REPO, stack, config=config, secret_keys=secrets)
    assert info.value.path == path, str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.registered_resources == 0
