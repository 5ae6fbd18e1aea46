"""Shared building blocks of the spec models: the strict base model, names, and cited constants."""

from __future__ import annotations

from .._model import DNS_LABEL as _DNS_LABEL
from .._model import Name
from .._model import PathProblem as _PathProblem
from .._model import SettingsModel as _Model

__all__ = [
           "CHECKPOINT_BYTES_PER_PARAMETER",
           "DEFAULT_PUE",
           "LLAMA3_EFFECTIVE_TRAINING_TIME",
           "LLAMA3_HARDWARE_SHARE",
           "LLAMA3_OBSERVED_DAYS",
           "LLAMA3_OBSERVED_GPUS",
           "LLAMA3_UNEXPECTED_INTERRUPTIONS",
           "_DNS_LABEL",
           "Name",
           "_Model",
           "_PathProblem",
]

DEFAULT_PUE = 1.56
"""Industry-average data-center PUE, ~1.56-1.58 (Uptime Institute, hardware.md [S])."""

CHECKPOINT_BYTES_PER_PARAMETER = 16.0
"""A full training checkpoint is ~16 bytes per parameter: weights + optimizer state (hardware.md [S])."""

LLAMA3_UNEXPECTED_INTERRUPTIONS = 419
"""Llama 3 405B pre-training: 419 unexpected job interruptions (of 466) in a 54-day snapshot on 16,384 H100 GPUs
(The Llama 3 Herd of Models, arXiv 2407.21783, section 3.3.4; hardware.md [S])."""
LLAMA3_OBSERVED_DAYS = 54
LLAMA3_OBSERVED_GPUS = 16_384
LLAMA3_HARDWARE_SHARE = 0.78
"""About 78% of those unexpected interruptions were confirmed or suspected hardware issues (GPU, HBM3, host
components, switches and cables; arXiv 2407.21783, section 3.3.4): the share that takes a node out of service."""
LLAMA3_EFFECTIVE_TRAINING_TIME = 0.90
"""Meta reports "higher than 90% effective training time" for Llama 3 405B despite those interruptions
(arXiv 2407.21783, section 3.3.4)."""

