"""Every Kubernetes object any stack (or the example) registers validates against upstream schemas, and every
Helm values key exists in the chart's upstream values.yaml."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from components.kubernetes.charts import (
    DRA_DRIVER,
    EFA_DEVICE_PLUGIN,
    ENVOY_GATEWAY,
    GPU_OPERATOR,
    KUEUE,
    NETWORK_OPERATOR,
)
from components.kubernetes.health import NVSENTINEL, NVSENTINEL_DOCUMENTED_VALUES
from components.providers.nebius.profile import FILESYSTEM_CSI_CHART
from tests.conftest import VENDOR
from tests.kubernetes.runs import RUNS, kube_objects, kubernetes_version, objects_of, run_for
from tests.kubernetes.schemas import (
    NOT_OBJECTS,
    UnknownKind,
    api_version_kind,
    crd_schema,
    validate_object,
    values_paths_missing,
)

CHART_VALUES = {
    GPU_OPERATOR.chart: VENDOR / "gpu-operator" / "values.yaml",
    NETWORK_OPERATOR.chart: VENDOR / "network-operator" / "values.yaml",
    EFA_DEVICE_PLUGIN.chart: VENDOR / "aws-efa-device-plugin" / "values.yaml",
    KUEUE.chart: VENDOR / "kueue" / "values.yaml",
    DRA_DRIVER.chart: VENDOR / "nvidia-dra-driver" / "values.yaml",
}
"""Chart -> its upstream values.yaml at the pinned version (shared/vendor)."""

CHART_YAML = {
    NETWORK_OPERATOR.chart: VENDOR / "network-operator" / "Chart.yaml",
    EFA_DEVICE_PLUGIN.chart: VENDOR / "aws-efa-device-plugin" / "Chart.yaml",
    KUEUE.chart: VENDOR / "kueue" / "Chart.yaml",
    DRA_DRIVER.chart: VENDOR / "nvidia-dra-driver" / "Chart.yaml",
}
"""Chart -> upstream Chart.yaml whose ``version`` is the release version (not GPU Operator: its in-repo Chart.yaml
says v1.0.0-devel even at the tag, vendor/SOURCES.md)."""


@pytest.mark.parametrize("name", RUNS)
def test_every_kubernetes_object_validates(name: str, vendor) -> None:
    run = run_for(name)
    version = kubernetes_version(name)
    kinds = {"builtin": 0, "crd": 0}
    for resource in run.resources:
        if not resource.type.startswith("kubernetes:") or resource.type in NOT_OBJECTS:
            continue
        api_version, kind = api_version_kind(resource.type)
        obj = dict(resource.inputs)
        assert (obj.get("apiVersion"), obj.get("kind")) == (api_version, kind), resource.name
        try:
            kinds[validate_object(obj, version)] += 1
        except jsonschema.ValidationError as exc:
            pytest.fail(f"{name}: {resource.type} {resource.name}: {exc.message} at {list(exc.absolute_path)}")
    assert kinds["builtin"] > 0 and kinds["crd"] > 0, kinds


def test_unknown_kinds_and_bad_objects_fail(vendor) -> None:
    with pytest.raises(UnknownKind):
        validate_object({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}, "1.33")
    with pytest.raises(UnknownKind):
        api_version_kind("kubernetes:Widget")
    with pytest.raises(UnknownKind):  # Kueue objects must be v1beta2 or v1beta1, which the CRD serves
        crd_schema("kueue.x-k8s.io", "v1alpha1", "Topology")
    topology = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Topology", "metadata": {"name": "t"},
                "spec": {"levels": []}}
    with pytest.raises(jsonschema.ValidationError):  # 1-16 levels
        validate_object(topology, "1.33")
    queue = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "q"},
             "spec": {"cohort": "default"}}
    with pytest.raises(jsonschema.ValidationError):  # v1beta2 renamed cohort to cohortName
        validate_object(queue, "1.33")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "label": {}}}
    with pytest.raises(jsonschema.ValidationError):
        validate_object(namespace, "1.33")
    policy = {"apiVersion": "mellanox.com/v1alpha1", "kind": "NicClusterPolicy",
              "metadata": {"name": "nic-cluster-policy"}, "spec": {"ofedDriver": {"repository": "nvcr.io/x"}}}
    with pytest.raises(jsonschema.ValidationError):  # the CRD requires image on every operand
        validate_object(policy, "1.33")
    policy["spec"] = {"ofedDriver": {"image": "doca-driver", "imageTag": "x"}}
    with pytest.raises(jsonschema.ValidationError):  # unknown fields are rejected
        validate_object(policy, "1.33")


def test_crd_rules_jsonschema_cannot_evaluate() -> None:
    """x-kubernetes-validations (CEL) that the layer's objects must meet, checked by hand for every run."""
    for name in RUNS:
        run = run_for(name)
        for flavor in objects_of(run, "ResourceFlavor"):
            # '!has(self.topologyName) || self.nodeLabels.size() >= 1'
            assert "topologyName" not in flavor["spec"] or flavor["spec"]["nodeLabels"]
        for queue in objects_of(run, "ClusterQueue"):
            # borrowingLimit needs cohortName
            limits = [r for g in queue["spec"]["resourceGroups"] for f in g["flavors"] for r in f["resources"]
                      if "borrowingLimit" in r]
            assert not limits or queue["spec"].get("cohortName")
        for topology in objects_of(run, "Topology"):
            labels = [level["nodeLabel"] for level in topology["spec"]["levels"]]
            assert len(set(labels)) == len(labels)
            assert "kubernetes.io/hostname" not in labels[:-1]
        for policy in objects_of(run, "BackendTrafficPolicy"):
            spec = policy["spec"]
            assert ("targetRef" in spec) != ("targetRefs" in spec)
            assert all(ref["group"] == "gateway.networking.k8s.io" for ref in spec["targetRefs"])
            lb = spec["loadBalancer"]
            assert "slowStart" not in lb or lb["type"] in ("RoundRobin", "LeastRequest", "BackendUtilization")


def _leaf_paths(values: object, prefix: str = "") -> list[str]:
    if isinstance(values, dict) and values:
        return sorted(p for k, v in values.items() for p in _leaf_paths(v, f"{prefix}{k}."))
    return [prefix.rstrip(".")]


@pytest.mark.parametrize("name", RUNS)
def test_helm_values_keys_exist_upstream(name: str, vendor) -> None:
    releases = run_for(name).of_type("kubernetes:helm.sh/v3:Release")
    assert releases
    for release in releases:
        chart, values = release.inputs["chart"], release.inputs.get("values") or {}
        if chart == ENVOY_GATEWAY.chart:
            assert values == {}, "no Envoy Gateway values.yaml is vendored: set no values"
            continue
        if chart == NVSENTINEL.chart:
            # No NVSentinel chart is vendored (shared/vendor/SOURCES.md): every key must be one its versioned
            # documentation defines.
            assert set(_leaf_paths(values)) <= set(NVSENTINEL_DOCUMENTED_VALUES), "undocumented NVSentinel value"
            continue
        if chart == FILESYSTEM_CSI_CHART:
            # No csi-mounted-fs-path chart is vendored: set only the key Nebius's install line sets (dataDir).
            assert _leaf_paths(values) == ["dataDir"], "undocumented csi-mounted-fs-path value"
            continue
        assert chart in CHART_VALUES, f"unknown chart {chart}"
        upstream = yaml.safe_load(CHART_VALUES[chart].read_text())
        assert values_paths_missing(values, upstream) == [], chart


def test_values_walker_catches_unknown_keys(vendor) -> None:
    upstream = yaml.safe_load((VENDOR / "gpu-operator" / "values.yaml").read_text())
    assert values_paths_missing({"dcgmExporter": {"enabled": True}}, upstream) == []
    assert values_paths_missing({"dcgmExporter": {"enable": True}}, upstream) == ["dcgmExporter.enable"]
    assert values_paths_missing({"dcgm-exporter": {}}, upstream) == ["dcgm-exporter"]
    # free-form maps (empty upstream) accept any key
    assert values_paths_missing({"daemonsets": {"labels": {"a": "b"}}}, upstream) == []


@pytest.mark.parametrize("name", RUNS)
def test_chart_versions_pinned(name: str, vendor) -> None:
    for release in run_for(name).of_type("kubernetes:helm.sh/v3:Release"):
        chart, version = release.inputs["chart"], release.inputs["version"]
        if chart in CHART_YAML:
            assert version == yaml.safe_load(CHART_YAML[chart].read_text())["version"], chart
        elif chart == GPU_OPERATOR.chart:
            assert version == "v26.7.0"
            assert release.inputs["repositoryOpts"]["repo"] == "https://helm.ngc.nvidia.com/nvidia"
        elif chart == NVSENTINEL.chart:
            assert version == "v1.30.0"  # a published NVSentinel release with versioned docs
        elif chart == FILESYSTEM_CSI_CHART:
            assert version == "0.1.3"  # the version Nebius's install line pulls (helm pull ... --version 0.1.3)
        else:
            assert (chart, version) == (ENVOY_GATEWAY.chart, "v1.9.0")


def test_dcgm_exporter_metrics_enabled(vendor) -> None:
    for name in ("staging", "prod"):
        (release,) = [r for r in run_for(name).of_type("kubernetes:helm.sh/v3:Release")
                      if r.inputs["chart"] == GPU_OPERATOR.chart]
        exporter = release.inputs["values"]["dcgmExporter"]
        assert exporter["enabled"] is True and exporter["serviceMonitor"]["enabled"] is True


def test_kueue_configuration_declares_gpu_only_quota_strategy(vendor) -> None:
    for name in ("staging", "prod", "gb200"):
        (release,) = [r for r in run_for(name).of_type("kubernetes:helm.sh/v3:Release")
                      if r.inputs["chart"] == KUEUE.chart]
        ours = yaml.safe_load(release.inputs["values"]["managerConfig"]["controllerManagerConfigYaml"])
        assert (ours["apiVersion"], ours["kind"]) == ("config.kueue.x-k8s.io/v1beta2", "Configuration")
        # ClusterQueues declare only nvidia.com/gpu; without IgnoreUndeclared no CPU/memory pod is admitted.
        assert ours["resources"] == {"quotaCheckStrategy": "IgnoreUndeclared"}
        assert "batch/job" in ours["integrations"]["frameworks"]


def test_rdma_device_plugin_config_selects_the_fabric_adapters(vendor) -> None:
    seen = 0
    for name in RUNS:
        for policy in objects_of(run_for(name), "NicClusterPolicy"):
            config = json.loads(policy["spec"]["rdmaSharedDevicePlugin"]["config"])
            (entry,) = config["configList"]
            assert set(entry) == {"resourceName", "rdmaHcaMax", "selectors"}
            assert entry["resourceName"] == "rdma_shared_device_a" and 1 <= entry["rdmaHcaMax"] <= 63
            # NVIDIA (Mellanox) PCI vendor 15b3, InfiniBand link layer on the InfiniBand stacks.
            assert entry["selectors"] == {"vendors": ["15b3"], "linkTypes": ["infiniband"]}
            seen += 1
    assert seen >= 2  # staging and gb200 (InfiniBand)


@pytest.mark.parametrize("name", RUNS)
def test_objects_run_on_the_runs_kubernetes_provider(name: str) -> None:
    run = run_for(name)
    providers = {r.urn for r in run.of_type("pulumi:providers:kubernetes")}
    assert len(providers) == 1
    for resource in kube_objects(run) + run.of_type("kubernetes:helm.sh/v3:Release"):
        assert resource.provider.rsplit("::", 1)[0] in providers, resource.name
