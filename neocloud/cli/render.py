"""``neocloud render STACK --out DIR``: what the program would apply, as files for review and for other tools.

``DIR/kubernetes.yaml`` (every Kubernetes object, one YAML document each), ``DIR/helm-releases.yaml`` (each Helm
release: chart, version, repository, namespace, values) and ``DIR/resources.json`` (every registered resource:
urn, type, name, parent, inputs with secrets as ``"[secret]"``, protect / retainOnDelete). Rendered from the
offline engine's recorded registrations (``neocloud.offline.render``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import SpecError
from ..offline.render import UnrenderableResource, write_render
from .plan import add_stack_arguments, run_stack

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("render", help="write the stack's Kubernetes manifests, Helm releases and "
                                   "resource inputs to a directory")
    add_stack_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="directory to write (created if missing)")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise SpecError("--out", f"{out} exists and is not a directory; give a directory path")
    _, run = run_stack(args)
    try:
        summary = write_render(run, out)
    except UnrenderableResource as error:
        print(f"neocloud: render failed: {error}", file=sys.stderr)
        return 1
    print(f"stack {run.stack}: {summary.manifests} Kubernetes objects -> {out / 'kubernetes.yaml'}, "
          f"{summary.releases} Helm releases -> {out / 'helm-releases.yaml'}, {summary.resources} resources -> "
          f"{out / 'resources.json'}")
    return 0
