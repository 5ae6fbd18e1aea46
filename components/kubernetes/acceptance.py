"""``NodeAcceptance``: burn-in tests that new GPU nodes must pass before they take work.

New GPU nodes join tainted ``neocloud.io/acceptance=pending:NoSchedule`` (``components.labels.ACCEPTANCE_TAINT``),
so ordinary pods stay off them. Per scalable unit, one plain Kubernetes Indexed Job runs one pod per node of
the SU (``neocloud.io/pool`` + ``neocloud.io/su`` node selector; each pod takes all of its node's GPUs):

1. ``dcgm-diag`` (init container): ``dcgmi diag -r 2`` (DCGM's medium diagnostic) on the node's GPUs.
2. ``nccl-all-reduce`` (init container): ``torchrun`` across all pods of the SU, NCCL all-reduce of 4 GiB
   bf16 buffers; the slowest rank's bus bandwidth (algbw x 2(n-1)/n, nccl-tests' definition) must reach the
   plan's threshold: the fabric line rate per node (NIC Gbit/s x rails, or the EFA Gbit/s, / 8) times
   ``kubernetes.acceptance_busbw_fraction``.
3. ``untaint`` (container): only if both passed, removes the acceptance taint from its own node through the
   API (JSON patch with a ``test`` op, so it removes exactly that taint), using a ServiceAccount whose
   ClusterRole may get and patch nodes.

A node that fails keeps its taint and its pod's logs say why. Objects scale with SUs, never with nodes: one Job
per SU, and one headless Service shared by all of them for the torchrun rendezvous (an Indexed Job's pods are
``<job>-<index>.<subdomain>``, whatever Service the subdomain names).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from neocloud.plan.kubernetes import AcceptanceTest

from ..labels import ACCEPTANCE_TAINT, GPU_TAINT, LABEL_POOL, LABEL_SU
from .objects import child_opts, meta, name_of, namespace_labels

__all__ = [
    "ACCEPTANCE_NAMESPACE",
    "ALL_REDUCE_BYTES",
    "DCGM_IMAGE",
    "NCCL_PORT",
    "PYTORCH_IMAGE",
    "NodeAcceptance",
    "all_reduce_script",
    "untaint_script",
]

ACCEPTANCE_NAMESPACE = "neocloud-acceptance"
"""Namespace of the acceptance Jobs (Pod Security privileged: the NCCL step needs IPC_LOCK)."""
DCGM_IMAGE = "nvcr.io/nvidia/cloud-native/dcgm:4.6.0-1-ubuntu24.04"
"""The standalone DCGM image GPU Operator v26.7.0 pins (values.yaml ``dcgm.version``)."""
PYTORCH_IMAGE = "nvcr.io/nvidia/pytorch:25.08-py3"
"""NGC PyTorch container (PyTorch with NCCL and the InfiniBand verbs userspace). On EFA the image must also carry
NCCL's EFA transport (aws-ofi-nccl), e.g. an AWS Deep Learning Container: pass it as ``pytorch_image``. Override
with the tag your fleet qualified."""
RENDEZVOUS_SERVICE = "node-acceptance"
"""The headless Service (and pod subdomain) through which each Job's rank 0 is found."""
COMPONENT_LABEL = {"app.kubernetes.io/component": "node-acceptance"}
"""Label every acceptance pod carries; the rendezvous Service selects on it."""
NCCL_PORT = 29500
"""torchrun's default rendezvous port."""
ALL_REDUCE_BYTES = 4 << 30
"""All-reduce buffer size: large enough that bus bandwidth, not latency, dominates (nccl-tests sweeps to GBs)."""

_ALL_REDUCE = '''\
"""NCCL all-reduce bus bandwidth across every rank; exit 1 if the slowest rank is below MIN_BUSBW_GBYTES."""
import json, os, sys, time

import torch
import torch.distributed as dist

dist.init_process_group("nccl")
rank, world = dist.get_rank(), dist.get_world_size()
torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
size = int(os.environ["ALL_REDUCE_BYTES"])
buf = torch.ones(size // 2, dtype=torch.bfloat16, device="cuda")
for _ in range(5):
    dist.all_reduce(buf)
torch.cuda.synchronize()
iters = 20
start = time.perf_counter()
for _ in range(iters):
    dist.all_reduce(buf)
torch.cuda.synchronize()
seconds = (time.perf_counter() - start) / iters
algbw = size / seconds / 1e9
busbw = algbw * 2 * (world - 1) / world if world > 1 else algbw
worst = torch.tensor([busbw], device="cuda")
dist.all_reduce(worst, op=dist.ReduceOp.MIN)
threshold = float(os.environ["MIN_BUSBW_GBYTES"])
ok = worst.item() >= threshold
if int(os.environ["LOCAL_RANK"]) == 0:
    print(json.dumps({"node": os.environ.get("NODE_NAME"), "ranks": world, "bytes": size,
                      "busbw_gbytes": round(busbw, 2), "slowest_busbw_gbytes": round(worst.item(), 2),
                      "min_busbw_gbytes": threshold, "passed": ok}))
dist.destroy_process_group()
sys.exit(0 if ok else 1)
'''

_UNTAINT = '''\
"""Remove this node's acceptance taint (and only it) through the Kubernetes API."""
import json, os, ssl, urllib.request

SA = os.environ.get("SERVICEACCOUNT_DIR", "/var/run/secrets/kubernetes.io/serviceaccount")
node, key = os.environ["NODE_NAME"], os.environ["TAINT_KEY"]
api = os.environ.get("KUBERNETES_API_URL") or (
    f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}")
url = f"{api}/api/v1/nodes/{node}"
token = open(f"{SA}/token").read()
ctx = ssl.create_default_context(cafile=f"{SA}/ca.crt") if api.startswith("https:") else None
headers = {"Authorization": f"Bearer {token}"}
with urllib.request.urlopen(urllib.request.Request(url, headers=headers), context=ctx) as resp:
    taints = json.load(resp)["spec"].get("taints") or []
for i, taint in enumerate(taints):
    if taint["key"] == key:
        patch = [{"op": "test", "path": f"/spec/taints/{i}", "value": taint},
                 {"op": "remove", "path": f"/spec/taints/{i}"}]
        req = urllib.request.Request(url, data=json.dumps(patch).encode(), method="PATCH",
                                     headers={**headers, "Content-Type": "application/json-patch+json"})
        urllib.request.urlopen(req, context=ctx).close()
        print(f"accepted: removed {key} from {node}")
        break
else:
    print(f"{node} has no {key} taint; nothing to do")
'''


def all_reduce_script() -> str:
    """The Python program the ``nccl-all-reduce`` step runs under ``torchrun``."""
    return _ALL_REDUCE


def untaint_script() -> str:
    """The Python program the ``untaint`` step runs."""
    return _UNTAINT


class NodeAcceptance(pulumi.ComponentResource):
    """Acceptance Jobs (one per SU), and the namespace, rendezvous Service, ServiceAccount, RBAC and scripts they
    share."""

    TYPE = "neocloud:kubernetes:NodeAcceptance"

    def __init__(self, name: str, *, tests: Sequence[AcceptanceTest], fabric_resource: str,
                 kubernetes_version: str, pytorch_image: str = PYTORCH_IMAGE, dcgm_image: str = DCGM_IMAGE,
                 depends_on: Sequence[pulumi.Resource] = (),
                 kubernetes_provider: pulumi.ProviderResource | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """``fabric_resource``: the fabric's extended resource (each test says how many of it a pod requests);
        ``depends_on``: the operator Releases whose device plugins must run first."""
        super().__init__(self.TYPE, name, {"tests": [t.to_dict() for t in tests], "taint": ACCEPTANCE_TAINT}, opts)
        k = kubernetes_provider
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            # privileged: the NCCL step needs IPC_LOCK to pin RDMA buffers, which restricted and baseline forbid.
            metadata=meta(ACCEPTANCE_NAMESPACE, labels=namespace_labels("privileged", kubernetes_version)),
            opts=child_opts(self, k),
        )
        namespace = name_of(ns)
        in_ns = child_opts(self, k, [ns])
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta("node-acceptance", namespace=namespace),
                                        opts=in_ns)
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-node-patcher", metadata=meta("neocloud-node-acceptance"),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["nodes"], verbs=["get", "patch"])],
            opts=child_opts(self, k),
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-node-patcher", metadata=meta("neocloud-node-acceptance"),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole",
                                             name="neocloud-node-acceptance"),
            subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name="node-acceptance",
                                              namespace=ACCEPTANCE_NAMESPACE)],
            opts=child_opts(self, k, [role, sa]),
        )
        scripts = k8s.core.v1.ConfigMap(
            f"{name}-scripts", metadata=meta("acceptance-scripts", namespace=namespace),
            data={"all_reduce.py": all_reduce_script(), "untaint.py": untaint_script()}, opts=in_ns,
        )
        service = k8s.core.v1.Service(
            f"{name}-rendezvous", metadata=meta(RENDEZVOUS_SERVICE, namespace=namespace),
            spec=k8s.core.v1.ServiceSpecArgs(
                # Headless, and listing pods before they are ready: ranks must find rank 0 while it waits for them.
                cluster_ip="None", publish_not_ready_addresses=True, selector=dict(COMPONENT_LABEL),
                ports=[k8s.core.v1.ServicePortArgs(name="rendezvous", port=NCCL_PORT, target_port=NCCL_PORT)],
            ),
            opts=in_ns,
        )
        ready = [ns, sa, binding, scripts, service, *depends_on]
        self.jobs: list[k8s.batch.v1.Job] = []
        for test in tests:
            self.jobs.append(k8s.batch.v1.Job(
                f"{name}-{test.name}",
                metadata=meta(test.name, namespace=namespace,
                              labels={LABEL_POOL: test.pool, LABEL_SU: str(test.su)},
                              # Acceptance can take a while or fail on a bad node; `pulumi up` must not block.
                              annotations={"pulumi.com/skipAwait": "true"}),
                spec=_job_spec(test, fabric_resource, pytorch_image, dcgm_image),
                opts=child_opts(self, k, ready),
            ))
        self.register_outputs({})


def _job_spec(test: AcceptanceTest, fabric_resource: str, pytorch_image: str,
              dcgm_image: str) -> k8s.batch.v1.JobSpecArgs:
    core = k8s.core.v1
    gpus = {test.gpu_resource: str(test.gpus_per_node)}
    fabric = {fabric_resource: str(test.fabric_devices)}
    node_name = core.EnvVarArgs(name="NODE_NAME", value_from=core.EnvVarSourceArgs(
        field_ref=core.ObjectFieldSelectorArgs(field_path="spec.nodeName")))
    scripts = core.VolumeMountArgs(name="scripts", mount_path="/acceptance", read_only=True)
    torchrun = (
        f"exec torchrun --nnodes={test.nodes} --nproc-per-node={test.gpus_per_node} "
        f"--node-rank=$JOB_COMPLETION_INDEX --master-addr={test.name}-0.{RENDEZVOUS_SERVICE} "
        f"--master-port={NCCL_PORT} "
        "/acceptance/all_reduce.py"
    )
    return k8s.batch.v1.JobSpecArgs(
        completion_mode="Indexed",
        completions=test.nodes,
        parallelism=test.nodes,
        backoff_limit=0,
        template=core.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                labels={LABEL_POOL: test.pool, LABEL_SU: str(test.su), **COMPONENT_LABEL}),
            spec=core.PodSpecArgs(
                subdomain=RENDEZVOUS_SERVICE,
                service_account_name="node-acceptance",
                restart_policy="Never",
                node_selector={LABEL_POOL: test.pool, LABEL_SU: str(test.su)},
                tolerations=[
                    core.TolerationArgs(key=t["key"], operator="Exists", effect=t["effect"])
                    # the GPU taint is keyed by the vendor resource (labels.gpu_taint)
                    for t in (ACCEPTANCE_TAINT, {"key": test.gpu_resource, "effect": GPU_TAINT["effect"]})
                ],
                init_containers=[
                    core.ContainerArgs(
                        name="dcgm-diag", image=dcgm_image,
                        command=["/bin/sh", "-c", "nv-hostengine && exec dcgmi diag -r 2"],
                        resources=core.ResourceRequirementsArgs(limits=gpus, requests=gpus),
                    ),
                    core.ContainerArgs(
                        name="nccl-all-reduce", image=pytorch_image, command=["/bin/sh", "-c", torchrun],
                        env=[node_name,
                             core.EnvVarArgs(name="MIN_BUSBW_GBYTES", value=f"{test.min_busbw_gbytes:g}"),
                             core.EnvVarArgs(name="ALL_REDUCE_BYTES", value=str(ALL_REDUCE_BYTES))],
                        ports=[core.ContainerPortArgs(name="rendezvous", container_port=NCCL_PORT)],
                        resources=core.ResourceRequirementsArgs(limits={**gpus, **fabric},
                                                                requests={**gpus, **fabric}),
                        security_context=core.SecurityContextArgs(
                            capabilities=core.CapabilitiesArgs(add=["IPC_LOCK"])),
                        volume_mounts=[scripts, core.VolumeMountArgs(name="shm", mount_path="/dev/shm")],
                    ),
                ],
                containers=[core.ContainerArgs(
                    name="untaint", image=pytorch_image, command=["python3", "/acceptance/untaint.py"],
                    env=[node_name, core.EnvVarArgs(name="TAINT_KEY", value=ACCEPTANCE_TAINT["key"])],
                    volume_mounts=[scripts],
                )],
                volumes=[
                    core.VolumeArgs(name="scripts", config_map=core.ConfigMapVolumeSourceArgs(
                        name="acceptance-scripts")),
                    # NCCL's shared-memory transport needs more than the container runtime's 64 MiB /dev/shm.
                    core.VolumeArgs(name="shm", empty_dir=core.EmptyDirVolumeSourceArgs(medium="Memory")),
                ],
            ),
        ),
    )
