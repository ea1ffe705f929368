"""`envcheck slurm run`: one `envcheck --json` per node through `srun`, gathered into the fleet
table. Slurm does the distribution; we only read what each node wrote.

Each task writes its report to ``<dir>/<node>.json``, named by SLURMD_NODENAME (Slurm's own
``%N`` is the host name, which several slurmd on one host share). The folder must be one the
nodes can write and this host can read: a shared file system, as job output needs anyway.
A node that cannot take the step now (drained, down, every CPU allocated) or writes no report
within the deadline is a row saying so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from envcheck.fleet import table
from envcheck.probes import subproc
from envcheck.slurm import nodes

# Per node: the report on stdout, the human report (the reason, should the JSON be missing) aside.
# Every piece but the node's name is quoted for the shell: a folder may hold any character.
TASK = 'exec {envcheck} --json {args} >{dir}/"$SLURMD_NODENAME".json 2>{dir}/"$SLURMD_NODENAME".err'


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
        dir=shlex.quote(str(folder)),
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
    """Run envcheck on every free node (one srun per partition, side by side: a job runs in one
    partition); one row per node listed, in sinfo's order."""
    listed = nodes.listed(partition)
    if not listed:
        where = f" in partition {partition}" if partition else ""
        raise nodes.SlurmError(f"sinfo lists no node{where}")
    groups: dict[str, list[str]] = {}
    for node in listed:
        if node.free:
            groups.setdefault(node.partition, []).append(node.name)
            for suffix in (".json", ".err"):  # a report from an earlier run is not this run's
                (folder / f"{node.name}{suffix}").unlink(missing_ok=True)
    outcomes: dict[str, subproc.Outcome] = {}
    if groups:
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            futures = {
                part: pool.submit(
                    _srun, names, folder, envcheck, envcheck_args, part, deadline, srun_args
                )
                for part, names in groups.items()
            }
            outcomes = {part: f.result() for part, f in futures.items()}
    rows = []
    for node in listed:
        if node.free:
            rows.append(_row(node.name, folder, deadline, outcomes[node.partition]))
        else:
            why = f"not available to jobs: {node.state}"
            rows.append(table.unreadable(node.name, "sinfo", why + _paren(node.reason)))
    return rows


def _srun(
    names: list[str],
    folder: Path,
    envcheck: str,
    envcheck_args: list[str],
    partition: str,
    deadline: float,
    srun_args: list[str],
) -> subproc.Outcome:
    job_name = f"envcheck-{uuid.uuid4().hex[:8]}"
    cmd = srun_command(
        names, folder, envcheck, envcheck_args, partition, deadline, job_name, srun_args
    )
    done = False
    try:
        outcome = subproc.run(cmd, deadline)
        done = not outcome.timed_out
        return outcome
    finally:
        if not done:  # stopped at the deadline or interrupted: the job must not run on
            with contextlib.suppress(nodes.SlurmError):
                nodes.command("scancel", f"--name={job_name}")


def _paren(text: str | None) -> str:
    return f" ({text})" if text else ""


def _row(name: str, folder: Path, deadline: float, outcome: subproc.Outcome) -> table.Node:
    report = folder / f"{name}.json"
    if report.exists() and report.stat().st_size:
        # Slurm's name for the node, whatever host name the report carries.
        return dataclasses.replace(table.load([report])[0], name=name)
    last = [line for line in _text(folder / f"{name}.err").splitlines() if line.strip()]
    if outcome.timed_out:
        why = f"no report within {deadline:g} s"
    elif last:
        why = f"no report: {last[-1][:200]}"
    elif outcome.error:
        why = f"no report: {outcome.error[:200]}"  # srun's own message, "srun: error: ..."
    else:
        why = "no report"
    return table.unreadable(name, "srun", why)


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
