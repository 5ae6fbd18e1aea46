"""Helpers for the AWS provider tests: shipped-stack runs and in-memory variants of them, under Pulumi's mocks."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from typing import Any

from neocloud.offline import ProgramRun, RecordedResource, load_stack_config, run_program
from tests.conftest import REPO, stack_run

Mutator = Callable[[dict[str, Any]], None]


def stack_config(stack: str, mutate: Mutator | None = None) -> tuple[dict[str, Any], list[str]]:
    """A shipped stack's config with ``mutate`` applied to its ``neocloud:cluster`` value."""
    config, secrets = load_stack_config(REPO, stack)
    config = copy.deepcopy(config)
    if mutate is not None:
        mutate(config["neocloud:cluster"])
    return config, secrets


def _system(system: str, nodes: int = 2, cards: int | None = None, aws: dict[str, Any] | None = None,
            **pool: Any) -> Mutator:
    def mutate(cluster: dict[str, Any]) -> None:
        cluster["pools"][0].update(system=system, nodes=nodes, **pool)
        if aws is not None:
            cluster["aws"] = aws
        if cards is not None:
            cluster["catalog"] = {"systems": {system: {"efa_network_cards": cards}}}
        for queue in cluster["kubernetes"]["queues"]:
            queue["gpu_quota"] = 8
    return mutate


def _odcr(cluster: dict[str, Any]) -> None:
    cluster["pools"][0]["capacity"] = {"source": "reservation", "reservation_ids": ["cr-00000000000000001"]}


def _scale(cluster: dict[str, Any]) -> None:
    # 100k GPUs: 12,500 p5.48xlarge (8 H100 each) in one on-demand pool, prod (protect, FSx sized for it).
    cluster["environment"] = "prod"
    cluster["pools"][0].update(nodes=12_500, min_nodes=None)


CAPACITY_BLOCK_END = "2027-01-08T11:30:00Z"
"""A Capacity Block end: blocks end at 11:30 UTC (EC2 user guide, Capacity Blocks for ML)."""
CAPACITY_BLOCKS_100K = [f"cr-{i:017x}" for i in range(1, 197)]
"""196 Capacity Blocks of 64 instances hold 12,500 p5.48xlarge (100k GPUs)."""


def _scale_capacity_blocks(cluster: dict[str, Any]) -> None:
    # 100k GPUs on Capacity Blocks (at most 64 instances each), 7 blocks per node group through resource groups.
    cluster["environment"] = "prod"
    cluster["pools"][0].update(nodes=12_500, min_nodes=None,
                               capacity={"source": "capacity-block", "reservation_ids": CAPACITY_BLOCKS_100K})
    cluster["aws"] = {"reservations_per_node_group": 7,
                      "reservation_instances": dict.fromkeys(CAPACITY_BLOCKS_100K, 64),
                      "capacity_block_end_times": dict.fromkeys(CAPACITY_BLOCKS_100K, CAPACITY_BLOCK_END)}


def _grouped_capacity_blocks(cluster: dict[str, Any]) -> None:
    # prod's two Capacity Blocks shared by one node group (they end at the same time)
    cluster["aws"]["reservations_per_node_group"] = 2


def _two_pools(cluster: dict[str, Any]) -> None:
    # a second pool in another zone, on an On-Demand Capacity Reservation
    cluster["pools"].append({"name": "infer", "system": "p4d.24xlarge", "nodes": 4, "zone": "us-east-1b",
                             "capacity": {"source": "reservation", "reservation_ids": ["cr-00000000000000003"]}})


def _public_api(cluster: dict[str, Any]) -> None:
    # also: metadata kept to the node (hop limit 1)
    cluster["aws"] = {"api_public_cidrs": ["203.0.113.0/24"], "zones": ["us-east-1c"], "imds_hop_limit": 2}


VARIANTS: dict[str, tuple[str, Mutator | None]] = {
    "dev": ("dev", None),
    "prod": ("prod", None),
    "p5en": ("dev", _system("p5en.48xlarge")),
    "p4d": ("dev", _system("p4d.24xlarge")),
    # AWS-ACC: 17 network cards, card 0 ENA only, EFA on cards 1-16.
    "p6b300": ("dev", _system("p6-b300.48xlarge")),
    "odcr": ("dev", _odcr),
    # Two u-p6e-gb200x72 UltraServers (2 x 18 instances), one per Capacity Block; EFA cards per instance are not
    # in hardware.md, so the spec must set them (4 here, the tray's 4 CX-7 NICs in GB200RA terms).
    "gb200": ("dev", _system("p6e-gb200.36xlarge", nodes=36, cards=4, min_nodes=None,
                             aws={"reservation_instances": {"cr-00000000000000001": 18, "cr-00000000000000002": 18},
                                  "capacity_block_end_times": {"cr-00000000000000001": CAPACITY_BLOCK_END,
                                                               "cr-00000000000000002": CAPACITY_BLOCK_END}},
                             capacity={"source": "capacity-block",
                                       "reservation_ids": ["cr-00000000000000001", "cr-00000000000000002"]})),
    "scale100k": ("dev", _scale),
    "scale100k_blocks": ("dev", _scale_capacity_blocks),
    "grouped_blocks": ("prod", _grouped_capacity_blocks),
    "public_api": ("dev", _public_api),
    "two_pools": ("dev", _two_pools),
    "disposable": ("dev", lambda cluster: cluster.update(aws={"retain_stateful": False})),
}
"""Named variants: (shipped stack, change to its cluster spec)."""


@functools.cache
def variant_run(name: str) -> ProgramRun:
    """The program's registrations for a variant (run once per session)."""
    stack, mutate = VARIANTS[name]
    if mutate is None:
        return stack_run(stack)
    config, secrets = stack_config(stack, mutate)
    return run_program(REPO, stack, config=config, secret_keys=secrets)


def aws_resources(run: ProgramRun, kind: str) -> list[RecordedResource]:
    """Resources of one pulumi-aws type token suffix, e.g. ``ec2/launchTemplate:LaunchTemplate``."""
    return run.of_type(f"aws:{kind}")


def gpu_templates(run: ProgramRun) -> list[RecordedResource]:
    return [r for r in aws_resources(run, "ec2/launchTemplate:LaunchTemplate") if "-system-" not in r.name]


def gpu_node_groups(run: ProgramRun) -> list[RecordedResource]:
    return [r for r in aws_resources(run, "eks/nodeGroup:NodeGroup") if "-system-" not in r.name]


def by_id(run: ProgramRun) -> dict[str, RecordedResource]:
    """Custom resources by the id the mock engine gives them (``<name>-id``), to follow references."""
    out: dict[str, RecordedResource] = {}
    for r in run.resources:
        if r.custom and r.type.startswith("aws:"):
            assert f"{r.name}-id" not in out, f"two resources named {r.name}: references would be ambiguous"
            out[f"{r.name}-id"] = r
    return out


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
