"""Every error path of `envcheck images` against the real engine: one line, exit 1, nothing left."""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import threading
from pathlib import Path

import pytest

from envcheck.containers import RunSpec, run
from envcheck.engine import EngineError
from envcheck.images import build as build_mod
from tests.conftest import run_envcheck
from tests.docker.conftest import BASE, TEST_PIN, TORCH, ctrl_c, envcheck_process

pytestmark = pytest.mark.docker


def one_error_line(proc, *words: str) -> None:
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, proc.stderr
    for word in words:
        assert word in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1


def test_gpus_on_an_engine_without_the_nvidia_runtime(test_image, no_leftovers):
    # The engine creates the container, then refuses it at start (HTTP 500): it must still go.
    proc = run_envcheck(
        "images", "run", test_image, "--gpus", "all", "--json", "check", timeout=120
    )  # fmt: skip
    one_error_line(proc, 'could not select device driver "" with capabilities: [[gpu]]')
    assert "nvidia-ctk runtime configure --runtime=docker" in proc.stderr
    doc = json.loads(proc.stdout)  # --json: a document even though no container ran
    assert doc["containers"] == [] and doc["error"]["kind"] == "no_gpu_runtime"
    driver = next(c for c in doc["host"]["checks"] if c["id"] == "driver.present")
    # A host without a working driver (these test machines) hears about the driver first.
    blames_driver = doc["error"]["message"].startswith("this host's NVIDIA driver is not working")
    assert blames_driver is (driver["status"] == "fail")
    host_ready = doc["host"]["verdict"]["ready"]
    assert doc["verdict"]["not_ready"] == ["engine"] + ([] if host_ready else ["host"])


def test_container_exiting_non_zero_without_a_report(test_image, no_leftovers):
    proc = run_envcheck("images", "run", test_image, "--gpus", "none", "bogus", timeout=120)
    one_error_line(proc, "exited with code 2 without a JSON report", "unknown part 'bogus'")


def test_container_killed_for_memory_through_the_cli(test_image, no_leftovers):
    # Importing torch alone needs far more than 64 MiB.
    proc = run_envcheck(
        "images", "run", test_image, "--gpus", "none", "--memory", "64m", "digits", timeout=120
    )
    one_error_line(proc, "killed for running out of memory (limit 64m)")


def test_memory_limit_the_engine_refuses_is_one_line(test_image, no_leftovers):
    # A valid size, below the engine's minimum: refused at create, by the engine (HTTP 400).
    proc = run_envcheck(
        "images", "run", test_image, "--gpus", "none", "--memory", "1m", "check", timeout=120
    )
    one_error_line(proc, "Minimum memory limit allowed is 6MB")


def test_sdk_errors_come_out_as_engine_errors(engine, test_image, no_leftovers):
    # The SDK parses the limit itself and raises its own DockerException, before any request.
    with pytest.raises(EngineError, match=r"creating gpu-envkit-\w+-none: .*\(abc\)"):
        run(engine, RunSpec(image=test_image, mem_limit="abc"))


def test_first_refused_container_ends_the_run_and_removes_the_others(
    engine, test_image, no_leftovers
):
    # One container sleeps, the other is refused its GPUs at start: the run must end with that
    # error now (not when the sleeper finishes), and the sleeper must go.
    spec = RunSpec(image=test_image, entrypoint=["sleep", "600"], gpus=["none", "all"], timeout=600)
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            run(engine, spec)
            outcome.append(None)
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the run waited for the sleeping container"
    (error,) = outcome
    assert isinstance(error, EngineError) and error.kind == "no_gpu_runtime", error


def test_oom_kill_is_recorded(engine, test_image, no_leftovers):
    spec = RunSpec(
        image=test_image,
        entrypoint=["python3", "-c", "b = b'x' * (512 << 20)"],  # touches every byte
        mem_limit="64m",
        timeout=120,
    )
    (result,) = run(engine, spec)
    assert result.oom_killed and result.exit_code == 137 and not result.ready


def test_image_not_on_the_engine(engine, no_leftovers):
    proc = run_envcheck("images", "run", "gpu-envkit-test:absent", "--gpus", "none")
    one_error_line(proc, "image gpu-envkit-test:absent not found")


def test_a_failed_step_is_one_line_and_leaves_no_image(
    engine, base_image, wheelhouse, no_leftovers
):
    # torch installs (a ~600 MB layer image is committed), then skorch, which only gpu-envkit's
    # workloads need, is nowhere to be found: the build fails one step later, and every layer
    # it committed must go too.
    with tempfile.TemporaryDirectory(prefix="envkit-no-skorch-") as no_skorch:
        for wheel in Path(wheelhouse).iterdir():
            if not wheel.name.startswith("skorch-"):
                os.link(wheel, Path(no_skorch, wheel.name))
        over = build_mod.Overrides(runtime_base=BASE, devel_base=BASE, wheelhouse=Path(no_skorch))
        pin = dataclasses.replace(TEST_PIN, tag="gpu-envkit-test:broken")
        with pytest.raises(
            build_mod.BuildError, match=r'at Step \d+/\d+ \(RUN /opt/venv/bin/pip install "/src'
        ) as failed:
            build_mod.build(engine, pin, over)
    assert "skorch" in str(failed.value) and "\n" not in str(failed.value)


def test_ctrl_c_during_a_build_leaves_nothing(engine, base_image, wheelhouse, no_leftovers):
    with envcheck_process(
        "images", "build", "cu130-runtime", "--torch", f"{TORCH}+cpu", "--no-torchvision",
        "--base", base_image, "--devel-base", base_image, "--wheelhouse", str(wheelhouse),
        "--tag", "gpu-envkit-test:interrupted",
    ) as proc:  # fmt: skip
        seen = []
        for line in proc.stderr:  # the build's progress, streamed
            seen.append(line)
            if "Collecting torch" in line or "Processing /tmp/wheelhouse/torch" in line:
                break  # a step is running inside a container, with layers committed before it
        else:
            pytest.fail("the build ended before the torch step: " + "".join(seen[-5:]))
        ctrl_c(proc, timeout=180)
    assert not engine.images.list(name="gpu-envkit-test:interrupted")


def test_build_with_a_bad_build_argument(engine, base_image, wheelhouse, no_leftovers):
    pin = dataclasses.replace(TEST_PIN, torch="0.0.0-not-a-version", tag="gpu-envkit-test:bad")
    over = build_mod.Overrides(runtime_base=BASE, devel_base=BASE, wheelhouse=Path(wheelhouse))
    with pytest.raises(
        build_mod.BuildError,
        match=r"at Step \d+/\d+ \(RUN .*ERROR: No matching distribution found for torch==0\.0",
    ):
        build_mod.build(engine, pin, over)
