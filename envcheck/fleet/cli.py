"""`envcheck fleet FILES|DIR|-`: many nodes' reports as one table, with drift across them.

Exit codes: 0 every node ready, 1 a node not ready or an input unreadable (--strict: or a node
drifting), 2 bad usage or input (a missing path, no readable report at all), 3 envcheck itself
failed. The table goes to stdout; with --json the envcheck.fleet/1 JSON goes to stdout and the
table to stderr. An unreadable input is one warning line on stderr and a row in the table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from envcheck.fleet.table import SCHEMA


def fleet_output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options of every command that ends in a fleet table (`fleet`, `slurm run`)."""
    for option in reversed(
        (
            click.option(
                "--json",
                "as_json",
                is_flag=True,
                help=f"Print the fleet ({SCHEMA}) as JSON on stdout; the table goes to stderr.",
            ),
            click.option(
                "--junit",
                type=click.Path(dir_okay=False, writable=True),
                help="Also write a JUnit XML file, one testcase per node: a failure when it is "
                "not ready, an error when its input is unreadable; drift goes to system-out (a "
                "failure with --strict).",
            ),
            click.option(
                "--strict",
                is_flag=True,
                help="Count drift (a value off the fleet's majority) as not ready (exit 1).",
            ),
            click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors."),
        )
    ):
        fn = option(fn)
    return fn


@click.command("fleet")
@click.argument("inputs", nargs=-1, required=True, metavar="FILES|DIR|-")
@fleet_output_options
def fleet_cmd(
    inputs: tuple[str, ...], as_json: bool, junit: str | None, strict: bool, debug: bool
) -> None:
    """Merge many nodes' reports (`envcheck --json` on each node) into one table: one row per
    node (its verdict, failed and warned checks, driver, CUDA, torch, cuDNN, GPUs) and the drift
    across nodes: a value that differs from the majority of the nodes that report it.

    Each input is a report file, a folder (every *.json directly in it), or - for stdin. A file
    or stdin holds one report, a JSON array of reports, or reports one after another (JSON
    lines); at most 16 MiB each. A node is named by its report's hostname, else by its file."""
    from envcheck.cli import BadInput, internal_errors
    from envcheck.fleet import table
    from envcheck.text import printable

    def warn(message: str) -> None:
        click.echo(f"warning: {printable(message)}", err=True)

    with internal_errors(debug):
        try:
            nodes = table.load(inputs, on_error=warn)
        except table.FleetError as exc:
            raise BadInput(printable(str(exc))) from exc
        try:
            table.require_readable(nodes)
        except table.FleetError as exc:
            shown = ", ".join(inputs[:3]) + (", ..." if len(inputs) > 3 else "")
            raise BadInput(printable(f"{shown}: {exc}")) from exc
        for name, sources in table.repeated_names(nodes).items():
            # The same node twice (a file given twice, two hosts with one name) would count
            # twice towards the majority: say so, the rows stay apart.
            warn(f"node {name} appears {len(sources)} times: {', '.join(sources[:3])}")
        fleet = table.merge(nodes, strict)
        emit(fleet, as_json, junit)
    sys.exit(0 if fleet.verdict.ready else 1)


def emit(fleet: Any, as_json: bool, junit: str | None) -> None:
    """The table on stdout (stderr with --json, whose JSON takes stdout), and the JUnit file."""
    from envcheck.cli import BadInput
    from envcheck.fleet import render

    if junit:
        try:
            Path(junit).write_text(render.junit(fleet))
        except OSError as exc:
            raise BadInput(f"{junit}: cannot write: {exc.strerror}") from exc
    if as_json:
        render.terminal(fleet, file=sys.stderr)
        sys.stdout.write(json.dumps(fleet.to_json(), indent=1) + "\n")
    else:
        render.terminal(fleet)
