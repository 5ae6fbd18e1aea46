"""Import the EC2 network topology of a cluster's GPU instances: node labels, Kueue levels, plan violations.

EC2 describes each instance's place in the AWS network as a list of network nodes, top layer first, with the
bottom node connected to the instance; most supported types have 3 layers, p6-b200 and p6-b300 have 4 (EC2 user
guide, how-ec2-instance-topology-works; hardware.md AWS [P]). Amazon EKS names the matching node labels
``topology.k8s.aws/network-node-layer-1`` (top, broadest) to ``-N`` (EKS user guide, ml-workload-topology).

Kueue's Topology lists levels from the broadest to the finest, and ``kubernetes.io/hostname`` may only be the
last level (kueue.sigs.k8s.io/docs/concepts/topology; vendored CRD v0.19.2: 1-16 unique levels). So the levels
here are layer-1, ..., layer-N, hostname.

The plan check: each pool is built in placement blocks (``neocloud.plan.placement``, decided with the plan: one EKS
node group, and on on-demand capacity one cluster placement group, per block). The AWS provider tags every instance
with its block (``neocloud.io/placement-block``). A block whose instances sit under more than ``max_per_block``
layer-3 network nodes breaks the plan, and so does a pool whose untagged instances spread over more than
``blocks x max_per_block``; the instances outside the most populated nodes are reported. EC2 does not publish how
many instances one layer-3 node serves, so ``max_per_block`` (default 1) is the operator's choice. Instances
outside the pool's zone are reported too (an EFA pool lives in one zone).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..plan import ClusterPlan, PoolPlan
from ..plan.placement import PlacementPlan
from ..spec import ClusterSpec
from ..vocabulary import AWS_NETWORK_LAYER_LABEL, HOSTNAME, KUEUE_API_VERSION, LABEL_POOL, TAG_PLACEMENT_BLOCK
from .errors import translated

__all__ = [
    "BLOCK_TAG",
    "CHECK_LAYER",
    "CLUSTER_TAG",
    "HOSTNAME_LABEL",
    "LAYER_LABEL",
    "POOL_TAG",
    "ClusterInstance",
    "InstanceTopology",
    "TopologyImport",
    "build_import",
    "cluster_instances",
    "describe_instance_topology",
    "kueue_topology",
    "level_labels",
    "parse_topology_document",
    "placement_block_counts",
]

LAYER_LABEL = AWS_NETWORK_LAYER_LABEL
"""Node label per network layer, 1 = top (EKS user guide, ml-workload-topology)."""
HOSTNAME_LABEL = HOSTNAME
CLUSTER_TAG = "eks:cluster-name"
"""Tag EKS puts on the instances of a cluster's managed node groups."""
NODEGROUP_TAG = "eks:nodegroup-name"
POOL_TAG = LABEL_POOL
"""Pool tag the neocloud components put on instances (components/labels.py, LABEL_POOL)."""
BLOCK_TAG = TAG_PLACEMENT_BLOCK
"""Placement block tag on instances (components/providers/aws/nodes.py: ``pool_tags(..., placement_block=...)``)."""
CHECK_LAYER = 3
"""The layer the placement check counts: every supported type connects at or below layer 3 (EC2 user guide)."""
IDS_PER_REQUEST = 100
MAX_KUEUE_LEVELS = 16
"""Most levels a Kueue Topology may have: ``spec.levels`` has ``maxItems: 16`` in the Topology CRD
(kueue.x-k8s.io_topologies.yaml, v1beta1 and v1beta2, vendored v0.19.2)."""
"""DescribeInstanceTopology takes at most 100 explicit instance ids (EC2 API reference)."""

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
"""Kubernetes label values: at most 63 characters, alphanumeric at both ends, '-', '_', '.' inside."""


@dataclass(frozen=True)
class ClusterInstance:
    """A running instance of the cluster, from DescribeInstances."""

    instance_id: str
    instance_type: str
    zone: str | None
    node_name: str
    """The Kubernetes node name: the private DNS name on EKS, else the instance id."""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceTopology:
    """One entry of DescribeInstanceTopology."""

    instance_id: str
    instance_type: str | None
    zone: str | None
    network_nodes: tuple[str, ...]
    """Top layer first; the last node connects to the instance."""
    capacity_block_id: str | None = None
    group_name: str | None = None


@dataclass
class TopologyImport:
    """The import result: per-node labels, Kueue levels, violations of the plan and notes."""

    cluster: str
    source: str
    layers: int
    nodes: dict[str, dict[str, Any]]
    levels: list[str]
    kueue: dict[str, Any]
    violations: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The stable document ``topology import`` writes (JSON or YAML)."""
        return {
            "cluster": self.cluster,
            "source": self.source,
            "layers": self.layers,
            "levels": self.levels,
            "kueue_topology": self.kueue,
            "nodes": self.nodes,
            "violations": self.violations,
            "notes": self.notes,
        }


def level_labels(layers: int) -> list[str]:
    """Kueue levels, broadest first: the network layers 1..N, then the hostname."""
    return [LAYER_LABEL.format(i) for i in range(1, layers + 1)] + [HOSTNAME_LABEL]


def kueue_topology(name: str, layers: int) -> dict[str, Any]:
    """A ``kueue.x-k8s.io/v1beta2`` Topology with the AWS network levels."""
    return {
        "apiVersion": KUEUE_API_VERSION,
        "kind": "Topology",
        "metadata": {"name": name},
        "spec": {"levels": [{"nodeLabel": label} for label in level_labels(layers)]},
    }


def placement_block_counts(spec: ClusterSpec, plan: ClusterPlan) -> dict[str, int]:
    """Placement blocks per pool, as the plan decided them (``ClusterPlan.placement``: the AWS provider builds one
    node group per block from the same plan)."""
    placement = plan.placement
    if not isinstance(placement, PlacementPlan):
        raise ValueError(f"plan {plan.name} (provider {plan.provider}) has no AWS placement blocks")
    return {pool: len(blocks) for pool, blocks in placement.blocks.items()}


def cluster_instances(ec2: Any, cluster: str, tag: tuple[str, str] | None = None) -> list[ClusterInstance]:
    """Running GPU (or Neuron) instances tagged ``eks:cluster-name=<cluster>`` (DescribeInstances).

    ``tag`` (key, value) selects the instances by another tag, e.g. ``("kubernetes.io/cluster/NAME", "owned")``
    for self-managed nodes.
    """
    key, value = tag or (CLUSTER_TAG, cluster)
    found: list[ClusterInstance] = []
    with translated(ec2):
        pages = ec2.get_paginator("describe_instances").paginate(Filters=[
            {"Name": f"tag:{key}", "Values": [value]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ])
        for page in pages:
            for reservation in page.get("Reservations", []):
                for inst in reservation.get("Instances", []):
                    tags = {t["Key"]: t["Value"] for t in inst.get("Tags", []) or []}
                    found.append(ClusterInstance(
                        instance_id=inst["InstanceId"], instance_type=inst.get("InstanceType", ""),
                        zone=(inst.get("Placement") or {}).get("AvailabilityZone"),
                        node_name=inst.get("PrivateDnsName") or inst["InstanceId"], tags=tags))
        types = sorted({i.instance_type for i in found})
        accelerated: set[str] = set()
        if types:
            for info in ec2.get_paginator("describe_instance_types").paginate(InstanceTypes=types):
                for t in info.get("InstanceTypes", []):
                    if (t.get("GpuInfo") or {}).get("Gpus") or (t.get("NeuronInfo") or {}).get("NeuronDevices"):
                        accelerated.add(t["InstanceType"])
    return sorted((i for i in found if i.instance_type in accelerated), key=lambda i: i.node_name)


def describe_instance_topology(ec2: Any, instance_ids: Sequence[str]) -> list[InstanceTopology]:
    """DescribeInstanceTopology for ``instance_ids``, 100 ids per request, every page."""
    out: list[InstanceTopology] = []
    with translated(ec2):
        for i in range(0, len(instance_ids), IDS_PER_REQUEST):
            chunk = list(instance_ids[i:i + IDS_PER_REQUEST])
            for page in ec2.get_paginator("describe_instance_topology").paginate(InstanceIds=chunk):
                out.extend(_entry(e) for e in page.get("Instances", []))
    return out


def _entry(raw: Mapping[str, Any]) -> InstanceTopology:
    return InstanceTopology(
        instance_id=str(raw["InstanceId"]), instance_type=raw.get("InstanceType"),
        zone=raw.get("AvailabilityZone"), network_nodes=tuple(str(n) for n in raw.get("NetworkNodes") or ()),
        capacity_block_id=raw.get("CapacityBlockId"), group_name=raw.get("GroupName"))


def parse_topology_document(document: Any) -> list[InstanceTopology]:
    """Entries of a saved DescribeInstanceTopology response (``aws ec2 describe-instance-topology --output json``).

    Raises ``ValueError`` describing the first problem.
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("Instances"), list):
        raise ValueError("expected a DescribeInstanceTopology response: an object with an 'Instances' list")
    out = []
    for i, raw in enumerate(document["Instances"]):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("InstanceId"), str):
            raise ValueError(f"Instances[{i}]: expected an object with an 'InstanceId' string")
        if not isinstance(raw.get("NetworkNodes", []), list):
            raise ValueError(f"Instances[{i}].NetworkNodes: expected a list of strings")
        out.append(_entry(raw))
    return out


def build_import(
    cluster: str,
    topology: Iterable[InstanceTopology],
    *,
    instances: Iterable[ClusterInstance] = (),
    plan: ClusterPlan | None = None,
    source: str = "aws",
    topology_name: str = "aws-network",
    max_per_block: int = 1,
    block_counts: Mapping[str, int] | None = None,
) -> TopologyImport:
    """Labels per node, Kueue levels and, given a plan, the instances whose network nodes break it.

    ``block_counts`` gives each pool's number of placement blocks (default: its scalable units).
    """
    by_id = {i.instance_id: i for i in instances}
    entries = sorted(topology, key=lambda t: t.instance_id)
    layers = max((len(t.network_nodes) for t in entries), default=0)
    if layers + 1 > MAX_KUEUE_LEVELS:
        deepest = next(t for t in entries if len(t.network_nodes) == layers)
        raise ValueError(f"instance {deepest.instance_id} has {layers} network layers; a Kueue Topology has at most "
                         f"{MAX_KUEUE_LEVELS} levels ({MAX_KUEUE_LEVELS - 1} layers and the hostname)")
    notes: list[str] = []
    nodes: dict[str, dict[str, Any]] = {}
    assigned: dict[str, list[tuple[InstanceTopology, str | None]]] = {}
    for entry in entries:
        inst = by_id.get(entry.instance_id)
        node = inst.node_name if inst else entry.instance_id
        labels = {LAYER_LABEL.format(i): n for i, n in enumerate(entry.network_nodes, start=1)}
        bad = [v for v in labels.values() if len(v) > 63 or not _LABEL_VALUE.match(v)]
        if bad:
            notes.append(f"{entry.instance_id}: network node {bad[0]!r} is not a valid label value")
        if len(entry.network_nodes) < layers:
            notes.append(f"{entry.instance_id}: {len(entry.network_nodes)} network layers, others have {layers}")
        pool = _pool_of(entry, inst, plan)
        block = inst.tags.get(BLOCK_TAG) if inst else None
        nodes[node] = {
            "instance_id": entry.instance_id,
            "instance_type": entry.instance_type or (inst.instance_type if inst else None),
            "zone": entry.zone or (inst.zone if inst else None),
            "pool": pool,
            "placement_block": block,
            "capacity_block_id": entry.capacity_block_id,
            "labels": labels,
        }
        if pool is not None:
            assigned.setdefault(pool, []).append((entry, block))
    if not entries and not by_id:
        notes.append(f"no running GPU instances of cluster {cluster} (tag {CLUSTER_TAG}={cluster}) with topology")
    seen = {t.instance_id for t in entries}
    for inst in by_id.values():
        if inst.instance_id not in seen:
            notes.append(f"{inst.instance_id} ({inst.instance_type}): no topology returned; the type may not "
                         "support EC2 topology, or the instance is too new (eventual consistency)")
    unassigned = sorted(n["instance_id"] for n in nodes.values() if n["pool"] is None)
    if unassigned and plan is not None:
        notes.append(f"no pool for {len(unassigned)} instance(s): {', '.join(unassigned[:10])}")
    violations: list[dict[str, Any]] = []
    if plan is not None:
        for pool_plan in plan.pools:
            members = assigned.get(pool_plan.name, [])
            blocks = (block_counts or {}).get(pool_plan.name, len(pool_plan.scalable_units))
            violations.extend(_pool_violations(pool_plan, members, blocks, max_per_block))
            if members and len(members) != pool_plan.total_nodes:
                notes.append(f"pool {pool_plan.name}: {len(members)} of {pool_plan.total_nodes} planned instances "
                             "have topology")
    return TopologyImport(cluster=cluster, source=source, layers=layers, nodes=dict(sorted(nodes.items())),
                          levels=level_labels(layers) if layers else [HOSTNAME_LABEL],
                          kueue=kueue_topology(topology_name, layers), violations=violations, notes=notes)


def _pool_of(entry: InstanceTopology, inst: ClusterInstance | None, plan: ClusterPlan | None) -> str | None:
    names = [p.name for p in plan.pools] if plan else []
    tags = inst.tags if inst else {}
    if POOL_TAG in tags and (plan is None or tags[POOL_TAG] in names):
        return tags[POOL_TAG]
    group = tags.get(NODEGROUP_TAG)
    if group is not None:
        if plan is None:
            return group
        matches = [n for n in names if group == n or group.startswith(f"{n}-") or group.endswith(f"-{n}")
                   or f"-{n}-" in group]
        if matches:
            return max(matches, key=len)
    if plan is not None:
        itype = entry.instance_type or (inst.instance_type if inst else None)
        same_type = [p.name for p in plan.pools if p.system.name == itype]
        if len(same_type) == 1:
            return same_type[0]
    return None


def _pool_violations(pool: PoolPlan, members: list[tuple[InstanceTopology, str | None]], blocks: int,
                     max_per_block: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    wrong_zone = sorted(e.instance_id for e, _ in members if pool.zone and e.zone and e.zone != pool.zone)
    if wrong_zone:
        out.append({"kind": "zone", "pool": pool.name, "instances": wrong_zone,
                    "message": f"pool {pool.name} belongs in {pool.zone}; {len(wrong_zone)} instance(s) run "
                               f"elsewhere: {', '.join(wrong_zone)}"})
    deep = [(e, b) for e, b in members if len(e.network_nodes) >= CHECK_LAYER]
    by_block: dict[str, list[InstanceTopology]] = {}
    for entry, block in deep:
        if block is not None:
            by_block.setdefault(block, []).append(entry)
    for block, entries in sorted(by_block.items()):
        spread = _spread(entries, max_per_block)
        if spread:
            counts, keep, outside = spread
            out.append({
                "kind": "block-spread", "pool": pool.name, "placement_block": block, "layer": CHECK_LAYER,
                "network_nodes": counts, "allowed": max_per_block, "instances": outside,
                "message": f"placement block {block} of pool {pool.name} spans {len(counts)} layer-{CHECK_LAYER} "
                           f"network nodes, {max_per_block} allowed: {len(outside)} instance(s) outside "
                           f"{', '.join(keep)}: {', '.join(outside)}",
            })
    untagged = [e for e, b in deep if b is None]
    allowed = blocks * max_per_block
    spread = _spread(untagged, allowed)
    if spread:
        counts, keep, outside = spread
        out.append({
            "kind": "spread",
            "pool": pool.name,
            "layer": CHECK_LAYER,
            "network_nodes": counts,
            "allowed": allowed,
            "placement_blocks": blocks,
            "instances": outside,
            "message": f"pool {pool.name} spans {len(counts)} layer-{CHECK_LAYER} network nodes; its {blocks} "
                       f"placement block(s) allow {allowed}: {len(outside)} instance(s) outside "
                       f"{', '.join(keep)}: {', '.join(outside)}",
        })
    return out


def _spread(entries: list[InstanceTopology], allowed: int) -> tuple[dict[str, int], list[str], list[str]] | None:
    """(instances per layer-3 node, the nodes kept, the instances outside them) when more than ``allowed``."""
    counts = Counter(e.network_nodes[CHECK_LAYER - 1] for e in entries)
    if len(counts) <= allowed:
        return None
    keep = sorted(node for node, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:allowed])
    outside = sorted(e.instance_id for e in entries if e.network_nodes[CHECK_LAYER - 1] not in keep)
    return dict(sorted(counts.items())), keep, outside
