"""The pass/fail rules of ``workloads train``: pure functions of a result's JSON, per data set.

What is judged, and why that much:

- every row: it did not crash, trained the epochs asked for, and its training loss stayed finite;
  with ``--device cuda`` the skorch row really ran on the GPU.
- synthetic-linear: every row's fitted slope and intercept lie within ±0.3 of the true 3 and 2 at
  the default 1000 rows (about three standard errors of the least-squares fit there); the band
  widens as 1/√rows under ``--limit``, where the truth is less determined by the data.
- synthetic-classification: every row reaches 0.9 test accuracy (the boundary is a line; a
  working stack gets ~0.98).
- MNIST, Fashion-MNIST, CIFAR-10 on the full training set: the skorch row reaches 0.95, 0.80 and
  0.50 (what these MLP / CNN shapes reach in the default epochs, with room for seeds; not yet
  measured here, where there is no network to fetch the sets). On fewer rows (``--limit``, or
  the tiny files of the tests) those numbers mean nothing; the skorch row must then beat twice
  the chance rate, which a broken stack (NaNs, wrong kernels, a net that never trained) does not.
- your own file: the skorch row beats always answering the commonest class (classification) or has
  R² > 0, i.e. beats predicting the mean (regression). Nothing more can be known about a file.
"""

from __future__ import annotations

import math
from typing import Any

LINEAR_TOLERANCE = 0.3
LINEAR_REFERENCE_ROWS = 1000
SYNTHETIC_MIN_ACCURACY = 0.9
FULL_SIZE_MIN_ACCURACY = {"mnist": 0.95, "fashion-mnist": 0.80, "cifar10": 0.50}
# The published training-set sizes: only a run on all of it is held to the floors above.
FULL_TRAIN_ROWS = {"mnist": 60000, "fashion-mnist": 60000, "cifar10": 50000}


def linear_tolerance(rows: int) -> float:
    return LINEAR_TOLERANCE * math.sqrt(max(1.0, LINEAR_REFERENCE_ROWS / max(rows, 1)))


def _fmt(value: float | None) -> str:
    return "none" if value is None else f"{value:.4f}"


def _row_failures(r: dict[str, Any], options: dict[str, Any]) -> list[str]:
    name = r["model"]
    if r.get("error"):
        return [f"{name}: failed: {r['error']}"]
    out = []
    if r.get("epochs") is not None and r.get("epochs_run") != r["epochs"]:
        out.append(f"{name}: trained {r.get('epochs_run')} epochs, {r['epochs']} were asked for")
    losses = r.get("epoch_losses") or []
    if any(v is None or not math.isfinite(v) for v in losses):
        out.append(f"{name}: the training loss became NaN or infinite")
    if (
        options.get("device") == "cuda"
        and r.get("library") == "skorch"
        and not str(r.get("device", "")).startswith("cuda")
    ):
        out.append(f"{name}: asked for cuda but the model ran on {r.get('device')}")
    return out


def _accuracy_floor(r: dict[str, Any], floor: float, why: str) -> list[str]:
    acc = r.get("test_accuracy")
    if acc is None or acc < floor:
        return [f"{r['model']}: test accuracy {_fmt(acc)} is below {floor:.4g} ({why})"]
    return []


def _dataset_failures(r: dict[str, Any], dataset: dict[str, Any]) -> list[str]:
    name = dataset.get("name")
    if name == "synthetic-linear":
        tol = linear_tolerance(dataset.get("train_rows") or 0)
        truth = dataset.get("truth") or {}
        out = []
        for key in ("slope", "intercept"):
            value, want = r.get(key), truth.get(key)
            if value is None or want is None or abs(value - want) > tol:
                out.append(
                    f"{r['model']}: fitted {key} {_fmt(value)} is not within ±{tol:.2f} of {want}"
                )
        return out
    if name == "synthetic-classification":
        return _accuracy_floor(r, SYNTHETIC_MIN_ACCURACY, "the set is linearly separable")
    if r.get("library") != "skorch":
        return []  # the scikit-learn rows are the reference here, not what is being proven
    if name in FULL_SIZE_MIN_ACCURACY:
        if (dataset.get("train_rows") or 0) >= FULL_TRAIN_ROWS[name]:
            return _accuracy_floor(r, FULL_SIZE_MIN_ACCURACY[name], "full training set")
        chance = 1.0 / (dataset.get("n_classes") or 10)
        return _accuracy_floor(r, 2 * chance, "twice chance, on a partial training set")
    if dataset.get("task") == "classification":
        floor = dataset.get("majority_share") or 0.0
        acc = r.get("test_accuracy")
        if acc is None or acc <= floor:
            return [
                f"{r['model']}: test accuracy {_fmt(acc)} does not beat always answering the "
                f"commonest class ({floor:.4f})"
            ]
        return []
    r2 = r.get("r2")
    if r2 is None or r2 <= 0:
        return [f"{r['model']}: R² {_fmt(r2)} does not beat predicting the mean (0)"]
    return []


def validation_failures(result: dict[str, Any]) -> list[str]:
    """One line per problem; an empty list means the run passed."""
    records = result.get("records") or []
    if not records:
        return ["no rows were run"]
    options = result.get("options") or {}
    dataset = result.get("dataset") or {}
    failures: list[str] = []
    for r in records:
        row = _row_failures(r, options)
        failures += row
        if not r.get("error"):
            failures += _dataset_failures(r, dataset)
    return failures


def validate_train(result: dict[str, Any]) -> dict[str, Any]:
    failures = validation_failures(result)
    return {"passed": not failures, "failures": failures}
