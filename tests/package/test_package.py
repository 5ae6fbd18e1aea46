"""The component package (``package/``) as the Pulumi engine uses it: started as a plugin, asked for its schema,
and asked to ``Construct`` components whose children register with a resource monitor.

What only ``pulumi package add`` with the CLI shows (SDK generation per language, installing the plugin's
virtualenv from ``package/requirements.txt``) is named in the README; here the plugin is the same entry point
run with this checkout's interpreter.
"""

from __future__ import annotations

import json
import re
from typing import Any

import grpc
import jsonschema
import pytest
import yaml
from pulumi.provider.experimental.util import camel_case
from pulumi.runtime import rpc
from pulumi.runtime.proto import errors_pb2, provider_pb2, status_pb2

from components._package_types import TARGET, generate
from components.package import COMPONENTS, PACKAGE_NAME
from neocloud.offline.engine import load_stack_config
from neocloud.spec import ClusterSpec as ClusterSpecModel
from tests.conftest import REPO, STACKS, VENDOR, stack_run
from tests.package.harness import CALL_SECONDS, started_plugin, struct

TOKEN = f"{PACKAGE_NAME}:index:"


@pytest.fixture(scope="module")
def plugin():  # type: ignore[no-untyped-def]
    with started_plugin() as started:
        yield started


@pytest.fixture(scope="module")
def schema(plugin) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = plugin.provider.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=CALL_SECONDS)
    return json.loads(response.schema)


def test_generated_spec_types_match_the_spec() -> None:
    assert TARGET.read_text() == generate(), "run `python -m components._package_types` after changing the spec"


def test_plugin_manifest_declares_the_python_runtime() -> None:
    # PulumiPlugin.yaml reference: `runtime` is required and names the language host (python).
    manifest = yaml.safe_load((REPO / "package" / "PulumiPlugin.yaml").read_text())
    runtime = manifest["runtime"]
    assert (runtime if isinstance(runtime, str) else runtime["name"]) == "python"
    assert "-e ..[nebius]" in (REPO / "package" / "requirements.txt").read_text().splitlines()


def test_schema_has_every_public_component(schema: dict[str, Any]) -> None:
    assert schema["name"] == PACKAGE_NAME
    assert set(schema["resources"]) == {TOKEN + c.__name__ for c in COMPONENTS}
    assert all(r["isComponent"] for r in schema["resources"].values())
    assert all(r.get("description") for r in schema["resources"].values())


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for token, resource in schema["resources"].items():
        out += [(f"{token}.{k}", v) for k, v in {**resource["inputProperties"], **resource["properties"]}.items()]
    for token, type_ in schema["types"].items():
        out += [(f"{token}.{k}", v) for k, v in type_["properties"].items()]
    return out


def test_every_property_has_a_type_and_a_description(schema: dict[str, Any]) -> None:
    for where, prop in _properties(schema):
        assert prop.get("description"), f"{where}: no description"
        assert "type" in prop or "$ref" in prop, f"{where}: no type"


def test_required_inputs_are_the_specs_required_fields(schema: dict[str, Any]) -> None:
    resources = schema["resources"]
    assert resources[TOKEN + "GpuCluster"]["requiredInputs"] == ["cluster"]
    assert set(resources[TOKEN + "Tenant"]["requiredInputs"]) == {"team", "kubernetesVersion", "gpuQuota",
                                                                  "maxGpusPerPod"}
    cluster = schema["types"][TOKEN + "ClusterSpec"]
    # Required in the schema exactly where the spec has no default (name, environment, provider, pools, ...).
    assert set(cluster["required"]) == {camel_case(k) for k, f in ClusterSpecModel.model_fields.items()
                                        if f.is_required()}
    assert {"name", "provider", "pools"} <= set(cluster["required"])
    assert cluster["properties"]["pools"]["items"]["$ref"] == f"#/types/{TOKEN}PoolSpec"


def test_credentials_are_secret_outputs(schema: dict[str, Any]) -> None:
    outputs = schema["resources"][TOKEN + "GpuCluster"]["properties"]
    assert outputs["kubeconfig"]["secret"] is True
    assert not any(p.get("secret") for k, p in outputs.items() if k != "kubeconfig")
    assert {"plan", "gpus", "slurmTopology", "queueNames"} <= set(outputs)


def _schema_names(value: Any, prop: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A spec value with property names as the schema spells them (camelCase), map keys left alone."""
    ref = prop.get("$ref", "")
    if ref.startswith("#/types/"):
        type_ = schema["types"][ref.removeprefix("#/types/")]
        by_python = {_snake(k): (k, p) for k, p in type_["properties"].items()}
        return {by_python[k][0]: _schema_names(v, by_python[k][1], schema) for k, v in value.items()}
    if prop.get("type") == "array":
        return [_schema_names(v, prop["items"], schema) for v in value]
    if prop.get("type") == "object" and "additionalProperties" in prop:
        return {k: _schema_names(v, prop["additionalProperties"], schema) for k, v in value.items()}
    return value


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _construct(plugin: Any, schema: dict[str, Any], component: str, name: str, inputs: dict[str, Any],
               *, stack: str) -> Any:
    plugin.run.stack = stack  # the monitor names URNs by the stack it serves
    resource = schema["resources"][TOKEN + component]
    wire = {camel_case(k): _schema_names(v, resource["inputProperties"][camel_case(k)], schema)
            for k, v in inputs.items()}
    request = provider_pb2.ConstructRequest(
        project="neocloud", stack=stack, organization="organization", parallel=4, dryRun=False,
        monitorEndpoint=plugin.monitor_address, type=TOKEN + component, name=name,
        parent=f"urn:pulumi:{stack}::neocloud::pulumi:pulumi:Stack::neocloud-{stack}", inputs=struct(wire),
    )
    return plugin.provider.Construct(request, timeout=CALL_SECONDS)


def _cluster_config(stack: str) -> dict[str, Any]:
    config, _ = load_stack_config(REPO, stack)
    value = config["neocloud:cluster"]
    return value if isinstance(value, dict) else json.loads(value)


def _summary(resources: Any) -> list[tuple[str, str, str | None]]:
    return sorted((s["type"], s["name"], s["parent"]) for s in (r.to_summary() for r in resources))


@pytest.mark.parametrize("stack", STACKS)
def test_construct_gpu_cluster_registers_what_the_program_registers(plugin, schema, stack: str) -> None:  # type: ignore[no-untyped-def]
    plugin.run.resources.clear()
    spec = _cluster_config(stack)
    response = _construct(plugin, schema, "GpuCluster", spec["name"], {"cluster": spec}, stack=stack)
    assert response.urn == f"urn:pulumi:{stack}::neocloud::{TOKEN}GpuCluster::{spec['name']}"
    assert _summary(plugin.run.resources) == _summary(stack_run(stack).resources)
    state = rpc.deserialize_properties(response.state, keep_unknowns=True)
    program = stack_run(stack).outputs
    assert state["slurmTopology"] == program["slurm_topology"]
    assert state["gpus"] == program["plan"]["gpus"]
    assert state["queueNames"] == [q["team"] for q in spec.get("kubernetes", {}).get("queues", [])]
    if "kubeconfig" in program:
        # The kubeconfig reaches the consumer as a secret, as the program exports it.
        assert "kubeconfig" in stack_run(stack).secret_outputs
        assert _is_secret(response.state.fields["kubeconfig"])


def _is_secret(value: Any) -> bool:
    """A serialized property is a secret when it carries Pulumi's secret signature (pulumi.runtime.rpc)."""
    fields = value.struct_value.fields
    return fields[rpc._special_sig_key].string_value == rpc._special_secret_sig


def test_a_bad_spec_is_an_invalid_property_with_its_path(plugin, schema) -> None:  # type: ignore[no-untyped-def]
    spec = _cluster_config("dev")
    spec["pools"][0]["system"] = "p9.mega"
    plugin.run.resources.clear()
    with pytest.raises(grpc.RpcError) as caught:
        _construct(plugin, schema, "GpuCluster", "bad", {"cluster": spec}, stack="dev")
    error = caught.value
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = _invalid_properties(error)
    assert [(d.property_path, d.reason.split(";")[0]) for d in details.errors] == [
        ("cluster.pools[0].system", "unknown system 'p9.mega'")]
    assert plugin.run.resources == []  # nothing registered, as with bad stack config


def _invalid_properties(error: Any) -> errors_pb2.InputPropertiesError:
    """The engine reads property errors from the status details in the ``grpc-status-details-bin`` trailer
    (gRPC's rich error model: a google.rpc.Status whose details hold pulumirpc.InputPropertiesError)."""
    (raw,) = [value for key, value in error.trailing_metadata() if key == "grpc-status-details-bin"]
    status = status_pb2.Status.FromString(raw)
    for detail in status.details:
        message = errors_pb2.InputPropertiesError()
        if detail.Unpack(message):
            return message
    raise AssertionError(f"no InputPropertiesError in {status}")


YAML_EXAMPLE = REPO / "examples" / "yaml-gpu-cluster" / "Pulumi.yaml"


def _python_names(value: Any, prop: dict[str, Any], schema: dict[str, Any], where: str) -> Any:
    """A value written with the schema's names, checked against the schema, back in the spec's names."""
    ref = prop.get("$ref", "")
    if ref.startswith("#/types/"):
        type_ = schema["types"][ref.removeprefix("#/types/")]
        assert isinstance(value, dict), f"{where}: expected an object"
        unknown = set(value) - set(type_["properties"])
        assert not unknown, f"{where}: not in the package schema: {sorted(unknown)}"
        missing = set(type_.get("required", ())) - set(value)
        assert not missing, f"{where}: required by the package schema: {sorted(missing)}"
        return {_snake(k): _python_names(v, type_["properties"][k], schema, f"{where}.{k}") for k, v in value.items()}
    if prop.get("type") == "array":
        return [_python_names(v, prop["items"], schema, f"{where}[{i}]") for i, v in enumerate(value)]
    if prop.get("type") == "object" and "additionalProperties" in prop:
        return {k: _python_names(v, prop["additionalProperties"], schema, f"{where}.{k}") for k, v in value.items()}
    expected = {"string": str, "integer": int, "number": (int, float), "boolean": bool}.get(prop.get("type", ""))
    if expected is not None:
        assert isinstance(value, expected), f"{where}: {value!r} is not a {prop['type']}"
    return value


def test_yaml_example_constructs_what_the_python_program_registers(plugin, schema) -> None:  # type: ignore[no-untyped-def]
    from neocloud.offline import run_program

    program = yaml.safe_load(YAML_EXAMPLE.read_text())
    assert program["runtime"] == "yaml" and program["packages"]["neocloud"] == "../../package"
    ((name, resource),) = program["resources"].items()
    gpu_cluster = schema["resources"][resource["type"]]
    properties = resource["properties"]
    assert set(gpu_cluster["requiredInputs"]) <= set(properties) <= set(gpu_cluster["inputProperties"])
    spec = _python_names(properties["cluster"], gpu_cluster["inputProperties"]["cluster"], schema, "cluster")
    for output in program["outputs"].values():  # ${research.<output>} names an output of the component
        assert output.removeprefix(f"${{{name}.").removesuffix("}") in gpu_cluster["properties"]
    config, secret_keys = load_stack_config(REPO, "dev")
    python = run_program(REPO, "dev", config={**config, "neocloud:cluster": spec}, secret_keys=secret_keys)
    plugin.run.resources.clear()
    _construct(plugin, schema, "GpuCluster", spec["name"], {"cluster": spec}, stack="dev")
    assert _summary(plugin.run.resources) == _summary(python.resources)
    assert any(r.type.startswith("aws:eks/") for r in plugin.run.resources)


def test_tenant_constructs_what_the_serving_example_registers(plugin, schema) -> None:  # type: ignore[no-untyped-def]
    from tests.kubernetes.runs import example_run

    example = example_run()
    (tenant,) = example.of_type("neocloud:kubernetes:Tenant")
    args = {"team": tenant.inputs["team"], "kubernetes_version": "1.33", "gpu_quota": tenant.inputs["gpuQuota"],
            "max_gpus_per_pod": 8, "group": tenant.inputs["group"],
            "gateway_namespace": tenant.inputs["gatewayNamespace"], "pod_security": tenant.inputs["podSecurity"]}
    plugin.run.resources.clear()
    _construct(plugin, schema, "Tenant", tenant.name, args, stack="dev")
    children = [(r.type, r.name) for r in plugin.run.resources if r.parent.endswith(f"::{tenant.name}")]
    assert sorted(children) == sorted((r.type, r.name) for r in example.children(tenant))
    (component,) = [r for r in plugin.run.resources if r.type == TOKEN + "Tenant"]
    assert component.inputs == tenant.inputs


def test_a_bad_tenant_team_is_an_invalid_property(plugin, schema) -> None:  # type: ignore[no-untyped-def]
    # Kubernetes namespace names are DNS labels (RFC 1123: lower-case alphanumerics and '-'); the spec's
    # team name rule refuses what the API server would.
    plugin.run.resources.clear()
    args = {"team": "Research_Team", "kubernetes_version": "1.33", "gpu_quota": 8, "max_gpus_per_pod": 8}
    with pytest.raises(grpc.RpcError) as caught:
        _construct(plugin, schema, "Tenant", "bad", args, stack="dev")
    (error,) = _invalid_properties(caught.value).errors
    assert error.property_path == "team"
    assert plugin.run.resources == []


@pytest.mark.parametrize("stack", ["staging", "gb200"])
def test_node_acceptance_constructs_what_the_program_registers(plugin, schema, stack: str) -> None:  # type: ignore[no-untyped-def]
    """On bare metal the nodes carry the plan's SUs (no provider regrouping), so the package component and the
    layer's NodeAcceptance for the same spec must register the same children with the same inputs."""
    program = stack_run(stack)
    (acceptance,) = program.of_type("neocloud:kubernetes:NodeAcceptance")
    plugin.run.resources.clear()
    response = _construct(plugin, schema, "NodeAcceptance", acceptance.name, {"cluster": _cluster_config(stack)},
                          stack=stack)
    assert response.urn.endswith(f"{TOKEN}NodeAcceptance::{acceptance.name}")
    (component,) = [r for r in plugin.run.resources if r.type == TOKEN + "NodeAcceptance"]
    assert component.inputs == acceptance.inputs  # the same plan facts (pools, sweeps, taint, schedule)
    ours = {(r.type, r.name): r.inputs for r in plugin.run.resources if r.parent == component.urn}
    theirs = {(r.type, r.name): r.inputs for r in program.children(acceptance)}
    assert ours == theirs
    assert any(t == "kubernetes:apps/v1:DaemonSet" for t, _ in ours)
    state = rpc.deserialize_properties(response.state, keep_unknowns=True)
    assert state["daemonSets"] == [r.inputs["metadata"]["name"] for r in program.children(acceptance)
                                   if r.type == "kubernetes:apps/v1:DaemonSet"]


def test_node_acceptance_schema_requires_the_cluster(schema) -> None:  # type: ignore[no-untyped-def]
    resource = schema["resources"][TOKEN + "NodeAcceptance"]
    assert resource["requiredInputs"] == ["cluster"]
    assert resource["inputProperties"]["cluster"]["$ref"] == f"#/types/{TOKEN}ClusterSpec"
    daemon_sets = resource["properties"]["daemonSets"]
    assert (daemon_sets["type"], daemon_sets["items"]["type"]) == ("array", "string")
    assert not daemon_sets.get("secret")


TS_EXAMPLE = REPO / "examples" / "typescript-gpu-cluster"


def _ts_object(text: str, start: int) -> tuple[Any, int]:
    """The TypeScript object literal that opens at ``text[start]`` as data, and the index after it. Only what the
    example uses: identifier or string keys, string/number/boolean literals, nested objects and arrays, trailing
    commas. Anything else (a variable, a call) is refused, so the example stays checkable."""
    depth, end = 0, start
    for end in range(start, len(text)):
        depth += {"{": 1, "[": 1, "}": -1, "]": -1}.get(text[end], 0)
        if depth == 0:
            break
    literal = text[start:end + 1]
    literal = re.sub(r"//[^\n]*", "", literal)
    literal = re.sub(r"([{,]\s*)([A-Za-z_$][\w$]*)\s*:", r'\1"\2":', literal)
    literal = re.sub(r",(\s*[}\]])", r"\1", literal)
    return json.loads(literal), end + 1


def _ts_components(source: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every ``const VAR = new neocloud.COMPONENT("NAME", {...})`` of the program."""
    found = []
    for match in re.finditer(r'const (\w+) = new neocloud\.(\w+)\("([^"]+)",\s*', source):
        args, _ = _ts_object(source, match.end())
        found.append((match[1], match[2], match[3], args))
    return found


def test_typescript_example_matches_the_package_schema(plugin, schema) -> None:  # type: ignore[no-untyped-def]
    """index.ts passes what the generated SDK would accept: component names, required inputs, every property
    name and scalar type as GetSchema gives them, and outputs the component has; a schema change breaks this."""
    project = yaml.safe_load((TS_EXAMPLE / "Pulumi.yaml").read_text())
    jsonschema.Draft202012Validator(json.loads((VENDOR / "pulumi" / "project.json").read_text())).validate(project)
    assert project["runtime"] == "nodejs" and project["packages"]["neocloud"] == "../../package"
    package = json.loads((TS_EXAMPLE / "package.json").read_text())
    # `pulumi package add` writes the SDK to sdks/<package>; the program imports it under @pulumi/<package>.
    assert package["dependencies"]["@pulumi/neocloud"] == "file:sdks/neocloud"
    assert json.loads((TS_EXAMPLE / "tsconfig.json").read_text())["compilerOptions"]["strict"] is True
    source = (TS_EXAMPLE / "index.ts").read_text()
    assert 'import * as neocloud from "@pulumi/neocloud";' in source
    components = _ts_components(source)
    assert [c[1] for c in components] == ["GpuCluster"]
    (variable, component, name, args), = components
    resource = schema["resources"][TOKEN + component]
    assert set(resource["requiredInputs"]) <= set(args) <= set(resource["inputProperties"])
    spec = _python_names(args["cluster"], resource["inputProperties"]["cluster"], schema, "cluster")
    for output in re.findall(rf"\b{variable}\.(\w+)", source):
        assert output in resource["properties"], f"index.ts reads {variable}.{output}, not an output of {component}"
    # The same document through Construct registers what the Python program registers for it.
    from neocloud.offline import run_program

    config, secret_keys = load_stack_config(REPO, "dev")
    python = run_program(REPO, "dev", config={**config, "neocloud:cluster": spec}, secret_keys=secret_keys)
    plugin.run.resources.clear()
    _construct(plugin, schema, component, name, {"cluster": spec}, stack="dev")
    assert _summary(plugin.run.resources) == _summary(python.resources)


def test_the_typescript_check_catches_a_renamed_property(schema) -> None:  # type: ignore[no-untyped-def]
    source = (TS_EXAMPLE / "index.ts").read_text().replace("minNodes:", "min_nodes:")
    ((_, component, _, args),) = _ts_components(source)
    resource = schema["resources"][TOKEN + component]
    with pytest.raises(AssertionError, match="not in the package schema"):
        _python_names(args["cluster"], resource["inputProperties"]["cluster"], schema, "cluster")
