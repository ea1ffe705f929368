"""One row of the digits benchmark, and the versioned result envelope that carries the rows."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workloads import DIGITS_SCHEMA


@dataclass(frozen=True)
class DigitsRecord:
    """One model fitted at one scale, ``repeats`` times, each fit a fresh estimator."""

    model: str
    library: str
    neural: bool
    estimator: str  # "module.Class" of the object that was fitted and asked to predict
    device: str  # where the weights were after the fit ("cuda:0", "cpu"), not what was asked
    gpu_name: str | None
    scale: int
    rows: int
    test_rows: int
    epochs: int | None  # asked for (None for models without epochs)
    epochs_run: int | None  # what the fitted estimator reports it trained
    fit_path: str | None  # the fast path's training loop: "resident", or "skorch" if it fell back
    repeats: int
    fit_s: float | None  # median over repeats
    predict_s: float | None
    samples_per_s: float | None  # training rows / median fit seconds
    test_accuracy: float | None  # the worst repeat: validation must hold for every fit
    fit_s_all: list[float] = field(default_factory=list)
    predict_s_all: list[float] = field(default_factory=list)
    accuracy_all: list[float] = field(default_factory=list)
    versions: dict[str, str | None] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def make_result(
    machine: dict, options: dict, records: list[DigitsRecord], validation: dict
) -> dict[str, Any]:
    return {
        "schema": DIGITS_SCHEMA,
        "machine": machine,
        "options": options,
        "records": [r.to_json() for r in records],
        "validation": validation,
    }
