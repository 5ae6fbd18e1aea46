"""The provider process of the component package, as the Pulumi engine starts it.

``package/__main__.py`` calls ``serve``; the engine runs it with its own address as the argument, reads the
gRPC port from the first line of stdout and then calls ``GetSchema`` and ``Construct``
(``pulumi.provider.main``). This is ``pulumi.provider.experimental.component_provider_host`` with two
additions the plain host lacks:

- a spec error raised while a component is constructed reaches the engine as an invalid property (path and
  reason, printed by the CLI per property) instead of an exception with our traceback;
- outputs that carry credentials are marked ``secret`` in the schema (the inference has no way to say so), so
  every generated SDK treats them as secrets, as the Python program does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

import pulumi
from pulumi.errors import InputPropertyError
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.server import ComponentInitError

__all__ = ["SECRET_OUTPUTS", "PackageProvider", "package_version", "serve"]

SECRET_OUTPUTS: Mapping[str, tuple[str, ...]] = {"GpuCluster": ("kubeconfig",)}
"""Component -> output properties (schema names) that are secrets."""


def package_version() -> str:
    try:
        return metadata.version("neocloud")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout without install
        return "0.0.0"


class PackageProvider(ComponentProvider):
    """``ComponentProvider`` with spec errors as invalid properties and secret outputs in the schema."""

    def __init__(self, components: Sequence[type[pulumi.ComponentResource]], name: str, version: str) -> None:
        super().__init__(list(components), name, version=version)
        schema: dict[str, Any] = _tidy(json.loads(self.schema or "{}"))
        for component, outputs in SECRET_OUTPUTS.items():
            properties = schema["resources"][f"{name}:index:{component}"]["properties"]
            for output in outputs:
                properties[output]["secret"] = True
        self.schema = json.dumps(schema)

    def construct(self, name: str, resource_type: str, inputs: Any, options: Any = None) -> Any:
        try:
            return super().construct(name, resource_type, inputs, options)
        except ComponentInitError as error:
            if isinstance(error.inner, InputPropertyError):
                raise error.inner from None
            raise


def _tidy(node: Any) -> Any:
    """Descriptions as one line each: the inference copies docstrings with their source indentation."""
    if isinstance(node, dict):
        return {k: " ".join(v.split()) if k == "description" and isinstance(v, str) else _tidy(v)
                for k, v in node.items()}
    if isinstance(node, list):
        return [_tidy(v) for v in node]
    return node


def serve(args: Sequence[str]) -> None:
    """Serve the package's components over the provider protocol (blocks until the engine stops it)."""
    from pulumi.provider import main

    from . import COMPONENTS, PACKAGE_NAME

    main(PackageProvider(COMPONENTS, PACKAGE_NAME, package_version()), list(args))
