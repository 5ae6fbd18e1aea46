"""Keep Pulumi's secret marker visible to validation rules.

The engine sends resource properties to analyzers with secrets kept (``MarshalOptions{KeepSecrets: true}`` in
pulumi/pkg/resource/plugin/analyzer_plugin.go): a secret arrives as
``{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": ...}``. pulumi-policy's
Python ``Analyze``/``AnalyzeStack`` then unwrap that marker (``deserialize_properties(..., proxy_secrets=False)``),
so a rule cannot tell a secret kubeconfig from a plaintext one. ``install()`` -- called only by
``policies/__main__.py`` -- wraps that deserializer so that every string inside a secret becomes a
``SecretStr``: still a ``str`` (other rules see the same value), but ``is_secret()`` can tell.
Remediation (``proxy_secrets=True``) is passed through untouched.
"""

from __future__ import annotations

from typing import Any

from neocloud.vocabulary import SECRET_SIG, SECRET_SIG_KEY

__all__ = ["SecretStr", "install", "installed", "is_secret"]

SIG_KEY = SECRET_SIG_KEY


class SecretStr(str):
    """A string that arrived inside a Pulumi secret."""

    __slots__ = ()


def is_secret(value: Any) -> bool:
    return isinstance(value, SecretStr)


def _mark(value: Any) -> Any:
    if isinstance(value, str):
        return SecretStr(value)
    if isinstance(value, list):
        return [_mark(v) for v in value]
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return _mark(value.get("value"))
        return {k: (v if k == SIG_KEY else _mark(v)) for k, v in value.items()}
    return value


def _unwrap_secrets(value: Any) -> Any:
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG and "value" in value:
            return _mark(_unwrap_secrets(value["value"]))
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    return value


_INSTALLED = False


def installed() -> bool:
    return _INSTALLED


def install() -> None:
    """Make pulumi-policy's Analyze/AnalyzeStack deserialization keep secrets as ``SecretStr``. Idempotent."""
    global _INSTALLED
    if _INSTALLED:
        return
    from pulumi_policy import policy as sdk

    original = sdk.deserialize_properties

    def deserialize_properties(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
        if proxy_secrets:
            return original(props, proxy_secrets)
        return original(_unwrap_secrets(props), False)

    sdk.deserialize_properties = deserialize_properties
    _INSTALLED = True
