"""envcheck.pyz (`make dist`): the checker in one file, run by a bare Python outside any venv.

It must give what the installed CLI gives: the same checks, verdict and exit code. Its probes run
in child processes that import envcheck from the archive (-I ignores PYTHONPATH), and the torch
probe, a script run by path, is a file inside the zip: both are exercised here, from an empty
directory, so that nothing can come from the checkout instead.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from envcheck import __version__
from envcheck.schema import FILES
from tests.conftest import ROOT, run_envcheck

CLEAN_ENV = {"PATH": "/usr/bin:/bin"}  # what `env -i PATH=/usr/bin:/bin` leaves


def build_pyz(folder: Path) -> Path:
    """tools/build_pyz.py into ``folder``; skips where pip reaches no index (fails under CI)."""
    out = folder / "envcheck.pyz"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_pyz.py"), "--output", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        reason = f"cannot build envcheck.pyz: {proc.stderr.strip()[-500:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return out


def _runs(python: str) -> bool:
    try:
        proc = subprocess.run(
            [python, "-c", "import sys; sys.exit(sys.version_info < (3, 10))"],
            env=CLEAN_ENV, capture_output=True, timeout=30, check=False,
        )  # fmt: skip
    except OSError:
        return False
    return proc.returncode == 0


def bare_python() -> str:
    """The system's python3, outside the venv; this interpreter's base one where there is none."""
    for candidate in ("/usr/bin/python3", getattr(sys, "_base_executable", "")):
        if candidate and _runs(candidate):
            return candidate
    pytest.skip("no Python >= 3.10 outside the venv")


def oldest_python() -> str | None:
    """A Python 3.10 (the oldest supported, where the archive's backports are imported)."""
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates = [
        shutil.which("python3.10") or "",
        *sorted(glob.glob(os.path.join(pyenv, "versions", "3.10*", "bin", "python3"))),
    ]
    return next((c for c in candidates if c and _runs(c)), None)


@pytest.fixture(scope="module")
def pyz(tmp_path_factory) -> Path:
    return build_pyz(tmp_path_factory.mktemp("dist"))


def run_pyz(python: str, pyz: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, str(pyz), *args],
        env=CLEAN_ENV, cwd=cwd, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def _assert_probes_ran(facts: dict, torch: str) -> None:
    runs = {p["name"]: p for p in facts["probes"]}
    assert set(runs) == {"nvml", "torch", "nvcc", "container", "docker"}
    # The NVML child started and imported pynvml from the archive (no driver here is recorded
    # inside the facts, not as a failed run); the Docker SDK is not in the archive: it says so.
    assert runs["nvml"]["status"] == "ok", runs["nvml"]
    assert runs["torch"]["status"] == torch, runs["torch"]
    assert runs["docker"]["status"] in ("ok", "error"), runs["docker"]
    for run in runs.values():
        assert "crashed" not in (run["detail"] or ""), run


def test_report_and_exit_code_are_the_installed_clis(pyz, tmp_path):
    python = bare_python()
    proc = run_pyz(python, pyz, "--json", "--no-torch", cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    jsonschema.validate(report, json.loads(FILES["report"].read_text()))
    assert report["schema"] == "envcheck.report/2"
    _assert_probes_ran(report["facts"], torch="skipped")

    installed = run_envcheck("--json", "--no-torch", env=CLEAN_ENV, cwd=tmp_path)
    assert proc.returncode == installed.returncode
    assert proc.returncode == (0 if report["verdict"]["ready"] else 1)
    # The same rules over the same facts: the installed CLI judging the archive's facts agrees
    # check by check (judging saved facts adds checks of its own, e.g. torch.install).
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(report["facts"]))
    judged = run_envcheck("judge", "--json", str(facts), cwd=tmp_path)
    assert judged.returncode == proc.returncode
    judged_checks = json.loads(judged.stdout)["checks"]
    assert [c for c in report["checks"] if c not in judged_checks] == []


def test_torch_probe_runs_from_inside_the_archive(pyz, tmp_path):
    """The torch probe is a script run by path in the user's interpreter: from a zip, a copy."""
    pytest.importorskip("torch")
    proc = run_pyz(
        bare_python(), pyz, "--json", "--no-smoke", "--python", sys.executable, cwd=tmp_path
    )
    assert "Traceback" not in proc.stderr
    facts = json.loads(proc.stdout)["facts"]
    _assert_probes_ran(facts, torch="ok")
    import torch

    assert facts["torch"]["version"] == torch.__version__
    assert facts["torch"]["python"] == sys.executable


def test_oldest_supported_python_runs_it(pyz, tmp_path):
    python = oldest_python()
    if python is None:
        pytest.skip("no Python 3.10 on this machine")
    proc = run_pyz(python, pyz, "--json", "--no-torch", cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1)
    _assert_probes_ran(json.loads(proc.stdout)["facts"], torch="skipped")


def test_judge_of_the_h200_facts_is_ready(pyz, tmp_path):
    proc = run_pyz(
        bare_python(), pyz, "judge", str(ROOT / "tests/data/h200-facts.json"), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_version_is_the_packages(pyz, tmp_path):
    proc = run_pyz(bare_python(), pyz, "--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == f"envcheck, version {__version__}\n"
    assert proc.stdout == run_envcheck("--version").stdout


def test_archive_holds_no_torch_no_docker_sdk_no_workloads_no_caches(pyz):
    import zipfile

    names = zipfile.ZipFile(pyz).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {"envcheck", "click", "rich", "pynvml.py", "tomli", "__main__.py"} <= tops
    assert not tops & {"torch", "docker", "workloads", "bin", "example.py"}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert {"envcheck/data/compat.toml", "envcheck/schemas/report-2.json"} <= set(names)
