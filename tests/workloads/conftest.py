"""Shared fixtures: one real CLI run at x1 (CPU, 20 epochs) that several tests read."""

from __future__ import annotations

import json

import pytest

from tests.workloads.cli_run import run_cli
from workloads.digits.data import load_digits_split


@pytest.fixture(scope="session")
def digits():
    return load_digits_split()


@pytest.fixture(scope="session")
def x1_run(tmp_path_factory):
    """Every model at x1 with the issue's 20 epochs, one repeat, on the CPU."""
    out = tmp_path_factory.mktemp("x1") / "digits.json"
    proc = run_cli(
        "digits", "--scales", "1", "--repeats", "1", "--device", "cpu", "--json", str(out)
    )
    return proc, json.loads(out.read_text(encoding="utf-8"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "vision: reads data through torchvision; runs where torchvision imports (.venv-vision: "
        "torch==2.14.1 + torchvision==0.29.1), skipped elsewhere",
    )
