"""``neocloud report``: the page for every shipped stack loads in a real headless Chromium with no request and no
console error, and a full-page screenshot is saved (build/report/, ignored by git); what the pictures say is
checked against the plan and the policy results; the browser harness itself is shown to catch what it must."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from neocloud.cli import main
from neocloud.cli.plan import plan_document
from neocloud.cli.report import report_document
from neocloud.report import CONTENT_SECURITY_POLICY, render_report
from tests.conftest import REPO, STACKS, stack_run
from tests.report.browser import Browser, find_chromium

OUT = REPO / "build" / "report"
"""Pages and screenshots the test run leaves behind for a reviewer (build/ is in .gitignore)."""

PROBE = """JSON.stringify({
  sections: [...document.querySelectorAll('section')].map(s => s.id),
  svgs: [...document.querySelectorAll('svg')].map(s => { const r = s.getBoundingClientRect();
                                                         return [r.width, r.height]; }),
  text: document.body.innerText,
  csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]').content,
})"""
"""Facts read from the rendered page: its sections, each picture's laid-out size, its text and its CSP."""

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        pytest.fail("Chromium is not installed: apt-get install -y chromium (.ci/run installs it)")
    with Browser(binary, tmp_path_factory.mktemp("chromium-profile")) as started:
        yield started


def _report(stack: str, *extra: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    page = OUT / f"{stack}.html"
    assert main(["report", stack, "--project-dir", str(REPO), "--out", str(page), *extra]) == 0
    return page


@pytest.mark.parametrize("stack", STACKS)
def test_report_loads_in_chromium_without_requests_or_errors(stack: str, browser: Browser) -> None:
    page = _report(stack)
    load = browser.load(page, screenshot=OUT / f"{stack}.png", probe=PROBE)
    assert load.foreign_requests == [], "the page asked for something"
    assert load.requests == [load.url] and load.blocked == {}
    assert load.console == []
    shot = load.screenshot
    assert shot is not None and shot.read_bytes()[:8] == PNG
    width, height = int.from_bytes(shot.read_bytes()[16:20], "big"), int.from_bytes(shot.read_bytes()[20:24], "big")
    assert width == 1400 and height > 900  # the whole page, not just the viewport
    facts = json.loads(load.facts)
    assert facts["csp"] == CONTENT_SECURITY_POLICY
    assert facts["sections"][:6] == ["summary", "racks", "fabric", "nvlink", "storage", "power"]
    assert facts["sections"][-1] == "policies"
    assert facts["svgs"] and all(w > 0 and h > 0 for w, h in facts["svgs"]), "a picture laid out empty"
    plan = plan_document(stack_run(stack))
    assert f"{plan['gpus']:,}\nschedulable GPUs" in facts["text"]
    assert ("goodput" in facts["sections"]) == any(plan["goodput"].values())
    assert "passed: 0 mandatory" in facts["text"]  # every shipped stack passes its policies


def test_the_harness_catches_requests_and_console_errors(browser: Browser, tmp_path: Path) -> None:
    # A check that cannot fail proves nothing: a page that fetches and logs an error must be caught.
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png">'
                    '<script>console.error("boom")</script></body></html>')
    load = browser.load(page)
    assert load.foreign_requests == ["http://127.0.0.1:9/x.png"]
    assert any("boom" in line for line in load.console)


def test_the_pages_policy_blocks_fetches(browser: Browser, tmp_path: Path) -> None:
    # The report's Content-Security-Policy refuses a fetch an edit might add, and the browser says so.
    page = tmp_path / "csp.html"
    page.write_text(f'<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
                    f'content="{CONTENT_SECURITY_POLICY}"></head><body><img src="http://127.0.0.1:9/x.png">'
                    '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"></body></html>')
    load = browser.load(page)
    assert load.blocked == {"http://127.0.0.1:9/x.png": "csp", "http://127.0.0.1:9/x.css": "csp"}
    assert any("Content Security Policy" in line for line in load.console), load.console


def _svgs(html: str) -> list[ET.Element]:
    """Every inline picture, parsed as XML (so every name and number in it is escaped)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", html, flags=re.S)]


def test_staging_pictures_say_what_the_plan_says() -> None:
    html = _report("staging").read_text()
    svgs = _svgs(html)
    racks = next(s for s in svgs if s.get("aria-label") == "rack elevations of pool h100")
    labels = [t.text for t in racks.iter("{http://www.w3.org/2000/svg}text")]
    # H100RA-style SU of 31 DGX H100 (29 + 2 spares) at 4 per rack under a 41 kW budget: 7 racks of 4, 1 of 3.
    assert sum(1 for t in labels if t and t.startswith("h100-su0-r4 #")) == 7
    assert sum(1 for t in labels if t and t.startswith("h100-su0-r3 #")) == 1
    assert labels.count("40.8 kW / 41 kW") == 7 and labels.count("30.6 kW / 41 kW") == 1
    slots = [r for r in racks.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") in ("slot", "slot-spare")]
    assert len(slots) == 31 and sum(r.get("class") == "slot-spare" for r in slots) == 2
    fabric = next(s for s in svgs if (s.get("aria-label") or "").startswith("fabric of pool h100"))
    text = " ".join(t.text or "" for t in fabric.iter("{http://www.w3.org/2000/svg}text"))
    # H100RA Table 4, 1 SU: 8 leaf, 4 spine, 252 node-leaf and 256 leaf-spine cables [P].
    assert "node - leaf: 252 cables" in text and "leaf - spine: 256 cables" in text
    assert "8 switches" in text and "4 switches" in text
    assert "<td>copper DAC</td><td>0.5-2 m</td>" in html
    assert "Cable types by reach (NVIDIA LinkX)" in html


def test_a_rack_over_its_budget_is_drawn_as_the_policy_reports_it(tmp_path: Path) -> None:
    config = json.loads((REPO / "policies" / "config" / "staging.json").read_text())
    config["rack-power-budget"] = {"enforcementLevel": "mandatory", "maxRackKw": 35}
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(config))
    html = _report("staging", "--policy-config", str(path)).read_text()
    racks = next(s for s in _svgs(html) if s.get("aria-label") == "rack elevations of pool h100")
    bars = [r.get("class") for r in racks.iter("{http://www.w3.org/2000/svg}rect")
            if r.get("class") in ("bar-ok", "bar-bad")]
    # 40.8 kW racks break a 35 kW cap, 30.6 kW racks do not: exactly what rack-power-budget reported.
    assert bars == ["bar-bad"] * 7 + ["bar-ok"]
    assert "<td>h100-su0-r4</td><td>0</td><td>7</td><td>4</td><td>32</td><td>40.8</td><td>over budget</td>" in html
    assert "FAILED: 1 mandatory" in html
    assert "35 kW (policy maxRackKw)" in html and "41 kW (racks.power_budget_kw)" in html


def test_cloud_stacks_show_what_the_provider_places() -> None:
    html = _report("prod").read_text()
    assert "Placed by the provider: provider-placed. No racks are planned" in html
    blocks = next(s for s in _svgs(html) if s.get("aria-label") == "placement of pool train by the provider")
    text = [t.text for t in blocks.iter("{http://www.w3.org/2000/svg}text")]
    assert "train-b0" in text and "train-b1" in text and "capacity: capacity-block" in text
    assert "Built by the provider (efa): 32 network cards per node; no switches or cables to buy." in html
    # Outputs that are credentials never reach the page.
    kubeconfig = json.loads(stack_run("prod").outputs["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"] not in html
    assert "certificate-authority-data" not in html


def test_a_neocloud_fabric_is_shown_as_the_providers() -> None:
    html = _report("coreweave").read_text()
    assert "On coreweave the provider builds and runs the fabric" in html
    assert "the provider builds and runs the fabric" not in _report("gb200").read_text()  # our own racks


def test_gb200_racks_are_nvl72_racks_with_spares_spread() -> None:
    html = _report("gb200").read_text()
    racks = next(s for s in _svgs(html) if s.get("aria-label") == "rack elevations of pool nvl72")
    rects = list(racks.iter("{http://www.w3.org/2000/svg}rect"))
    assert sum(r.get("class") == "nvsw" for r in rects) == 8  # one NVLink switch block per NVL72 rack
    assert sum(r.get("class") in ("slot", "slot-spare") for r in rects) == 144  # 8 racks x 18 trays
    assert sum(r.get("class") == "slot-spare" for r in rects) == 16  # 2 per rack
    domains = next(s for s in _svgs(html) if s.get("aria-label") == "NVLink domains and SUs of pool nvl72")
    assert sum(r.get("class") == "dom" for r in domains.iter("{http://www.w3.org/2000/svg}rect")) == 8


def test_goodput_is_drawn_when_the_plan_has_it() -> None:
    document = report_document(stack_run("staging"), None)
    document["plan"]["goodput"] = {"h100": {"interruptions_per_day": 1.2, "checkpoint_interval_minutes": 30,
                                            "expected": 0.93, "spares_recommended": 2}}
    document["goodput_floor"] = 0.95
    html = render_report(document)
    assert '<section id="goodput">' in html
    chart = next(s for s in _svgs(html) if s.get("aria-label") == "expected goodput")
    assert any(t.text == "h100 expected" for t in chart.iter("{http://www.w3.org/2000/svg}text"))
    assert [r.get("class") for r in chart.iter("{http://www.w3.org/2000/svg}rect")] == ["bar-bg", "bar-bad"]
    assert any(t.text == "0.93 vs 0.95 (floor: goodput-floor policy)" for t in chart.iter(
        "{http://www.w3.org/2000/svg}text"))
    assert "<td>interruptions per day</td><td>1.2</td>" in html
    assert "The policy pack was not run for this report." in html


def test_names_are_escaped() -> None:
    document = report_document(stack_run("staging"), None)
    document["plan"]["name"] = "<script>alert(1)</script>"
    document["plan"]["pools"][0]["name"] = 'a"b<c>'
    html = render_report(document)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert all(svg is not None for svg in _svgs(html))


def test_bad_out_is_one_line_exit_2(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "neocloud", "report", "staging", "--out",
                             str(tmp_path / "no" / "such" / "r.html")], capture_output=True, text=True, timeout=60,
                            cwd=REPO)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"neocloud: error: --out: directory {tmp_path / 'no' / 'such'} does not exist\n"
    result = subprocess.run([sys.executable, "-m", "neocloud", "report", "staging", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 2 and result.stderr.startswith(f"neocloud: error: --out: {tmp_path} is a directory")
