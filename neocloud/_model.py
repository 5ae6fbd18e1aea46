"""The strict base model and name type of every spec section, the core's and the provider profiles' alike.

Kept out of ``neocloud.spec`` so a provider profile can define its settings section without importing the spec
(the spec imports the profiles to assemble ``ClusterSpec``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["DNS_LABEL", "IPV4_CIDR", "LABEL_VALUE", "CidrCheckedSettings", "Name", "PathProblem", "SettingsModel",
           "cidr_problems"]

DNS_LABEL = r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$"
"""Names become Kubernetes object names, label values and cloud resource names: RFC 1123 labels, 32 max."""

Name = Annotated[str, Field(pattern=DNS_LABEL, description="Lower-case letters, digits and '-', 1-32 chars.")]


class SettingsModel(BaseModel):
    """Every spec section: unknown keys are errors (a typo must not be silently ignored), values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PathProblem(Exception):
    """Raised from a cross-field validator; not a ValueError, so pydantic lets it through with its path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message


IPV4_CIDR = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$"
"""An IPv4 CIDR block such as 10.0.0.0/16."""

LABEL_VALUE = r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
"""A Kubernetes label value (also used for instance types, platforms and presets)."""


def cidr_problems(section: str, cidrs: Mapping[str, str | list[str]]) -> list[tuple[str, str]]:
    """IPv4 CIDR fields of a provider section that are not network addresses, or that overlap each other."""
    problems: list[tuple[str, str]] = []
    networks: list[tuple[str, ipaddress.IPv4Network]] = []
    for field, value in cidrs.items():
        for i, cidr in enumerate([value] if isinstance(value, str) else value):
            path = f"{section}.{field}" + ("" if isinstance(value, str) else f"[{i}]")
            try:
                network = ipaddress.IPv4Network(cidr)
            except ValueError as exc:
                problems.append((path, f"got {cidr!r}; not an IPv4 network address ({exc})"))
                continue
            if isinstance(value, str):
                clash = next((name for name, other in networks if network.overlaps(other)), None)
                if clash:
                    problems.append((path, f"{cidr} overlaps {section}.{clash}"))
                networks.append((field, network))
    return problems


class CidrCheckedSettings(SettingsModel):
    """A provider section whose CIDR fields (``cidr_fields``: a CIDR or a list of them each) must be network
    addresses and, the single ones, not overlap each other (``cidr_problems``); the first problem is raised with its
    ``<cidr_section>.<field>`` path."""

    cidr_section: ClassVar[str]
    cidr_fields: ClassVar[tuple[str, ...]]

    @model_validator(mode="after")
    def _check_cidrs(self) -> Self:
        values = {f: (v if isinstance(v := getattr(self, f), str) else list(v)) for f in self.cidr_fields}
        for problem in cidr_problems(self.cidr_section, values):
            raise PathProblem(*problem)
        return self
