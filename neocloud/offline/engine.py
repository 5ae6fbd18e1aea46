"""Run the real Pulumi program under Pulumi's own mock engine and record every resource registration.

This is what ``neocloud plan`` and ``neocloud check`` run instead of ``pulumi preview`` where there is no CLI
and no cloud. It covers the known gaps of mocks (reference/pulumi-offline.md): duplicate URNs are rejected as
the real engine rejects them, integral floats are turned back into ints for reading, and resources created
inside ``apply`` are collected because the run waits for every outstanding output.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..documents import check_plain, did_you_mean, load_yaml, read_text
from ..errors import CONFIG_KEY, CrashError, SpecError, first_line, where_raised
from ..vocabulary import SECRET_PLACEHOLDER, SECRET_SIG, SECRET_SIG_KEY

__all__ = [
    "MAX_CONFIG_BYTES",
    "NEOCLOUD_CONFIG_KEYS",
    "STACK_NAME",
    "DuplicateUrnError",
    "ProgramError",
    "ProgramRun",
    "RecordedResource",
    "check_config",
    "check_stack_name",
    "load_stack_config",
    "recording_monitor",
    "run_program",
]

_SIG_KEY = SECRET_SIG_KEY

MockOutputs = Callable[[str, str, dict[str, Any]], dict[str, Any]]
"""(type, name, inputs) -> extra output properties a provider would compute (ids, endpoints, ARNs)."""


class ProgramError(CrashError):
    """The program failed for a reason other than bad config, or did not run to its end (``sys.exit``)."""


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


STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
"""Pulumi stack names: "stack names are limited to 100 characters and may only contain alphanumeric, hyphens,
underscores, or periods" (the Pulumi CLI's error; pulumi/pkg/backend/filestate/backend.go). A name with spaces,
unicode or ``::`` would also break the URNs (``urn:pulumi:<stack>::<project>::...``)."""
MAX_CONFIG_BYTES = 128 * 1024 - 1
"""Largest config, serialized as JSON, a stack may have. The Pulumi language host hands the program its whole
config in one environment variable, ``PULUMI_CONFIG`` (pulumi/sdk/python/lib/pulumi/runtime/config.py
``get_config_env``), and so does the engine to a policy pack; Linux refuses an environment string longer than
``MAX_ARG_STRLEN``, 32 pages = 131,072 bytes including ``PULUMI_CONFIG=`` and the NUL (execve(2), "Limits on size
of arguments and environment"), with E2BIG: the program would never start."""
NEOCLOUD_CONFIG_KEYS = (CONFIG_KEY, "neocloud:kubeconfig", "neocloud:kubeContext")
"""Every config key of the ``neocloud`` namespace the program reads (the namespace is ours, so any other key in it
is a mistake, reported with a did-you-mean)."""


def check_stack_name(stack: str) -> None:
    """``SpecError('STACK', ...)`` unless ``stack`` is a valid Pulumi stack name."""
    if not STACK_NAME.match(stack):
        shown = stack if len(stack) <= 40 else f"{stack[:37]}..."
        raise SpecError("STACK", f"{shown!r} ({len(stack)} characters) is not a valid stack name; allowed: 1 to 100 "
                        "ASCII letters, digits, '-', '_' and '.'")


def load_stack_config(project_dir: Path, stack: str) -> tuple[dict[str, Any], list[str]]:
    """Read ``stacks/Pulumi.<stack>.yaml`` (per ``stackConfigDir``); returns (config, secret keys).

    ``secure:`` values cannot be decrypted without the CLI; they are passed as a placeholder marked secret.
    Raises ``SpecError`` (one line) for a bad stack name, a missing, unreadable, binary or malformed file (YAML
    errors with line and column), values JSON cannot carry, an unknown ``neocloud:`` key (with a did-you-mean)
    and a config over ``MAX_CONFIG_BYTES``.
    """
    check_stack_name(stack)
    project = _read_project(project_dir)
    config_dir = project_dir / str(project.get("stackConfigDir", "."))
    path = config_dir / f"Pulumi.{stack}.yaml"
    shown = _shown_path(path, project_dir)
    if not path.exists() and not path.is_symlink():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in config_dir.glob("Pulumi.*.yaml"))
        raise SpecError("STACK", f"no stack '{stack}' ({shown} not found); stacks: {', '.join(known) or 'none'}"
                        f"{';' + did_you_mean(stack, known) if did_you_mean(stack, known) else ''}")
    document = load_yaml(read_text(path, where=shown, what="stack file"), where=shown)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise SpecError(shown, f"must be a YAML mapping with a 'config' key; got {_kind(document)}")
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise SpecError(f"{shown}: config", f"must be a mapping of config keys; got {_kind(raw)}")
    config: dict[str, Any] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        key = str(key)
        namespace = key.split(":", 1)[0] if ":" in key else ""
        if namespace == "neocloud" and key not in NEOCLOUD_CONFIG_KEYS:
            raise SpecError(f"{shown}: config.{key}", "unknown config key;"
                            f"{did_you_mean(key, NEOCLOUD_CONFIG_KEYS) or ''} known: {', '.join(NEOCLOUD_CONFIG_KEYS)}")
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = SECRET_PLACEHOLDER
            secret_keys.append(key)
        else:
            config[key] = value
    check_config(config, where=shown)
    return config, secret_keys


def check_config(config: Mapping[str, Any], *, where: str = "config") -> None:
    """Plain values only, and small enough to reach the program (``MAX_CONFIG_BYTES``)."""
    check_plain(dict(config), where=where)
    size = len(json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}))
    if size > MAX_CONFIG_BYTES:
        biggest = max(config, key=lambda k: len(json.dumps(config[k])))
        raise SpecError(where, f"the config is {size:,} bytes as JSON (largest key {biggest}); at most "
                        f"{MAX_CONFIG_BYTES:,}: Pulumi passes the whole config in one environment variable, which "
                        "Linux limits to 128 KiB")


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "true/false"}.get(
        type(value), type(value).__name__)


def _shown_path(path: Path, project_dir: Path) -> str:
    try:
        return str(path.relative_to(project_dir))
    except ValueError:
        return str(path)


def _read_project(project_dir: Path) -> dict[str, Any]:
    path = project_dir / "Pulumi.yaml"
    if not path.is_file():
        raise SpecError(str(path), "no Pulumi.yaml: not a Pulumi project directory")
    document = load_yaml(read_text(path, where=str(path), what="project file"), where=str(path)) or {}
    if not isinstance(document, dict):
        raise SpecError(str(path), f"must be a YAML mapping; got {_kind(document)}")
    return document


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
    check_stack_name(stack)
    if config is None:
        config, secret_keys = load_stack_config(project_dir, stack)
    else:
        check_config(config)
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
        except KeyboardInterrupt:
            raise
        except SystemExit as exc:
            # A program that exits early has not declared its stack: whatever it registered is not the stack, so
            # no caller may treat the run as finished (the language host reports a non-zero exit as an error,
            # and exit 0 before the end would silently drop resources).
            raise ProgramError(f"the program exited early (SystemExit({exc.code!r})) after registering "
                               f"{len(run.resources)} resources; it did not run to its end",
                               look=where_raised(exc, under=str(project_dir))) from None
        except BaseException as exc:
            config_error = _as_config_error(exc)
            if config_error is not None:
                # The engine would have registered nothing either: config is read before any resource.
                config_error.registered_resources = len(run.resources)
                raise config_error from None
            raise ProgramError(f"{type(exc).__name__}: {first_line(str(exc)) or 'no message'}",
                               look=where_raised(exc, under=str(project_dir))) from exc
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
            more = list(getattr(current, "config_problems", []))[1:]
            return SpecError(path, str(getattr(current, "config_message", current)), more=more)
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

    def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        from . import mock_outputs

        # No check failures: an empty list (the SDK's mock monitor iterates it; None was a TypeError on invoke).
        return mock_outputs.invoke_result(args.token, dict(args.args)), []

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
