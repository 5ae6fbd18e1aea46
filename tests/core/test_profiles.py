"""The provider-profile contract: one registry line per provider, pure profiles, no provider-name branches.

What a profile says about a platform is checked where it is used (spec errors in test_spec, Topology levels in the
Kubernetes tests, node sets and buckets in the policy tests); here: that the registry, the spec, the schema and the
policies are all driven by the same profiles, and that the domain core still never imports Pulumi.
"""

from __future__ import annotations

import keyword
import re
import subprocess
import sys
from pathlib import Path

import pytest

from neocloud.profiles import REGISTRY, ProviderProfile, all_profiles, profile
from neocloud.spec import ClusterSpec, json_schema, load_cluster_spec

REPO = Path(__file__).resolve().parents[2]


def test_every_registered_profile_loads_and_is_named_by_its_registry_line() -> None:
    profiles = all_profiles()
    assert [p.name for p in profiles] == list(REGISTRY)
    for p in profiles:
        assert isinstance(p, ProviderProfile)
        # The package is named after the provider, with `_cloud` where the name is a Python keyword (`lambda`).
        package = f"{p.name}_cloud" if keyword.iskeyword(p.name) else p.name
        assert REGISTRY[p.name] == f"components.providers.{package}.profile"
        assert p.build_module == f"components.providers.{package}"
        assert p.summary and p.fabric_kinds and "external" in p.filesystem_kinds
    with pytest.raises(KeyError, match="unknown provider 'nope'"):
        profile("nope")


def test_spec_and_schema_are_assembled_from_the_profiles() -> None:
    schema = json_schema()
    assert schema["properties"]["provider"]["enum"] == list(REGISTRY)
    for p in all_profiles():
        if p.settings is not None:
            assert p.name in ClusterSpec.model_fields
            assert ClusterSpec.model_fields[p.name].annotation is p.settings
            assert p.name in schema["properties"]
        else:
            assert p.name not in ClusterSpec.model_fields


def test_spec_settings_of_returns_the_typed_section() -> None:
    from components.providers.aws.profile import AwsSettings
    from components.providers.nebius.profile import NebiusSettings

    spec = load_cluster_spec({
        "name": "x", "provider": "aws", "environment": "dev", "region": "us-east-1", "zone": "us-east-1a",
        "pools": [{"name": "h100", "system": "p5.48xlarge", "nodes": 2}], "fabric": {"kind": "efa"},
    })
    assert spec.profile is profile("aws")
    assert spec.settings_of(AwsSettings) is spec.aws  # type: ignore[attr-defined]
    assert isinstance(spec.settings_of(NebiusSettings), NebiusSettings)  # present, defaults


@pytest.mark.parametrize("module", ["neocloud.spec", "neocloud.plan", "neocloud.profiles",
                                    *REGISTRY.values()])
def test_the_domain_core_and_every_profile_import_without_pulumi(module: str) -> None:
    code = f"import sys, {module}; bad = [m for m in sys.modules if m.split('.')[0].startswith('pulumi')]; " \
           "print(bad); sys.exit(1 if bad else 0)"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


_NAME_BRANCH = re.compile(r"provider\s*(==|!=|in\b|not in\b)")
# AWS-only commands (EC2 preflight, DescribeInstanceTopology import) refuse other stacks by name: they are AWS
# tools, not provider-neutral code.
_AWS_COMMANDS = {"neocloud/cli/preflight.py", "neocloud/cli/topology.py"}


def test_no_code_outside_the_provider_packages_branches_on_provider_names() -> None:
    offenders = []
    for root in ("neocloud", "components", "policies"):
        for path in (REPO / root).rglob("*.py"):
            rel = path.relative_to(REPO).as_posix()
            if rel.startswith("components/providers/") or rel in _AWS_COMMANDS:
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if _NAME_BRANCH.search(line) or any(f'"{name}"' in line and "==" in line for name in REGISTRY):
                    offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "ask the provider profile instead:\n" + "\n".join(offenders)


def test_policies_read_the_profiles_node_sets_and_buckets() -> None:
    from policies._common import NODE_SET_TYPES
    from policies.security import BUCKET_TYPES, STATEFUL_TYPES

    for p in all_profiles():
        types = p.resource_types
        assert {s.type for s in types.node_sets} <= set(NODE_SET_TYPES)
        assert {b.type for b in types.buckets} <= set(BUCKET_TYPES)
        assert set(types.stateful) <= set(STATEFUL_TYPES)
