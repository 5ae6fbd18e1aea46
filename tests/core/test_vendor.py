"""A clone stands alone: the manifest pins every shared upstream file by sha256, ``neocloud vendor fetch`` gets them
from a raw file host (here a local HTTP server on 127.0.0.1 serving the shared copies under
``<repository>/<commit>/<path>``, as the real host does) and verifies them, and the test suite fails with one clear
line when no copy is anywhere."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neocloud.cli import main
from neocloud.vendor import DEFAULT_DIR, ENV_DIR, find_vendor_dir, manifest, problems
from tests.conftest import REPO, SHARED, VENDOR


def test_the_manifest_pins_every_shared_file() -> None:
    files = {f.path: f for f in manifest()}
    shared = SHARED / "vendor"
    if not shared.is_dir():  # pragma: no cover - a clone without shared/: the manifest is checked against .vendor
        shared = VENDOR
    on_disk = {p.relative_to(shared).as_posix() for p in shared.rglob("*") if p.is_file() and p.name != "SOURCES.md"
               and not p.name.startswith(".")}
    assert on_disk <= set(files), "a vendored file has no manifest entry"
    for f in files.values():
        path = shared / f.path
        if not path.is_file():
            continue
        data = path.read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (f.size, f.sha256), f.path
        # Git's blob id, as SOURCES.md records it: sha1 of "blob <size>\0" + content.
        assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == f.git_blob, f.path
        assert len(f.commit) == 40 and f.repository.count("/") == 1 and f.tag
    assert [f.path for f in files.values() if not f.upstream_identical] == ["dcgm-exporter/values.yaml",
                                                                           "dcgm-exporter/Chart.yaml"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def raw_host(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A raw file host on 127.0.0.1 serving the shared copies at <repository>/<commit>/<upstream path>."""
    root = tmp_path / "host"
    for f in manifest():
        if (VENDOR / f.path).is_file():
            target = root / f.repository / f.commit / f.upstream_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(VENDOR / f.path, target)

    def handler(*args: object, **kwargs: object) -> _Quiet:
        return _Quiet(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_downloads_and_verifies_every_file(raw_host: tuple[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = raw_host
    target = tmp_path / "vendor"
    assert main(["vendor", "fetch", str(target), "--base-url", url]) == 0
    out = capsys.readouterr()
    fetchable = [f for f in manifest() if f.upstream_identical]
    assert out.out.startswith(f"fetched and verified {len(fetchable)} files into {target}; not fetchable (2): ")
    assert f"[1/{len(fetchable)}] {fetchable[0].path} <- {fetchable[0].repository}@{fetchable[0].tag}" in out.err
    assert problems(target) == []
    assert main(["vendor", "check", str(target)]) == 0
    # Fetching again replaces the folder it made.
    assert main(["vendor", "fetch", str(target), "--base-url", url]) == 0


def test_fetch_refuses_a_file_whose_sha256_differs(raw_host: tuple[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    url, root = raw_host
    victim = next(f for f in manifest() if f.path == "kueue/kueue.x-k8s.io_topologies.yaml")
    served = root / victim.repository / victim.commit / victim.upstream_path
    data = bytearray(served.read_bytes())
    data[-2] ^= 0x01  # one bit, same size
    served.write_bytes(bytes(data))
    target = tmp_path / "vendor"
    assert main(["vendor", "fetch", str(target), "--base-url", url]) == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith(f"neocloud: vendor fetch failed: {victim.path}: {url}/{victim.repository}/{victim.commit}/")
    assert f"pinned {victim.size} bytes with sha256 {victim.sha256}" in err
    assert not target.exists(), "a failed fetch must leave nothing behind"
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".vendor.")] == []


def test_fetch_reports_missing_files_and_unreachable_hosts(raw_host: tuple[str, Path], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    url, root = raw_host
    first = next(f for f in manifest() if f.upstream_identical)
    (root / first.repository / first.commit / first.upstream_path).unlink()
    assert main(["vendor", "fetch", str(tmp_path / "a"), "--base-url", url]) == 1
    assert capsys.readouterr().err.splitlines()[-1].endswith("answered HTTP 404")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert main(["vendor", "fetch", str(tmp_path / "b"), "--base-url", f"http://127.0.0.1:{port}"]) == 1
    assert f"cannot download http://127.0.0.1:{port}/" in capsys.readouterr().err


def test_fetch_gives_up_at_its_deadline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        code = main(["vendor", "fetch", str(tmp_path / "v"), "--base-url",
                     f"http://127.0.0.1:{silent.getsockname()[1]}", "--timeout", "0.5"])
        assert code == 1 and time.monotonic() - started < 10
    assert "timed out" in capsys.readouterr().err


def test_bad_flags_and_folders_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vendor", "fetch", str(tmp_path), "--base-url", "ftp://x"]) == 2
    assert capsys.readouterr().err == "neocloud: error: --base-url: 'ftp://x' is not an http(s) URL\n"
    assert main(["vendor", "check", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.startswith(f"neocloud: error: DIR: {tmp_path / 'none'} is not a folder; run ")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    assert main(["vendor", "fetch", str(tmp_path / "mine"), "--base-url", "http://127.0.0.1:9"]) == 1
    assert main(["vendor", "check", str(tmp_path / "mine")]) == 1
    assert "kueue/kueue.x-k8s.io_topologies.yaml: missing" in capsys.readouterr().out


def test_which_folder_the_tests_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "clone"
    checkout.mkdir()
    monkeypatch.delenv(ENV_DIR, raising=False)
    assert find_vendor_dir(checkout) is None
    (tmp_path / "shared" / "vendor").mkdir(parents=True)
    assert find_vendor_dir(checkout) == tmp_path / "shared" / "vendor"
    fetched = checkout / DEFAULT_DIR
    (fetched / "kueue").mkdir(parents=True)  # incomplete: not used
    assert find_vendor_dir(checkout) == tmp_path / "shared" / "vendor"
    shutil.rmtree(fetched)
    shutil.copytree(VENDOR, fetched)
    assert find_vendor_dir(checkout) == fetched
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "elsewhere"))
    assert find_vendor_dir(checkout) is None


def _clone(tmp_path: Path) -> Path:
    """The checkout as a fresh clone has it, with no shared/ beside it."""
    clone = tmp_path / "clone"
    shutil.copytree(REPO, clone, ignore=shutil.ignore_patterns(".git", ".venv", "venv", "build", DEFAULT_DIR,
                                                               "__pycache__", ".mypy_cache", ".ruff_cache",
                                                               ".hypothesis", "*.egg-info"))
    return clone


def test_a_clone_without_shared_fails_with_one_line_then_passes_after_fetch(tmp_path: Path) -> None:
    clone = _clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != ENV_DIR}
    test = "tests/core/test_cli.py::test_pulumi_yaml_validates_against_the_vendored_project_schema"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], cwd=clone,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error
    lines = [ln for ln in (result.stdout + result.stderr).splitlines() if ln.strip()]
    assert lines == [f"ERROR: the pinned upstream schemas and chart values are not here (${ENV_DIR}, {DEFAULT_DIR}/ "
                     f"or ../shared/vendor): run `neocloud vendor fetch` once (it fills {DEFAULT_DIR}/)"]
    # After a fetch (here: the shared copies, placed where the fetch puts them) the same tests run.
    shutil.copytree(VENDOR, clone / DEFAULT_DIR)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test], cwd=clone,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fetch_without_a_folder_uses_a_verified_copy_the_tests_already_read(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # The README's `neocloud vendor fetch && python -m pytest`, where shared/ sits beside the checkout: no download.
    checkout = tmp_path / "clone"
    checkout.mkdir()
    (checkout / "Pulumi.yaml").write_text("name: x\nruntime: python\n")
    shutil.copytree(VENDOR, tmp_path / "shared" / "vendor")
    monkeypatch.delenv(ENV_DIR, raising=False)
    monkeypatch.chdir(checkout)
    result = subprocess.run([sys.executable, "-m", "neocloud", "vendor", "fetch", "--base-url", "http://127.0.0.1:9"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"the tests read {tmp_path / 'shared' / 'vendor'}: every pinned file is there")
    refreshed = subprocess.run([sys.executable, "-m", "neocloud", "vendor", "fetch", "--refresh", "--base-url",
                                "http://127.0.0.1:9", "--timeout", "2"], capture_output=True, text=True, timeout=60)
    assert refreshed.returncode == 1 and "cannot download http://127.0.0.1:9/" in refreshed.stderr
