"""Every resource type a policy rule reads is one the providers really register, and every node set or bucket the
providers register is one the rules read.

A rule keyed on a type token that no program registers is silently not applicable (a rename in a provider SDK or a
typo is enough); a provider resource the rules do not know escapes them. The tokens are collected from the rule
modules themselves (every type-token string they hold, including config defaults) and from the provider profiles;
what is registered comes from running every shipped stack's real program under the offline engine. Types a rule
reads that no shipped stack registers (an EC2 instance or EBS volume of your own composition, Pods and Deployments
of a workload) must at least exist in the installed provider SDK, checked against the SDK's own source, where each
resource class passes its token to ``super().__init__``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from neocloud.profiles import all_profiles
from tests.conftest import STACKS, stack_run

TOKEN = re.compile(r"^(aws|kubernetes|coreweave|nebius|digitalocean|lambda|neocloud):[A-Za-z0-9./_-]+:[A-Za-z0-9]+$")
RULE_MODULES = ("policies._common", "policies.security", "policies.topology", "policies.efficiency")
SDK = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "coreweave": "pulumi_coreweave",
       "nebius": "pulumi_nebius", "digitalocean": "pulumi_digitalocean"}


def _strings(value: Any, seen: set[int]) -> Iterator[str]:
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k, seen)
            yield from _strings(v, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            yield from _strings(v, seen)
    elif hasattr(value, "properties") and isinstance(value.properties, dict):  # PolicyConfigSchema
        yield from _strings(value.properties, seen)


def rule_types() -> set[str]:
    """Type tokens the rule modules hold (constants, tables, config-schema defaults) and the profiles declare."""
    found: set[str] = set()
    for name in RULE_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            found.update(s for s in _strings(value, set()) if TOKEN.match(s))
    for p in all_profiles():
        found |= p.resource_types.all()
    return {t for t in found if not t.startswith("neocloud:")}


@pytest.fixture(scope="module")
def registered() -> set[str]:
    return {r.type for stack in STACKS for r in stack_run(stack).resources}


def _in_sdk(token: str) -> bool:
    """Whether the installed provider SDK defines a resource with this type token."""
    package, module, _ = token.split(":")
    sdk = SDK.get(package)
    if sdk is None:
        return False
    try:
        root = Path(importlib.import_module(sdk).__file__ or "").parent
    except ImportError:
        pytest.skip(f"{sdk} not installed")
    if package == "kubernetes":  # kubernetes:apps/v1:Deployment -> pulumi_kubernetes/apps/v1/Deployment.py
        group, version = module.split("/")
        directory = root / group.split(".")[0] / version
    else:  # aws:ec2/instance:Instance -> pulumi_aws/ec2/instance.py; index/... -> the package root
        directory = root / module.rsplit("/", 1)[0] if not module.startswith("index/") else root
    quoted = (f"'{token}'", f'"{token}"')
    return directory.is_dir() and any(q in p.read_text() for p in directory.glob("*.py") for q in quoted)


def test_rules_read_types_the_providers_register(registered: set[str]) -> None:
    read = rule_types()
    assert len(read) > 20, sorted(read)  # the collection itself works
    unknown = sorted(t for t in read - registered if not _in_sdk(t))
    assert not unknown, f"rules read types no shipped stack registers and no installed SDK defines: {unknown}"


def test_every_registered_node_set_and_bucket_is_read_by_the_rules(registered: set[str]) -> None:
    from policies._common import NODE_SET_TYPES
    from policies.security import BUCKET_TYPES

    node_like = {t for t in registered if re.search(r"(NodeGroup|NodePool)$", t)}
    bucket_like = {t for t in registered if t.endswith("Bucket")}
    assert node_like and bucket_like
    assert node_like <= set(NODE_SET_TYPES), sorted(node_like - set(NODE_SET_TYPES))
    assert bucket_like <= set(BUCKET_TYPES), sorted(bucket_like - set(BUCKET_TYPES))


def test_the_type_check_is_not_vacuous(registered: set[str]) -> None:
    """A misspelt token is neither registered nor in the SDK: the check above would name it."""
    bogus = "aws:eks/nodeGroup:NodeGrup"
    assert bogus not in registered and not _in_sdk(bogus)
    assert _in_sdk("aws:ec2/instance:Instance") and _in_sdk("kubernetes:apps/v1:Deployment")
