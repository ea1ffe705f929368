"""How long `envcheck` takes on this machine, with and without the torch probe.

Runs the real CLI (a fresh process each time, as a user would) a few times per variant and prints
the median and the spread of the wall time, with the machine it ran on. A benchmark, not a test:
nothing here asserts a time. The target for the host-side check (no torch) is under 0.5 s.

    python benchmarks/envcheck_latency.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

VARIANTS = {
    "host only (--no-torch)": ["--no-torch"],
    "with torch, no smoke test": ["--no-smoke"],
    "with torch and smoke test": [],
}


def time_once(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "envcheck", "--json", *args],
        capture_output=True,
        check=False,
        timeout=300,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )
    time_once(["--no-torch"])  # warm the file cache once, untimed
    print(f"{'variant':<28} {'median s':>9} {'min s':>7} {'max s':>7}  ({repeats} runs)")
    for name, args in VARIANTS.items():
        times = [time_once(args) for _ in range(repeats)]
        print(f"{name:<28} {statistics.median(times):>9.3f} {min(times):>7.3f} {max(times):>7.3f}")


if __name__ == "__main__":
    main()
