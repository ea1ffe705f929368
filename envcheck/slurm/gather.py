"""`envcheck slurm run`: one `envcheck --json` per node through `srun`, gathered into the fleet
table. Slurm does the distribution; we only read what each node wrote.

Each task writes its report to ``<dir>/<node>.json``, named by SLURMD_NODENAME (Slurm's own
``%N`` is the host name, which several slurmd on one host share). The folder must be one the
nodes can write and this host can read: a shared file system, as job output needs anyway.
A node that cannot take the job (drained, down) or writes no report within the deadline is a
row saying so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
import uuid
from pathlib import Path

from envcheck.fleet import table
from envcheck.probes import subproc
from envcheck.slurm import nodes

# Per node: the report on stdout, the human report (the reason, should the JSON be missing) aside.
TASK = 'exec {envcheck} --json {args} >"{dir}/$SLURMD_NODENAME.json" 2>"{dir}/$SLURMD_NODENAME.err"'


def srun_command(
    names: list[str],
    folder: Path,
    envcheck: str,
    envcheck_args: list[str],
    partition: str | None,
    deadline: float,
    job_name: str,
    srun_args: list[str],
) -> list[str]:
    task = TASK.format(
        envcheck=shlex.quote(envcheck),
        args=" ".join(shlex.quote(a) for a in envcheck_args),
        dir=str(folder).replace('"', '\\"'),
    )
    cmd = [
        nodes.command_path("srun"),
        f"--nodelist={','.join(names)}",
        f"--nodes={len(names)}",
        "--ntasks-per-node=1",
        f"--job-name={job_name}",
        # Give up at once rather than queue behind other jobs past our deadline.
        f"--immediate={max(1, int(deadline))}",
        f"--time={max(1, int(deadline // 60) + 1)}",
    ]
    if partition:
        cmd.append(f"--partition={partition}")
    return [*cmd, *srun_args, "sh", "-c", task]


def gather(
    folder: Path,
    envcheck: str,
    envcheck_args: list[str],
    partition: str | None,
    deadline: float,
    srun_args: list[str],
) -> list[table.Node]:
    """Run envcheck on every schedulable node of the partition; one row per node listed."""
    listed = nodes.listed(partition)
    if not listed:
        raise nodes.SlurmError(
            f"sinfo lists no node{f' in partition {partition}' if partition else ''}"
        )
    ready = [n.name for n in listed if n.schedulable]
    job_name = f"envcheck-{uuid.uuid4().hex[:8]}"
    outcome = None
    if ready:
        cmd = srun_command(
            ready, folder, envcheck, envcheck_args, partition, deadline, job_name, srun_args
        )
        outcome = subproc.run(cmd, deadline)
        if outcome.timed_out:
            # srun was stopped; make sure its job does not run on without us.
            with contextlib.suppress(nodes.SlurmError):
                nodes.command("scancel", f"--name={job_name}")
    rows = []
    for node in listed:
        if not node.schedulable:
            why = f"not available to jobs: {node.state}" + (
                f" ({node.reason})" if node.reason else ""
            )
            rows.append(table.unreadable(node.name, "sinfo", why))
            continue
        rows.append(_row(node.name, folder, deadline, outcome))
    return rows


def _row(name: str, folder: Path, deadline: float, outcome: subproc.Outcome | None) -> table.Node:
    report = folder / f"{name}.json"
    if report.exists() and report.stat().st_size:
        # Slurm's name for the node, whatever host name the report carries.
        return dataclasses.replace(table.load([report])[0], name=name)
    err = folder / f"{name}.err"
    last = [line for line in _text(err).splitlines() if line.strip()]
    if outcome is not None and outcome.timed_out:
        why = f"no report within {deadline:g} s"
    elif last:
        why = f"no report: {last[-1][:200]}"
    elif outcome is not None and outcome.error:
        why = f"no report: srun: {outcome.error[:200]}"
    else:
        why = "no report"
    return table.unreadable(name, "srun", why)


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
