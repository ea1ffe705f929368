"""What every workload's output shares: the JSON text, number cells, the machine line and the
verdict. Reads result JSON only; computes nothing new."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text


def dumps(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, sort_keys=False) + "\n"


def num(value: float | None, fmt: str) -> str:
    """A table cell: the number in ``fmt``, or a dash where there is none."""
    return "—" if value is None else format(value, fmt)


def device_label(result: dict[str, Any]) -> str:
    """Where the device rows ran: ``cuda (NVIDIA H200)``, or ``cpu``."""
    gpu = (result.get("machine") or {}).get("gpu_name")
    device = (result.get("options") or {}).get("resolved_device")
    return f"{device} ({gpu})" if gpu else str(device)


def machine_label(result: dict[str, Any]) -> str:
    """The device, the CPU and the pinned thread count: what a reader needs to compare runs."""
    machine = result.get("machine") or {}
    threads = (machine.get("threads") or {}).get("torch_intraop")
    return f"{device_label(result)}, {machine.get('cpu_model')}, {threads} threads"


def validation_lines(result: dict[str, Any]) -> list[Text]:
    validation = result["validation"]
    if validation["passed"]:
        return [Text("✓ validation passed", style="green")]
    lines = [Text("✗ validation failed", style="red bold")]
    lines += [Text(f"  ✗ {line}", style="red") for line in validation["failures"]]
    return lines
