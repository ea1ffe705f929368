"""envcheck's Docker host-readiness checks against the real engine (which has no NVIDIA runtime)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_envcheck

pytestmark = pytest.mark.docker


def test_engine_without_nvidia_runtime_and_a_refused_gpu_container(test_image, no_leftovers):
    proc = run_envcheck("--json", "--no-torch", "--docker-gpu-test", test_image, timeout=180)
    report = json.loads(proc.stdout)
    checks = {c["id"]: c for c in report["checks"]}
    docker = report["facts"]["docker"]
    assert docker["reachable"] is True and docker["server_version"]
    assert "runc" in docker["runtimes"] and "nvidia" not in docker["runtimes"]
    assert checks["docker.engine"]["status"] == "pass"
    assert checks["docker.nvidia_runtime"]["status"] == "warn"
    assert "nvidia-ctk runtime configure" in " ".join(
        checks["docker.nvidia_runtime"]["remedy"]["commands"]
    )
    assert docker["gpu_container_error_kind"] == "no_gpu_runtime"
    gpu = checks["docker.gpu_container"]
    assert gpu["status"] == "fail" and "could not select device driver" in gpu["summary"]
    assert proc.returncode == 1


def test_gpu_test_with_an_image_not_on_the_engine(engine, no_leftovers):
    proc = run_envcheck(
        "--json", "--no-torch", "--docker-gpu-test", "gpu-envkit-test:absent", timeout=180
    )
    report = json.loads(proc.stdout)
    assert report["facts"]["docker"]["gpu_container_error_kind"] == "image_not_found"
    gpu = {c["id"]: c for c in report["checks"]}["docker.gpu_container"]
    assert gpu["status"] == "fail" and "not found" in gpu["summary"]
    assert "docker pull gpu-envkit-test:absent" in gpu["remedy"]["commands"]
