"""The admission model (policies/_admission.py) against the documented Kubernetes behaviour it encodes, and the
tenant LimitRange of every shipped stack run through it (defect 1: a LimitRange must give no container GPUs it
did not ask for)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from policies._admission import (
    Container,
    LimitRangeItem,
    Pod,
    Taint,
    Toleration,
    apply_limit_ranges,
    check_extended_resources,
    check_pod_security,
    check_quota,
    default_limit_range_item,
    default_requests_to_limits,
    limit_range_items,
    missing_labels,
    parse_quantity,
    pod_limits,
    untolerated,
    validate_limit_ranges,
)
from tests.conftest import KUBERNETES_STACKS, stack_run

GPU = "nvidia.com/gpu"


def _admit(pod: Pod, items: list[LimitRangeItem]) -> tuple[Pod, list[str]]:
    """API defaulting (requests from limits), then LimitRanger's mutation and validation, in the API server's
    order."""
    pod = Pod(pod.name, tuple(default_requests_to_limits(c) for c in pod.containers),
              tuple(default_requests_to_limits(c) for c in pod.init_containers))
    mutated, _ = apply_limit_ranges(pod, items)
    return mutated, validate_limit_ranges(mutated, items)


def test_quantities() -> None:
    assert parse_quantity("8") == 8
    assert parse_quantity("500m") == Fraction(1, 2)
    assert parse_quantity("1Gi") == 2**30
    assert parse_quantity("1.5G") == 1_500_000_000
    assert parse_quantity(8.0) == 8
    with pytest.raises(ValueError):
        parse_quantity("eight")


def test_a_container_item_without_default_defaults_to_its_max() -> None:
    """kubernetes.io "Configure Minimum and Maximum Memory Constraints for a Namespace": with a LimitRange of
    max memory 1Gi (min 500Mi) and a container that specifies no memory, the container gets a memory request and
    limit of 1 GiB -- SetDefaults_LimitRangeItem makes the missing default the max, and the default request the
    default."""
    item = LimitRangeItem("Container", max={"memory": parse_quantity("1Gi")}, min={"memory": parse_quantity("500Mi")})
    stored = default_limit_range_item(item)
    assert stored.default == {"memory": 2**30} and stored.default_request == {"memory": 2**30}
    pod, errors = _admit(Pod("p", (Container("c"),)), [item])
    assert pod.containers[0].limits == {"memory": 2**30} and pod.containers[0].requests == {"memory": 2**30}
    assert errors == []


def test_limit_ranger_defaults_init_containers_too() -> None:
    item = LimitRangeItem("Container", max={GPU: Fraction(8)})
    pod, _ = _admit(Pod("p", (Container("c"),), (Container("init"),)), [item])
    assert pod.init_containers[0].limits == {GPU: 8}


def test_a_pod_max_needs_a_limit() -> None:
    """LimitRanger's maxConstraint: "maximum nvidia.com/gpu usage per Pod is 8. No limit is specified"."""
    _, errors = _admit(Pod("p", (Container("cpu-only"),)), [LimitRangeItem("Pod", max={GPU: Fraction(8)})])
    assert errors == ["maximum nvidia.com/gpu usage per Pod is 8. No limit is specified"]


def test_old_tenant_limit_range_gives_a_sidecar_a_whole_node_of_gpus() -> None:
    """Defect 1 as Kubernetes would run it: Container max 8 with no default, Pod max 8."""
    old = [LimitRangeItem("Container", max={GPU: Fraction(8)}), LimitRangeItem("Pod", max={GPU: Fraction(8)})]
    trainer = Container("trainer", limits={GPU: Fraction(8)})
    pod, errors = _admit(Pod("p", (trainer, Container("sidecar"))), old)
    assert pod.containers[1].limits[GPU] == 8 and pod.containers[1].requests[GPU] == 8
    assert errors == ["maximum nvidia.com/gpu usage per Pod is 8, but limit is 16"]


def test_pod_aggregate_counts_sidecars_and_the_largest_init_container() -> None:
    """Sidecar containers (restartPolicy Always) add to the pod's total; other init containers count as their
    largest (Kubernetes "Sidecar Containers", resource sharing within containers)."""
    pod = Pod("p", (Container("a", limits={GPU: Fraction(2)}),),
              (Container("init", limits={GPU: Fraction(4)}),
               Container("side", limits={GPU: Fraction(1)}, restart_always=True)))
    assert pod_limits(pod)[GPU] == 4  # max(2 + 1, 4)


def test_extended_resources_cannot_be_overcommitted() -> None:
    pod = Pod("p", (Container("c", requests={GPU: Fraction(2)}, limits={GPU: Fraction(4)}),
                    Container("d", requests={GPU: Fraction(1)})))
    errors = check_extended_resources(pod)
    assert len(errors) == 2 and "must equal its limit" in errors[0] and "without a limit" in errors[1]


def test_quota_counts_requests_across_pods() -> None:
    pods = [Pod(f"p{i}", (Container("c", requests={GPU: Fraction(8)}, limits={GPU: Fraction(8)}),)) for i in range(3)]
    assert check_quota({f"requests.{GPU}": Fraction(24)}, pods) == []
    errors = check_quota({f"requests.{GPU}": Fraction(16)}, pods)
    assert errors and "exceeded quota" in errors[0] and "p2" in errors[0]


def test_pod_security_levels() -> None:
    hardened = Container("c", capabilities_drop=("ALL",), run_as_non_root=True, allow_privilege_escalation=False,
                         seccomp="RuntimeDefault")
    assert check_pod_security(Pod("p", (hardened,)), "restricted") == []
    rdma = Container("c", capabilities_add=("IPC_LOCK",))
    assert check_pod_security(Pod("p", (rdma,)), "privileged") == []
    # IPC_LOCK is not among the baseline's default capabilities (Pod Security Standards, "Capabilities")
    assert any("IPC_LOCK" in e for e in check_pod_security(Pod("p", (rdma,)), "baseline"))
    assert len(check_pod_security(Pod("p", (Container("c"),)), "restricted")) == 4


def test_tolerations_match_like_the_scheduler() -> None:
    gpu = Taint("nvidia.com/gpu", "present", "NoSchedule")
    assert untolerated([gpu], [Toleration("nvidia.com/gpu", "Exists", effect="NoSchedule")]) == []
    assert untolerated([gpu], [Toleration("nvidia.com/gpu", "Equal", "present")]) == []
    assert untolerated([gpu], [Toleration("nvidia.com/gpu", "Equal", "absent")]) == [gpu]
    assert untolerated([gpu], [Toleration("", "Exists")]) == []  # an empty key with Exists tolerates everything
    assert untolerated([Taint("x", "", "PreferNoSchedule")], []) == []


def test_node_selector() -> None:
    assert missing_labels({"a": "1"}, {"a": "1", "b": "2"}) == {}
    assert missing_labels({"a": "1", "c": "3"}, {"a": "2"}) == {"a": "1", "c": "3"}


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_tenant_limit_range_gives_no_container_gpus_it_did_not_ask_for(stack: str) -> None:
    """Every tenant LimitRange of every shipped stack, through Kubernetes' defaulting and LimitRanger: a GPU pod
    with a CPU-only sidecar and init container is admitted, and only the container that asked gets GPUs."""
    run = stack_run(stack)
    ranges = [r for r in run.resources if r.type == "kubernetes:core/v1:LimitRange"]
    assert ranges
    for lr in ranges:
        items = limit_range_items(lr.inputs["spec"])
        node_gpus = max(i.max[GPU] for i in items if GPU in i.max)
        trainer = Container("trainer", limits={GPU: node_gpus})
        pod, errors = _admit(Pod("p", (trainer, Container("sidecar")), (Container("init"),)), items)
        assert errors == [], f"{stack} {lr.name}: {errors}"
        assert pod.containers[0].requests[GPU] == node_gpus
        assert pod.containers[1].limits.get(GPU, 0) == 0 and pod.containers[1].requests.get(GPU, 0) == 0
        assert pod.init_containers[0].limits.get(GPU, 0) == 0
        # a CPU-only pod is admitted too, with no GPUs
        cpu_pod, errors = _admit(Pod("cpu", (Container("web"),)), items)
        assert errors == [] and cpu_pod.containers[0].requests.get(GPU, 0) == 0
        # and a pod that asks for more than a node's GPUs is still refused
        _, errors = _admit(Pod("big", (Container("t", limits={GPU: node_gpus + 1}),)), items)
        assert errors
