"""The shipped Dockerfile, built on a local Debian base with CPU torch, run through the SDK."""

from __future__ import annotations

import json
import os
import time

import jsonschema
import pytest

from envcheck.engine import LABEL
from envcheck.images.build import _git
from envcheck.schema import FILES
from tests.conftest import run_envcheck
from tests.docker.conftest import BASE, TORCH, ctrl_c, envcheck_process, labelled

pytestmark = pytest.mark.docker


def checks_of(report: dict) -> dict[str, dict]:
    return {c["id"]: c for c in report["checks"]}


def test_labels_and_environment_record_the_pins(engine, test_image):
    config = engine.images.get(test_image).attrs["Config"]
    labels = config["Labels"]
    assert labels["io.gpu-envkit.torch"] == TORCH
    assert labels["io.gpu-envkit.torch-build"] == "cpu"
    assert labels["io.gpu-envkit.image"] == f"cu130-runtime (torch {TORCH}+cpu)"
    assert labels["io.gpu-envkit.torchvision"] == ""  # none in this image: none claimed
    assert len(labels["io.gpu-envkit.build-id"]) == 32
    assert labels["org.opencontainers.image.base.name"] == BASE
    assert labels["org.opencontainers.image.revision"] == (_git("rev-parse", "HEAD") or "unknown")
    assert labels["org.opencontainers.image.source"] == _git("remote", "get-url", "origin")
    env = dict(e.split("=", 1) for e in config["Env"])
    assert env["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert env["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    assert env["NVIDIA_REQUIRE_CUDA"] == ""  # CPU torch needs no CUDA from the driver
    assert config["User"] == "10001:10001"  # not root


def test_container_reports_inside_a_container_without_gpu_and_cpu_torch(test_image, no_leftovers):
    proc = run_envcheck(
        "images", "run", test_image, "--gpus", "none", "--json", "all", "--no-smoke",
        timeout=300,
    )  # fmt: skip
    merged = json.loads(proc.stdout)
    assert merged["schema"] == "envcheck.images-run/1"
    assert merged["verdict"]["ready"] is False and proc.returncode == 1
    (container,) = merged["containers"]
    assert container["exit_code"] == 1 and container["error"] is None
    report = container["report"]
    jsonschema.validate(report, json.loads(FILES["report"].read_text()))
    facts, checks = report["facts"], checks_of(report)
    assert facts["container"]["inside"] is True and facts["container"]["runtime"] == "docker"
    assert facts["driver"]["error_kind"] == "library_not_found"
    assert checks["driver.present"]["status"] == "fail"
    assert "in this container" in checks["driver.present"]["summary"]
    assert facts["torch"]["version"] == f"{TORCH}+cpu" and facts["torch"]["cuda"] is None
    assert checks["torch.cuda_build"]["status"] == "skip"
    assert "CPU-only build" in checks["torch.cuda_build"]["summary"]
    assert report["expectations"] == {"torch": TORCH}  # the image's own pins
    assert checks["expect.torch"]["status"] == "pass"
    assert checks["container.shm"]["status"] == "pass"  # the run asks for a large /dev/shm
    assert all(checks[c]["status"] == "skip" for c in ("docker.engine", "docker.gpu_container"))
    digits = checks["workload.digits"]  # `all`: the digits workload ran and validated, on the CPU
    assert digits["status"] == "pass" and "on cpu" in digits["summary"]
    assert "NOT ready" in proc.stderr  # the container's human report, passed on
    # The host's own facts come with it.
    assert merged["host"]["facts"]["container"]["inside"] is False or os.path.exists("/.dockerenv")


def test_digits_part_alone_prints_the_workload_result(test_image, no_leftovers):
    proc = run_envcheck(
        "images", "run", test_image, "--gpus", "none", "--json", "digits", "--scales", "1",
        "--repeats", "1", timeout=300,
    )  # fmt: skip
    merged = json.loads(proc.stdout)
    (container,) = merged["containers"]
    assert container["report"]["schema"] == "workloads.digits/1"
    assert container["report"]["validation"]["passed"] is True
    assert container["exit_code"] == 0 and container["ready"] is True
    # One verdict for host and containers: a ready container on a host that is not ready (one
    # without a GPU, like the test machines) is not ready, and the host is named as the cause.
    host_ready = merged["host"]["verdict"]["ready"]
    assert (
        merged["verdict"]["ready"] is host_ready and merged["verdict"]["host_ready"] is host_ready
    )
    assert proc.returncode == (0 if host_ready else 1)
    if not host_ready:
        assert merged["verdict"]["not_ready"] == ["host"]
        assert "NOT ready: host NOT ready (" in proc.stderr


def test_ctrl_c_removes_the_running_container(engine, test_image, no_leftovers):
    with envcheck_process("images", "run", test_image, "--gpus", "none", "all") as proc:
        deadline = time.monotonic() + 60
        while not any(c.status == "running" for c in labelled(engine)):
            assert time.monotonic() < deadline, "the container never started"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        ctrl_c(proc, timeout=60)


def training(container, deadline_s: float = 120) -> None:
    """Wait until the workload runs under the entry point, then into its fit loop (a fixed
    wait: importing torch and loading digits take seconds, x10 and x100 fits take minutes)."""
    deadline = time.monotonic() + deadline_s
    while not any("workloads" in " ".join(p) for p in container.top()["Processes"]):
        assert time.monotonic() < deadline, "the workload never started"
        time.sleep(0.2)
    time.sleep(10)
    container.reload()
    assert container.status == "running", container.logs()


@pytest.mark.parametrize(("how", "code"), [("stop", 143), ("SIGINT", 130)])
def test_a_running_workload_stops_when_asked(engine, test_image, no_leftovers, how, code):
    # Long enough that only a stop ends it: x10 and x100 with three repeats each.
    container = engine.containers.run(
        test_image, ["digits", "--scales", "10,100", "--repeats", "3"], detach=True,
        labels={LABEL: "test-stop"},
    )  # fmt: skip
    try:
        training(container)
        if how == "stop":
            container.stop(timeout=60)  # SIGTERM; SIGKILL (137) only after 60 s
        else:
            container.kill(signal="SIGINT")  # what Ctrl-C on `docker run` sends
        status = container.wait(timeout=60)
        assert status["StatusCode"] == code
        assert container.logs(stdout=True, stderr=False) == b""  # no half result
        assert f"stopped by {'SIGTERM' if how == 'stop' else how}" in container.logs().decode()
    finally:
        container.remove(force=True)
