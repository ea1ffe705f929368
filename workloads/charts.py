"""matplotlib for both workloads' plots: figures without a display, titled with the machine.

Figures are built with ``matplotlib.figure.Figure``, not pyplot: no global state, no backend to
choose, nothing to close, and the tests can inspect a figure before (or instead of) saving it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workloads.output import machine_label


def new_figure(ncols: int, width: float = 10.0, height: float = 4.5):
    """A figure of ``ncols`` side-by-side axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def title(fig, headline: str, result: dict[str, Any]) -> None:
    """``headline`` over a subtitle naming the device, the CPU and the threads of the run."""
    fig.suptitle(f"{headline}\n{machine_label(result)}", fontsize="medium")


def save(fig, path: str | Path) -> Path:
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path
