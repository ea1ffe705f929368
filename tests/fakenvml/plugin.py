"""pytest fixtures for the fake NVML library.

Registered from tests/conftest.py with ``pytest_plugins = ["tests.fakenvml.plugin"]``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from . import SCENARIOS, build, env_for, write_config


@pytest.fixture(scope="session")
def fake_nvml_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the freshly compiled libnvidia-ml.so.1 (built once a session)."""
    lib = build(tmp_path_factory.mktemp("fakenvml"))
    return lib.parent


@pytest.fixture
def fake_nvml(
    fake_nvml_dir: Path, tmp_path: Path
) -> Callable[[str | Mapping[str, str]], dict[str, str]]:
    """Factory: ``fake_nvml("one_h100_r580")`` or ``fake_nvml({...})`` returns a full
    environment (``os.environ`` plus LD_LIBRARY_PATH and FAKE_NVML_CONFIG) for a
    subprocess whose pynvml should see that scenario."""
    counter = itertools.count()

    def make(scenario: str | Mapping[str, str]) -> dict[str, str]:
        if isinstance(scenario, str):
            if scenario not in SCENARIOS:
                raise KeyError(
                    f"unknown fake NVML scenario {scenario!r}; known: {sorted(SCENARIOS)}"
                )
            config: Mapping[str, str] = SCENARIOS[scenario]
            name = scenario
        else:
            config = scenario
            name = "custom"
        path = write_config(tmp_path / f"fake_nvml_{next(counter)}_{name}.conf", config)
        return {**os.environ, **env_for(fake_nvml_dir, path)}

    return make
