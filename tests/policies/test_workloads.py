"""workloads-admissible over the real pack: every shipped stack's canonical workloads are admitted, and each way a
real cluster would refuse them (each behaviour cited in policies/_admission.py) is reported.

Broken copies: a config change through the real program where the spec can express it (a team's Pod Security
level), else the recorded resource edited before analysis (the LimitRange of defect 1, quotas, Kueue objects,
releases), as in test_stacks.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from neocloud.offline import ProgramRun, RecordedResource, load_stack_config, run_program
from neocloud.offline.analyzer import AnalysisResult, load_policy_config
from tests.conftest import KUBERNETES_STACKS, REPO, stack_run
from tests.policies.support import PACK, analyze, mutate, not_applicable, violations

RULE = "workloads-admissible"


def _config(stack: str) -> dict[str, Any]:
    return load_policy_config(PACK / "config" / f"{stack}.json")


def _edit(run: ProgramRun, match: Callable[[RecordedResource], bool],
          change: Callable[[dict[str, Any]], None]) -> list[RecordedResource]:
    hits = [r for r in run.resources if match(r)]
    assert hits, "the edit must hit a recorded resource"
    return [mutate(r, change) if match(r) else r for r in run.resources]


def _kind(kind: str) -> Callable[[RecordedResource], bool]:
    return lambda r: r.type.rsplit(":", 1)[-1] == kind


def _check(pack: Any, stack: str, resources: list[RecordedResource] | None = None,
           run: ProgramRun | None = None) -> AnalysisResult:
    return analyze(pack, run or stack_run(stack), _config(stack), resources=resources)


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_shipped_stack_admits_its_canonical_workloads(pack: Any, stack: str) -> None:
    result = _check(pack, stack)
    assert violations(result, RULE) == []
    assert not not_applicable(result, RULE), "every shipped stack has team queues to prove"


def test_defect_1_the_old_limit_range_is_caught(pack: Any) -> None:
    """Today's-code LimitRange (Container max with no default): Kubernetes defaults every container's GPU limit
    and request to the max, so the CPU-only sidecar and init container each get 8 GPUs and the pod exceeds the
    Pod max (kubernetes.io "Limit Ranges"; SetDefaults_LimitRangeItem)."""
    def old_shape(inputs: dict[str, Any]) -> None:
        for item in inputs["spec"]["limits"]:
            item.pop("default", None)
            item.pop("defaultRequest", None)

    result = _check(pack, "dev", _edit(stack_run("dev"), _kind("LimitRange"), old_shape))
    messages = violations(result, RULE)
    assert len(messages) == 1
    assert "LimitRange gpu-limits: maximum nvidia.com/gpu usage per Pod is 8, but limit is 16" in messages[0]


def test_a_restricted_namespace_refuses_rdma_pods(pack: Any) -> None:
    """staging's InfiniBand team at restricted: the pods add IPC_LOCK, which only privileged admits."""
    config, secret_keys = load_stack_config(REPO, "staging")
    config = copy.deepcopy(config)
    for queue in config["neocloud:cluster"]["kubernetes"]["queues"]:
        queue.pop("pod_security", None)
    run = run_program(REPO, "staging", config=config, secret_keys=secret_keys)
    messages = violations(_check(pack, "staging", run=run), RULE)
    assert messages and all("team 'research'" in m for m in messages)
    assert "Pod Security restricted: container trainer: adds capabilities IPC_LOCK" in messages[0]


def test_quota_smaller_than_the_workload(pack: Any) -> None:
    def small(inputs: dict[str, Any]) -> None:
        inputs["spec"]["hard"] = {"requests.nvidia.com/gpu": "8"}

    messages = violations(_check(pack, "dev", _edit(stack_run("dev"), _kind("ResourceQuota"), small)), RULE)
    assert messages and "ResourceQuota gpu-quota: pod research-training: exceeded quota: requests.nvidia.com/gpu, " \
        "requested 8, used 8, limited 8" in messages[0]


def test_no_local_queue(pack: Any) -> None:
    resources = [r for r in stack_run("dev").resources if not _kind("LocalQueue")(r)]
    messages = violations(_check(pack, "dev", resources), RULE)
    assert messages and "no Kueue LocalQueue in namespace 'research'" in messages[0]


def test_cluster_queue_quota_too_small(pack: Any) -> None:
    def tiny(inputs: dict[str, Any]) -> None:
        inputs["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"] = 8
        inputs["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["borrowingLimit"] = 0

    messages = violations(_check(pack, "dev", _edit(stack_run("dev"), _kind("ClusterQueue"), tiny)), RULE)
    assert messages and "allows 8 GPUs" in messages[0] and "the workload needs 16" in messages[0]


def test_cluster_queue_closed_to_the_namespace(pack: Any) -> None:
    def other(inputs: dict[str, Any]) -> None:
        inputs["spec"]["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": "someone-else"}}

    messages = violations(_check(pack, "dev", _edit(stack_run("dev"), _kind("ClusterQueue"), other)), RULE)
    assert messages and "does not select namespace 'research'" in messages[0]


def test_kueue_blocking_undeclared_resources(pack: Any) -> None:
    """Kueue's default quotaCheckStrategy (BlockUndeclared) refuses a workload that requests resources its
    ClusterQueue does not cover (CPU, memory, EFA)."""
    def block(inputs: dict[str, Any]) -> None:
        manager = inputs["values"]["managerConfig"]
        config = yaml.safe_load(manager["controllerManagerConfigYaml"])
        config["resources"]["quotaCheckStrategy"] = "BlockUndeclared"
        manager["controllerManagerConfigYaml"] = yaml.safe_dump(config)

    def is_kueue(r: RecordedResource) -> bool:
        return r.type == "kubernetes:helm.sh/v3:Release" and str(r.inputs.get("chart")).endswith("kueue")

    messages = violations(_check(pack, "dev", _edit(stack_run("dev"), is_kueue, block)), RULE)
    assert messages and "does not cover cpu, memory, vpc.amazonaws.com/efa" in messages[0]


def test_flavor_without_the_gpu_toleration(pack: Any) -> None:
    def untolerant(inputs: dict[str, Any]) -> None:
        inputs["spec"]["tolerations"] = []

    messages = violations(_check(pack, "dev", _edit(stack_run("dev"), _kind("ResourceFlavor"), untolerant)), RULE)
    assert messages and "taints the pod does not tolerate: nvidia.com/gpu=present:NoSchedule" in messages[0]


def test_flavor_selecting_labels_no_node_carries(pack: Any) -> None:
    def wrong(inputs: dict[str, Any]) -> None:
        inputs["spec"]["nodeLabels"]["neocloud.io/system"] = "p4d.24xlarge"

    messages = violations(_check(pack, "dev", _edit(stack_run("dev"), _kind("ResourceFlavor"), wrong)), RULE)
    assert messages and "no planned node fits" in messages[0] and "lacks node labels" in messages[0]


def test_missing_flavor(pack: Any) -> None:
    resources = [r for r in stack_run("dev").resources if not _kind("ResourceFlavor")(r)]
    messages = violations(_check(pack, "dev", resources), RULE)
    assert messages and "names ResourceFlavor 'train', which the stack does not define" in messages[0]


def test_topology_without_the_nvlink_domain_level(pack: Any) -> None:
    """gb200: Kueue cannot keep a one-domain job inside an NVL72 partition when the Topology has no clique level
    (the TAS annotation names a level the Topology must have; Kueue docs, Topology Aware Scheduling)."""
    def flat(inputs: dict[str, Any]) -> None:
        inputs["spec"]["levels"] = [lv for lv in inputs["spec"]["levels"]
                                    if lv["nodeLabel"] != "nvidia.com/gpu.clique"]

    messages = violations(_check(pack, "gb200", _edit(stack_run("gb200"), _kind("Topology"), flat)), RULE)
    assert any("has no level nvidia.com/gpu.clique" in m for m in messages)


@pytest.mark.parametrize("stack", ["gb200", "nebius"])
def test_multi_node_nvlink_training_needs_the_dra_driver(pack: Any, stack: str) -> None:
    """GB200 NVL72 pods share GPU memory across nodes only through IMEX, which Kubernetes gets from NVIDIA's DRA
    driver's ComputeDomains (docs.nvidia.com gpu-operator dra-cds: "NVIDIA's DRA Driver for GPUs enables MNNVL
    for Kubernetes workloads by introducing ... the ComputeDomain"): without its release the canonical training
    workload is refused; with ComputeDomains disabled too."""
    run = stack_run(stack)
    without = [r for r in run.resources if not (r.type == "kubernetes:helm.sh/v3:Release" and
                                                r.inputs.get("chart") == "nvidia-dra-driver-gpu")]
    assert len(without) == len(run.resources) - 1
    messages = violations(_check(pack, stack, without), RULE)
    assert messages and all("no NVIDIA DRA driver (nvidia-dra-driver-gpu) runs ComputeDomains" in m
                            for m in messages), messages

    def off(inputs: dict[str, Any]) -> None:
        inputs["values"]["resources"]["computeDomains"]["enabled"] = False

    def dra(r: RecordedResource) -> bool:
        return r.type == "kubernetes:helm.sh/v3:Release" and r.inputs.get("chart") == "nvidia-dra-driver-gpu"

    messages = violations(_check(pack, stack, _edit(run, dra, off)), RULE)
    assert messages and all("resources.computeDomains.enabled false" in m for m in messages), messages


def test_multi_node_nvlink_team_must_create_its_compute_domain(pack: Any) -> None:
    """Each job creates its own ComputeDomain ("It is a best practice to create a ComputeDomain per workload job",
    EKS user guide ml-eks-nvidia-ultraserver), so the team's Role must allow creating them."""
    def no_compute_domains(inputs: dict[str, Any]) -> None:
        inputs["rules"] = [r for r in inputs["rules"] if "resource.nvidia.com" not in r["apiGroups"]]

    def team_role(r: RecordedResource) -> bool:
        return r.type.endswith(":Role") and r.inputs["metadata"]["name"] == "frontier-member"

    messages = violations(_check(pack, "gb200", _edit(stack_run("gb200"), team_role, no_compute_domains)), RULE)
    assert messages and all("no Role in namespace 'frontier' lets the team create ComputeDomains" in m
                            for m in messages), messages


def test_no_efa_device_plugin(pack: Any) -> None:
    resources = [r for r in stack_run("dev").resources
                 if not (r.type == "kubernetes:helm.sh/v3:Release" and r.inputs.get("chart") ==
                         "aws-efa-k8s-device-plugin")]
    messages = violations(_check(pack, "dev", resources), RULE)
    assert messages and "no EFA device plugin advertises vpc.amazonaws.com/efa" in messages[0]


def test_no_rdma_device_plugin(pack: Any) -> None:
    resources = [r for r in stack_run("staging").resources if not _kind("NicClusterPolicy")(r)]
    messages = violations(_check(pack, "staging", resources), RULE)
    assert any("no device plugin advertises the infiniband HCAs" in m for m in messages)


def test_the_rule_requests_the_fabric_resource_the_plan_decided(pack: Any) -> None:
    """The NIC resource comes from the layer's queue facts (the plan's pool_fabric_resource: CoreWeave's rdma/ib from
    its profile), not from the rule scanning what is advertised: a queue naming another resource is checked
    against it, and queue facts without one fail closed."""
    layer = _kind_type("neocloud:kubernetes:KubernetesLayer")

    def ghost(inputs: dict[str, Any]) -> None:
        for queue in inputs["neocloud"]["queues"]:
            queue["fabric_resource"] = "rdma/ghost"

    messages = violations(_check(pack, "coreweave", _edit(stack_run("coreweave"), layer, ghost)), RULE)
    assert messages and all("no device plugin advertises the infiniband HCAs (rdma/ghost)" in m for m in messages)

    def unnamed(inputs: dict[str, Any]) -> None:
        for queue in inputs["neocloud"]["queues"]:
            del queue["fabric_resource"]

    messages = violations(_check(pack, "coreweave", _edit(stack_run("coreweave"), layer, unnamed)), RULE)
    assert any("do not name the pool's fabric resource" in m for m in messages)


def _kind_type(type_: str) -> Callable[[RecordedResource], bool]:
    return lambda r: r.type == type_


def test_acceptance_taint_without_acceptance(pack: Any) -> None:
    """The acceptance taint is only transient where node acceptance is planned for the pool."""
    def no_acceptance(inputs: dict[str, Any]) -> None:
        inputs["neocloud"]["acceptance"] = []

    resources = _edit(stack_run("dev"), lambda r: r.type == "neocloud:kubernetes:KubernetesLayer", no_acceptance)
    messages = violations(_check(pack, "dev", resources), RULE)
    assert messages and "neocloud.io/acceptance=pending:NoSchedule" in messages[0]


def test_team_namespaces_without_layer_or_tenant_facts_are_a_violation(pack: Any) -> None:
    resources = [r for r in stack_run("dev").resources
                 if r.type not in ("neocloud:kubernetes:KubernetesLayer", "neocloud:kubernetes:Tenant")]
    messages = violations(_check(pack, "dev", resources), RULE)
    assert messages and "neither KubernetesLayer queues nor Tenant components" in messages[0]


def test_a_tenant_composed_without_the_layer_gets_the_api_server_checks(pack: Any) -> None:
    """The example's pattern (Tenant alone on an existing cluster): the old LimitRange is still caught."""
    def old_shape(inputs: dict[str, Any]) -> None:
        for item in inputs["spec"]["limits"]:
            item.pop("default", None)
            item.pop("defaultRequest", None)

    run = stack_run("dev")
    without_layer = [r for r in run.resources if r.type != "neocloud:kubernetes:KubernetesLayer"]
    assert violations(_check(pack, "dev", without_layer), RULE) == []
    broken = [mutate(r, old_shape) if _kind("LimitRange")(r) else r for r in without_layer]
    messages = violations(_check(pack, "dev", broken), RULE)
    assert len(messages) == 1 and messages[0].startswith("Tenant ")
    assert "maximum nvidia.com/gpu usage per Pod is 8, but limit is 16" in messages[0]


def test_not_applicable_without_kubernetes(pack: Any) -> None:
    resources = [r for r in stack_run("dev").resources if not r.type.startswith(("kubernetes:", "neocloud:kube"))]
    result = _check(pack, "dev", resources)
    assert violations(result, RULE) == [] and not_applicable(result, RULE) == ["no Kubernetes layer"]
