"""``GpuCluster`` for the component package: the cluster spec as a typed structure, typed outputs."""

# No `from __future__ import annotations`: the schema inference reads annotations as real types.

from typing import Any, TypedDict

import pulumi

from neocloud import SpecError, build_plan, load_cluster_spec

from .. import cluster as _cluster
from .._package_types import spec_name
from ._errors import input_error
from ._spec_types import ClusterSpec

__all__ = ["GpuCluster", "GpuClusterArgs"]


class GpuClusterArgs(TypedDict):
    """Inputs of ``GpuCluster``."""

    cluster: ClusterSpec
    """The cluster spec: the same document as a stack's `neocloud:cluster` config (see the README's config
    reference), validated the same way; a bad value fails the deployment with its property path."""


class GpuCluster(_cluster.GpuCluster):
    """A GPU cluster from one spec: its pools, the provider's infrastructure (network, Kubernetes control plane,
    GPU node sets, storage) and, where a Kubernetes API is reachable, the Kubernetes layer (GPU and network
    operators, Kueue with topology-aware scheduling, tenants, node acceptance, the traffic regulator)."""

    kubeconfig: pulumi.Output[str | None]
    """The cluster's kubeconfig (a secret); absent where the cluster already existed (bare metal)."""
    plan: pulumi.Output[dict[str, Any]]
    """The plan: racks, NVLink domains, scalable units, fabric, storage, power and cost (as `neocloud plan
    --json` prints it under `plan`)."""
    gpus: pulumi.Output[int]
    """Schedulable GPUs of the cluster (spares excluded)."""
    slurm_topology: pulumi.Output[str]
    """Slurm `topology.yaml` for the planned blocks (topology/block plugin)."""
    queue_names: pulumi.Output[list[str]]
    """Kueue LocalQueue names, one per team (each in the team's namespace of the same name)."""
    stack_output_names: pulumi.Output[list[str]]
    """Names of the values the Python program exports as stack outputs, for cross-checking."""

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        try:
            raw: Any = args.get("cluster")
            if isinstance(raw, dict):  # keys the package types escape (`lambda_`) back to the spec's names
                raw = {spec_name(k): v for k, v in raw.items()}
            spec = load_cluster_spec(raw)
        except SpecError as error:
            raise input_error(error, arg="cluster") from None
        self._spec = spec
        super().__init__(name, spec=spec, plan=build_plan(spec), opts=opts)

    def _component_outputs(self) -> dict[str, Any]:
        outputs = self.stack_outputs
        kubeconfig = outputs.get("kubeconfig")
        self.kubeconfig = pulumi.Output.secret(kubeconfig) if kubeconfig is not None else None  # type: ignore[assignment]
        self.plan = pulumi.Output.from_input(outputs["plan"])
        self.gpus = pulumi.Output.from_input(int(outputs["plan"]["gpus"]))
        self.slurm_topology = pulumi.Output.from_input(outputs["slurm_topology"])
        self.queue_names = pulumi.Output.from_input([q.team for q in self._spec.kubernetes.queues])
        self.stack_output_names = pulumi.Output.from_input(sorted(outputs))
        registered = {"plan": self.plan, "gpus": self.gpus, "slurmTopology": self.slurm_topology,
                      "queueNames": self.queue_names, "stackOutputNames": self.stack_output_names}
        if self.kubeconfig is not None:
            registered["kubeconfig"] = self.kubeconfig
        return registered
