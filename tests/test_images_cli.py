"""`envcheck images` where no engine is needed: the pins list, bad usage, an unreachable engine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from envcheck.containers import ContainerResult
from envcheck.expect import Expectations
from envcheck.facts import Facts
from envcheck.images import pins
from envcheck.images.cli import RunVerdict
from envcheck.report import judge
from tests.conftest import ROOT, run_envcheck


def test_list_shows_every_pin_with_its_base():
    proc = run_envcheck("images", "list", "--json")
    rows = json.loads(proc.stdout)
    assert [r["name"] for r in rows] == [p.name for p in pins.load()[0]]
    assert {r["name"] for r in rows if r["default"]} == set(pins.load()[1])


@pytest.mark.parametrize("args", [["run", "cu130-runtime"], ["build", "cu130-runtime"]])
def test_unreachable_engine_is_one_line_with_the_remedy(tmp_path, args):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/dead.sock"}
    proc = run_envcheck("images", *args, env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: cannot reach the Docker engine at unix://")
    assert "dead.sock: nothing is listening there" in proc.stderr
    assert "fix: sudo systemctl start docker" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_run_json_on_an_unreachable_engine_is_still_a_document(tmp_path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/dead.sock"}
    proc = run_envcheck("images", "run", "cu130-runtime", "--json", env=env)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "envcheck.images-run/1" and doc["containers"] == []
    assert doc["host"] is None  # the engine failed before the host was probed
    assert doc["verdict"]["ready"] is False and doc["verdict"]["not_ready"] == ["engine"]
    assert doc["error"]["kind"] == "not_running"
    assert "dead.sock" in doc["error"]["message"]
    assert "sudo systemctl start docker" in doc["error"]["remedy"]
    assert only_error_line(proc).startswith("Error: cannot reach the Docker engine")


def test_the_docker_host_hint_only_where_docker_host_sent_us(monkeypatch):
    from envcheck.engine import DEFAULT_HOST, DOCKER_HOST_HINT, remedy

    assert DOCKER_HOST_HINT not in remedy("not_running", host=DEFAULT_HOST)[1]
    assert DOCKER_HOST_HINT in remedy("not_running", host="unix:///tmp/other.sock")[1]
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert DOCKER_HOST_HINT not in remedy("not_running")[1]
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    assert DOCKER_HOST_HINT in remedy("not_running")[1]


def wheels(folder, *names: str):
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")  # only the name is read before a build
    return folder


@pytest.mark.parametrize(
    ("image", "extra", "files", "missing"),
    [
        ("cu130-runtime", [], [], "torch==2.14.1+cu130, torchvision==0.29.1+cu130"),
        # PyPI's plain 2.14.1 wheels are the cu130 build: not the cu126 one.
        ("cu126-runtime", [], ["torch-2.14.1-cp312-cp312-manylinux_2_28_x86_64.whl"],
         "torch==2.14.1+cu126, torchvision==0.29.1+cu126"),
        ("cu130-runtime", ["--torch", "2.13.0+cpu"],
         ["torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl",
          "torchvision-0.28.0-cp311-cp311-manylinux_2_28_x86_64.whl"],
         "torchvision==0.28.0+cpu"),
    ],
)  # fmt: skip
def test_a_wheelhouse_without_the_pinned_torch_is_refused_before_building(
    tmp_path, image, extra, files, missing
):
    house = wheels(tmp_path / "wheels", *files)
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/dead.sock"}  # never reached
    proc = run_envcheck("images", "build", image, *extra, "--wheelhouse", str(house), env=env)
    assert proc.returncode == 2
    line = only_error_line(proc)
    assert f"has no wheel of {missing} (" in line
    assert f"fetch it with: pip download -d {house} torch==" in line
    assert "--index-url https://download.pytorch.org/whl/" in line


def test_a_wheelhouse_with_the_pinned_wheels_goes_on_to_the_engine(tmp_path):
    house = wheels(
        tmp_path / "wheels",
        "torch-2.14.1-cp312-cp312-manylinux_2_28_x86_64.whl",
        "torchvision-0.29.1-cp312-cp312-manylinux_2_28_x86_64.whl",
    )
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/dead.sock"}
    proc = run_envcheck("images", "build", "cu130-runtime", "--wheelhouse", str(house), env=env)
    assert proc.returncode == 1 and "cannot reach the Docker engine" in only_error_line(proc)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["build", "cu999-runtime"], "no image 'cu999-runtime'"),
        (["build", "cu130-runtime", "--torch", "2.14"], "expected VERSION+BUILD"),
        (["build"], "name at least one image"),
        (["run", "cu130-runtime", "--gpus", "none", "--per-gpu"], "--per-gpu needs GPUs"),
    ],
)
def test_bad_usage_is_exit_2(args, words):
    proc = run_envcheck("images", *args, env={**os.environ, "DOCKER_HOST": "unix:///nonexistent"})
    assert proc.returncode == 2 and words in proc.stderr


def only_error_line(proc) -> str:
    """The one `Error: ` line of a failed command (usage lines may come before it)."""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return errors[0]


@pytest.mark.parametrize("memory", ["abc", "16q", "-1g", ""])
def test_bad_memory_limit_is_exit_2_before_any_engine_call(memory):
    # The SDK would raise its own exception from deep inside the run; the option says it first.
    proc = run_envcheck("images", "run", "cu130-runtime", "--memory", memory, "--gpus", "none")
    assert proc.returncode == 2
    assert f"'{memory}' is not a size" in only_error_line(proc)


@pytest.mark.parametrize("args", [["list"], ["build", "--default"], ["build", "cu130-runtime"]])
def test_missing_pins_file_is_one_line_exit_2(args):
    proc = run_envcheck("images", *args, "--pins", "/nonexistent.toml")
    assert proc.returncode == 2
    line = only_error_line(proc)
    assert "/nonexistent.toml" in line and "gpu-envkit checkout" in line


def test_installed_package_without_a_checkout_says_where_it_looked(tmp_path):
    # A non-editable install (the images' /opt/venv): no docker/images.toml beside the package.
    site = tmp_path / "site"
    shutil.copytree(ROOT / "envcheck", site / "envcheck")
    env = {**os.environ, "PYTHONPATH": str(site)}
    for args in (["list"], ["build", "--default"]):
        proc = subprocess.run(
            [sys.executable, "-m", "envcheck", "images", *args],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert f"no pins file at {site / 'docker' / 'images.toml'}" in only_error_line(proc)


def test_merged_verdict_needs_the_host_and_every_container(h200_facts):
    ready_host = judge(h200_facts, Expectations())
    bare_host = judge(Facts(), Expectations())  # no driver, no GPU: not ready
    assert ready_host.verdict.ready and not bare_host.verdict.ready
    good = ContainerResult("c0", "none", exit_code=0, report={})
    bad = ContainerResult("c1", "none", exit_code=1, report={})
    assert RunVerdict.of(ready_host, [good]).ready is True
    verdict = RunVerdict.of(bare_host, [good])
    assert verdict.ready is False and verdict.not_ready == ["host"]
    assert verdict.summary.startswith("host NOT ready (driver.present")
    verdict = RunVerdict.of(ready_host, [good, bad])
    assert verdict.ready is False and verdict.not_ready == ["c1"]
    assert verdict.summary == "host ready; 1 of 2 container(s) ready"
