"""Rack-topology rules: power per rack, whole NVLink domains, rails, non-blocking fabrics, one zone per fabric,
placement groups vs reserved capacity, pools that don't overlap, and topology labels that agree with the plan.

Sources for the facts these rules encode are in shared/reference/hardware.md: NVL72 = one 72-GPU NVLink domain
per rack (GB200RA), one NIC per GPU per rail (H100RA), non-blocking 1:1 SuperPOD fabrics (H100RA), one EFA
interface per network card with ``efa`` on card 0 and ``efa-only`` on the others, EFA instances in one AZ and one
cluster placement group (AWS docs), and placement groups on reserved capacity causing capacity errors
(terraform-aws-eks #3730).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from components.providers.aws.profile import (
    EKS_NODE_GROUP,
    INSTANCE,
    LAUNCH_TEMPLATE,
    PLACEMENT_GROUP,
    SUBNET,
)
from components.providers.coreweave.profile import COREWEAVE_LEAFGROUP, COREWEAVE_RACK, COREWEAVE_SUPERPOD
from components.providers.nebius.profile import NVL_INSTANCE_GROUP
from neocloud.profiles import all_profiles, profile, union
from neocloud.vocabulary import (
    GPU_CLIQUE,
    GPU_OPERATOR_CHART,
    HELM_RELEASE,
    HOSTNAME,
    KUEUE_FLAVOR,
    KUEUE_TOPOLOGY,
    LABEL_NVLINK_DOMAIN,
    LABEL_RACK,
    LABEL_SU,
    aws_layer_label,
)

from ._common import (
    LABEL_POOL,
    POOL_TYPE,
    MissingFact,
    StackIndex,
    as_list,
    as_map,
    fact_map,
    fact_number,
    fmt,
    get_in,
    has_key,
    num,
    object_name,
    report_missing,
    schema,
    settings,
)

__all__ = [
    "FABRIC_NONBLOCKING",
    "NO_OVERLAPPING_GPU_POOLS",
    "NO_PLACEMENT_GROUP_ON_RESERVED_CAPACITY",
    "NVLINK_DOMAIN_WHOLE",
    "POLICIES",
    "RACK_POWER_BUDGET",
    "RAIL_ALIGNMENT",
    "SINGLE_ZONE_FABRIC",
    "TOPOLOGY_LABELS_CONSISTENT",
]

NODE_GROUP = EKS_NODE_GROUP
EFA_TYPES = ("efa", "efa-only")


def _pool_name(pool: Mapping[str, Any]) -> str:
    return str(pool.get("name", "?"))


def efa_interfaces(launch_template: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The EFA network interfaces of a launch template's inputs."""
    return [as_map(n) for n in as_list(launch_template.get("networkInterfaces"))
            if as_map(n).get("interfaceType") in EFA_TYPES]


# --- rack-power-budget -------------------------------------------------------------------------------------

_RACK_POWER_SCHEMA = schema({
    "maxRackKw": {"type": "number", "minimum": 0, "default": 0,
                  "description": "Cap on IT kW per rack on top of the spec's racks.power_budget_kw (0: none)."},
    "headroomPercent": {"type": "number", "minimum": 0, "maximum": 50, "default": 0,
                        "description": "Keep this share of the budget free (a rack may draw at most "
                        "budget x (1 - headroom/100))."},
})


def _rack_power_budget(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _RACK_POWER_SCHEMA)
    stack = StackIndex(args.resources)
    budgets = []
    spec_budget = num(get_in(stack.cluster, "racks_spec", "power_budget_kw"))
    if spec_budget:
        budgets.append((spec_budget, "racks.power_budget_kw"))
    if num(cfg["maxRackKw"]):
        budgets.append((float(cfg["maxRackKw"]), "policy maxRackKw"))
    if not budgets:
        args.not_applicable("no rack power budget: set racks.power_budget_kw or the policy's maxRackKw")
    budget, source = min(budgets)
    limit = budget * (1 - float(cfg["headroomPercent"]) / 100)
    planned = False
    for name, (resource, facts) in sorted(stack.pools.items()):
        for group in as_list(get_in(facts, "racks", "groups", default=[])):
            kw = num(as_map(group).get("kw_per_rack"))
            if kw is None:
                continue
            planned = True
            if kw > limit + 1e-9:
                headroom = f" less {fmt(cfg['headroomPercent'])}% headroom = {limit:g} kW" if limit != budget else ""
                report(f"pool '{name}' rack group '{as_map(group).get('name')}': {fmt(group.get('racks'))} racks of "
                       f"{fmt(group.get('nodes_per_rack'))} nodes draw {kw:g} kW each, over the {budget:g} kW budget "
                       f"({source}){headroom}", resource.urn)
    if not planned:
        args.not_applicable("no planned racks (the provider places nodes)")


RACK_POWER_BUDGET = StackValidationPolicy(
    name="rack-power-budget",
    description="Every planned rack's IT power stays within the rack power budget (racks.power_budget_kw, the "
    "policy's maxRackKw, less headroom).",
    validate=_rack_power_budget,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_RACK_POWER_SCHEMA,
)


# --- nvlink-domain-whole -----------------------------------------------------------------------------------

_NVLINK_SCHEMA = schema({
    "checkNodeGroups": {"type": "boolean", "default": True,
                        "description": "Also require the sizes of node groups, NodePools and Nebius NVL instance "
                        "groups of multi-node NVLink pools (NVL72, UltraServers) to be whole domains."},
})


def _nvlink_domain_whole(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _NVLINK_SCHEMA)
    stack = StackIndex(args.resources)
    multi = {}
    unchecked = len(stack.pools_without_facts)
    for n, rf in stack.pools.items():
        try:  # a pool without its NVLink domain size is unchecked, not a single-node domain
            domain_nodes = fact_number(rf[1], "nvlink_domain_nodes", subject=f"pool '{n}'", urn=rf[0].urn,
                                       minimum=1, integer=True)
        except MissingFact as missing:
            report_missing(report, missing)
            unchecked += 1
            continue
        if domain_nodes > 1:
            multi[n] = rf
    stack.report_pools_without_facts(report)
    if not multi and not unchecked:
        args.not_applicable("no pool has NVLink domains spanning several nodes")
    for name, (resource, facts) in sorted(multi.items()):
        domain = int(num(facts.get("nvlink_domain_nodes")) or 1)
        gpus = fmt(facts.get("nvlink_domain_gpus"))
        total = int(num(facts.get("total_nodes")) or 0)
        if total % domain:
            report(f"pool '{name}': {total} nodes (with spares) split NVLink domains of {domain} nodes "
                   f"({gpus} GPUs); use a multiple of {domain}", resource.urn)
        elif num(facts.get("nvlink_domains")) is not None and int(num(facts["nvlink_domains"]) or 0) != total // domain:
            report(f"pool '{name}': {fmt(facts['nvlink_domains'])} NVLink domains planned for {total} nodes; "
                   f"expected {total // domain}", resource.urn)
        for unit in as_list(facts.get("scalable_units")):
            su_nodes = int(num(as_map(unit).get("nodes")) or 0)
            if su_nodes % domain:
                report(f"pool '{name}' SU {fmt(as_map(unit).get('index'))}: {su_nodes} nodes split an NVLink domain "
                       f"of {domain} nodes across scalable units", resource.urn)
        system_kind = facts.get("system_kind")
        for group in as_list(get_in(facts, "racks", "groups", default=[])):
            g = as_map(group)
            per_rack = int(num(g.get("nodes_per_rack")) or 0)
            domains = int(num(g.get("nvlink_domains_per_rack")) or 0)
            if per_rack % domain or domains * domain != per_rack:
                report(f"pool '{name}' rack group '{g.get('name')}': {per_rack} nodes per rack hold "
                       f"{domains} whole NVLink domains of {domain} nodes; an NVLink domain must not be split "
                       f"across racks", resource.urn)
            elif system_kind == "nvl72-rack" and per_rack != domain:
                report(f"pool '{name}' rack group '{g.get('name')}': an NVL72 rack is one NVLink domain of "
                       f"{domain} trays; got {per_rack} trays per rack", resource.urn)
        if cfg["checkNodeGroups"]:
            for ns, owner in stack.node_sets():
                if owner is None or _pool_name(owner[1]) != name:
                    continue
                for key, size in ns.sizes.items():
                    if int(size) % domain:
                        report(f"{ns.kind} '{ns.resource.name}' of pool '{name}': {key} {fmt(size)} is not a whole "
                               f"number of NVLink domains ({domain} nodes each)", ns.resource.urn)
            for group in stack.of_type(NVL_INSTANCE_GROUP):
                owner = stack.pool_of(group)
                nvl_size = num(group.props.get("size"))
                ours = owner is not None and _pool_name(owner[1]) == name
                if ours and nvl_size is not None and int(nvl_size) % domain:
                    report(f"NVL instance group '{group.name}' of pool '{name}': size {fmt(nvl_size)} is not a whole "
                           f"number of NVLink domains ({domain} nodes each)", group.urn)


NVLINK_DOMAIN_WHOLE = StackValidationPolicy(
    name="nvlink-domain-whole",
    description="Pools of multi-node NVLink domains (GB200 NVL72 racks, P6e UltraServers) come in whole domains: "
    "no domain split across racks, scalable units or node-group sizes.",
    validate=_nvlink_domain_whole,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_NVLINK_SCHEMA,
)


# --- rail-alignment ----------------------------------------------------------------------------------------

_RAIL_SCHEMA = schema({
    "requireEfaOnCardZero": {"type": "boolean", "default": True,
                             "description": "Network card 0 carries interface type 'efa' at device index 0 (the "
                             "ENA+EFA interface); the other cards 'efa' or 'efa-only'."},
})


def _pool_of_launch_template(stack: StackIndex, lt: Any) -> tuple[Any, Mapping[str, Any]] | None:
    owner = stack.pool_of(lt)
    if owner is not None:
        return owner
    for group in stack.of_type(NODE_GROUP):
        if any(d.urn == lt.urn for d in stack.deps(group, "launchTemplate")):
            owner = stack.pool_of(group)
            if owner is not None:
                return owner
    return None


def _rail_alignment(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _RAIL_SCHEMA)
    stack = StackIndex(args.resources)
    if not stack.pools and not stack.pools_without_facts:
        args.not_applicable("no GPU pools")
    stack.report_pools_without_facts(report)
    for name, (resource, facts) in sorted(stack.pools.items()):
        try:  # rails and GPUs per node are what this rule compares: missing ones are a violation, not 0 == 0
            gpus = int(fact_number(facts, "gpus_per_node", subject=f"pool '{name}'", urn=resource.urn, minimum=1,
                                   integer=True))
            rails = int(fact_number(facts, "rails", subject=f"pool '{name}'", urn=resource.urn, minimum=0,
                                    integer=True))
        except MissingFact as missing:
            report_missing(report, missing)
            continue
        fabric = as_map(facts.get("fabric"))
        if facts.get("fabric_kind") == "efa":
            cards = num(facts.get("efa_network_cards"))
            if cards is not None and rails != int(cards):
                report(f"pool '{name}' ({facts.get('system')}): {rails} rails planned but the instance has "
                       f"{fmt(cards)} EFA network cards", resource.urn)
            continue
        if rails == 0 and not fabric:
            continue  # no compute-fabric NIC (catalog rails 0, a single-GPU cloud VM): no fabric, no rails to align
        if rails != gpus:
            report(f"pool '{name}' ({facts.get('system')}): {rails} compute NICs per node for {gpus} GPUs; a "
                   f"rail-optimized fabric needs one NIC (rail) per GPU", resource.urn)
        if fabric:
            fabric_rails = int(num(fabric.get("rails")) or 0)
            if fabric_rails != rails:
                report(f"pool '{name}': the fabric is cabled for {fabric_rails} rails, the nodes have {rails} NICs",
                       resource.urn)
            cabling = as_list(fabric.get("rails_cabling"))
            if cabling and len(cabling) != fabric_rails:
                report(f"pool '{name}': cabling plans {len(cabling)} rails for a {fabric_rails}-rail fabric",
                       resource.urn)
    for lt in stack.of_type(LAUNCH_TEMPLATE):
        interfaces = efa_interfaces(lt.props)
        owner = _pool_of_launch_template(stack, lt)
        if owner is None:
            continue
        facts = owner[1]
        cards = num(facts.get("efa_network_cards"))
        if facts.get("fabric_kind") != "efa" or cards is None:
            continue
        name = _pool_name(facts)
        if len(interfaces) != int(cards):
            report(f"launch template '{lt.name}' of pool '{name}': {len(interfaces)} EFA interfaces, but "
                   f"{facts.get('system')} has {fmt(cards)} network cards (one EFA interface per card)", lt.urn)
        indexes = [int(num(i.get("networkCardIndex"), 0) or 0) for i in interfaces]
        # EFA starts at card 0, or (p6-b300, AWS-ACC: 17 cards) at card 1 behind an ENA-only primary.
        first = int(num(facts.get("efa_first_card"), 0) or 0)
        if len(set(indexes)) != len(indexes):
            dupes = sorted({i for i in indexes if indexes.count(i) > 1})
            report(f"launch template '{lt.name}': several EFA interfaces on network card(s) "
                   f"{', '.join(map(str, dupes))}; each card carries one", lt.urn)
        elif interfaces and sorted(indexes) != list(range(first, first + len(indexes))):
            report(f"launch template '{lt.name}': EFA interfaces on network cards {sorted(indexes)}; expected "
                   f"cards {first}..{first + len(indexes) - 1}", lt.urn)
        if cfg["requireEfaOnCardZero"] and interfaces and first == 0:
            card0 = [i for i in interfaces if int(num(i.get("networkCardIndex"), 0) or 0) == 0]
            if not card0 or card0[0].get("interfaceType") != "efa" or int(num(card0[0].get("deviceIndex"), 0) or 0):
                report(f"launch template '{lt.name}': network card 0 must carry interface type 'efa' at device "
                       f"index 0", lt.urn)


RAIL_ALIGNMENT = StackValidationPolicy(
    name="rail-alignment",
    description="NICs per node = rails = GPUs per node on InfiniBand/RoCE; on EFA, one EFA interface per EFA "
    "network card of the instance type (efa on card 0, efa or efa-only on the others; p6-b300: an ENA primary on "
    "card 0 and efa-only on cards 1-16).",
    validate=_rail_alignment,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_RAIL_SCHEMA,
)


# --- fabric-nonblocking ------------------------------------------------------------------------------------

_NONBLOCKING_SCHEMA = schema({
    "maxOversubscription": {"type": "number", "minimum": 1, "maximum": 8, "default": 8,
                            "description": "Cap on the leaf downlink:uplink ratio on top of the spec's "
                            "fabric.max_oversubscription (1.0 = non-blocking; the default 8 leaves the spec's)."},
})


def _fabric_nonblocking(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _NONBLOCKING_SCHEMA)
    stack = StackIndex(args.resources)
    # The stricter of the spec's limit and the pack's, as rack-power-budget takes the smaller budget.
    limits = []
    spec_limit = num(get_in(stack.cluster, "fabric_spec", "max_oversubscription"))
    if spec_limit:
        limits.append((spec_limit, "fabric.max_oversubscription"))
    if num(cfg["maxOversubscription"]):
        limits.append((float(cfg["maxOversubscription"]), "policy maxOversubscription"))
    allowed, source = min(limits) if limits else (1.0, "non-blocking default")
    skipped = []
    unchecked = 0
    unchecked += stack.report_pools_without_facts(report)
    for name, (resource, facts) in sorted(stack.pools.items()):
        try:
            # Every number the checks compare must be there: a fabric without tiers or uplinks is unchecked, not
            # fine (a missing fact is a violation, never a pass).
            skip = _fabric_skip(name, resource.urn, facts)
        except MissingFact as missing:
            unchecked += 1
            report_missing(report, missing)
            continue
        if skip:
            skipped.append(skip)
            continue
        for problem in _fabric_problems(as_map(facts.get("fabric")), allowed, source):
            report(f"pool '{name}': {problem}", resource.urn)
    if len(skipped) == len(stack.pools) and not unchecked:
        args.not_applicable("; ".join(skipped) or "no GPU pools")


_FABRIC_FACTS = ("leaf_downlinks", "leaf_uplinks", "leaf", "spine", "radix", "pods", "spines_per_pod")
_CORE_FACTS = ("core", "core_groups", "cores_per_group", "spine_uplinks")


def _fabric_skip(name: str, urn: str, facts: Mapping[str, Any]) -> str | None:
    """Why the pool has no leaf/spine fabric to check (None: it has one, with every fact the checks need);
    ``MissingFact`` when a fact is missing or mistyped (``planes`` and ``port_split`` are optional: 1 when absent)."""
    subject = f"pool '{name}'"
    if facts.get("fabric") is None:
        if num(facts.get("rails")) == 0:
            return f"{subject}: {facts.get('system')} has no compute-fabric NIC, so no fabric to check"
        kind = facts.get("fabric_kind")
        if not isinstance(kind, str):  # provider-built fabrics still name their kind
            raise MissingFact("fabric_kind", kind, subject=subject, urn=urn, kind="a fabric kind")
        return f"{subject}: the provider builds the fabric ({kind})"
    fabric = fact_map(facts, "fabric", subject=subject, urn=urn)
    tiers = fact_number(fabric, "tiers", subject=subject, urn=urn, minimum=1, integer=True)
    if tiers == 1:
        return f"{subject}: one switch, no leaf/spine tiers"
    for key in (*_FABRIC_FACTS, *(_CORE_FACTS if tiers == 3 else ())):
        fact_number(fabric, key, subject=subject, urn=urn, minimum=0)
    return None


def _fabric_problems(fabric: Mapping[str, Any], allowed: float, source: str) -> list[str]:
    """Oversubscription, spine ports, and even cabling (every leaf the same links to every spine of its pod, every
    spine the same to every core of its group: H100RA builds 16 spines for 3 SU, not 12), from the plan facts."""
    def n(key: str) -> int:
        return int(num(fabric.get(key)) or 0)

    down, up = n("leaf_downlinks"), n("leaf_uplinks")
    if up <= 0:
        return [f"leaves have {down} downlinks and no uplinks"]
    problems = []
    if down / up > allowed + 1e-9:
        problems.append(f"leaf switches have {down} downlinks and {up} uplinks ({down / up:.2f}:1 "
                        f"oversubscribed); allowed at most {allowed:g}:1 ({source})")
    planes = max(1, n("planes"))
    k = n("radix") * max(1, n("port_split"))
    leaves, spines, pods, per_pod = n("leaf") // planes, n("spine") // planes, max(1, n("pods")), n("spines_per_pod")
    if spines and k and leaves * up > spines * k:
        problems.append(f"{leaves} leaves x {up} uplinks need {leaves * up} spine ports; {spines} spines of "
                        f"{k} ports have {spines * k}")
    if per_pod <= 0 or up % per_pod or spines != pods * per_pod:
        problems.append(f"uneven cabling: {up} uplinks per leaf do not split evenly over {per_pod or spines} "
                        f"spines per pod ({up / max(per_pod or spines, 1):.2f} links each)")
    elif n("tiers") == 3:
        groups, per_group, spine_up = n("core_groups"), n("cores_per_group"), n("spine_uplinks")
        if groups <= 0 or per_group <= 0 or per_pod % groups or spine_up % per_group:
            problems.append(f"uneven cabling: {spine_up} uplinks per spine do not split evenly over "
                            f"{per_group} cores per group ({groups} groups for {per_pod} spines per pod)")
        elif n("core") // planes != groups * per_group:
            problems.append(f"{n('core') // planes} cores per plane, but {groups} groups of {per_group}")
    return problems


FABRIC_NONBLOCKING = StackValidationPolicy(
    name="fabric-nonblocking",
    description="Every compute fabric we build is within the allowed leaf oversubscription (the stricter of the "
    "spec's fabric.max_oversubscription and the policy's), its spines have a port for every leaf uplink, and it is "
    "evenly cabled (each leaf the same links to every spine of its pod, each spine to every core of its group).",
    validate=_fabric_nonblocking,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_NONBLOCKING_SCHEMA,
)


# --- single-zone-fabric ------------------------------------------------------------------------------------

_SINGLE_ZONE_SCHEMA = schema({
    "zoneRequiredProviders": {"type": "array", "items": {"type": "string"},
                              "default": [p.name for p in all_profiles() if p.zone_per_fabric_pool],
                              "description": "Providers whose fabric pools must name their zone (Nebius ties a GPU "
                              "cluster to one InfiniBand fabric instead, checked through infinibandFabric)."},
})


def _single_zone_fabric(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _SINGLE_ZONE_SCHEMA)
    stack = StackIndex(args.resources)
    fabric_pools = {n: rf for n, rf in stack.pools.items()
                    if rf[1].get("fabric_kind") in ("efa", "infiniband", "roce")}
    if not fabric_pools:
        args.not_applicable("no pool on a high-speed fabric")
    members: dict[str, list[Any]] = {n: [] for n in fabric_pools}
    for r in stack.resources:
        if r.resource_type == POOL_TYPE:
            continue
        owner = stack.pool_of(r)
        if owner is not None and _pool_name(owner[1]) in members:
            members[_pool_name(owner[1])].append(r)
    for name, (resource, facts) in sorted(fabric_pools.items()):
        zone = facts.get("zone")
        if not zone and facts.get("provider") in cfg["zoneRequiredProviders"]:
            report(f"pool '{name}' on {facts.get('fabric_kind')} has no zone; a fabric lives in one zone",
                   resource.urn)
        zones: dict[str, list[str]] = {}
        fabrics: dict[str, list[str]] = {}
        placement_groups: dict[str, list[str]] = {}
        for r in members[name]:
            props = r.props
            if r.resource_type == NODE_GROUP:
                subnets = stack.deps(r, "subnetIds")
                count = len(subnets) or len(as_list(props.get("subnetIds")))
                if count > 1:
                    report(f"node group '{r.name}' of pool '{name}' spans {count} subnets; an EFA node group "
                           f"uses exactly one subnet", r.urn)
                for subnet in subnets:
                    az = subnet.props.get("availabilityZone")
                    if isinstance(az, str):
                        zones.setdefault(az, []).append(f"node group '{r.name}' (subnet '{subnet.name}')")
            if r.resource_type == SUBNET and isinstance(props.get("availabilityZone"), str):
                zones.setdefault(props["availabilityZone"], []).append(f"subnet '{r.name}'")
            if r.resource_type == LAUNCH_TEMPLATE:
                az = get_in(props, "placement", "availabilityZone")
                if isinstance(az, str):
                    zones.setdefault(az, []).append(f"launch template '{r.name}'")
                for pg in stack.deps(r, "placement"):
                    if pg.resource_type == PLACEMENT_GROUP and pg.props.get("strategy") != "cluster":
                        report(f"launch template '{r.name}' of pool '{name}' uses placement group '{pg.name}' with "
                               f"strategy '{pg.props.get('strategy')}'; EFA needs a cluster placement group", r.urn)
                group_name = get_in(props, "placement", "groupName")
                if isinstance(group_name, str) and group_name:
                    placement_groups.setdefault(group_name, []).append(r.name)
            for source in [r, *(d for deps in r.property_dependencies.values() for d in deps)]:
                fabric_name = source.props.get("infinibandFabric")
                if isinstance(fabric_name, str):
                    where = f"{source.resource_type.split(':')[-1]} '{source.name}'"
                    if where not in fabrics.setdefault(fabric_name, []):
                        fabrics[fabric_name].append(where)
        if (zone and any(z != zone for z in zones)) or len(zones) > 1:
            where = "; ".join(f"{z}: {', '.join(sorted(set(w)))}" for z, w in sorted(zones.items()))
            report(f"pool '{name}' (zone {zone or '-'}) spreads its fabric across zones: {where}", resource.urn)
        if len(fabrics) > 1:
            where = "; ".join(f"{f}: {', '.join(w)}" for f, w in sorted(fabrics.items()))
            report(f"pool '{name}' joins {len(fabrics)} InfiniBand fabrics ({where}); a pool lives on one fabric",
                   resource.urn)


SINGLE_ZONE_FABRIC = StackValidationPolicy(
    name="single-zone-fabric",
    description="An EFA/InfiniBand/RoCE pool stays in one zone: its node groups use one subnet, its subnets and "
    "launch templates one availability zone, its placement groups the cluster strategy, its nodes one fabric.",
    validate=_single_zone_fabric,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_SINGLE_ZONE_SCHEMA,
)


# --- no-placement-group-on-reserved-capacity ---------------------------------------------------------------

_NO_PG_SCHEMA = schema({
    "reservedMarketTypes": {"type": "array", "items": {"type": "string"}, "default": ["capacity-block"],
                            "description": "instanceMarketOptions.marketType values that mean reserved capacity."},
})


def _reserved_capacity(props: Mapping[str, Any], market_types: list[str]) -> str | None:
    spec = as_map(props.get("capacityReservationSpecification"))
    target = as_map(spec.get("capacityReservationTarget"))
    if has_key(target, "capacityReservationId") or has_key(target, "capacityReservationResourceGroupArn"):
        return "a capacity reservation target"
    if spec.get("capacityReservationPreference") == "capacity-reservations-only":
        return "capacityReservationPreference 'capacity-reservations-only'"
    market = get_in(props, "instanceMarketOptions", "marketType")
    if market in market_types:
        return f"instance market type '{market}'"
    return None


def _no_placement_group_on_reserved(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (LAUNCH_TEMPLATE, INSTANCE):
        return
    cfg = settings(args.get_config(), _NO_PG_SCHEMA)
    props = args.props
    reserved = _reserved_capacity(props, list(cfg["reservedMarketTypes"]))
    if reserved is None:
        return
    if args.resource_type == LAUNCH_TEMPLATE:
        placement = as_map(props.get("placement"))
        has_group = has_key(placement, "groupName") or has_key(placement, "groupId")
    else:
        has_group = has_key(props, "placementGroup") or has_key(props, "placementGroupId")
    if has_group:
        report(f"{args.name}: forces a placement group onto reserved capacity ({reserved}); the reservation "
               f"already fixes placement and launches fail with capacity errors. Drop the placement group", None)


NO_PLACEMENT_GROUP_ON_RESERVED_CAPACITY = ResourceValidationPolicy(
    name="no-placement-group-on-reserved-capacity",
    description="Launch templates and instances on capacity reservations or Capacity Blocks set no placement "
    "group (the reservation fixes placement; forcing one causes capacity errors).",
    validate=_no_placement_group_on_reserved,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_NO_PG_SCHEMA,
)


# --- no-overlapping-gpu-pools ------------------------------------------------------------------------------

_OVERLAP_SCHEMA = schema({
    "poolLabel": {"type": "string", "default": LABEL_POOL,
                  "description": "Node label that names a node's GPU pool; every GPU node group must carry it."},
})


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def _no_overlapping_gpu_pools(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _OVERLAP_SCHEMA)
    pool_label = str(cfg["poolLabel"])
    stack = StackIndex(args.resources)
    if not stack.pools and not stack.pools_without_facts:
        args.not_applicable("no GPU pools")
    stack.report_pools_without_facts(report)
    # Node label sets: one per EKS node group, else one per pool (its plan labels).
    lts = {lt.urn: lt for lt in stack.of_type(LAUNCH_TEMPLATE)}
    nodes: list[tuple[str, str, bool, dict[str, str], str]] = []  # (pool, what, efa, labels, urn)
    grouped: set[str] = set()
    for ns, owner in stack.node_sets():
        if owner is None:
            continue
        group = ns.resource
        pool = _pool_name(owner[1])
        grouped.add(pool)
        labels = ns.labels
        efa = any(efa_interfaces(lts[d.urn].props) for d in stack.deps(group, "launchTemplate") if d.urn in lts)
        if labels.get(pool_label) != pool:
            report(f"{ns.kind} '{group.name}' of pool '{pool}' lacks node label {pool_label}={pool}; workloads "
                   f"cannot select its nodes apart from other pools", group.urn)
        nodes.append((pool, f"{ns.kind} '{group.name}'", efa, labels, group.urn))
    for name, (resource, facts) in stack.pools.items():
        if name not in grouped:
            labels = {str(k): str(v) for k, v in as_map(facts.get("labels")).items()}
            nodes.append((name, f"pool '{name}'", facts.get("fabric_kind") == "efa", labels, resource.urn))
    for i, (pool_a, what_a, efa_a, labels_a, urn_a) in enumerate(nodes):
        for pool_b, what_b, efa_b, labels_b, _ in nodes[i + 1:]:
            if pool_a == pool_b and efa_a == efa_b:
                continue
            if _selects(labels_a, labels_b) or _selects(labels_b, labels_a):
                kind = "an EFA and a non-EFA node set" if efa_a != efa_b else "two pools"
                report(f"{what_a} and {what_b} are {kind} that no node label tells apart; give each its own "
                       f"{pool_label} label", urn_a)
    for flavor in stack.of_type(KUEUE_FLAVOR):
        fname = object_name(flavor)
        selector = {str(k): str(v) for k, v in as_map(get_in(flavor.props, "spec", "nodeLabels")).items()}
        if not selector:
            continue
        matched = [(p, efa) for p, _, efa, labels, _ in nodes if _selects(selector, labels)]
        pools = sorted({p for p, _ in matched})
        if len(pools) > 1:
            report(f"ResourceFlavor '{fname}' selects nodes of pools {', '.join(pools)} "
                   f"(nodeLabels {selector}); a flavor must select one pool", flavor.urn)
        elif len({efa for _, efa in matched}) > 1:
            report(f"ResourceFlavor '{fname}' selects both EFA and non-EFA nodes of pool '{pools[0]}'",
                   flavor.urn)


NO_OVERLAPPING_GPU_POOLS = StackValidationPolicy(
    name="no-overlapping-gpu-pools",
    description="GPU pools (and an EFA vs a non-EFA node set) never share nodes or selectors: each node group "
    "carries its pool label, no node label set contains another pool's, each Kueue ResourceFlavor selects one pool.",
    validate=_no_overlapping_gpu_pools,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_OVERLAP_SCHEMA,
)


# --- topology-labels-consistent ----------------------------------------------------------------------------

_LEVEL_RANK = {
    "topology.kubernetes.io/region": 0,
    "topology.kubernetes.io/zone": 1,
    LABEL_SU: 2,
    aws_layer_label(1): 2,
    COREWEAVE_SUPERPOD: 2,
    "cloud.google.com/gce-topology-block": 2,
    aws_layer_label(2): 3,
    COREWEAVE_LEAFGROUP: 3,
    "cloud.google.com/gce-topology-subblock": 3,
    LABEL_RACK: 4,
    COREWEAVE_RACK: 4,
    aws_layer_label(3): 4,
    aws_layer_label(4): 5,
    LABEL_NVLINK_DOMAIN: 6,
    # GFD's NVLink partition within a domain (CoreWeave imex-overview: "identifies the NVLink partition within that
    # domain"): narrower than the domain (NVL72 rack, UltraServer), wider than one node.
    GPU_CLIQUE: 7,
    "cloud.google.com/gce-topology-host": 7,
    HOSTNAME: 8,
}
"""Broad-to-narrow order of topology node labels (hardware.md: AWS network-node layers, CoreWeave IB labels, GKE
topology labels; our neocloud.io SU > rack > NVLink domain > its clique). Kueue's Topology lists levels "from the
highest to the lowest" with kubernetes.io/hostname last (Kueue docs, Topology Aware Scheduling; the vendored
Topology CRD's rule)."""

_LABELS_SCHEMA = schema({
    "knownLabels": {"type": "array", "items": {"type": "string"},
                    "default": sorted(set(_LEVEL_RANK) - {GPU_CLIQUE}),
                    "description": "Node labels a Topology level may use besides those the plan's node groups "
                    "and pools carry (nvidia.com/gpu.clique counts where GPU Feature Discovery or the platform "
                    "sets it)."},
    "nvlinkDomainLabels": {"type": "array", "items": {"type": "string"},
                           "default": list(union(lambda p: p.nvlink_domain_labels)),
                           "description": "Labels that name a multi-node NVLink partition; a Topology used by such "
                           "a pool needs one of them as a level (every profile's nvlink_domain_labels: "
                           "nvidia.com/gpu.clique)."},
    "requireHostnameLevel": {"type": "boolean", "default": True,
                             "description": "The last Topology level is kubernetes.io/hostname."},
})


def _topology_labels_consistent(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _LABELS_SCHEMA)
    stack = StackIndex(args.resources)
    topologies = stack.of_type(KUEUE_TOPOLOGY)
    flavors = stack.of_type(KUEUE_FLAVOR)
    groups = stack.node_sets()
    if not (topologies or flavors or groups):
        args.not_applicable("no Kueue Topology, ResourceFlavor or node group")
    carried: set[str] = set()
    for _, pool_facts in stack.pools.values():
        carried.update(str(k) for k in as_map(pool_facts.get("labels")))
    for ns, _ in groups:
        carried.update(ns.labels)
    carried |= _labels_set_on_nodes(stack)
    known = carried | set(cfg["knownLabels"])
    names: dict[str, Any] = {}
    for topo in topologies:
        tname = object_name(topo)
        names[tname] = topo
        levels = [str(as_map(level).get("nodeLabel", "")) for level in as_list(get_in(topo.props, "spec", "levels"))]
        if not levels:
            report(f"Topology '{tname}' has no levels", topo.urn)
            continue
        if len(set(levels)) != len(levels):
            report(f"Topology '{tname}' repeats a level: {levels}", topo.urn)
        for label in levels:
            if label not in known:
                report(f"Topology '{tname}' level '{label}' is a label no planned node carries", topo.urn)
        ranks = [(_LEVEL_RANK[label], label) for label in levels if label in _LEVEL_RANK]
        for (r1, l1), (r2, l2) in itertools.pairwise(ranks):
            if r2 <= r1:
                report(f"Topology '{tname}' lists '{l2}' after '{l1}'; levels go from the broadest "
                       f"(zone, SU) to the narrowest (host)", topo.urn)
                break
        if cfg["requireHostnameLevel"] and levels[-1] != HOSTNAME:
            report(f"Topology '{tname}' ends with '{levels[-1]}'; the last level must be {HOSTNAME}", topo.urn)
    domain_labels = set(cfg["nvlinkDomainLabels"])
    for flavor in flavors:
        fname = object_name(flavor)
        spec = as_map(flavor.props.get("spec"))
        selector = {str(k): v for k, v in as_map(spec.get("nodeLabels")).items()}
        pool_name = selector.get(LABEL_POOL)
        facts: Mapping[str, Any] | None = None
        if isinstance(pool_name, str) and pool_name in stack.pools:
            facts = stack.pools[pool_name][1]
        if isinstance(pool_name, str) and facts is None:
            report(f"ResourceFlavor '{fname}' selects {LABEL_POOL}={pool_name}, which is not a planned pool "
                   f"({', '.join(sorted(stack.pools)) or 'none'})", flavor.urn)
        if facts is not None:
            planned = as_map(facts.get("labels"))
            for key, value in selector.items():
                if key in planned and planned[key] != value:
                    report(f"ResourceFlavor '{fname}' selects {key}={value}; pool '{pool_name}' nodes carry "
                           f"{key}={planned[key]}", flavor.urn)
        topo_name = spec.get("topologyName")
        if topo_name is None:
            if facts is not None and (num(facts.get("nvlink_domain_nodes")) or 1) > 1 and topologies:
                report(f"ResourceFlavor '{fname}' of pool '{pool_name}' (multi-node NVLink domains) has no "
                       f"topologyName; topology-aware scheduling cannot keep jobs inside a domain", flavor.urn)
            continue
        used = names.get(str(topo_name))
        if used is None:
            report(f"ResourceFlavor '{fname}' names Topology '{topo_name}', which the stack does not define",
                   flavor.urn)
            continue
        used_levels = {str(as_map(level).get("nodeLabel"))
                       for level in as_list(get_in(used.props, "spec", "levels"))}
        if facts is not None and (num(facts.get("nvlink_domain_nodes")) or 1) > 1 and not used_levels & domain_labels:
            report(f"Topology '{topo_name}' used by pool '{pool_name}' has no NVLink-domain level "
                   f"({', '.join(sorted(domain_labels))}); jobs could straddle {fmt(facts.get('nvlink_domain_gpus'))}"
                   f"-GPU domains", topo.urn)
    for ns, owner in groups:
        if owner is None:
            continue
        planned = as_map(owner[1].get("labels"))
        for key, value in ns.labels.items():
            if key in planned and planned[key] != value:
                report(f"{ns.kind} '{ns.resource.name}' labels {key}={value}; the plan for pool "
                       f"'{_pool_name(owner[1])}' says {key}={planned[key]}", ns.resource.urn)
        for problem in _topology_label_values(ns.labels, ns.sizes, owner[1]):
            report(f"{ns.kind} '{ns.resource.name}' of pool '{_pool_name(owner[1])}': {problem}", ns.resource.urn)


def _labels_set_on_nodes(stack: StackIndex) -> set[str]:
    """Node labels set on GPU nodes by software rather than by the program's node sets: GPU Feature Discovery's
    ``nvidia.com/gpu.clique`` where the GPU Operator runs it (``gfd.enabled``, on by default in the vendored
    values.yaml; "GFD ... generates ... the nvidia.com/gpu.clique labels", k8s-dra-driver-gpu
    docs/prerequisites.md), and what each pool's platform labels itself (its profile's ``platform_node_labels``)."""
    out: set[str] = set()
    for release in stack.of_type(HELM_RELEASE):
        if release.props.get("chart") == GPU_OPERATOR_CHART and \
                get_in(release.props, "values", "gfd", "enabled", default=True) is not False:
            out.add(GPU_CLIQUE)
    for _, facts in stack.pools.values():
        try:
            out.update(profile(str(facts.get("provider"))).platform_node_labels)
        except KeyError:
            continue
    return out


def _topology_label_values(labels: Mapping[str, str], sizes: Mapping[str, float],
                           facts: Mapping[str, Any]) -> list[str]:
    """Per-node topology labels (SU, rack, NVLink domain) that the plan does not have."""
    problems = []
    planned = {
        LABEL_SU: (len(as_list(facts.get("scalable_units"))), "scalable units"),
        LABEL_RACK: (int(num(get_in(facts, "racks", "count")) or 0), "racks"),
        LABEL_NVLINK_DOMAIN: (int(num(facts.get("nvlink_domains")) or 0), "NVLink domains"),
    }
    for key, (count, what) in planned.items():
        value = labels.get(key)
        if value is None or not value.isdigit() or count <= 0:
            continue
        if int(value) >= count:
            problems.append(f"{key}={value}, but the plan has {count} {what} (0..{count - 1})")
    block_labels = [as_map(b) for b in as_list(facts.get("block_labels"))]
    if block_labels and not problems:
        # Where the plan decided each node group's labels (AWS placement blocks), a node group carries one
        # block's SU and NVLink-domain labels exactly.
        keys = (LABEL_SU, LABEL_NVLINK_DOMAIN)
        carried = {k: labels.get(k) for k in keys}
        if not any(all(str(b[k]) == carried[k] if k in b else carried[k] is None for k in keys)
                   for b in block_labels):
            shown = ", ".join(f"{k}={v}" for k, v in carried.items() if v is not None) or "no SU label"
            problems.append(f"{shown}, which no planned placement block has")
    domain = int(num(facts.get("nvlink_domain_nodes")) or 1)
    if LABEL_NVLINK_DOMAIN in labels and domain > 1:
        largest = max(sizes.values(), default=0)
        if largest > domain:
            problems.append(f"labelled as one NVLink domain (neocloud.io/nvlink-domain="
                            f"{labels['neocloud.io/nvlink-domain']}) but sized up to {largest:g} nodes; a domain "
                            f"holds {domain}")
    return problems


TOPOLOGY_LABELS_CONSISTENT = StackValidationPolicy(
    name="topology-labels-consistent",
    description="Kueue Topology levels use labels the nodes carry, broad to narrow, ending at the host (with an "
    "NVLink-domain level for NVL72/UltraServer pools); ResourceFlavors and node groups agree with the plan's labels.",
    validate=_topology_labels_consistent,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_LABELS_SCHEMA,
)


POLICIES = [
    RACK_POWER_BUDGET,
    NVLINK_DOMAIN_WHOLE,
    RAIL_ALIGNMENT,
    FABRIC_NONBLOCKING,
    SINGLE_ZONE_FABRIC,
    NO_PLACEMENT_GROUP_ON_RESERVED_CAPACITY,
    NO_OVERLAPPING_GPU_POOLS,
    TOPOLOGY_LABELS_CONSISTENT,
]
