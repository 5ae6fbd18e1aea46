"""AWS placement blocks: how one EFA pool is cut into node groups (and, on on-demand capacity, cluster placement
groups), so that resources grow with blocks, not nodes.

A block is a run of consecutive nodes of the pool that

- holds whole NVLink domains (an UltraServer is never split) and, where it fits, whole scalable units;
- on UltraServer systems (p6e-gb200) is exactly one UltraServer, so its node group can carry the NVLink domain;
- fits one EKS managed node group (``Nodes per managed node group``, default 450; EKS service quotas [P]);
- draws on exactly one capacity source: on-demand capacity is cut only by the block size; a capacity reservation
  or Capacity Block is cut at its own size, because a launch template targets one reservation
  (EKS user guide, capacity-blocks-mng: ``CapacityReservationTarget.CapacityReservationId``) [P] -- unless
  ``reservations_per_node_group`` lets up to that many consecutive reservations share a block, which the launch
  template then targets as a Capacity Reservation resource group
  (``CapacityReservationTarget.CapacityReservationResourceGroupArn``; a group "supports all reservation types,
  including ... Capacity Blocks for ML", EC2 user guide, cr-groups) [P].

Reservation sizes are facts of the account, not of the catalog: ``reservation_instances`` supplies them; without
it a Capacity Block is filled up to 64 instances (the most one holds, hardware.md [P]/[S]) in listed order and
On-Demand Capacity Reservations share the pool evenly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from components.providers.aws.profile import CAPACITY_BLOCK_MAX_INSTANCES

from ..errors import SpecError
from .cluster import PoolPlan

__all__ = ["PlacementBlock", "plan_placement_blocks"]


@dataclass(frozen=True, slots=True)
class PlacementBlock:
    """One node group's worth of a pool: its size, capacity source and the plan units it holds."""

    pool: str
    index: int
    """Position in the pool (the ``neocloud.io/su`` node label on AWS, where a placement block is the SU)."""
    first_node: int
    """Offset of the block's first node in the pool's node sequence."""
    nodes: int
    """Nodes in the block, spares included (node group desired and max size)."""
    min_nodes: int
    """The block's share of the pool's autoscaling floor."""
    capacity_source: str
    reservation_ids: tuple[str, ...]
    """The reservations the block draws on: none (on-demand), one, or several (a resource group)."""
    scalable_units: tuple[int, ...]
    """Indices of the plan's SUs the block holds (wholly or partly)."""
    first_domain: int
    """Index of the block's first NVLink domain in the pool."""
    domains: int
    """Whole NVLink domains in the block."""

    @property
    def name(self) -> str:
        """``<pool>-b<index>``: names the block's node group, launch template and placement group."""
        return f"{self.pool}-b{self.index}"

    @property
    def reservation_id(self) -> str | None:
        """The one reservation the launch template targets directly (``None``: on-demand or a group)."""
        return self.reservation_ids[0] if len(self.reservation_ids) == 1 else None

    @property
    def reservation_group(self) -> bool:
        """Whether the block targets several reservations through a Capacity Reservation resource group."""
        return len(self.reservation_ids) > 1

    @property
    def placement_group(self) -> bool:
        """On-demand blocks get a cluster placement group; reserved capacity already fixes placement, and
        forcing a placement group onto it fails with capacity errors (terraform-aws-eks #3730, hardware.md)."""
        return self.capacity_source == "on-demand"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready facts (stack output ``placement_blocks``)."""
        out = asdict(self)
        out["name"] = self.name
        out["reservation_ids"] = list(self.reservation_ids)
        out["reservation_id"] = self.reservation_id
        out["reservation_group"] = self.reservation_group
        out["placement_group"] = self.placement_group
        return out


def _segments(pool: PoolPlan, domain: int, reservation_instances: Mapping[str, int]) -> list[tuple[str | None, int]]:
    """(reservation id or None, nodes) runs of the pool, each a multiple of the NVLink domain."""
    total = pool.total_nodes
    if pool.capacity_source == "on-demand" or not pool.reservation_ids:
        return [(None, total)]
    ids = pool.reservation_ids
    if all(r in reservation_instances for r in ids):
        sizes = [reservation_instances[r] // domain * domain for r in ids]
    elif pool.capacity_source == "capacity-block":
        sizes = [reservation_instances.get(r, CAPACITY_BLOCK_MAX_INSTANCES) // domain * domain for r in ids]
    else:
        # ODCR sizes unknown: spread whole domains evenly, the first reservations taking the remainder.
        base, extra = divmod(total // domain, len(ids))
        sizes = [(base + (1 if i < extra else 0)) * domain for i in range(len(ids))]
    runs: list[tuple[str | None, int]] = []
    left = total
    for rid, size in zip(ids, sizes, strict=True):
        take = min(size, left)
        if take:
            runs.append((rid, take))
        left -= take
    if left:
        raise SpecError(
            "aws.reservation_instances",
            f"pools[{pool.index}] ({pool.name}) needs {total} nodes but its reservations hold "
            f"{total - left} in whole NVLink domains of {domain}; list more reservations or their real sizes",
        )
    return runs


def _group_runs(runs: list[tuple[str | None, int]], size: int,
                per_group: int) -> list[tuple[tuple[str, ...], int]]:
    """Merge consecutive reservation runs into shared blocks of at most ``per_group`` reservations and ``size``
    nodes; a run larger than a block stays alone (it is cut into blocks of its one reservation)."""
    grouped: list[tuple[tuple[str, ...], int]] = []
    for rid, nodes in runs:
        if rid is None:
            grouped.append(((), nodes))
            continue
        if grouped and grouped[-1][0] and len(grouped[-1][0]) < per_group and grouped[-1][1] + nodes <= size:
            ids, total = grouped[-1]
            grouped[-1] = ((*ids, rid), total + nodes)
        else:
            grouped.append(((rid,), nodes))
    return grouped


def plan_placement_blocks(
    pool: PoolPlan,
    *,
    block_nodes: int,
    node_group_max_nodes: int,
    reservation_instances: Mapping[str, int] | None = None,
    reservations_per_node_group: int = 1,
) -> tuple[PlacementBlock, ...]:
    """Cut ``pool`` into placement blocks. Raises ``SpecError`` naming the ``aws.*`` setting that cannot work."""
    domain = pool.system.nvlink_domain_nodes
    limit = min(block_nodes, node_group_max_nodes)
    size = limit // domain * domain
    if size == 0:
        raise SpecError("aws.placement_block_nodes", f"{limit} nodes cannot hold one NVLink domain of {domain} nodes "
                        f"({pool.system.name})")
    if pool.system.kind == "aws-ultraserver":
        # One node group per UltraServer: its nodes share one NVLink domain, and the node group is where the
        # ``neocloud.io/nvlink-domain`` label is set (AWS-EKS [P]: one UltraServer = one NVLink domain).
        size = domain
    su = pool.nodes_per_su
    if size >= su:
        # Whole SUs per block, so the plan's spare spread per SU holds per block too.
        size = size // su * su
    su_bounds: list[tuple[int, int, int]] = []
    start = 0
    for unit in pool.scalable_units:
        su_bounds.append((unit.index, start, start + unit.nodes))
        start += unit.nodes
    floor_left = pool.min_nodes
    blocks: list[PlacementBlock] = []
    offset = 0
    for rids, run in _group_runs(_segments(pool, domain, reservation_instances or {}), size,
                                 reservations_per_node_group):
        done = 0
        while done < run:
            nodes = min(size, run - done)
            first = offset + done
            sus = tuple(i for i, lo, hi in su_bounds if lo < first + nodes and first < hi)
            floor = min(floor_left, nodes)
            floor_left -= floor
            blocks.append(PlacementBlock(
                pool=pool.name, index=len(blocks), first_node=first, nodes=nodes, min_nodes=floor,
                capacity_source=pool.capacity_source, reservation_ids=rids, scalable_units=sus,
                first_domain=first // domain, domains=nodes // domain,
            ))
            done += nodes
        offset += run
    return tuple(blocks)
