"""The pinned upstream files the tests validate against: a manifest, a fetcher that checks every sha256, and the
rule for which folder the tests read.

``manifest.json`` lists each file with its upstream repository, path, tag, commit, size, git blob id and sha256
(from ``shared/vendor/SOURCES.md`` and the shared copies). ``fetch`` downloads each from its repository's raw file
host at the pinned commit (an immutable address: a tag can move, a commit cannot), verifies size and sha256, and
only then moves the whole set into place, so a folder is either complete and verified or untouched. Files that
upstream serves no byte-identical copy of (``upstream_identical: false``) are listed but cannot be fetched.

The tests read, in order: ``$NEOCLOUD_VENDOR_DIR``, ``.vendor/`` in the checkout (where ``neocloud vendor fetch``
puts them), ``../shared/vendor`` beside the checkout.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_DIR",
    "ENV_DIR",
    "FETCH_COMMAND",
    "FetchError",
    "VendorFile",
    "fetch",
    "find_vendor_dir",
    "manifest",
    "problems",
]

MANIFEST = Path(__file__).with_name("manifest.json")
DEFAULT_DIR = ".vendor"
"""Where ``neocloud vendor fetch`` puts the files, relative to the checkout (ignored by git: fetched upstream files
are never committed)."""
ENV_DIR = "NEOCLOUD_VENDOR_DIR"
FETCH_COMMAND = "neocloud vendor fetch"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
TIMEOUT_SECONDS = 30.0
"""Deadline for each download (connect and each read)."""


class FetchError(RuntimeError):
    """A file could not be fetched or did not match its pinned size and sha256."""


@dataclass(frozen=True)
class VendorFile:
    path: str
    """Where the file goes under the vendor folder (as in shared/vendor)."""
    repository: str
    upstream_path: str
    tag: str
    commit: str
    license: str
    size: int
    sha256: str
    git_blob: str
    upstream_identical: bool
    note: str = ""

    def url(self, base_url: str = DEFAULT_BASE_URL) -> str:
        return f"{base_url.rstrip('/')}/{self.repository}/{self.commit}/{self.upstream_path}"


def manifest() -> list[VendorFile]:
    document: dict[str, Any] = json.loads(MANIFEST.read_text())
    return [VendorFile(**entry) for entry in document["files"]]


def problems(folder: Path, files: Sequence[VendorFile] | None = None) -> list[str]:
    """What is missing or different in ``folder`` (empty: every fetchable file is there and verified)."""
    out = []
    for f in files if files is not None else manifest():
        path = folder / f.path
        if not path.is_file():
            if f.upstream_identical:
                out.append(f"{f.path}: missing")
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != f.sha256:
            out.append(f"{f.path}: sha256 {digest}, pinned {f.sha256}")
    return out


def find_vendor_dir(checkout: Path) -> Path | None:
    """The folder the tests read: ``$NEOCLOUD_VENDOR_DIR``, else ``<checkout>/.vendor`` when fetched completely,
    else ``<checkout>/../shared/vendor``; ``None`` when there is none."""
    explicit = os.environ.get(ENV_DIR)
    if explicit:
        return Path(explicit) if Path(explicit).is_dir() else None
    fetched = checkout / DEFAULT_DIR
    if fetched.is_dir() and not problems(fetched):
        return fetched
    shared = checkout.parent / "shared" / "vendor"
    return shared if shared.is_dir() else None


Opener = Callable[[str, float], bytes]


def _download(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "neocloud-vendor-fetch"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        data: bytes = response.read()
        return data


def fetch(target: Path, *, base_url: str = DEFAULT_BASE_URL, timeout: float = TIMEOUT_SECONDS,
          progress: Callable[[str], None] | None = None, opener: Opener = _download) -> list[VendorFile]:
    """Download every fetchable manifest file into ``target`` and verify it; returns the files fetched.

    Raises ``FetchError`` (naming the file and its URL) on the first failure; ``target`` is then left as it was.
    """
    files = [f for f in manifest() if f.upstream_identical]
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for n, f in enumerate(files, 1):
            url = f.url(base_url)
            if progress:
                progress(f"[{n}/{len(files)}] {f.path} <- {f.repository}@{f.tag} {f.upstream_path}")
            try:
                data = opener(url, timeout)
            except urllib.error.HTTPError as exc:
                raise FetchError(f"{f.path}: {url} answered HTTP {exc.code}") from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise FetchError(f"{f.path}: cannot download {url}: {reason}") from None
            digest = hashlib.sha256(data).hexdigest()
            if len(data) != f.size or digest != f.sha256:
                raise FetchError(f"{f.path}: {url} gave {len(data)} bytes with sha256 {digest}; pinned {f.size} "
                                 f"bytes with sha256 {f.sha256}")
            path = staging / f.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if target.exists():
            # Keep what is there only if it is not one of ours: refuse to replace an unrelated folder.
            if not (target / ".neocloud-vendor").is_file() and any(target.iterdir()):
                raise FetchError(f"{target} exists and was not made by `{FETCH_COMMAND}`; give an empty or new folder")
            shutil.rmtree(target)
        (staging / ".neocloud-vendor").write_text(f"made by {FETCH_COMMAND}; see neocloud/vendor/manifest.json\n")
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return files
