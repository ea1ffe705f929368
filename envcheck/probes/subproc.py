"""Run a probe in its own process, bounded by a timeout, and read the JSON lines it prints.

A probe module prints one JSON object per line; each line is merged into the result as soon as it
is complete, so a probe that hangs half-way (CUDA init after the torch import, say) still gives
what it had. The child gets its own process group so a timeout kills it and anything it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What came back from a probe process."""

    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    timed_out: bool = False
    error: str | None = None  # set when the process failed or printed nothing usable


def run(cmd: list[str], timeout: float) -> Outcome:
    """Run a probe command; merge the JSON lines it printed before it exited or timed out."""
    start = time.perf_counter()
    try:
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        return Outcome(error=f"cannot start {cmd[0]}: {exc.strerror}", seconds=0.0)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        out, err = proc.communicate()  # keeps what was read before the timeout
    seconds = time.perf_counter() - start
    data = _merge_lines(out.decode(errors="replace"))
    outcome = Outcome(data=data, seconds=seconds, timed_out=timed_out)
    if not timed_out and proc.returncode != 0:
        outcome.error = _last_line(err.decode(errors="replace")) or f"exit code {proc.returncode}"
    return outcome


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _merge_lines(text: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue  # a partial last line, or noise a library printed on stdout
        if isinstance(obj, dict):
            for key, value in obj.items():
                if isinstance(value, list) and isinstance(merged.get(key), list):
                    merged[key] = merged[key] + value
                else:
                    merged[key] = value
    return merged


def _last_line(text: str) -> str | None:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else None


def emit(**parts: Any) -> None:
    """Called inside a probe process: print one JSON line now, so it survives a later hang."""
    sys.stdout.write(json.dumps(parts) + "\n")
    sys.stdout.flush()
