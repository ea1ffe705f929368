"""The terminal table of a digits result (reads the result JSON; computes nothing new)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from workloads.output import machine_label, num


def digits_table(result: dict[str, Any]) -> Table:
    title = f"digits: {machine_label(result)}, median of {result['options'].get('repeats')}"
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
            acc = Text(num(r.get("test_accuracy"), ".4f"))
        table.add_row(
            r["model"],
            r["device"],
            f"{r['rows']:,}",
            num(r.get("fit_s"), ".3f"),
            num(r.get("predict_s"), ".4f"),
            num(r.get("samples_per_s"), ",.0f"),
            acc,
        )
    return table
