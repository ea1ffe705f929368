"""`envcheck slurm run` over many slurmd on this host: how long the fleet table takes to gather.

    python -m benchmarks.slurm_fleet --nodes 8,32,64

For each count: a throwaway cluster (the tests' own, tests/slurm/cluster.py: munge, slurmctld and
N slurmd on 127.0.0.1, every node a healthy fake H100 through the fake NVML), then
`envcheck slurm run --json --args "--no-torch --timeout 60"` timed as a whole process, once
after one warm-up. All nodes share this machine's cores, so the time grows with N here where a
real cluster runs them side by side (and the probes' usual 5 s would starve: 60 s here). Needs
root and the Slurm packages (`.ci/run` installs them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import fakenvml
from tests.slurm.cluster import Cluster, missing_tools


def _idle(cluster: Cluster) -> bool:
    out = cluster.run("sinfo", "--noheader", "--Node", "--format=%T").stdout.split()
    return len(out) == len(cluster.names) and all(s == "idle" for s in out)


def measure(count: int, lib_dir: Path) -> dict:
    with Cluster(count, "", 0, lib_dir) as cluster:
        start = time.perf_counter()
        cluster.wait_for(lambda: _idle(cluster), 120, f"{count} nodes idle")
        up = time.perf_counter() - start
        args = "--no-torch --timeout 60"
        cmd = [sys.executable, "-m", "envcheck", "slurm", "run", "--json", "--deadline", "600",
               "--envcheck", str(cluster.task_script), "--args", args]  # fmt: skip
        times = []
        for _ in range(2):  # a warm-up, then the measured run
            start = time.perf_counter()
            proc = subprocess.run(
                cmd, env=cluster.env, cwd=cluster.dir, capture_output=True, text=True,
                timeout=900, check=False,
            )  # fmt: skip
            times.append(time.perf_counter() - start)
        fleet = json.loads(proc.stdout)
        ready = sum(n["ready"] is True for n in fleet["nodes"])
        return {"nodes": count, "cluster_up_s": up, "run_s": times[-1], "ready": ready,
                "rows": len(fleet["nodes"]), "exit": proc.returncode}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="8,32", help="node counts, comma-separated")
    args = parser.parse_args()
    if missing_tools() or os.geteuid() != 0:
        print("needs root and the Slurm packages (slurmctld slurmd slurm-client munge)")
        return 2
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="envkit-bench-nvml-") as lib:
        fakenvml.build(lib)
        for count in (int(n) for n in args.nodes.split(",")):
            r = measure(count, Path(lib))
            print(f"{r['nodes']:>4} slurmd: cluster up {r['cluster_up_s']:.1f} s, "
                  f"envcheck slurm run {r['run_s']:.1f} s, {r['ready']}/{r['rows']} ready, "
                  f"exit {r['exit']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
