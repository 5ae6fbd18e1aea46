"""``aws`` settings in the spec: defaults, and one path-naming message per bad input; bad config registers nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from components.providers.aws.profile import AwsSettings
from neocloud import SpecError, load_cluster_spec
from neocloud.offline import run_program
from tests.conftest import REPO


def dev(**aws: Any) -> dict[str, Any]:
    raw = yaml.safe_load((REPO / "stacks" / "Pulumi.dev.yaml").read_text())["config"]["neocloud:cluster"]
    raw = copy.deepcopy(raw)
    if aws:
        raw["aws"] = aws
    return raw


def error(raw: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as info:
        load_cluster_spec(raw)
    return str(info.value)


def test_defaults_are_the_published_quotas_and_private_api() -> None:
    settings = load_cluster_spec(dev()).aws
    assert settings == AwsSettings()
    assert (settings.node_group_max_nodes, settings.max_node_groups) == (450, 30)
    assert settings.placement_block_nodes == 448
    assert settings.api_public_cidrs == []
    assert settings.control_plane_logs == ["api", "audit", "authenticator"]


def test_every_setting_is_described_in_the_schema() -> None:
    properties = AwsSettings.model_json_schema()["properties"]
    assert properties
    assert all(p.get("description") for p in properties.values())


@pytest.mark.parametrize(
    ("aws", "message"),
    [
        ({"vpc_cidr": "10.0.0.1/16"}, "neocloud:cluster.aws.vpc_cidr: '10.0.0.1/16' has host bits set; use the "
                                      "network address"),
        ({"vpc_cidr": "10.0.0.0/24"}, "neocloud:cluster.aws.vpc_cidr: prefix /24 is outside /8 to /20"),
        ({"vpc_cidr": "300.0.0.0/16"}, "neocloud:cluster.aws.vpc_cidr: '300.0.0.0/16' is not an IPv4 network"),
        ({"vpc_cidr": "10.0.0.0"}, "neocloud:cluster.aws.vpc_cidr: got '10.0.0.0'; must match"),
        ({"zones": ["eu-west-1a"]}, "neocloud:cluster.aws.zones[0]: 'eu-west-1a' is not a zone of region 'us-east-1'"),
        ({"placement_block_nodes": 500}, "neocloud:cluster.aws.placement_block_nodes: 500 exceeds "
                                         "aws.node_group_max_nodes 450"),
        ({"reservation_instances": {"cr-00000000000000009": 4}},
         "neocloud:cluster.aws.reservation_instances.cr-00000000000000009: 'cr-00000000000000009' is not in any "
         "pool's capacity.reservation_ids"),
        ({"fsx_per_unit_throughput": 200}, "neocloud:cluster.aws.fsx_per_unit_throughput: got 200; allowed: "),
        ({"imds_hop_limit": 3}, "neocloud:cluster.aws.imds_hop_limit: got 3; allowed: 1, 2"),
        ({"system_nodes": 0}, "neocloud:cluster.aws.system_nodes: got 0; allowed: a number >= 1"),
        ({"gpu_ami_type": "AL2_x86_64_GPU"}, "neocloud:cluster.aws.gpu_ami_type: got 'AL2_x86_64_GPU'; allowed: "),
        ({"vpc": "10.0.0.0/16"}, "neocloud:cluster.aws.vpc: unknown field 'vpc'; allowed: vpc_cidr, zones"),
    ],
)
def test_bad_settings_name_their_path(aws: dict[str, Any], message: str) -> None:
    assert error(dev(**aws)).startswith(message)


def test_prod_refuses_an_api_open_to_the_internet() -> None:
    raw = dev(api_public_cidrs=["0.0.0.0/0"])
    raw["environment"] = "prod"
    assert error(raw).startswith("neocloud:cluster.aws.api_public_cidrs: 0.0.0.0/0 opens the prod Kubernetes API")


def test_prod_must_retain_its_data() -> None:
    raw = dev(retain_stateful=False)
    raw["environment"] = "prod"
    assert error(raw) == "neocloud:cluster.aws.retain_stateful: prod keeps its data: retain_stateful must be true"


def test_a_capacity_block_cannot_hold_more_than_64() -> None:
    raw = yaml.safe_load((REPO / "stacks" / "Pulumi.prod.yaml").read_text())["config"]["neocloud:cluster"]
    raw["aws"]["reservation_instances"] = {"cr-0a1b2c3d4e5f60718": 100, "cr-0f1e2d3c4b5a69788": 64}
    assert error(raw) == ("neocloud:cluster.aws.reservation_instances.cr-0a1b2c3d4e5f60718: 100 exceeds the 64 "
                          "instances one Capacity Block holds")


def test_ultraservers_need_eks_1_33() -> None:
    raw = dev()
    raw["pools"][0].update(system="p6e-gb200.36xlarge", nodes=18, min_nodes=None)
    raw["catalog"] = {"systems": {"p6e-gb200.36xlarge": {"efa_network_cards": 4}}}
    raw["kubernetes"] = {"version": "1.32"}
    # "Amazon EKS supports P6e-GB200 UltraServers for Kubernetes versions 1.33 and above" (EKS user guide,
    # ml-eks-nvidia-ultraserver): the provider's DRA floor, one number for the UltraServer and IMEX rules.
    message = error(raw)
    assert message.startswith("neocloud:cluster.kubernetes.version: '1.32' cannot run pools[0] (p6e-gb200.36xlarge)")
    assert message.endswith("with provider 'aws' that is 1.33 or later; allowed: 1.33 to 1.37")


def test_ultraserver_pools_scale_in_whole_ultraservers() -> None:
    raw = dev()
    raw["pools"][0].update(system="p6e-gb200.36xlarge", nodes=36, min_nodes=10)
    raw["catalog"] = {"systems": {"p6e-gb200.36xlarge": {"efa_network_cards": 4}}}
    raw["kubernetes"] = {"version": "1.33"}
    assert error(raw) == ("neocloud:cluster.pools[0].min_nodes: p6e-gb200.36xlarge scales in whole UltraServers of "
                          "18 nodes; 10 is not a multiple of 18")
    raw["pools"][0]["min_nodes"] = 18
    assert load_cluster_spec(raw).pools[0].min_nodes == 18


def test_bad_aws_settings_stop_the_program_before_any_resource() -> None:
    config = {"aws:region": "us-east-1", "neocloud:cluster": dev(placement_block_nodes=1000)}
    with pytest.raises(SpecError) as info:
        run_program(REPO, "dev", config=config)
    assert info.value.path == "neocloud:cluster.aws.placement_block_nodes"
    assert info.value.registered_resources == 0


def test_node_group_names_eks_would_reject_are_refused() -> None:
    """EKS node group names take at most 63 characters; '<cluster>-<pool>-b0-ng' plus Pulumi's 8-character
    auto-name suffix passes 63 once cluster + pool reach 49 characters."""
    from neocloud import SpecError, load_cluster_spec
    from tests.aws.support import stack_config

    config, _ = stack_config("dev")
    raw = config["neocloud:cluster"]
    raw["name"] = "c" * 20
    raw["pools"][0]["name"] = "p" * 28  # 48 together: the longest group name is 63 characters
    load_cluster_spec(raw)
    raw["pools"][0]["name"] = "p" * 29  # 49
    with pytest.raises(SpecError) as info:
        load_cluster_spec(raw)
    assert str(info.value).startswith("neocloud:cluster.pools[0].name: EKS node group ")
    assert "would be 64 characters; EKS allows 63" in str(info.value)
