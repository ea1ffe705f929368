"""The plot of a ``workloads train`` result: how the rows learned, and their throughput.

The left chart is chosen from the data: training loss per epoch as lines where a row trained
two epochs or more; otherwise (``--epochs 1``, closed-form fits) a loss curve would be a lone
dot, so the rows' test scores (accuracy, or R² for regression) are drawn as bars instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workloads import charts


def _label(r: dict[str, Any]) -> str:
    return f"{r['model']}\n{r['device']}"


def _losses(records: list[dict[str, Any]], ax) -> None:
    for r in records:
        losses = r.get("epoch_losses") or []
        if losses:
            ax.plot(range(1, len(losses) + 1), losses, marker=".", label=r["model"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title("training loss")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def _scores(records: list[dict[str, Any]], regression: bool, ax) -> None:
    key, name = ("r2", "R²") if regression else ("test_accuracy", "test accuracy")
    scored = [r for r in records if r.get(key) is not None]
    bars = ax.bar([_label(r) for r in scored], [r[key] for r in scored], color="tab:green")
    ax.bar_label(bars, labels=[f"{r[key]:.3f}" for r in scored], fontsize="small")
    ax.set_ylabel(name)
    ax.set_title(name)
    ax.grid(True, axis="y", alpha=0.3)


def train_figure(result: dict[str, Any]):
    """The figure (``matplotlib.figure.Figure``): learning on the left, throughput on the right."""
    records = [r for r in result["records"] if not r.get("error")]
    ds = result.get("dataset") or {}
    fig, (learn_ax, speed_ax) = charts.new_figure(2)
    if any(len(r.get("epoch_losses") or []) >= 2 for r in records):
        _losses(records, learn_ax)
    else:
        _scores(records, ds.get("task") == "regression", learn_ax)
    bars = speed_ax.bar(
        [_label(r) for r in records],
        [r.get("samples_per_s") or 0 for r in records],
        color="tab:blue",
    )
    speed_ax.bar_label(
        bars, labels=[f"{r.get('samples_per_s') or 0:,.0f}" for r in records], fontsize="small"
    )
    speed_ax.set_ylabel("training samples / s")
    speed_ax.set_title("throughput")
    speed_ax.grid(True, axis="y", alpha=0.3)
    epochs = (result.get("options") or {}).get("resolved_epochs")
    headline = f"{ds.get('name')}: {ds.get('train_rows') or 0:,} training rows, {epochs} epochs"
    charts.title(fig, headline, result)
    return fig


def plot_training(result: dict[str, Any], path: str | Path) -> Path:
    return charts.save(train_figure(result), path)
