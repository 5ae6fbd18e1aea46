"""What the Kubernetes layer needs decided, as plain values: team queues and node-acceptance thresholds.

No Pulumi imports. ``components.kubernetes`` turns these into Kueue, tenant and acceptance objects, and
policies can read the same values from the layer's component inputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..node import expectation_for
from ..spec import ClusterSpec, TrafficRegulator
from .cluster import ClusterPlan, PoolPlan
from .traffic import RampConfig, default_floor

__all__ = [
    "AcceptanceTest",
    "PoolAcceptance",
    "TeamQueue",
    "acceptance_image",
    "acceptance_pools",
    "acceptance_tests",
    "fabric_gbytes_per_node",
    "plan_team_queues",
    "pool_fabric_resource",
    "traffic_ramp",
]


@dataclass(frozen=True, slots=True)
class TeamQueue:
    """One team's share of a GPU pool: a Kueue ClusterQueue/LocalQueue and a tenant namespace."""

    team: str
    """Team name: the namespace, ClusterQueue and LocalQueue name."""
    pool: str
    """GPU pool (and Kueue ResourceFlavor) the quota draws on."""
    gpu_quota: int
    """Guaranteed GPUs (ClusterQueue nominalQuota)."""
    borrowing_limit: int | None
    """GPUs the team may borrow from its cohort; ``None`` means no limit (Kueue's null)."""
    cohort: str
    """Kueue cohort the team borrows within."""
    workload: str
    """``training`` or ``inference``."""
    group: str
    """Identity-provider group bound to the team's Role (the spec's ``group``, else the team name)."""
    gpu_ceiling: int
    """Most GPUs the team can hold at once: quota plus what it may borrow, capped at the pool's schedulable
    GPUs. The namespace's ResourceQuota uses it, so quota holds even for pods that bypass Kueue."""
    max_gpus_per_pod: int
    """GPUs of one node of the pool: no pod can use more (LimitRange)."""
    gpu_resource: str
    """The pool's GPU extended resource (``nvidia.com/gpu``, ``amd.com/gpu``: the catalog's GPU vendor) that the
    ClusterQueue, ResourceQuota and LimitRange count."""
    fabric_resource: str | None = None
    """The extended resource a multi-node pod of the pool requests for its compute NICs (``pool_fabric_resource``);
    ``None``: the pool's nodes have no compute-fabric NIC."""
    pod_security: str = "restricted"
    """Pod Security Standard level the team's namespace enforces."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-value form for component inputs and stack outputs."""
        return asdict(self)


def plan_team_queues(spec: ClusterSpec, plan: ClusterPlan) -> tuple[TeamQueue, ...]:
    """The spec's queues resolved against the plan (the pool ``ClusterSpec.queue_pool`` resolves; default group:
    the team)."""
    out = []
    for queue in spec.kubernetes.queues:
        pool = plan.pool(spec.queue_pool(queue))
        borrow = queue.borrowing_limit
        ceiling = pool.gpus if borrow is None else min(pool.gpus, queue.gpu_quota + borrow)
        out.append(TeamQueue(
            team=queue.team, pool=pool.name, gpu_quota=queue.gpu_quota, borrowing_limit=borrow,
            cohort=queue.cohort, workload=queue.workload, group=queue.group or queue.team,
            gpu_ceiling=ceiling, max_gpus_per_pod=pool.system.gpus_per_node,
            gpu_resource=pool.system.gpu_vendor.resource, fabric_resource=pool_fabric_resource(spec, pool),
            pod_security=queue.pod_security,
        ))
    return tuple(out)


def pool_fabric_resource(spec: ClusterSpec, pool: PoolPlan) -> str | None:
    """The extended resource a pod of ``pool`` requests for its compute NICs, decided here once for acceptance
    sweeps, team queues and policy workloads-admissible: none for a system without compute-fabric NICs (catalog
    ``rails`` 0, e.g. a single-GPU Droplet), the catalog system's own (``System.nic_resource``: EFA's
    ``vpc.amazonaws.com/efa``), else the provider profile's RDMA resource (``fabric_resource``: CoreWeave's
    ``rdma/ib``, the site's ``digitalocean.rdma_resource``, or the NicClusterPolicy the layer installs)."""
    system = pool.system
    if system.rails == 0:
        return None
    return system.nic_resource or spec.profile.fabric_resource(spec)


def fabric_gbytes_per_node(pool: PoolPlan) -> float:
    """Line rate of one node's compute fabric in GB/s: EFA Gbit/s on AWS (AWS-P5EFA [P] for p5: 3,200), else
    NIC Gbit/s x rails (H100RA [P] for DGX H100: 8 x 400); divided by 8 bits per byte."""
    system = pool.system
    gbits = system.efa_gbps if system.efa_gbps is not None else system.nic_gbps * system.rails
    return gbits / 8


@dataclass(frozen=True, slots=True)
class AcceptanceTest:
    """Node acceptance for one SU of one pool: DCGM diagnostics on every node, then an NCCL all-reduce across
    all of the SU's nodes that must reach ``min_busbw_gbytes``."""

    pool: str
    """GPU pool."""
    su: int
    """``neocloud.io/su`` label value of the tested nodes (the plan's SU index, or the provider's group)."""
    nodes: int
    """Nodes tested (spares included: a spare must be good before it can replace a node)."""
    gpus_per_node: int
    """GPUs each test pod takes (all of its node's)."""
    line_rate_gbytes: float
    """Fabric line rate per node in GB/s (``fabric_gbytes_per_node``)."""
    min_busbw_gbytes: float
    """Pass threshold for NCCL all-reduce bus bandwidth in GB/s: ``line_rate_gbytes x busbw_fraction``.
    nccl-tests' bus bandwidth is normalized (algbw x 2(n-1)/n for all-reduce) so that it is comparable to the
    per-node hardware bandwidth (NVIDIA nccl-tests, doc/PERFORMANCE.md)."""
    fabric: str
    """``infiniband``, ``roce`` or ``efa``."""
    fabric_devices: int
    """Fabric devices each test pod requests: every EFA interface of the instance (one per network card,
    hardware.md AWS [P]), or the one shared RDMA device that exposes all of a node's HCAs."""
    gpu_resource: str
    """The GPU extended resource each test pod requests (the catalog's GPU vendor)."""
    collective: str
    """Collective library the all-reduce measures (NCCL; RCCL on AMD)."""
    fabric_resource: str
    """The extended resource each sweep pod requests ``fabric_devices`` of (``pool_fabric_resource``)."""
    image: str
    """Image of the sweep pods: the pool's acceptance image (``acceptance_image``), the same as its DaemonSet's."""
    timeout_seconds: int
    """Deadline of one sweep run (``kubernetes.acceptance.nccl_timeout_minutes``)."""

    @property
    def name(self) -> str:
        """Kubernetes object name for this SU's acceptance Job and Service."""
        return f"accept-{self.pool}-su{self.su}"

    def to_dict(self) -> dict[str, Any]:
        """Plain-value form for component inputs and stack outputs."""
        out = asdict(self)
        out["name"] = self.name
        return out


def acceptance_image(spec: ClusterSpec) -> str:
    """The node-acceptance image: ``kubernetes.acceptance.image``, else the provider's (it must carry NCCL's transport
    for the fabric). Decided here once for the DaemonSets and the sweeps."""
    return spec.kubernetes.acceptance.image or spec.profile.acceptance_image


def acceptance_tests(spec: ClusterSpec, plan: ClusterPlan) -> tuple[AcceptanceTest, ...]:
    """One multi-node acceptance sweep per ``neocloud.io/su`` group of every pool (objects scale with SUs, never
    nodes). The groups are the plan's (``PoolPlan.su_groups``, from the provider profile): on AWS the label names
    the placement block (one node group, possibly several plan SUs), and the sweep must select exactly the nodes
    that carry the label.

    A pool whose nodes have no compute-fabric NIC (``pool_fabric_resource`` is ``None``: a single-GPU Droplet on
    25 Gbps private networking, DigitalOcean "Droplet features") gets no sweep: its threshold would be a fraction of
    a line rate of 0, a check that cannot fail.
    """
    busbw_fraction = spec.kubernetes.acceptance_busbw_fraction
    image = acceptance_image(spec)
    timeout = spec.kubernetes.acceptance.nccl_timeout_minutes * 60
    tests = []
    for pool in plan.pools:
        resource = pool_fabric_resource(spec, pool)
        # No sweep for a vendor acceptance cannot check yet (see acceptance_pools), nor without a compute fabric.
        if pool.system.gpu_vendor.acceptance_missing or resource is None:
            continue
        rate = fabric_gbytes_per_node(pool)
        for su, nodes in pool.su_groups:
            tests.append(AcceptanceTest(
                pool=pool.name, su=su, nodes=nodes, gpus_per_node=pool.system.gpus_per_node,
                line_rate_gbytes=round(rate, 3), min_busbw_gbytes=round(rate * busbw_fraction, 3),
                fabric=plan.fabric_kind,
                fabric_devices=(pool.system.efa_network_cards or 1) if plan.fabric_kind == "efa" else 1,
                gpu_resource=pool.system.gpu_vendor.resource, collective=pool.system.gpu_vendor.collective,
                fabric_resource=resource, image=image, timeout_seconds=timeout,
            ))
    return tuple(tests)


def traffic_ramp(regulator: TrafficRegulator) -> RampConfig:
    """The traffic regulator's ramp from its settings: from the floor (default 10% of the full rate) to
    ``requests_per_second`` over ``slow_start_seconds``, capped by ready endpoints x
    ``per_replica_requests_per_second`` when that is set."""
    full = regulator.requests_per_second
    floor = regulator.ramp_floor_requests_per_second or default_floor(full)
    return RampConfig(floor=floor, full=full, window_seconds=regulator.slow_start_seconds,
                      per_replica=regulator.per_replica_requests_per_second,
                      step_seconds=regulator.ramp_step_seconds)


@dataclass(frozen=True, slots=True)
class PoolAcceptance:
    """Per-node acceptance of one pool: what every node that joins the pool must show and pass, on its own."""

    pool: str
    system: str
    gpus_per_node: int
    gpu_resource: str
    """The GPU extended resource the acceptance pod requests (all of its node's GPUs)."""
    expectation: dict[str, Any] | None
    """``neocloud.node.NodeExpectation`` fields for the node's hardware check (``None``: see ``unverifiable``)."""
    unverifiable: str | None
    """Why the catalog cannot say what a node must show (the verify step then fails every node with it)."""
    nvlink_gbytes_per_gpu: float | None
    """One direction of the catalog's NVLink GB/s per GPU (the catalog gives both directions: 900 on HGX H100);
    ``None`` where the catalog does not verify it (then no node can pass: set the catalog override)."""
    min_busbw_gbytes: float | None
    """Intra-node all-reduce pass threshold: ``nvlink_gbytes_per_gpu x busbw_fraction`` (bus bandwidth is
    normalized to per-GPU link bandwidth, NVIDIA nccl-tests doc/PERFORMANCE.md)."""
    nccl_not_applicable: str | None
    """Why the node has no intra-node all-reduce to measure (``None``: it has one). A node with ONE GPU: nccl-tests
    defines all-reduce bus bandwidth as algbw x 2(n-1)/n (doc/PERFORMANCE.md), which is 0 for n = 1 -- there is no
    GPU-to-GPU traffic, so no threshold could be met or missed; the step records that instead of a measurement."""
    image: str
    dcgm_level: int
    dcgm_timeout_seconds: int
    verify_timeout_seconds: int
    nccl_timeout_seconds: int
    retry_seconds: int

    @property
    def name(self) -> str:
        """Kubernetes object name of the pool's acceptance DaemonSet."""
        return f"accept-{self.pool}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["name"] = self.name
        return out


def acceptance_pools(spec: ClusterSpec, plan: ClusterPlan) -> tuple[PoolAcceptance, ...]:
    """One per-node acceptance per pool (one DaemonSet each: objects grow with pools, never with nodes), except
    pools of a GPU vendor acceptance cannot check yet (``GpuVendor.acceptance_missing``: AMD).
    What the catalog cannot say fails the affected step on every node, with the reason, rather than the plan."""
    settings = spec.kubernetes.acceptance
    image = acceptance_image(spec)
    out = []
    for pool in plan.pools:
        system = pool.system
        if system.gpu_vendor.acceptance_missing:
            # The steps run NVIDIA's tools (nvidia-smi, DCGM, NCCL): none would pass on another vendor's GPUs, so
            # the pool gets no DaemonSet, and providers refuse to hold its nodes for acceptance (GpuVendor).
            continue
        # Where the catalog cannot say what the node must show, the verify step fails every node with that reason
        # instead of passing it unverified (and the plan still builds).
        try:
            expectation: dict[str, Any] | None = asdict(expectation_for(system, min_driver=settings.min_driver))
            unverifiable = None
        except KeyError as error:
            expectation, unverifiable = None, f"verify: {error.args[0].split('; pass')[0]}"
        # Without a verified NVLink figure there is no threshold: the NCCL step then fails every node with a reason
        # naming the override (catalog.systems.<system>.nvlink_gbps_per_gpu), instead of passing unmeasured.
        one_way = None if system.nvlink_gbps_per_gpu is None else system.nvlink_gbps_per_gpu / 2
        single = system.gpus_per_node == 1
        if single:
            one_way = None
        out.append(PoolAcceptance(
            pool=pool.name, system=system.name, gpus_per_node=system.gpus_per_node,
            gpu_resource=system.gpu_vendor.resource, expectation=expectation, unverifiable=unverifiable,
            nvlink_gbytes_per_gpu=one_way,
            min_busbw_gbytes=None if one_way is None else round(one_way * spec.kubernetes.acceptance_busbw_fraction, 3),
            nccl_not_applicable=(f"nccl: not applicable: {system.name} has 1 GPU per node, so an intra-node "
                                 f"all-reduce moves nothing between GPUs (bus bandwidth algbw x 2(n-1)/n = 0 for "
                                 f"n = 1, nccl-tests doc/PERFORMANCE.md)") if single else None,
            image=image, dcgm_level=settings.dcgm_level, dcgm_timeout_seconds=settings.dcgm_timeout_minutes * 60,
            verify_timeout_seconds=settings.verify_timeout_minutes * 60,
            nccl_timeout_seconds=settings.nccl_timeout_minutes * 60,
            retry_seconds=int(settings.retry_hours * 3600),
        ))
    return tuple(out)
