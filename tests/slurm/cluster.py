"""A real, throwaway Slurm cluster on this host: munge, one slurmctld and several slurmd (distinct
node names and ports on 127.0.0.1; Debian's Slurm is built to allow that), all under one folder,
all stopped by pid.

Each node runs envcheck as its HealthCheckProgram through ``health.sh``, which gives it what
slurmd does not (slurmd passes only SLURMD_NODENAME): the cluster's slurm.conf, and the fake
libnvidia-ml with the node's own scenario file, ``scenarios/<node>.conf``, that a test rewrites
to break or repair a node.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import fakenvml

TOOLS = ("slurmctld", "slurmd", "scontrol", "sinfo", "srun", "munged", "mungekey", "runuser")
BASE_PORT = 17000  # slurmctld; the nodes take the next ones


def missing_tools() -> list[str]:
    return [t for t in TOOLS if not shutil.which(t, path=os.environ.get("PATH", "") + ":/usr/sbin")]


class Cluster:
    def __init__(self, nodes: int, health_args: str, interval: int, lib_dir: Path) -> None:
        self.names = [f"n{i}" for i in range(1, nodes + 1)]
        self.health_args = health_args
        self.interval = interval
        self.lib_dir = lib_dir
        self._procs: list[subprocess.Popen] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Cluster:
        # Not mkdtemp's 0700: munged runs as user munge and must traverse every parent.
        self.dir = Path(tempfile.mkdtemp(prefix="envkit-slurm-"))
        self.dir.chmod(0o755)
        try:
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in reversed(self._procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self._procs):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        munged = self.dir / "munge" / "munged.pid"
        if munged.exists():  # runuser's child, outside our process group
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(munged.read_text()), signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _spawn(self, cmd: list[str], log: str) -> None:
        out = open(self.dir / "log" / log, "wb")  # noqa: SIM115 - the child holds it
        self._procs.append(
            subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        )
        out.close()

    def _start(self) -> None:
        for sub in ("munge", "state", "spool", "log", "run", "scenarios"):
            (self.dir / sub).mkdir()
        munge = self.dir / "munge"
        shutil.chown(munge, "munge", "munge")
        key = munge / "munge.key"
        subprocess.run(
            ["runuser", "-u", "munge", "--", "mungekey", "--create", f"--keyfile={key}"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        self.munge_socket = munge / "munge.socket"
        self._spawn(
            ["runuser", "-u", "munge", "--", "munged", "-F", f"--key-file={key}",
             f"--socket={self.munge_socket}", f"--pid-file={munge / 'munged.pid'}",
             f"--seed-file={munge / 'munged.seed'}"],
            "munged.log",
        )  # fmt: skip
        _wait(self.munge_socket.exists, 10, "munged did not start")
        for name in self.names:
            self.set_scenario(name, "one_h100_r580")
        envcheck = shlex.quote(str(Path(sys.executable).with_name("envcheck")))
        self.log = self.dir / "health.log"
        # slurmd's HealthCheckProgram: run as root with only SLURMD_NODENAME set.
        self.health_script = self._script(
            "health.sh",
            f"{envcheck} slurm health --log {self.log} "
            f'--lock "{self.dir}/locks/$SLURMD_NODENAME.lock" {self.health_args}',
        )
        # What `envcheck slurm run --envcheck` starts on each node.
        self.task_script = self._script("task.sh", f'{envcheck} "$@"')
        self.conf = self.dir / "slurm.conf"
        self.conf.write_text(self._conf())
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._spawn(["slurmctld", "-D", "-i", "-f", str(self.conf)], "slurmctld.out")
        for name in self.names:
            self._spawn(["slurmd", "-D", "-N", name, "-f", str(self.conf)], f"slurmd-{name}.out")

    def _script(self, name: str, command: str) -> Path:
        """A wrapper that gives envcheck the node's fake NVML (by SLURMD_NODENAME, which slurmd
        sets for the health check and for job steps) and the cluster's slurm.conf."""
        script = self.dir / name
        script.write_text(
            "#!/bin/sh\n"
            f"export SLURM_CONF={shlex.quote(str(self.conf_path))}\n"
            f"export LD_LIBRARY_PATH={shlex.quote(str(self.lib_dir))}\n"
            f'export FAKE_NVML_CONFIG="{self.dir}/scenarios/$SLURMD_NODENAME.conf"\n'
            f"exec {command}\n"
        )
        script.chmod(0o755)
        return script

    @property
    def conf_path(self) -> Path:
        return self.dir / "slurm.conf"

    def _conf(self) -> str:
        n = len(self.names)
        d = self.dir
        nodes = (
            f"NodeName=n[1-{n}] NodeHostname=localhost NodeAddr=127.0.0.1 "
            f"Port=[{BASE_PORT + 1}-{BASE_PORT + n}] CPUs={os.cpu_count()} RealMemory=1000 "
            "State=UNKNOWN"
        )
        health = ""
        if self.interval:  # 0: no health check (the fleet benchmark)
            health = (
                f"HealthCheckProgram={self.health_script}\nHealthCheckInterval={self.interval}\n"
            )
        return f"""\
ClusterName=envkit
SlurmctldHost=localhost
SlurmctldPort={BASE_PORT}
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool/%n
SlurmctldPidFile={d}/run/slurmctld.pid
SlurmdPidFile={d}/run/slurmd-%n.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
{health}{nodes}
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""

    # -- what the tests use ------------------------------------------------------------------

    def set_scenario(self, node: str, scenario: str) -> None:
        path = self.dir / "scenarios" / f"{node}.conf"
        fakenvml.write_config(path.with_suffix(".tmp"), fakenvml.SCENARIOS[scenario])
        path.with_suffix(".tmp").replace(path)  # a running check never reads half a file

    def run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(cmd), env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def node(self, name: str) -> dict[str, str]:
        """``scontrol show node`` as key=value pairs (Reason may hold spaces: it is last)."""
        out = self.run("scontrol", "show", "node", name, "--oneliner").stdout.strip()
        head, _, reason = out.partition(" Reason=")
        fields = dict(p.split("=", 1) for p in head.split() if "=" in p)
        if reason:
            fields["Reason"] = reason.rsplit(" [", 1)[0]
        return fields

    def wait_for(self, predicate, timeout: float, what: str) -> None:
        _wait(predicate, timeout, f"{what}; nodes: {[self.node(n) for n in self.names]}")


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:g} s: {what}")
