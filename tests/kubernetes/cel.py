"""Evaluate CEL the way the API server does, with cel-python (a pure-Python implementation of Google's Common
Expression Language), for the rules jsonschema cannot: a CRD's ``x-kubernetes-validations`` (evaluated with
``self`` bound to the field, after the schema's defaults are applied, as the API server applies defaults before
validation: Kubernetes docs "Extend the Kubernetes API with CustomResourceDefinitions", "Validation rules"), and
a ValidatingAdmissionPolicy's ``validations`` (``object`` bound to the admitted object).

Transition rules (those that read ``oldSelf``) need the previous object and are not evaluated here; the tests
create objects, so the API server would not evaluate them either (they run on updates).
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import celpy

__all__ = ["admission_failures", "crd_rule_failures", "evaluate", "with_defaults"]

_ENV = celpy.Environment()


@functools.cache
def _program(expression: str) -> Any:
    return _ENV.program(_ENV.compile(expression))


def evaluate(expression: str, **variables: Any) -> bool:
    """``expression`` with ``variables`` (plain JSON values) bound; an evaluation error counts as false, as a
    failed validation rule does in the API server."""
    result = _program(expression).evaluate({k: celpy.json_to_cel(v) for k, v in variables.items()})
    return isinstance(result, celpy.celtypes.BoolType) and bool(result)


def with_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """``value`` with the schema's ``default``s filled in for absent properties (recursively)."""
    if isinstance(value, dict):
        out = dict(value)
        for key, sub in (schema.get("properties") or {}).items():
            if key not in out and "default" in sub:
                out[key] = copy.deepcopy(sub["default"])
            if key in out:
                out[key] = with_defaults(out[key], sub)
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [with_defaults(v, schema["items"]) for v in value]
    return value


def crd_rule_failures(obj: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Every ``x-kubernetes-validations`` rule (but transition rules) that ``obj`` breaks, as ``path: message``;
    call it with the object already passed through ``with_defaults``."""
    failures = []
    for rule in schema.get("x-kubernetes-validations") or []:
        if "oldSelf" in rule["rule"]:
            continue
        if not evaluate(rule["rule"], self=obj):
            failures.append(f"{path or '.'}: {rule.get('message') or rule['rule']}")
    if isinstance(obj, dict):
        for key, value in obj.items():
            sub = (schema.get("properties") or {}).get(key)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is not None:
                failures.extend(crd_rule_failures(value, sub, f"{path}.{key}"))
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for index, value in enumerate(obj):
            failures.extend(crd_rule_failures(value, schema["items"], f"{path}[{index}]"))
    return failures


def admission_failures(policy_spec: dict[str, Any], obj: dict[str, Any]) -> list[str]:
    """Messages of the ValidatingAdmissionPolicy validations that deny ``obj``."""
    return [v.get("message") or v["expression"] for v in policy_spec["validations"]
            if not evaluate(v["expression"], object=obj)]
