"""Running the CLI the way envcheck will: ``python -m workloads ...`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workloads", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1"},
    )
