"""Run the real policy pack over the Pulumi analyzer gRPC protocol, as ``pulumi preview --policy-pack`` does.

The pack (``policies/``) is started the way the Python language host starts an analyzer plugin --
``python -u -m pulumi.policy <engine> <pack dir>`` with the pack directory as cwd and ``PULUMI_PROJECT``,
``PULUMI_STACK``, ``PULUMI_DRY_RUN`` and ``PULUMI_CONFIG`` in the environment -- and its first stdout line is read
as the port. Then, as the engine does (pulumi/pkg/resource/plugin/analyzer_plugin.go, deploy/step_generator.go,
resource/analyzer/config.go):

- ``GetAnalyzerInfo``; the policy config is reconciled like ``ReconcilePolicyPackConfig``: every policy gets its
  default enforcement level and its schema's ``default`` values, then the config file's ``all`` level, then the
  file's per-policy levels and properties; the result is validated against each policy's config schema, and
  ``Configure`` is sent with a level for every policy;
- ``ConfigureStack`` (stack, project, dry run, config);
- ``Analyze`` once per resource in registration order (the root Stack first), with the inputs marshaled as the
  engine does (``KeepSecrets``, ``KeepUnknowns``, ``SkipInternalKeys``), the resource options (protect, parent,
  ...) and the explicit provider's inputs; the diagnostics come back with an empty URN, so the URN is tracked here;
- ``Remediate`` first, only when a policy is configured at level ``remediate`` (this pack has no remediations);
- ``AnalyzeStack`` with every resource, its parent, dependencies and property dependencies.

Known gaps against the real engine (documented in docs/policies.md): no provider ``Check`` runs, so provider
defaults are not added to inputs; ``AnalyzeStack`` gets the inputs where the engine sends preview outputs (the
same values for resources being created, minus computed ones); default providers are not synthesized.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from ..documents import did_you_mean, load_json, read_text
from ..errors import CrashError, SpecError, first_line
from .engine import ProgramRun, RecordedResource

__all__ = [
    "DEFAULT_CALL_TIMEOUT",
    "AnalysisResult",
    "AnalyzerError",
    "AnalyzerTimeout",
    "Diagnostic",
    "NotApplicable",
    "PolicyInfo",
    "PolicyPackProcess",
    "analyze_run",
    "load_policy_config",
    "reconcile_config",
]

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_MAX_MESSAGE = 1024 * 1024 * 400
_STARTUP_SECONDS = 60.0
DEFAULT_CALL_TIMEOUT = 300.0
"""Seconds one analyzer call (``Analyze`` of a resource, ``AnalyzeStack``) may take before the run is a timeout.
A choice, not an engine number (the engine waits forever): the whole prod stack's ``AnalyzeStack`` takes about a
second here (benchmarks/check_scale.py), so this is generous. ``neocloud check --policy-timeout`` sets it."""
_IN_FLIGHT_WAIT = 2.0
"""Seconds to wait for the pack's in-flight report after SIGUSR1 (policies/_runtime.py)."""
_IN_FLIGHT = "neocloud-pack: in flight:"


class AnalyzerError(CrashError):
    """The policy pack could not be started, crashed, or failed while analyzing (never bad input)."""


class AnalyzerTimeout(AnalyzerError):
    """An analyzer call passed its deadline; the message names the policy that was running where it can."""


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement_level: str
    policy_type: str
    """``resource`` or ``stack``."""
    config_schema: dict[str, Any]


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    enforcement_level: str
    message: str
    urn: str
    """The resource the violation is about ('' = the stack as a whole)."""
    resource_type: str
    resource_name: str
    description: str
    pack: str
    pack_version: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NotApplicable:
    policy: str
    reason: str
    urn: str


@dataclass
class AnalysisResult:
    pack: str
    pack_version: str
    policies: list[PolicyInfo]
    config: dict[str, dict[str, Any]]
    """The reconciled config sent with Configure: policy -> {"enforcementLevel": ..., **properties}."""
    resources: int
    diagnostics: list[Diagnostic] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def mandatory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.enforcement_level == "mandatory"]

    @property
    def advisory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.enforcement_level == "advisory"]

    @property
    def passed(self) -> bool:
        return not self.mandatory

    def violated(self) -> set[str]:
        return {d.policy for d in self.diagnostics}


# --- policy config -----------------------------------------------------------------------------------------


def load_policy_config(path: Path) -> dict[str, dict[str, Any]]:
    """Parse a ``--policy-pack-config`` JSON file as the CLI does (``parsePolicyPackConfig``).

    Returns policy -> {"enforcementLevel"?: level, **properties}. Raises ``SpecError`` (one line) for bad input.
    """
    where = str(path)
    text = read_text(path, where="--policy-config", what="policy config")
    if not text.strip():
        return {}
    raw = load_json(text, where=where)  # syntax errors with line and column; no NaN, no 100k-deep nesting
    if not isinstance(raw, dict):
        raise SpecError(where, "must be a JSON object of policy name -> enforcement level or settings")
    if "environments" in raw:
        raise SpecError(f"{where}: environments", "Pulumi ESC environments cannot be resolved offline; "
                        "put the values in the file")
    out: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            _check_level(where, name, value)
            out[name] = {"enforcementLevel": value}
        elif isinstance(value, dict):
            level = value.get("enforcementLevel")
            if level is not None:
                if not isinstance(level, str):
                    raise SpecError(f"{where}: {name}.enforcementLevel", f"{level!r} is not a valid enforcement "
                                    "level; must be a string")
                _check_level(where, name, level)
            out[name] = dict(value)
        else:
            raise SpecError(f"{where}: {name}", f"{value!r} is not a valid value; must be a string or object")
    return out


def _check_level(where: str, name: str, level: str) -> None:
    if level not in LEVELS:
        raise SpecError(f"{where}: {name}", f"{level!r} is not a valid enforcement level; allowed: "
                        f"{', '.join(LEVELS)}")


def reconcile_config(policies: Sequence[PolicyInfo], given: Mapping[str, Mapping[str, Any] | str],
                     where: str = "policy config") -> dict[str, dict[str, Any]]:
    """Defaults from the pack, then ``all``, then per-policy settings; validated against each config schema.

    ``given`` maps a policy (or ``all``) to an enforcement level or to {"enforcementLevel"?, **properties}.
    """
    import jsonschema

    normalized: dict[str, dict[str, Any]] = {
        k: ({"enforcementLevel": v} if isinstance(v, str) else dict(v)) for k, v in given.items()}
    for name, settings in normalized.items():
        level = settings.get("enforcementLevel")
        if level is not None:
            _check_level(where, name, str(level))

    known = {p.name: p for p in policies}
    unknown = sorted(set(normalized) - set(known) - {"all"})
    if unknown:
        raise SpecError(f"{where}: {unknown[0]}", f"no such policy in the pack;{did_you_mean(unknown[0], known)} "
                        f"policies: {', '.join(sorted(known))}")
    for name, settings in normalized.items():
        # A misspelt property would silently leave the default in force (the engine's schema check allows extra
        # properties: the SDK cannot send additionalProperties), so it is an error here.
        allowed = set(known[name].config_schema.get("properties", {})) if name in known else set()
        extra = sorted(set(settings) - allowed - {"enforcementLevel"})
        if extra:
            listed = ", ".join(sorted(allowed)) or "none (only enforcementLevel)"
            raise SpecError(f"{where}: {name}.{extra[0]}",
                            f"unknown property;{did_you_mean(extra[0], allowed)} properties: {listed}")
    result: dict[str, dict[str, Any]] = {}
    for p in policies:
        defaults = {k: v["default"] for k, v in p.config_schema.get("properties", {}).items()
                    if isinstance(v, dict) and "default" in v}
        result[p.name] = {"enforcementLevel": p.enforcement_level, **defaults}
    all_level = normalized.get("all", {}).get("enforcementLevel")
    if all_level:
        for entry in result.values():
            entry["enforcementLevel"] = all_level
    for name, settings in normalized.items():
        if name == "all":
            continue
        result[name].update(settings)
    for p in policies:
        schema = {"type": "object", **{k: v for k, v in p.config_schema.items() if v}}
        props = {k: v for k, v in result[p.name].items() if k != "enforcementLevel"}
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(props), key=lambda e: list(e.path))
        if errors:
            error = errors[0]
            path = ".".join(str(x) for x in error.path)
            raise SpecError(f"{where}: {p.name}{'.' + path if path else ''}", error.message)
    return result


# --- the pack process --------------------------------------------------------------------------------------


class PolicyPackProcess:
    """A running policy pack: the subprocess, a channel and an ``AnalyzerStub``. Use as a context manager."""

    def __init__(self, pack_dir: Path, *, project: str = "project", stack: str = "stack",
                 config: Mapping[str, Any] | None = None, python: str | None = None,
                 call_timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self.pack_dir = pack_dir.resolve()
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file():
            raise SpecError(str(pack_dir), "not a policy pack (no PulumiPolicy.yaml)")
        if not call_timeout > 0:
            raise SpecError("--policy-timeout", f"must be a number of seconds > 0; got {call_timeout!r}")
        self.project, self.stack = project, stack
        self.call_timeout = float(call_timeout)
        self.failed = False
        """Set when a call failed: the pack's stderr log is then kept (``log_path``) for the user to read."""
        self._stderr = tempfile.NamedTemporaryFile(prefix="neocloud-policy-pack-", suffix=".log", delete=False)
        self.log_path = Path(self._stderr.name)
        env = dict(os.environ)
        env.update(PULUMI_PROJECT=project, PULUMI_STACK=stack, PULUMI_DRY_RUN="true",
                   PULUMI_ORGANIZATION="organization",
                   PULUMI_CONFIG=json.dumps({k: v if isinstance(v, str) else json.dumps(v)
                                             for k, v in (config or {}).items()}))
        self.process = subprocess.Popen(
            [python or sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(self.pack_dir)],
            cwd=self.pack_dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
        )
        self.port = self._read_port()
        import grpc
        from pulumi.runtime.proto import analyzer_pb2_grpc

        options = [("grpc.max_receive_message_length", _MAX_MESSAGE), ("grpc.max_send_message_length", _MAX_MESSAGE)]
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}", options=options)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=_STARTUP_SECONDS)
        except grpc.FutureTimeoutError:
            self.failed = True
            self.close()
            raise AnalyzerError(
                f"policy pack {self.pack_dir.name} did not accept connections on port {self.port}") from None
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def _read_port(self) -> int:
        line: list[bytes] = []
        assert self.process.stdout is not None
        reader = threading.Thread(target=lambda: line.append(self.process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(_STARTUP_SECONDS)
        first = line[0].decode(errors="replace").strip() if line else ""
        if not first.isdigit():
            detail = self.stderr_tail() or (f"first stdout line {first!r}" if first else "no output")
            self.failed = True
            self.close()
            raise AnalyzerError(f"policy pack {self.pack_dir.name} did not start (the engine needs its port as the "
                                f"first stdout line): {detail}")
        return int(first)

    def stderr_lines(self) -> list[str]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return [ln.strip() for ln in text.splitlines() if ln.strip()]

    def stderr_tail(self) -> str:
        lines = self.stderr_lines()
        return lines[-1] if lines else ""

    def close(self) -> None:
        channel = getattr(self, "channel", None)
        if channel is not None:
            channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()
        if not self.failed:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> PolicyPackProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- protocol ---------------------------------------------------------------------------------------------

    def info(self) -> tuple[str, str, list[PolicyInfo]]:
        from google.protobuf import empty_pb2, json_format
        from pulumi.runtime.proto import analyzer_pb2

        reply = self._call(self.stub.GetAnalyzerInfo, empty_pb2.Empty(), "the pack")
        kinds = {analyzer_pb2.POLICY_TYPE_RESOURCE: "resource", analyzer_pb2.POLICY_TYPE_STACK: "stack"}
        policies = []
        for p in reply.policies:
            schema: dict[str, Any] = {}
            if p.HasField("configSchema"):
                schema = {"properties": json_format.MessageToDict(p.configSchema.properties),
                          "required": list(p.configSchema.required)}
            policies.append(PolicyInfo(p.name, p.description, _level_name(p.enforcementLevel),
                                       kinds.get(p.policy_type, "unknown"), schema))
        return reply.name, reply.version, policies

    def configure(self, config: Mapping[str, Mapping[str, Any]]) -> None:
        from google.protobuf import struct_pb2
        from pulumi.runtime.proto import analyzer_pb2

        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, settings in config.items():
            props = struct_pb2.Struct()
            props.update({k: v for k, v in settings.items() if k != "enforcementLevel"})
            request.policyConfig[name].CopyFrom(analyzer_pb2.PolicyConfig(
                enforcementLevel=_level_value(str(settings["enforcementLevel"])), properties=props))
        self._call(self.stub.Configure, request)

    def configure_stack(self, config: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> None:
        import grpc
        from pulumi.runtime.proto import analyzer_pb2

        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=self.stack, project=self.project, organization="organization", dry_run=True,
            config={k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
            config_secret_keys=list(secret_keys),
        )
        try:
            self.stub.ConfigureStack(request, timeout=self.call_timeout)
        except grpc.RpcError as exc:  # older packs: the engine tolerates Unimplemented
            if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                self._raise(exc, "ConfigureStack", "")

    def _call(self, method: Any, request: Any, subject: str = "") -> Any:
        """One analyzer call with the per-call deadline. Raises ``AnalyzerTimeout`` past it (naming the policy
        the pack reports in flight), ``AnalyzerError`` when the pack fails or exits."""
        import grpc

        try:
            return method(request, timeout=self.call_timeout)
        except grpc.RpcError as exc:
            self._raise(exc, _method_name(method), subject)

    def _raise(self, exc: Any, name: str, subject: str) -> NoReturn:
        import grpc

        self.failed = True
        if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
            running = self._in_flight()
            raise AnalyzerTimeout(
                f"policy pack timed out: {name}{f' of {subject}' if subject else ''} did not answer within "
                f"{self.call_timeout:g}s (--policy-timeout); {running}", look=str(self.log_path)) from None
        try:  # a pack that died closes the connection a moment before the OS reports its exit
            exited: int | None = self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            exited = None
        crashed = next((ln for ln in reversed(self.stderr_lines()) if ln.startswith("neocloud-pack: policy crashed:")),
                       "")  # the latest: a long-lived pack may have logged earlier ones
        detail = first_line((exc.details() or "").removeprefix("Exception calling application: "))
        if crashed:
            what = crashed.removeprefix("neocloud-pack: ")
        elif exited is not None:
            what = f"the pack exited with code {exited} during {name}: {self.stderr_tail() or 'no output'}"
        else:
            what = f"{name} failed: {detail or exc.code()}"
        raise AnalyzerError(f"policy pack crashed: {what}", look=str(self.log_path)) from None

    def _in_flight(self) -> str:
        """Ask the pack which policy is running (SIGUSR1, answered on its stderr by policies/_runtime.py)."""
        import signal

        if self.process.poll() is not None or not hasattr(signal, "SIGUSR1"):
            return "the pack is not running"
        before = len(self.stderr_lines())
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + _IN_FLIGHT_WAIT
        while time.monotonic() < deadline:
            found = [ln.removeprefix(_IN_FLIGHT).strip() for ln in self.stderr_lines()[before:]
                     if ln.startswith(_IN_FLIGHT)]
            if found:
                return "running: " + "; ".join(found)
            time.sleep(0.05)
        return "the pack did not say which policy was running"


def _method_name(method: Any) -> str:
    raw = getattr(method, "_method", b"")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return text.rsplit("/", 1)[-1] or "call"


def _level_name(value: Any) -> str:
    from pulumi.runtime.proto import analyzer_pb2

    names: dict[Any, str] = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory",
            analyzer_pb2.REMEDIATE: "remediate", analyzer_pb2.DISABLED: "disabled"}
    return names[value]


def _level_value(name: str) -> Any:
    from pulumi.runtime.proto import analyzer_pb2

    return {"advisory": analyzer_pb2.ADVISORY, "mandatory": analyzer_pb2.MANDATORY,
            "remediate": analyzer_pb2.REMEDIATE, "disabled": analyzer_pb2.DISABLED}[name]


# --- marshaling resources as the engine does ---------------------------------------------------------------


def _strip_internal(value: Any) -> Any:
    """``SkipInternalKeys``: drop ``__``-prefixed keys (``__defaults``, ...) at every level."""
    if isinstance(value, dict):
        return {k: _strip_internal(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_strip_internal(v) for v in value]
    return value


def _properties(resource: RecordedResource) -> Any:
    from google.protobuf import json_format, struct_pb2

    raw = struct_pb2.Struct()
    raw.ParseFromString(resource.raw_inputs)
    if b"__" not in resource.raw_inputs:  # no internal key anywhere: the inputs as sent (the common case, fast)
        return raw
    out = struct_pb2.Struct()
    out.update(_strip_internal(json_format.MessageToDict(raw)))
    return out


def _options(resource: RecordedResource) -> Any:
    from pulumi.runtime.proto import analyzer_pb2

    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=list(resource.ignore_changes),
        deleteBeforeReplace=resource.delete_before_replace,
        deleteBeforeReplaceDefined=resource.delete_before_replace,
        additionalSecretOutputs=list(resource.additional_secret_outputs),
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
        parent=resource.parent,
    )


def _provider(resource: RecordedResource, by_urn: Mapping[str, RecordedResource]) -> Any:
    from pulumi.runtime.proto import analyzer_pb2

    if not resource.provider:
        return None
    urn = resource.provider.rsplit("::", 1)[0]
    provider = by_urn.get(urn)
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(type=provider.type, properties=_properties(provider),
                                                 urn=provider.urn, name=provider.name)


def _yaml_version(pack_dir: Path) -> str | None:
    import yaml

    try:
        document = yaml.safe_load((pack_dir / "PulumiPolicy.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return None
    version = document.get("version") if isinstance(document, dict) else None
    return str(version) if version is not None else None


def stack_resource(run: ProgramRun) -> RecordedResource | None:
    """The root ``pulumi:pulumi:Stack`` resource the engine registers (and analyzes) before the program's."""
    from google.protobuf import struct_pb2

    parents = {r.parent for r in run.resources if r.parent}
    urns = {r.urn for r in run.resources}
    roots = sorted(p for p in parents - urns if p.endswith(f"::pulumi:pulumi:Stack::{run.project}-{run.stack}"))
    if not roots:
        return None
    return RecordedResource(
        urn=roots[0], type="pulumi:pulumi:Stack", name=f"{run.project}-{run.stack}", custom=False, parent="",
        dependencies=(), property_dependencies={}, inputs={}, secret_paths=(),
        raw_inputs=struct_pb2.Struct().SerializeToString(), protect=False, retain_on_delete=False, provider="",
        ignore_changes=(), additional_secret_outputs=(), delete_before_replace=False,
    )


def analyze_run(
    run: ProgramRun,
    *,
    pack_dir: Path,
    policy_config: Mapping[str, Mapping[str, Any] | str] | None = None,
    config_source: str = "policy config",
    stack_config: Mapping[str, Any] | None = None,
    pack: PolicyPackProcess | None = None,
    resources: Sequence[RecordedResource] | None = None,
    call_timeout: float = DEFAULT_CALL_TIMEOUT,
) -> AnalysisResult:
    """Analyze a program run with the policy pack in ``pack_dir`` (started here unless ``pack`` is given).

    ``resources`` replaces ``run.resources`` (tests analyze modified copies); ``call_timeout`` is the deadline of
    each analyzer call. Raises ``SpecError`` for a bad policy config, ``AnalyzerTimeout`` when a call passes its
    deadline and ``AnalyzerError`` when the pack fails or has no policy to run.
    """
    if pack is None:
        with PolicyPackProcess(pack_dir, project=run.project, stack=run.stack, config=stack_config,
                               call_timeout=call_timeout) as started:
            return analyze_run(run, pack_dir=pack_dir, policy_config=policy_config, config_source=config_source,
                               stack_config=stack_config, pack=started, resources=resources)
    from pulumi.runtime.proto import analyzer_pb2

    started_at = time.perf_counter()
    name, version, policies = pack.info()
    if not policies:
        pack.failed = True
        raise AnalyzerError(f"policy pack {name or pack.pack_dir.name} has no policies: nothing would be checked",
                            look=str(pack.pack_dir))
    version = _yaml_version(pack.pack_dir) or version  # as the engine: PulumiPolicy.yaml's version wins
    config = reconcile_config(policies, policy_config or {}, config_source)
    pack.configure(config)
    pack.configure_stack(stack_config or {})
    items = list(run.resources if resources is None else resources)
    root = stack_resource(run)
    if root is not None and all(r.urn != root.urn for r in items):
        items.insert(0, root)
    by_urn = {r.urn: r for r in items}
    described = {p.name: p.description for p in policies}
    result = AnalysisResult(pack=name, pack_version=version, policies=policies, config=config, resources=len(items))
    remediate = any(c["enforcementLevel"] == "remediate" for c in config.values())

    def collect(reply: Any, urn: str | None) -> None:
        for d in reply.diagnostics:
            target = urn if urn is not None else d.urn
            subject = by_urn.get(target)
            # The SDK sends "<description>\n<message>"; keep the message (the description has its own field).
            message = d.message.removeprefix(f"{d.description}\n") if d.description else d.message
            result.diagnostics.append(Diagnostic(
                policy=d.policyName, enforcement_level=_level_name(d.enforcementLevel), message=message,
                urn=target, resource_type=subject.type if subject else "",
                resource_name=subject.name if subject else "",
                description=d.description or described.get(d.policyName, ""), pack=d.policyPackName,
                pack_version=d.policyPackVersion))
        for n in reply.not_applicable:
            result.not_applicable.append(NotApplicable(n.policy_name, n.reason, urn or ""))

    stack_items = []
    for r in items:
        properties = _properties(r)
        provider = _provider(r, by_urn)
        fields: dict[str, Any] = {"type": r.type, "properties": properties, "urn": r.urn, "name": r.name,
                                  "options": _options(r)}
        if provider is not None:
            fields["provider"] = provider
        if remediate:
            pack._call(pack.stub.Remediate, analyzer_pb2.AnalyzeRequest(**fields), r.urn)
        collect(pack._call(pack.stub.Analyze, analyzer_pb2.AnalyzeRequest(**fields), r.urn), r.urn)
        deps = {k: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(v))
                for k, v in r.property_dependencies.items() if v}
        stack_items.append(analyzer_pb2.AnalyzerResource(
            **fields, parent=r.parent, dependencies=list(r.dependencies), propertyDependencies=deps))
    collect(pack._call(pack.stub.AnalyzeStack, analyzer_pb2.AnalyzeStackRequest(resources=stack_items),
                       f"the stack ({len(stack_items)} resources)"), None)
    result.seconds = time.perf_counter() - started_at
    return result
