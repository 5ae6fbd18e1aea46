"""What a provider package's ``build`` gets and returns, and the dispatch to the stack's provider."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi

from neocloud import ClusterPlan, ClusterSpec
from neocloud.profiles import profile

if TYPE_CHECKING:
    from ..pool import GpuPool

__all__ = ["ProviderContext", "ProviderResult", "TeamVolumeSource", "build_provider"]


@dataclass(frozen=True)
class ProviderContext:
    """What a provider module gets: the spec, its plan, the parent component and the pool components."""

    name: str
    spec: ClusterSpec
    plan: ClusterPlan
    parent: pulumi.ComponentResource
    pools: dict[str, GpuPool]


@dataclass
class ProviderResult:
    """What a provider module returns."""

    outputs: dict[str, Any] = field(default_factory=dict)
    """Stack outputs (plain values or Outputs; kubeconfigs as secrets)."""
    kubernetes_provider: Any = None
    """A ``pulumi_kubernetes.Provider`` for the cluster's API, where there is one."""
    team_volume_source: TeamVolumeSource | None = None
    """Where a static team volume points (the profile's ``team_volume`` mode ``static``): the filesystem the
    provider created, for the Kubernetes layer's PersistentVolume per training team."""
    depends_on: list[Any] = field(default_factory=list)
    """Resources the team claims wait for (the driver's installation)."""


@dataclass
class TeamVolumeSource:
    """A filesystem for static PersistentVolumes: the CSI ``volumeHandle`` (``{team}`` in it is the team's name, so
    each PV's handle is unique where the driver asks for that), its ``volumeAttributes`` and its capacity."""

    volume_handle: Any
    """An Output or string; ``{team}`` is replaced by the team."""
    volume_attributes: dict[str, Any]
    capacity_gib: int


def build_provider(ctx: ProviderContext) -> ProviderResult:
    module = importlib.import_module(profile(ctx.spec.provider).build_module)
    result: ProviderResult = module.build(ctx)
    return result
