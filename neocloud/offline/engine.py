"""Run the real Pulumi program under Pulumi's own mock engine and record every resource registration.

This is what ``neocloud plan`` and ``neocloud check`` run instead of ``pulumi preview`` where there is no CLI
and no cloud. It covers the known gaps of mocks (reference/pulumi-offline.md): duplicate URNs are rejected as
the real engine rejects them, integral floats are turned back into ints for reading, and resources created
inside ``apply`` are collected because the run waits for every outstanding output.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from ..vocabulary import SECRET_SIG, SECRET_SIG_KEY

__all__ = [
    "DuplicateUrnError",
    "ProgramError",
    "ProgramRun",
    "RecordedResource",
    "load_stack_config",
    "recording_monitor",
    "run_program",
]

_SIG_KEY = SECRET_SIG_KEY

MockOutputs = Callable[[str, str, dict[str, Any]], dict[str, Any]]
"""(type, name, inputs) -> extra output properties a provider would compute (ids, endpoints, ARNs)."""


class ProgramError(RuntimeError):
    """The program failed for a reason other than bad config."""


class DuplicateUrnError(ProgramError):
    """Two resources share a URN; the real engine rejects this, mocks do not."""


@dataclass(frozen=True)
class RecordedResource:
    """One ``RegisterResource`` request, as the engine would receive it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    dependencies: tuple[str, ...]
    property_dependencies: Mapping[str, tuple[str, ...]]
    inputs: Mapping[str, Any]
    """Inputs with secrets unwrapped and integral floats as ints."""
    secret_paths: tuple[str, ...]
    """Top-level input names whose values are Pulumi secrets."""
    raw_inputs: bytes
    """The serialized protobuf Struct of inputs, exactly as sent (secrets still marked)."""
    protect: bool
    retain_on_delete: bool
    provider: str
    ignore_changes: tuple[str, ...]
    additional_secret_outputs: tuple[str, ...]
    delete_before_replace: bool

    def to_summary(self) -> dict[str, Any]:
        under_stack = not self.parent or self.parent.split("::")[2:3] == ["pulumi:pulumi:Stack"]
        parent_name = None if under_stack else self.parent.rsplit("::", 1)[-1]
        return {"type": self.type, "name": self.name, "parent": parent_name}


@dataclass
class ProgramRun:
    """Everything a program registered and exported."""

    project: str
    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: tuple[str, ...] = ()

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def by_name(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def children(self, parent: RecordedResource) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == parent.urn]


def load_stack_config(project_dir: Path, stack: str) -> tuple[dict[str, Any], list[str]]:
    """Read ``stacks/Pulumi.<stack>.yaml`` (per ``stackConfigDir``); returns (config, secret keys).

    ``secure:`` values cannot be decrypted without the CLI; they are passed as a placeholder marked secret.
    """
    project = _read_project(project_dir)
    config_dir = project_dir / project.get("stackConfigDir", ".")
    path = config_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in config_dir.glob("Pulumi.*.yaml"))
        raise SpecError("STACK", f"no stack '{stack}' ({path.relative_to(project_dir)} not found); stacks: "
                        f"{', '.join(known) or 'none'}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SpecError(str(path.relative_to(project_dir)), f"not valid YAML: {str(exc).splitlines()[0]}") from None
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise SpecError(f"{path.name}: config", "must be a mapping of config keys")
    config: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = "[secret]"
            secret_keys.append(key)
        else:
            config[key] = value
    return config, secret_keys


def _read_project(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "Pulumi.yaml"
    if not path.is_file():
        raise SpecError(str(path), "no Pulumi.yaml: not a Pulumi project directory")
    return yaml.safe_load(path.read_text()) or {}


def run_program(
    project_dir: Path,
    stack: str,
    *,
    config: Mapping[str, Any] | None = None,
    secret_keys: list[str] | None = None,
    mock_outputs: MockOutputs | None = None,
    preview: bool = False,
) -> ProgramRun:
    """Run ``project_dir``'s program for ``stack`` under mocks and return what it registered.

    ``config`` replaces the stack file's config (tests use it to run broken copies of a stack). Raises
    ``SpecError`` for bad config (the program raises ``neocloud`` config errors before registering anything),
    ``DuplicateUrnError`` and ``ProgramError``.
    """
    import pulumi
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    project_dir = project_dir.resolve()
    project = _read_project(project_dir)
    if config is None:
        config, secret_keys = load_stack_config(project_dir, stack)
    run = ProgramRun(project=str(project.get("name", "project")), stack=stack)
    monitor = _RecordingMonitor(_Mocks(mock_outputs or _default_outputs), run)
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}, list(secret_keys or [])
    )
    pulumi_settings.ROOT.set(None)
    pulumi_mocks.set_mocks(monitor.mocks, project=run.project, stack=stack, preview=preview, monitor=monitor)
    # set_mocks makes a root Stack for unit tests; the program gets its own, as under the language host.
    pulumi_settings.ROOT.set(None)
    main = project_dir / str(project.get("main", "__main__.py"))
    if main.is_dir():
        main = main / "__main__.py"
    with _program_context(project_dir):
        try:
            _sync_await(run_in_stack(lambda: _run_main(main)))
        except Exception as exc:
            config_error = _as_config_error(exc)
            if config_error is not None:
                # The engine would have registered nothing either: config is read before any resource.
                config_error.registered_resources = len(run.resources)
                raise config_error from None
            raise ProgramError(f"{type(exc).__name__}: {exc}") from exc
    if monitor.duplicates:
        raise DuplicateUrnError(f"duplicate resource URN {monitor.duplicates[0]!r}; the engine requires unique "
                                "names per type and parent")
    return run


def _run_main(main: Path) -> None:
    runpy.run_path(str(main), run_name="__main__")


def _as_config_error(exc: BaseException) -> SpecError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, SpecError):
            return current
        path = getattr(current, "config_path", None)
        if isinstance(path, str):
            return SpecError(path, str(getattr(current, "config_message", current)))
        current = current.__cause__ or current.__context__
    return None


@contextmanager
def _program_context(project_dir: Path) -> Iterator[None]:
    """cwd and sys.path as the Python language host sets them; program modules are re-imported per run."""
    old_cwd, old_path = Path.cwd(), list(sys.path)
    # The spec collects the provider profiles (components/providers/<name>/profile.py) when it loads; load it
    # before the run, so the profiles' settings classes are not among the modules forgotten after it (a second
    # run in this process would otherwise hold a spec of the old classes: `neocloud diff dev prod`).
    import neocloud.spec  # noqa: F401

    before = set(sys.modules)
    os.chdir(project_dir)
    sys.path.insert(0, str(project_dir))
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        # Forget the program's own modules (another project may have a `components` of its own), but never
        # installed packages, even when the virtualenv sits inside the project (pulumi_aws must not register
        # twice), nor neocloud itself (its error classes must stay the ones callers catch).
        own = _program_modules(project_dir) - {"neocloud"}
        for name in set(sys.modules) - before:
            if name.split(".")[0] in own:
                del sys.modules[name]


def _program_modules(project_dir: Path) -> set[str]:
    """Top-level module names the program can import from its own directory."""
    return {
        entry.stem for entry in project_dir.iterdir()
        if (entry.suffix == ".py" or (entry.is_dir() and (entry / "__init__.py").is_file()))
        and not entry.name.startswith(".")
    }


def _plain(value: Any) -> Any:
    """Unwrap secrets, turn integral floats back into ints."""
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == SECRET_SIG:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _is_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get(_SIG_KEY) == SECRET_SIG or any(_is_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_is_secret(v) for v in value)
    return False


def _default_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    from . import mock_outputs

    return mock_outputs.outputs_for(type_, name, inputs)


class _Mocks:
    """Pulumi ``Mocks``: inputs come back as outputs, plus what the provider would compute."""

    def __init__(self, outputs: MockOutputs) -> None:
        self._outputs = outputs

    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        state.update(self._outputs(args.typ, args.name, args.inputs))
        return f"{args.name}-id", state

    def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        from . import mock_outputs

        return mock_outputs.invoke_result(args.token, dict(args.args)), None

    def register_transform(self, transform: Any) -> None:  # pragma: no cover - no transforms used
        pass

    def register_invoke_transform(self, transform: Any) -> None:  # pragma: no cover
        pass


def _monitor_base() -> type:
    from pulumi.runtime.mocks import MockMonitor

    return MockMonitor


class _RecordingMonitor(_monitor_base()):  # type: ignore[misc]
    """A ``MockMonitor`` that keeps each request (parent, dependencies, options) and rejects duplicate URNs."""

    def __init__(self, mocks: _Mocks, run: ProgramRun) -> None:
        super().__init__(mocks)
        self.run = run
        self.duplicates: list[str] = []
        self._urns: set[str] = set()
        self._stack_urn = ""

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine qualifies a type with its parent's type, except under the root Stack (MockMonitor always
        # qualifies, which would give URNs the engine never produces). Project and stack are the run's, not
        # this process's settings: a provider's Construct may register from another process.
        if parent and parent.split("::")[2:3] != ["pulumi:pulumi:Stack"]:
            type_ = f"{parent.split('::')[2].split('$').pop()}${type_}"
        return "urn:pulumi:" + "::".join([self.run.stack, self.run.project, type_, name])

    def RegisterResource(self, request: Any) -> Any:
        from pulumi.runtime import rpc

        response = super().RegisterResource(request)
        urn = response.urn
        if request.type == "pulumi:pulumi:Stack":
            self._stack_urn = urn
            return response
        if urn in self._urns:
            self.duplicates.append(urn)
        self._urns.add(urn)
        wrapped = rpc.deserialize_properties(request.object, keep_unknowns=True)
        self.run.resources.append(
            RecordedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                dependencies=tuple(request.dependencies),
                property_dependencies={k: tuple(v.urns) for k, v in request.propertyDependencies.items()},
                inputs=_plain(wrapped),
                secret_paths=tuple(sorted(k for k, v in wrapped.items() if _is_secret(v))),
                raw_inputs=request.object.SerializeToString(),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                provider=request.provider,
                ignore_changes=tuple(request.ignoreChanges),
                additional_secret_outputs=tuple(request.additionalSecretOutputs),
                delete_before_replace=bool(request.deleteBeforeReplace),
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:
        from pulumi.runtime import rpc

        if request.urn == self._stack_urn:
            wrapped = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
            self.run.outputs = _plain(wrapped)
            self.run.secret_outputs = tuple(sorted(k for k, v in wrapped.items() if _is_secret(v)))
        return super().RegisterResourceOutputs(request)


def recording_monitor(run: ProgramRun, mock_outputs: MockOutputs | None = None) -> Any:
    """A resource monitor that records into ``run`` what is registered with it, with the same mock outputs and
    duplicate-URN check as ``run_program``: for serving over gRPC to a provider's ``Construct`` (the component
    package's tests), where the program runs in another process."""
    return _RecordingMonitor(_Mocks(mock_outputs or _default_outputs), run)
