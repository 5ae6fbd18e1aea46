"""``neocloud plan STACK``: run the real program offline and show what it would build."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from ..errors import CrashError, SpecError
from ..offline import ProgramError, ProgramRun, load_stack_config, run_program
from ..offline.engine import RecordedResource
from ..offline.render import masked_inputs
from .fabric import fabric_lines

__all__ = ["add_stack_arguments", "input_digests", "plan_document", "register", "run_stack",
           "traffic_regulator_summary"]


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("stack", help="stack name: stacks/Pulumi.STACK.yaml")
    parser.add_argument("--project-dir", type=Path, default=None,
                        help="the Pulumi project (default: the current directory, else the installed checkout)")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("plan", help="run the program offline: resources, racks, fabric, power, cost")
    add_stack_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the stable JSON document")
    parser.set_defaults(run=_run)


def project_dir(explicit: Path | None) -> Path:
    if explicit is not None:
        if not (explicit / "Pulumi.yaml").is_file():
            raise SpecError("--project-dir", f"{explicit} has no Pulumi.yaml")
        return explicit
    cwd = Path.cwd()
    if (cwd / "Pulumi.yaml").is_file():
        return cwd
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "Pulumi.yaml").is_file():
        return checkout
    raise SpecError("--project-dir", "no Pulumi.yaml in the current directory; pass --project-dir")


def run_stack(args: argparse.Namespace) -> tuple[Path, ProgramRun]:
    """Run the program for ``args.stack``; raises SpecError (exit 2) for bad input."""
    root = project_dir(args.project_dir)
    load_stack_config(root, args.stack)  # a missing or malformed stack file is bad input before any work
    started = time.perf_counter()
    _progress(f"running {root.name}/__main__.py for stack '{args.stack}' under the Pulumi mock engine ...")
    try:
        run = run_program(root, args.stack)
    except ProgramError as error:
        # Not bad input: the config passed validation and the program still failed (or stopped early).
        raise CrashError(f"stack {args.stack}: the program crashed: {error.what}", look=error.look) from None
    _progress(f"registered {len(run.resources)} resources in {time.perf_counter() - started:.2f}s")
    return root, run


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def plan_document(run: ProgramRun) -> dict[str, Any]:
    """The stable ``plan --json`` document (documented in the README)."""
    plan = dict(run.outputs.get("plan", {}))
    # Stack outputs drop null values on their way through the engine; the documented cost keys stay, null without
    # a price (the README: "or null without a price").
    pools = [{**p, "cost": _cost(p.get("cost"), ("price_per_gpu_hour", "per_hour", "per_month"))}
             for p in plan.get("pools", [])]
    return {
        "stack": run.stack,
        "project": run.project,
        "name": plan.get("name"),
        "provider": plan.get("provider"),
        "environment": plan.get("environment"),
        "region": plan.get("region"),
        "fabric_kind": plan.get("fabric_kind"),
        "filesystem_kind": plan.get("filesystem_kind"),
        "rack_power_budget_kw": plan.get("rack_power_budget_kw"),
        "gpus": plan.get("gpus"),
        "total_gpus": plan.get("total_gpus"),
        "nodes": plan.get("nodes"),
        "racks": plan.get("racks"),
        "power_kw": plan.get("power_kw"),
        "cost": _cost(plan.get("cost"), ("per_hour", "per_month")),
        "fabric": {p["name"]: p.get("fabric") for p in pools},
        "storage": plan.get("storage"),
        "filesystem": run.outputs.get("fsx"),
        "goodput": {p["name"]: p.get("goodput") for p in pools},
        # Where the provider's nodes go, as the planner decided (AWS: zones and placement blocks; null elsewhere).
        "placement": plan.get("placement"),
        "pools": pools,
        "resource_count": len(run.resources),
        "resources": [{**r.to_summary(), "urn": r.urn, "input_digests": input_digests(r)} for r in run.resources],
        "outputs": sorted(run.outputs),
        "traffic_regulator": traffic_regulator_summary(run.outputs),
    }


def _cost(cost: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    given = cost if isinstance(cost, dict) else {}
    return {key: given.get(key) for key in keys}


def input_digests(resource: RecordedResource) -> dict[str, str]:
    """Top-level input -> a short sha256 of its value, so a saved plan can tell which inputs changed
    (``neocloud diff``) without carrying the inputs. Hashed after ``masked_inputs``, the one masking ``render``
    uses too, so a secret anywhere in an input is hashed as its placeholder, never as its value."""
    return {key: hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]
            for key, value in sorted(masked_inputs(resource).items())}


def traffic_regulator_summary(outputs: Any) -> dict[str, Any] | None:
    """The traffic regulator's ramp from the stack output ``kubernetes`` (``None`` without a regulator):
    ``floor`` and ``full`` in requests per second (per route, per Envoy replica), ``window_seconds``,
    ``per_replica`` (the capacity-aware cap, or ``None``) and the ``team`` it fronts."""
    regulator = (outputs.get("kubernetes") or {}).get("traffic_regulator") if isinstance(outputs, dict) else None
    if not regulator:
        return None
    ramp = regulator["ramp"]
    return {"floor": ramp["floor"], "full": ramp["full"], "window_seconds": ramp["window_seconds"],
            "per_replica": ramp.get("per_replica"), "team": regulator.get("team")}


def _run(args: argparse.Namespace) -> int:
    _, run = run_stack(args)
    document = plan_document(run)
    if args.json:
        print(json.dumps(document, indent=2, sort_keys=True))
    else:
        print(render(document, tree=resource_tree(run)))
    return 0


def resource_tree(run: ProgramRun) -> list[str]:
    """Components as a tree, each with a count of its custom-resource children by type (bounded by pools and
    blocks, never by nodes)."""
    children: dict[str, list[Any]] = defaultdict(list)
    for r in run.resources:
        children[r.parent].append(r)
    stack_urns = {r.parent for r in run.resources if r.parent.split("::")[2:3] == ["pulumi:pulumi:Stack"]}
    lines: list[str] = []

    def summarize(kids: list[Any], indent: str) -> None:
        leaves = Counter(k.type for k in kids if k.custom)
        for type_, count in sorted(leaves.items()):
            lines.append(f"{indent}{count} x {type_}")
        for kid in kids:
            if not kid.custom:
                lines.append(f"{indent}{kid.type} {kid.name}")
                summarize(children[kid.urn], indent + "  ")

    summarize([r for r in run.resources if not r.parent or r.parent in stack_urns], "  ")
    return lines


def _goodput_lines(goodput: dict[str, Any] | None) -> list[str]:
    if not goodput:
        return []
    if goodput.get("expected") is None:
        work = "no checkpoint planned (storage.checkpoint): a failure loses all work since the job started"
    else:
        work = (f"checkpoint every {goodput['checkpoint_interval_minutes']:g} min (Young/Daly, "
                f"{goodput['checkpoint_write_minutes']:g} min write), expected goodput {goodput['expected']:.1%}")
    return [f"  goodput: {goodput['interruptions_per_day']:g} interruptions/day (MTBF {goodput['mtbf_hours']:g} h); "
            f"{work}; {goodput['spares_recommended']} spares recommended for {goodput['replacement_hours']:g} h "
            f"replacement (has {goodput['spares']})",
            f"    failure rate: {goodput['source']}"]


def render(doc: dict[str, Any], tree: list[str] | None = None) -> str:
    out: list[str] = []
    power = doc["power_kw"] or {}
    regulator = doc.get("traffic_regulator")
    if doc.get("name") is None:
        # A program that composes components without a cluster spec (examples/serving-on-existing-cluster).
        out.append(f"stack {doc['stack']}: project {doc['project']} exports no cluster plan (no neocloud:cluster "
                   "spec); what it registers:")
        out.append(f"resources ({doc['resource_count']}):")
        out.extend(tree if tree is not None else [])
        return "\n".join(out)
    out.append(f"stack {doc['stack']}: cluster '{doc['name']}' on {doc['provider']} ({doc['environment']})")
    racks = f"{doc['racks']:,} racks" if doc["racks"] else "placed by the provider"
    out.append(f"  {doc['gpus']:,} schedulable GPUs ({doc['total_gpus']:,} with spares) on {doc['nodes']:,} nodes, "
               f"{racks}")
    out.append("")
    out.append(f"resources ({doc['resource_count']}):")
    if tree is not None:
        out.extend(tree)
    else:
        for type_, count in sorted(Counter(r["type"] for r in doc["resources"]).items()):
            out.append(f"  {count:5d}  {type_}")
    for pool in doc["pools"]:
        out.append("")
        out.append(f"pool {pool['name']}: {pool['total_nodes']:,} x {pool['system']} ({pool['nodes']:,} + "
                   f"{pool['spares']:,} spares), {pool['gpus_per_node']} x {pool['gpu']} per node, zone "
                   f"{pool.get('zone') or '-'}, capacity {pool['capacity']['source']}, min {pool['min_nodes']}")
        out.append(f"  NVLink: {pool['nvlink_domains']:,} domains of {pool['nvlink_domain_gpus']} GPUs; "
                   f"{len(pool['scalable_units']):,} SU of {pool['nodes_per_su']} nodes")
        out.extend(_rack_lines(pool["racks"], doc.get("rack_power_budget_kw")))
        fabric = pool.get("fabric")
        if fabric:
            out.extend(fabric_lines(fabric))
        else:
            out.append(f"  fabric: built by the provider ({doc.get('fabric_kind')}, {pool['rails']} network cards "
                       "per node): no switches or cables to buy")
        p = pool["power"]
        out.append(f"  power: {p['it_kw']:g} kW IT, {p['facility_kw']:g} kW facility ({p['basis']})")
        out.extend(_goodput_lines(pool.get("goodput")))
    out.append("")
    out.extend(_storage_lines(doc))
    out.append(f"power: {power.get('it', 0):,.6g} kW IT, {power.get('facility', 0):,.6g} kW facility at PUE "
               f"{power.get('pue', 0):g}")
    cost = doc["cost"] or {}
    if cost.get("per_hour") is None:
        out.append("cost: set pools[].price_per_gpu_hour for an estimate")
    else:
        out.append(f"cost: ${cost['per_hour']:,.2f}/hour, ${cost['per_month']:,.2f}/month")
    if regulator:
        cap = "" if regulator["per_replica"] is None else \
            f", never above ready replicas x {regulator['per_replica']} req/s"
        out.append(f"traffic regulator ({regulator['team']}): after a resume: {regulator['floor']} req/s rising to "
                   f"{regulator['full']} req/s over {regulator['window_seconds']} s{cap} "
                   "(per route, per Envoy replica)")
    return "\n".join(out)


def _rack_lines(racks: dict[str, Any], budget_kw: float | None) -> list[str]:
    """Rack groups with their kW against the rack power budget; clouds place nodes themselves."""
    if not racks["count"]:
        return ["  racks: placed by the provider"]
    out = [f"  racks: {racks['count']:,} ({racks['nodes_per_rack']} nodes per rack, by {racks['basis']})"]
    for group in racks["groups"]:
        kw = group.get("kw_per_rack")
        if kw is None:
            power = "kW unknown (set the system's power in catalog.systems)"
        elif budget_kw:
            over = " OVER BUDGET" if kw > budget_kw + 1e-9 else ""
            power = f"{kw:g} of {budget_kw:g} kW per rack ({kw / budget_kw:.0%}){over}"
        else:
            power = f"{kw:g} kW per rack (no racks.power_budget_kw)"
        out.append(f"    {group['name']}: {group['racks']:,} x {group['nodes_per_rack']} nodes, {power}")
    return out


def _storage_lines(doc: dict[str, Any]) -> list[str]:
    """Storage targets only where there is a filesystem to meet them, and what was actually sized (FSx)."""
    storage = doc["storage"] or {}
    kind = doc.get("filesystem_kind")
    if kind is None:
        out = ["storage: no shared filesystem (storage.filesystem is not set): no throughput or capacity targets"]
        if storage.get("checkpoint_tib") is not None and storage.get("checkpoint_write_seconds") is not None:
            out.append(f"  checkpoint {storage['checkpoint_tib']:,} TiB to object storage (not modelled): goodput "
                       f"assumes the spec's limit of {storage['checkpoint_write_seconds']:,} s per write")
        return out
    basis = {"single-node": ", the tier's single-node floor",
             "min_gbps_per_gpu": ", storage.filesystem.min_gbps_per_gpu"}
    out = [f"storage ({kind}, {storage.get('tier')} tier targets): read {storage.get('read_gbps'):,} GB/s"
           f"{basis.get(str(storage.get('throughput_basis')), '')}, "
           f"write {storage.get('write_gbps'):,} GB/s ({storage.get('read_gbps_per_gpu')} GB/s per GPU), "
           f"capacity {storage.get('capacity_tib'):,} TiB"]
    fsx = doc.get("filesystem")
    if isinstance(fsx, dict) and fsx.get("storage_capacity_gib") is not None:
        out.append(f"  FSx for Lustre: {fsx['storage_capacity_gib']:,} GiB ({fsx['storage_capacity_tib']:,} TiB) at "
                   f"{fsx['per_unit_storage_throughput']} MB/s/TiB = {fsx['throughput_gbps']:,} GB/s, "
                   f"sized by {fsx['basis']}")
    else:
        # Only FSx for Lustre has a throughput model (capacity x per-TiB tier): for the other kinds the targets are
        # what the GPUs need, and nothing here says what the filesystem delivers.
        out.append(f"  {kind}: no throughput model; the targets are what the GPUs need, not what it delivers")
    if storage.get("checkpoint_tib") is not None:
        limit = storage.get("checkpoint_limit_seconds", "-")
        out.append(f"  checkpoint {storage['checkpoint_tib']:,} TiB, written in "
                   f"{storage['checkpoint_write_seconds']:,} s (limit {limit} s)")
    return out
