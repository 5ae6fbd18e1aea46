"""``neocloud topology import --cluster NAME``: EC2 network topology -> node labels and Kueue levels."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from ..aws_ops import AwsSession
from ..aws_ops.topology import (
    TopologyImport,
    build_import,
    cluster_instances,
    describe_instance_topology,
    parse_topology_document,
    placement_block_counts,
)
from ..documents import load_json, read_text
from ..errors import SpecError
from ..plan import ClusterPlan
from ._aws import add_aws_arguments, aws_command, aws_options
from .plan import project_dir
from .preflight import load_stack

__all__ = ["register", "render_document", "summary"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``topology import``."""
    parser = subparsers.add_parser("topology", help="EC2 network topology of a cluster (import)")
    commands = parser.add_subparsers(dest="topology_command", required=True)
    imp = commands.add_parser(
        "import", help="read DescribeInstanceTopology for the cluster's GPU instances; write node labels and "
                       "Kueue levels; report instances that break the plan",
        description="Exit 0 when the topology fits the plan, 1 when instances break it, 2 for bad input or "
                    "missing credentials/permissions.")
    imp.add_argument("--cluster", required=True, help="EKS cluster name (instances tagged eks:cluster-name=NAME)")
    imp.add_argument("--tag", default=None, metavar="KEY=VALUE",
                     help="select instances by this tag instead of eks:cluster-name=NAME "
                          "(e.g. kubernetes.io/cluster/NAME=owned for self-managed nodes)")
    imp.add_argument("--stack", default=None, help="compare with this stack's plan (stacks/Pulumi.STACK.yaml)")
    imp.add_argument("--project-dir", type=Path, default=None, help="the Pulumi project (default: as for plan)")
    imp.add_argument("--output", "-o", type=Path, default=None, help="write the document here (default: stdout)")
    imp.add_argument("--format", choices=("json", "yaml"), default=None,
                     help="document format (default: from the --output suffix, else json)")
    imp.add_argument("--from-file", type=Path, default=None,
                     help="read a saved DescribeInstanceTopology response (aws ec2 describe-instance-topology "
                          "--output json) instead of calling AWS")
    imp.add_argument("--topology-name", default="aws-network", help="name of the Kueue Topology (default aws-network)")
    imp.add_argument("--max-per-block", type=int, default=1,
                     help="layer-3 network nodes one placement block may span (default 1)")
    add_aws_arguments(imp)
    imp.set_defaults(run=_run)


@aws_command
def _run(args: argparse.Namespace) -> int:
    if args.max_per_block < 1:
        raise SpecError("--max-per-block", f"must be at least 1; got {args.max_per_block}")
    tag: tuple[str, str] | None = None
    if args.tag is not None:
        key, sep, value = args.tag.partition("=")
        if not sep or not key or not value:
            raise SpecError("--tag", f"expected KEY=VALUE; got {args.tag!r}")
        tag = (key, value)
    fmt = args.format or ("yaml" if args.output and args.output.suffix in (".yaml", ".yml") else "json")
    if args.output is not None:
        _check_output(args.output)
    plan: ClusterPlan | None = None
    blocks: dict[str, int] | None = None
    if args.stack:
        spec, plan = load_stack(project_dir(args.project_dir), args.stack)
        if plan.provider != "aws":
            raise SpecError("--stack", f"stack '{args.stack}' is provider '{plan.provider}'; EC2 topology exists "
                            "for AWS stacks only")
        blocks = placement_block_counts(spec, plan)
    if args.from_file is not None:
        document = _read_json(args.from_file)  # raises SpecError itself
        try:
            topology = parse_topology_document(document)
            result = build_import(args.cluster, topology, plan=plan, source=f"file:{args.from_file}",
                                  topology_name=args.topology_name, max_per_block=args.max_per_block,
                                  block_counts=blocks)
        except ValueError as error:
            raise SpecError("--from-file", str(error)) from None
    else:
        session = AwsSession(aws_options(args, region=plan.region if plan else None))
        ec2 = session.client("ec2")
        instances = cluster_instances(ec2, args.cluster, tag)
        selector = "=".join(tag) if tag else f"eks:cluster-name={args.cluster}"
        print(f"topology: {len(instances)} GPU instance(s) tagged {selector} in {session.region}", file=sys.stderr,
              flush=True)
        topology = describe_instance_topology(ec2, [i.instance_id for i in instances]) if instances else []
        try:
            result = build_import(args.cluster, topology, instances=instances, plan=plan, source="aws",
                                  topology_name=args.topology_name, max_per_block=args.max_per_block,
                                  block_counts=blocks)
        except ValueError as error:
            raise SpecError("DescribeInstanceTopology", str(error)) from None
    text = render_document(result, fmt)
    if args.output is None:
        print(text, end="")
        print(summary(result), file=sys.stderr)
    else:
        try:
            args.output.write_text(text)
        except OSError as error:
            raise SpecError("--output", f"cannot write {args.output}: {error.strerror or error}") from None
        print(f"wrote {args.output}: {summary(result)}")
    for violation in result.violations:
        print(f"violation: {violation['message']}", file=sys.stderr)
    return 1 if result.violations else 0


def _read_json(path: Path) -> object:
    # Bounded and one line: binary, oversized or 100k-deep files are bad input, not a RecursionError.
    text = read_text(path, where="--from-file", what="DescribeInstanceTopology response")
    return load_json(text, where="--from-file")


def _check_output(path: Path) -> None:
    """``--output`` must be a file we can write, checked before any AWS call."""
    if path.is_dir():
        raise SpecError("--output", f"{path} is a directory; give a file name, e.g. {path / 'topology.json'}")
    if not path.parent.is_dir():
        raise SpecError("--output", f"{path.parent} does not exist")
    if path.exists() and not path.is_file():
        raise SpecError("--output", f"{path} is not a regular file")


def render_document(result: TopologyImport, fmt: str) -> str:
    """The document as JSON or YAML text."""
    doc = result.to_dict()
    if fmt == "yaml":
        return str(yaml.safe_dump(doc, sort_keys=False))
    return json.dumps(doc, indent=2) + "\n"


def summary(result: TopologyImport) -> str:
    """One line: nodes, layers, violations."""
    return (f"{len(result.nodes)} node(s), {result.layers} network layer(s), Kueue levels "
            f"{' > '.join(result.levels)}; {len(result.violations)} violation(s), {len(result.notes)} note(s)")
