"""The terminal table of a digits result (reads the result JSON; computes nothing new)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text


def _num(value: float | None, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def digits_table(result: dict[str, Any]) -> Table:
    machine = result.get("machine") or {}
    gpu = machine.get("gpu_name")
    threads = (machine.get("threads") or {}).get("torch_intraop")
    title = (
        f"digits: {result['options'].get('resolved_device')}"
        f"{f' ({gpu})' if gpu else ''}, {machine.get('cpu_model')}, {threads} threads, "
        f"median of {result['options'].get('repeats')}"
    )
    table = Table(title=title)
    for name, justify in (
        ("model", "left"),
        ("device", "left"),
        ("rows", "right"),
        ("fit s", "right"),
        ("predict s", "right"),
        ("rows/s", "right"),
        ("accuracy", "right"),
    ):
        table.add_column(name, justify=justify)
    for r in result["records"]:
        if r.get("error"):
            acc = Text("error", style="red")
        else:
            acc = Text(_num(r.get("test_accuracy"), ".4f"))
        table.add_row(
            r["model"],
            r["device"],
            f"{r['rows']:,}",
            _num(r.get("fit_s"), ".3f"),
            _num(r.get("predict_s"), ".4f"),
            _num(r.get("samples_per_s"), ",.0f"),
            acc,
        )
    return table


def validation_lines(result: dict[str, Any]) -> list[Text]:
    validation = result["validation"]
    if validation["passed"]:
        return [Text("✓ validation passed", style="green")]
    lines = [Text("✗ validation failed", style="red bold")]
    lines += [Text(f"  ✗ {line}", style="red") for line in validation["failures"]]
    return lines
