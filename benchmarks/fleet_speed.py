"""How long `envcheck fleet DIR --json` takes over many node reports.

Judges the real H200 measurement (tests/data/h200-facts.json, given 8 GPUs as a node has) into
reports once per variant: most nodes identical, some on another driver of the same CUDA (drift),
some on a driver too old for their torch (not ready), some with a GPU missing (drift). Writes N of
them (default 10,000) into a temp folder, one file per node as `envcheck --json` writes it, with
its own hostname; then times the whole `envcheck fleet DIR --json` process, a fresh one per run as
a user starts it (stdout and stderr to /dev/null), after one untimed warm-up run. Prints the
median and spread with the machine, and where the time of one run goes (in-process: load, merge,
table, JSON). Removes its temp folder. A benchmark, not a test: nothing here asserts a time. The
target is under 5 s for 10,000 nodes on a 2-core machine.

    python benchmarks/fleet_speed.py [--nodes 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from envcheck import expect
from envcheck.facts import Facts
from envcheck.report import judge, load_facts

ROOT = Path(__file__).resolve().parent.parent

SEED = 20261127


def variants(base: Facts) -> dict[str, tuple[float, dict]]:
    """name -> (share of the nodes, report JSON) for each kind of node."""
    gpu = base.gpus[0]
    eight = [
        dataclasses.replace(gpu, index=i, uuid=f"{gpu.uuid[:-2]}{i:02d}", pci_bus_id=f"0:{i}:0.0")
        for i in range(8)
    ]
    node = dataclasses.replace(base, gpus=eight, source=None, platform="Linux-6.8 x86_64")
    node = dataclasses.replace(node, torch=dataclasses.replace(node.torch, device_count=8))
    kinds = {
        "in line": (0.97, node),
        "other 13.0 driver (drift)": (
            0.015,
            dataclasses.replace(node, driver=dataclasses.replace(node.driver, version="580.95.05")),
        ),
        "driver too old (not ready)": (
            0.005,
            dataclasses.replace(
                node, driver=dataclasses.replace(node.driver, version="575.57.08", cuda="12.9")
            ),
        ),
        "a GPU missing (drift)": (0.01, dataclasses.replace(node, gpus=eight[:7])),
    }
    none = expect.Expectations()
    return {name: (share, judge(f, none).to_json()) for name, (share, f) in kinds.items()}


def write_reports(folder: Path, count: int) -> tuple[int, dict[str, int]]:
    kinds = variants(load_facts(ROOT / "tests" / "data" / "h200-facts.json"))
    names = list(kinds)
    weights = [kinds[n][0] for n in names]
    rng = random.Random(SEED)
    written, tally = 0, dict.fromkeys(names, 0)
    for i in range(count):
        kind = rng.choices(names, weights)[0]
        tally[kind] += 1
        report = kinds[kind][1]
        report["facts"]["hostname"] = f"gpu-{i:05d}"
        text = json.dumps(report, indent=1) + "\n"
        (folder / f"gpu-{i:05d}.json").write_text(text)
        written += len(text.encode())
    return written, tally


def time_once(folder: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "envcheck", "fleet", str(folder), "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
        timeout=600,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"envcheck fleet exited {proc.returncode}")
    return elapsed


def stages(folder: Path) -> dict[str, float]:
    """Where one run's time goes, in this process."""
    from envcheck.fleet import render, table

    spent: dict[str, float] = {}
    start = time.perf_counter()
    nodes = table.load([folder])
    spent["load"] = time.perf_counter() - start
    start = time.perf_counter()
    fleet = table.merge(nodes)
    spent["merge"] = time.perf_counter() - start
    start = time.perf_counter()
    render.terminal(fleet, file=io.StringIO())
    spent["table"] = time.perf_counter() - start
    start = time.perf_counter()
    json.dumps(fleet.to_json(), indent=1)
    spent["json"] = time.perf_counter() - start
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.platform()}"
    )
    folder = Path(tempfile.mkdtemp(prefix="envcheck-fleet-bench-"))
    try:
        size, tally = write_reports(folder, args.nodes)
        print(
            f"{args.nodes:,} reports, {size / 2**20:.1f} MiB "
            f"({size // args.nodes:,} bytes each): "
            + ", ".join(f"{n} {k}" for k, n in tally.items())
        )
        time_once(folder)  # warm the file cache and the bytecode, untimed
        times = [time_once(folder) for _ in range(args.repeats)]
        print(
            f"envcheck fleet DIR --json: median {statistics.median(times):.3f} s, "
            f"min {min(times):.3f} s, max {max(times):.3f} s ({args.repeats} runs)"
        )
        spent = stages(folder)
        print("in-process: " + ", ".join(f"{k} {v:.3f} s" for k, v in spent.items()))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
