"""``NodeAcceptance``: every GPU node that joins -- at any time: the first ``pulumi up``, an autoscaler scale-up,
an EKS node auto-repair replacement, a swapped tray -- is checked on its own before it takes work.

New GPU nodes join tainted ``neocloud.io/acceptance=pending:NoSchedule`` and labelled ``neocloud.io/acceptance=
pending`` (their node group, NodePool or kubelet flags set both). Per pool, one DaemonSet selects the labelled
nodes of the pool (a DaemonSet cannot select by taint) and tolerates exactly the acceptance taint and the GPU taint,
so it runs one pod on each pending node and on no other. The pod takes all of its node's GPUs and runs, each step
under its own deadline and each writing its result to a shared ``emptyDir``:

1. ``verify``: ``neocloud node verify``'s checks (the same code, bundled by ``neocloud.node.acceptance_program``)
   on the node's ``nvidia-smi -q -x``, ``nvidia-smi topo -m`` and ``/sys/class/infiniband``: GPU model, count and
   memory; ECC, retired pages and row remapping; NVSwitch fabric; driver; NVLink links; NIC count, GPU-NIC PCIe
   affinity, link state and rate.
2. ``dcgm-diag``: ``dcgmi diag -r LEVEL -j`` (default level 3, DCGM's long hardware diagnostics, ~15 minutes; level
   2 is only the medium "epilogue" check; NVIDIA DCGM dcgmi diag reference) against a host engine the container
   starts on a private Unix socket, under ``timeout``.
3. ``nccl``: an intra-node NCCL all-reduce over NVLink whose bus bandwidth must reach the plan's threshold (the
   catalog's NVLink GB/s per GPU, one direction, x ``kubernetes.acceptance_busbw_fraction``).
4. ``report``: all passed -> the node condition ``NeocloudAcceptance=True``, then the taint and label are removed
   (JSON patch with ``test`` ops) and the DaemonSet no longer selects the node. Anything failed or missing -> the
   taint stays, the condition is ``False`` with the reason, a Warning Event is posted on the node, and after
   ``retry_hours`` the pod deletes itself so the DaemonSet runs the checks again.

The ServiceAccount may get/patch nodes and patch ``nodes/status`` (cluster-wide: a DaemonSet's nodes are not known
in advance), and create Events and delete pods in its own namespace.

Multi-node NCCL is a separate, periodic sweep per SU (a CronJob; objects grow with SUs): an Indexed Job across the
SU's accepted nodes pairs each node with both neighbours and names the node whose pairs are slow, instead of one
all-or-nothing ring. It needs the SU's GPUs idle (run it in a maintenance window; ``kubernetes.acceptance.
sweep_schedule``). Objects: per pool one DaemonSet, per SU one CronJob, and one namespace, ServiceAccount,
ClusterRole(+Binding), two Roles(+Bindings), ConfigMap and headless Service in all -- never one per node.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from neocloud.node import acceptance_program
from neocloud.plan.kubernetes import AcceptanceTest, PoolAcceptance

from ..labels import ACCEPTANCE_LABEL, ACCEPTANCE_TAINT, GPU_TAINT, LABEL_POOL, LABEL_SU
from .objects import child_opts, meta, name_of, namespace_labels

__all__ = [
    "ACCEPTANCE_NAMESPACE",
    "ALL_REDUCE_BYTES",
    "DCGM_IMAGE",
    "NCCL_PORT",
    "NodeAcceptance",
    "intranode_script",
    "sweep_script",
]

ACCEPTANCE_NAMESPACE = "neocloud-acceptance"
"""Namespace of the acceptance pods (Pod Security privileged: DCGM and NCCL need the node's devices, IPC_LOCK)."""
DCGM_IMAGE = "nvcr.io/nvidia/cloud-native/dcgm:4.6.0-1-ubuntu24.04"
"""The standalone DCGM image GPU Operator v26.7.0 pins (values.yaml ``dcgm.version``)."""
RENDEZVOUS_SERVICE = "node-acceptance"
"""The headless Service (and pod subdomain) through which each sweep Job's rank 0 is found."""
COMPONENT_LABEL = {"app.kubernetes.io/component": "node-acceptance"}
SWEEP_LABEL = {"app.kubernetes.io/component": "nccl-sweep"}
NCCL_PORT = 29500
"""torchrun's default rendezvous port."""
DCGM_PORT = 5557
"""The acceptance pod's private DCGM host engine port (5555 is the node-wide host engine's default)."""
ALL_REDUCE_BYTES = 4 << 30
"""All-reduce buffer size: large enough that bus bandwidth, not latency, dominates (nccl-tests sweeps to GBs)."""
SERVICE_ACCOUNT = "node-acceptance"
PROGRAM = "/acceptance/node_acceptance.py"
RESULTS = "/results"

_INTRANODE = '''\
"""Intra-node NCCL all-reduce over NVLink: bus bandwidth of this node's GPUs against MIN_BUSBW_GBYTES.
Writes RESULT (JSON) and exits 0 once written; the report step decides."""
import json, os, time

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
# nccl-tests' bus bandwidth for all-reduce: algbw x 2(n-1)/n (doc/PERFORMANCE.md).
busbw = algbw * 2 * (world - 1) / world if world > 1 else algbw
worst = torch.tensor([busbw], device="cuda")
dist.all_reduce(worst, op=dist.ReduceOp.MIN)
threshold = float(os.environ["MIN_BUSBW_GBYTES"])
if rank == 0:
    ok = worst.item() >= threshold
    problems = [] if ok else [f"nccl: intra-node all-reduce bus bandwidth {worst.item():.1f} GB/s on {world} GPUs, "
                              f"expected at least {threshold:g} GB/s"]
    with open(os.environ["RESULT"], "w") as out:
        json.dump({"step": "nccl", "passed": ok, "problems": problems, "busbw_gbytes": round(worst.item(), 2),
                   "gpus": world, "bytes": size}, out)
dist.destroy_process_group()
'''

_SWEEP = '''\
"""Multi-node NCCL sweep of one SU that names the slow node: every node runs a 2-node all-reduce with its right
neighbour and with its left one (two phases, each node in one pair per phase); a node whose pairs are both
below MIN_BUSBW_GBYTES is the slow one (one slow pair alone does not say which side is slow)."""
import json, os, sys, time

import torch
import torch.distributed as dist

dist.init_process_group("nccl")
rank, world = dist.get_rank(), dist.get_world_size()
local = int(os.environ["LOCAL_RANK"])
torch.cuda.set_device(local)
gpus = int(os.environ["LOCAL_WORLD_SIZE"])
nodes = world // gpus
me = rank // gpus
size = int(os.environ["ALL_REDUCE_BYTES"])
threshold = float(os.environ["MIN_BUSBW_GBYTES"])
node_name = os.environ.get("NODE_NAME", str(me))
names = [None] * world
dist.all_gather_object(names, node_name)
node_names = [names[n * gpus] for n in range(nodes)]


def pairs(phase):
    if nodes < 2:
        return []
    if nodes == 2:
        return [(0, 1)] if phase == 0 else []
    return [(a, (a + 1) % nodes) for a in range(phase, nodes - (nodes % 2 if phase == 0 else 0), 2)]


results = {}
for phase in (0, 1):
    groups = {}
    for a, b in pairs(phase):
        ranks = list(range(a * gpus, (a + 1) * gpus)) + list(range(b * gpus, (b + 1) * gpus))
        groups[(a, b)] = dist.new_group(ranks)  # every rank creates every group, in the same order
    mine = next((p for p in groups if me in p), None)
    if mine is not None:
        group = groups[mine]
        buf = torch.ones(size // 2, dtype=torch.bfloat16, device="cuda")
        for _ in range(3):
            dist.all_reduce(buf, group=group)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(10):
            dist.all_reduce(buf, group=group)
        torch.cuda.synchronize()
        n = 2 * gpus
        busbw = size / ((time.perf_counter() - start) / 10) / 1e9 * 2 * (n - 1) / n
        results[mine] = busbw
    dist.barrier()
gathered = [None] * world
dist.all_gather_object(gathered, results)
if rank == 0:
    pair_bw = {}
    for r in gathered:
        for pair, bw in r.items():
            pair_bw[pair] = min(bw, pair_bw.get(pair, bw))
    slow_pairs = {p for p, bw in pair_bw.items() if bw < threshold}
    per_node = {node_names[n]: [round(bw, 2) for p, bw in sorted(pair_bw.items()) if n in p] for n in range(nodes)}
    slow = [node_names[n] for n in range(nodes)
            if [p for p in pair_bw if n in p] and all(p in slow_pairs for p in pair_bw if n in p)]
    print(json.dumps({"nodes": nodes, "min_busbw_gbytes": threshold, "pair_busbw_gbytes": per_node,
                      "slow_pairs": [[node_names[a], node_names[b]] for a, b in sorted(slow_pairs)],
                      "slow_nodes": slow, "passed": not slow_pairs}))
    code = 0 if not slow_pairs else 1
else:
    code = 0
dist.destroy_process_group()
sys.exit(code)
'''


def intranode_script() -> str:
    """The Python program the ``nccl`` step runs under ``torchrun --standalone``."""
    return _INTRANODE


def sweep_script() -> str:
    """The Python program each sweep pod runs under ``torchrun`` across the SU."""
    return _SWEEP


class NodeAcceptance(pulumi.ComponentResource):
    """Per-node acceptance DaemonSets (one per pool), per-SU NCCL sweeps, and what they share."""

    TYPE = "neocloud:kubernetes:NodeAcceptance"

    def __init__(self, name: str, *, pools: Sequence[PoolAcceptance], sweeps: Sequence[AcceptanceTest],
                 kubernetes_version: str, sweep_schedule: str, dcgm_image: str = DCGM_IMAGE,
                 depends_on: Sequence[pulumi.Resource] = (),
                 kubernetes_provider: pulumi.ProviderResource | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """``sweeps`` carry the NIC resource each sweep requests (the plan's ``pool_fabric_resource``);
        ``depends_on``: the operator Releases whose device plugins must run first."""
        super().__init__(self.TYPE, name, {"neocloud": {
            "pools": [p.to_dict() for p in pools], "sweeps": [t.to_dict() for t in sweeps],
            "taint": ACCEPTANCE_TAINT, "label": ACCEPTANCE_LABEL, "sweep_schedule": sweep_schedule}}, opts)
        k = kubernetes_provider
        rbac = k8s.rbac.v1
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=meta(ACCEPTANCE_NAMESPACE, labels=namespace_labels("privileged", kubernetes_version)),
            opts=child_opts(self, k),
        )
        namespace = name_of(ns)
        in_ns = child_opts(self, k, [ns])
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta(SERVICE_ACCOUNT, namespace=namespace),
                                        opts=in_ns)
        subject = [rbac.SubjectArgs(kind="ServiceAccount", name=SERVICE_ACCOUNT, namespace=ACCEPTANCE_NAMESPACE)]
        role = rbac.ClusterRole(
            f"{name}-node-patcher", metadata=meta("neocloud-node-acceptance"),
            rules=[rbac.PolicyRuleArgs(api_groups=[""], resources=["nodes"], verbs=["get", "patch"]),
                   rbac.PolicyRuleArgs(api_groups=[""], resources=["nodes/status"], verbs=["patch"])],
            opts=child_opts(self, k),
        )
        binding = rbac.ClusterRoleBinding(
            f"{name}-node-patcher", metadata=meta("neocloud-node-acceptance"),
            role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole",
                                      name="neocloud-node-acceptance"),
            subjects=subject, opts=child_opts(self, k, [role, sa]),
        )
        def namespaced_grant(suffix: str, role_name: str, resource: str, verb: str) -> k8s.rbac.v1.RoleBinding:
            """A Role of one verb on one core resource in the acceptance namespace, bound to its service account."""
            grant = rbac.Role(
                f"{name}-{suffix}", metadata=meta(role_name, namespace=namespace),
                rules=[rbac.PolicyRuleArgs(api_groups=[""], resources=[resource], verbs=[verb])], opts=in_ns,
            )
            return rbac.RoleBinding(
                f"{name}-{suffix}", metadata=meta(role_name, namespace=namespace),
                role_ref=rbac.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="Role", name=role_name),
                subjects=subject, opts=child_opts(self, k, [grant, sa]),
            )

        # Events about a node may live in any namespace (`kubectl describe node` lists a cluster-scoped object's
        # events from all namespaces), so they go to the acceptance namespace and nothing is granted in `default`.
        events_binding = namespaced_grant("events", "node-acceptance-events", "events", "create")
        pods_binding = namespaced_grant("retry", "node-acceptance-retry", "pods", "delete")
        data = {"node_acceptance.py": acceptance_program(), "nccl_intranode.py": intranode_script(),
                "nccl_sweep.py": sweep_script()}
        data.update({f"expect-{p.pool}.json": json.dumps(p.expectation, sort_keys=True) for p in pools
                     if p.expectation is not None})
        scripts = k8s.core.v1.ConfigMap(f"{name}-scripts", metadata=meta("acceptance-scripts", namespace=namespace),
                                        data=data, opts=in_ns)
        service = k8s.core.v1.Service(
            f"{name}-rendezvous", metadata=meta(RENDEZVOUS_SERVICE, namespace=namespace),
            spec=k8s.core.v1.ServiceSpecArgs(
                # Headless, and listing pods before they are ready: ranks must find rank 0 while it waits for them.
                cluster_ip="None", publish_not_ready_addresses=True, selector=dict(SWEEP_LABEL),
                ports=[k8s.core.v1.ServicePortArgs(name="rendezvous", port=NCCL_PORT, target_port=NCCL_PORT)],
            ),
            opts=in_ns,
        )
        ready = [ns, sa, binding, events_binding, pods_binding, scripts, *depends_on]
        self.daemonsets = [
            k8s.apps.v1.DaemonSet(
                f"{name}-{p.pool}",
                metadata=meta(p.name, namespace=namespace, labels={LABEL_POOL: p.pool},
                              # Nodes may be pending for a long time (or none may exist): `pulumi up` must not wait.
                              annotations={"pulumi.com/skipAwait": "true"}),
                spec=_daemonset_spec(p, dcgm_image), opts=child_opts(self, k, ready),
            )
            for p in pools
        ]
        self.sweeps = [
            k8s.batch.v1.CronJob(
                f"{name}-sweep-{t.pool}-su{t.su}",
                metadata=meta(f"sweep-{t.pool}-su{t.su}", namespace=namespace,
                              labels={LABEL_POOL: t.pool, LABEL_SU: str(t.su)}),
                spec=k8s.batch.v1.CronJobSpecArgs(
                    schedule=sweep_schedule, concurrency_policy="Forbid", starting_deadline_seconds=3600,
                    successful_jobs_history_limit=3, failed_jobs_history_limit=3,
                    job_template=k8s.batch.v1.JobTemplateSpecArgs(
                        metadata=k8s.meta.v1.ObjectMetaArgs(labels={LABEL_POOL: t.pool, LABEL_SU: str(t.su)}),
                        spec=_sweep_job_spec(t),
                    ),
                ),
                opts=child_opts(self, k, [*ready, service]),
            )
            for t in sweeps
        ]
        self.register_outputs({})


def _env_node_name() -> k8s.core.v1.EnvVarArgs:
    core = k8s.core.v1
    return core.EnvVarArgs(name="NODE_NAME", value_from=core.EnvVarSourceArgs(
        field_ref=core.ObjectFieldSelectorArgs(field_path="spec.nodeName")))


def _step(name: str, image: str, command: list[str], *, mounts: Sequence[k8s.core.v1.VolumeMountArgs],
          resources: k8s.core.v1.ResourceRequirementsArgs | None = None, env: Mapping[str, str] | None = None,
          env_from_fields: Mapping[str, str] | None = None) -> k8s.core.v1.ContainerArgs:
    """One acceptance step: a container running ``command`` with the shared volumes it reads and writes, its
    GPUs (``resources``), plain environment values and values from the pod's own fields (downward API)."""
    core = k8s.core.v1
    variables = [
        *(core.EnvVarArgs(name=key, value_from=core.EnvVarSourceArgs(
            field_ref=core.ObjectFieldSelectorArgs(field_path=path))) for key, path in (env_from_fields or {}).items()),
        *(core.EnvVarArgs(name=key, value=value) for key, value in (env or {}).items()),
    ]
    return core.ContainerArgs(name=name, image=image, command=command, env=variables or None, resources=resources,
                              volume_mounts=list(mounts))


def _daemonset_spec(p: PoolAcceptance, dcgm_image: str) -> k8s.apps.v1.DaemonSetSpecArgs:
    core = k8s.core.v1
    gpus = {p.gpu_resource: str(p.gpus_per_node)}
    labels = {LABEL_POOL: p.pool, **COMPONENT_LABEL}
    scripts = core.VolumeMountArgs(name="scripts", mount_path="/acceptance", read_only=True)
    results = core.VolumeMountArgs(name="results", mount_path=RESULTS)
    gpu_resources = core.ResourceRequirementsArgs(limits=gpus, requests=gpus)
    # A host engine of the pod's own on loopback (nv-hostengine --port/--bind-interface, DCGM reference), so the
    # diagnostic does not depend on a node-wide DCGM being installed.
    dcgm = (f"nv-hostengine --port {DCGM_PORT} --bind-interface 127.0.0.1 && "
            f"timeout {p.dcgm_timeout_seconds} dcgmi diag --host 127.0.0.1:{DCGM_PORT} -r {p.dcgm_level} -j "
            f"> {RESULTS}/dcgm.raw; echo $? > {RESULTS}/dcgm.rc")
    nccl = (f"timeout {p.nccl_timeout_seconds} torchrun --standalone --nproc-per-node={p.gpus_per_node} "
            f"/acceptance/nccl_intranode.py || true")
    if p.nccl_not_applicable is not None:
        # One GPU: nothing to all-reduce between GPUs (PoolAcceptance.nccl_not_applicable); recorded, not measured.
        nccl = "echo " + json.dumps(json.dumps({"step": "nccl", "passed": True, "problems": [],
                                                 "not_applicable": p.nccl_not_applicable})) + f" > {RESULTS}/nccl.json"
    elif p.min_busbw_gbytes is None:
        problem = (f"nccl: no intra-node bus-bandwidth threshold for {p.system}: set "
                   f"catalog.systems.{p.system}.nvlink_gbps_per_gpu")
        nccl = "echo " + json.dumps(json.dumps({"step": "nccl", "passed": False, "problems": [problem]})) + \
            f" > {RESULTS}/nccl.json"
    report = (f"python3 {PROGRAM} report --results {RESULTS} && exec sleep infinity; "
              f"sleep {p.retry_seconds}; exec python3 {PROGRAM} retry")
    gpu_taint = {"key": p.gpu_resource, "effect": GPU_TAINT["effect"]}
    verify = ["python3", PROGRAM, "verify", "--expect", f"/acceptance/expect-{p.pool}.json",
              "--out", f"{RESULTS}/verify.json", "--timeout", str(p.verify_timeout_seconds)]
    if p.unverifiable is not None:
        verify = ["/bin/sh", "-c", "echo " + json.dumps(json.dumps(
            {"step": "verify", "passed": False, "problems": [p.unverifiable]})) + f" > {RESULTS}/verify.json"]
    return k8s.apps.v1.DaemonSetSpecArgs(
        selector=k8s.meta.v1.LabelSelectorArgs(match_labels=labels),
        template=core.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
            spec=core.PodSpecArgs(
                service_account_name=SERVICE_ACCOUNT,
                # Only pending nodes of this pool; tolerate only the acceptance and GPU taints.
                node_selector={LABEL_POOL: p.pool, ACCEPTANCE_LABEL["key"]: ACCEPTANCE_LABEL["value"]},
                tolerations=[
                    core.TolerationArgs(key=t["key"], operator="Exists", effect=t["effect"])
                    for t in (ACCEPTANCE_TAINT, gpu_taint)
                ],
                init_containers=[
                    _step("verify", p.image, verify, mounts=[scripts, results], resources=gpu_resources),
                    _step("dcgm-diag", dcgm_image, ["/bin/sh", "-c", dcgm], mounts=[results],
                          resources=gpu_resources),
                    _step("dcgm-result", p.image,
                          ["python3", PROGRAM, "dcgm", "--in", f"{RESULTS}/dcgm.raw", "--rc", f"{RESULTS}/dcgm.rc",
                           "--out", f"{RESULTS}/dcgm.json", "--level", str(p.dcgm_level)],
                          mounts=[scripts, results]),
                    _step("nccl", p.image, ["/bin/sh", "-c", nccl],
                          mounts=[scripts, results, core.VolumeMountArgs(name="shm", mount_path="/dev/shm")],
                          resources=gpu_resources,
                          env={"MIN_BUSBW_GBYTES": f"{p.min_busbw_gbytes or 0:g}",
                               "ALL_REDUCE_BYTES": str(ALL_REDUCE_BYTES), "RESULT": f"{RESULTS}/nccl.json"}),
                ],
                containers=[_step(
                    "report", p.image, ["/bin/sh", "-c", report], mounts=[scripts, results],
                    env={"POD_NAMESPACE": ACCEPTANCE_NAMESPACE, "TAINT_KEY": ACCEPTANCE_TAINT["key"],
                         "ACCEPTANCE_LABEL": ACCEPTANCE_LABEL["key"]},
                    env_from_fields={"NODE_NAME": "spec.nodeName", "POD_NAME": "metadata.name"},
                )],
                volumes=[
                    core.VolumeArgs(name="scripts", config_map=core.ConfigMapVolumeSourceArgs(
                        name="acceptance-scripts")),
                    core.VolumeArgs(name="results", empty_dir=core.EmptyDirVolumeSourceArgs()),
                    # NCCL's shared-memory transport needs more than the container runtime's 64 MiB /dev/shm.
                    core.VolumeArgs(name="shm", empty_dir=core.EmptyDirVolumeSourceArgs(medium="Memory")),
                ],
            ),
        ),
    )


def _sweep_job_spec(test: AcceptanceTest) -> k8s.batch.v1.JobSpecArgs:
    core = k8s.core.v1
    gpus = {test.gpu_resource: str(test.gpus_per_node)}
    fabric = {test.fabric_resource: str(test.fabric_devices)}
    torchrun = (
        f"exec torchrun --nnodes={test.nodes} --nproc-per-node={test.gpus_per_node} "
        f"--node-rank=$JOB_COMPLETION_INDEX --master-addr=$(JOB_NAME)-0.{RENDEZVOUS_SERVICE} "
        f"--master-port={NCCL_PORT} /acceptance/nccl_sweep.py"
    )
    return k8s.batch.v1.JobSpecArgs(
        completion_mode="Indexed", completions=test.nodes, parallelism=test.nodes, backoff_limit=0,
        # Nothing waits without a deadline: pods that cannot all be placed (busy GPUs) end the run.
        active_deadline_seconds=test.timeout_seconds,
        template=core.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels={LABEL_POOL: test.pool, LABEL_SU: str(test.su),
                                                        **SWEEP_LABEL}),
            spec=core.PodSpecArgs(
                subdomain=RENDEZVOUS_SERVICE, restart_policy="Never",
                automount_service_account_token=False,  # the sweep only measures; it calls no API
                node_selector={LABEL_POOL: test.pool, LABEL_SU: str(test.su)},
                # Accepted nodes only: the GPU taint is tolerated, the acceptance taint is not.
                tolerations=[core.TolerationArgs(key=test.gpu_resource, operator="Exists",
                                                 effect=GPU_TAINT["effect"])],
                containers=[core.ContainerArgs(
                    name="nccl-sweep", image=test.image, command=["/bin/sh", "-c", torchrun],
                    env=[_env_node_name(),
                         core.EnvVarArgs(name="JOB_NAME", value_from=core.EnvVarSourceArgs(
                             field_ref=core.ObjectFieldSelectorArgs(
                                 field_path="metadata.labels['batch.kubernetes.io/job-name']"))),
                         core.EnvVarArgs(name="MIN_BUSBW_GBYTES", value=f"{test.min_busbw_gbytes:g}"),
                         core.EnvVarArgs(name="ALL_REDUCE_BYTES", value=str(ALL_REDUCE_BYTES))],
                    ports=[core.ContainerPortArgs(name="rendezvous", container_port=NCCL_PORT)],
                    resources=core.ResourceRequirementsArgs(limits={**gpus, **fabric}, requests={**gpus, **fabric}),
                    security_context=core.SecurityContextArgs(capabilities=core.CapabilitiesArgs(add=["IPC_LOCK"])),
                    volume_mounts=[core.VolumeMountArgs(name="scripts", mount_path="/acceptance", read_only=True),
                                   core.VolumeMountArgs(name="shm", mount_path="/dev/shm")],
                )],
                volumes=[
                    core.VolumeArgs(name="scripts", config_map=core.ConfigMapVolumeSourceArgs(
                        name="acceptance-scripts")),
                    core.VolumeArgs(name="shm", empty_dir=core.EmptyDirVolumeSourceArgs(medium="Memory")),
                ],
            ),
        ),
    )
