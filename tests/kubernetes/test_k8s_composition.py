"""The Slurm topology output, the serving example (composition on an existing cluster), the baremetal
Kubernetes provider, and ``neocloud plan`` showing the layer for every stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from components.labels import LABEL_NVLINK_DOMAIN
from neocloud import build_plan, load_cluster_spec
from neocloud.offline import run_program
from neocloud.offline.engine import load_stack_config
from neocloud.plan.slurm import hostlist, slurm_topology
from tests.conftest import KUBERNETES_STACKS, REPO
from tests.kubernetes.runs import EXAMPLE, EXAMPLE_STACK, cluster_spec, example_run, objects_of, run_for, stack_config

LAYER = "neocloud:kubernetes:KubernetesLayer"


def _expand(expression: str) -> list[str]:
    if "[" not in expression:
        return [expression]
    prefix, rest = expression.split("[", 1)
    first, last = rest.rstrip("]").split("-")
    return [f"{prefix}{i:0{len(first)}d}" for i in range(int(first), int(last) + 1)]


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_slurm_topology_output_matches_the_plan(stack: str) -> None:
    run = run_for(stack)
    plan = build_plan(load_cluster_spec(cluster_spec(stack)))
    document = yaml.safe_load(run.outputs["slurm_topology"])
    assert document == slurm_topology(plan)
    tree = document[0]
    assert tree["cluster_default"] is True
    switches = {s["switch"]: s for s in tree["tree"]["switches"]}
    for pool in plan.pools:
        sus = switches[pool.name]["children"].split(",")
        assert sus == [f"{pool.name}-su{u.index}" for u in pool.scalable_units]
        nodes = [n for su in sus for n in _expand(switches[su]["nodes"])]
        assert len(nodes) == len(set(nodes)) == pool.total_nodes
    blocks = document[1:]
    assert len(blocks) == sum(1 for p in plan.pools if p.system.nvlink_domain_nodes > 1)


def test_gb200_blocks_are_nvlink_domains() -> None:
    document = yaml.safe_load(run_for("gb200").outputs["slurm_topology"])
    (block,) = [t for t in document if "block" in t]
    # 18 trays per NVL72 rack (GB200RA [P]); an SU of 8 racks = 144, a power-of-two multiple of 18.
    assert block["block"]["block_sizes"] == [18, 144]
    assert len(block["block"]["blocks"]) == 8
    assert all(len(_expand(b["nodes"])) == 18 for b in block["block"]["blocks"])
    # Kueue schedules by the same domains
    (topology,) = objects_of(run_for("gb200"), "Topology")
    assert LABEL_NVLINK_DOMAIN in [level["nodeLabel"] for level in topology["spec"]["levels"]]


def test_hostlist_ranges() -> None:
    plan = build_plan(load_cluster_spec(cluster_spec("staging")))
    pool = plan.pools[0]
    assert hostlist(pool, 0, 31) == "h100-[000-030]"
    assert hostlist(pool, 5, 1) == "h100-005"


def test_example_composes_only_tenant_and_regulator() -> None:
    run = example_run()
    components = sorted({r.type for r in run.resources if not r.custom})
    assert components == ["neocloud:kubernetes:Tenant", "neocloud:kubernetes:TrafficRegulator"]
    assert not [r for r in run.resources if "kueue" in r.type or r.type.endswith("NicClusterPolicy")]
    config, _ = load_stack_config(EXAMPLE, EXAMPLE_STACK)
    (policy,) = objects_of(run, "BackendTrafficPolicy")
    regulator = config["serving:trafficRegulator"]
    # Created at the floor (10% of the full rate); the ramp controller's config carries the full rate.
    assert policy["spec"]["rateLimit"]["local"]["rules"][0]["limit"]["requests"] == \
        -(-regulator["requests_per_second"] // 10)
    (code,) = objects_of(run, "ConfigMap")
    assert json.loads(code["data"]["config.json"])["ramp"]["full"] == regulator["requests_per_second"]
    assert policy["spec"]["loadBalancer"]["slowStart"]["window"] == f"{regulator['slow_start_seconds']}s"
    (route,) = objects_of(run, "HTTPRoute")
    assert route["spec"]["hostnames"] == regulator["hostnames"]
    assert route["metadata"]["namespace"] == config["serving:tenant"]["team"]
    assert run.outputs["namespace"] == config["serving:tenant"]["team"]


def test_example_rejects_bad_config() -> None:
    config, secrets = load_stack_config(EXAMPLE, EXAMPLE_STACK)
    bad = {**config, "serving:trafficRegulator": {**config["serving:trafficRegulator"], "requests_per_second": 0}}
    with pytest.raises(Exception, match="requests_per_second"):
        run_program(EXAMPLE, EXAMPLE_STACK, config=bad, secret_keys=secrets)


def test_baremetal_provider_kubeconfig_from_secret_config_or_ambient() -> None:
    run = run_for("staging")
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    assert "kubeconfig" not in provider.inputs  # ambient kubeconfig: pulumi-kubernetes' default
    config = {**stack_config("staging"), "neocloud:kubeconfig": "apiVersion: v1\nkind: Config\n",
              "neocloud:kubeContext": "dc1"}
    run = run_program(REPO, "staging", config=config, secret_keys=["neocloud:kubeconfig"])
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"].startswith("apiVersion: v1")
    assert "kubeconfig" in provider.secret_paths
    assert provider.inputs["context"] == "dc1"


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_every_stack_has_the_layer(stack: str) -> None:
    layers = run_for(stack).of_type(LAYER)
    assert len(layers) == 1
    facts = layers[0].inputs["neocloud"]
    assert facts["topology_levels"] and facts["acceptance"]
    assert run_for(stack).outputs["kubernetes"]["queues"] == facts["queues"]


@pytest.mark.parametrize("stack", KUBERNETES_STACKS)
def test_neocloud_plan_shows_the_layer(stack: str) -> None:
    done = subprocess.run([sys.executable, "-m", "neocloud", "plan", stack], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert LAYER in done.stdout
    assert "kubernetes:kueue.x-k8s.io/v1beta2:Topology" in done.stdout


def test_example_project_file_validates(vendor) -> None:
    import json

    import jsonschema

    schema = json.loads((vendor / "pulumi" / "project.json").read_text())
    project = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    jsonschema.Draft202012Validator(schema).validate(project)
    assert project["name"] == "serving-on-existing-cluster"
