"""Run a workload (``python -m workloads digits ...``) in a child process and read its result.

envcheck never imports the workloads package itself: torch and skorch are heavy, and the
workload may run under another interpreter (``--python``). Its JSON result file is read back;
its own validation decides pass or fail.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from typing import Any

from envcheck.facts import ErrorKind
from envcheck.probes.subproc import python_command
from envcheck.probes.subproc import run as run_probe

# Small enough to finish in seconds on a CPU, large enough to prove training converges.
DIGITS_ARGS = ["digits", "--scales", "1", "--repeats", "1"]


def run_digits(python: str, timeout: float, device: str) -> dict[str, Any]:
    """``device`` is named, never ``auto``: the workload's validation then proves the nets ran
    where torch said a GPU was."""
    with tempfile.TemporaryDirectory(prefix="envcheck-workload-") as tmp:
        out = os.path.join(tmp, "digits.json")
        args = [*DIGITS_ARGS, "--device", device, "--json", out]
        cmd = python_command(python, "workloads", *args, isolated=False)
        record: dict[str, Any] = {
            "name": "digits",
            "command": ["-m", "workloads", *args[:-1], "FILE"],
        }
        start = time.perf_counter()
        outcome = run_probe(cmd, timeout)
        record["seconds"] = round(time.perf_counter() - start, 3)
        if outcome.timed_out:
            return {
                **record,
                "error": f"did not finish within {timeout:g} s",
                "error_kind": ErrorKind.TIMEOUT,
            }
        try:
            with open(out) as f:
                result = json.load(f)
        except (OSError, ValueError):
            return {**record, **_why_no_result(outcome.error)}
    validation = result.get("validation") or {}
    return {
        **record,
        "passed": bool(validation.get("passed")),
        "failures": [str(f) for f in validation.get("failures") or []],
        "rows": [
            {key: r.get(key) for key in ("model", "device", "rows", "fit_s", "test_accuracy")}
            for r in result.get("records") or []
        ],
    }


def _why_no_result(error: str | None) -> dict[str, str]:
    if error and "No module named" in error:
        return {
            "error": f"{error}: the workloads need torch, skorch and scikit-learn in this "
            "interpreter (pip install 'gpu-envkit[workloads]')",
            "error_kind": ErrorKind.NOT_INSTALLED,
        }
    return {"error": f"wrote no result: {error or 'no output'}", "error_kind": ErrorKind.CRASHED}
