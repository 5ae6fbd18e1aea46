"""NVIDIA's DRA driver for GPUs (ComputeDomains, IMEX) on multi-node NVLink pools, against the vendored v25.12.0
chart (Chart.yaml, values.yaml) and ComputeDomain CRD (shared/vendor/nvidia-dra-driver), NVIDIA's install guide
(k8s-dra-driver-gpu docs/install.md, docs/prerequisites.md, docs/compute-domains.md) and the EKS user guide
(ml-eks-nvidia-ultraserver)."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
import yaml

from components.kubernetes.charts import DRA_DRIVER, GPU_OPERATOR_DRIVER_ROOT, dra_driver_values
from neocloud import SpecError, load_cluster_spec
from neocloud.profiles import all_profiles, profile
from neocloud.vocabulary import DRA_DRIVER_NAMESPACE, GPU_CLIQUE, PLATFORM_NAMESPACES
from tests.conftest import KUBERNETES_STACKS, REPO, VENDOR
from tests.kubernetes.cel import crd_rule_failures, with_defaults
from tests.kubernetes.runs import cluster_spec, objects_of, run_for
from tests.kubernetes.schemas import crd_schema, validate_object, values_paths_missing
from tests.providers.helpers import run_with

DRA = VENDOR / "nvidia-dra-driver"
CLIQUE = GPU_CLIQUE


def _upstream_values() -> dict[str, Any]:
    return yaml.safe_load((DRA / "values.yaml").read_text())


def _releases(run: Any) -> list[Any]:
    return [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == DRA_DRIVER.chart]


def _minor(version: str) -> tuple[int, int]:
    major, minor = re.match(r"\D*(\d+)\.(\d+)", version).groups()  # type: ignore[union-attr]
    return int(major), int(minor)


def test_chart_pin_is_the_vendored_chart(vendor: Any) -> None:
    chart = yaml.safe_load((DRA / "Chart.yaml").read_text())
    assert (DRA_DRIVER.chart, DRA_DRIVER.version) == (chart["name"], chart["version"])
    # NVIDIA's install guide: `helm repo add nvidia https://helm.ngc.nvidia.com/nvidia`, `--namespace
    # nvidia-dra-driver-gpu`
    assert DRA_DRIVER.repo == "https://helm.ngc.nvidia.com/nvidia"
    assert DRA_DRIVER.namespace == DRA_DRIVER_NAMESPACE and DRA_DRIVER_NAMESPACE in PLATFORM_NAMESPACES


@pytest.mark.parametrize("operator_driver", [True, False])
@pytest.mark.parametrize("control_plane_nodes", [True, False])
def test_values_exist_upstream_and_change_what_they_mean_to(vendor: Any, operator_driver: bool,
                                                            control_plane_nodes: bool) -> None:
    upstream = _upstream_values()
    values = dra_driver_values(operator_driver=operator_driver, control_plane_nodes=control_plane_nodes)
    assert values_paths_missing(values, upstream) == []
    # GPUs stay with the device plugin: the chart allocates GPUs by default, ComputeDomains stay on
    assert upstream["resources"]["gpus"]["enabled"] is True and values["resources"]["gpus"]["enabled"] is False
    assert values["resources"]["computeDomains"]["enabled"] is True
    assert "gpuResourcesEnabledOverride" not in values  # docs/install.md: only for GPU allocation
    # docs/install.md nvidiaDriverRoot: "/run/nvidia/driver" when the GPU Operator manages the driver, "/" on hosts
    assert upstream["nvidiaDriverRoot"] == "/"
    assert values["nvidiaDriverRoot"] == (GPU_OPERATOR_DRIVER_ROOT if operator_driver else "/")
    # the kubelet plugin runs on the layer's tainted GPU nodes (EKS dra-values.yaml tolerates nvidia.com/gpu)
    keys = {t["key"] for t in values["kubeletPlugin"]["tolerations"]}
    assert {"nvidia.com/gpu", "neocloud.io/acceptance"} <= keys
    # the chart pins the controller to control-plane nodes, which managed Kubernetes does not have
    def terms(affinity: dict[str, Any]) -> list[dict[str, Any]]:
        return affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]

    [default] = terms(upstream["controller"]["affinity"])
    assert default["matchExpressions"] == [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"}]
    if control_plane_nodes:
        assert "controller" not in values
    else:  # the EKS guide's dra-values.yaml drops that affinity and the tolerations: any non-control-plane node
        assert terms(values["controller"]["affinity"]) == [{"matchExpressions": [
            {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}]}]
        assert values["controller"]["tolerations"] == []


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_driver_only_where_a_pool_has_multi_node_nvlink(stack: str) -> None:
    run = run_for(stack)
    spec = load_cluster_spec(cluster_spec(stack))
    multi_node = any(spec.system(p).nvlink_domain_nodes > 1 for p in spec.pools)
    installs = multi_node and spec.profile.compute_domains == "dra-driver"
    assert len(_releases(run)) == (1 if installs else 0), stack
    # (a None fact is not an output: the engine drops nulls)
    assert run.outputs["kubernetes"].get("compute_domains") == (spec.profile.compute_domains if multi_node else None)
    namespaces = {o["metadata"]["name"] for o in objects_of(run, "Namespace")}
    assert (DRA_DRIVER_NAMESPACE in namespaces) == installs


def test_shipped_nvl72_stacks_get_the_driver_configured_for_their_nodes() -> None:
    # baremetal: the GPU Operator installs the driver, the control plane is a set of nodes
    (gb200,) = _releases(run_for("gb200"))
    assert gb200.inputs["values"]["nvidiaDriverRoot"] == GPU_OPERATOR_DRIVER_ROOT
    assert "controller" not in gb200.inputs["values"]
    # Nebius with a drivers preset: the driver is on the host; mk8s has no control-plane nodes
    (nebius,) = _releases(run_for("nebius"))
    assert nebius.inputs["values"]["nvidiaDriverRoot"] == "/"
    assert nebius.inputs["values"]["controller"]["tolerations"] == []
    namespace = next(o for o in objects_of(run_for("gb200"), "Namespace")
                     if o["metadata"]["name"] == DRA_DRIVER_NAMESPACE)
    # the kubelet plugin is privileged (vendored values.yaml), so its namespace admits privileged pods
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_coreweave_nvl72_uses_the_platforms_driver() -> None:
    """CoreWeave runs the DRA driver for NVL72 itself ("CoreWeave uses the NVIDIA DRA Driver as its mechanism for
    assigning IMEX channels", docs.coreweave.com imex-dra-scheduling): nothing is installed on CKS."""
    cluster = cluster_spec("coreweave")
    cluster["pools"] = [{"name": "nvl72", "system": "gb200-nvl72", "nodes": 68, "spares": 4}]
    cluster["fabric"]["nodes_per_su"] = 36
    cluster["kubernetes"]["queues"] = [{"team": "pretraining", "gpu_quota": 272}]
    run = run_with("coreweave", cluster)
    assert _releases(run) == [] and run.outputs["kubernetes"]["compute_domains"] == "platform"
    assert profile("coreweave").compute_domains == "platform"


def test_team_roles_may_create_compute_domains_only_on_multi_node_nvlink_pools() -> None:
    def compute_domain_rules(stack: str) -> list[dict[str, Any]]:
        roles = [o for o in objects_of(run_for(stack), "Role") if o["metadata"]["name"].endswith("-member")]
        assert roles
        return [r for o in roles for r in o["rules"] if "resource.nvidia.com" in r["apiGroups"]]

    (rule,) = compute_domain_rules("gb200")
    assert rule["resources"] == ["computedomains"] and "create" in rule["verbs"]
    assert compute_domain_rules("prod") == []


def test_kubernetes_floor_is_dra(vendor: Any) -> None:
    """The chart installs on Kubernetes >= 1.32 (its Chart.yaml kubeVersion); DRA is on by default from 1.34 and
    needs its feature gate on 1.32/1.33 (docs/prerequisites.md); EKS enables it from 1.33 for P6e-GB200."""
    floor = _minor(yaml.safe_load((DRA / "Chart.yaml").read_text())["kubeVersion"])
    assert floor == (1, 32)
    for p in all_profiles():
        if p.compute_domains == "dra-driver":
            assert _minor(p.dra_kubernetes_from) >= floor, p.name
    assert profile("baremetal").dra_kubernetes_from == "1.34" and profile("aws").dra_kubernetes_from == "1.33"
    raw = cluster_spec("gb200")
    raw["kubernetes"]["version"] = "1.33"
    with pytest.raises(SpecError) as error:
        load_cluster_spec(raw)
    assert str(error.value).startswith("neocloud:cluster.kubernetes.version: '1.33' cannot run pools[0] "
                                       "(gb200-nvl72): its multi-node NVLink needs IMEX")
    assert "allowed: 1.34 to 1.37" in str(error.value)
    raw = cluster_spec("staging")  # DGX H100: single-node NVLink domains need no DRA
    raw["kubernetes"]["version"] = "1.31"
    load_cluster_spec(raw)


def _documented(kind: str) -> list[dict[str, Any]]:
    text = (REPO / "docs" / "kubernetes.md").read_text()
    docs = [d for block in re.findall(r"```yaml\n(.*?)```", text, re.S) for d in yaml.safe_load_all(block) if d]
    return [d for d in docs if d.get("kind") == kind]


def test_documented_compute_domain_validates_against_the_crd(vendor: Any) -> None:
    """The ComputeDomain docs/kubernetes.md gives teams is valid for the vendored v25.12.0 CRD, and its job claims
    the ResourceClaimTemplate the ComputeDomain names and requires the clique level."""
    (domain,) = _documented("ComputeDomain")
    assert validate_object(domain, "1.34") == "crd"
    template = domain["spec"]["channel"]["resourceClaimTemplate"]["name"]
    job = next(j for j in _documented("Job") if j["metadata"]["name"] == domain["metadata"]["name"])
    validate_object(job, "1.34")
    pod = job["spec"]["template"]
    assert pod["metadata"]["annotations"]["kueue.x-k8s.io/podset-required-topology"] == "nvidia.com/gpu.clique"
    claims = {c["name"]: c["resourceClaimTemplateName"] for c in pod["spec"]["resourceClaims"]}
    assert template in claims.values()
    assert all(c["name"] in claims for ctr in pod["spec"]["containers"] for c in ctr["resources"].get("claims", []))
    schema = crd_schema("resource.nvidia.com", "v1beta1", "ComputeDomain")
    for broken in ({"numNodes": 0}, {"numNodes": 0, "channel": {}},
                   {"numNodes": 0, "channel": {"resourceClaimTemplate": {"name": "x"}, "allocationMode": "Some"}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**domain, "spec": broken}, schema)


@pytest.mark.parametrize("stack", ["gb200", "nebius"])
def test_clique_level_sits_inside_the_domain_and_passes_the_topology_crd_rules(vendor: Any, stack: str) -> None:
    """Kueue Topology levels go "from the highest to the lowest" with kubernetes.io/hostname only last (Kueue docs,
    Topology Aware Scheduling; the vendored v0.19.2 Topology CRD's CEL rules, evaluated with cel-python): the
    clique (a partition of the NVLink domain) comes after the domain and before the host."""
    (topology,) = objects_of(run_for(stack), "Topology")
    labels = [level["nodeLabel"] for level in topology["spec"]["levels"]]
    assert labels.index("neocloud.io/nvlink-domain") < labels.index(CLIQUE) == len(labels) - 2
    schema = crd_schema("kueue.x-k8s.io", "v1beta2", "Topology")
    assert crd_rule_failures(with_defaults(topology, schema), schema) == []
    misplaced = {**topology, "spec": {"levels": [{"nodeLabel": "kubernetes.io/hostname"}, {"nodeLabel": CLIQUE}]}}
    assert any("kubernetes.io/hostname" in f for f in crd_rule_failures(with_defaults(misplaced, schema), schema))
