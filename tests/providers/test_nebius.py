"""Provider ``nebius`` under the Pulumi mock engine: the real inputs of the network, the GPU cluster on its
InfiniBand fabric, mk8s with CPU and GPU node groups (GB200 in NVLink instance groups of whole racks), the shared
filesystem sized by the planner, and versioned buckets."""

from __future__ import annotations

import base64
import sys
from math import ceil
from typing import Any

import pytest
import yaml

from neocloud import SpecError
from neocloud.offline import ProgramError, ProgramRun, RecordedResource
from tests.conftest import REPO, stack_run
from tests.providers.helpers import one, run_with, stack_config

GPU_CLUSTER = "nebius:index/computeV1GpuCluster:ComputeV1GpuCluster"
NVL_GROUP = "nebius:index/computeV1NvlInstanceGroup:ComputeV1NvlInstanceGroup"
NODE_GROUP = "nebius:index/mk8sV1NodeGroup:Mk8sV1NodeGroup"
MK8S = "nebius:index/mk8sV1Cluster:Mk8sV1Cluster"
FILESYSTEM = "nebius:index/computeV1Filesystem:ComputeV1Filesystem"
BUCKET = "nebius:index/storageV1Bucket:StorageV1Bucket"
SUBNET = "nebius:index/vpcV1Subnet:VpcV1Subnet"
NETWORK = "nebius:index/vpcV1Network:VpcV1Network"


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return stack_run("nebius")


def gpu_groups(run: ProgramRun) -> list[RecordedResource]:
    return [g for g in run.of_type(NODE_GROUP) if "gpuCluster" in g.inputs["template"]]


def h200_cluster(**pool: Any) -> dict[str, Any]:
    """The nebius stack with an HGX H200 pool (a built-in, verified platform) instead of GB200."""
    cluster = stack_config("nebius")["neocloud:cluster"]
    cluster["pools"] = [{"name": "h200", "system": "hgx-h200", "nodes": 30, "spares": 2, **pool}]
    cluster["nebius"].pop("platforms")
    cluster["kubernetes"]["queues"] = [{"team": "research", "gpu_quota": 240}]
    return cluster


def test_gpu_cluster_is_bound_to_the_spec_fabric(run: ProgramRun) -> None:
    gpu_cluster = one(run, GPU_CLUSTER)
    assert gpu_cluster.inputs["infinibandFabric"] == "fabric-6"
    assert gpu_cluster.inputs["parentId"] == "project-e00example0000000000"
    groups = gpu_groups(run)
    assert groups
    for group in groups:
        assert group.inputs["template"]["gpuCluster"] == {"id": f"{gpu_cluster.name}-id"}
        assert gpu_cluster.urn in group.property_dependencies["template"]
    assert run.outputs["nebius"]["infiniband_fabric"] == "fabric-6"


def test_gb200_pool_is_one_nvlink_instance_group_per_whole_rack(run: ProgramRun) -> None:
    plan = run.outputs["plan"]["pools"][0]
    assert (plan["nodes"], plan["spares"], plan["total_nodes"]) == (68, 4, 72)
    nvl_groups = {g.urn: g for g in run.of_type(NVL_GROUP)}
    assert len(nvl_groups) == 4 == plan["nvlink_domains"]
    for group in nvl_groups.values():
        assert group.inputs["size"] == 18 and group.inputs["type"] == "GB200"
    groups = gpu_groups(run)
    assert len(groups) == 4
    assert sum(g.inputs["fixedNodeCount"] for g in groups) == 72
    linked = set()
    for group in groups:
        assert group.inputs["fixedNodeCount"] == 18 and "autoscaling" not in group.inputs
        template = group.inputs["template"]
        (nvl_urn,) = [u for u in group.property_dependencies["template"] if u in nvl_groups]
        assert template["nvlink"] == {"nvlInstanceGroupId": f"{nvl_groups[nvl_urn].name}-id"}
        linked.add(nvl_urn)
        labels = template["metadata"]["labels"]
        assert group.inputs["name"] == f"nvl72-r{labels['neocloud.io/rack']}"
        assert labels["neocloud.io/rack"] == labels["neocloud.io/nvlink-domain"]
        assert labels["neocloud.io/su"] == "0"
        assert template["resources"] == {"platform": "gpu-gb200", "preset": "4gpu-144vcpu-960gb"}
    assert linked == set(nvl_groups), "every rack has its own NVLink instance group"
    domains = {g.inputs["template"]["metadata"]["labels"]["neocloud.io/nvlink-domain"] for g in groups}
    assert domains == {"0", "1", "2", "3"}


def test_kubernetes_layer_topology_uses_labels_the_node_groups_set(run: ProgramRun) -> None:
    levels = run.outputs["kubernetes"]["topology_levels"]["nvl72"]
    assert levels[-1] == "kubernetes.io/hostname" and "neocloud.io/nvlink-domain" in levels
    for group in gpu_groups(run):
        labels = group.inputs["template"]["metadata"]["labels"]
        # nvidia.com/gpu.clique is GPU Feature Discovery's (the GPU Operator runs it), not the node group's
        assert all(level in labels for level in levels[:-1] if level != "nvidia.com/gpu.clique"), (group.name, levels)
    assert "nvidia.com/gpu.clique" in levels
    assert run.outputs["placement_blocks"] == {"nvl72": [{"index": 0, "nodes": 72}]}
    acceptance = run.outputs["kubernetes"]["acceptance"]
    assert [(a["pool"], a["su"], a["nodes"]) for a in acceptance] == [("nvl72", 0, 72)]


def test_shared_filesystem_is_sized_by_the_planner_and_attached(run: ProgramRun) -> None:
    filesystem = one(run, FILESYSTEM)
    capacity_tib = run.outputs["plan"]["storage"]["capacity_tib"]
    assert capacity_tib > 50
    assert filesystem.inputs["sizeGibibytes"] == ceil(capacity_tib * 1024)
    assert filesystem.inputs["type"] == "NETWORK_SSD"
    assert filesystem.inputs["forbidDeletion"] is True and filesystem.protect, "prod keeps the filesystem"
    groups = run.of_type(NODE_GROUP)
    assert len(groups) == len(gpu_groups(run)) + 1  # the CPU node group mounts it too
    for group in groups:
        assert group.inputs["template"]["filesystems"] == [{
            "attachMode": "READ_WRITE", "mountTag": "shared", "existingFilesystem": {"id": f"{filesystem.name}-id"},
        }]
        # The attachment only makes the mount tag a device ("allowing to use it as a device in mount command"):
        # cloud-init mounts it as virtiofs at /mnt/<mount tag> on every boot (fstab, nofail).
        user_data = group.inputs["template"]["cloudInitUserData"]
        assert user_data.startswith("#cloud-config\n")
        assert "shared /mnt/shared virtiofs defaults,nofail 0 2" in user_data
        assert yaml.safe_load(user_data)["runcmd"][0] == "mkdir -p /mnt/shared"


def test_each_training_team_claims_the_filesystem_through_nebius_csi(run: ProgramRun) -> None:
    # Nebius's way to use a shared filesystem from mk8s pods: the csi-mounted-fs-path chart with dataDir on the
    # nodes' mount, and ReadWriteMany claims of storage class csi-mounted-fs-path-sc (Nebius's nebius-solutions-library
    # examples [S]; Nebius's docs page on it is unverified here), one in each training team's namespace.
    (release,) = [r for r in run.of_type("kubernetes:helm.sh/v3:Release") if "csi-mounted-fs-path" in r.inputs["chart"]]
    assert release.inputs["chart"] == "oci://cr.eu-north1.nebius.cloud/mk8s/helm/csi-mounted-fs-path"
    assert release.inputs["version"] == "0.1.3" and release.inputs["namespace"] == "kube-system"
    assert release.inputs["values"] == {"dataDir": "/mnt/shared/csi-mounted-fs-path-data/"}
    (claim,) = run.of_type("kubernetes:core/v1:PersistentVolumeClaim")
    assert claim.inputs["metadata"]["namespace"] == "frontier"
    assert claim.inputs["spec"]["storageClassName"] == "csi-mounted-fs-path-sc"
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteMany"]
    assert release.urn in claim.dependencies  # the driver is installed before the claim


def test_buckets_are_versioned_private_and_expire_old_versions(run: ProgramRun) -> None:
    buckets = {b.inputs["name"]: b for b in run.of_type(BUCKET)}
    assert set(buckets) == {"nb-gb200-datasets", "nb-gb200-checkpoints"}
    days = {"nb-gb200-datasets": 30, "nb-gb200-checkpoints": 7}
    for name, bucket in buckets.items():
        assert bucket.inputs["versioningPolicy"] == "ENABLED"
        (rule,) = bucket.inputs["lifecycleConfiguration"]["rules"]
        assert rule["status"] == "ENABLED"
        assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": days[name]}
        assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
        assert "bucketPolicy" not in bucket.inputs, "no anonymous or extra grants"
        assert bucket.protect


def test_mk8s_cluster_node_groups_and_network(run: ProgramRun) -> None:
    network, subnet, cluster = one(run, NETWORK), one(run, SUBNET), one(run, MK8S)
    assert subnet.inputs["networkId"] == f"{network.name}-id"
    plane = cluster.inputs["controlPlane"]
    assert plane["subnetId"] == f"{subnet.name}-id"
    assert plane["version"] == "1.34" and plane["etcdClusterSize"] == 3  # the stack's: DRA for NVL72 IMEX
    assert plane["endpoints"]["publicEndpoint"]["allowedCidrs"] == ["203.0.113.0/24"]
    assert cluster.protect
    (cpu,) = [g for g in run.of_type(NODE_GROUP) if "gpuCluster" not in g.inputs["template"]]
    assert cpu.inputs["fixedNodeCount"] == 3
    assert cpu.inputs["template"]["resources"] == {"platform": "cpu-d3", "preset": "4vcpu-16gb"}
    for group in run.of_type(NODE_GROUP):
        assert group.inputs["parentId"] == f"{cluster.name}-id"
        assert group.inputs["template"]["networkInterfaces"] == [{"subnetId": f"{subnet.name}-id"}]
    taints = gpu_groups(run)[0].inputs["template"]["taints"]
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in taints
    assert {"key": "neocloud.io/acceptance", "value": "pending", "effect": "NO_SCHEDULE"} in taints
    assert gpu_groups(run)[0].inputs["template"]["gpuSettings"] == {"driversPreset": "cuda12.8"}


def test_kubeconfig_is_a_secret_with_the_cluster_ca_and_cli_credentials(run: ProgramRun) -> None:
    assert "kubeconfig" in run.secret_outputs
    assert one(run, "pulumi:providers:kubernetes").secret_paths == ("kubeconfig",)
    kubeconfig = yaml.safe_load(run.outputs["kubeconfig"])
    cluster = kubeconfig["clusters"][0]["cluster"]
    assert cluster["server"] == "https://nb-gb200-mk8s.mk8s.nebius.invalid"
    assert base64.b64decode(cluster["certificate-authority-data"]).startswith(b"-----BEGIN CERTIFICATE-----")
    exec_ = kubeconfig["users"][0]["user"]["exec"]
    assert exec_["apiVersion"] == "client.authentication.k8s.io/v1"
    assert "nebius iam get-access-token" in exec_["args"][-1]


def test_h200_pool_autoscales_between_min_and_total() -> None:
    cluster = h200_cluster(min_nodes=0)
    cluster["environment"] = "dev"
    run = run_with("nebius", cluster)
    (group,) = gpu_groups(run)
    assert group.inputs["autoscaling"] == {"minNodeCount": 0, "maxNodeCount": 32}
    assert "fixedNodeCount" not in group.inputs and "nvlink" not in group.inputs["template"]
    assert group.inputs["template"]["resources"] == {"platform": "gpu-h200-sxm", "preset": "8gpu-128vcpu-1600gb"}
    assert run.of_type(NVL_GROUP) == []
    fixed = run_with("nebius", h200_cluster())
    assert gpu_groups(fixed)[0].inputs["fixedNodeCount"] == 32


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["fabric"].pop("name"), r"fabric\.name: required with provider 'nebius'"),
        (lambda c: c["nebius"].pop("parent_id"), r"nebius\.parent_id: required"),
        (lambda c: c["nebius"].pop("api_allowed_cidrs"), r"nebius\.api_allowed_cidrs: required in prod"),
        (lambda c: c["nebius"].pop("platforms"), r"nebius\.platforms\.gb200-nvl72: required"),
        (lambda c: c["fabric"].update(kind="roce", switch="SN5600"), r"fabric\.kind: 'roce' with provider 'nebius'"),
        (lambda c: c["nebius"].update(parent_id="tenant-1"), r"nebius\.parent_id: got 'tenant-1'"),
    ],
)
def test_bad_nebius_settings_name_their_path(edit: Any, message: str) -> None:
    cluster = stack_config("nebius")["neocloud:cluster"]
    edit(cluster)
    with pytest.raises(SpecError, match=rf"^neocloud:cluster\.{message}"):
        run_with("nebius", cluster)


def test_other_providers_run_without_pulumi_nebius(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "pulumi_nebius" or m.startswith("pulumi_nebius.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pulumi_nebius", None)  # makes `import pulumi_nebius` fail
    run = run_with("coreweave", stack_config("coreweave")["neocloud:cluster"])
    assert run.of_type("coreweave:index/cksCluster:CksCluster")
    with pytest.raises(ProgramError, match=r"needs the pulumi-nebius package: pip install 'neocloud\[nebius\]'"):
        run_with("nebius", stack_config("nebius")["neocloud:cluster"])


def test_no_credentials_in_stack_config() -> None:
    config = yaml.safe_load((REPO / "stacks" / "Pulumi.nebius.yaml").read_text())["config"]
    assert set(config) == {"neocloud:cluster"}
    assert "token" not in yaml.safe_dump(config).lower()


def test_gb200_racks_carry_their_su() -> None:
    cluster = stack_config("nebius")["neocloud:cluster"]
    cluster["pools"][0].update(nodes=288, spares=0)  # 16 racks = 2 SUs of 8 NVL72 racks (GB200RA)
    cluster["kubernetes"]["queues"] = [{"team": "frontier", "gpu_quota": 1152}]
    run = run_with("nebius", cluster)
    groups = gpu_groups(run)
    assert len(groups) == len(run.of_type(NVL_GROUP)) == 16
    by_su: dict[str, int] = {}
    for group in groups:
        su = group.inputs["template"]["metadata"]["labels"]["neocloud.io/su"]
        by_su[su] = by_su.get(su, 0) + group.inputs["fixedNodeCount"]
    assert by_su == {"0": 144, "1": 144}
    assert run.outputs["placement_blocks"]["nvl72"] == [{"index": 0, "nodes": 144}, {"index": 1, "nodes": 144}]


def _keys(value: Any, path: str = "") -> list[str]:
    """Every mapping key under ``value`` (label and tag maps excluded: their keys are data, not fields)."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append(f"{path}.{key}")
            if key not in ("labels", "tags", "nodeLabels", "annotations"):
                found += _keys(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            found += _keys(item, path)
    return found


@pytest.mark.parametrize("stack", ["coreweave", "nebius"])
def test_nested_inputs_use_the_sdk_field_names(stack: str) -> None:
    """The SDKs camel-case every nested key they know; a snake_case key left over is a field they do not have."""
    run = stack_run(stack)
    cloud = [r for r in run.resources if r.type.split(":")[0] in ("coreweave", "nebius")]
    assert cloud
    unknown = [f"{r.name}{k}" for r in cloud for k in _keys(dict(r.inputs)) if "_" in k.rsplit(".", 1)[-1]]
    assert unknown == []


def test_resources_scale_with_pools_and_racks_not_nodes() -> None:
    def nebius_types(run: ProgramRun) -> list[str]:
        return sorted(r.type for r in run.resources if r.type.startswith("nebius:"))

    small = run_with("nebius", h200_cluster())
    cluster = h200_cluster()
    cluster["pools"][0].update(nodes=1020, spares=4)
    cluster["kubernetes"]["queues"] = [{"team": "research", "gpu_quota": 8160}]
    large = run_with("nebius", cluster)
    assert nebius_types(large) == nebius_types(small)
    assert len(nebius_types(small)) == 9  # network, subnet, GPU cluster, mk8s, filesystem, 2 node groups, 2 buckets
    assert gpu_groups(large)[0].inputs["fixedNodeCount"] == 1024
