"""Provider-neutral sections of the cluster spec: pools, racks, fabric, storage, Kubernetes, power, catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from ..profiles import all_profiles, union
from ._base import (
    CHECKPOINT_BYTES_PER_PARAMETER,
    DEFAULT_PUE,
    LLAMA3_HARDWARE_SHARE,
    LLAMA3_OBSERVED_DAYS,
    LLAMA3_OBSERVED_GPUS,
    LLAMA3_UNEXPECTED_INTERRUPTIONS,
    Name,
    _Model,
)

if TYPE_CHECKING:
    CapacitySource = str
    FabricKind = str
else:  # the values the registered provider profiles offer
    CapacitySource = Literal[union(lambda p: p.capacity_sources)]
    FabricKind = Literal[union(lambda p: p.fabric_kinds)]


class Capacity(_Model):
    """Where a pool's machines come from."""

    source: CapacitySource = Field(
        "on-demand",
        description="on-demand (AWS: launched into a cluster placement group per block), reservation (an "
        "On-Demand Capacity Reservation) or capacity-block (EC2 Capacity Blocks for ML).",
    )
    reservation_ids: list[Annotated[str, Field(pattern=r"^cr-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list,
        description="AWS capacity reservation ids (cr-...) for reservation and capacity-block sources. A "
        "Capacity Block holds at most 64 instances, so larger pools list several.",
    )


class Pool(_Model):
    """A GPU node pool: one system type, one zone, one fabric."""

    name: Name = Field(description="Pool name; becomes the node label neocloud.io/pool.")
    system: str = Field(description="System name from the catalog (see `neocloud schema` for the list).")
    nodes: int = Field(ge=1, le=100_000, description="Nodes that run work (not counting spares).")
    spares: int = Field(0, ge=0, le=10_000, description="Hot-spare nodes on top of `nodes`.")
    min_nodes: int | None = Field(
        None, ge=0, description="Autoscaling floor; 0 lets a non-prod pool scale to zero. Default: nodes + spares."
    )
    zone: str | None = Field(None, description="Availability zone; defaults to the cluster's `zone`.")
    capacity: Capacity = Field(default_factory=Capacity, description="Where the machines come from.")  # type: ignore[arg-type]
    price_per_gpu_hour: float | None = Field(
        None, gt=0, description="Your negotiated $/GPU-hour for the cost estimate; prices vary, so none is built in."
    )

    @property
    def total_nodes(self) -> int:
        """Nodes including hot spares."""
        return self.nodes + self.spares


class Racks(_Model):
    """Physical rack constraints (they matter for baremetal and for sizing power at a colocation)."""

    power_budget_kw: float | None = Field(
        None, gt=0, le=1000, description="IT power available per rack in kW; caps nodes per rack."
    )
    max_nodes_per_rack: int | None = Field(
        None, ge=1, le=64, description="Upper bound on nodes per rack (H100RA lays out 1, 2 or 4 DGX per rack)."
    )
    nodes_per_rack: int | None = Field(
        None, ge=1, le=64, description="Your fixed rack layout; default: as many as power, space and the bound allow. "
        "A layout over the power budget is reported by the rack-power-budget policy.",
    )
    rack_units: int = Field(42, ge=4, le=60, description="Usable rack units for GPU nodes per rack.")


class Fabric(_Model):
    """The compute (east-west) fabric."""

    kind: FabricKind = Field(description="infiniband, roce (Spectrum-X) or efa (AWS).")
    switch: str = Field(
        "QM9700", description="Switch model from the catalog (QM9700, Q3400, SN5600); sets the radix."
    )
    radix: int | None = Field(
        None, ge=4, le=512, description="Override the switch's port count (must be even)."
    )
    nodes_per_su: int | None = Field(
        None, ge=1, le=4096, description="Nodes per scalable unit; default from the system (32 for DGX)."
    )
    oversubscription: float = Field(
        1.0, ge=1.0, le=8.0, description="Designed leaf downlink:uplink ratio; 1.0 is non-blocking."
    )
    max_oversubscription: float = Field(
        1.0, ge=1.0, le=8.0, description="Largest ratio the policies allow (fabric-nonblocking)."
    )
    management_ports: int = Field(
        0, ge=0, le=64, description="Leaf ports for the fabric manager (UFM takes 4 in H100RA's 31/127-node SUs)."
    )
    planes: int = Field(
        1, ge=1, le=8, description="Independent fabric planes; each NIC port splits evenly across them "
        "(B300RA's twin-planar Spectrum-X fabric: 2).",
    )
    port_split: int | None = Field(
        None, ge=1, le=8, description="Links per switch port when ports are faster than a link (2: an 800G port as "
        "2 x 400G); default: the switch's verified split, else none.",
    )
    name: str | None = Field(
        None, description="The provider's fabric name (Nebius InfiniBand fabric, e.g. fabric-3)."
    )


_FILESYSTEM_OWNERS = {k: p.name for p in all_profiles() for k in p.filesystem_kinds if k != "external"}
"""Filesystem kinds a provider creates, and the provider (its profile lists them)."""

if TYPE_CHECKING:
    FilesystemKind = str
else:
    FilesystemKind = Literal[(*_FILESYSTEM_OWNERS, "external")]


class Filesystem(_Model):
    """The shared parallel filesystem."""

    kind: FilesystemKind = Field(
        description=f"{', '.join(f'{k} ({p})' for k, p in _FILESYSTEM_OWNERS.items())}, or external (yours; sized "
        "but not created)."
    )
    tier: Literal["good", "better", "best"] = Field(
        "better", description="H100RA Table 6 performance tier the filesystem is sized to."
    )
    capacity_tib: float | None = Field(None, gt=0, description="Capacity floor in TiB; default from the plan.")
    min_gbps_per_gpu: float | None = Field(
        None, gt=0, description="Read throughput floor per GPU in GB/s (checked by storage-throughput-per-gpu)."
    )
    storage_class: str | None = Field(
        None, pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$",
        description="kind external only: the StorageClass (ReadWriteMany) your cluster mounts this filesystem "
        "through; each training team gets a claim of it in its namespace. Required for external with training "
        "queues.",
    )


class Bucket(_Model):
    """An object-storage bucket."""

    purpose: Literal["datasets", "checkpoints", "artifacts"] = Field(description="What the bucket holds.")
    noncurrent_version_days: int = Field(
        30, ge=1, le=3650, description="Days to keep noncurrent object versions before expiry."
    )


class Checkpoint(_Model):
    """The training checkpoint the storage must absorb."""

    model_parameters_billion: float = Field(gt=0, le=100_000, description="Model size in billions of parameters.")
    bytes_per_parameter: float = Field(
        CHECKPOINT_BYTES_PER_PARAMETER, gt=0, le=64, description="Checkpoint bytes per parameter (16: weights + Adam)."
    )
    max_write_minutes: float = Field(10, gt=0, description="A full checkpoint must be written within this time.")
    retained: int = Field(3, ge=1, le=1000, description="Checkpoints kept on the filesystem.")


class Storage(_Model):
    """Storage: parallel filesystem, buckets and the checkpoint they must absorb."""

    filesystem: Filesystem | None = Field(None, description="The shared parallel filesystem (none: no filesystem).")
    buckets: list[Bucket] = Field(default_factory=list, description="Object-storage buckets, one per purpose.")
    checkpoint: Checkpoint | None = Field(None, description="The checkpoint the filesystem must absorb.")
    dataset_tib: float = Field(0, ge=0, description="Training data kept on the filesystem, in TiB.")


class Queue(_Model):
    """A team's queue: a Kueue ClusterQueue + LocalQueue and a tenant namespace."""

    team: Name = Field(description="Team name; becomes the namespace and the LocalQueue.")
    pool: str | None = Field(None, description="GPU pool the quota draws on; default: the first pool.")
    gpu_quota: int = Field(ge=0, description="Guaranteed GPUs (nominalQuota).")
    borrowing_limit: int | None = Field(None, ge=0, description="GPUs the team may borrow from its cohort.")
    cohort: Name = Field("default", description="Kueue cohort for borrowing.")
    workload: Literal["training", "inference"] = Field(
        "training", description="training queues require whole-node GPU requests."
    )
    group: str | None = Field(None, description="Identity-provider group bound to the team's Role.")
    pod_security: Literal["restricted", "baseline", "privileged"] = Field(
        "restricted",
        description="Pod Security Standard the team's namespace enforces. Multi-node NCCL over InfiniBand/RoCE "
        "pins memory with IPC_LOCK, which only privileged admits (NVIDIA's RDMA pod examples add it); EFA on "
        "EKS needs no added capability.",
    )


_HOSTNAME = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
"""A Gateway API hostname: a lower-case DNS name, optionally with a leading wildcard label."""


class Backend(_Model):
    """An inference Service behind the traffic regulator."""

    service: Name = Field("inference", description="Service name in the team's namespace.")
    port: int = Field(
        8000, ge=1, le=65535, description="Service port (8000 is the default port of vLLM's OpenAI-compatible server)."
    )
    path_prefix: str = Field("/", pattern=r"^/[-A-Za-z0-9_./]*$", description="Path prefix routed to the Service.")


class TrafficRegulator(_Model):
    """Gateway in front of inference services that lets traffic back in gradually after an outage: the admitted
    rate ramps from a floor to the full rate, and Envoy's slow start warms endpoints that join warm ones."""

    requests_per_second: int = Field(
        ge=1, le=1_000_000, description="Full rate once a ramp is over, in requests per second per route, enforced "
        "by each Envoy proxy replica (a local rate limit).",
    )
    slow_start_seconds: int = Field(
        60, ge=1, le=3600, description="Ramp window: after a resume the admitted rate rises linearly from the floor "
        "to the full rate over it; also Envoy's slow-start window for endpoints that join warm ones.",
    )
    ramp_floor_requests_per_second: int | None = Field(
        None, ge=1, description="Admitted rate at the moment a backend resumes (default: 10% of "
        "requests_per_second, rounded up: the share Envoy's slow start gives a new endpoint by default).",
    )
    ramp_step_seconds: int = Field(
        5, ge=1, le=60, description="How often the ramp controller re-evaluates and patches the limit.",
    )
    per_replica_requests_per_second: int | None = Field(
        None, ge=1, description="Capacity-aware option: never admit more than ready endpoints x this rate (what "
        "one model-server replica serves; measure it, no default).",
    )
    retry_after_seconds: int = Field(
        1, ge=1, le=3600, description="Retry-After on the 429 a rejected request gets (the limit is per second).",
    )
    max_pending_requests: int = Field(
        1024, ge=1, le=1_000_000, description="Requests Envoy may queue per backend waiting for a connection "
        "(circuit breaker; Envoy's default is 1024); beyond it Envoy answers 503 at once.",
    )
    controller_image: str = Field(
        "docker.io/library/python:3.13.7-slim@sha256:8220ccec22e88cddd9a541cacd1bf48423bda8cdeb1015249e4b298edf86cdc7",
        pattern=r"^[a-z0-9][-a-z0-9.:/_]*(@sha256:[0-9a-f]{64})?$", description="Stock Python image the ramp "
        "controller runs on (its code comes from a ConfigMap; no image of ours).",
    )
    team: Name | None = Field(
        None, description="Team whose namespace holds the gateway and the inference Services it fronts; default: "
        "the first queue with workload inference.",
    )
    backends: list[Backend] = Field(
        default_factory=lambda: [Backend()], min_length=1, max_length=32,  # type: ignore[call-arg]
        description="Inference Services behind the gateway, one HTTPRoute each.",
    )
    hostnames: list[Annotated[str, Field(pattern=_HOSTNAME)]] = Field(
        default_factory=list, max_length=16, description="Host names the routes answer (empty: any host)."
    )
    listener_port: int = Field(80, ge=1, le=65535, description="HTTP port of the gateway listener.")

    @model_validator(mode="after")
    def _check_ramp(self) -> TrafficRegulator:
        floor = self.ramp_floor_requests_per_second
        if floor is not None and floor > self.requests_per_second:
            raise ValueError(f"ramp_floor_requests_per_second {floor} exceeds requests_per_second "
                             f"{self.requests_per_second} (the ramp rises from the floor to the full rate)")
        if self.ramp_step_seconds > self.slow_start_seconds:
            raise ValueError(f"ramp_step_seconds {self.ramp_step_seconds} exceeds slow_start_seconds "
                             f"{self.slow_start_seconds} (the ramp would jump from floor to full in one step)")
        return self


_IMAGE = r"^[a-z0-9][-a-z0-9._/:]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$"
"""A container image reference: registry/name, an optional tag, an optional sha256 digest (what pins it)."""


class Acceptance(_Model):
    """Per-node acceptance: every GPU node that joins (at any time) is checked on its own before it takes work."""

    image: str | None = Field(
        None, pattern=_IMAGE, description="Image of the verify and NCCL steps; it must carry NCCL's transport for "
        "the fabric. Default: the provider's (NGC PyTorch for InfiniBand/RoCE, an AWS Deep Learning Container with "
        "aws-ofi-nccl for EFA), pinned by tag. Pin it by digest (`name:tag@sha256:<64 hex>`) in prod: policy "
        "images-pinned-by-digest flags tag-only images there.",
    )
    dcgm_image: str | None = Field(
        None, pattern=_IMAGE, description="Image of the DCGM diagnostic step. Default: the standalone DCGM image "
        "the GPU Operator release pins (nvcr.io/nvidia/cloud-native/dcgm), by tag; pin it by digest in prod.",
    )
    dcgm_level: int = Field(
        3, ge=1, le=4, description="dcgmi diag level: 1 quick (seconds), 2 medium (~2 min), 3 long hardware "
        "diagnostics (~15 min), 4 extended (NVIDIA DCGM dcgmi diag reference).",
    )
    dcgm_timeout_minutes: int = Field(
        45, ge=1, le=24 * 60, description="Deadline of the DCGM diagnostic (level 3 normally takes ~15 minutes).",
    )
    verify_timeout_minutes: int = Field(5, ge=1, le=120, description="Deadline of the hardware check.")
    nccl_timeout_minutes: int = Field(15, ge=1, le=24 * 60, description="Deadline of the intra-node all-reduce.")
    min_driver: str | None = Field(
        None, pattern=r"^\d+(\.\d+){0,2}$", description="Lowest acceptable GPU driver version (e.g. 550.54.15).",
    )
    retry_hours: float = Field(
        6, gt=0, le=24 * 30, description="A rejected node is checked again after this long (it keeps its taint).",
    )
    sweep_schedule: str = Field(
        "0 6 * * 0", pattern=r"^\S+ \S+ \S+ \S+ \S+$",
        description="Cron schedule of the multi-node NCCL sweep per SU that names slow nodes (needs the SU idle).",
    )


class NodeHealth(_Model):
    """Continuous health and remediation (NVIDIA NVSentinel), wired to the provider's repair path."""

    enabled: bool = Field(True, description="Install NVSentinel (the node-remediation-in-prod policy requires it).")
    dry_run: bool = Field(False, description="NVSentinel logs what it would do instead of cordoning and draining.")


class Recovery(_Model):
    """How a workload whose node failed resumes: Kueue's waitForPodsReady timeouts and requeuing (Kueue v0.19.2,
    "Setup All-or-nothing with ready Pods"). Node hot swap (Topology-Aware Scheduling) is always on."""

    pods_ready_timeout_minutes: int = Field(
        30, ge=1, le=24 * 60, description="An admitted workload whose pods are not all ready within this long is "
        "evicted and requeued (Kueue waitForPodsReady.timeout; Kueue's default is 30 minutes).",
    )
    recovery_timeout_minutes: int = Field(
        30, ge=1, le=24 * 60, description="A running workload that lost a pod (a drained node) and has no ready "
        "replacement within this long is evicted and requeued, so it never waits forever for a replacement "
        "node (Kueue waitForPodsReady.recoveryTimeout; Kueue's default is the timeout).",
    )
    requeue_limit: int | None = Field(
        None, ge=0, le=1000, description="Requeues after which Kueue deactivates the workload (Kueue "
        "requeuingStrategy.backoffLimitCount). Default: none, Kueue requeues without end, waiting 60 s doubling "
        "to 3600 s between tries.",
    )


class Kubernetes(_Model):
    """The Kubernetes layer."""

    version: str = Field("1.33", pattern=r"^1\.(2[5-9]|3[0-7])$", description="Kubernetes minor, 1.25-1.37.")
    queues: list[Queue] = Field(default_factory=list, description="Team queues with GPU quotas.")
    traffic_regulator: TrafficRegulator | None = Field(
        None, description="Gateway rate limit and slow start for inference services (none: no gateway)."
    )
    acceptance_busbw_fraction: float = Field(
        0.8, gt=0, le=1,
        description="Node acceptance passes when NCCL all-reduce bus bandwidth reaches this fraction of the "
        "reference: NVLink GB/s per GPU (one direction) for the intra-node test, the fabric line rate per node "
        "(NIC Gbit/s x rails, or EFA Gbit/s) for the multi-node sweep; a site choice, not a hardware fact.",
    )
    acceptance: Acceptance = Field(default_factory=Acceptance, description="Per-node acceptance of joining nodes.")  # type: ignore[arg-type]
    node_health: NodeHealth = Field(
        default_factory=NodeHealth, description="NVSentinel health monitoring and remediation."  # type: ignore[arg-type]
    )
    recovery: Recovery = Field(
        default_factory=Recovery,  # type: ignore[arg-type]
        description="How a workload resumes after a node fails: Kueue requeuing and node hot swap onto spares.",
    )

    def regulated_team(self) -> str | None:
        """The team the traffic regulator fronts: its ``team``, else the first inference queue's team."""
        regulator = self.traffic_regulator
        if regulator is None:
            return None
        if regulator.team is not None:
            return regulator.team
        return next((q.team for q in self.queues if q.workload == "inference"), None)


class Power(_Model):
    """Power estimate settings."""

    pue: float = Field(DEFAULT_PUE, ge=1.0, le=3.0, description="Facility PUE (industry average ~1.56).")


class SystemOverride(_Model):
    """Values for catalog numbers that hardware.md does not verify (or that differ at your site)."""

    node_power_kw: float | None = Field(None, gt=0, le=200, description="Maximum power of one node in kW.")
    rack_units: int | None = Field(None, ge=1, le=60, description="Height of one node in rack units.")
    rack_power_kw: float | None = Field(None, gt=0, le=1000, description="Power of one whole NVL72 rack in kW.")
    nic_gbps: int | None = Field(None, ge=1, description="Line rate of one compute NIC in Gbit/s.")
    efa_network_cards: int | None = Field(None, ge=1, le=64, description="AWS: network cards (one EFA each).")
    nvlink_gbps_per_gpu: float | None = Field(None, gt=0, description="NVLink bandwidth per GPU in GB/s.")


class CatalogOverrides(_Model):
    """Per-system overrides of catalog numbers."""

    systems: dict[str, SystemOverride] = Field(
        default_factory=dict, description="Overrides by catalog system name (e.g. gb200-nvl72: {rack_power_kw: 120})."
    )


class FailureRate(_Model):
    """An observed failure rate: interruptions of one job spanning ``gpus`` GPUs over ``days``. The planner
    scales it per GPU (independent failures), so a pool's expected interruptions grow with its GPUs."""

    interruptions: float = Field(
        LLAMA3_UNEXPECTED_INTERRUPTIONS, gt=0,
        description="Unexpected interruptions observed (default: Llama 3, 419 in 54 days on 16,384 H100).",
    )
    days: float = Field(LLAMA3_OBSERVED_DAYS, gt=0, description="Days observed.")
    gpus: int = Field(LLAMA3_OBSERVED_GPUS, ge=1, description="GPUs the observed job spanned.")
    source: str = Field(
        "Llama 3 (arXiv 2407.21783, section 3.3.4): 419 unexpected interruptions in 54 days on 16,384 H100",
        max_length=200, description="Where the rate comes from (shown by `neocloud plan`).",
    )


class Goodput(_Model):
    """Failure planning: expected interruptions, the checkpoint interval and the spares each pool needs."""

    failure_rate: FailureRate = Field(
        default_factory=FailureRate, description="Observed interruptions per GPU (default: Llama 3's)."
    )  # type: ignore[arg-type]
    hardware_share: float = Field(
        LLAMA3_HARDWARE_SHARE, ge=0, le=1,
        description="Share of interruptions that take a node out until it is repaired or replaced (Llama 3: ~78% "
        "confirmed or suspected hardware).",
    )
    restart_minutes: float = Field(
        10, ge=0, le=1440,
        description="Time from an interruption to training again (detect, reschedule, load the checkpoint): a site "
        "value, measure yours.",
    )
    replacement_hours: float = Field(
        24, gt=0, le=24 * 90,
        description="Time until a failed node is repaired or replaced: the provider's repair path (a site value).",
    )
    spare_confidence: float = Field(
        0.99, gt=0, lt=1,
        description="Probability that the spares cover every node out of service at once (Poisson).",
    )
