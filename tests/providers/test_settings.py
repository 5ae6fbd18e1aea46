"""The ``coreweave:`` and ``nebius:`` spec sections: every bad value names its config path, and built-in
mappings are only the verified ones."""

from __future__ import annotations

from typing import Any

import pytest

from components.providers.coreweave.profile import COREWEAVE_INSTANCE_TYPES
from components.providers.nebius.profile import NEBIUS_PLATFORMS
from neocloud import SpecError, load_cluster_spec
from neocloud.spec import json_schema
from tests.providers.helpers import stack_config


def error_for(stack: str, section: str, **values: Any) -> str:
    cluster = stack_config(stack)["neocloud:cluster"]
    cluster.setdefault(section, {}).update(values)
    with pytest.raises(SpecError) as info:
        load_cluster_spec(cluster)
    return str(info.value)


@pytest.mark.parametrize(
    ("stack", "section", "values", "expected"),
    [
        ("coreweave", "coreweave", {"zone": "us-east-04a"}, "neocloud:cluster.coreweave.zone: got 'us-east-04a'"),
        ("coreweave", "coreweave", {"pod_cidr": "10.0.0.300/16"},
         "neocloud:cluster.coreweave.pod_cidr: got '10.0.0.300/16'; not an IPv4 network address"),
        ("coreweave", "coreweave", {"pod_cidr": "10.244.0.1/16"},
         "neocloud:cluster.coreweave.pod_cidr: got '10.244.0.1/16'; not an IPv4 network address"),
        ("coreweave", "coreweave", {"service_cidr": "10.244.128.0/20"},
         "neocloud:cluster.coreweave.service_cidr: 10.244.128.0/20 overlaps coreweave.pod_cidr"),
        ("coreweave", "coreweave", {"instance_types": {"hgx-h900": "x-8"}},
         "neocloud:cluster.coreweave.instance_types.hgx-h900: unknown system 'hgx-h900'; known: "),
        ("coreweave", "coreweave", {"tokens": "x"},
         "neocloud:cluster.coreweave.tokens: unknown field 'tokens'; allowed: "),
        ("nebius", "nebius", {"api_allowed_cidrs": ["203.0.113.7/24"]},
         "neocloud:cluster.nebius.api_allowed_cidrs[0]: got '203.0.113.7/24'; not an IPv4 network address"),
        ("nebius", "nebius", {"platforms": {"gb200-nvl72": {"platform": "gpu-gb200"}}},
         "neocloud:cluster.nebius.platforms.gb200-nvl72.preset: required"),
        ("nebius", "nebius", {"etcd_cluster_size": 2},
         "neocloud:cluster.nebius.etcd_cluster_size: got 2; allowed: 1, 3"),
    ],
)
def test_bad_settings_name_their_path(stack: str, section: str, values: dict[str, Any], expected: str) -> None:
    assert error_for(stack, section, **values).startswith(expected)


def test_filesystem_needs_something_to_size_it() -> None:
    cluster = stack_config("coreweave")["neocloud:cluster"]
    cluster["storage"].pop("checkpoint")
    cluster["storage"].pop("dataset_tib")
    with pytest.raises(SpecError, match=r"^neocloud:cluster\.storage\.filesystem\.capacity_tib: required"):
        load_cluster_spec(cluster)
    cluster["storage"]["filesystem"]["capacity_tib"] = 50
    assert load_cluster_spec(cluster).storage.filesystem is not None


def test_builtin_mappings_cover_only_verified_systems() -> None:
    assert COREWEAVE_INSTANCE_TYPES["gb200-nvl72"] == "gb200-4x"
    assert COREWEAVE_INSTANCE_TYPES["hgx-h100"] == "gd-8xh100ib-i128"
    assert "hgx-b200" not in COREWEAVE_INSTANCE_TYPES and "mi300x-8" not in COREWEAVE_INSTANCE_TYPES
    assert NEBIUS_PLATFORMS["hgx-h200"] == ("gpu-h200-sxm", "8gpu-128vcpu-1600gb")
    assert "gb200-nvl72" not in NEBIUS_PLATFORMS and "hgx-h100" not in NEBIUS_PLATFORMS


def test_settings_are_documented_in_the_json_schema() -> None:
    defs = json_schema()["$defs"]
    for model in ("CoreWeaveSettings", "NebiusSettings", "NebiusPlatform"):
        properties = defs[model]["properties"]
        assert properties
        undocumented = [name for name, field in properties.items() if not field.get("description")]
        assert undocumented == [], (model, undocumented)
