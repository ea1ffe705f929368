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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The folder that holds the envcheck package, or the envcheck.pyz archive that holds it (a zip on
# sys.path imports like a folder; -I ignores PYTHONPATH, so the path goes on the command line).
# A child finds it last on its import path, and never the caller's directory: run from a
# checkout, `docker/` there would shadow the Docker SDK, and a `torch/` folder (a PyTorch source
# tree) the installed torch.
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import runpy, sys;"
    "sys.path[:] = [p for p in sys.path if p not in ('', '.')];"
    "root, target = sys.argv[1:3]; del sys.argv[1:3];"
    "sys.path.append(root);"
    "runpy.run_path(target, run_name='__main__') if target.endswith('.py') "
    "else runpy.run_module(target, run_name='__main__', alter_sys=True)"
)


def python_command(python: str, target: str, *args: str, isolated: bool = True) -> list[str]:
    """A command that runs ``target`` (a module name, or a .py file) under ``python``, away from
    the caller's directory. ``isolated`` (envcheck's own probes) also drops the user site and
    PYTHON* variables; the user's own interpreter keeps them, since its torch may live there."""
    flags = ["-I"] if isolated else []
    return [python, *flags, "-c", _BOOT, _PACKAGE_PARENT, target, *args]


@dataclass
class Outcome:
    """What came back from a probe process."""

    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    timed_out: bool = False
    error: str | None = None  # set when the process failed or printed nothing usable


# Every probe child still running, so that Ctrl-C or SIGTERM can end them all at once.
_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


# How long a child stopped with SIGTERM may take to clean up (the Docker probe removes its
# container) before SIGKILL: a child without a handler of its own ends at once.
GRACE = 1.0


def terminate_all(grace: float = 0.5) -> None:
    """End every running probe child and whatever it started (Ctrl-C, SIGTERM)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    _stop(live, grace)


def _stop(procs: list[subprocess.Popen], grace: float) -> None:
    """SIGTERM to each process group, then SIGKILL to what is left after ``grace``."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.0, deadline - time.monotonic()))
        _kill_group(proc)


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
    with _LIVE_LOCK:
        _LIVE.add(proc)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop([proc], GRACE)
        out, err = proc.communicate()  # keeps what was read before the timeout
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)
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
