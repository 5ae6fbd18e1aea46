"""Shared building blocks of the spec models: the strict base model, names, and cited constants."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

_DNS_LABEL = r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$"
"""Names become Kubernetes object names, label values and cloud resource names: RFC 1123 labels, 32 max."""

Name = Annotated[str, Field(pattern=_DNS_LABEL, description="Lower-case letters, digits and '-', 1-32 chars.")]

CAPACITY_BLOCK_MAX_INSTANCES = 64
"""One EC2 Capacity Block holds at most 64 instances (hardware.md AWS [P]/[S])."""

DEFAULT_PUE = 1.56
"""Industry-average data-center PUE, ~1.56-1.58 (Uptime Institute, hardware.md [S])."""

CHECKPOINT_BYTES_PER_PARAMETER = 16.0
"""A full training checkpoint is ~16 bytes per parameter: weights + optimizer state (hardware.md [S])."""


class _Model(BaseModel):
    """Every spec section: unknown keys are errors (a typo must not be silently ignored), values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class _PathProblem(Exception):
    """Raised from the cross-field validator; not a ValueError, so pydantic lets it through with its path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message
