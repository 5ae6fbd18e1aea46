"""The report page: one self-contained HTML document with inline SVG and CSS, drawn from the plan alone.

Nothing on the page is fetched: no script, no font, no image file. A Content-Security-Policy of
``default-src 'none'`` (W3C CSP Level 3; MDN "Content-Security-Policy") makes the browser refuse any fetch that a
future edit might add, and the browser test asserts that the page makes no request and logs no error.

What is drawn comes from the report document (``report_document`` in ``neocloud.cli.report``): the stable
``plan --json`` document, the policy results as ``check --format json`` gives them, the rack power budget (the
spec's ``racks.power_budget_kw`` and the ``rack-power-budget`` policy's config) and the placement blocks the program
exported. Pictures never re-plan: a number the plan does not decide (which node of an SU is the spare, how long a
cable run is) is shown as the plan states it, with a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._svg import Svg, esc, fmt

__all__ = ["CONTENT_SECURITY_POLICY", "render_report"]

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                           "form-action 'none'")
"""Nothing may be fetched; only the page's own inline style applies."""

MAX_RACKS_PER_GROUP = 8
"""Racks drawn per rack group; the rest of an identical group is a "+N more" label (groups hold identical racks)."""
MAX_RACKS_PER_POOL = 48
MAX_SUS_DRAWN = 8
MAX_DOMAINS_PER_SU = 96
MAX_SWITCHES_PER_TIER = 16
MAX_TABLE_ROWS = 200

LINKX_REACH = (
    ("copper DAC", "0.5-2 m", "within a rack"),
    ("splitter DAC", "1-3 m", "within a rack, one switch port to two node ports"),
    ("multimode SR4 optics", "up to 50 m", "across a row"),
    ("single-mode DR4 optics", "up to 100 m", "across the hall"),
)
"""Cable types by reach, NVIDIA LinkX (hardware.md: "NDR copper DAC 0.5-2 m, splitter DAC 1-3 m; multimode SR4 optics
50 m; single-mode DR4 100 m" [P])."""

CSS = """
:root{--ink:#1d2430;--muted:#5b6575;--line:#c9d1dc;--bg:#f6f8fb;--card:#fff;--node:#4f7cc9;--spare:#e3a33b;
--ok:#2f9e5b;--bad:#d64545;--warn:#d99a1e;--na:#9aa5b4;--sw:#6c5bb3;--fab:#8fa8d8}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,
sans-serif;color:var(--ink);background:var(--bg)}header{background:#16202e;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}header p{margin:0;color:#c6cfdb}nav{padding:8px 28px;background:#223047}
nav a{color:#dfe6f0;margin-right:16px;text-decoration:none;font-size:13px}main{padding:18px 28px;max-width:1400px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 18px}
h2{margin:0 0 10px;font-size:18px}h3{margin:14px 0 6px;font-size:15px}.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:150px;background:#fbfcfe}
.card b{display:block;font-size:20px}.card span{color:var(--muted);font-size:12px}.note{color:var(--muted);
font-size:12.5px;margin:6px 0}.scroll{overflow-x:auto}table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border-bottom:1px solid #e3e8ef;padding:4px 10px 4px 0;text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600}td.num,th.num{text-align:right}.pass{color:var(--ok);font-weight:600}
.fail{color:var(--bad);font-weight:600}.adv{color:var(--warn);font-weight:600}.na{color:var(--na)}
svg.pic{display:block;margin:6px 0;max-width:none}svg text{font:11px system-ui,sans-serif;fill:var(--ink)}
svg text.small{font-size:10px;fill:var(--muted)}svg text.title{font-size:12px;font-weight:600}
svg text.inv{fill:#fff;font-size:10px}.frame{fill:#eef1f6;stroke:#7d8797;stroke-width:1.5}
.slot{fill:var(--node);stroke:#fff;stroke-width:1}.slot-spare{fill:var(--spare);stroke:#fff;stroke-width:1}
.slot-free{fill:#dde3ec;stroke:#fff;stroke-width:1}.nvsw{fill:#8a6fd1;stroke:#fff;stroke-width:1}
.bar-bg{fill:#e6ebf2}.bar-ok{fill:var(--ok)}.bar-bad{fill:var(--bad)}.bar-na{fill:var(--na)}.bar-it{fill:#4f7cc9}
.bar-fac{fill:#a9bfe6}.budget{stroke:#16202e;stroke-width:2;stroke-dasharray:4 2}.sw{fill:var(--sw)}
.su{fill:#f1f4fa;stroke:#7d8797}.dom{fill:#74b49b;stroke:#fff}.dom-spare{fill:var(--spare);stroke:#fff}
.bundle{fill:var(--fab);opacity:.55}.block{fill:#eaf0fa;stroke:#4f7cc9;stroke-dasharray:5 3}.legend{font-size:12px}
.key{display:inline-block;width:11px;height:11px;border-radius:2px;margin:0 4px -1px 10px}
"""


def render_report(document: Mapping[str, Any]) -> str:
    """The whole page for a report document (see the module docstring)."""
    plan = document["plan"]
    checks = document.get("checks")
    sections = [
        ("summary", "Summary", _summary(document)),
        ("racks", "Rack elevations", _racks(document)),
        ("fabric", "Fabric", _fabric(plan, provider_builds=bool(document.get("provider_builds_network")))),
        ("nvlink", "NVLink domains and scalable units", _nvlink(plan)),
        ("storage", "Storage", _storage(document)),
        ("power", "Power and cost", _power_cost(plan)),
    ]
    if _has_goodput(plan.get("goodput")):
        sections.append(("goodput", "Goodput", _goodput(plan["goodput"], document.get("goodput_floor"))))
    sections.append(("policies", "Policy results", _policies(checks)))
    nav = "".join(f'<a href="#{key}">{esc(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{esc(title)}</h2>{html}</section>' for key, title, html in sections)
    region = f", region {plan['region']}" if plan.get("region") else ""
    title = f"neocloud report: {plan.get('name')} ({plan.get('stack')})"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CONTENT_SECURITY_POLICY)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{esc(title)}</h1><p>cluster '{esc(plan.get('name'))}' on {esc(plan.get('provider'))} "
        f"({esc(plan.get('environment'))}{esc(region)}), project {esc(plan.get('project'))} - drawn from the plan by "
        f"{esc(document.get('generated_by', 'neocloud'))}; nothing on this page was measured on hardware</p></header>"
        f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
    )


# --- summary ------------------------------------------------------------------------------------------------


def _card(value: str, label: str, cls: str = "") -> str:
    return f'<div class="card"><b class="{cls}">{esc(value)}</b><span>{esc(label)}</span></div>'


def _summary(document: Mapping[str, Any]) -> str:
    plan = document["plan"]
    power = plan.get("power_kw") or {}
    cost = plan.get("cost") or {}
    checks = document.get("checks")
    cards = [
        _card(fmt(plan.get("gpus")), f"schedulable GPUs ({fmt(plan.get('total_gpus'))} with spares)"),
        _card(fmt(plan.get("nodes")), "nodes, spares included"),
        _card(fmt(plan.get("racks")) if plan.get("racks") else "provider",
              "racks planned" if plan.get("racks") else "places the nodes (no racks planned)"),
        _card(f"{fmt(power.get('it'))} kW", f"IT power; {fmt(power.get('facility'))} kW facility at PUE "
              f"{fmt(power.get('pue'), 2)}"),
        _card(f"${fmt(cost.get('per_hour'), 2)}/h" if cost.get("per_hour") is not None else "no price",
              f"${fmt(cost.get('per_month'), 0)}/month" if cost.get("per_month") is not None
              else "set pools[].price_per_gpu_hour"),
        _card(fmt(plan.get("resource_count")), "Pulumi resources registered"),
    ]
    if checks:
        summary = checks["summary"]
        verdict = "passed" if summary["passed"] else "FAILED"
        cards.append(_card(verdict, f"{summary['mandatory']} mandatory, {summary['advisory']} advisory violation(s), "
                           f"{len(checks['policies'])} policies", "pass" if summary["passed"] else "fail"))
    rows = [[p["name"], p["system"], f"{fmt(p['total_nodes'])} ({fmt(p['nodes'])} + {fmt(p['spares'])} spares)",
             f"{fmt(p['gpus_per_node'])} x {p['gpu']}", p.get("zone") or "-", p["capacity"]["source"],
             fmt(p.get("min_nodes"))] for p in plan.get("pools", [])]
    return (f'<div class="cards">{"".join(cards)}</div>'
            + _table(["pool", "system", "nodes", "GPUs per node", "zone", "capacity", "min nodes"], rows))


# --- racks --------------------------------------------------------------------------------------------------


def _racks(document: Mapping[str, Any]) -> str:
    plan = document["plan"]
    budget = document.get("rack_budget") or {}
    flagged = _flagged_rack_groups(document.get("checks"))
    planned = any((p.get("racks") or {}).get("count") for p in plan.get("pools", []))
    out = [_budget_note(budget)] if planned else []
    blocks = document.get("placement_blocks") or {}
    for pool in plan.get("pools", []):
        racks = pool["racks"]
        out.append(f"<h3>pool {esc(pool['name'])}: {esc(pool['system'])}</h3>")
        if racks.get("count"):
            out.append(f'<p class="note">{fmt(racks["count"])} racks, up to {fmt(racks.get("nodes_per_rack"))} '
                       f"nodes per rack (bounded by {esc(racks.get('basis'))}).</p>")
            out.append(_rack_elevations(pool, budget, flagged))
            rows = [[g["name"], fmt(g["su"]), fmt(g["racks"]), fmt(g["nodes_per_rack"]), fmt(g["gpus_per_rack"]),
                     fmt(g.get("kw_per_rack")), "over budget" if g["name"] in flagged else "ok"]
                    for g in racks.get("groups", [])]
            out.append(_table(["rack group", "SU", "racks", "nodes/rack", "GPUs/rack", "kW/rack", "rack-power-budget"],
                              rows))
        else:
            out.append(_provider_placement(pool, blocks.get(pool["name"]) or []))
    return "".join(out)


def _budget_note(budget: Mapping[str, Any]) -> str:
    sources = budget.get("sources") or []
    if not sources:
        return ('<p class="note">No rack power budget is set (racks.power_budget_kw in the spec, or maxRackKw of the '
                "rack-power-budget policy): bars show each rack's kW against the largest rack.</p>")
    parts = [f"{fmt(s['kw'])} kW ({esc(s['source'])})" for s in sources]
    headroom = budget.get("headroom_percent") or 0
    extra = f", less {fmt(headroom)}% headroom" if headroom else ""
    return (f'<p class="note">Rack power budget: {", ".join(parts)}{extra}; the dashed line is the limit '
            f"{fmt(budget.get('limit_kw'))} kW. Red racks are the ones the rack-power-budget policy reported.</p>")


def _flagged_rack_groups(checks: Mapping[str, Any] | None) -> set[str]:
    """Rack groups the rack-power-budget policy reported (its message names ``rack group '<name>'``)."""
    import re

    flagged: set[str] = set()
    for v in (checks or {}).get("violations", []):
        if v["policy"] == "rack-power-budget":
            flagged.update(re.findall(r"rack group '([^']+)'", v["message"]))
    return flagged


def _rack_elevations(pool: Mapping[str, Any], budget: Mapping[str, Any], flagged: set[str]) -> str:
    groups = pool["racks"].get("groups", [])
    nvl72 = pool.get("nvlink_domain_gpus", 0) > pool.get("gpus_per_node", 1) and \
        pool["racks"].get("nodes_per_rack") == pool["nvlink_domain_gpus"] // max(pool["gpus_per_node"], 1)
    spares_by_su = {u["index"]: (u["nodes"], u["spares"]) for u in pool.get("scalable_units", [])}
    limit = budget.get("limit_kw")
    max_kw = max([g.get("kw_per_rack") or 0 for g in groups] + [limit or 0]) or 1.0
    rack_w, gap, rack_h, top = 112, 14, 330, 34
    # The SU's hot spares spread over its racks from the last one back (the plan fixes the count per SU only).
    racks_in_su: dict[int, int] = {}
    for g in groups:
        racks_in_su[g["su"]] = racks_in_su.get(g["su"], 0) + g["racks"]
    drawn: list[tuple[Mapping[str, Any], int, int]] = []  # (group, rack index in group, spares in that rack)
    hidden: list[str] = []
    su_rack: dict[int, int] = {}
    for g in groups:
        first = su_rack.get(g["su"], 0)
        count = racks_in_su[g["su"]]
        base, extra = divmod(spares_by_su.get(g["su"], (0, 0))[1], count)
        for i in range(g["racks"]):
            if i < MAX_RACKS_PER_GROUP and len(drawn) < MAX_RACKS_PER_POOL:
                position = first + i
                spares = min(g["nodes_per_rack"], base + (1 if position >= count - extra else 0))
                drawn.append((g, i, spares))
        shown = sum(1 for d in drawn if d[0] is g)
        if shown < g["racks"]:
            hidden.append(f"{fmt(g['racks'] - shown)} more of {g['name']}")
        su_rack[g["su"]] = first + g["racks"]
    width = max(len(drawn), 1) * (rack_w + gap) + gap
    svg = Svg(width, rack_h + top + 70, f"rack elevations of pool {pool['name']}")
    for n, (g, i, rack_spares) in enumerate(drawn):
        x = gap + n * (rack_w + gap)
        svg.text(x + rack_w / 2, 14, f"{g['name']} #{i + 1}", cls="title", anchor="middle")
        svg.text(x + rack_w / 2, 27, f"SU {g['su']}", cls="small", anchor="middle")
        svg.rect(x, top, rack_w, rack_h, cls="frame", rx=3)
        slots = g["nodes_per_rack"]
        inner_top, inner_h = top + 8, rack_h - 16
        switch_band = 0.0
        if nvl72:
            switch_band = inner_h * 9 / 27  # 18 compute trays + 9 NVLink switch trays (GB200RA [P])
        slot_h = min(22.0, (inner_h - switch_band) / max(slots, 1))
        y = float(inner_top)
        for s in range(slots):
            if nvl72 and s == slots // 2 + 1:
                svg.rect(x + 8, y, rack_w - 16, switch_band - 2, cls="nvsw",
                         title="9 NVLink switch trays: one 72-GPU NVLink domain")
                svg.text(x + rack_w / 2, y + switch_band / 2 + 3, "NVLink switches", cls="inv", anchor="middle")
                y += switch_band
            spare = s >= slots - rack_spares
            label = "spare" if spare else ("tray" if nvl72 else "node")
            svg.rect(x + 8, y + 1, rack_w - 16, slot_h - 2, cls="slot-spare" if spare else "slot",
                     title=f"{g['name']} #{i + 1} {label} {s + 1}: {pool['gpus_per_node']} x {pool['gpu']}")
            if slot_h >= 11:
                svg.text(x + rack_w / 2, y + slot_h / 2 + 3.5, f"{label} {s + 1}", cls="inv", anchor="middle")
            y += slot_h
        kw = g.get("kw_per_rack")
        bar_y = top + rack_h + 10
        svg.rect(x, bar_y, rack_w, 12, cls="bar-bg")
        if kw is not None:
            cls = "bar-bad" if g["name"] in flagged else ("bar-ok" if limit else "bar-na")
            svg.rect(x, bar_y, rack_w * min(kw / max_kw, 1.0), 12, cls=cls, title=f"{fmt(kw)} kW")
        if limit:
            lx = x + rack_w * min(limit / max_kw, 1.0)
            svg.line(lx, bar_y - 3, lx, bar_y + 15, cls="budget")
        svg.text(x + rack_w / 2, bar_y + 28, f"{fmt(kw)} kW" + (f" / {fmt(limit)} kW" if limit else ""),
                 anchor="middle")
        svg.text(x + rack_w / 2, bar_y + 42, f"{g['nodes_per_rack']} x {pool['system']}", cls="small",
                 anchor="middle")
    legend = ('<p class="legend"><span class="key" style="background:#4f7cc9"></span>node'
              '<span class="key" style="background:#e3a33b"></span>hot spare'
              + ('<span class="key" style="background:#8a6fd1"></span>NVLink switch trays' if nvl72 else "")
              + '<span class="key" style="background:#2f9e5b"></span>kW within budget'
              '<span class="key" style="background:#d64545"></span>over budget (policy)</p>')
    spares = ", ".join(f"SU {i}: {fmt(s)} of {fmt(n)}" for i, (n, s) in sorted(spares_by_su.items()))
    note = (f'<p class="note">Hot spares per SU ({esc(spares)}) are a count the plan decides; any node of the SU may '
            "serve as one, so they are drawn spread over the SU's racks, in their last slots.</p>")
    more = f'<p class="note">Not drawn (identical racks): {esc("; ".join(hidden))}.</p>' if hidden else ""
    return f'<div class="scroll">{svg.render()}</div>{legend}{note}{more}'


def _provider_placement(pool: Mapping[str, Any], blocks: Sequence[Mapping[str, Any]]) -> str:
    """Cloud pools: no racks are planned; the provider places the nodes. Draw what the program asks it for."""
    items = list(blocks) or [{"name": pool["name"], "nodes": pool["total_nodes"]}]
    box_w, gap = 230, 14
    svg = Svg(gap + len(items[:12]) * (box_w + gap), 120, f"placement of pool {pool['name']} by the provider")
    for n, block in enumerate(items[:12]):
        x = gap + n * (box_w + gap)
        svg.rect(x, 10, box_w, 96, cls="block", rx=6)
        svg.text(x + 10, 30, block.get("name", f"block {n}"), cls="title")
        svg.text(x + 10, 48, f"{fmt(block.get('nodes'))} nodes x {pool['gpus_per_node']} {pool['gpu']}")
        source = block.get("capacity_source") or pool["capacity"]["source"]
        svg.text(x + 10, 64, f"capacity: {source}", cls="small")
        reservations = block.get("reservation_ids") or []
        if reservations:
            svg.text(x + 10, 78, f"reservation: {', '.join(reservations)[:34]}", cls="small")
        sus = block.get("scalable_units")
        if sus:
            svg.text(x + 10, 92, f"SUs {', '.join(str(s) for s in sus)}"
                     + (" - cluster placement group" if block.get("placement_group") else ""), cls="small")
    more = f" ({fmt(len(items) - 12)} more blocks not drawn)" if len(items) > 12 else ""
    return (f'<p class="note">Placed by the provider: {esc(pool["racks"].get("basis"))}. No racks are planned for '
            f"this pool; the boxes are the placement blocks the program asks the provider for{esc(more)}.</p>"
            f'<div class="scroll">{svg.render()}</div>')


# --- fabric -------------------------------------------------------------------------------------------------


def _fabric(plan: Mapping[str, Any], *, provider_builds: bool = False) -> str:
    out = []
    if provider_builds and any(p.get("fabric") for p in plan.get("pools", [])):
        out.append(f'<p class="note">On {esc(plan.get("provider"))} the provider builds and runs the fabric: the '
                   "counts below are what a rail-optimized fat tree for these nodes takes, for comparison with the "
                   "provider's; there are no switches or cables to buy.</p>")
    for pool in plan.get("pools", []):
        fabric = pool.get("fabric")
        out.append(f"<h3>pool {esc(pool['name'])}</h3>")
        if not fabric:
            out.append(f'<p class="note">Built by the provider ({esc(plan.get("fabric_kind") or "provider fabric")}): '
                       f"{fmt(pool['rails'])} network cards per node; no switches or cables to buy.</p>")
            continue
        out.append(_fabric_picture(pool, fabric))
        c = fabric["cables"]
        t = fabric.get("transceivers") or {}
        rows = [["node - leaf", fmt(c["node_leaf"]), f"{fmt(fabric['rails'])} rails x {fmt(fabric['nodes'])} nodes"
                 + (f" + {fmt(fabric['management_ports'])} fabric-manager" if fabric.get("management_ports") else "")],
                ["leaf - spine", fmt(c["leaf_spine"]), f"{fmt(fabric['leaf'])} leaves x {fmt(fabric['leaf_uplinks'])} "
                 "uplinks"]]
        if fabric.get("tiers") == 3:
            rows.append(["spine - core", fmt(c["spine_core"]), f"{fmt(fabric['pods'])} pods"])
        rows.append(["total", fmt(c.get("total")), f"transceivers: {fmt(t.get('switch'))} at switches, "
                     f"{fmt(t.get('node'))} at nodes"])
        out.append(_table(["link", "cables", "how"], rows))
        out.append(_table(["cable type", "reach", "where it fits"], [list(r) for r in LINKX_REACH]))
        out.append('<p class="note">Cable types by reach (NVIDIA LinkX). The plan counts a transceiver at every '
                   "switch and node cage, so every link above is planned as optics; pick SR4 or DR4 by each run's "
                   "length on your floor plan (the plan does not place switch racks, so it knows no lengths).</p>")
    return "".join(out)


def _fabric_picture(pool: Mapping[str, Any], fabric: Mapping[str, Any]) -> str:
    tiers = [("core", fabric.get("core", 0)), ("spine", fabric.get("spine", 0)), ("leaf", fabric.get("leaf", 0))]
    tiers = [(name, count) for name, count in tiers if count]
    box, gap, row_h, left = 34, 6, 92, 120
    width = left + MAX_SWITCHES_PER_TIER * (box + gap) + 180
    svg = Svg(width, row_h * (len(tiers) + 1) + 30,
              f"fabric of pool {pool['name']}: {fabric['tiers']} tiers, {fabric.get('switches')} switches")
    cables = fabric["cables"]
    bundle = {"core": cables.get("spine_core"), "spine": cables.get("leaf_spine"), "leaf": cables.get("node_leaf")}
    for row, (name, count) in enumerate(tiers):
        y = 16 + row * row_h
        svg.text(10, y + 22, f"{name}", cls="title")
        svg.text(10, y + 36, f"{fmt(count)} switches", cls="small")
        shown = min(count, MAX_SWITCHES_PER_TIER)
        for i in range(shown):
            svg.rect(left + i * (box + gap), y + 8, box, 26, cls="sw", rx=3, title=f"{name} {i + 1}")
        if count > shown:
            svg.text(left + shown * (box + gap) + 4, y + 26, f"... {fmt(count - shown)} more")
        span = shown * (box + gap) - gap
        svg.polygon([(left, y + 36), (left + span, y + 36), (left + span, y + row_h + 6), (left, y + row_h + 6)],
                    cls="bundle", title=f"{fmt(bundle[name])} cables below {name}")
        below = {"core": "spine - core", "spine": "leaf - spine", "leaf": "node - leaf"}[name]
        svg.text(left + span / 2, y + 36 + (row_h - 30) / 2 + 8, f"{below}: {fmt(bundle[name])} cables",
                 cls="title", anchor="middle")
    y = 16 + len(tiers) * row_h
    units = fabric.get("scalable_units", 1)
    shown_units = min(units, MAX_SUS_DRAWN)
    su_w = max(60.0, (MAX_SWITCHES_PER_TIER * (box + gap) - gap) / max(shown_units, 1) - gap)
    svg.text(10, y + 22, "nodes", cls="title")
    svg.text(10, y + 36, f"{fmt(fabric['nodes'])} in {fmt(units)} SU", cls="small")
    for i in range(shown_units):
        x = left + i * (su_w + gap)
        svg.rect(x, y + 6, su_w, 30, cls="su", rx=3, title=f"SU {i}")
        svg.text(x + su_w / 2, y + 25, f"SU {i}", anchor="middle")
    if units > shown_units:
        svg.text(left + shown_units * (su_w + gap), y + 25, f"... {fmt(units - shown_units)} more SUs")
    ratio = fabric.get("oversubscription", 1)
    pods = f", {fmt(fabric.get('pods'))} pods" if fabric.get("tiers") == 3 else ""
    extras = []
    if fabric.get("port_gbps") and fabric.get("nic_gbps"):
        split = fabric.get("port_split") or 1
        extras.append(f"{fmt(fabric['port_gbps'])}G switch ports"
                      + (f" split {fmt(split)} ways" if split > 1 else "") + f" for {fmt(fabric['nic_gbps'])}G NICs")
    if (fabric.get("planes") or 1) > 1:
        extras.append(f"{fmt(fabric['planes'])} planes")
    if fabric.get("leaf_spine_links"):
        extras.append(f"{fmt(fabric['leaf_spine_links'])} links from each leaf to each spine of its pod")
    if fabric.get("leaf_port_utilisation") is not None:
        extras.append(f"leaf ports in use {fmt(100 * fabric['leaf_port_utilisation'], 1)}%")
    more = f"; {', '.join(extras)}" if extras else ""
    note = (f'<p class="note">{fmt(fabric["tiers"])}-tier rail-optimized fat tree, radix {fmt(fabric["radix"])}, '
            f"{fmt(fabric['rails'])} rails, {fmt(fabric.get('leaves_per_su'))} leaves per SU, leaf ports "
            f"{fmt(fabric.get('leaf_downlinks'))} down / {fmt(fabric.get('leaf_uplinks'))} up (oversubscription "
            f"{fmt(ratio, 2)}:1){pods}{esc(more)}.</p>")
    return f'<div class="scroll">{svg.render()}</div>{note}'


# --- NVLink domains and SUs ---------------------------------------------------------------------------------


def _nvlink(plan: Mapping[str, Any]) -> str:
    out = []
    for pool in plan.get("pools", []):
        per_domain = max(pool["nvlink_domain_gpus"] // max(pool["gpus_per_node"], 1), 1)
        units = pool.get("scalable_units", [])
        out.append(f"<h3>pool {esc(pool['name'])}: {fmt(pool['nvlink_domains'])} NVLink domains of "
                   f"{fmt(pool['nvlink_domain_gpus'])} GPUs in {fmt(len(units))} SU of up to "
                   f"{fmt(pool['nodes_per_su'])} nodes</h3>")
        tile, gap = (26, 4) if per_domain > 1 else (14, 3)
        per_row = 24 if per_domain > 1 else 32
        shown = units[:MAX_SUS_DRAWN]
        heights = []
        for u in shown:
            domains = min(u["nodes"] // per_domain, MAX_DOMAINS_PER_SU)
            heights.append(28 + ((domains + per_row - 1) // per_row) * (tile + gap) + 10)
        svg = Svg(per_row * (tile + gap) + 40, sum(heights) + 10 * len(heights) + 10,
                  f"NVLink domains and SUs of pool {pool['name']}")
        y = 8.0
        for u, h in zip(shown, heights, strict=True):
            domains = u["nodes"] // per_domain
            svg.rect(10, y, per_row * (tile + gap) + 16, h, cls="su", rx=5)
            svg.text(20, y + 18, f"SU {u['index']}: {fmt(u['nodes'])} nodes, {fmt(u['gpus'])} GPUs, "
                     f"{fmt(domains)} NVLink domains, {fmt(u['spares'])} spare nodes", cls="title")
            spare_domains = u["spares"] // per_domain if per_domain == 1 else 0
            for d in range(min(domains, MAX_DOMAINS_PER_SU)):
                tx = 18 + (d % per_row) * (tile + gap)
                ty = y + 28 + (d // per_row) * (tile + gap)
                spare = d >= domains - spare_domains
                svg.rect(tx, ty, tile, tile, cls="dom-spare" if spare else "dom", rx=2,
                         title=f"NVLink domain {d}: {pool['nvlink_domain_gpus']} GPUs" + (" (spare)" if spare else ""))
                if per_domain > 1:
                    svg.text(tx + tile / 2, ty + tile / 2 + 3.5, pool["nvlink_domain_gpus"], cls="inv", anchor="middle")
            if domains > MAX_DOMAINS_PER_SU:
                svg.text(20, y + h - 4, f"... {fmt(domains - MAX_DOMAINS_PER_SU)} more domains", cls="small")
            y += h + 10
        out.append(f'<div class="scroll">{svg.render()}</div>')
        if len(units) > len(shown):
            out.append(f'<p class="note">{fmt(len(units) - len(shown))} more SUs not drawn.</p>')
        if per_domain > 1:
            out.append(f'<p class="note">One tile is one {fmt(pool["nvlink_domain_gpus"])}-GPU NVLink domain of '
                       f"{fmt(per_domain)} nodes; the pool's {fmt(pool['spares'])} spare nodes sit inside the "
                       "domains, so no tile is a spare.</p>")
        else:
            out.append(f'<p class="note">One tile is one node: an {fmt(pool["nvlink_domain_gpus"])}-GPU NVLink '
                       "domain; orange tiles are the SU's hot spares.</p>")
    return "".join(out)


# --- storage ------------------------------------------------------------------------------------------------


def _storage(document: Mapping[str, Any]) -> str:
    storage = document["plan"].get("storage") or {}
    filesystem = document.get("filesystem")
    out = []
    if filesystem:
        out.append(f'<p class="note">Filesystem: {esc(filesystem.get("kind"))}, sized to the '
                   f"{esc(storage.get('tier'))} tier of H100RA Table 6.</p>")
    else:
        # No filesystem, no targets: the plan sizes nothing (neocloud.plan.storage), so there is nothing to chart.
        out.append('<p class="note">No parallel filesystem in the spec: no throughput or capacity targets.</p>')
        if storage.get("checkpoint_tib") is not None:
            rows = [["checkpoint", f"{fmt(storage['checkpoint_tib'], 3)} TiB to object storage (not modelled); "
                     f"goodput assumes the spec's limit of {fmt(storage.get('checkpoint_write_seconds'))} s"]]
            return "".join(out) + _table(["target", "planned"], rows)
        return "".join(out)
    bars: list[tuple[str, float | None, float | None, str]] = []
    floor = (filesystem or {}).get("min_gbps_per_gpu")
    bars.append(("read GB/s per GPU", storage.get("read_gbps_per_gpu"), floor,
                 "floor: filesystem.min_gbps_per_gpu" if floor else "no per-GPU floor set"))
    limit = storage.get("checkpoint_limit_seconds")
    if storage.get("checkpoint_write_seconds") is not None:
        bars.append(("checkpoint write s", storage.get("checkpoint_write_seconds"), limit,
                     "limit: checkpoint.max_write_minutes" if limit else "no time limit"))
    out.append(_bar_chart(bars, "storage against its targets", lower_is_better={"checkpoint write s"}))
    rows = [["read throughput", f"{fmt(storage.get('read_gbps'), 3)} GB/s"],
            ["write throughput", f"{fmt(storage.get('write_gbps'), 3)} GB/s"],
            ["capacity", f"{fmt(storage.get('capacity_tib'), 3)} TiB"]]
    if storage.get("checkpoint_tib") is not None:
        rows.append(["checkpoint", f"{fmt(storage['checkpoint_tib'], 3)} TiB, written in "
                     f"{fmt(storage.get('checkpoint_write_seconds'))} s (limit {fmt(limit)} s)"])
    known = {"read_gbps", "write_gbps", "capacity_tib", "checkpoint_tib", "checkpoint_write_seconds",
             "checkpoint_limit_seconds", "read_gbps_per_gpu", "tier", "gpus"}
    rows.extend([key.replace("_", " "), _plain(value)] for key, value in sorted(storage.items()) if key not in known)
    return "".join(out) + _table(["target", "planned"], rows)


def _bar_chart(bars: Sequence[tuple[str, float | None, float | None, str]], title: str, *,
               lower_is_better: set[str]) -> str:
    label_w, bar_w, row = 150, 420, 34
    svg = Svg(label_w + bar_w + 420, row * len(bars) + 14, title)
    for i, (label, value, target, note) in enumerate(bars):
        y = 8 + i * row
        svg.text(0, y + 14, label)
        svg.rect(label_w, y + 2, bar_w, 16, cls="bar-bg")
        top = max(value or 0, target or 0) or 1.0
        if value is not None:
            ok = target is None or (value <= target if label in lower_is_better else value >= target)
            svg.rect(label_w, y + 2, bar_w * value / top, 16, cls="bar-ok" if ok else "bar-bad", title=fmt(value, 3))
        if target:
            tx = label_w + bar_w * target / top
            svg.line(tx, y - 1, tx, y + 21, cls="budget")
        svg.text(label_w + bar_w + 10, y + 14, f"{fmt(value, 4)} vs {fmt(target, 4)} ({note})" if target
                 else f"{fmt(value, 4)} ({note})")
    return f'<div class="scroll">{svg.render()}</div>'


# --- power and cost -----------------------------------------------------------------------------------------


def _power_cost(plan: Mapping[str, Any]) -> str:
    pools = plan.get("pools", [])
    top = max([p["power"]["facility_kw"] for p in pools] + [1.0])
    label_w, bar_w, row = 150, 460, 30
    svg = Svg(label_w + bar_w + 240, row * len(pools) + 14, "power per pool")
    for i, p in enumerate(pools):
        y = 8 + i * row
        power = p["power"]
        svg.text(0, y + 14, f"{p['name']} ({power['basis']})")
        svg.rect(label_w, y + 2, bar_w * power["facility_kw"] / top, 16, cls="bar-fac",
                 title=f"{fmt(power['facility_kw'])} kW facility")
        svg.rect(label_w, y + 2, bar_w * power["it_kw"] / top, 16, cls="bar-it", title=f"{fmt(power['it_kw'])} kW IT")
        svg.text(label_w + bar_w + 10, y + 14, f"{fmt(power['it_kw'])} kW IT, {fmt(power['facility_kw'])} kW facility")
    basis = ('<p class="note">Power basis: node-max = catalog node maximum x nodes; rack = NVL72 rack power x racks; '
             "gpu-tdp-only = GPU board power x GPUs, a lower bound where node power is not verified (cloud instances, "
             "OEM chassis). Spares are powered on, so they count.</p>")
    legend = ('<p class="legend"><span class="key" style="background:#4f7cc9"></span>IT kW'
              '<span class="key" style="background:#a9bfe6"></span>facility kW (x PUE)</p>')
    rows = []
    for p in pools:
        cost = p.get("cost") or {}
        if cost.get("per_hour") is None:
            rows.append([p["name"], "-", "-", "no price: set pools[].price_per_gpu_hour"])
        else:
            rows.append([p["name"], f"${fmt(cost.get('price_per_gpu_hour'), 2)}", f"${fmt(cost['per_hour'], 2)}",
                         f"${fmt(cost.get('per_month'), 0)}"])
    total = plan.get("cost") or {}
    if total.get("per_hour") is not None:
        rows.append(["cluster", "", f"${fmt(total['per_hour'], 2)}", f"${fmt(total.get('per_month'), 0)}"])
    return (f'<div class="scroll">{svg.render()}</div>{legend}{basis}'
            + _table(["pool", "$/GPU-hour", "$/hour", "$/month (730 h)"], rows)
            + '<p class="note">Cost is your configured price x GPUs, spares included; no price is built in.</p>')


# --- goodput ------------------------------------------------------------------------------------------------


def _goodput(goodput: Any, floor: float | None = None) -> str:
    """Whatever the plan's ``goodput`` holds, per pool where it is keyed by pool, with ``expected`` as a bar."""
    entries: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(goodput, Mapping):
        per_pool = [(str(k), v) for k, v in goodput.items() if isinstance(v, Mapping)]
        entries = per_pool or [("cluster", goodput)]
    elif isinstance(goodput, list):
        entries = [(str(g.get("pool", i)), g) for i, g in enumerate(goodput) if isinstance(g, Mapping)]
    out = []
    note = "floor: goodput-floor policy" if floor else "fraction of GPU time doing useful work"
    bars = [(f"{name} expected", _fraction(g.get("expected")), floor, note)
            for name, g in entries if _fraction(g.get("expected")) is not None]
    if bars:
        out.append(_bar_chart(bars, "expected goodput", lower_is_better=set()))
    for name, g in entries:
        rows = [[key.replace("_", " "), _plain(value)] for key, value in g.items()]
        out.append(f"<h3>{esc(name)}</h3>" + _table(["", ""], rows))
    return "".join(out) or '<p class="note">The plan carries no goodput figures.</p>'


def _has_goodput(goodput: Any) -> bool:
    """The plan has goodput figures (``plan --json`` keys them by pool, null for a pool without them)."""
    if isinstance(goodput, Mapping):
        return any(isinstance(v, Mapping) and v for v in goodput.values()) or "expected" in goodput
    return bool(goodput)


def _fraction(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --- policies -----------------------------------------------------------------------------------------------


def _policies(checks: Mapping[str, Any] | None) -> str:
    if not checks:
        return '<p class="note">The policy pack was not run for this report.</p>'
    summary = checks["summary"]
    verdict = ('<p class="pass">passed' if summary["passed"] else '<p class="fail">FAILED')
    out = [f"{verdict}: {summary['mandatory']} mandatory, {summary['advisory']} advisory violation(s); policy pack "
           f"{esc(checks['policyPack']['name'])} {esc(checks['policyPack']['version'])}, config "
           f"{esc(checks.get('config'))}, {fmt(checks.get('resources'))} resources analyzed over the Pulumi analyzer "
           "protocol.</p>"]
    violated: dict[str, list[Mapping[str, Any]]] = {}
    for v in checks.get("violations", []):
        violated.setdefault(v["policy"], []).append(v)
    skipped: dict[str, list[str]] = {}
    for n in checks.get("notApplicable", []):
        reasons = skipped.setdefault(n["policy"], [])
        if n.get("reason") and n["reason"] not in reasons:
            reasons.append(n["reason"])
    rows = []
    for p in checks.get("policies", []):
        name, level = p["name"], p["enforcementLevel"]
        if name in violated:
            cls = "fail" if level in ("mandatory", "remediate") else "adv"
            detail = "<br>".join(f"{esc(v['message'])} <span class=\"na\">[{esc(_subject(v))}]</span>"
                                 for v in violated[name])
            status = f'<span class="{cls}">violated</span>'
        elif level == "disabled":
            status, detail = '<span class="na">disabled</span>', "disabled by the policy config"
        elif name in skipped:
            status = '<span class="na">not applicable</span>'
            detail = esc("; ".join(skipped[name]) or "no reason given")
        else:
            status, detail = '<span class="pass">passed</span>', esc(p.get("description", ""))
        rows.append(f"<tr><td>{esc(name)}</td><td>{esc(level)}</td><td>{status}</td><td>{detail}</td></tr>")
    out.append('<table><tr><th>policy</th><th>level</th><th>result</th><th>detail</th></tr>' + "".join(rows)
               + "</table>")
    return "".join(out)


def _subject(v: Mapping[str, Any]) -> str:
    return f"{v.get('resourceType')} {v.get('resourceName')}" if v.get("resourceName") else "stack"


# --- helpers ------------------------------------------------------------------------------------------------


def _plain(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return fmt(value, 3)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows[:MAX_TABLE_ROWS])
    more = (f'<p class="note">{fmt(len(rows) - MAX_TABLE_ROWS)} more rows not shown.</p>'
            if len(rows) > MAX_TABLE_ROWS else "")
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>{more}'
