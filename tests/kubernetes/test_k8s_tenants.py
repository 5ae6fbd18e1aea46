"""Tenant isolation for every team of every stack, and the traffic regulator in front of inference."""

from __future__ import annotations

import pytest

from components.kubernetes.charts import ENVOY_GATEWAY
from components.kubernetes.traffic import GATEWAY_NAME
from neocloud import build_plan, load_cluster_spec
from neocloud.plan.kubernetes import plan_team_queues
from tests.conftest import KUBERNETES_STACKS
from tests.kubernetes.runs import cluster_spec, kube_objects, named, objects_of, run_for

PSA = "pod-security.kubernetes.io"


def teams(stack: str) -> list[dict]:
    return cluster_spec(stack)["kubernetes"]["queues"]


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_team_is_isolated(stack: str) -> None:
    run = run_for(stack)
    spec = load_cluster_spec(cluster_spec(stack))
    queues = {q.team: q for q in plan_team_queues(spec, build_plan(spec))}
    assert queues, "every shipped stack has at least one team"
    for team, queue in queues.items():
        ns = named(objects_of(run, "Namespace"), team)
        labels = ns["metadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"{PSA}/{mode}"] == queue.pod_security
            assert labels[f"{PSA}/{mode}-version"] == f"v{spec.kubernetes.version}"
        quota = named(objects_of(run, "ResourceQuota"), "gpu-quota", namespace=team)
        assert quota["spec"]["hard"] == {"requests.nvidia.com/gpu": str(queue.gpu_ceiling)}
        assert queue.gpu_quota <= queue.gpu_ceiling <= build_plan(spec).pool(queue.pool).gpus
        limits = named(objects_of(run, "LimitRange"), "gpu-limits", namespace=team)["spec"]["limits"]
        assert {item["type"]: item["max"]["nvidia.com/gpu"] for item in limits} == {
            "Container": str(queue.max_gpus_per_pod), "Pod": str(queue.max_gpus_per_pod)}
        policies = {p["metadata"]["name"]: p["spec"] for p in objects_of(run, "NetworkPolicy")
                    if p["metadata"]["namespace"] == team}
        deny = policies["default-deny"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, "deny all, no rules"
        dns = policies["allow-dns"]["egress"][0]
        assert dns["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
        assert sorted((p["protocol"], p["port"]) for p in dns["ports"]) == [("TCP", 53), ("UDP", 53)]
        same = policies["allow-same-namespace"]
        assert same["ingress"] == [{"from": [{"podSelector": {}}]}]
        assert same["egress"] == [{"to": [{"podSelector": {}}]}]
        regulated = spec.kubernetes.regulated_team() == team
        assert ("allow-gateway" in policies) == regulated
        if regulated:
            # One peer with both selectors: pods of the Gateway's proxies AND in Envoy Gateway's namespace
            # (NetworkPolicyPeer: "If namespaceSelector is also set, then the NetworkPolicyPeer as a whole selects
            # the pods matching podSelector in the Namespaces selected by NamespaceSelector"); a second peer would
            # OR them and admit every pod there, the ramp controller included.
            [peer] = policies["allow-gateway"]["ingress"][0]["from"]
            assert peer["namespaceSelector"] == {
                "matchLabels": {"kubernetes.io/metadata.name": ENVOY_GATEWAY.namespace}}
            assert peer["podSelector"] == {"matchLabels": {
                "gateway.envoyproxy.io/owning-gateway-name": GATEWAY_NAME,
                "gateway.envoyproxy.io/owning-gateway-namespace": team}}
        binding = named(objects_of(run, "RoleBinding"), f"{team}-member", namespace=team)
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{team}-member"}
        assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                        "name": queue.group}]
        role = named(objects_of(run, "Role"), f"{team}-member", namespace=team)
        granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
        assert ("batch", "jobs") in granted
        assert not {g for g, _ in granted} & {"rbac.authorization.k8s.io", "networking.k8s.io"}
        assert ("", "resourcequotas") in granted and "create" not in next(
            rule["verbs"] for rule in role["rules"] if "resourcequotas" in rule["resources"])


def test_tenant_objects_live_in_their_namespace() -> None:
    run = run_for("staging")
    for resource in kube_objects(run):
        namespace = resource.inputs["metadata"].get("namespace")
        if resource.name.startswith("staging-kubernetes-tenant-") and namespace is not None:
            team = resource.name.removeprefix("staging-kubernetes-tenant-").split("-")[0]
            assert namespace == team, resource.name


def test_no_regulator_without_spec() -> None:
    for stack in KUBERNETES_STACKS:
        if cluster_spec(stack)["kubernetes"].get("traffic_regulator") is None:
            run = run_for(stack)
            assert not objects_of(run, "Gateway") and not objects_of(run, "BackendTrafficPolicy")
            assert not [r for r in run.of_type("kubernetes:helm.sh/v3:Release")
                        if r.inputs["chart"] == ENVOY_GATEWAY.chart]


def test_pod_security_is_restricted_unless_the_team_asks_for_rdma_privileges() -> None:
    levels = {(stack, q["team"]): q.get("pod_security") for stack in KUBERNETES_STACKS for q in teams(stack)}
    for (stack, team), asked in levels.items():
        ns = named(objects_of(run_for(stack), "Namespace"), team)
        assert ns["metadata"]["labels"][f"{PSA}/enforce"] == (asked or "restricted"), (stack, team)
    assert levels[("staging", "research")] == "privileged"  # multi-node NCCL over InfiniBand needs IPC_LOCK
    # the default stays restricted
    assert sum(1 for level in levels.values() if level is None) >= len(KUBERNETES_STACKS)
