from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["tests.fakenvml.plugin"]

ROOT = Path(__file__).resolve().parent.parent
# shared/ lies beside the checkout (and beside CI's clone).
SHARED = ROOT.parent / "shared"


def run_envcheck(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a child process, as a user runs it (from ``cwd``: the tests' own by
    default)."""
    return subprocess.run(
        [sys.executable, "-m", "envcheck", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )


@pytest.fixture
def h200_facts():
    from envcheck.report import load_facts

    return load_facts(ROOT / "tests" / "data" / "h200-facts.json")
