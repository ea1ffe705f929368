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
import errno
import fcntl
import os
import syslog
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcheck import health
from envcheck.report import PREFIX
from envcheck.slurm import nodes

OURS = PREFIX.strip()  # "envcheck:", the mark of a drain this program made
# Slurm keeps any length, but `sinfo -R` shows 20 characters by default and admins widen it
# (`sinfo -R -o "%80E %N"`): 80 bytes keep the check id and most of its summary.
REASON_BYTES = 80
# Of the run's --deadline, what `scontrol show` and `scontrol update` may take (each bounded by
# half of it; slurmctld answers in milliseconds): the probes get the rest.
SCONTROL_SECONDS = 8.0


@dataclass(frozen=True)
class Action:
    """What the run did to the node: ``kind`` is drain, resume or none; ``why`` says why."""

    kind: str
    why: str


def decide(ready: bool, reason: str, current: nodes.NodeState) -> Action:
    """What to do with the node, from the verdict and its current state (a pure function).

    Any reason that is not ours (an admin's drain, a DOWN or FAIL with its note, another health
    check) marks the node as someone else's: never resumed, never overwritten."""
    ours = (current.reason or "").startswith(OURS)
    if current.reason and not ours:
        return Action("none", f"left to whoever set: {current.reason}")
    if ready:
        if ours and current.drained and not current.down:
            return Action("resume", f"ready again; was drained: {current.reason}")
        return Action("none", "ready")
    if ours and current.drained and current.reason == reason:
        return Action("none", "not ready, already drained for this")
    return Action("drain", reason)


@contextlib.contextmanager
def lock(path: Path) -> Iterator[bool]:
    """Hold the node's lock for the run: True, or False when another run holds it.

    The lock decides whether the check runs at all, so nobody but us may hold or plant it: its
    folder is ours alone (0700), and a symlink there is refused."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = path.parent.stat()
    if folder.st_uid != os.geteuid() or folder.st_mode & 0o022:
        raise PermissionError(
            errno.EPERM, "lock folder must be owned by us and not writable by others", str(path)
        )
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
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
    """One lock per node name (several slurmd may share a host), in a folder of root's own."""
    base = Path("/run") if os.path.isdir("/run") else Path(tempfile.gettempdir())
    return base / f"envcheck-{os.geteuid()}" / f"slurm-health-{node}.lock"


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
    debug: bool = False,
) -> tuple[health.Outcome, str]:
    """Probe, judge and act on the node, all inside ``limit_seconds``: (the outcome, whose line
    goes to stdout, and the log line)."""
    outcome = health.check(
        options, expect_file, strict, limit_seconds - SCONTROL_SECONDS, REASON_BYTES, debug
    )
    if outcome.report is None:
        return outcome, f"node={node} no verdict: {outcome.line}"
    verdict = "ready" if outcome.code == health.READY else "not-ready"
    if not act:
        logged = f"node={node} verdict={verdict} action=none (--no-drain): {outcome.line}"
    else:
        try:
            timeout = SCONTROL_SECONDS / 2
            action = decide(outcome.code == health.READY, outcome.line, nodes.state(node, timeout))
            if action.kind == "drain":
                nodes.drain(node, outcome.line, timeout)
            elif action.kind == "resume":
                nodes.resume(node, timeout)
            logged = f"node={node} verdict={verdict} action={action.kind}: {action.why}"
        except nodes.SlurmError as exc:
            logged = f"node={node} verdict={verdict} action=failed: {exc}"
    if prom:  # after acting: metrics that cannot be written must not keep a node in service
        from envcheck.render import prom as prom_render

        try:
            prom_render.write(outcome.report, prom)
        except OSError as exc:
            logged += f" (metrics not written: {prom}: {exc.strerror or exc})"
    return outcome, logged
