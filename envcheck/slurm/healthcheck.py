"""`envcheck slurm health`: Slurm's HealthCheckProgram, which drains its own node.

slurmd runs the program as root every HealthCheckInterval with only SLURMD_NODENAME set, kills it
after 60 s, starts the next run even if the last one still runs, and only logs a non-zero exit:
so the program acts itself. Not ready: drain the node with a reason `sinfo -R` shows
(``envcheck: <check id>: <summary>``). Ready: resume the node, but only from a drain of ours (a
reason that starts with ``envcheck:``): an admin's or another tool's drain is never undone, and
never overwritten. Overlapping runs: the second exits at once (a lock per node).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import syslog
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcheck import health
from envcheck.slurm import nodes

OURS = health.PREFIX.strip()  # "envcheck:", the mark of a drain this program made
# Slurm keeps any length, but `sinfo -R` shows 20 characters by default and admins widen it
# (`sinfo -R -o "%80E %N"`): 80 bytes keep the check id and most of its summary.
REASON_BYTES = 80
READY, NOT_READY, UNKNOWN = 0, 1, 2


@dataclass(frozen=True)
class Action:
    """What the run did to the node: ``kind`` is drain, resume or none; ``why`` says why."""

    kind: str
    why: str


def decide(ready: bool, reason: str, current: nodes.NodeState) -> Action:
    """What to do with the node, from the verdict and its current state (a pure function)."""
    ours = current.drained and (current.reason or "").startswith(OURS)
    if ready:
        if ours:
            return Action("resume", f"ready again; was drained: {current.reason}")
        return Action("none", "ready")
    if current.drained and not ours:
        return Action("none", f"not ready, left drained by someone else: {current.reason}")
    if ours and current.reason == reason:
        return Action("none", "not ready, already drained for this")
    return Action("drain", reason)


@contextlib.contextmanager
def lock(path: Path) -> Iterator[bool]:
    """Hold the node's lock for the run: True, or False when another run holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def default_lock(node: str) -> Path:
    """One lock per node name (several slurmd may share a host), where root's locks live."""
    folder = Path("/run/lock") if os.path.isdir("/run/lock") else Path(tempfile.gettempdir())
    return folder / f"envcheck-slurm-health-{node}.lock"


def log(line: str, path: str | None) -> None:
    """One line per run: appended to ``path``, or to syslog (daemon facility, tag envcheck)."""
    if path is None:
        syslog.openlog("envcheck", syslog.LOG_PID, syslog.LOG_DAEMON)
        syslog.syslog(syslog.LOG_INFO, line)
        return
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{stamp} {line}\n")


def run(
    node: str,
    options: Any,
    expect_file: str | None,
    strict: bool,
    limit_seconds: float,
    act: bool,
    prom: str | None = None,
) -> tuple[int, str, str]:
    """Probe, judge and act on the node: (exit code, the one line for stdout, the log line)."""
    from envcheck import expect

    try:
        expectations = expect.load(expect_file) if expect_file else expect.Expectations()
    except expect.ExpectError as exc:
        line = health.one_line(f"bad --expect: {exc}", REASON_BYTES)
        return UNKNOWN, line, f"node={node} no verdict: {line}"
    try:
        report = health.judge_within(options, expectations, strict, limit_seconds)
    except health.DeadlineExceeded:
        line = health.one_line(f"no verdict within --deadline {limit_seconds:g} s", REASON_BYTES)
        return UNKNOWN, line, f"node={node} no verdict: {line}"
    from envcheck.report import short_reason

    ready = report.verdict.ready
    code = READY if ready else NOT_READY
    line = (
        health.one_line(report.verdict.summary, REASON_BYTES)
        if ready
        else short_reason(report, REASON_BYTES)
    )
    verdict = "ready" if ready else "not-ready"
    if not act:
        logged = f"node={node} verdict={verdict} action=none (--no-drain): {line}"
    else:
        try:
            action = decide(ready, line, nodes.state(node))
            if action.kind == "drain":
                nodes.drain(node, line)
            elif action.kind == "resume":
                nodes.resume(node)
            logged = f"node={node} verdict={verdict} action={action.kind}: {action.why}"
        except nodes.SlurmError as exc:
            logged = f"node={node} verdict={verdict} action=failed: {exc}"
    if prom:  # after acting: metrics that cannot be written must not keep a node in service
        from envcheck.render import prom as prom_render

        try:
            prom_render.write(report, prom)
        except OSError as exc:
            logged += f" (metrics not written: {prom}: {exc.strerror or exc})"
    return code, line, logged
