"""Loading raw config into a ``ClusterSpec``: one path-naming line per bad input; the JSON Schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from ..catalog import GPUS, SWITCHES, known_system_names
from ..documents import did_you_mean
from ..errors import CONFIG_KEY, SpecError
from ._base import (
    _DNS_LABEL,
    _PathProblem,
)
from ._cluster import ClusterSpec


def _path(loc: tuple[int | str, ...]) -> str:
    out = CONFIG_KEY
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.replace("_", "").replace("-", "").isalnum():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model whose field list applies at ``loc`` (for 'unknown field' messages)."""
    model: Any = ClusterSpec
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _error_line(error: Mapping[str, Any]) -> tuple[str, str]:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = _model_at(loc[:-1])
        allowed = ", ".join(parent.model_fields) if parent else "see `neocloud schema`"
        hint = did_you_mean(str(loc[-1]), parent.model_fields) if parent else ""
        return _path(loc), f"unknown field {str(loc[-1])!r};{hint} allowed: {allowed}"
    if kind == "missing":
        return _path(loc), "required"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "").replace(" or ", ", ")
        return _path(loc), f"got {_shown(error['input'])}; allowed: {expected}"
    if kind == "string_pattern_mismatch":
        return _path(loc), f"got {_shown(error['input'])}; {_describe_pattern(str(error['ctx']['pattern']))}"
    accepted = _allowed(kind, error.get("ctx") or {}, loc)
    if accepted is not None:
        return _path(loc), f"got {_shown(error['input'])}; allowed: {accepted}"
    return _path(loc), f"{message[0].lower()}{message[1:]}" if message else kind


_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
_TYPES = {
    "int_parsing": "a whole number", "int_type": "a whole number", "int_from_float": "a whole number",
    "float_parsing": "a number", "float_type": "a number", "finite_number": "a finite number",
    "string_type": "a string", "bool_parsing": "true or false", "bool_type": "true or false",
    "list_type": "a list", "dict_type": "a mapping",
}


def _allowed(kind: str, ctx: Mapping[str, Any], loc: tuple[int | str, ...]) -> str | None:
    """What a type or bound error allows, in the user's words (None: pydantic's message says it best)."""
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), "?")
        return f"a number {_BOUNDS[kind]} {bound}"
    if kind in ("too_short", "too_long"):
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        return f"{'at least' if kind == 'too_short' else 'at most'} {limit} item{'' if limit == 1 else 's'}"
    if kind in ("model_type", "model_attributes_type"):
        model = _model_at(loc)
        return f"a mapping with fields {', '.join(model.model_fields)}" if model else "a mapping"
    return _TYPES.get(kind)


def _shown(value: Any) -> str:
    """A bad input as the message shows it: its repr, cut to stay one readable line."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _describe_pattern(pattern: str) -> str:
    return {
        _DNS_LABEL: "allowed: lower-case letters, digits and '-', starting with a letter, at most 32 chars",
        r"^cr-[0-9a-f]{8,17}$": "allowed: a capacity reservation id like cr-0123456789abcdef0",
        r"^1\.(2[5-9]|3[0-7])$": "allowed: a Kubernetes minor version from 1.25 to 1.37, e.g. '1.33'",
    }.get(pattern, f"must match {pattern}")


def load_cluster_spec(raw: object) -> ClusterSpec:
    """Validate raw config (the parsed ``neocloud:cluster`` object) into a ``ClusterSpec``.

    Raises ``SpecError`` whose message is one line: the config path, then what is wrong and what is allowed.
    """
    if not isinstance(raw, Mapping):
        raise SpecError(CONFIG_KEY, f"must be an object (a YAML mapping); got {type(raw).__name__}")
    try:
        return ClusterSpec.model_validate(raw)
    except _PathProblem as problem:
        raise SpecError(f"{CONFIG_KEY}.{problem.path}", problem.message) from None
    except ValidationError as exc:
        # Every problem, one line each (fixing one at a time and re-running is slow).
        problems = list(dict.fromkeys(_error_line(e) for e in exc.errors()))
        (path, message), *more = problems
        raise SpecError(path, message, more=more) from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the ``neocloud:cluster`` config value."""
    schema = ClusterSpec.model_json_schema()
    schema["$id"] = "https://neocloud.dev/schemas/cluster.json"
    schema["title"] = "neocloud:cluster"
    schema.setdefault("$defs", {})
    schema["x-neocloud-systems"] = known_system_names()
    schema["x-neocloud-switches"] = sorted(SWITCHES)
    schema["x-neocloud-gpus"] = sorted(GPUS)
    return schema

