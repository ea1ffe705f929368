"""A slow or stuck Docker engine never leaves a container behind: every engine call is bounded,
and the container of the GPU test is removed before the probe's deadline, or on SIGTERM.

The engine is the real one behind ``SlowEngine``, a proxy that holds back chosen requests.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import run_envcheck
from tests.docker.slow_engine import SlowEngine

pytestmark = pytest.mark.docker

START = r"^POST /v[\d.]+/containers/[^/]+/start$"
TIMEOUT = 2.0  # envcheck --timeout: what each engine request may take


def _engine_socket() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")


def _env(slow: SlowEngine) -> dict[str, str]:
    return {**os.environ, "DOCKER_HOST": slow.url}


def _gpu_test(slow: SlowEngine, image: str) -> dict:
    proc = run_envcheck(
        "--json", "--no-torch", "--timeout", str(TIMEOUT), "--docker-gpu-test", image,
        env=_env(slow), timeout=180,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)["facts"]


def _docker_probe(facts: dict) -> dict:
    return next(p for p in facts["probes"] if p["name"] == "docker")


def test_every_request_slow_the_gpu_test_still_ends_and_removes_its_container(
    engine, test_image, no_leftovers
):
    with SlowEngine(_engine_socket(), delay=0.3) as slow:
        facts = _gpu_test(slow, test_image)
    # The engine answered every call, late: the real verdict (no NVIDIA runtime), inside the
    # probe's deadline, and the container that the refused start left in state Created is gone.
    assert facts["docker"]["gpu_container_error_kind"] == "no_gpu_runtime"
    assert _docker_probe(facts)["status"] == "ok"
    assert slow.seen(r"^DELETE /v[\d.]+/containers/")


def test_engine_stuck_on_start_times_out_and_still_removes_the_container(
    engine, test_image, no_leftovers
):
    with SlowEngine(_engine_socket(), [(START, math.inf)]) as slow:
        facts = _gpu_test(slow, test_image)
    docker = facts["docker"]
    assert docker["gpu_container_ok"] is False
    assert docker["gpu_container_error_kind"] == "timeout", docker["gpu_container_error"]
    assert "did not answer in time" in docker["gpu_container_error"]
    # The start was bounded by --timeout, so the removal came inside the probe's own deadline.
    assert _docker_probe(facts)["status"] == "ok"
    assert slow.seen(r"^DELETE /v[\d.]+/containers/")


def test_sigterm_while_the_engine_is_stuck_removes_the_container_and_exits_143(
    engine, test_image, no_leftovers
):
    with SlowEngine(_engine_socket(), [(START, math.inf)], delay=0.1) as slow:
        proc = subprocess.Popen(
            [sys.executable, "-m", "envcheck", "--json", "--no-torch", "--timeout", "30",
             "--docker-gpu-test", test_image],
            env=_env(slow), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not slow.seen(START) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert slow.seen(START), "envcheck never asked the engine to start the container"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=10)
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert "interrupted (SIGTERM)" in err and "Traceback" not in err
    # The probe child, stopped with SIGTERM, removed the container through the slow engine
    # within its grace; no_leftovers checks the real engine.
    assert slow.seen(r"^DELETE /v[\d.]+/containers/")
