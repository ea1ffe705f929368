"""Slurm's view of its nodes, through its own commands (`scontrol`, `sinfo`), each bounded.

slurmd runs the HealthCheckProgram with no PATH at all (only SLURMD_NODENAME), so the commands
are looked up on the standard system path when PATH is empty.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
COMMAND_TIMEOUT = 15.0  # slurmctld answers in milliseconds; a hung one must not hang us
# States in which a node takes new jobs (sinfo's long names, flags stripped).
SCHEDULABLE = frozenset({"idle", "mixed", "allocated", "completing"})


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


def state(node: str) -> NodeState:
    """The node's state and drain reason, from `scontrol show node NODE --oneliner`."""
    out = command("scontrol", "show", "node", node, "--oneliner").strip()
    # Reason is the last field and may hold spaces; Slurm appends "[user@time]" to it.
    head, _, reason = out.partition(" Reason=")
    fields = dict(part.split("=", 1) for part in head.split() if "=" in part)
    if fields.get("NodeName") != node:
        raise SlurmError(f"scontrol show node {node}: no such node")
    text = reason.rsplit(" [", 1)[0].strip() if reason else None
    return NodeState(node, fields.get("State", ""), text or None)


def drain(node: str, reason: str) -> None:
    command("scontrol", "update", f"nodename={node}", "state=drain", f"reason={reason}")


def resume(node: str) -> None:
    command("scontrol", "update", f"nodename={node}", "state=resume")


@dataclass(frozen=True)
class ListedNode:
    name: str
    state: str  # sinfo's long name, e.g. "drained", "idle"
    reason: str | None

    @property
    def schedulable(self) -> bool:
        return self.state.rstrip("*~#!%$@^-") in SCHEDULABLE


def listed(partition: str | None = None) -> list[ListedNode]:
    """The nodes of a partition (all partitions by default), each once, in sinfo's order."""
    args = ["--noheader", "--Node", "--format=%N|%T|%E"]
    if partition:
        args.append(f"--partition={partition}")
    seen: dict[str, ListedNode] = {}
    for line in command("sinfo", *args).splitlines():
        name, _, rest = line.partition("|")
        node_state, _, reason = rest.partition("|")
        if name and name not in seen:
            seen[name] = ListedNode(name, node_state, None if reason in ("", "none") else reason)
    return list(seen.values())
