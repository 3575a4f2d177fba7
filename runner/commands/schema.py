"""`labrunner schema`: print the lab JSON Schema, generated from the action registry (`runner.schema`);
`--fragment`, the schema of a file a lab includes."""

from __future__ import annotations

import argparse
from typing import TextIO

from runner.commands.exits import EXIT_OK
from runner.schema import render_json


def command(args: argparse.Namespace, out: TextIO) -> int:
    out.write(render_json(fragment_schema=args.fragment))
    return EXIT_OK
