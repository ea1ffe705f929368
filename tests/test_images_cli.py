"""`envcheck images` where no engine is needed: the pins list, bad usage, an unreachable engine."""

from __future__ import annotations

import json
import os

import pytest

from envcheck.images import pins
from tests.conftest import run_envcheck


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


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["build", "cu999-runtime"], "no image 'cu999-runtime'"),
        (["build"], "name at least one image"),
        (["run", "cu130-runtime", "--gpus", "none", "--per-gpu"], "--per-gpu needs GPUs"),
    ],
)
def test_bad_usage_is_exit_2(args, words):
    proc = run_envcheck("images", *args, env={**os.environ, "DOCKER_HOST": "unix:///nonexistent"})
    assert proc.returncode == 2 and words in proc.stderr
