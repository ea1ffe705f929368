"""The plot of a ``workloads train`` result: training loss per epoch, and throughput per row."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_training(result: dict[str, Any], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs (or opens) a display
    import matplotlib.pyplot as plt

    path = Path(path)
    records = [r for r in result["records"] if not r.get("error")]
    fig, (loss_ax, speed_ax) = plt.subplots(1, 2, figsize=(10, 4.5), dpi=100)
    try:
        curves = [r for r in records if r.get("epoch_losses")]
        for r in curves:
            losses = r["epoch_losses"]
            loss_ax.plot(range(1, len(losses) + 1), losses, marker=".", label=r["model"])
        loss_ax.set_xlabel("epoch")
        loss_ax.set_ylabel("training loss")
        loss_ax.set_title("training loss")
        loss_ax.grid(True, alpha=0.3)
        if curves:
            loss_ax.legend(fontsize="small")
        names = [f"{r['model']}\n{r['device']}" for r in records]
        speeds = [r.get("samples_per_s") or 0 for r in records]
        speed_ax.bar(names, speeds, color="tab:blue")
        speed_ax.set_ylabel("training samples / s")
        speed_ax.set_title("throughput")
        speed_ax.grid(True, axis="y", alpha=0.3)
        ds = result.get("dataset") or {}
        gpu = (result.get("machine") or {}).get("gpu_name")
        device = gpu or result["options"].get("resolved_device")
        fig.suptitle(f"{ds.get('name')}: {ds.get('train_rows'):,} training rows on {device}")
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)
    return path
