"""Slurm's view of its nodes, through its own commands (`scontrol`, `sinfo`), each bounded.

slurmd runs the HealthCheckProgram with no PATH at all (only SLURMD_NODENAME), so the commands
are looked up on the standard system path when PATH is empty.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
COMMAND_TIMEOUT = 15.0  # slurmctld answers in milliseconds; a hung one must not hang us
# sinfo's states of a node with a free CPU for one more step right now.
FREE = frozenset({"idle", "mixed"})


_REASON = re.compile(r"\bReason=(.*?) \[[^\]\s@]+@[^\]\s]+\]")


class SlurmError(Exception):
    """A Slurm command failed or did not answer: one line naming it."""


@dataclass(frozen=True)
class NodeState:
    name: str
    state: str  # scontrol's, e.g. IDLE+DRAIN
    reason: str | None  # without Slurm's trailing "[user@time]"

    @property
    def drained(self) -> bool:
        return "DRAIN" in self.state.split("+")

    @property
    def down(self) -> bool:
        """DOWN or FAIL: Slurm's own, or an admin's, verdict that a resume must not override."""
        return bool({"DOWN", "FAIL", "FAILING"} & set(self.state.split("+")))


def command_path(name: str) -> str:
    path = shutil.which(name, path=os.environ.get("PATH") or SYSTEM_PATH)
    if path is None:
        raise SlurmError(f"{name} not found: is Slurm installed here, and on PATH?")
    return path


def command(name: str, *args: str, timeout: float = COMMAND_TIMEOUT) -> str:
    """Run a Slurm command; its stdout, or SlurmError with its own message."""
    try:
        proc = subprocess.run(
            [command_path(name), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SlurmError(f"{name} {args[0]}: no answer within {timeout:g} s") from exc
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        why = lines[-1] if lines else f"exit code {proc.returncode}"
        raise SlurmError(f"{name} {' '.join(args[:2])}: {why}")
    return proc.stdout


def state(node: str, timeout: float = COMMAND_TIMEOUT) -> NodeState:
    """The node's state and drain reason, from `scontrol show node NODE --oneliner`."""
    out = command("scontrol", "show", "node", node, "--oneliner", timeout=timeout).strip()
    fields = dict(part.split("=", 1) for part in out.split() if "=" in part)
    if fields.get("NodeName") != node:
        raise SlurmError(f"scontrol show node {node}: no such node")
    # The reason may hold spaces and other fields may follow it; Slurm ends it with [user@time].
    match = _REASON.search(out)
    return NodeState(node, fields.get("State", ""), match[1].strip() if match else None)


def drain(node: str, reason: str, timeout: float = COMMAND_TIMEOUT) -> None:
    command(
        "scontrol", "update", f"nodename={node}", "state=drain", f"reason={reason}",
        timeout=timeout,
    )  # fmt: skip


def resume(node: str, timeout: float = COMMAND_TIMEOUT) -> None:
    command("scontrol", "update", f"nodename={node}", "state=resume", timeout=timeout)


@dataclass(frozen=True)
class ListedNode:
    name: str
    partition: str  # the first partition sinfo lists it in
    state: str  # sinfo's long name, e.g. "drained", "idle", "mixed"
    reason: str | None

    @property
    def free(self) -> bool:
        """Can take a one-CPU step now: idle or mixed ("*": not responding, "~": powered off
        and the like mark a node that cannot)."""
        return self.state in FREE


def listed(partition: str | None = None) -> list[ListedNode]:
    """The nodes of a partition (all partitions by default), each once, in sinfo's order."""
    args = ["--noheader", "--Node", "--format=%N|%P|%T|%E"]
    if partition:
        args.append(f"--partition={partition}")
    seen: dict[str, ListedNode] = {}
    for line in command("sinfo", *args).splitlines():
        name, part, node_state, reason = [*line.split("|", 3), "", "", ""][:4]
        if name and name not in seen:
            why = None if reason in ("", "none") else reason
            seen[name] = ListedNode(name, part.rstrip("*"), node_state, why)
    return list(seen.values())
