"""envcheck on a real Slurm cluster (munge, slurmctld, three slurmd on this host): the health check
drains broken nodes itself, resumes repaired ones, leaves an admin's drain alone and never piles
up; `envcheck slurm run` gathers the fleet table through srun.

Each node's GPUs are the fake libnvidia-ml with the node's own scenario (``Cluster.set_scenario``).
Without the Slurm packages the module skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.slurm.cluster import Cluster, missing_tools

INTERVAL = 2  # HealthCheckInterval, seconds
# No torch on the nodes (this CPU torch would fail every healthy GPU node); NVML's timeout is
# what a hung nvmlInit costs.
HEALTH_ARGS = "--no-torch --timeout 3 --deadline 20"
# Time for a change to show: the next run starts within an interval and takes a few seconds.
SETTLE = 4 * INTERVAL + 10

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def cluster(fake_nvml_dir):
    missing = missing_tools()
    reason = None
    if missing:
        reason = f"Slurm is not installed here (missing {', '.join(missing)})"
    elif os.geteuid() != 0:
        reason = "a Slurm test cluster needs root (munge runs as its own user)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    with Cluster(3, HEALTH_ARGS, INTERVAL, fake_nvml_dir) as c:
        c.wait_for(lambda: all(_state(c, n) == "IDLE" for n in c.names), 30, "cluster up")
        yield c
    # Nothing of the cluster may outlive it.
    left = subprocess.run(["pgrep", "-f", str(c.dir)], capture_output=True, text=True).stdout
    assert left == "", f"processes left behind: {left}"


@pytest.fixture
def healthy(cluster):
    """Every node healthy and idle, no drain, before the test."""
    for name in cluster.names:
        cluster.set_scenario(name, "one_h100_r580")
        if "DRAIN" in cluster.node(name).get("State", ""):
            cluster.run("scontrol", "update", f"nodename={name}", "state=resume")
    cluster.wait_for(
        lambda: all(_state(cluster, n) == "IDLE" for n in cluster.names), SETTLE, "all idle"
    )
    return cluster


def _state(cluster: Cluster, name: str) -> str:
    return cluster.node(name).get("State", "")


def _reason(cluster: Cluster, name: str) -> str:
    return cluster.node(name).get("Reason", "")


def _runs_since(cluster: Cluster, mark: int, node: str) -> list[str]:
    lines = cluster.log.read_text().splitlines()[mark:] if cluster.log.exists() else []
    return [line for line in lines if f" node={node} " in line]


def _log_mark(cluster: Cluster) -> int:
    return len(cluster.log.read_text().splitlines()) if cluster.log.exists() else 0


def test_broken_nodes_drain_themselves_with_the_failing_check(healthy):
    c = healthy
    c.set_scenario("n2", "gpu_lost")
    c.set_scenario("n3", "driver_library_mismatch")
    c.wait_for(lambda: all("DRAIN" in _state(c, n) for n in ("n2", "n3")), SETTLE, "n2, n3 drained")
    for name in ("n2", "n3"):
        reason = _reason(c, name)
        assert reason.startswith("envcheck: driver."), reason
        assert len(reason.encode()) <= 80
    assert "library" in _reason(c, "n3").lower()  # the mismatch is named, not just "no driver"
    assert _state(c, "n1") == "IDLE" and _reason(c, "n1") == ""
    # `sinfo -R` lists exactly the drained nodes with our reasons.
    listed = c.run("sinfo", "-R", "-h", "-o", "%N|%E").stdout.splitlines()
    assert sorted(line.split("|")[0] for line in listed) == ["n2", "n3"], listed


def test_a_repaired_node_is_resumed(healthy):
    c = healthy
    c.set_scenario("n2", "gpu_lost")
    c.wait_for(lambda: "DRAIN" in _state(c, "n2"), SETTLE, "n2 drained")
    c.set_scenario("n2", "one_h100_r580")
    c.wait_for(lambda: _state(c, "n2") == "IDLE", SETTLE, "n2 resumed")
    assert _reason(c, "n2") == ""


def test_an_admins_drain_is_left_alone_healthy_or_not(healthy):
    c = healthy
    c.set_scenario("n3", "gpu_lost")
    for name, why in (("n1", "maintenance: reseat GPU 3"), ("n3", "RMA ticket 42")):
        c.run("scontrol", "update", f"nodename={name}", "state=drain", f"reason={why}")
    mark = _log_mark(c)
    c.wait_for(
        lambda: len(_runs_since(c, mark, "n1")) >= 2 and len(_runs_since(c, mark, "n3")) >= 2,
        SETTLE,
        "two health runs on n1 and n3",
    )
    assert "DRAIN" in _state(c, "n1") and _reason(c, "n1") == "maintenance: reseat GPU 3"
    assert "DRAIN" in _state(c, "n3") and _reason(c, "n3") == "RMA ticket 42"
    assert all("action=none" in line for line in _runs_since(c, mark, "n1"))
    assert any("left to whoever set: RMA ticket 42" in line for line in _runs_since(c, mark, "n3"))


def test_overlapping_runs_do_not_pile_up(healthy):
    """A hung nvmlInit makes each run last longer than the interval: slurmd starts the next
    one anyway, and it must leave at once."""
    c = healthy
    mark = _log_mark(c)
    c.set_scenario("n1", "hang_init")
    c.wait_for(lambda: "DRAIN" in _state(c, "n1"), SETTLE, "n1 drained for its hung driver")
    c.wait_for(
        lambda: any("skipped" in line for line in _runs_since(c, mark, "n1")),
        SETTLE,
        "an overlapping run skipped",
    )
    assert _reason(c, "n1").startswith("envcheck: driver.")
    running = subprocess.run(
        ["pgrep", "-fc", "slurm health"], capture_output=True, text=True
    ).stdout.strip()
    assert int(running or 0) <= len(c.names)  # at most one run per node at any time


def test_slurm_run_gathers_the_fleet_table(healthy, tmp_path):
    c = healthy
    c.set_scenario("n3", "gpu_lost")
    c.wait_for(lambda: "DRAIN" in _state(c, "n3"), SETTLE, "n3 drained")
    proc = _slurm_run(c, tmp_path)
    assert proc.returncode == 1, proc.stderr
    fleet = json.loads(proc.stdout)
    rows = {n["name"]: n for n in fleet["nodes"]}
    assert sorted(rows) == ["n1", "n2", "n3"]
    assert rows["n1"]["ready"] is True and rows["n2"]["ready"] is True
    assert rows["n3"]["error"].startswith("not available to jobs: drained (envcheck: driver.")
    assert "n3" in proc.stderr  # the human table
    assert list(tmp_path.iterdir()) == []  # the default report folder (in the cwd) is gone


def test_slurm_run_names_a_node_that_does_not_answer_in_time(healthy, tmp_path):
    c = healthy
    reports = tmp_path / "reports"
    reports.mkdir()
    # A ready report of n2 from an earlier run must not stand in for this run's silence.
    first = _slurm_run(c, tmp_path, "--dir", str(reports))
    assert first.returncode == 0 and (reports / "n2.json").exists(), first.stderr
    c.set_scenario("n2", "hang_init")  # its NVML probe hangs for the whole --timeout 60
    proc = _slurm_run(
        c, tmp_path, "--dir", str(reports), "--deadline", "8", args="--no-torch --timeout 60"
    )
    assert proc.returncode == 1, proc.stderr
    rows = {n["name"]: n for n in json.loads(proc.stdout)["nodes"]}
    assert rows["n2"]["error"] == "no report within 8 s"
    assert rows["n1"]["ready"] is True and rows["n3"]["ready"] is True
    # The job was cancelled at the deadline.
    c.wait_for(lambda: c.run("squeue", "-h").stdout.strip() == "", 15, "no job left")


def test_the_srun_task_quotes_a_folder_with_shell_syntax(tmp_path):
    """The task is a `sh -c` string: a folder named like a command substitution stays a name."""
    from envcheck.slurm.gather import srun_command

    folder = tmp_path / 'r$(touch INJECTED)`touch INJECTED2`"x'
    folder.mkdir()
    cmd = srun_command(["n1"], folder, "echo", ["--no-torch"], None, 10, "job", [])
    assert cmd[-3:-1] == ["sh", "-c"]
    subprocess.run(
        ["sh", "-c", cmd[-1]], cwd=tmp_path, env={"SLURMD_NODENAME": "n1", "PATH": "/bin:/usr/bin"},
        check=True, timeout=10,
    )  # fmt: skip
    assert (folder / "n1.json").read_text() == "--json --no-torch\n"
    assert not list(tmp_path.glob("INJECTED*"))


def _slurm_run(c: Cluster, cwd, *options: str, args: str = "--no-torch"):
    return subprocess.run(
        [sys.executable, "-m", "envcheck", "slurm", "run", "--json",
         "--envcheck", str(c.task_script), "--args", args, *options],
        env=c.env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_health_check_without_a_node_name_is_bad_usage():
    env = {k: v for k, v in os.environ.items() if k != "SLURMD_NODENAME"}
    proc = subprocess.run(
        [sys.executable, "-m", "envcheck", "slurm", "health", "--no-torch"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "Error: no node name: pass --node, or run as slurmd's HealthCheckProgram"
    )


def test_second_run_while_the_lock_is_held_exits_at_once(tmp_path):
    import fcntl

    lock = tmp_path / "n9.lock"
    log = tmp_path / "health.log"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        proc = subprocess.run(
            [sys.executable, "-m", "envcheck", "slurm", "health", "--node", "n9",
             "--lock", str(lock), "--log", str(log), "--no-drain"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    # It probed nothing: no verdict, only the skip in the log.
    assert proc.returncode == 0 and proc.stdout == ""
    (line,) = log.read_text().splitlines()
    assert line.endswith(f"node=n9 skipped: the previous run still holds {lock}")


@pytest.mark.parametrize(
    "summary",
    ['NVML says "GPU is lost"\nreboot', "é" * 200, "x\x1b]0;title\x07y"],
    ids=["quotes-newline", "long-multibyte", "escape"],
)
def test_drain_reason_is_one_short_printable_line_slurm_can_store(h200_facts, summary):
    """scontrol cuts a reason at a double quote, sinfo shows one line: neither may get through."""
    import dataclasses

    from envcheck import expect
    from envcheck.report import judge, short_reason

    report = judge(h200_facts, expect.Expectations(gpu_count=9))
    (first,) = [c for c in report.checks if c.status == "fail"]
    report = dataclasses.replace(report, checks=[dataclasses.replace(first, summary=summary)])
    reason = short_reason(report, 80)
    assert reason.startswith(f"envcheck: {first.id}: ")
    assert len(reason.encode()) <= 80 and reason.isprintable() and '"' not in reason
    reason.encode().decode()  # never half a multi-byte character


def test_decide_never_touches_a_drain_that_is_not_ours():
    from envcheck.slurm.healthcheck import decide
    from envcheck.slurm.nodes import NodeState

    admin = NodeState("n1", "IDLE+DRAIN", "maintenance")
    ours = NodeState("n1", "IDLE+DRAIN", "envcheck: driver.present: no GPU")
    idle = NodeState("n1", "IDLE", None)
    reason = "envcheck: gpu.lost: GPU 0 fell off the bus"
    down = NodeState("n1", "DOWN+DRAIN", "envcheck: driver.present: no GPU")
    admin_down = NodeState("n1", "DOWN", "RMA ticket 42")
    assert decide(True, "", down).kind == "none"  # Slurm's DOWN is not ours to lift
    assert decide(False, reason, admin_down).kind == "none"  # a reason of someone else's
    assert decide(True, "", admin).kind == "none"
    assert decide(False, reason, admin).kind == "none"
    assert decide(True, "", ours).kind == "resume"
    assert decide(False, reason, ours).kind == "drain"  # a new reason replaces ours
    assert decide(False, ours.reason, ours).kind == "none"  # the same: nothing to do
    assert decide(False, reason, idle).kind == "drain"
    assert decide(True, "", idle).kind == "none"


def test_a_crash_in_the_health_check_is_one_line_exit_2_and_logged(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from envcheck import health
    from envcheck.cli import main

    def broken(*args):
        raise RuntimeError("a bug\nwith a second line")

    monkeypatch.setattr(health, "judge_within", broken)
    log = tmp_path / "health.log"
    args = ["slurm", "health", "--node", "n9", "--lock", str(tmp_path / "n9.lock"),
            "--log", str(log), "--no-drain"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.output == "envcheck: envcheck failed: RuntimeError: a bug with a second line\n"
    (line,) = log.read_text().splitlines()
    assert line.endswith("node=n9 no verdict: " + result.output.strip())


def test_slurm_run_refuses_a_command_where_srun_options_belong():
    proc = subprocess.run(
        [sys.executable, "-m", "envcheck", "slurm", "run", "hostname"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr == "Error: unexpected argument 'hostname': srun options go after --\n"
