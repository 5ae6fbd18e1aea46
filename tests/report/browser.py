"""Headless Chromium driven over the Chrome DevTools Protocol (CDP), for page tests.

The browser is the Debian ``chromium`` package (``.ci/run`` installs it). It is started with
``--remote-debugging-port=0`` on 127.0.0.1 and writes the port it chose to ``DevToolsActivePort`` in its profile
directory; the test connects to the browser endpoint over a websocket (``websocket-client`` from PyPI), creates a
page target and attaches to it in flat mode (CDP ``Target.createTarget`` / ``Target.attachToTarget`` with
``flatten``, chromedevtools.github.io/devtools-protocol). It records what a page does while it loads:

- every request (``Network.requestWillBeSent``), and the ones the browser refused (``Network.loadingFailed`` with a
  ``blockedReason``: a request refused by the page's Content-Security-Policy is still announced, then blocked);
- console messages (``Runtime.consoleAPICalled``), uncaught exceptions (``Runtime.exceptionThrown``) and browser log
  entries (``Log.entryAdded``: CSP violations and failed loads are reported there);

and takes full-page screenshots (``Page.captureScreenshot`` with ``captureBeyondViewport``).

The browser must not reach anything but loopback: background services are switched off, and the host resolver maps
every name except 127.0.0.1 to nothing (``--host-resolver-rules``).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

__all__ = ["Browser", "PageLoad", "find_chromium"]

START_SECONDS = 30.0
CALL_SECONDS = 30.0

FLAGS = (
    "--headless=new", "--no-sandbox",  # root in CI: the setuid sandbox is unavailable
    "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-domain-reliability", "--disable-client-side-phishing-detection", "--no-pings",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageLoad:
    """What one page did while loading."""

    url: str
    requests: list[str] = field(default_factory=list)
    blocked: dict[str, str] = field(default_factory=dict)
    """URL -> why the browser refused it (``Network.loadingFailed`` ``blockedReason``, e.g. ``csp``)."""
    console: list[str] = field(default_factory=list)
    """Console messages of type error/assert, uncaught exceptions and error-level log entries."""
    screenshot: Path | None = None
    facts: Any = None
    """The value of the ``probe`` expression evaluated in the loaded page."""

    @property
    def foreign_requests(self) -> list[str]:
        """Requests other than for the page itself."""
        return [u for u in self.requests if u != self.url]


class Browser:
    """One headless Chromium; use as a context manager."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.profile = profile
        self.process = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._id = 0
        self._events: list[dict[str, Any]] = []
        self.ws = websocket.create_connection(self._endpoint(), timeout=CALL_SECONDS, suppress_origin=True)

    def _endpoint(self) -> str:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}: "
                                   f"{(self.process.stderr.read() if self.process.stderr else b'').decode()[-2000:]}")
            if marker.is_file():
                lines = marker.read_text().split()
                if len(lines) == 2:
                    return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise TimeoutError(f"chromium wrote no DevToolsActivePort within {START_SECONDS:g}s")

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + CALL_SECONDS
        while time.monotonic() < deadline:
            data = json.loads(self.ws.recv())
            if data.get("id") == self._id:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                return dict(data.get("result", {}))
            self._events.append(data)
        raise TimeoutError(f"{method}: no answer within {CALL_SECONDS:g}s")

    def _wait_for(self, method: str, session: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            if any(e.get("method") == method and e.get("sessionId") == session for e in self._events):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {seconds:g}s")
            self._events.append(json.loads(self.ws.recv()))

    def load(self, page: Path, *, screenshot: Path | None = None, probe: str | None = None,
             width: int = 1400, height: int = 900) -> PageLoad:
        """Open ``page`` in a new tab, wait for its load event, record what it did; optionally save a full-page
        screenshot and evaluate ``probe`` (a JavaScript expression whose value is returned by value)."""
        url = page.resolve().as_uri()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            for domain in ("Page", "Network", "Runtime", "Log"):
                self.call(f"{domain}.enable", session=session)
            self.call("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
            self._events.clear()
            self.call("Page.navigate", {"url": url}, session=session)
            self._wait_for("Page.loadEventFired", session, CALL_SECONDS)
            result = PageLoad(url=url)
            if probe is not None:
                value = self.call("Runtime.evaluate", {"expression": probe, "returnByValue": True}, session=session)
                if "exceptionDetails" in value:
                    raise RuntimeError(f"probe failed: {value['exceptionDetails']}")
                result.facts = value["result"].get("value")
            if screenshot is not None:
                size = self.call("Page.getLayoutMetrics", session=session)["cssContentSize"]
                shot = self.call("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True,
                    "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}},
                    session=session)
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
                result.screenshot = screenshot
            self._collect(result, session)
            return result
        finally:
            self.call("Target.closeTarget", {"targetId": target})

    def _collect(self, result: PageLoad, session: str) -> None:
        urls: dict[str, str] = {}
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                result.requests.append(params["request"]["url"])
                urls[params["requestId"]] = params["request"]["url"]
            elif method == "Network.loadingFailed" and params.get("blockedReason"):
                result.blocked[urls.get(params["requestId"], params["requestId"])] = params["blockedReason"]
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                result.console.append(f"console.{params['type']}: {text}")
            elif method == "Runtime.exceptionThrown":
                result.console.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                result.console.append(f"log {params['entry']['level']}: {params['entry'].get('text')}")
