"""The neocloud policy pack's entry point: the only place that constructs ``PolicyPack``.

``PolicyPack(...)`` starts the analyzer gRPC server on 127.0.0.1, writes the port as the first line of stdout
(the engine refuses a plugin that writes anything else first) and serves forever. Started the same way by
``pulumi preview --policy-pack policies`` (``python -u -m pulumi.policy <engine> <this directory>``, cwd = this
directory) and by ``neocloud check``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from pulumi_policy import EnforcementLevel, PolicyPack


def _package() -> ModuleType:
    """Import this directory as the package ``policies`` wherever it lives (in the repo, or unpacked from a
    published pack whose directory has another name)."""
    here = Path(__file__).resolve().parent
    existing = sys.modules.get("policies")
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve().parent == here:
        return existing
    spec = importlib.util.spec_from_file_location("policies", here / "__init__.py",
                                                  submodule_search_locations=[str(here)])
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the policy package from {here}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["policies"] = module
    spec.loader.exec_module(module)
    return module


_policies = _package()
importlib.import_module("policies._secrets").install()
_all = _policies.all_policies()
importlib.import_module("policies._runtime").install(_all)  # in-flight tracking, one deserialization a request

PolicyPack(
    name=_policies.PACK_NAME,
    enforcement_level=EnforcementLevel.ADVISORY,
    policies=_all,
    description="neocloud: rack topology, efficiency and security rules for AI GPU clusters",
)
