"""Workload admission, proven before deploy: every team queue's canonical workload must be admitted and
scheduled on the planned nodes, by the Kubernetes and Kueue behaviours modelled in ``policies/_admission.py``
(each cited there).

For every team queue (the KubernetesLayer's ``queues`` facts) the rule builds the canonical workload:

- **training**: the queue's GPUs as whole nodes, one pod per node with all of the node's GPUs and the fabric
  devices the pool's nodes advertise (every EFA interface; the RDMA shared device), plus a CPU-only sidecar and a
  CPU-only init container; the Topology-Aware Scheduling annotation
  ``kueue.x-k8s.io/podset-required-topology`` at the pool's NVLink-domain level when the workload fits one
  domain, else at the SU level when it fits one SU, else ``podset-preferred-topology`` at the widest level; for
  pools with multi-node NVLink domains also a workload of exactly one domain, required at the domain level;
- **inference**: one pod with one node's GPUs and a CPU-only sidecar.

A training workload of several pods on a pool whose NVLink domains span nodes (GB200 NVL72, P6e-GB200) shares GPU
memory over NVLink only through IMEX, which Kubernetes gives through NVIDIA's DRA driver: the job creates a
ComputeDomain whose ``channel.resourceClaimTemplate.name`` names the ResourceClaimTemplate its pods claim
(k8s-dra-driver-gpu docs/compute-domains.md, "Use the channel in a workload"). So it is admissible only where the
DRA driver runs with ComputeDomains enabled (its Helm release, or the platform's own where the provider profile's
``compute_domains`` is ``platform``: CoreWeave CKS), where the team may create ComputeDomains in its namespace (a
Role), and where the pool's Topology has the NVLink-partition level (``nvidia.com/gpu.clique``) the one-domain
workload requires.

Pods are as hardened as the job allows (non-root, no privilege escalation, RuntimeDefault seccomp, all
capabilities dropped) and add ``IPC_LOCK`` where they use HCAs through NVIDIA's RDMA shared device plugin
(InfiniBand/RoCE: NCCL pins its buffers; NVIDIA's RDMA pod examples add it). EFA on EKS and CoreWeave's
platform-managed ``rdma/ib`` (CoreWeave, "Use GPUDirect RDMA with InfiniBand": the resource and NCCL's
environment) need no added capability.

A ``Tenant`` composed without the layer (no queues, Kueue or planned nodes) gets the API-server half: a pod with
one node's GPUs (its LimitRange's Pod max) and a CPU-only sidecar through LimitRange, Pod Security and quota.

Then, in the API server's order: API defaulting (requests from limits), LimitRange defaulting and LimitRanger
validation, extended-resource validation, Pod Security admission at the namespace's enforce level, and
ResourceQuota; then Kueue: a LocalQueue in the namespace, its ClusterQueue open to the namespace, a flavor with
enough GPU quota (nominal plus borrowing limit) covering every requested resource unless Kueue ignores undeclared
ones, the ResourceFlavor and its Topology existing, and the TAS level a level of that Topology; then
scheduling: a planned node set whose labels satisfy the flavor's node labels, whose
taints the pod tolerates (Kueue adds the flavor's tolerations; the node-acceptance taint is removed by the
acceptance job where the layer plans one for the pool) and which advertises the GPU and fabric resources.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import yaml
from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy

from neocloud.catalog import GPU_VENDORS
from neocloud.profiles import profile, union
from neocloud.vocabulary import (
    ACCEPTANCE_TAINT,
    COMPUTE_DOMAIN_GROUP,
    DRA_DRIVER_CHART,
    EFA_DEVICE_PLUGIN_CHART,
    EFA_DEVICE_RESOURCE,
    GPU_OPERATOR_CHART,
    K8S_NAMESPACE,
    KUBERNETES_LAYER_TYPE,
    KUEUE_API_VERSION,
    KUEUE_CLUSTER_QUEUE,
    KUEUE_FLAVOR,
    KUEUE_TOPOLOGY,
    LABEL_POOL,
    LABEL_SU,
    LABEL_TEAM,
    k8s_type,
)

from . import _admission as adm
from ._common import (
    NODE_SET_SHAPES,
    StackIndex,
    as_list,
    as_map,
    get_in,
    num,
    object_name,
    schema,
    settings,
)

__all__ = ["POLICIES", "WORKLOADS_ADMISSIBLE", "canonical_workloads"]

LAYER_TYPE = KUBERNETES_LAYER_TYPE
TENANT_TYPE = "neocloud:kubernetes:Tenant"
NAMESPACE = K8S_NAMESPACE
LIMIT_RANGE = k8s_type("v1", "LimitRange")
RESOURCE_QUOTA = k8s_type("v1", "ResourceQuota")
HELM_RELEASE = k8s_type("helm.sh/v3", "Release")
NIC_CLUSTER_POLICY = k8s_type("mellanox.com/v1alpha1", "NicClusterPolicy")
GPU_OPERATORS = "neocloud:kubernetes:GpuOperators"
"""The Kubernetes layer's operators component (components/kubernetes/operators.py ``GpuOperators.TYPE``)."""
LOCAL_QUEUE = k8s_type(KUEUE_API_VERSION, "LocalQueue")
ROLE = k8s_type("rbac.authorization.k8s.io/v1", "Role")
GPU = GPU_VENDORS["nvidia"].resource
"""The GPU Operator's device plugin resource (queues name their pool vendor's ``gpu_resource``)."""
EFA = EFA_DEVICE_RESOURCE
SU_LABEL = LABEL_SU
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
TAS_REQUIRED = "kueue.x-k8s.io/podset-required-topology"
TAS_PREFERRED = "kueue.x-k8s.io/podset-preferred-topology"
_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
"""Taint effects as cloud node-group APIs spell them (EKS and Nebius: ``NO_SCHEDULE``), in Kubernetes' spelling."""

_SCHEMA = schema({
    "nvlinkDomainLabels": {"type": "array", "items": {"type": "string"},
                           "default": list(union(lambda p: p.nvlink_domain_labels)),
                           "description": "Node labels that name a multi-node NVLink domain (a Topology level a "
                           "one-domain workload is required to stay in)."},
    "transientTaints": {"type": "array", "items": {"type": "string"}, "default": [ACCEPTANCE_TAINT["key"]],
                        "description": "Taint keys the layer's node acceptance removes from a node once it passes; "
                        "workloads need not tolerate them where acceptance is planned for the pool."},
    "sidecarCpu": {"type": "string", "default": "100m",
                   "description": "CPU request of the canonical workload's CPU-only sidecar and init container."},
    "sidecarMemory": {"type": "string", "default": "128Mi",
                      "description": "Memory request of the canonical workload's sidecar and init container."},
})


@dataclass(frozen=True)
class CanonicalWorkload:
    """One team's canonical workload: ``pods`` identical pods (``pod``), in the team's namespace and queue."""

    team: str
    pool: str
    kind: str
    pods: int
    pod: adm.Pod
    tas_level: str | None
    tas_required: bool
    gpu_resource: str = GPU

    @property
    def gpus(self) -> int:
        return self.pods * int(sum(c.limits.get(self.gpu_resource, Fraction(0)) for c in self.pod.containers))

    def describe(self) -> str:
        tas = "" if self.tas_level is None else (f", {'required' if self.tas_required else 'preferred'} topology "
                                                 f"{self.tas_level}")
        return f"{self.kind} workload of {self.pods} pod(s) x {self.gpus // max(self.pods, 1)} GPUs{tas}"


@dataclass
class _Stack:
    """The facts the model needs, read once from the stack's resources."""

    index: StackIndex
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    limit_ranges: dict[str, list[tuple[str, list[adm.LimitRangeItem]]]] = field(default_factory=dict)
    quotas: dict[str, list[tuple[str, dict[str, Fraction]]]] = field(default_factory=dict)
    local_queues: dict[str, list[str]] = field(default_factory=dict)
    cluster_queues: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    flavors: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    topologies: dict[str, list[str]] = field(default_factory=dict)
    releases: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    roles: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    """Namespace -> the rules of its Roles."""
    rdma_resources: list[str] = field(default_factory=list)
    platform_fabric: list[str] = field(default_factory=list)
    """Fabric resources a platform-managed GPU stack advertises as the spec names them (``GpuOperators``
    ``fabricResource``, from the provider profile's ``fabric_resource``, e.g. ``digitalocean.rdma_resource``)."""


def _labels(props: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in as_map(get_in(props, "metadata", "labels")).items()}


def _read(index: StackIndex) -> _Stack:
    out = _Stack(index)
    for r in index.resources:
        t, p = r.resource_type, r.props
        ns = get_in(p, "metadata", "namespace")
        if t == NAMESPACE:
            name = object_name(r)
            # the API server labels every namespace with its name (Kubernetes 1.22+)
            out.namespaces[name] = {**_labels(p), "kubernetes.io/metadata.name": name}
        elif t == LIMIT_RANGE and isinstance(ns, str):
            out.limit_ranges.setdefault(ns, []).append(
                (object_name(r), adm.limit_range_items(as_map(p.get("spec")))))
        elif t == RESOURCE_QUOTA and isinstance(ns, str):
            hard = {str(k): adm.parse_quantity(v) for k, v in as_map(get_in(p, "spec", "hard")).items()}
            out.quotas.setdefault(ns, []).append((object_name(r), hard))
        elif t == LOCAL_QUEUE and isinstance(ns, str):
            out.local_queues.setdefault(ns, []).append(str(get_in(p, "spec", "clusterQueue")))
        elif t == KUEUE_CLUSTER_QUEUE:
            out.cluster_queues[object_name(r)] = as_map(p.get("spec"))
        elif t == KUEUE_FLAVOR:
            out.flavors[object_name(r)] = as_map(p.get("spec"))
        elif t == KUEUE_TOPOLOGY:
            out.topologies[object_name(r)] = [str(as_map(level).get("nodeLabel"))
                                             for level in as_list(get_in(p, "spec", "levels"))]
        elif t == HELM_RELEASE:
            out.releases[str(p.get("chart"))] = p
        elif t == ROLE and isinstance(ns, str):
            out.roles.setdefault(ns, []).extend(as_map(rule) for rule in as_list(p.get("rules")))
        elif t == GPU_OPERATORS and p.get("platformManaged") is True and isinstance(p.get("fabricResource"), str):
            out.platform_fabric.append(str(p["fabricResource"]))
        elif t == NIC_CLUSTER_POLICY:
            config = get_in(p, "spec", "rdmaSharedDevicePlugin", "config")
            try:
                entries = json.loads(config).get("configList", []) if isinstance(config, str) else []
            except ValueError:
                entries = []
            # the RDMA shared device plugin's default resource prefix is "rdma"
            out.rdma_resources += [f"{e.get('resourcePrefix', 'rdma')}/{e['resourceName']}" for e in entries
                                   if isinstance(e, Mapping) and e.get("resourceName")]
    return out


def _quota_check_strategy(stack: _Stack) -> str:
    """Kueue's ``resources.quotaCheckStrategy`` from the Kueue release's manager config (Kueue's default,
    BlockUndeclared, leaves a workload that requests a resource its ClusterQueue does not cover inadmissible)."""
    release = next((r for chart, r in stack.releases.items() if chart.rstrip("/").endswith("kueue")), None)
    text = get_in(release, "values", "managerConfig", "controllerManagerConfigYaml")
    try:
        config = yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        config = None
    return str(get_in(config, "resources", "quotaCheckStrategy", default="BlockUndeclared"))


@dataclass(frozen=True)
class _NodeSet:
    name: str
    labels: Mapping[str, str]
    taints: tuple[adm.Taint, ...]
    advertised: frozenset[str]


def _node_taints(resource: Any) -> tuple[adm.Taint, ...]:
    """The taints a node set puts on its nodes (where its profile's ``NodeSetShape`` keeps them)."""
    shape = NODE_SET_SHAPES.get(resource.resource_type)
    if shape is None or not shape.taints:
        return ()
    out = []
    for taint in as_list(get_in(resource.props, *shape.taints)):
        m = as_map(taint)
        effect = str(m.get("effect", "NoSchedule"))
        out.append(adm.Taint(str(m.get("key", "")), str(m.get("value") or ""), _EFFECTS.get(effect, effect)))
    return tuple(out)


def _advertised(stack: _Stack, provider: str) -> frozenset[str]:
    """Extended resources the pool's nodes advertise: GPUs through the GPU Operator's device plugin, EFA
    interfaces through the AWS EFA device plugin, HCAs through the RDMA shared device plugin (NicClusterPolicy),
    and whatever the platform's own device plugins advertise (the provider profile's
    ``platform_device_resources``)."""
    out = set(stack.rdma_resources) | set(stack.platform_fabric)
    if GPU_OPERATOR_CHART in stack.releases:
        out.add(GPU)
    if EFA_DEVICE_PLUGIN_CHART in stack.releases:
        out.add(EFA)
    try:
        out |= set(profile(provider).platform_device_resources)
    except KeyError:
        pass
    return frozenset(out)


def _pool_node_sets(stack: _Stack, pool: str, facts: Mapping[str, Any]) -> list[_NodeSet]:
    """The planned node sets of a pool: its node groups / NodePools, or, on an existing cluster (no node set
    resources), the pool's planned labels per SU (no taints: the program applies none there)."""
    provider = str(facts.get("provider") or "")
    advertised = _advertised(stack, provider)
    out = []
    for ns, owner in stack.index.node_sets():
        if owner is None or str(owner[1].get("name")) != pool:
            continue
        out.append(_NodeSet(ns.resource.name, ns.labels, _node_taints(ns.resource), advertised))
    if out or stack.index.of_type(*NODE_SET_SHAPES):
        return out
    base = {str(k): str(v) for k, v in as_map(facts.get("labels")).items()}
    for su in as_list(facts.get("su_groups")):
        labels = {**base, SU_LABEL: str(int(num(as_map(su).get("index")) or 0))}
        out.append(_NodeSet(f"{pool} SU {labels[SU_LABEL]} (existing cluster)", labels, (), advertised))
    return out


def _fabric_request(stack: _Stack, queue: Mapping[str, Any], facts: Mapping[str, Any], devices: int,
                    node_sets: Sequence[_NodeSet]) -> tuple[dict[str, Fraction], tuple[str, ...], list[str]]:
    """(fabric resources, added capabilities, problems) of one multi-node pod of the queue's pool: the NIC resource
    the plan decided for the pool (the queue's ``fabric_resource``: the catalog system's ``nic_resource``, else the
    provider profile's), which the pool's nodes must advertise. The rule does not pick one of its own."""
    if "fabric_resource" not in queue:
        return {}, (), ["the layer's queue facts do not name the pool's fabric resource (fabric_resource)"]
    resource = queue.get("fabric_resource")
    if resource is None:  # the plan says the pool's nodes have no compute-fabric NIC (catalog rails 0)
        return {}, (), []
    resource = str(resource)
    kind = str(facts.get("fabric_kind") or "")
    advertised = set().union(*(n.advertised for n in node_sets)) if node_sets else set()
    if resource not in advertised:
        if resource == EFA:
            return {}, (), [f"no EFA device plugin advertises {EFA}; pods cannot use the pool's EFA interfaces"]
        return {}, (), [f"no device plugin advertises the {kind} HCAs ({resource}); multi-node pods cannot use "
                        f"the fabric"]
    if resource == EFA:
        return {EFA: Fraction(max(devices, 1))}, (), []
    # NVIDIA's RDMA shared device plugin examples add IPC_LOCK (NCCL pins its buffers); a platform-managed
    # RDMA resource (CoreWeave's rdma/ib: its guide asks only for the resource and NCCL's environment) none.
    capabilities = ("IPC_LOCK",) if resource in stack.rdma_resources else ()
    return {resource: Fraction(1)}, capabilities, []


def _nvlink_level(levels: Sequence[str], domain_labels: Sequence[str]) -> str | None:
    return next((level for level in levels if level in domain_labels), None)


def _container(name: str, limits: Mapping[str, Fraction], cpu: Fraction, memory: Fraction,
               capabilities: tuple[str, ...] = ()) -> adm.Container:
    return adm.Container(name, requests={"cpu": cpu, "memory": memory}, limits=dict(limits),
                         capabilities_add=capabilities, capabilities_drop=("ALL",), run_as_non_root=True,
                         allow_privilege_escalation=False, seccomp="RuntimeDefault")


def canonical_workloads(queue: Mapping[str, Any], facts: Mapping[str, Any], levels: Sequence[str],
                        fabric: Mapping[str, Fraction], capabilities: tuple[str, ...], cfg: Mapping[str, Any]
                        ) -> list[CanonicalWorkload]:
    """The team's canonical workloads (see the module docstring) on its pool."""
    team, pool = str(queue.get("team")), str(queue.get("pool"))
    per_node = int(num(facts.get("gpus_per_node")) or 0)
    cpu, memory = adm.parse_quantity(cfg["sidecarCpu"]), adm.parse_quantity(cfg["sidecarMemory"])
    sidecar = _container("sidecar", {}, cpu, memory)
    init = _container("init", {}, cpu, memory)
    gpu = str(queue.get("gpu_resource") or GPU)
    gpus = {gpu: Fraction(per_node)}
    if queue.get("workload") == "inference":
        pod = adm.Pod(f"{team}-inference", (_container("server", gpus, cpu, memory), sidecar), (init,))
        return [CanonicalWorkload(team, pool, "inference", 1, pod, None, False, gpu)]
    trainer = _container("trainer", {**gpus, **fabric}, cpu, memory, capabilities)
    nodes = max(1, int(num(queue.get("gpu_quota")) or 0) // max(per_node, 1))
    domain_nodes = int(num(facts.get("nvlink_domain_nodes")) or 1)
    # The nodes one neocloud.io/su label value selects: the plan's SU groups (placement blocks on AWS), not SUs.
    su_nodes = max((int(num(as_map(s).get("nodes")) or 0) for s in as_list(facts.get("su_groups"))), default=0)
    nvlink = _nvlink_level(levels, cfg["nvlinkDomainLabels"]) if domain_nodes > 1 else None
    if domain_nodes > 1 and nodes <= domain_nodes:
        level, required = nvlink or "(an NVLink-domain level)", True
    elif SU_LABEL in levels and nodes <= su_nodes:
        level, required = SU_LABEL, True
    else:
        level, required = (levels[0] if levels else "(a Topology level)"), False

    def training(name: str, count: int, tas: str, must: bool) -> CanonicalWorkload:
        annotations = {TAS_REQUIRED if must else TAS_PREFERRED: tas}
        pod = adm.Pod(name, (trainer, sidecar), (init,), annotations=annotations)
        return CanonicalWorkload(team, pool, "training", count, pod, tas, must, gpu)

    out = [training(f"{team}-training", nodes, level, required)]
    if domain_nodes > 1 and nodes != domain_nodes:
        out.append(training(f"{team}-one-nvlink-domain", domain_nodes, nvlink or "(an NVLink-domain level)", True))
    return out


def _cluster_queue_problems(stack: _Stack, w: CanonicalWorkload, namespace: str, strategy: str,
                            requested: set[str]) -> tuple[list[str], Mapping[str, Any] | None]:
    """Kueue's admission of ``w`` through the namespace's LocalQueue: (problems, the chosen flavor's spec)."""
    queues = stack.local_queues.get(namespace, [])
    if not queues:
        return [f"no Kueue LocalQueue in namespace '{namespace}'"], None
    problems: list[str] = []
    for cq_name in queues:
        cq = stack.cluster_queues.get(cq_name)
        if cq is None:
            problems.append(f"LocalQueue points at ClusterQueue '{cq_name}', which the stack does not define")
            continue
        selector = {str(k): str(v) for k, v in as_map(get_in(cq, "namespaceSelector", "matchLabels")).items()}
        if adm.missing_labels(selector, stack.namespaces.get(namespace, {})):
            problems.append(f"ClusterQueue '{cq_name}' does not select namespace '{namespace}' "
                            f"(namespaceSelector {selector})")
            continue
        for group in as_list(cq.get("resourceGroups")):
            covered = {str(c) for c in as_list(as_map(group).get("coveredResources"))}
            if w.gpu_resource not in covered:
                continue
            undeclared = sorted(requested - covered)
            if undeclared and strategy != "IgnoreUndeclared":
                problems.append(f"ClusterQueue '{cq_name}' does not cover {', '.join(undeclared)} and Kueue's "
                                f"quotaCheckStrategy is {strategy}")
                continue
            for flavor in as_list(as_map(group).get("flavors")):
                fname = str(as_map(flavor).get("name"))
                spec = stack.flavors.get(fname)
                if spec is None:
                    problems.append(f"ClusterQueue '{cq_name}' names ResourceFlavor '{fname}', which the stack "
                                    f"does not define")
                    continue
                if as_map(spec.get("nodeLabels")).get(LABEL_POOL) not in (None, w.pool):
                    continue
                gpu = next((as_map(r) for r in as_list(as_map(flavor).get("resources"))
                            if as_map(r).get("name") == w.gpu_resource), {})
                nominal = num(gpu.get("nominalQuota")) or 0
                borrow = gpu.get("borrowingLimit")
                ceiling = None if borrow is None and get_in(cq, "cohortName") else nominal + (num(borrow) or 0)
                if ceiling is not None and w.gpus > ceiling:
                    problems.append(f"ClusterQueue '{cq_name}' flavor '{fname}' allows {ceiling:g} GPUs "
                                    f"(nominal {nominal:g}, borrowing {borrow if borrow is not None else 0}); the "
                                    f"workload needs {w.gpus}")
                    continue
                return [], spec
        if not problems:
            problems.append(f"ClusterQueue '{cq_name}' has no flavor of pool '{w.pool}' covering {w.gpu_resource}")
    return problems, None


def _api_server_problems(stack: _Stack, namespace: str, pod: adm.Pod, count: int) -> tuple[adm.Pod, list[str]]:
    """The API server's half, in its order: defaulting, LimitRanger, validation, Pod Security, ResourceQuota
    (``count`` identical pods). Returns the pod as admitted and what would refuse it."""
    problems: list[str] = []
    pod = adm.Pod(pod.name, tuple(adm.default_requests_to_limits(c) for c in pod.containers),
                  tuple(adm.default_requests_to_limits(c) for c in pod.init_containers), annotations=pod.annotations)
    for name, items in stack.limit_ranges.get(namespace, []):
        pod, _ = adm.apply_limit_ranges(pod, items)
        problems += [f"LimitRange {name}: {e}" for e in adm.validate_limit_ranges(pod, items)]
    problems += adm.check_extended_resources(pod)
    level = stack.namespaces[namespace].get(PSA_ENFORCE, "privileged")
    problems += [f"Pod Security {level}: {e}" for e in adm.check_pod_security(pod, level)]
    for name, hard in stack.quotas.get(namespace, []):
        problems += [f"ResourceQuota {name}: {e}" for e in adm.check_quota(hard, [pod] * count)]
    return pod, problems


def _allows(rule: Mapping[str, Any], group: str, resource: str, verb: str) -> bool:
    """An RBAC rule grants ``verb`` on ``group``/``resource`` (``*`` matches all; Kubernetes RBAC docs)."""
    def has(key: str, value: str) -> bool:
        return bool({value, "*"} & {str(x) for x in as_list(rule.get(key))})

    return has("apiGroups", group) and has("resources", resource) and has("verbs", verb)


def _imex_problems(stack: _Stack, w: CanonicalWorkload, facts: Mapping[str, Any]) -> list[str]:
    """What keeps a multi-pod training workload on a multi-node NVLink pool from getting its IMEX channel (see the
    module docstring): no DRA driver running ComputeDomains, or a team that may not create its job's
    ComputeDomain."""
    if w.kind != "training" or w.pods <= 1 or int(num(facts.get("nvlink_domain_nodes")) or 1) <= 1:
        return []
    problems = []
    try:
        platform = profile(str(facts.get("provider") or "")).compute_domains == "platform"
    except KeyError:
        platform = False
    if not platform:
        release = stack.releases.get(DRA_DRIVER_CHART)
        if release is None:
            problems.append(f"no NVIDIA DRA driver ({DRA_DRIVER_CHART}) runs ComputeDomains and the platform "
                            f"provides none, so its pods get no IMEX channel for multi-node NVLink")
        elif get_in(release, "values", "resources", "computeDomains", "enabled", default=True) is False:
            problems.append("the NVIDIA DRA driver runs with resources.computeDomains.enabled false, so its pods "
                            "get no IMEX channel for multi-node NVLink")
    if not any(_allows(rule, COMPUTE_DOMAIN_GROUP, "computedomains", "create")
               for rule in stack.roles.get(w.team, [])):
        problems.append(f"no Role in namespace '{w.team}' lets the team create ComputeDomains "
                        f"({COMPUTE_DOMAIN_GROUP} computedomains), so the job cannot create its IMEX domain")
    return problems


def _admit(stack: _Stack, w: CanonicalWorkload, facts: Mapping[str, Any], node_sets: Sequence[_NodeSet],
           strategy: str, cfg: Mapping[str, Any], acceptance_pools: set[str]) -> list[str]:
    namespace = w.team
    if namespace not in stack.namespaces:
        return [f"namespace '{namespace}' is not created by the stack"]
    pod, problems = _api_server_problems(stack, namespace, w.pod, w.pods)
    problems += _imex_problems(stack, w, facts)
    # Kueue
    requested = {k for c in (*pod.containers, *pod.init_containers) for k, v in c.requests.items() if v > 0}
    kueue_problems, flavor = _cluster_queue_problems(stack, w, namespace, strategy, requested)
    problems += kueue_problems
    if flavor is None:
        return problems
    node_selector = {str(k): str(v) for k, v in as_map(flavor.get("nodeLabels")).items()}
    tolerations = [adm.Toleration(str(t.get("key", "")), str(t.get("operator", "Equal")), str(t.get("value") or ""),
                                  str(t.get("effect") or ""))
                   for t in (as_map(x) for x in as_list(flavor.get("tolerations")))]
    topology = flavor.get("topologyName")
    if w.tas_level is not None:
        if topology is None:
            problems.append(f"ResourceFlavor of pool '{w.pool}' has no topologyName; Kueue ignores the TAS "
                            f"annotation {w.tas_level}")
        elif str(topology) not in stack.topologies:
            problems.append(f"ResourceFlavor names Topology '{topology}', which the stack does not define")
        elif w.tas_level not in stack.topologies[str(topology)]:
            problems.append(f"Topology '{topology}' has no level {w.tas_level} (levels: "
                            f"{', '.join(stack.topologies[str(topology)])}); Kueue cannot place the workload")
    # scheduling on the planned nodes
    transient = set(cfg["transientTaints"]) if w.pool in acceptance_pools else set()
    fitting = []
    reasons = []
    for node_set in node_sets:
        missing = adm.missing_labels(node_selector, node_set.labels)
        blocking = [t for t in adm.untolerated(node_set.taints, tolerations) if t.key not in transient]
        lacking = sorted(k for c in pod.containers for k, v in c.limits.items()
                         if adm.is_extended_resource(k) and v > 0 and k not in node_set.advertised)
        if missing:
            reasons.append(f"{node_set.name} lacks node labels {missing}")
        elif blocking:
            reasons.append(f"{node_set.name} has taints the pod does not tolerate: "
                           f"{', '.join(f'{t.key}={t.value}:{t.effect}' for t in blocking)}")
        elif lacking:
            reasons.append(f"{node_set.name} advertises no {', '.join(lacking)}")
        else:
            fitting.append(node_set)
    if not node_sets:
        problems.append(f"pool '{w.pool}' has no planned nodes")
    elif not fitting:
        problems.append(f"no planned node fits: {'; '.join(reasons)}")
    return problems


def _workloads_admissible(args: StackValidationArgs, report: ReportViolation) -> None:
    cfg = settings(args.get_config(), _SCHEMA)
    index = StackIndex(args.resources)
    layers = index.of_type(LAYER_TYPE)
    stack = _read(index)
    if not layers:
        tenants = index.of_type(TENANT_TYPE)
        if not tenants:
            untracked = [r for r in index.of_type(NAMESPACE) if LABEL_TEAM in _labels(r.props)]
            if untracked:
                report(f"{len(untracked)} team namespace(s) but neither KubernetesLayer queues nor Tenant components;"
                       f" cannot show their workloads are admitted", untracked[0].urn)
                return
            args.not_applicable("no Kubernetes layer")
        for tenant in tenants:
            _check_tenant(stack, tenant, cfg, report)
        return
    strategy = _quota_check_strategy(stack)
    for layer in layers:
        facts = as_map(layer.props.get("neocloud"))
        queues = [as_map(q) for q in as_list(facts.get("queues"))]
        if not queues:
            args.not_applicable("no team queues")
        acceptance_pools = {str(as_map(t).get("pool")) for t in as_list(facts.get("acceptance"))}
        devices = {str(as_map(t).get("pool")): int(num(as_map(t).get("fabric_devices")) or 1)
                   for t in as_list(facts.get("acceptance"))}
        levels_by_pool = {str(k): [str(x) for x in as_list(v)]
                          for k, v in as_map(facts.get("topology_levels")).items()}
        for queue in queues:
            team, pool = str(queue.get("team")), str(queue.get("pool"))
            owner = index.pools.get(pool)
            if owner is None:
                report(f"team '{team}': queue pool '{pool}' is not a planned pool", layer.urn)
                continue
            pool_facts = owner[1]
            node_sets = _pool_node_sets(stack, pool, pool_facts)
            fabric, caps, fabric_problems = _fabric_request(stack, queue, pool_facts, devices.get(pool, 1),
                                                            node_sets)
            for w in canonical_workloads(queue, pool_facts, levels_by_pool.get(pool, []), fabric, caps, cfg):
                problems = (fabric_problems if w.kind == "training" else []) + _admit(
                    stack, w, pool_facts, node_sets, strategy, cfg, acceptance_pools)
                if problems:
                    report(f"team '{team}' (pool '{pool}'): the canonical {w.describe()} plus a CPU-only sidecar "
                           f"would not run: {'; '.join(problems)}", layer.urn)


def _check_tenant(stack: _Stack, tenant: Any, cfg: Mapping[str, Any], report: ReportViolation) -> None:
    """A ``Tenant`` composed without the KubernetesLayer (no queues, no Kueue, no planned nodes): the API-server
    half of admission for a pod with one node's GPUs (the LimitRange's Pod max) and a CPU-only sidecar."""
    team = str(tenant.props.get("team"))
    gpu = str(tenant.props.get("gpuResource") or GPU)
    if team not in stack.namespaces:
        report(f"Tenant '{tenant.name}': namespace '{team}' is not created by the stack", tenant.urn)
        return
    maxima = [item.max[gpu] for _, items in stack.limit_ranges.get(team, []) for item in items
              if item.type == "Pod" and gpu in item.max]
    per_pod = min(maxima) if maxima else Fraction(1)
    cpu, memory = adm.parse_quantity(cfg["sidecarCpu"]), adm.parse_quantity(cfg["sidecarMemory"])
    pod = adm.Pod(f"{team}-gpu-pod", (_container("server", {gpu: per_pod}, cpu, memory),
                                      _container("sidecar", {}, cpu, memory)), (_container("init", {}, cpu, memory),))
    problems = _api_server_problems(stack, team, pod, 1)[1]
    if problems:
        report(f"Tenant '{tenant.name}': a pod with {_fmt(per_pod)} GPUs plus a CPU-only sidecar would not be "
               f"admitted in namespace '{team}': {'; '.join(problems)}", tenant.urn)


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


WORKLOADS_ADMISSIBLE = StackValidationPolicy(
    name="workloads-admissible",
    description="Every team queue's canonical workload (training: whole nodes with the queue's GPUs, the fabric "
    "devices and the TAS annotation for the pool's NVLink domain or SU; inference: one node's GPUs; each with a "
    "CPU-only sidecar) is admitted and schedulable: LimitRange defaulting, ResourceQuota, Pod Security, Kueue "
    "queue/flavor/quota/Topology, node labels, taints and advertised device resources.",
    validate=_workloads_admissible,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=_SCHEMA,
)

POLICIES = [WORKLOADS_ADMISSIBLE]
