"""A log-log plot of fit time against training rows, one line per model."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_fit_times(result: dict[str, Any], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs (or opens) a display
    import matplotlib.pyplot as plt

    path = Path(path)
    by_model: dict[str, list[tuple[int, float]]] = {}
    for r in result["records"]:
        if r.get("fit_s") is not None:
            by_model.setdefault(r["model"], []).append((r["rows"], r["fit_s"]))
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    try:
        for model, points in by_model.items():
            points.sort()
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=model)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training rows")
        ax.set_ylabel("fit seconds (median)")
        device = result["options"].get("resolved_device")
        gpu = (result.get("machine") or {}).get("gpu_name")
        ax.set_title(f"digits fit time on {gpu or device}")
        ax.grid(True, which="both", alpha=0.3)
        if by_model:
            ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
