"""Reading the files a user hands us (stack config YAML, policy config JSON, topology input): bounded, one-line
errors with line and column, and only plain JSON-like values.

Every reader here raises ``SpecError`` (exit 2) for anything that is not a small, readable, well-formed text file
of plain values: a missing, unreadable, binary or oversized file, a symlink that leads nowhere, a YAML or JSON
syntax error (with its line and column), nesting deeper than ``MAX_DEPTH``, a YAML alias "bomb" that expands to
more than ``MAX_VALUES`` values, a recursive alias, and values JSON cannot carry (dates, ``!!binary``, ``!!set``,
NaN and infinities). Pulumi passes config to the program and the policy pack as JSON (the ``PULUMI_CONFIG``
environment variable, pulumi/sdk/python/lib/pulumi/runtime/config.py), and JSON has no dates, sets, bytes, NaN
or Infinity (RFC 8259, section 6: "Numeric values that cannot be represented in the grammar below (such as
Infinity and NaN) are not permitted"), so such a value could only be dropped, mangled or crash later.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from .errors import SpecError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_VALUES",
    "check_plain",
    "did_you_mean",
    "load_json",
    "load_yaml",
    "read_text",
]

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Largest input file read (a choice: the largest shipped stack file is a few KiB; the config of a stack must
fit in 128 KiB anyway, see ``engine.MAX_CONFIG_BYTES``)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists accepted (a choice: the cluster spec nests 6 levels deep)."""
MAX_VALUES = 200_000
"""Most values (after YAML aliases are expanded) one document may hold: a bound that stops an alias bomb in
milliseconds instead of when the config is serialized (gigabytes later)."""


def read_text(path: Path, *, where: str, what: str = "file") -> str:
    """The text of ``path``; ``SpecError(where, ...)`` if it is missing, not a file, unreadable, binary or too big."""
    try:
        if path.is_symlink() and not path.exists():
            raise SpecError(where, f"{path} is a symlink to {path.readlink()}, which does not exist")
        if path.exists() and not path.is_file():
            raise SpecError(where, f"{path} is not a regular file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(where, f"{path} is {size:,} bytes; a {what} may be at most {MAX_FILE_BYTES:,} bytes")
        data = path.read_bytes()
    except SpecError:
        raise
    except FileNotFoundError:
        raise SpecError(where, f"{path} not found") from None
    except OSError as exc:
        raise SpecError(where, f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in data:
        raise SpecError(where, f"{path} is binary (it contains NUL bytes), not a text {what}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(where, f"{path} is not UTF-8 text (invalid byte at offset {exc.start})") from None


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` that refuses the YAML types JSON cannot carry, naming their line and column."""


def _refuse(kind: str, advice: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        mark = node.start_mark
        shown = node.value if isinstance(node.value, str) else "..."
        raise _Refused(f"line {mark.line + 1} column {mark.column + 1}: {kind} ({shown[:40]}) is not a plain value; "
                       f"{advice}")

    return construct


class _Refused(Exception):
    pass


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _refuse("a YAML date", "quote it to make it a string"))
_Loader.add_constructor("tag:yaml.org,2002:binary", _refuse("a !!binary value", "use a (base64) string"))
_Loader.add_constructor("tag:yaml.org,2002:set", _refuse("a !!set", "use a list"))
_Loader.add_constructor("tag:yaml.org,2002:omap", _refuse("an !!omap", "use a mapping"))
_Loader.add_constructor("tag:yaml.org,2002:pairs", _refuse("a !!pairs value", "use a mapping"))


def load_yaml(text: str, *, where: str) -> Any:
    """Parse YAML into plain values; ``SpecError(where, ...)`` with line and column for a bad document."""
    try:
        value = yaml.load(text, Loader=_Loader)
    except _Refused as exc:
        raise SpecError(where, str(exc)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "malformed"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise SpecError(where, f"not valid YAML: {at}{problem}{context}") from None
    except yaml.YAMLError as exc:
        raise SpecError(where, f"not valid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise SpecError(where, f"not valid here: nested more than {MAX_DEPTH} levels deep") from None
    check_plain(value, where=where)
    return value


def load_json(text: str, *, where: str) -> Any:
    """Parse JSON into plain values; ``SpecError(where, ...)`` with line and column for a bad document."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise SpecError(where, f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except _Refused as exc:
        raise SpecError(where, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise SpecError(where, f"not valid here: nested more than {MAX_DEPTH} levels deep") from None
    check_plain(value, where=where)
    return value


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number (RFC 8259 has no NaN or Infinity)")


def check_plain(value: Any, *, where: str, path: str = "") -> None:
    """Refuse what JSON cannot carry, nesting past ``MAX_DEPTH``, more than ``MAX_VALUES`` values (aliases
    counted each time they are used) and recursive aliases. ``path`` prefixes the reported location."""
    budget = [MAX_VALUES]
    _walk(value, where, path, 0, budget, set())


def _walk(value: Any, where: str, path: str, depth: int, budget: list[int], active: set[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(where, f"expands to more than {MAX_VALUES:,} values (YAML aliases used over and over?); "
                        "write the values out")
    if depth > MAX_DEPTH:
        raise SpecError(f"{where}: {path}" if path else where, f"nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecError(f"{where}: {path}" if path else where,
                            f"got {value}; allowed: a finite number (JSON has no NaN or Infinity)")
        return
    if isinstance(value, dict | list):
        if id(value) in active:
            raise SpecError(f"{where}: {path}" if path else where, "refers to itself (a recursive YAML alias)")
        active.add(id(value))
        try:
            if isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, str | int) or isinstance(key, bool):
                        raise SpecError(f"{where}: {path}" if path else where,
                                        f"key {key!r} is a {type(key).__name__}; keys must be strings")
                    _walk(item, where, _join(path, str(key)), depth + 1, budget, active)
            else:
                for i, item in enumerate(value):
                    _walk(item, where, f"{path}[{i}]", depth + 1, budget, active)
        finally:
            active.discard(id(value))
        return
    raise SpecError(f"{where}: {path}" if path else where,
                    f"a {type(value).__name__} is not a plain value (string, number, true/false, list or mapping)")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` did you mean 'x'?`` for the closest of ``choices`` to a misspelt ``word`` (empty when none is close)."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f" did you mean {close[0]!r}?" if close else ""
