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

Decided here once, and read by the AWS provider, ``aws_ops`` and the policies (none of them re-plans):

- the zones (``ZonePlan``): the GPU pools' zones, every zone that gets subnets, and the EKS control-plane zones,
  which are Availability Zones only: "Amazon EKS can't place network interfaces into your Local Zone subnets. This
  means that you must not specify Local Zone subnets when you create your cluster" (EKS user guide, "Launch
  low-latency EKS clusters with AWS Local Zones"), and the cluster needs "subnets in at least two different
  Availability Zones" (EKS user guide, "View Amazon EKS networking requirements for VPC and subnets");
- each block's node labels: ``neocloud.io/su`` is the plan SU that holds the block's first node -- a block smaller
  than an SU (an UltraServer, or ``aws.placement_block_nodes`` below the SU size) is cut at SU boundaries, so it
  lies in one SU and several blocks share its label; a block of whole SUs carries its first SU. The label never
  names an SU the plan does not have. ``neocloud.io/nvlink-domain`` is set where the block is exactly one
  multi-node NVLink domain (an UltraServer);
- each Capacity Block block's end (``aws.capacity_block_end_times``, the reservation's ``EndDate``) and when its
  node group scales to zero: ``aws.capacity_block_drain_minutes`` before it. Reservations whose ends differ never
  share a block, so one block has one end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from components.providers.aws.profile import CAPACITY_BLOCK_MAX_INSTANCES

from ..aws_rules import zone_kind
from ..errors import SpecError
from ..vocabulary import LABEL_NVLINK_DOMAIN, LABEL_SU

if TYPE_CHECKING:
    from ..spec import ClusterSpec
    from .cluster import PoolPlan

__all__ = ["PlacementBlock", "PlacementPlan", "ZonePlan", "plan_placement", "plan_placement_blocks", "plan_zones"]


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
    su: int = 0
    """The block's ``neocloud.io/su`` label: the plan SU that holds its first node (module docstring)."""
    nvlink_domain: int | None = None
    """The block's ``neocloud.io/nvlink-domain`` label where it is exactly one multi-node NVLink domain."""
    ends_at: str | None = None
    """When the block's Capacity Blocks end (ISO 8601, UTC); ``None`` for other capacity."""
    scale_to_zero_at: str | None = None
    """When the block's node group is scaled to zero, before EC2 reclaims the instances (ISO 8601, UTC)."""

    @property
    def labels(self) -> dict[str, str]:
        """The per-block node labels the node group carries (the pool's labels come from the pool plan)."""
        out = {LABEL_SU: str(self.su)}
        if self.nvlink_domain is not None:
            out[LABEL_NVLINK_DOMAIN] = str(self.nvlink_domain)
        return out

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
        out["labels"] = self.labels
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


def _group_runs(runs: list[tuple[str | None, int]], size: int, per_group: int,
                ends: Mapping[str, datetime]) -> list[tuple[tuple[str, ...], int]]:
    """Merge consecutive reservation runs into shared blocks of at most ``per_group`` reservations and ``size``
    nodes, if they end at the same time; a run larger than a block stays alone (it is cut into blocks of its one
    reservation)."""
    grouped: list[tuple[tuple[str, ...], int]] = []
    for rid, nodes in runs:
        if rid is None:
            grouped.append(((), nodes))
            continue
        if (grouped and grouped[-1][0] and len(grouped[-1][0]) < per_group and grouped[-1][1] + nodes <= size
                and ends.get(grouped[-1][0][0]) == ends.get(rid)):
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
    end_times: Mapping[str, datetime] | None = None,
    drain_minutes: int = 60,
) -> tuple[PlacementBlock, ...]:
    """Cut ``pool`` into placement blocks. Raises ``SpecError`` naming the ``aws.*`` setting that cannot work.

    ``end_times``: Capacity Block id -> its end (timezone-aware); ``drain_minutes``: how long before the end the
    block's node group scales to zero."""
    ends = end_times or {}
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
                                 reservations_per_node_group, ends):
        end = ends.get(rids[0]) if rids and pool.capacity_source == "capacity-block" else None
        done = 0
        while done < run:
            first = offset + done
            su_index, _, su_end = next(b for b in su_bounds if b[1] <= first < b[2])
            nodes = min(size, run - done)
            if size < su:
                # A block smaller than an SU stays inside one SU, so its SU label is true for all its nodes.
                nodes = min(nodes, su_end - first)
            sus = tuple(i for i, lo, hi in su_bounds if lo < first + nodes and first < hi)
            floor = min(floor_left, nodes)
            floor_left -= floor
            blocks.append(PlacementBlock(
                pool=pool.name, index=len(blocks), first_node=first, nodes=nodes, min_nodes=floor,
                capacity_source=pool.capacity_source, reservation_ids=rids, scalable_units=sus,
                first_domain=first // domain, domains=nodes // domain, su=su_index,
                nvlink_domain=first // domain if domain > 1 and nodes == domain else None,
                ends_at=None if end is None else _utc(end),
                scale_to_zero_at=None if end is None else _utc(end - timedelta(minutes=drain_minutes)),
            ))
            done += nodes
        offset += run
    return tuple(blocks)


def _utc(moment: datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ``: the UTC form EC2 Auto Scaling takes for a scheduled action's StartTime (EC2 Auto
    Scaling API, PutScheduledUpdateGroupAction)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class ZonePlan:
    """Where the AWS subnets go (module docstring)."""

    gpu: tuple[str, ...]
    """The GPU pools' zones, in pool order."""
    all: tuple[str, ...]
    """Every zone that gets a private and a public subnet: the GPU zones, then the other zones."""
    control_plane: tuple[str, ...]
    """The Availability Zones whose subnets the EKS cluster (``vpcConfig.subnetIds``) and the system node group
    use: never a Local Zone."""

    def to_dict(self) -> dict[str, Any]:
        return {"gpu": list(self.gpu), "all": list(self.all), "control_plane": list(self.control_plane)}


EKS_CONTROL_PLANE_MIN_ZONES = 2
"""EKS needs subnets in at least two Availability Zones (EKS user guide, "View Amazon EKS networking requirements
for VPC and subnets") [P]."""


def plan_zones(*, region: str, gpu_zones: Sequence[str], extra_zones: Sequence[str]) -> ZonePlan:
    """The zones of an AWS cluster. When the spec names fewer than two Availability Zones, the region's next zone
    letters are added (an assumption ``aws.zones`` overrides, for accounts where those names do not exist)."""
    gpu: list[str] = []
    for zone in gpu_zones:
        if zone not in gpu:
            gpu.append(zone)
    zones = list(gpu)
    for zone in extra_zones:
        if zone not in zones:
            zones.append(zone)

    def regular() -> list[str]:
        return [z for z in zones if zone_kind(z, region) == "availability-zone"]

    letter = ord("a")
    while len(regular()) < EKS_CONTROL_PLANE_MIN_ZONES and letter <= ord("z"):
        candidate = f"{region}{chr(letter)}"
        if candidate not in zones:
            zones.append(candidate)
        letter += 1
    return ZonePlan(gpu=tuple(gpu), all=tuple(zones), control_plane=tuple(regular()))


@dataclass(frozen=True, slots=True)
class PlacementPlan:
    """Zones and every pool's placement blocks (``ClusterPlan.placement`` on AWS)."""

    zones: ZonePlan
    blocks: Mapping[str, tuple[PlacementBlock, ...]]
    """Pool name -> its blocks."""

    @property
    def node_groups(self) -> int:
        """EKS managed node groups the GPU blocks need (the system node group not counted)."""
        return sum(len(b) for b in self.blocks.values())

    def to_dict(self) -> dict[str, Any]:
        return {"zones": self.zones.to_dict(),
                "blocks": {pool: [b.to_dict() for b in blocks] for pool, blocks in self.blocks.items()}}


def plan_placement(spec: ClusterSpec, pools: Sequence[PoolPlan]) -> PlacementPlan:
    """Zones and placement blocks of an AWS spec under its ``aws`` settings."""
    from components.providers.aws.profile import AwsSettings

    aws = spec.settings_of(AwsSettings)
    zones = plan_zones(region=spec.region or "", gpu_zones=[p.zone for p in pools if p.zone],
                       extra_zones=aws.zones)
    blocks = {
        pool.name: plan_placement_blocks(
            pool,
            block_nodes=aws.placement_block_nodes,
            node_group_max_nodes=aws.node_group_max_nodes,
            reservation_instances=aws.reservation_instances,
            reservations_per_node_group=aws.reservations_per_node_group,
            end_times=aws.capacity_block_end_times,
            drain_minutes=aws.capacity_block_drain_minutes,
        )
        for pool in pools
    }
    return PlacementPlan(zones=zones, blocks=blocks)
