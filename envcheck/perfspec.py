"""What each GPU model should deliver, read from ``envcheck/data/perf.toml`` (the one place that
knowledge lives): spec-sheet peaks, published achievable figures, each with its source.

A figure's reference, the value a measurement is judged against, is the published achievable
figure where there is one. Without one it is the spec peak scaled by the lowest achievable/peak
ratio among the models that publish both for that figure: a floor read from the table itself,
never a constant made up here. The host link's peak is its PCIe generation and width at the
table's per-lane rates, its reference the least share of that a healthy link is published to
reach (the table's ``[pcie]``).
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from importlib import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DATA = resources.files("envcheck") / "data" / "perf.toml"

# (kind, variant) of a measurement -> the table's key for the figure.
FIGURES = {
    ("gemm", "fp32"): "fp32_tflops",
    ("gemm", "tf32"): "tf32_tflops",
    ("gemm", "bf16"): "bf16_tflops",
    ("gemm", "fp16"): "fp16_tflops",
    ("memory", "copy"): "memory_gbs",
    ("host_link", "h2d"): "host_link_gbs",
    ("host_link", "d2h"): "host_link_gbs",
}


@dataclass(frozen=True)
class Reference:
    """What one measurement is judged against."""

    value: float
    peak: float
    basis: str  # "achievable" (published), or how the floor was derived from the peak


@dataclass(frozen=True)
class ModelPerf:
    """One GPU model's row of the table."""

    model: str
    pattern: re.Pattern[str]
    pci_device_ids: tuple[str, ...]
    architecture: str
    pcie_gen: int | None
    pcie_width: int | None
    figures: dict[str, float]  # fp32_tflops, ..., memory_gbs, host_link_gbs (derived)
    achievable: dict[str, float]  # the same keys, where a measurement is published

    def peak(self, kind: str, variant: str) -> float | None:
        key = FIGURES.get((kind, variant))
        return self.figures.get(key) if key else None

    def reference(self, kind: str, variant: str) -> Reference | None:
        peak = self.peak(kind, variant)
        if peak is None:
            return None
        key = FIGURES[(kind, variant)]
        if key == "host_link_gbs":
            share = _data()["pcie"]["achievable_share"]
            return Reference(
                peak * share,
                peak,
                f"{share:.0%} of PCIe gen {self.pcie_gen} x{self.pcie_width}, the least a "
                "healthy link is published to reach",
            )
        if key in self.achievable:
            return Reference(self.achievable[key], peak, "published achievable figure")
        ratio = floor_ratios().get(key)
        if ratio is None:
            return None
        return Reference(
            peak * ratio,
            peak,
            f"{ratio:.0%} of the spec peak, the lowest share any model with a published "
            "measurement reaches",
        )


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    with DATA.open("rb") as f:
        return tomllib.load(f)


def pcie_gbs(gen: int | None, width: int | None) -> float | None:
    """A PCIe link's data rate per direction in GB/s (line encoding taken off)."""
    lane = _data()["pcie"]["lane_gbs"].get(str(gen)) if gen else None
    return lane * width if lane and width else None


def _achievable_key(name: str) -> str:
    """achievable_bf16_tflops -> bf16_tflops; achievable_host_link_gbs -> host_link_gbs."""
    return name.removeprefix("achievable_")


@functools.lru_cache(maxsize=1)
def models() -> tuple[ModelPerf, ...]:
    rows = []
    for row in _data()["gpu"]:
        figures = {key: float(row[key]) for key in set(FIGURES.values()) if key in row}
        achievable = {
            _achievable_key(k): float(v) for k, v in row.items() if k.startswith("achievable_")
            and k != "achievable_source"
        }  # fmt: skip
        link = pcie_gbs(row.get("pcie_gen"), row.get("pcie_width"))
        if link is not None:
            figures["host_link_gbs"] = link
        rows.append(
            ModelPerf(
                model=row["model"],
                pattern=re.compile(row["match"], re.IGNORECASE),
                pci_device_ids=tuple(i.lower() for i in row.get("pci_device_ids", [])),
                architecture=row["architecture"],
                pcie_gen=row.get("pcie_gen"),
                pcie_width=row.get("pcie_width"),
                figures=figures,
                achievable=achievable,
            )
        )
    return tuple(rows)


@functools.lru_cache(maxsize=1)
def floor_ratios() -> dict[str, float]:
    """Per figure: the lowest achievable/peak among models that publish both."""
    ratios: dict[str, list[float]] = {}
    for m in models():
        for key, value in m.achievable.items():
            if m.figures.get(key):
                ratios.setdefault(key, []).append(value / m.figures[key])
    return {key: min(values) for key, values in ratios.items()}


def find(name: str | None, pci_device_id: str | None = None) -> ModelPerf | None:
    """The table's row for a GPU: by PCI device id where known, else by its name."""
    if pci_device_id:
        for m in models():
            if pci_device_id.lower() in m.pci_device_ids:
                return m
    if name:
        for m in models():
            if m.pattern.search(name):
                return m
    return None
