"""`envcheck slurm health` (the node's HealthCheckProgram) and `envcheck slurm run` (the fleet
table through srun)."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from envcheck import health
from envcheck.fleet.cli import fleet_output_options
from envcheck.options import prom_option, seconds

DEFAULT_RUN_DEADLINE = 300.0  # torch (60 s) and the smoke test (30 s) on every node, and srun


@click.group("slurm")
def slurm_group() -> None:
    """envcheck in Slurm: the health check that drains its own node, and a fleet table
    gathered with srun."""


@slurm_group.command("health")
@click.option(
    "--node",
    default=lambda: os.environ.get("SLURMD_NODENAME"),
    help="The Slurm node to drain or resume (default: $SLURMD_NODENAME, which slurmd sets).",
)
@click.option(
    "--drain/--no-drain",
    "act",
    default=True,
    show_default=True,
    help="Drain the node when not ready and resume it from our own drain when ready; "
    "--no-drain only prints the reason and exits 1 (for a wrapper such as NHC to act on).",
)
@click.option(
    "--log",
    "log_file",
    type=click.Path(dir_okay=False),
    help="Append one line per run to this file (default: syslog, tag envcheck).",
)
@click.option(
    "--lock",
    "lock_file",
    type=click.Path(dir_okay=False),
    help="Lock file that keeps runs from overlapping "
    "(default: /run/envcheck-UID/slurm-health-NODE.lock, in a folder only we may write).",
)
@prom_option
@health.scheduled_options
@click.option("--debug", is_flag=True, help="Let an unexpected error end in its traceback.")
def health_cmd(
    node: str | None,
    act: bool,
    log_file: str | None,
    lock_file: str | None,
    prom: str | None,
    options: Any,
    expect_file: str | None,
    strict: bool,
    limit_seconds: float,
    debug: bool,
) -> None:
    """Slurm's HealthCheckProgram: probe and judge this node inside --deadline (under slurmd's
    60 s kill), drain it when not ready (reason `envcheck: <check id>: <summary>`), resume it
    from a drain of ours when ready again; an admin's drain is left alone. Prints one line;
    exit 0 ready, 1 not ready, 2 no verdict (bad input, an overrun, envcheck itself failed)."""
    from envcheck.cli import BadInput
    from envcheck.slurm import healthcheck

    if not node:
        raise BadInput("no node name: pass --node, or run as slurmd's HealthCheckProgram")
    if limit_seconds <= healthcheck.SCONTROL_SECONDS + 1:
        raise BadInput(f"--deadline must leave time for the probes: more than "
                       f"{healthcheck.SCONTROL_SECONDS + 1:g} s")  # fmt: skip
    lock = Path(lock_file) if lock_file else healthcheck.default_lock(node)
    try:
        with healthcheck.lock(lock) as held:
            if not held:
                _log(f"node={node} skipped: the previous run still holds {lock}", log_file)
                sys.exit(0)
            outcome, logged = healthcheck.run(
                node, options, expect_file, strict, limit_seconds, act, prom, debug
            )
    except OSError as exc:
        raise BadInput(f"{exc.filename or lock}: {exc.strerror}") from exc
    _log(logged, log_file)
    click.echo(outcome.line)
    sys.exit(outcome.code)


def _log(line: str, path: str | None) -> None:
    from envcheck.cli import BadInput
    from envcheck.slurm import healthcheck

    try:
        healthcheck.log(line, path)
    except OSError as exc:
        raise BadInput(f"{path}: cannot write: {exc.strerror}") from exc


def _default_envcheck() -> str:
    beside = Path(sys.executable).with_name("envcheck")
    return str(beside) if beside.exists() else "envcheck"


@slurm_group.command(
    "run", context_settings={"ignore_unknown_options": False, "allow_interspersed_args": False}
)
@click.option("--partition", "-p", help="Only this partition's nodes (default: every node).")
@click.option(
    "--deadline",
    "limit_seconds",
    type=float,
    default=DEFAULT_RUN_DEADLINE,
    show_default=True,
    callback=seconds,
    help="Seconds for srun and every node's check; a node without a report by then is a row "
    "saying so.",
)
@click.option(
    "--envcheck",
    "envcheck_path",
    default=_default_envcheck,
    help="The envcheck the nodes run (the same path on every node; default: this one).",
)
@click.option(
    "--args",
    "envcheck_args",
    default="",
    help="Options for envcheck on each node, e.g. '--expect /etc/gpu-envkit/expect.toml'.",
)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False),
    help="Folder, on a file system the nodes share, for the reports (kept; each node's "
    "report is replaced); default: a temporary folder in the current directory, removed "
    "afterwards.",
)
@fleet_output_options
@click.argument("srun_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- SRUN OPTIONS]")
def run_cmd(
    partition: str | None,
    limit_seconds: float,
    envcheck_path: str,
    envcheck_args: str,
    folder: str | None,
    as_json: bool,
    junit: str | None,
    strict: bool,
    debug: bool,
    srun_args: tuple[str, ...],
) -> None:
    """Run `envcheck --json` once on every node with a free CPU (srun, one task per node) and
    print the fleet table: each node's verdict, failing checks and drift across nodes. A node
    that is drained, down or busy, or writes no report within --deadline, is a row saying so.
    Exit 0 when every node is ready, 1 otherwise, 2 on bad input or when Slurm does not answer."""
    from envcheck.cli import BadInput, internal_errors
    from envcheck.fleet import table
    from envcheck.fleet.cli import emit
    from envcheck.slurm import gather, nodes

    if srun_args and not srun_args[0].startswith("-"):
        # `envcheck slurm run hostname` would have srun run `hostname`, not the check.
        raise BadInput(f"unexpected argument {srun_args[0]!r}: srun options go after --")
    try:
        args = shlex.split(envcheck_args)
    except ValueError as exc:
        raise BadInput(f"--args: {exc}") from exc
    with internal_errors(debug):
        try:
            with _report_folder(folder) as where:
                rows = gather.gather(
                    where, envcheck_path, args, partition, limit_seconds, list(srun_args)
                )
                fleet = table.merge(rows, strict)
                emit(fleet, as_json, junit)
        except nodes.SlurmError as exc:
            raise BadInput(str(exc)) from exc
        except OSError as exc:
            raise BadInput(f"{exc.filename or folder or '.'}: {exc.strerror}") from exc
    sys.exit(0 if fleet.verdict.ready else 1)


@contextlib.contextmanager
def _report_folder(folder: str | None):
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        yield Path(folder).resolve()
        return
    # In the current directory, not /tmp: the nodes must reach it (a shared home or project).
    where = Path(tempfile.mkdtemp(prefix=".envcheck-slurm-", dir="."))
    where.chmod(0o755)
    try:
        yield where.resolve()
    finally:
        shutil.rmtree(where, ignore_errors=True)
