"""The object-storage lifecycle every provider applies to its buckets (AWS S3, CoreWeave, Nebius all take the
S3 lifecycle rule shape): expire noncurrent versions after the spec's days, abort stale multipart uploads."""

from __future__ import annotations

from typing import Any

__all__ = ["ABORT_MULTIPART_DAYS", "lifecycle_rule"]

ABORT_MULTIPART_DAYS = 7
"""Our choice, not a provider limit: parts of multipart uploads that never completed are deleted after a week."""


def lifecycle_rule(noncurrent_days: int, *, status: str = "Enabled") -> Any:
    """The one lifecycle rule of a bucket, as the providers' typed rule dicts take it (hence ``Any``).
    ``status`` is spelled as the provider's API spells it (Nebius: ``ENABLED``)."""
    return {
        "id": "expire-noncurrent-versions",
        "status": status,
        "filter": {"prefix": ""},
        "noncurrent_version_expiration": {"noncurrent_days": noncurrent_days},
        "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS},
    }
