"""torch.install, and finding the torch the user really runs when envcheck's own interpreter (a
core install) has none: the active virtualenv, the active conda environment, python3 on PATH."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from envcheck.checks import PASS, SKIP, WARN
from envcheck.checks.torch_build import CPU_WHEEL
from envcheck.facts import ErrorKind, Facts, Torch
from tests.conftest import ROOT
from tests.test_rules import result

NOT_INSTALLED = Torch(
    python="/opt/core/bin/python",
    error="torch is not importable: No module named 'torch'",
    error_kind=ErrorKind.NOT_INSTALLED,
    searched=["PATH: /usr/bin/python3"],
)


def without_torch(facts: Facts, **changes) -> Facts:
    return dataclasses.replace(facts, torch=NOT_INSTALLED, **changes)


def test_torch_install_on_h200_without_torch_names_the_cu130_build(h200_facts):
    found = result(without_torch(h200_facts), "torch.install")
    assert found.status == WARN
    assert "/opt/core/bin/python" in found.summary and "/usr/bin/python3" in found.summary
    # The same build the gpu.arch remedy names for an H200 on driver 580 (CUDA 13.0).
    assert found.remedy.commands
    command = found.remedy.commands[0]
    assert command.startswith("pip install torch==") and command.endswith("/whl/cu130")
    assert "cu130" in found.remedy.text


def test_torch_install_suggests_the_build_gpu_arch_would(h200_facts):
    from envcheck.checks.torch_build import _suggestion

    facts = without_torch(h200_facts)
    assert result(facts, "torch.install").remedy.commands == tuple(_suggestion(facts)[1])


def test_torch_install_without_gpu_recommends_the_cpu_wheel(h200_facts):
    found = result(without_torch(h200_facts, gpus=[]), "torch.install")
    assert found.status == WARN
    assert found.remedy.commands == (CPU_WHEEL,)
    assert "no GPU" in found.summary


def test_torch_install_passes_when_torch_is_there(h200_facts):
    facts = dataclasses.replace(
        h200_facts,
        torch=dataclasses.replace(h200_facts.torch, python="/env/bin/python", found_via="PATH"),
    )
    found = result(facts, "torch.install")
    assert found.status == PASS
    assert "2.11.0+cu130" in found.summary and "found via PATH" in found.summary


def test_torch_install_skips_when_torch_was_not_probed():
    assert result(Facts(), "torch.install").status == SKIP


# --- discovery, with real interpreters ----------------------------------------------------

# The tests' own interpreter: a venv with (CPU) torch, as a user's training environment.
TORCH_PYTHON = os.path.join(sys.prefix, "bin", "python")
needs_torch = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or sys.prefix == sys.base_prefix,
    reason="needs the tests to run from a virtualenv that has torch",
)


@pytest.fixture(scope="module")
def core_python(tmp_path_factory) -> Path:
    """A venv without torch that runs envcheck: a core install (`make gpu-check`). Its packages
    are the tests' own, torch left out."""
    root = tmp_path_factory.mktemp("core")
    venv = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    shim = root / "packages"
    shim.mkdir()
    own = Path(importlib.util.find_spec("click").origin).parent.parent
    for entry in own.iterdir():
        name = entry.name.lower()
        if name.startswith(("torch", "functorch", "__editable__", "gpu_envkit")) or (
            name.endswith(".pth")
        ):
            continue
        (shim / entry.name).symlink_to(entry)
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "core.pth").write_text(f"{ROOT}\n{shim}\n")
    python = venv / "bin" / "python"
    probe = "import importlib.util; print(importlib.util.find_spec('torch') is None)"
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr
    return python


def run_core(core_python: Path, env: dict[str, str]) -> dict:
    # From a folder of its own: the checkout's folder would put `envcheck/` on the path anyway.
    out = subprocess.run(
        [str(core_python), "-m", "envcheck", "--json", "--no-smoke", "--timeout", "10"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        cwd=core_python.parent,
    )
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def bare_env(core_python: Path, **extra: str) -> dict[str, str]:
    """No VIRTUAL_ENV or CONDA_PREFIX; PATH holds only the core venv (python3 there is envcheck's
    own interpreter, so it is never a candidate)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "PYTHONHOME", "PATH")
    }
    return {**env, "PATH": str(core_python.parent), **extra}


def checks(report: dict) -> dict[str, dict]:
    return {c["id"]: c for c in report["checks"]}


@needs_torch
def test_core_install_judges_the_torch_of_the_active_virtualenv(core_python):
    report = run_core(core_python, bare_env(core_python, VIRTUAL_ENV=sys.prefix))
    torch = report["facts"]["torch"]
    assert torch["python"] == TORCH_PYTHON
    assert torch["found_via"] == "VIRTUAL_ENV"
    assert torch["version"].split("+")[0] == importlib.metadata.version("torch").split("+")[0]
    assert torch["searched"] == [f"VIRTUAL_ENV: {TORCH_PYTHON}"]
    found = checks(report)
    assert found["torch.install"]["status"] == PASS
    assert "found via VIRTUAL_ENV" in found["torch.install"]["summary"]
    assert found["torch.import"]["status"] == PASS


@needs_torch
def test_core_install_judges_conda_prefix_after_virtualenv(core_python):
    env = bare_env(core_python, VIRTUAL_ENV=str(core_python.parent.parent), CONDA_PREFIX=sys.prefix)
    torch = run_core(core_python, env)["facts"]["torch"]
    # VIRTUAL_ENV is envcheck's own venv here: not a candidate.
    assert (torch["python"], torch["found_via"]) == (TORCH_PYTHON, "CONDA_PREFIX")


def test_core_install_without_torch_anywhere_recommends_an_install(core_python):
    report = run_core(core_python, bare_env(core_python))
    torch = report["facts"]["torch"]
    assert torch["error_kind"] == ErrorKind.NOT_INSTALLED
    assert torch["python"] == str(core_python)
    assert torch["found_via"] == "envcheck" and torch["searched"] == []
    found = checks(report)["torch.install"]
    assert found["status"] == WARN
    assert found["remedy"]["commands"][0].startswith("pip install torch")
    if not report["facts"]["gpus"]:
        assert found["remedy"]["commands"] == [CPU_WHEEL]
