"""``workloads train`` in-process through click's runner: the real command, without paying for a
fresh interpreter (and a fresh torch import) per case. The subprocess tests prove the rest."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from workloads.cli import main


def invoke(*args: str) -> Result:
    result = CliRunner(env={"NO_COLOR": "1"}).invoke(main, ["train", *args])
    # Anything but a clean exit is a crash the user would see as a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def error_lines(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


def run_json(tmp_path: Path, *args: str) -> tuple[Result, dict]:
    out = tmp_path / "train.json"
    result = invoke(*args, "--json", str(out))
    assert out.exists(), result.output
    return result, json.loads(out.read_text(encoding="utf-8"))
