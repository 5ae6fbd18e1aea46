"""A drained node's work resumes on a hot spare through Kueue (v0.19.2), by Kueue's documented mechanisms:
node hot swap (feature gates) and waitForPodsReady requeuing, and quotas that leave the spares free so a
requeued whole-pool workload is admitted again.

Sources (kubernetes-sigs/kueue at v0.19.2):
- site/content/en/docs/concepts/topology_aware_scheduling.md: "Capacity calculation" (TAS counts the allocatable
  of only Ready and schedulable nodes), "Hot swap support" and its subsections (the feature gates, and the advice
  to set ``waitForPodsReady.recoveryTimeout``).
- site/content/en/docs/tasks/manage/setup_wait_for_pods_ready.md (fields, defaults, requeuing backoff).
- pkg/config/validation.go ``validateWaitForPodsReady`` (what the manager refuses at start-up).
- Kubernetes "Safely Drain a Node": ``kubectl drain`` first marks the node unschedulable (cordon).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from components.kubernetes.charts import KUEUE, KUEUE_FEATURE_GATES, kueue_values
from components.labels import gpu_taint, pool_labels
from neocloud import build_plan, load_cluster_spec
from neocloud.plan import ClusterPlan
from tests.conftest import KUBERNETES_STACKS, VENDOR
from tests.kubernetes.runs import cluster_spec, objects_of, run_for

# ---------------------------------------------------------------------------------------------------------------
# Kueue's configuration, checked against what the vendored chart and Kueue's validation accept.


def _kueue_release(stack: str) -> dict[str, Any]:
    (release,) = [r for r in run_for(stack).of_type("kubernetes:helm.sh/v3:Release")
                  if r.inputs["chart"] == KUEUE.chart]
    return dict(release.inputs["values"])


def _documented_wait_for_pods_ready() -> dict[str, Any]:
    """The ``waitForPodsReady`` block the v0.19.2 chart ships commented out in its default Configuration."""
    upstream = yaml.safe_load((VENDOR / "kueue" / "values.yaml").read_text())
    text = upstream["managerConfig"]["controllerManagerConfigYaml"]
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("#waitForPodsReady:"))
    block = [lines[start][1:]]
    for line in lines[start + 1:]:
        if not line.startswith("#  "):
            break
        block.append(re.sub(r" # .*$", "", line[1:]))
    return yaml.safe_load("\n".join(block))["waitForPodsReady"]


def _minutes(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m|h)", duration)
    assert match, f"not a Go duration Kueue parses here: {duration!r}"
    return int(match[1]) * {"s": 1 / 60, "m": 1, "h": 60}[match[2]]


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_wait_for_pods_ready_uses_only_kueues_fields_and_valid_values(stack: str) -> None:
    config = yaml.safe_load(_kueue_release(stack)["managerConfig"]["controllerManagerConfigYaml"])
    ours, documented = config["waitForPodsReady"], _documented_wait_for_pods_ready()
    assert set(ours) <= set(documented)
    assert set(ours["requeuingStrategy"]) <= set(documented["requeuingStrategy"])
    # validateWaitForPodsReady: timeout required and positive, recoveryTimeout not negative, timestamp one of
    # Creation/Eviction, backoff numbers not negative.
    assert _minutes(ours["timeout"]) > 0 and _minutes(ours["recoveryTimeout"]) > 0
    strategy = ours["requeuingStrategy"]
    assert strategy["timestamp"] in ("Creation", "Eviction")
    assert all(strategy[k] >= 0 for k in ("backoffBaseSeconds", "backoffMaxSeconds", "backoffLimitCount")
               if k in strategy)
    # The TAS docs: set recoveryTimeout so a workload does not wait for a replacement node indefinitely
    # ("0s" would disable recovery checking).
    assert ours["blockAdmission"] is False


def test_recovery_settings_reach_the_configuration() -> None:
    values = kueue_values(pods_ready_timeout_minutes=45, recovery_timeout_minutes=10, requeue_limit=5)
    ours = yaml.safe_load(values["managerConfig"]["controllerManagerConfigYaml"])["waitForPodsReady"]
    assert (ours["timeout"], ours["recoveryTimeout"]) == ("45m", "10m")
    assert ours["requeuingStrategy"]["backoffLimitCount"] == 5
    # No limit: the field is left out, which Kueue documents as endless requeuing.
    ours = yaml.safe_load(kueue_values()["managerConfig"]["controllerManagerConfigYaml"])["waitForPodsReady"]
    assert "backoffLimitCount" not in ours["requeuingStrategy"]


def test_requeue_backoff_follows_kueues_documented_schedule() -> None:
    """Kueue: the delay starts at backoffBaseSeconds, doubles per requeue, and stays at backoffMaxSeconds
    ("approximately 60, 120, 240, ..., 3600, ..., 3600 seconds" with the defaults)."""
    strategy = yaml.safe_load(kueue_values()["managerConfig"]["controllerManagerConfigYaml"])[
        "waitForPodsReady"]["requeuingStrategy"]
    delays = [min(strategy["backoffBaseSeconds"] * 2 ** (n - 1), strategy["backoffMaxSeconds"]) for n in range(1, 10)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_failed_node_feature_gates_in_the_charts_format(stack: str) -> None:
    gates = _kueue_release(stack)["controllerManager"]["featureGates"]
    # values.yaml: `featureGates: []` with the example `- name: PartialAdmission / enabled: true`.
    assert all(set(g) == {"name", "enabled"} and isinstance(g["enabled"], bool) for g in gates)
    enabled = {g["name"] for g in gates if g["enabled"]}
    assert {"TASFailedNodeReplacement", "TASReplaceNodeOnNodeTaints", "TASReplaceNodeOnPodTermination"} <= enabled
    assert set(KUEUE_FEATURE_GATES) == {g["name"] for g in gates}


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_hot_swap_has_the_node_level_it_needs(stack: str) -> None:
    """"When the lowest level of Topology is set to node, TAS finds a fixed assignment of pods to nodes" -- hot
    swap replaces that node, so every Topology must end at the node."""
    for topology in objects_of(run_for(stack), "Topology"):
        assert topology["spec"]["levels"][-1] == {"nodeLabel": "kubernetes.io/hostname"}


# ---------------------------------------------------------------------------------------------------------------
# Admission after a drain, modelled on Kueue's documented rules and fed with the rendered objects.


@dataclass
class Node:
    labels: dict[str, str]
    gpus: int
    taints: list[dict[str, str]] = field(default_factory=list)
    ready: bool = True
    unschedulable: bool = False

    def drain(self) -> None:
        """``kubectl drain`` (and NVSentinel's cordon) marks the node unschedulable; the node lifecycle controller
        represents that as the ``node.kubernetes.io/unschedulable:NoSchedule`` taint."""
        self.unschedulable = True
        self.taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})


def _tolerates(tolerations: list[dict[str, Any]], taint: dict[str, str]) -> bool:
    """Kubernetes "Taints and Tolerations": an Exists toleration matches the key (and effect, if set)."""
    return any(t["key"] == taint["key"] and t.get("operator") == "Exists"
               and t.get("effect") in (None, taint["effect"]) for t in tolerations)


def tas_capacity(nodes: list[Node], flavor: dict[str, Any]) -> int:
    """Kueue TAS "Capacity calculation": allocatable of only Ready and schedulable nodes of the flavor (its
    ``nodeLabels``); nodes with a scheduling taint the pods do not tolerate are excluded (v0.19.2
    pkg/cache/scheduler/scheduling_simulator_default.go, "excluding node with untolerated taint"; the pods carry
    the flavor's tolerations). No other workload is admitted here."""
    spec = flavor["spec"]
    return sum(n.gpus for n in nodes
               if n.ready and not n.unschedulable
               and all(n.labels.get(k) == v for k, v in spec["nodeLabels"].items())
               and all(_tolerates(spec.get("tolerations", []), t) for t in n.taints))


def admits(*, request: int, queue: dict[str, Any], flavor: dict[str, Any], nodes: list[Node]) -> bool:
    """A workload asking ``request`` GPUs of its ClusterQueue's flavor is admitted when the queue's nominal quota
    covers it and TAS finds the capacity (nothing else is admitted, so no borrowing is needed)."""
    (group,) = queue["spec"]["resourceGroups"]
    (flavor_quota,) = [f for f in group["flavors"] if f["name"] == flavor["metadata"]["name"]]
    (gpu,) = flavor_quota["resources"]
    return request <= gpu["nominalQuota"] and request <= tas_capacity(nodes, flavor)


def _nodes(plan: ClusterPlan, pool_name: str, *, spares: bool = True) -> list[Node]:
    pool = next(p for p in plan.pools if p.name == pool_name)
    # Every node of the pool as its node set labels and taints it once accepted: the pool labels and the GPU
    # taint (the acceptance taint is gone once the node passed).
    taint = gpu_taint(pool.system)
    count = pool.total_nodes if spares else pool.nodes
    return [Node(labels=dict(pool_labels(plan, pool)), gpus=pool.system.gpus_per_node,
                 taints=[{"key": taint["key"], "effect": taint["effect"]}]) for _ in range(count)]


def _cases(stack: str) -> list[tuple[dict[str, Any], dict[str, Any], ClusterPlan]]:
    run = run_for(stack)
    plan = build_plan(load_cluster_spec(cluster_spec(stack)))
    flavors = {f["metadata"]["name"]: f for f in objects_of(run, "ResourceFlavor")}
    cases = []
    for queue in objects_of(run, "ClusterQueue"):
        (group,) = queue["spec"]["resourceGroups"]
        for f in group["flavors"]:
            cases.append((queue, flavors[f["name"]], plan))
    return cases


SPARE_STACKS = [s for s in KUBERNETES_STACKS if any(p.spares for p in build_plan(
    load_cluster_spec(cluster_spec(s))).pools)]


@pytest.mark.parametrize("stack", SPARE_STACKS)
def test_a_full_quota_workload_is_admitted_again_after_one_node_is_drained(stack: str) -> None:
    """The brief's quota math: a pool of N nodes + S >= 1 spares, a queue whose quota is at most the N nodes'
    GPUs; drain one node and the requeued workload asking the queue's whole quota still fits."""
    cases = _cases(stack)
    assert cases
    for queue, flavor, plan in cases:
        pool = next(p for p in plan.pools if p.name == flavor["metadata"]["name"])
        if not pool.spares:
            continue
        (gpu,) = queue["spec"]["resourceGroups"][0]["flavors"][0]["resources"]
        request = gpu["nominalQuota"]
        nodes = _nodes(plan, pool.name)
        assert admits(request=request, queue=queue, flavor=flavor, nodes=nodes)
        nodes[0].drain()
        assert admits(request=request, queue=queue, flavor=flavor, nodes=nodes), (stack, queue["metadata"])
        # The spares are what makes it fit: a pool-wide request on the nodes alone would not after a drain.
        bare = _nodes(plan, pool.name, spares=False)
        bare[0].drain()
        assert tas_capacity(bare, flavor) < pool.nodes * pool.system.gpus_per_node


def test_without_spares_a_whole_pool_workload_waits_for_the_repair() -> None:
    """The model bites: the prod pools' first queue with its quota raised to the whole pool fits before a drain,
    and after one only because of the spares."""
    (queue, flavor, plan), *_ = _cases("prod")
    pool = next(p for p in plan.pools if p.name == flavor["metadata"]["name"])
    whole = pool.nodes * pool.system.gpus_per_node
    raised = yaml.safe_load(yaml.safe_dump(queue))
    raised["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"] = whole
    no_spares = _nodes(plan, pool.name, spares=False)
    assert admits(request=whole, queue=raised, flavor=flavor, nodes=no_spares)
    no_spares[0].drain()
    assert not admits(request=whole, queue=raised, flavor=flavor, nodes=no_spares)
    with_spares = _nodes(plan, pool.name)
    with_spares[0].drain()
    assert admits(request=whole, queue=raised, flavor=flavor, nodes=with_spares)
    # An untolerated taint (e.g. a pending acceptance) keeps a spare out of the count, as the cordon does.
    pending = _nodes(plan, pool.name)
    for n in pending[pool.nodes:]:
        n.taints.append({"key": "neocloud.io/acceptance", "effect": "NoSchedule"})
    pending[0].drain()
    assert not admits(request=whole, queue=raised, flavor=flavor, nodes=pending)
