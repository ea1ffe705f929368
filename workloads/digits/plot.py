"""The digits plot, its chart chosen from the data: bars for one scale, log-log lines for several.

One scale has one point per model: on a log-log line chart that is a stack of dots at one x,
which nobody can read. Bars then compare the models directly (fit time, test accuracy); with
several scales, lines show how each model's fit time grows with the training rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workloads import charts
from workloads.digits.validation import NEURAL_MIN_ACCURACY

# A fit-time axis spanning more than this ratio is drawn on a log scale: linear bars would
# flatten the fast scikit-learn rows to nothing beside skorch's reference row.
LOG_SPAN = 30.0


def _colour(record: dict[str, Any]) -> str:
    return "tab:green" if str(record.get("device", "")).startswith("cuda") else "tab:blue"


def _bars(result: dict[str, Any], time_ax, acc_ax) -> None:
    timed = [r for r in result["records"] if r.get("fit_s") is not None]
    scored = [r for r in result["records"] if r.get("test_accuracy") is not None]
    bars = time_ax.bar(
        [r["model"] for r in timed], [r["fit_s"] for r in timed], color=[_colour(r) for r in timed]
    )
    time_ax.bar_label(bars, labels=[f"{r['fit_s']:.3g}" for r in timed], fontsize="small")
    times = [r["fit_s"] for r in timed if r["fit_s"] > 0]
    if times and max(times) / min(times) > LOG_SPAN:
        time_ax.set_yscale("log")
    time_ax.set_ylabel("fit seconds (median)")
    time_ax.set_title("fit time")
    bars = acc_ax.bar(
        [r["model"] for r in scored],
        [r["test_accuracy"] for r in scored],
        color=[_colour(r) for r in scored],
    )
    acc_ax.bar_label(bars, labels=[f"{r['test_accuracy']:.3f}" for r in scored], fontsize="small")
    lowest = min((r["test_accuracy"] for r in scored), default=0.0)
    acc_ax.set_ylim(max(0.0, min(lowest, NEURAL_MIN_ACCURACY) - 0.05), 1.005)
    acc_ax.set_ylabel("test accuracy (worst repeat)")
    acc_ax.set_title("test accuracy")
    for ax in (time_ax, acc_ax):
        ax.tick_params(axis="x", labelrotation=30)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
        ax.grid(True, axis="y", which="both", alpha=0.3)


def _lines(result: dict[str, Any], time_ax, acc_ax) -> None:
    by_model: dict[str, list[dict[str, Any]]] = {}
    for r in result["records"]:
        if r.get("fit_s") is not None:
            by_model.setdefault(r["model"], []).append(r)
    for model, rows in by_model.items():
        rows.sort(key=lambda r: r["rows"])
        x = [r["rows"] for r in rows]
        time_ax.plot(x, [r["fit_s"] for r in rows], marker="o", label=model)
        acc_ax.plot(x, [r["test_accuracy"] for r in rows], marker="o", label=model)
    time_ax.set_xscale("log")
    time_ax.set_yscale("log")
    time_ax.set_ylabel("fit seconds (median)")
    time_ax.set_title("fit time against training rows")
    acc_ax.set_xscale("log")
    acc_ax.set_ylabel("test accuracy (worst repeat)")
    acc_ax.set_title("test accuracy")
    from matplotlib.ticker import NullFormatter

    # Ticks at the rows that were run: a log axis's own ticks crowd over a short range.
    ticks = sorted({r["rows"] for rows in by_model.values() for r in rows})
    for ax in (time_ax, acc_ax):
        ax.set_xlabel("training rows")
        ax.set_xticks(ticks, labels=[f"{t:,}" for t in ticks])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
    if by_model:
        time_ax.legend(fontsize="small")


def digits_figure(result: dict[str, Any]):
    """The figure (``matplotlib.figure.Figure``): fit time and test accuracy per model."""
    scales = sorted({r["scale"] for r in result["records"]})
    fig, (time_ax, acc_ax) = charts.new_figure(2, width=11, height=5)
    repeats = result["options"].get("repeats")
    if len(scales) <= 1:
        _bars(result, time_ax, acc_ax)
        rows = result["records"][0]["rows"] if result["records"] else 0
        scale = f" (x{scales[0]})" if scales else ""
        headline = f"digits: {rows:,} training rows{scale}, median of {repeats}"
    else:
        _lines(result, time_ax, acc_ax)
        headline = f"digits: scales {', '.join(f'x{s}' for s in scales)}, median of {repeats}"
    # The accuracy every neural-net row must reach: the line the verdict is drawn against.
    acc_ax.axhline(NEURAL_MIN_ACCURACY, color="tab:red", linestyle="--", linewidth=1)
    charts.title(fig, headline, result)
    return fig


def plot_fit_times(result: dict[str, Any], path: str | Path) -> Path:
    return charts.save(digits_figure(result), path)
