"""``neocloud schema``: the JSON Schema of the ``neocloud:cluster`` config."""

from __future__ import annotations

import argparse
import json

from ..spec import json_schema


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("schema", help="print the JSON Schema of the neocloud:cluster config")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2, sort_keys=True))
    return 0
