"""Efficiency rules: storage that keeps GPUs fed, checkpoints that write in time, a sane hot-spare ratio, quotas
that fit the hardware, idle non-prod pools that cost nothing, and training jobs that take whole nodes.

Defaults follow shared/reference/hardware.md: H100RA Table 6 storage tiers (per SU of 256 GPUs: good 15 GB/s,
better 40 GB/s, best 125 GB/s read), FSx for Lustre throughput per TiB, ~16 bytes per parameter per checkpoint,
and Llama 3's one failure every ~3 hours at 16K GPUs (why prod keeps hot spares).
"""

from __future__ import annotations

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

from components.providers.aws.profile import LUSTRE
from neocloud.catalog import GPU_VENDORS
from neocloud.profiles import all_profiles, profile
from neocloud.spec import LLAMA3_EFFECTIVE_TRAINING_TIME
from neocloud.vocabulary import (
    GPU_OPERATOR_CHART,
    HELM_RELEASE,
    K8S_CRONJOB,
    K8S_DEPLOYMENT,
    K8S_JOB,
    K8S_POD,
    K8S_STATEFULSET,
    KUBERNETES_LAYER_TYPE,
    KUEUE_CLUSTER_QUEUE,
    KUEUE_FLAVOR,
    LABEL_POOL,
    NODE_HEALTH_TYPE,
    NVSENTINEL_CHART,
)

from ._common import (
    FACTS,
    NODE_SET_SHAPES,
    POOL_TYPE,
    MissingFact,
    StackIndex,
    as_list,
    as_map,
    fact_list,
    fact_map,
    fact_number,
    fmt,
    get_in,
    num,
    object_name,
    requires_facts,
    schema,
    settings,
    types_with_role,
)

__all__ = [
    "CHECKPOINT_FILESYSTEM_MOUNTED",
    "CHECKPOINT_WRITE_TIME",
    "DEV_SCALES_TO_ZERO",
    "FABRIC_LEAF_UTILISATION",
    "GOODPUT_FLOOR",
    "HOT_SPARE_RATIO",
    "NODE_REMEDIATION_IN_PROD",
    "POLICIES",
    "QUEUE_QUOTA_WITHIN_CAPACITY",
    "STORAGE_THROUGHPUT_PER_GPU",
    "WHOLE_NODE_GPU_REQUESTS",
    "filesystem_throughput_gbps",
    "parse_quantity",
]

CLUSTER_QUEUE = KUEUE_CLUSTER_QUEUE
RESOURCE_FLAVOR = KUEUE_FLAVOR
WORKLOAD_TYPES = {
    K8S_JOB: ("spec", "template", "spec"),
    K8S_CRONJOB: ("spec", "jobTemplate", "spec", "template", "spec"),
    K8S_DEPLOYMENT: ("spec", "template", "spec"),
    K8S_STATEFULSET: ("spec", "template", "spec"),
    K8S_POD: ("spec",),
}
"""Workload kinds and the path to their pod spec."""

GOOD_TIER_READ_GBPS_PER_GPU = 15.0 / 256
"""H100RA Table 6 'good': 15 GB/s read per SU of 256 GPUs [P]."""


def parse_quantity(value: Any) -> float | None:
    """A Kubernetes quantity (``8``, ``"8"``, ``"1k"``, ``"500m"``) as a number."""
    n = num(value)
    if n is not None or not isinstance(value, str):
        return n
    suffixes = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix in sorted(suffixes, key=len, reverse=True):
        if value.endswith(suffix):
            base = num(value[: -len(suffix)])
            return None if base is None else base * suffixes[suffix]
    return None


def filesystem_throughput_gbps(props: Mapping[str, Any]) -> float | None:
    """Baseline throughput of an FSx for Lustre file system in GB/s, from its inputs.

    ``throughputCapacity`` (MB/s, Intelligent-Tiering) or ``perUnitStorageThroughput`` (MB/s per TiB; PERSISTENT_2
    125/250/500/1000, PERSISTENT_1 50/100/200 -- hardware.md) x ``storageCapacity`` (GiB).
    """
    total = num(props.get("throughputCapacity"))
    if total:
        return total / 1000
    per_tib = num(props.get("perUnitStorageThroughput"))
    capacity_gib = num(props.get("storageCapacity"))
    if per_tib is None or capacity_gib is None:
        return None
    return per_tib * capacity_gib / 1024 / 1000


def _filesystems(stack: StackIndex) -> tuple[float | None, str, list[str]]:
    """(GB/s, what it is, problems) of the cluster's parallel filesystem, from the resources that build it.

    Only FSx for Lustre has a throughput model here (capacity x per-TiB throughput, hardware.md [P]); for the other
    kinds (nebius-shared, coreweave-vast, digitalocean-nfs, lambda-filesystem, external) nothing the program
    registers says what the filesystem delivers, and comparing the plan's own target with itself would prove
    nothing: (None, reason, []).
    """
    problems: list[str] = []
    lustre = stack.of_type(LUSTRE)
    if lustre:
        total = 0.0
        for fs in lustre:
            gbps = filesystem_throughput_gbps(fs.props)
            if gbps is None:
                problems.append(f"FSx file system '{fs.name}' sets no perUnitStorageThroughput or throughputCapacity")
                continue
            total += gbps
        names = ", ".join(f"'{fs.name}'" for fs in lustre)
        return (None if problems else total), f"FSx for Lustre {names}", problems
    fs_kind = get_in(stack.cluster, "filesystem", "kind")
    if fs_kind is None:
        return None, "no parallel filesystem", problems
    if fs_kind == "fsx-lustre":
        return None, "no FSx for Lustre file system among the resources", problems
    return None, (f"no throughput model for a {fs_kind} filesystem: nothing registered says what it delivers "
                  "(only FSx for Lustre is modelled)"), problems


# --- storage-throughput-per-gpu ----------------------------------------------------------------------------

_STORAGE_SCHEMA = schema({
    "minReadGbpsPerGpu": {"type": "number", "minimum": 0, "default": GOOD_TIER_READ_GBPS_PER_GPU,
                          "description": "Read GB/s per schedulable GPU the filesystem must deliver (default: "
                          "H100RA 'good' tier, 15 GB/s per 256 GPUs; 'better' is 0.156, 'best' 0.488)."},
})


def _storage_throughput(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _STORAGE_SCHEMA)
    stack = StackIndex(args.resources)
    if stack.cluster is None:
        args.not_applicable("no GpuCluster")
        return
    gpus = num(stack.cluster.get("gpus")) or 0
    gbps, what, problems = _filesystems(stack)
    urn = stack.cluster_resource.urn if stack.cluster_resource else None
    if gbps is None and not problems:
        args.not_applicable(what)
    for problem in problems:
        report(f"{problem}: its throughput per GPU cannot be checked", urn)
    if gbps is None or gpus <= 0:
        return
    floor = float(cfg["minReadGbpsPerGpu"])
    spec_floor = num(get_in(stack.cluster, "filesystem", "min_gbps_per_gpu"))
    source = "policy minReadGbpsPerGpu"
    if spec_floor is not None and spec_floor > floor:
        floor, source = spec_floor, "storage.filesystem.min_gbps_per_gpu"
    per_gpu = gbps / gpus
    if per_gpu + 1e-9 < floor:
        report(f"{what} delivers {gbps:.1f} GB/s for {gpus:g} GPUs = {per_gpu:.4f} GB/s per GPU, below the "
               f"{floor:g} GB/s per GPU floor ({source}); needs {floor * gpus:.1f} GB/s", urn)


STORAGE_THROUGHPUT_PER_GPU = StackValidationPolicy(
    name="storage-throughput-per-gpu",
    description="The parallel filesystem's read throughput per schedulable GPU (FSx capacity x per-TiB "
    "throughput) is at least the configured floor; not applicable for kinds with no throughput model.",
    validate=_storage_throughput,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_STORAGE_SCHEMA,
)


# --- checkpoint-write-time ---------------------------------------------------------------------------------

_CHECKPOINT_SCHEMA = schema({
    "maxWriteMinutes": {"type": "number", "minimum": 0, "default": 0,
                        "description": "Longest time to write one full checkpoint; 0 uses the spec's "
                        "storage.checkpoint.max_write_minutes (the stricter of the two applies)."},
})


def _checkpoint_write_time(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _CHECKPOINT_SCHEMA)
    stack = StackIndex(args.resources)
    checkpoint = as_map(get_in(stack.cluster, "checkpoint"))
    if not checkpoint:
        args.not_applicable("no storage.checkpoint in the spec")
    urn = stack.cluster_resource.urn if stack.cluster_resource else None
    # The plan sized the checkpoint (parameters x bytes per parameter); the rule reads it, never recomputes it.
    planned = num(get_in(stack.cluster, "storage", "checkpoint_bytes"))
    per_parameter = get_in(stack.cluster, "storage", "checkpoint_bytes_per_parameter")
    if planned is None:
        args.not_applicable("the plan has no checkpoint size (storage.checkpoint_bytes)")
        return
    size = planned
    limits = [(m, "storage.checkpoint.max_write_minutes") for m in [num(checkpoint.get("max_write_minutes"))] if m]
    if num(cfg["maxWriteMinutes"]):
        limits.append((float(cfg["maxWriteMinutes"]), "policy maxWriteMinutes"))
    if not limits:
        args.not_applicable("no checkpoint time limit")
    limit, source = min(limits)
    write, what, problems = _filesystems(stack)
    if write is None and not problems:
        # No filesystem (checkpoints go to object storage, which this rule does not model), or one with no
        # throughput model: nothing to check against.
        args.not_applicable(what)
        return
    for problem in problems:
        report(f"{problem}: checkpoint write time cannot be checked", urn)
    if not write:
        if not problems:
            report(f"a {size / 1e12:.2f} TB checkpoint has no filesystem write throughput to land on", urn)
        return
    seconds = size / (write * 1e9)
    if seconds > limit * 60 + 1e-6:
        report(f"a full checkpoint ({fmt(checkpoint.get('model_parameters_billion'))}B parameters x "
               f"{fmt(per_parameter)} B = {size / 1e12:.2f} TB) takes {seconds / 60:.1f} min "
               f"at {write:.1f} GB/s on {what}; limit {limit:g} min ({source}) needs "
               f"{size / (limit * 60) / 1e9:.1f} GB/s", urn)


CHECKPOINT_WRITE_TIME = StackValidationPolicy(
    name="checkpoint-write-time",
    description="A full checkpoint of the configured model size (parameters x bytes per parameter) writes to the "
    "filesystem within the allowed minutes.",
    validate=_checkpoint_write_time,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_CHECKPOINT_SCHEMA,
)


# --- hot-spare-ratio ---------------------------------------------------------------------------------------

_SPARES_SCHEMA = schema({
    "minSparePercent": {"type": "number", "minimum": 0, "maximum": 100, "default": 0,
                        "description": "Least share of each SU's nodes kept as hot spares."},
    "maxSparePercent": {"type": "number", "minimum": 0, "maximum": 100, "default": 12.5,
                        "description": "Largest share of each SU's nodes kept as hot spares (idle money)."},
})


@requires_facts
def _hot_spare_ratio(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != POOL_TYPE:
        return
    cfg = settings(args.get_config(), _SPARES_SCHEMA)
    facts = fact_map(args.props, "neocloud", subject=f"GpuPool '{args.name}'")
    low, high = float(cfg["minSparePercent"]), float(cfg["maxSparePercent"])
    name = facts.get("name")
    subject = f"pool '{name}'"
    # Every pool is planned in SUs (one SU at least): no SU list is an unchecked pool, not a pass.
    units = fact_list(facts, "scalable_units", subject=subject)
    if not units:
        raise MissingFact("scalable_units", [], subject=subject, urn=None, kind="a non-empty list")
    for i, unit in enumerate(units):
        u = as_map(unit)
        nodes = fact_number(u, "nodes", subject=f"{subject} SU {i}", minimum=0)
        spares = fact_number(u, "spares", subject=f"{subject} SU {i}", minimum=0)
        if nodes <= 0:
            report(f"{subject} SU {fmt(u.get('index'))}: no nodes", None)
            continue
        share = spares / nodes * 100
        where = f"{subject} SU {fmt(u.get('index'))}: {spares:g} hot spares of {nodes:g} nodes ({share:.1f}%)"
        if share + 1e-9 < low:
            report(f"{where}, below the {low:g}% minimum; one failed node stops a whole training job", None)
        elif share > high + 1e-9:
            report(f"{where}, above the {high:g}% maximum", None)


HOT_SPARE_RATIO = ResourceValidationPolicy(
    name="hot-spare-ratio",
    description="Each scalable unit keeps hot spares within [minSparePercent, maxSparePercent] of its nodes.",
    validate=_hot_spare_ratio,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_SPARES_SCHEMA,
)


# --- fabric-leaf-utilisation -------------------------------------------------------------------------------

_LEAF_SCHEMA = schema({
    "minLeafPortUtilisation": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                               "description": "Least share of a leaf switch's links a design may use (downlinks of "
                               "a full SU plus uplinks); below it most of every leaf is bought and left dark."},
})


def _fabric_leaf_utilisation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != POOL_TYPE:
        return
    cfg = settings(args.get_config(), _LEAF_SCHEMA)
    facts = as_map(args.props.get("neocloud"))
    fabric = as_map(facts.get("fabric"))
    name = facts.get("name")
    if not fabric or int(num(fabric.get("tiers")) or 1) == 1:
        args.not_applicable(f"pool '{name}': no leaf/spine fabric we build (the provider builds it, or one switch)")
    down, up = num(fabric.get("leaf_downlinks")) or 0, num(fabric.get("leaf_uplinks")) or 0
    links = (num(fabric.get("radix")) or 0) * (num(fabric.get("port_split")) or 1)
    if links <= 0:
        return
    used = (down + up) / links
    floor = float(cfg["minLeafPortUtilisation"])
    if used + 1e-9 < floor:
        # H100RA's SU of 32 DGX fills a 64-port QM9700 leaf (32 down, 32 up); on a 144-port Q3400 the same SU uses
        # 64 of 144 ports. NVIDIA sizes the SU to the leaf: B300XDR's SU is 72 nodes on Q3400.
        per_rail = int(links // 2)
        report(f"pool '{name}': each leaf uses {down:g} down + {up:g} up of {links:g} links ({used:.0%}); below the "
               f"{floor:.0%} minimum. Use a smaller-radix switch or larger SUs (fabric.nodes_per_su up to {per_rail} "
               f"nodes fills a non-blocking leaf per rail)", None)


FABRIC_LEAF_UTILISATION = ResourceValidationPolicy(
    name="fabric-leaf-utilisation",
    description="Leaf switches are mostly used: the SU's downlinks plus the uplinks fill at least "
    "minLeafPortUtilisation of each leaf's links.",
    validate=_fabric_leaf_utilisation,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_LEAF_SCHEMA,
)


# --- queue-quota-within-capacity ---------------------------------------------------------------------------

_QUOTA_SCHEMA = schema({
    "maxCommitPercent": {"type": "number", "minimum": 1, "maximum": 1000, "default": 100,
                         "description": "Guaranteed quotas may add up to this share of a pool's schedulable GPUs."},
    "gpuResources": {"type": "array", "items": {"type": "string"},
                     "default": [v.resource for v in GPU_VENDORS.values()],
                     "description": "Extended resource names counted as GPUs."},
})


def _flavor_pools(stack: StackIndex) -> dict[str, str]:
    """ResourceFlavor name -> pool name (by its neocloud.io/pool node label)."""
    out: dict[str, str] = {}
    for flavor in stack.of_type(RESOURCE_FLAVOR):
        pool = get_in(flavor.props, "spec", "nodeLabels", LABEL_POOL)
        if isinstance(pool, str):
            out[object_name(flavor)] = pool
    return out


def _queue_quota_within_capacity(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _QUOTA_SCHEMA)
    stack = StackIndex(args.resources)
    queues = [as_map(q) for q in as_list(get_in(stack.cluster, "queues"))]
    cluster_queues = stack.of_type(CLUSTER_QUEUE)
    if not queues and not cluster_queues:
        args.not_applicable("no queues")
    share = float(cfg["maxCommitPercent"]) / 100
    capacity = {name: num(facts.get("gpus")) or 0 for name, (_, facts) in stack.pools.items()}
    urn = stack.cluster_resource.urn if stack.cluster_resource else None
    planned: dict[str, float] = {}
    for q in queues:
        # The plan resolved each queue's pool (ClusterSpec.queue_pool); a queue without one is not defaulted here.
        pool = q.get("pool")
        if not isinstance(pool, str):
            report(f"queue '{q.get('team')}' names no planned pool in the cluster facts", urn)
            continue
        planned[pool] = planned.get(pool, 0) + (num(q.get("gpu_quota")) or 0)
    for pool, total in sorted(planned.items()):
        if pool not in capacity:
            report(f"queues draw on pool '{pool}', which is not planned", urn)
        elif total > capacity[pool] * share + 1e-9:
            report(f"queues guarantee {total:g} GPUs on pool '{pool}', which schedules {capacity[pool]:g} "
                   f"(spares excluded; commit limit {cfg['maxCommitPercent']:g}%)", urn)
    flavors = _flavor_pools(stack)
    gpu_names = set(cfg["gpuResources"])
    nominal: dict[str, float] = {}
    owners: dict[str, list[str]] = {}
    for cq in cluster_queues:
        for group in as_list(get_in(cq.props, "spec", "resourceGroups")):
            for flavor in as_list(as_map(group).get("flavors")):
                f = as_map(flavor)
                pool = flavors.get(str(f.get("name")))
                for resource in as_list(f.get("resources")):
                    r = as_map(resource)
                    if r.get("name") not in gpu_names:
                        continue
                    quota = parse_quantity(r.get("nominalQuota")) or 0
                    if pool is None or pool not in capacity:
                        report(f"ClusterQueue '{object_name(cq)}' quotas {quota:g} GPUs on flavor "
                               f"'{f.get('name')}', which "
                               f"selects no planned pool", cq.urn)
                        continue
                    nominal[pool] = nominal.get(pool, 0) + quota
                    owners.setdefault(pool, []).append(cq.urn)
    for pool, total in sorted(nominal.items()):
        if total > capacity.get(pool, 0) * share + 1e-9:
            report(f"ClusterQueues guarantee {total:g} GPUs (nominalQuota) on pool '{pool}', which schedules "
                   f"{capacity.get(pool, 0):g}", owners[pool][0])


QUEUE_QUOTA_WITHIN_CAPACITY = StackValidationPolicy(
    name="queue-quota-within-capacity",
    description="Guaranteed GPU quotas (the spec's queues and the Kueue ClusterQueues' nominalQuota) do not exceed "
    "the schedulable GPUs of the pool they draw on (hot spares excluded).",
    validate=_queue_quota_within_capacity,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_QUOTA_SCHEMA,
)


# --- dev-scales-to-zero ------------------------------------------------------------------------------------

_ZERO_SCHEMA = schema({
    "environments": {"type": "array", "items": {"type": "string"}, "default": ["dev", "staging"],
                     "description": "Environments whose GPU pools must scale to zero."},
    "providers": {"type": "array", "items": {"type": "string"},
                  "default": [p.name for p in all_profiles() if p.bills_idle_nodes],
                  "description": "Providers that bill idle nodes (owned baremetal racks are exempt)."},
})


def _dev_scales_to_zero(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _ZERO_SCHEMA)
    stack = StackIndex(args.resources)
    pools = {n: rf for n, rf in stack.pools.items()
             if rf[1].get("environment") in cfg["environments"] and rf[1].get("provider") in cfg["providers"]}
    if not pools:
        args.not_applicable(f"no pool of a {'/'.join(cfg['environments'])} environment on a billed provider")
    for name, (resource, facts) in sorted(pools.items()):
        min_nodes = num(facts.get("min_nodes"))
        if min_nodes:
            report(f"pool '{name}' ({facts.get('environment')}) keeps at least {min_nodes:g} nodes "
                   f"({fmt(facts.get('gpus_per_node'))} GPUs each) running; "
                   f"{profile(str(facts.get('provider'))).scale_to_zero_advice}", resource.urn)
    for ns, owner in stack.node_sets():
        if owner is None or str(owner[1].get("name")) not in pools:
            continue
        if ns.min_nodes:
            key = next((k for k in ns.sizes if ns.sizes[k] == ns.min_nodes), "minimum size")
            report(f"{ns.kind} '{ns.resource.name}' ({owner[1].get('environment')}) has {key} {ns.min_nodes:g}; "
                   f"non-prod GPU node groups scale to zero", ns.resource.urn)


DEV_SCALES_TO_ZERO = StackValidationPolicy(
    name="dev-scales-to-zero",
    description="GPU pools of non-prod environments on billed providers have a minimum size of 0 (plan and EKS "
    "node groups).",
    validate=_dev_scales_to_zero,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_ZERO_SCHEMA,
)


# --- whole-node-gpu-requests -------------------------------------------------------------------------------

_WHOLE_NODE_SCHEMA = schema({
    "workloads": {"type": "array", "items": {"type": "string"}, "default": ["training"],
                  "description": "Queue workload kinds whose GPU quotas and requests come in whole nodes."},
    "gpuResources": {"type": "array", "items": {"type": "string"},
                     "default": [v.resource for v in GPU_VENDORS.values()],
                     "description": "Extended resource names counted as GPUs."},
})


def _whole_node_gpu_requests(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _WHOLE_NODE_SCHEMA)
    stack = StackIndex(args.resources)
    queues = [as_map(q) for q in as_list(get_in(stack.cluster, "queues"))]
    urn = stack.cluster_resource.urn if stack.cluster_resource else None
    per_node: dict[str, tuple[int, str]] = {}  # team -> (GPUs per node, pool)
    unplanned = False
    for q in queues:
        if q.get("workload") not in cfg["workloads"]:
            continue
        pool = str(q.get("pool"))  # resolved by the plan (ClusterSpec.queue_pool), never defaulted here
        if pool not in stack.pools:
            unplanned = True
            report(f"training queue '{q.get('team')}' draws on pool '{pool}', which is not planned", urn)
        else:
            per_node[str(q.get("team"))] = (int(num(stack.pools[pool][1].get("gpus_per_node")) or 1), pool)
    if not per_node and not unplanned:
        args.not_applicable("no training queues")
    for q in queues:
        team = str(q.get("team"))
        if team not in per_node:
            continue
        size, pool = per_node[team]
        quota = num(q.get("gpu_quota")) or 0
        if quota % size:
            report(f"training queue '{team}' guarantees {quota:g} GPUs, not a whole number of {size}-GPU nodes of "
                   f"pool '{pool}'", urn)
    gpu_names = set(cfg["gpuResources"])
    for cq in stack.of_type(CLUSTER_QUEUE):
        team = object_name(cq)
        if team not in per_node:
            continue
        size, pool = per_node[team]
        for group in as_list(get_in(cq.props, "spec", "resourceGroups")):
            for flavor in as_list(as_map(group).get("flavors")):
                for resource in as_list(as_map(flavor).get("resources")):
                    r = as_map(resource)
                    nominal_gpus = parse_quantity(r.get("nominalQuota"))
                    if r.get("name") in gpu_names and nominal_gpus is not None and nominal_gpus % size:
                        report(f"ClusterQueue '{team}' nominalQuota {nominal_gpus:g} {r.get('name')} is not a whole "
                               f"number of {size}-GPU nodes", cq.urn)
    for workload in stack.resources:
        path = WORKLOAD_TYPES.get(workload.resource_type)
        if path is None:
            continue
        namespace = get_in(workload.props, "metadata", "namespace")
        if namespace not in per_node:
            continue
        size, _ = per_node[str(namespace)]
        pod = get_in(workload.props, *path)
        for container in [*as_list(get_in(pod, "containers")), *as_list(get_in(pod, "initContainers"))]:
            c = as_map(container)
            for kind in ("requests", "limits"):
                for gpu in gpu_names:
                    count = parse_quantity(get_in(c, "resources", kind, gpu))
                    if count is not None and count % size:
                        report(f"{workload.resource_type.split(':')[-1]} '{workload.name}' in training namespace "
                               f"'{namespace}': container '{c.get('name')}' {kind} {count:g} {gpu}; training takes "
                               f"whole {size}-GPU nodes", workload.urn)


WHOLE_NODE_GPU_REQUESTS = StackValidationPolicy(
    name="whole-node-gpu-requests",
    description="Training queues guarantee, and training workloads request, GPUs in whole nodes (multiples of the "
    "pool's GPUs per node).",
    validate=_whole_node_gpu_requests,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_WHOLE_NODE_SCHEMA,
)


# --- goodput-floor -----------------------------------------------------------------------------------------

_GOODPUT_SCHEMA = schema({
    "minExpectedGoodput": {"type": "number", "minimum": 0, "maximum": 1, "default": LLAMA3_EFFECTIVE_TRAINING_TIME,
                           "description": "Least expected goodput (useful share of training time) per pool, from the "
                           "plan's failure model; default 0.90, the effective training time Meta reports for Llama 3 "
                           "405B (arXiv 2407.21783)."},
})


def _goodput_floor(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _GOODPUT_SCHEMA)
    stack = StackIndex(args.resources)
    if not stack.pools and not stack.pools_without_facts:
        args.not_applicable("no GpuPool")
    stack.report_pools_without_facts(report)
    floor = float(cfg["minExpectedGoodput"])
    for name, (resource, facts) in sorted(stack.pools.items()):
        goodput = as_map(facts.get("goodput"))
        if not goodput:
            report(f"pool '{name}' carries no goodput plan (interruptions, checkpoint interval, expected goodput): "
                   f"its goodput cannot be checked", resource.urn)
            continue
        expected = num(goodput.get("expected"))
        per_day = fmt(goodput.get("interruptions_per_day"))
        if expected is None:
            report(f"pool '{name}' plans no checkpoint (storage.checkpoint): at {per_day} expected interruptions "
                   f"per day each one loses all work since the job started; expected goodput cannot reach the "
                   f"{floor:.0%} floor", resource.urn)
        elif expected + 1e-9 < floor:
            report(f"pool '{name}' expects {expected:.1%} goodput, below the {floor:.0%} floor "
                   f"(policy minExpectedGoodput): {per_day} interruptions per day (MTBF "
                   f"{fmt(goodput.get('mtbf_hours'))} h), a {fmt(goodput.get('checkpoint_write_minutes'))} min "
                   f"checkpoint every {fmt(goodput.get('checkpoint_interval_minutes'))} min; write checkpoints "
                   f"faster, restart faster or split the job", resource.urn)


GOODPUT_FLOOR = StackValidationPolicy(
    name="goodput-floor",
    description="Each pool's expected goodput (the plan's failure rate, Young/Daly checkpoint interval from the "
    "checkpoint write time, and restart time) is at least the configured floor.",
    validate=_goodput_floor,
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=_GOODPUT_SCHEMA,
)


# --- checkpoint-filesystem-mounted -------------------------------------------------------------------------

INSTANCE_GROUP_TYPES = types_with_role("instance_group")
"""Groups of instances that mount filesystems at launch (``file_system_names``; Lambda attaches a filesystem only
when an instance launches, so one launched without it can never write a checkpoint there)."""


_MOUNT_SCHEMA = schema({
    "exemptPools": {"type": "array", "items": {"type": "string"}, "default": [],
                    "description": "Pools whose instances write no checkpoints (e.g. inference pools)."},
})


def _checkpoint_filesystem_mounted(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _MOUNT_SCHEMA)
    stack = StackIndex(args.resources)
    checkpoint = as_map(get_in(stack.cluster, "checkpoint")) if stack.cluster is not None else {}
    groups = stack.of_type(*INSTANCE_GROUP_TYPES)
    if not checkpoint or not groups:
        args.not_applicable("no storage.checkpoint" if not checkpoint else "no instance groups")
        return
    if not as_map(get_in(stack.cluster, "filesystem")):
        return  # no shared filesystem: checkpoints go to object storage, nothing to mount
    for group in groups:
        owner = stack.pool_of(group)
        if owner is not None and str(owner[1].get("name")) in cfg["exemptPools"]:
            continue
        if not as_list(group.props.get("file_system_names")):
            report(f"instance group '{group.name}' mounts no filesystem, so its instances cannot write the "
                   f"{fmt(checkpoint.get('model_parameters_billion'))}B-parameter checkpoint to shared storage "
                   "(filesystems attach only at launch)", group.urn)


CHECKPOINT_FILESYSTEM_MOUNTED = StackValidationPolicy(
    name="checkpoint-filesystem-mounted",
    description="When the spec has a checkpoint and a shared filesystem, every instance group mounts it.",
    validate=_checkpoint_filesystem_mounted,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_MOUNT_SCHEMA,
)


# --- node-remediation-in-prod -------------------------------------------------------------------------------


_REMEDIATION_SCHEMA = schema({
    "environments": {"type": "array", "items": {"type": "string"}, "default": ["prod"],
                     "description": "Environments whose GPU nodes must be health-checked and remediated."},
})


def _release_of(stack: StackIndex, chart: str) -> list[Any]:
    return [r for r in stack.of_type(HELM_RELEASE) if r.props.get("chart") == chart]


def _node_remediation(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _REMEDIATION_SCHEMA)
    stack = StackIndex(args.resources)
    environment = stack.environment()
    if not stack.pools and not stack.pools_without_facts:  # a pool without its facts is still a GPU pool
        args.not_applicable("no GpuPool")
    if environment not in cfg["environments"]:
        args.not_applicable(f"environment '{environment}' is not one of {', '.join(cfg['environments'])}")
    if not stack.of_type(KUBERNETES_LAYER_TYPE):
        # NVSentinel is a Kubernetes component: GPU instances without a cluster (Lambda on-demand) have none.
        args.not_applicable("no Kubernetes layer to run NVSentinel in")
    urn = stack.cluster_resource.urn if stack.cluster_resource else None
    stack.report_pools_without_facts(report)
    for pool_name, (pool, facts) in stack.pools.items():
        # NVSentinel watches NVIDIA GPUs (DCGM): a pool of another vendor's GPUs is not covered by anything below,
        # so it is reported with what is missing rather than passing on the NVIDIA pools' wiring.
        vendor = GPU_VENDORS.get(str(facts.get("gpu_vendor")))
        if vendor is None:
            report(str(MissingFact("gpu_vendor", facts.get("gpu_vendor"), subject=f"GpuPool '{pool_name}'",
                                   urn=pool.urn, kind=f"one of {', '.join(GPU_VENDORS)}")), pool.urn)
        elif vendor.health_missing:
            report(f"{environment} pool '{pool_name}' has {vendor.name.upper()} GPUs ({facts.get('gpu')}) without "
                   f"health remediation: {vendor.health_missing}", pool.urn)
    releases = _release_of(stack, NVSENTINEL_CHART)
    if not releases:
        report(f"{environment} GPU pools without NVSentinel ({NVSENTINEL_CHART}): a failing GPU stays in service "
               f"and stops every job that spans it; set kubernetes.node_health.enabled", urn)
        return
    for release in releases:
        values = as_map(release.props.get("values"))
        version = release.props.get("version")
        if not isinstance(version, str) or not version or version == "latest":
            report(f"NVSentinel release '{release.name}' pins no chart version", release.urn)
        if get_in(values, "global", "dryRun") is True:
            report(f"NVSentinel release '{release.name}' runs in dry-run mode (global.dryRun): it only logs what it "
                   f"would cordon and drain", release.urn)
        for module in ("gpuHealthMonitor", "faultQuarantine", "nodeDrainer"):
            if get_in(values, "global", module, "enabled") is not True:
                report(f"NVSentinel release '{release.name}' does not enable global.{module}.enabled", release.urn)
    for operator in _release_of(stack, GPU_OPERATOR_CHART):
        if get_in(as_map(operator.props.get("values")), "dcgm", "enabled") is not True:
            report(f"GPU Operator release '{operator.name}' runs no standalone DCGM (dcgm.enabled): NVSentinel's GPU "
                   f"health monitor connects to it", operator.urn)
    health = stack.of_type(NODE_HEALTH_TYPE)
    repair = as_map(get_in(health[0].props, FACTS, "repair")) if health else {}
    kind = repair.get("kind")
    if not kind:
        report("no repair path recorded for NVSentinel (NodeHealth facts): quarantined nodes are never repaired", urn)
    elif kind == "remediation-request":
        for release in releases:
            if get_in(as_map(release.props.get("values")), "global", "faultRemediation", "enabled") is not True:
                report(f"NVSentinel release '{release.name}' files no remediation request "
                       f"(global.faultRemediation.enabled) and the provider has no repair loop of its own", release.urn)
    elif kind == "node-auto-repair":
        for ns, owner in stack.node_sets():
            path = NODE_SET_SHAPES[ns.resource.resource_type].auto_repair
            if owner is not None and path and get_in(ns.resource.props, *path) is not True:
                report(f"{ns.kind} '{ns.resource.name}' of pool '{owner[1].get('name')}' has no node auto-repair "
                       f"({'.'.join(path)}): quarantined nodes are never replaced", ns.resource.urn)


NODE_REMEDIATION_IN_PROD = StackValidationPolicy(
    name="node-remediation-in-prod",
    description="GPU pools of the listed environments run NVIDIA NVSentinel (pinned, not dry-run, health monitor, "
    "quarantine and drain on; the GPU Operator's standalone DCGM) wired to the provider's repair path (EKS node "
    "auto-repair on every GPU node group, or NVSentinel's remediation request where the provider has none); a pool "
    "of GPUs NVSentinel does not watch (AMD) is reported with what is missing.",
    validate=_node_remediation,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_REMEDIATION_SCHEMA,
)


POLICIES = [
    STORAGE_THROUGHPUT_PER_GPU,
    CHECKPOINT_WRITE_TIME,
    GOODPUT_FLOOR,
    NODE_REMEDIATION_IN_PROD,
    HOT_SPARE_RATIO,
    FABRIC_LEAF_UTILISATION,
    QUEUE_QUOTA_WITHIN_CAPACITY,
    DEV_SCALES_TO_ZERO,
    WHOLE_NODE_GPU_REQUESTS,
    CHECKPOINT_FILESYSTEM_MOUNTED,
]
