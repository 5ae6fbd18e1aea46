"""Shared building blocks of the spec models: the strict base model, names, and cited constants."""

from __future__ import annotations

from .._model import DNS_LABEL as _DNS_LABEL
from .._model import Name
from .._model import PathProblem as _PathProblem
from .._model import SettingsModel as _Model

__all__ = [
           "CHECKPOINT_BYTES_PER_PARAMETER",
           "DEFAULT_PUE",
           "_DNS_LABEL",
           "Name",
           "_Model",
           "_PathProblem",
]

DEFAULT_PUE = 1.56
"""Industry-average data-center PUE, ~1.56-1.58 (Uptime Institute, hardware.md [S])."""

CHECKPOINT_BYTES_PER_PARAMETER = 16.0
"""A full training checkpoint is ~16 bytes per parameter: weights + optimizer state (hardware.md [S])."""
