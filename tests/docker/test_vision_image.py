"""The real cu130-runtime pin, built offline as the README documents, runs the seed's data sets.

The README's commands with the substitutions this machine needs, and nothing else changed:
the wheelhouse is filled by `pip download` from the packages this machine's pip reaches (PyPI's
plain torch 2.14.1 wheel is the cu130 build, so the wheelhouse check accepts it), the base is
the local Debian image instead of nvidia/cuda (no registry here), and the container trains on
the CPU (`--device cpu`, no `--gpus`). torch 2.14.1 is a CUDA build: it imports and trains on a
machine without a GPU, which is what lets this test prove torchvision inside the image.

A ~6 GB image: built once for this module and removed after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from envcheck.images import pins
from tests.conftest import run_envcheck
from tests.docker.conftest import dangling
from tests.workloads.datafiles import write_mnist

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PIN = pins.find("cu130-runtime")
TAG = "gpu-envkit-test:cu130-runtime"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cu130_image(engine, base_image):
    images_before = dangling(engine)
    with tempfile.TemporaryDirectory(prefix="envkit-wheels-cu130-") as wheels:
        # The README's two `pip download` lines, without the index this machine cannot reach.
        for packages in (
            [f"torch=={PIN.torch}", f"torchvision=={PIN.torchvision}"],
            [f"{ROOT}[workloads]", "setuptools>=68"],
        ):
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "-q", "-d", wheels, *packages],
                check=True, capture_output=True, timeout=900,
            )  # fmt: skip
        proc = run_envcheck(
            "images", "build", "cu130-runtime", "--wheelhouse", wheels, "--base", base_image,
            "--tag", TAG, "--quiet", timeout=1200,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    try:
        yield TAG
    finally:
        engine.images.remove(TAG, force=True)
    assert dangling(engine) <= images_before  # the build stage and its wheelhouse layer went


def test_the_image_carries_the_torchvision_built_for_its_torch(engine, cu130_image):
    labels = engine.images.get(cu130_image).attrs["Config"]["Labels"]
    assert labels["io.gpu-envkit.torch"] == PIN.torch == "2.14.1"
    assert labels["io.gpu-envkit.torchvision"] == PIN.torchvision == "0.29.1"
    assert (labels["io.gpu-envkit.torch-build"], labels["io.gpu-envkit.cuda"]) == ("cu130", "13.0")
    versions = engine.containers.run(
        cu130_image, entrypoint=["python", "-c", "import torch, torchvision; "
        "print(torch.__version__, torchvision.__version__)"], remove=True,
    )  # fmt: skip
    assert versions.decode().split() == ["2.14.1+cu130", "0.29.1+cu130"]


def test_train_reads_mnist_inside_the_image_as_the_readme_shows(engine, cu130_image):
    # docker run --rm -v "$PWD/data:/data:ro" -e WORKLOADS_DATA_DIR=/data \
    #   --entrypoint /opt/venv/bin/workloads IMAGE train --dataset mnist --device cpu --json -
    with tempfile.TemporaryDirectory(prefix="envkit-data-") as data:
        write_mnist(Path(data))
        for folder, _, files in os.walk(data):  # readable by the image's user (uid 10001)
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(Path(folder, name), 0o644)
        stdout = engine.containers.run(
            cu130_image, ["train", "--dataset", "mnist", "--device", "cpu", "--json", "-"],
            entrypoint=["/opt/venv/bin/workloads"], environment={"WORKLOADS_DATA_DIR": "/data"},
            volumes={data: {"bind": "/data", "mode": "ro"}}, remove=True, stderr=False,
        )  # fmt: skip
    result = json.loads(stdout)
    assert result["dataset"]["reader"] == "torchvision.datasets.MNIST"
    assert result["dataset"]["location"] == "/data/MNIST/raw"
    assert (result["dataset"]["train_rows"], result["dataset"]["test_rows"]) == (200, 100)
    assert result["validation"]["passed"] is True, result["validation"]


def test_the_image_proves_its_own_pins_without_a_gpu(cu130_image):
    proc = run_envcheck(
        "images", "run", cu130_image, "--gpus", "none", "--json", "check", "--no-smoke",
        timeout=300,
    )  # fmt: skip
    (container,) = json.loads(proc.stdout)["containers"]
    checks = {c["id"]: c for c in container["report"]["checks"]}
    assert container["report"]["expectations"]["torch"] == "2.14.1"
    assert checks["expect.torch"]["status"] == "pass"
    assert checks["expect.cuda"]["status"] == "pass"  # torch 2.14.1 was built with CUDA 13.0
    assert checks["driver.present"]["status"] == "fail"  # no GPU given: said, not hidden
