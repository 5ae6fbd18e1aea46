"""The neocloud Pulumi program: this stack's `neocloud:cluster` config -> plan -> components."""

import pulumi

from components import GpuCluster, load_cluster

spec, plan = load_cluster()
cluster = GpuCluster(spec.name, spec=spec, plan=plan)
for key, value in cluster.stack_outputs.items():
    pulumi.export(key, value)
