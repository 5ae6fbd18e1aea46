"""Provider ``digitalocean`` under the Pulumi mock engine: the real inputs of the VPC, DOKS cluster, GPU node pools,
Spaces buckets and NFS share, and bad settings refused with their config path.

Documented behaviour encoded here (sources in components/providers/digitalocean/profile.py):
- GPU Droplet slugs from DigitalOcean's "Droplet features" page; only the fabric-attached (multi-node) sizes have
  an RDMA fabric ("All GPU Droplets have a maximum bandwidth of ... 25 Gbps private").
- The default node pool belongs to the cluster resource and changing it replaces the cluster (pulumi/pulumi#5049),
  so it is a CPU pool, GPU pools are separate ``KubernetesNodePool`` resources, and prod protects the cluster.
- DOKS runs the NVIDIA/AMD device plugins and the RDMA shared device plugin itself (pulumi-digitalocean
  ``KubernetesCluster`` docs), so the layer installs no GPU Operator (AMD pools: test_digitalocean_amd.py).
- An NFS share is at least 50 GiB (pulumi-digitalocean ``Nfs.size``); Spaces buckets take ``acl`` private,
  ``versioning`` and inline ``lifecycleRules``.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from components.providers.digitalocean.profile import DIGITALOCEAN_SIZES, PROFILE
from neocloud import SpecError, load_cluster_spec
from neocloud.offline import ProgramRun
from neocloud.profiles import REGISTRY
from tests.conftest import REPO, stack_run
from tests.providers.helpers import one, run_with, stack_config

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
NODE_POOL = "digitalocean:index/kubernetesNodePool:KubernetesNodePool"
VPC = "digitalocean:index/vpc:Vpc"
BUCKET = "digitalocean:index/spacesBucket:SpacesBucket"
NFS = "digitalocean:index/nfs:Nfs"
VERIFIED_SLUGS = {  # "Droplet features", #gpu-droplets and #contract-gpu-droplet (multi-node)
    "gpu-h100x1-80gb", "gpu-h100x8-640gb", "gpu-h200x1-141gb", "gpu-h200x8-1128gb", "gpu-h100x8-640gb-contracted",
    "gpu-h200x8-1128gb-fabric-contracted", "gpu-mi300x8-1536gb-fabric-contracted",
    "gpu-mi325x8-2048gb-fabric-contracted",
}


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return stack_run("digitalocean")


def cluster(**changes: Any) -> dict[str, Any]:
    spec = stack_config("digitalocean")["neocloud:cluster"]
    spec.update(changes)
    return spec


def test_registered_by_one_registry_line_and_importable_without_pulumi() -> None:
    assert REGISTRY["digitalocean"] == "components.providers.digitalocean.profile"
    code = ("import sys, components.providers.digitalocean.profile; "
            "sys.exit(1 if any(m.startswith('pulumi') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO, timeout=120).returncode == 0


def test_default_sizes_are_the_documented_fabric_attached_slugs() -> None:
    from neocloud.catalog import SYSTEMS

    assert set(DIGITALOCEAN_SIZES.values()) <= VERIFIED_SLUGS
    # Systems with a compute fabric map to the multi-node (fabric-attached, contracted) sizes; the 1-GPU systems
    # (no fabric NIC) to the self-service x1 sizes.
    assert all(s.endswith("contracted") for n, s in DIGITALOCEAN_SIZES.items() if SYSTEMS[n].rails > 0)
    assert {s for n, s in DIGITALOCEAN_SIZES.items() if SYSTEMS[n].rails == 0} == {"gpu-h100x1-80gb",
                                                                                    "gpu-h200x1-141gb"}


def test_vpc_cluster_and_default_cpu_pool(run: ProgramRun) -> None:
    vpc, doks = one(run, VPC), one(run, CLUSTER)
    assert vpc.inputs["region"] == doks.inputs["region"] == "atl1" and vpc.inputs["ipRange"] == "10.110.0.0/20"
    assert doks.inputs["vpcUuid"] == f"{vpc.name}-id"
    assert doks.inputs["version"] == "1.33.1-do.0"  # the latest 1.33. patch from getKubernetesVersions
    assert doks.inputs["autoUpgrade"] is False and doks.inputs["ha"] is True
    default_pool = doks.inputs["nodePool"]
    assert not default_pool["size"].startswith("gpu-") and default_pool["nodeCount"] == 2
    assert doks.inputs["controlPlaneFirewall"] == {"enabled": True, "allowedAddresses": ["203.0.113.0/24"]}
    assert doks.inputs["nvidiaGpuDevicePlugin"] == {"enabled": True}
    assert doks.inputs["rdmaSharedDevicePlugin"] == {"enabled": True}
    assert not doks.protect, "staging: not protected (prod is, below)"


def test_gpu_pool_by_slug_with_labels_taints_and_scaling(run: ProgramRun) -> None:
    pool = one(run, NODE_POOL)
    assert pool.inputs["size"] == "gpu-h100x8-640gb-contracted"
    assert pool.inputs["clusterId"] == f"{one(run, CLUSTER).name}-id"
    assert pool.inputs["autoScale"] is True and pool.inputs["minNodes"] == 0 and pool.inputs["maxNodes"] == 16
    labels = pool.inputs["labels"]
    assert labels["neocloud.io/pool"] == "h100" and labels["neocloud.io/su"] == "0"
    assert pool.inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert run.outputs["placement_blocks"] == {"h100": [{"index": 0, "nodes": 16}]}


def test_doks_manages_the_gpu_stack_so_no_operator_is_installed(run: ProgramRun) -> None:
    charts = {r.inputs.get("chart") for r in run.of_type("kubernetes:helm.sh/v3:Release")}
    assert "gpu-operator" not in charts and "network-operator" not in charts
    # The multi-node NCCL sweep crosses the fabric, so it requests the platform's RDMA device.
    (sweep,) = run.of_type("kubernetes:batch/v1:CronJob")
    pod = sweep.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (nccl,) = [c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == "nccl-sweep"]
    assert nccl["resources"]["limits"]["rdma/hca_shared_devices_a"] == "1"  # the stack's digitalocean.rdma_resource


def test_spaces_buckets_private_versioned_with_lifecycle(run: ProgramRun) -> None:
    buckets = {b.inputs["name"]: b for b in run.of_type(BUCKET)}
    assert set(buckets) == {"example-do-train-datasets", "example-do-train-checkpoints"}
    for bucket in buckets.values():
        assert bucket.inputs["acl"] == "private" and bucket.inputs["versioning"] == {"enabled": True}
        (rule,) = bucket.inputs["lifecycleRules"]
        assert rule["enabled"] is True and rule["abortIncompleteMultipartUploadDays"] == 7
    assert buckets["example-do-train-checkpoints"].inputs["lifecycleRules"][0]["noncurrentVersionExpiration"] == {
        "days": 7}


def test_nfs_share_sized_from_the_plan_with_the_50_gib_floor(run: ProgramRun) -> None:
    share = one(run, NFS)
    assert share.inputs["vpcId"] == f"{one(run, VPC).name}-id" and share.inputs["size"] >= 50
    assert share.inputs["performanceTier"] == "high"
    assert one(run, CLUSTER).inputs["nfsCsiPlugin"] == {"enabled": True}


def test_each_training_team_mounts_the_share_through_a_static_nfs_pv(run: ProgramRun) -> None:
    # Static provisioning with the NFS CSI driver (kubernetes-csi/csi-driver-nfs docs/driver-parameters.md):
    # volumeAttributes server + share, a volumeHandle unique in the cluster ({server}#{share}#{sub-dir}); a PV binds
    # to one claim, so one PV per training team, pre-bound (claimRef/volumeName), Retain.
    pvs = {pv.inputs["spec"]["claimRef"]["namespace"]: pv for pv in run.of_type("kubernetes:core/v1:PersistentVolume")}
    claims = {c.inputs["metadata"]["namespace"]: c for c in run.of_type("kubernetes:core/v1:PersistentVolumeClaim")}
    assert set(pvs) == set(claims) == {"training", "research"}
    share = one(run, NFS)
    handles = set()
    for team, pv in pvs.items():
        spec = pv.inputs["spec"]
        assert spec["csi"]["driver"] == "nfs.csi.k8s.io"
        assert spec["csi"]["volumeAttributes"] == {"server": "192.0.2.10", "share": f"/{share.name}"}
        assert spec["csi"]["volumeHandle"] == f"192.0.2.10#/{share.name}#{team}"
        handles.add(spec["csi"]["volumeHandle"])
        assert spec["persistentVolumeReclaimPolicy"] == "Retain" and spec["accessModes"] == ["ReadWriteMany"]
        assert spec["claimRef"] == {"namespace": team, "name": claims[team].inputs["metadata"]["name"]}
        assert claims[team].inputs["spec"]["volumeName"] == pv.inputs["metadata"]["name"]
        assert claims[team].inputs["spec"]["storageClassName"] == spec["storageClassName"] == ""
    assert len(handles) == 2


def test_prod_protects_the_cluster_buckets_and_share() -> None:
    prod = run_with("digitalocean", cluster(environment="prod"))
    for type_ in (CLUSTER, BUCKET, NFS):
        assert all(r.protect for r in prod.of_type(type_)), type_


def test_kubeconfig_is_a_secret_output(run: ProgramRun) -> None:
    assert run.outputs["kubeconfig"] is not None
    assert "kubeconfig" in run.secret_outputs


@pytest.mark.parametrize(("changes", "expected"), [
    ({"digitalocean": {"rdma_resource": "rdma/x", "system_pool_size": "gpu-h100x1-80gb"}},
     "neocloud:cluster.digitalocean.system_pool_size: 'gpu-h100x1-80gb' is a GPU size"),
    ({"digitalocean": {}}, "neocloud:cluster.digitalocean.rdma_resource: required"),
    ({"digitalocean": {"rdma_resource": "rdma/x", "sizes": {"hgx-h900": "gpu-x"}}},
     "neocloud:cluster.digitalocean.sizes.hgx-h900: unknown system 'hgx-h900'"),
    ({"region": "US-EAST"}, "neocloud:cluster.region: 'US-EAST' is not a DigitalOcean region slug"),
    ({"pools": [{"name": "b200", "system": "hgx-b200", "nodes": 2}]},
     "neocloud:cluster.digitalocean.sizes.hgx-b200: required: no verified DigitalOcean GPU Droplet size"),
    ({"pools": [{"name": "p5", "system": "p5.48xlarge", "nodes": 2}]},
     "neocloud:cluster.pools[0].system: 'p5.48xlarge' is not available with provider 'digitalocean'"),
    # DOKS manages the AMD stack, so an AMD pool is accepted, but not held for an acceptance that cannot run.
    ({"pools": [{"name": "mi", "system": "mi325x-8", "nodes": 2}],
      "digitalocean": {"rdma_resource": "rdma/x", "acceptance_taint": True}},
     "neocloud:cluster.digitalocean.acceptance_taint: per-node acceptance of AMD GPUs"),
    ({"environment": "prod", "digitalocean": {"rdma_resource": "rdma/x"}},
     "neocloud:cluster.digitalocean.api_allowed_cidrs: required in prod"),
    ({"storage": {"filesystem": {"kind": "fsx-lustre"}}},
     "neocloud:cluster.storage.filesystem.kind: 'fsx-lustre' with provider 'digitalocean'; allowed: "
     "digitalocean-nfs, external"),
    ({"fabric": {"kind": "efa"}}, "neocloud:cluster.fabric.kind: 'efa' with provider 'digitalocean'"),
    ({"digitalocean": {"tokens": "x"}}, "neocloud:cluster.digitalocean.tokens: unknown field 'tokens'"),
])
def test_bad_config_names_its_path(changes: dict[str, Any], expected: str) -> None:
    with pytest.raises(SpecError) as info:
        load_cluster_spec(cluster(**changes))
    assert str(info.value).startswith(expected), str(info.value)


def test_bad_config_is_exit_2_with_the_path_and_no_resource(tmp_path: Any) -> None:
    import yaml

    config = stack_config("digitalocean")
    config["neocloud:cluster"]["digitalocean"]["sizes"] = {"hgx-h100": "GPU H100!"}
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).symlink_to(REPO / name)
    (tmp_path / "components").symlink_to(REPO / "components")
    (tmp_path / "neocloud").symlink_to(REPO / "neocloud")
    (stacks / "Pulumi.digitalocean.yaml").write_text(yaml.safe_dump({"config": config}))
    done = subprocess.run([sys.executable, "-m", "neocloud", "plan", "digitalocean", "--project-dir", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("neocloud: error: neocloud:cluster.digitalocean.sizes.hgx-h100: got 'GPU H100!'")
    assert "Traceback" not in done.stderr


def test_profile_facts() -> None:
    assert PROFILE.platform_manages_gpu_stack and PROFILE.system_kinds == ("hgx", "amd", "gpu-vm")
    assert "digitalocean-nfs" in PROFILE.filesystem_kinds
