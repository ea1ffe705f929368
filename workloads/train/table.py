"""The terminal table of a ``workloads train`` result (reads the JSON; computes nothing new)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from workloads.output import machine_label, num


def _where(r: dict[str, Any]) -> str:
    p = r.get("placement")
    if not p:
        return r["device"]
    if p["where"] == "device":
        return f"{r['device']} resident"
    extra = f" {p['workers']}w" if p["workers"] else ""
    pinned = " pinned" if p["pin_memory"] else ""
    return f"{r['device']} loader{extra}{pinned}"


def train_table(result: dict[str, Any]) -> Table:
    options = result.get("options") or {}
    ds = result.get("dataset") or {}
    shape = "×".join(str(s) for s in ds.get("sample_shape") or [])
    title = (
        f"{ds.get('name')} ({ds.get('task')}, {shape}, {ds.get('train_rows'):,} train / "
        f"{ds.get('test_rows'):,} test): {machine_label(result)}, "
        f"{options.get('resolved_epochs')} epochs"
    )
    regression = ds.get("task") == "regression"
    columns = [("model", "left"), ("where", "left")]
    columns += [("fit s", "right"), ("pred s", "right"), ("samples/s", "right")]
    columns += [("R²", "right"), ("slope", "right"), ("intercept", "right")] if regression else []
    columns += [] if regression else [("accuracy", "right")]
    # A light box: the regression table has nine columns and must fit 80 columns of a log.
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
        show_edge=False,
    )
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for r in result["records"]:
        cells: list[str | Text] = [
            f"{r['model']}/{r['net']}" if r.get("net") else r["model"],
            _where(r),
            num(r.get("fit_s"), ".3f"),
            num(r.get("predict_s"), ".4f"),
            num(r.get("samples_per_s"), ",.0f"),
        ]
        if r.get("error"):
            cells += [Text("error", style="red")] * (3 if regression else 1)
        elif regression:
            cells += [num(r.get(k), ".4f") for k in ("r2", "slope", "intercept")]
        else:
            cells.append(num(r.get("test_accuracy"), ".4f"))
        table.add_row(*cells)
    # Which classes were fitted, and the truth where there is one, under the table.
    caption = [f"{r['model']}: {r['estimator'].rsplit('.', 1)[-1]}" for r in result["records"]]
    truth = ds.get("truth")
    if truth:
        caption.append(f"true slope {truth['slope']:g}, intercept {truth['intercept']:g}")
    table.caption = "; ".join(caption)
    return table
