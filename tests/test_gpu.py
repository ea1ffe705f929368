"""On a real NVIDIA GPU machine: the real driver, real torch, the real smoke test.

Skipped without a GPU (CI has none); run on a lent GPU machine with `pytest -m gpu`.
"""

from __future__ import annotations

import glob
import json

import pytest

from tests.conftest import run_envcheck

pytestmark = pytest.mark.gpu

if not glob.glob("/dev/nvidia[0-9]*"):
    pytest.skip("no NVIDIA GPU device node here", allow_module_level=True)


def test_real_gpu_machine_reads_every_gpu_and_passes_the_smoke_test():
    proc = run_envcheck("--json", timeout=300)
    report = json.loads(proc.stdout)
    facts = report["facts"]
    checks = {c["id"]: c for c in report["checks"]}
    assert facts["driver"]["version"] and facts["driver"]["cuda"]
    assert facts["gpus"] and all(g["compute_capability"] for g in facts["gpus"])
    assert checks["driver.present"]["status"] == "pass", checks["driver.present"]
    torch = facts["torch"]
    if torch["cuda"] is None:
        pytest.skip("torch here is a CPU build: nothing more to prove on the GPU")
    assert torch["cuda_available"] and torch["device_count"] >= 1
    assert checks["gpu.smoke"]["status"] == "pass", checks["gpu.smoke"]
    # the driver's libcuda is mapped once CUDA is initialised, and none of the libraries is a stub
    assert "cuda" in {lib["kind"] for lib in torch["loaded_libraries"]}
    assert checks["torch.libraries"]["status"] == "pass", checks["torch.libraries"]
