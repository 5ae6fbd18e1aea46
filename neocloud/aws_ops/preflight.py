"""Capacity and quota preflight for the AWS pools of a plan: fail fast, before ``pulumi up`` spends money.

For every AWS pool, five checks (each ``pass``, ``fail``, ``skip`` or ``error``, always with a reason):

- ``offering``: the instance type is offered in the pool's zone (DescribeInstanceTypeOfferings, LocationType
  ``availability-zone``); a failure lists the zones that do offer it.
- ``efa``: the type supports EFA, has the network cards the launch template attaches one EFA interface to, and
  the GPUs the plan counts (DescribeInstanceTypes: ``NetworkInfo.EfaSupported``, ``MaximumNetworkCards``,
  ``EfaInfo.MaximumEfaInterfaces``, ``GpuInfo``).
- ``capacity``: every reservation id exists, is for this type and zone, is active (or scheduled, for a window
  that has not begun) for the whole planned window, and together they hold ``nodes + spares`` instances
  (DescribeCapacityReservations). EC2 starts terminating instances in a Capacity Block 30 minutes before it ends
  (EC2 user guide, capacity-blocks-using), so a block must end 30 minutes after the window. When a Capacity
  Block pool is short, DescribeCapacityBlockOfferings says what could be bought for the window.
- ``quota``: the On-Demand vCPU quota of the instance family covers the vCPUs of all pools of that family
  (Service Quotas GetServiceQuota, ec2 ``L-417A185B`` "Running On-Demand P instances", ``L-DB2E81BA``
  "Running On-Demand G and VT instances"). On-Demand Capacity Reservations count against it ("the requested
  quantity exceeds your On-Demand Instance limit", EC2 API CreateCapacityReservation); Capacity Blocks are
  prepaid and are not checked. Instances already running elsewhere in the account also use the quota.
- ``topology``: reserved capacity sits under shared network nodes (DescribeCapacityReservationTopology): the
  reservations of a pool share a network node down to at least ``min_shared_layer`` (layer 1 = top).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from math import ceil
from typing import Any, Literal

from botocore.exceptions import ClientError

from ..plan import ClusterPlan, PoolPlan
from .errors import AwsError, translated

__all__ = [
    "CAPACITY_BLOCK_END_MARGIN",
    "CAPACITY_BLOCK_SIZES",
    "CHECKS",
    "ON_DEMAND_QUOTAS",
    "CheckResult",
    "PreflightReport",
    "Window",
    "capacity_block_hours",
    "quota_for",
    "run_preflight",
    "shared_prefix",
]

CHECKS = ("offering", "efa", "capacity", "quota", "topology")
"""Check names, in the order they are reported for each pool."""

Status = Literal["pass", "fail", "skip", "error"]

ON_DEMAND_QUOTAS: Mapping[str, tuple[str, str]] = {
    "p": ("L-417A185B", "Running On-Demand P instances"),
    "g": ("L-DB2E81BA", "Running On-Demand G and VT instances"),
    "vt": ("L-DB2E81BA", "Running On-Demand G and VT instances"),
}
"""Instance family letters -> (Service Quotas code, quota name) of the vCPU-based On-Demand quota (service code
``ec2``). The code and name come back in every GetServiceQuota response, and the check verifies the name."""

CAPACITY_BLOCK_SIZES = (1, 2, 4, 8, 16, 32, 64)
"""Instance counts a Capacity Block can be bought in (EC2 user guide, capacity-blocks-purchase)."""
CAPACITY_BLOCK_END_MARGIN = timedelta(minutes=30)
"""EC2 begins terminating a Capacity Block's instances 30 minutes before it ends (capacity-blocks-using)."""

_ACTIVE_STATES = frozenset({"active"})
_FUTURE_STATES = frozenset({"active", "scheduled"})


@dataclass(frozen=True)
class Window:
    """The planned window the capacity must cover (UTC)."""

    start: datetime
    end: datetime

    @property
    def hours(self) -> float:
        """Length of the window in hours."""
        return (self.end - self.start).total_seconds() / 3600

    def to_dict(self) -> dict[str, str | None]:
        """ISO 8601 start and end."""
        return {"start": _iso(self.start), "end": _iso(self.end)}


@dataclass(frozen=True)
class CheckResult:
    """One row of the preflight table."""

    pool: str
    check: str
    status: Status
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON (``preflight --json``)."""
        return {"pool": self.pool, "check": self.check, "status": self.status, "reason": self.reason,
                "details": dict(self.details)}


@dataclass(frozen=True)
class PreflightReport:
    """All rows for a stack, and whether it may be deployed."""

    stack: str
    cluster: str
    region: str
    window: Window
    results: tuple[CheckResult, ...]

    @property
    def ok(self) -> bool:
        """No check failed or could not run."""
        return not any(r.status in ("fail", "error") for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """The stable ``preflight --json`` document."""
        counts = {s: sum(1 for r in self.results if r.status == s) for s in ("pass", "fail", "skip", "error")}
        return {"stack": self.stack, "cluster": self.cluster, "region": self.region, "window": self.window.to_dict(),
                "ok": self.ok, "counts": counts, "checks": [r.to_dict() for r in self.results]}


def quota_for(instance_type: str) -> tuple[str, str] | None:
    """(quota code, quota name) of the On-Demand vCPU quota that ``instance_type`` counts against, if known."""
    match = re.match(r"[a-z]+", instance_type.split(".")[0])
    return ON_DEMAND_QUOTAS.get(match.group(0)) if match else None


def capacity_block_hours(window: Window) -> int:
    """The Capacity Block duration that covers ``window``: 1-day steps up to 14 days, then 7-day steps up to
    182 days (EC2 API DescribeCapacityBlockOfferings, ``CapacityDurationHours``)."""
    days = max(1, ceil(window.hours / 24 - 1e-9))
    if days > 14:
        days = min(182, ceil(days / 7) * 7)
    return days * 24


def shared_prefix(node_lists: Iterable[Sequence[str]]) -> list[str]:
    """The network nodes every list starts with (lists run top layer first)."""
    lists = [list(n) for n in node_lists]
    if not lists:
        return []
    common: list[str] = []
    for layer in zip(*lists, strict=False):
        if len(set(layer)) != 1:
            break
        common.append(layer[0])
    return common


def run_preflight(
    plan: ClusterPlan,
    ec2: Any,
    quotas: Any,
    *,
    stack: str,
    region: str,
    window: Window,
    skip: Iterable[str] = (),
    min_shared_layer: int = 1,
    now: datetime | None = None,
    reservation_sizes: Mapping[str, int] | None = None,
) -> PreflightReport:
    """Run the checks for every AWS pool of ``plan`` with an EC2 and a Service Quotas client.

    ``reservation_sizes`` are the spec's ``aws.reservation_instances`` (the sizes the node groups are cut by); a
    reservation that holds a different number fails the capacity check. Permission and credential problems raise
    ``AwsError`` (exit 2): a preflight that cannot see is not a pass.
    """
    skipped = set(skip)
    now = now or datetime.now(UTC)
    pools = [p for p in plan.pools if p.system.kind in ("aws", "aws-ultraserver")]
    types = sorted({p.system.name for p in pools})
    need_types = bool({"efa", "quota"} - skipped)
    type_info = _describe_instance_types(ec2, types) if need_types and types else {}
    reserved_ids = [r for p in pools if p.capacity_source != "on-demand" for r in p.reservation_ids]
    reservations = (_describe_reservations(ec2, reserved_ids)
                    if reserved_ids and {"capacity", "topology"} - skipped else {})
    quota_rows = {} if "quota" in skipped else _quota_rows(pools, quotas, type_info)
    planned_ends = _planned_ends(plan)
    offerings: dict[str, list[str]] = {}
    results: list[CheckResult] = []
    for pool in pools:
        for check in CHECKS:
            if check in skipped:
                results.append(CheckResult(pool.name, check, "skip", "skipped by --skip"))
            elif check == "offering":
                if pool.system.name not in offerings:
                    offerings[pool.system.name] = _offered_zones(ec2, pool.system.name)
                results.append(_check_offering(pool, offerings[pool.system.name], region))
            elif check == "efa":
                results.append(_check_efa(pool, type_info.get(pool.system.name)))
            elif check == "capacity":
                results.append(_check_capacity(pool, reservations, window, now, ec2, reservation_sizes or {},
                                               planned_ends))
            elif check == "quota":
                results.append(quota_rows[pool.name])
            else:
                results.append(_check_topology(pool, reservations, ec2, min_shared_layer))
    return PreflightReport(stack=stack, cluster=plan.name, region=region, window=window, results=tuple(results))


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _code(error: ClientError) -> str:
    return str((error.response.get("Error") or {}).get("Code") or "")


def _describe_instance_types(ec2: Any, types: list[str]) -> dict[str, dict[str, Any]]:
    with translated(ec2):
        try:
            return {t["InstanceType"]: t for t in _pages(ec2, "describe_instance_types", "InstanceTypes",
                                                         InstanceTypes=types)}
        except ClientError as error:
            if _code(error) != "InvalidInstanceType":
                raise
    if len(types) == 1:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for name in types:  # one of them is unknown in this region: find which
        found.update(_describe_instance_types(ec2, [name]))
    return found


def _offered_zones(ec2: Any, instance_type: str) -> list[str]:
    with translated(ec2):
        return sorted({o["Location"] for o in _pages(
            ec2, "describe_instance_type_offerings", "InstanceTypeOfferings", LocationType="availability-zone",
            Filters=[{"Name": "instance-type", "Values": [instance_type]}])})


def _check_offering(pool: PoolPlan, zones: list[str], region: str) -> CheckResult:
    name, zone = pool.system.name, pool.zone
    details = {"instance_type": name, "zone": zone, "offered_in": zones}
    if zone in zones:
        return CheckResult(pool.name, "offering", "pass", f"{name} is offered in {zone}", details)
    where = f"offered in {', '.join(zones)}" if zones else f"offered in no zone of {region}"
    return CheckResult(pool.name, "offering", "fail", f"{name} is not offered in {zone}; {where}", details)


def _check_efa(pool: PoolPlan, info: Mapping[str, Any] | None) -> CheckResult:
    system = pool.system
    if info is None:
        return CheckResult(pool.name, "efa", "fail", f"{system.name} is not an instance type in this region "
                           "(DescribeInstanceTypes: InvalidInstanceType)")
    net = info.get("NetworkInfo") or {}
    efa = bool(net.get("EfaSupported"))
    cards = net.get("MaximumNetworkCards")
    max_efa = (net.get("EfaInfo") or {}).get("MaximumEfaInterfaces")
    gpus = sum(int(g.get("Count") or 0) for g in (info.get("GpuInfo") or {}).get("Gpus", []))
    want_cards = system.efa_network_cards
    details = {"efa_supported": efa, "network_cards": cards, "max_efa_interfaces": max_efa, "gpus": gpus,
               "expected_network_cards": want_cards, "expected_gpus": system.gpus_per_node}
    problems = []
    if not efa:
        problems.append(f"{system.name} does not support EFA")
    if want_cards is not None and cards != want_cards:
        problems.append(f"{cards} network cards, the plan attaches one EFA interface to each of {want_cards}")
    if want_cards is not None and (max_efa or 0) < want_cards:
        problems.append(f"at most {max_efa} EFA interfaces, the plan needs {want_cards}")
    if gpus != system.gpus_per_node:
        problems.append(f"{gpus} GPUs per instance, the plan counts {system.gpus_per_node}")
    if problems:
        return CheckResult(pool.name, "efa", "fail", "; ".join(problems), details)
    return CheckResult(pool.name, "efa", "pass", f"EFA on {cards} network cards (up to {max_efa} EFA interfaces), "
                       f"{gpus} GPUs", details)


def _describe_reservations(ec2: Any, ids: list[str]) -> dict[str, dict[str, Any] | None]:
    """Reservation by id; ``None`` for ids that do not exist (or are not visible to this account)."""
    unique = list(dict.fromkeys(ids))
    with translated(ec2):
        try:
            found = {r["CapacityReservationId"]: r for r in _pages(
                ec2, "describe_capacity_reservations", "CapacityReservations", CapacityReservationIds=unique)}
        except ClientError as error:
            if not _code(error).startswith("InvalidCapacityReservationId"):
                raise
            if len(unique) == 1:
                return {unique[0]: None}
            out: dict[str, dict[str, Any] | None] = {}
            for rid in unique:  # one of them is missing or malformed: ask one by one
                out.update(_describe_reservations(ec2, [rid]))
            return out
    return {rid: found.get(rid) for rid in unique}


def _planned_ends(plan: ClusterPlan) -> dict[str, tuple[str, str]]:
    """Capacity Block id -> (its end, when its node group scales to zero), as the plan decided them
    (``ClusterPlan.placement``, from the spec's ``aws.capacity_block_end_times``)."""
    blocks = getattr(plan.placement, "blocks", None) or {}
    return {rid: (b.ends_at, b.scale_to_zero_at) for pool_blocks in blocks.values() for b in pool_blocks
            if b.ends_at and b.scale_to_zero_at for rid in b.reservation_ids}


def _check_capacity(pool: PoolPlan, reservations: Mapping[str, dict[str, Any] | None], window: Window,
                    now: datetime, ec2: Any, declared: Mapping[str, int],
                    planned_ends: Mapping[str, tuple[str, str]] | None = None) -> CheckResult:
    if pool.capacity_source == "on-demand":
        return CheckResult(pool.name, "capacity", "skip", "on-demand capacity: no reservation to check")
    block = pool.capacity_source == "capacity-block"
    need = pool.total_nodes
    problems: list[str] = []
    usable_total = available = 0
    rows = []
    for rid in pool.reservation_ids:
        res = reservations.get(rid)
        if res is None:
            problems.append(f"{rid} does not exist in this account and region")
            continue
        own = _reservation_problems(pool, res, window, now, block)
        total = int(res.get("TotalInstanceCount") or 0)
        if rid in declared and declared[rid] != total:
            own.append(f"holds {total} instances, but aws.reservation_instances says {declared[rid]} (the node "
                       "groups are cut by that number)")
        planned_end, scale_down = (planned_ends or {}).get(rid, (None, None))
        if planned_end is not None and _iso(res.get("EndDate")) not in (None, planned_end):
            # The node group scales to zero before the end the spec gives: a wrong end drains too late (EC2
            # terminates the instances first) or too early.
            own.append(f"ends {_iso(res.get('EndDate'))}, but aws.capacity_block_end_times says {planned_end} (the "
                       "node group scales to zero before that time)")
        if scale_down is not None and scale_down <= (_iso(now) or ""):
            # EC2 Auto Scaling refuses a scheduled action in the past (PutScheduledUpdateGroupAction: "If you try to
            # schedule your action in the past, Amazon EC2 Auto Scaling returns an error message").
            own.append(f"scales its node group to zero at {scale_down}, which has passed (the block ends "
                       f"{planned_end}; EC2 Auto Scaling refuses a scheduled action in the past): drop it from the "
                       "pool")
        problems.extend(f"{rid} {p}" for p in own)
        rows.append({"id": rid, "state": res.get("State"), "instance_type": res.get("InstanceType"),
                     "zone": res.get("AvailabilityZone"), "total": total,
                     "available": int(res.get("AvailableInstanceCount") or 0),
                     "start": _iso(res.get("StartDate")), "end": _iso(res.get("EndDate")),
                     "type": res.get("ReservationType")})
        if not own:
            usable_total += total
            available += int(res.get("AvailableInstanceCount") or 0)
    if usable_total < need:
        problems.append(f"usable reservations hold {usable_total} instances; the pool needs {need} (nodes + spares)")
    details: dict[str, Any] = {"reservations": rows, "needed": need, "usable_instances": usable_total,
                               "available_instances": available}
    if problems:
        reason = "; ".join(problems)
        if block:
            hint, offers = _block_offerings(ec2, pool, need - usable_total, window)
            details["capacity_block_offerings"] = offers
            reason = f"{reason}; {hint}"
        return CheckResult(pool.name, "capacity", "fail", reason, details)
    kind = "Capacity Block(s)" if block else "capacity reservation(s)"
    return CheckResult(pool.name, "capacity", "pass", f"{len(rows)} {kind} hold {usable_total} instances "
                       f"({available} available now) for {need} nodes, {pool.zone}, covering "
                       f"{_iso(window.start)} to {_iso(window.end)}", details)


def _reservation_problems(pool: PoolPlan, res: Mapping[str, Any], window: Window, now: datetime,
                          block: bool) -> list[str]:
    problems = []
    if res.get("InstanceType") != pool.system.name:
        problems.append(f"is for {res.get('InstanceType')}, not {pool.system.name}")
    if res.get("AvailabilityZone") != pool.zone:
        problems.append(f"is in {res.get('AvailabilityZone')}, not the pool's zone {pool.zone}")
    if block and res.get("ReservationType") not in (None, "capacity-block"):
        problems.append("is an On-Demand Capacity Reservation, not a Capacity Block")
    state = str(res.get("State"))
    allowed = _FUTURE_STATES if window.start > now else _ACTIVE_STATES
    if state not in allowed:
        problems.append(f"is {state}, not {' or '.join(sorted(allowed))}")
    start = res.get("StartDate")
    if isinstance(start, datetime) and _utc(start) > window.start:
        problems.append(f"starts {_iso(start)}, after the window starts ({_iso(window.start)})")
    end = res.get("EndDate")
    if res.get("EndDateType") != "unlimited" and isinstance(end, datetime):
        usable_end = _utc(end) - (CAPACITY_BLOCK_END_MARGIN if block else timedelta(0))
        if usable_end < window.end:
            margin = " (instances are terminated 30 minutes before a Capacity Block ends)" if block else ""
            problems.append(f"ends {_iso(end)}, before the window ends ({_iso(window.end)}){margin}")
    return problems


def _block_offerings(ec2: Any, pool: PoolPlan, short: int, window: Window) -> tuple[str, list[dict[str, Any]]]:
    """A one-line hint and the offerings (in the pool's zone) that could cover ``short`` instances."""
    short = max(short, 1)
    count = next((s for s in CAPACITY_BLOCK_SIZES if s >= min(short, CAPACITY_BLOCK_SIZES[-1])), 64)
    hours = capacity_block_hours(window)
    end_range = max(window.end, window.start + timedelta(hours=hours))
    try:
        with translated(ec2):
            offers = list(_pages(ec2, "describe_capacity_block_offerings", "CapacityBlockOfferings",
                                 InstanceType=pool.system.name, InstanceCount=count, CapacityDurationHours=hours,
                                 StartDateRange=window.start, EndDateRange=end_range))
    except AwsError as error:
        return f"could not look up Capacity Block offerings ({error})", []
    here = [o for o in offers if o.get("AvailabilityZone") == pool.zone]
    rows = [{"id": o.get("CapacityBlockOfferingId"), "zone": o.get("AvailabilityZone"),
             "instances": o.get("InstanceCount"), "start": _iso(o.get("StartDate")), "end": _iso(o.get("EndDate")),
             "hours": o.get("CapacityBlockDurationHours"), "upfront_fee": o.get("UpfrontFee"),
             "currency": o.get("CurrencyCode")} for o in here]
    blocks = f" (x{ceil(short / count)} blocks)" if short > count else ""
    what = f"Capacity Block offerings for {count} x {pool.system.name}{blocks}, {hours} h, in {pool.zone}"
    if here:
        first = min(rows, key=lambda r: r["start"] or "")
        return (f"{what}: {len(here)} (earliest {first['start']}, upfront {first['upfront_fee']} "
                f"{first['currency']})", rows)
    elsewhere = sorted({str(o.get("AvailabilityZone")) for o in offers})
    other = f"; {len(offers)} in {', '.join(elsewhere)}" if offers else ""
    return f"{what}: none{other}", rows


def _quota_rows(pools: list[PoolPlan], quotas: Any, type_info: Mapping[str, Mapping[str, Any]]
                ) -> dict[str, CheckResult]:
    rows: dict[str, CheckResult] = {}
    by_code: dict[str, list[PoolPlan]] = {}
    for pool in pools:
        if pool.capacity_source == "capacity-block":
            rows[pool.name] = CheckResult(pool.name, "quota", "skip", "Capacity Blocks are prepaid reservations; "
                                          "the On-Demand vCPU quota is checked for on-demand and reservation pools")
            continue
        quota = quota_for(pool.system.name)
        if quota is None:
            rows[pool.name] = CheckResult(pool.name, "quota", "error", f"no known On-Demand quota code for "
                                          f"{pool.system.name}; check it in the Service Quotas console")
            continue
        by_code.setdefault(quota[0], []).append(pool)
    for code, members in by_code.items():
        name = next(n for c, n in ON_DEMAND_QUOTAS.values() if c == code)
        needs = {}
        for pool in members:
            vcpus = (type_info.get(pool.system.name) or {}).get("VCpuInfo", {}).get("DefaultVCpus") or pool.system.vcpus
            needs[pool.name] = None if vcpus is None else int(vcpus) * pool.total_nodes
        value, quota_name, problem = _quota_value(quotas, code)
        total = sum(v for v in needs.values() if v is not None)
        for pool in members:
            need = needs[pool.name]
            details = {"quota_code": code, "quota_name": quota_name or name, "value": value,
                       "needed_vcpus": need, "family_needed_vcpus": total}
            if problem:
                rows[pool.name] = CheckResult(pool.name, "quota", "error", problem, details)
            elif quota_name and quota_name != name:
                rows[pool.name] = CheckResult(pool.name, "quota", "error", f"quota {code} is named {quota_name!r}, "
                                              f"expected {name!r}", details)
            elif need is None:
                rows[pool.name] = CheckResult(pool.name, "quota", "error", f"vCPUs of {pool.system.name} unknown",
                                              details)
            else:
                verdict: Status = "pass" if value is not None and value >= total else "fail"
                share = f"{pool.total_nodes} x {pool.system.name} = {need:,} vCPUs"
                family = f"; all pools on this quota need {total:,}" if len(members) > 1 else ""
                cover = "covers" if verdict == "pass" else "does not cover"
                rows[pool.name] = CheckResult(pool.name, "quota", verdict, f"{code} {name!r} = {value:,.0f} vCPUs "
                                              f"{cover} {share}{family}", details)
    return rows


def _quota_value(quotas: Any, code: str) -> tuple[float | None, str | None, str | None]:
    """(value, quota name, problem): the applied value, else the AWS default value."""
    try:
        with translated(quotas):
            try:
                quota = quotas.get_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]
            except ClientError as error:
                if _code(error) != "NoSuchResourceException":
                    raise
                quota = quotas.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]
    except AwsError as error:
        if error.kind in ("credentials", "permission"):
            raise
        return None, None, f"could not read ec2 {code} from Service Quotas: {error}"
    return float(quota["Value"]), quota.get("QuotaName"), None


def _check_topology(pool: PoolPlan, reservations: Mapping[str, dict[str, Any] | None], ec2: Any,
                    min_shared_layer: int) -> CheckResult:
    if pool.capacity_source == "on-demand":
        return CheckResult(pool.name, "topology", "skip", "on-demand capacity: each placement block gets a cluster "
                           "placement group instead")
    ids = [r for r in dict.fromkeys(pool.reservation_ids) if reservations.get(r) is not None]
    if not ids:
        return CheckResult(pool.name, "topology", "error", "no existing reservation to locate")
    nodes = _reservation_topology(ec2, ids)
    missing = [r for r in ids if not nodes.get(r)]
    details: dict[str, Any] = {"network_nodes": {r: nodes.get(r, []) for r in ids},
                               "min_shared_layer": min_shared_layer}
    if missing:
        return CheckResult(pool.name, "topology", "error", f"no network nodes reported for {', '.join(missing)} "
                           "(the instance type may not support EC2 topology)", details)
    common = shared_prefix(nodes[r] for r in ids)
    details["shared_nodes"] = common
    if len(common) >= min_shared_layer:
        if len(ids) == 1:
            reason = f"{ids[0]} sits under {'/'.join(common)} (layers 1-{len(common)})"
        else:
            reason = f"{len(ids)} reservations share network node {common[-1]} (layer {len(common)})"
        return CheckResult(pool.name, "topology", "pass", reason, details)
    spread = ", ".join(f"{r}: {'/'.join(nodes[r][:max(min_shared_layer, 1)])}" for r in ids)
    return CheckResult(pool.name, "topology", "fail", f"reservations share no network node at layer "
                       f"{min_shared_layer} or above ({len(common)} shared layers): {spread}", details)


def _reservation_topology(ec2: Any, ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with translated(ec2):
        for i in range(0, len(ids), 10):  # at most 10 explicit ids per request (EC2 API reference)
            kwargs: dict[str, Any] = {"CapacityReservationIds": ids[i:i + 10]}
            while True:
                page = ec2.describe_capacity_reservation_topology(**kwargs)
                for entry in page.get("CapacityReservations", []):
                    out[entry["CapacityReservationId"]] = list(entry.get("NetworkNodes") or [])
                token = page.get("NextToken")
                if not token:
                    break
                kwargs["NextToken"] = token
    return out


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: Any) -> str | None:
    if not isinstance(value, datetime):
        return None
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
