"""One row of ``workloads train``, and the versioned result envelope (``workloads.train/1``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from workloads import TRAIN_SCHEMA


@dataclass(frozen=True)
class TrainRecord:
    """One estimator fitted once on the training split and scored on the test split."""

    model: str  # "skorch" or the scikit-learn counterpart ("sk-mlp", "sk-linreg")
    library: str  # "skorch" or "scikit-learn"
    neural: bool
    estimator: str  # "module.Class" of the object that was fitted and asked to predict
    net: str | None  # the torch module: "mlp", "cnn", "linear" (None for scikit-learn rows)
    device: str  # where the weights were after the fit, not what was asked
    gpu_name: str | None
    placement: dict[str, Any] | None  # how the training set reached the device (torch rows)
    rows: int
    test_rows: int
    epochs: int | None  # asked for (None for closed-form fits)
    epochs_run: int | None
    batch_size: int | None
    fit_s: float | None
    predict_s: float | None
    # Training samples processed per second: rows × epochs run / fit seconds (rows / fit seconds
    # for a closed-form fit).
    samples_per_s: float | None
    test_accuracy: float | None  # classification
    r2: float | None  # regression, on the test split
    slope: float | None  # regression with a known truth: the line through the predictions
    intercept: float | None
    epoch_losses: list[float] = field(default_factory=list)  # training loss per epoch
    versions: dict[str, str | None] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def make_train_result(
    machine: dict, options: dict, dataset: dict, records: list[TrainRecord], validation: dict
) -> dict[str, Any]:
    return {
        "schema": TRAIN_SCHEMA,
        "machine": machine,
        "options": options,
        "dataset": dataset,
        "records": [r.to_json() for r in records],
        "validation": validation,
    }
