"""Time to a first verdict on a fresh machine, both routes of the README's set-up:

    python benchmarks/first_verdict.py [--repeats 3]

1. clone to report: `git clone` of this repository, then `make gpu-check` (creates the venv,
   installs the checker from the package index, probes and judges), timed as one wall clock;
2. the single file: `python3 envcheck.pyz` from an empty folder (built once, untimed).

Each run starts from nothing (a new clone, a new venv; pip's cache is kept, as on a machine that
has run pip before), outside any activated environment. Prints the median, min and max of each
and the machine; removes everything it made. A benchmark, not a test: the verdict's exit code (1
on a machine without a GPU) is reported, not judged.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _clean_env() -> dict[str, str]:
    drop = ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    # Not this venv's bin first: a fresh shell finds the system python3.
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(sys.prefix)
    )
    return env


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, timeout=600, check=False)
    return time.perf_counter() - start, proc.returncode


def clone_to_report(tmp: Path, env: dict[str, str]) -> tuple[float, int]:
    clone = tmp / "clone"
    start = time.perf_counter()
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    _, code = _timed(["make", "--no-print-directory", "gpu-check"], clone, env)
    shutil.rmtree(clone)
    return time.perf_counter() - start, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = _clean_env()
    python3 = shutil.which("python3", path=env["PATH"]) or "python3"
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs; "
          f"python3: {python3}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="envkit-first-verdict-") as folder:
        tmp = Path(folder)
        rows = {"clone + make gpu-check": [], "python3 envcheck.pyz": []}
        codes = {}
        for _ in range(args.repeats):
            seconds, codes["clone + make gpu-check"] = clone_to_report(tmp, env)
            rows["clone + make gpu-check"].append(seconds)
        subprocess.run(
            [sys.executable, str(ROOT / "tools" / "build_pyz.py"), "--output",
             str(tmp / "envcheck.pyz")],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        empty = tmp / "empty"
        empty.mkdir()
        for _ in range(args.repeats):
            seconds, codes["python3 envcheck.pyz"] = _timed(
                [python3, str(tmp / "envcheck.pyz")], empty, env
            )
            rows["python3 envcheck.pyz"].append(seconds)
    for name, times in rows.items():
        print(f"{name:24} median {statistics.median(times):6.2f} s  min {min(times):6.2f}  "
              f"max {max(times):6.2f}  ({len(times)} runs, exit {codes[name]})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
