"""Runs ``workloads train``: a skorch row on the chosen device beside a scikit-learn row on the CPU.

Data flow as for digits: data (load and check everything first) → models (networks,
estimators) → this runner (warm-up and device-synchronised clocks from ``workloads.timing``) →
records (JSON) → validation / table / plot. Nothing here prints.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from workloads.errors import DataError, WorkloadError
from workloads.estimators import class_path, ran_on
from workloads.machine import (
    check_device,
    describe_machine,
    gpu_name,
    resolve_device,
    row_versions,
    usable_cores,
)
from workloads.timing import ProgressFn, pinned_threads, seed_everything, timed, warm_up
from workloads.train.data import DATASETS, TASKS, TrainData, load_dataset, parse_dataset
from workloads.train.models import HYPER, NETS, build_sklearn, build_skorch, resolve_net
from workloads.train.placement import ArrayDataset, Placement, choose_placement, default_workers
from workloads.train.records import TrainRecord, make_train_result
from workloads.train.validation import validate_train


@dataclass(frozen=True)
class TrainOptions:
    dataset: str
    data_dir: str = "data"
    download: bool = False
    device: str = "auto"
    epochs: int | None = None  # None: the data set's default
    limit: int | None = None
    target: str | None = None
    task: str = "auto"
    net: str = "auto"
    memory_budget_mib: int | None = None  # None: a share of free memory where the data sits
    workers: int | None = None  # None: default_workers(usable cores)
    threads: int | None = None
    seed: int = 0

    def check(self) -> None:
        """Raise :class:`WorkloadError` naming the first bad option (before any data is read)."""
        parse_dataset(self.dataset)
        check_device(self.device)
        if self.net not in NETS:
            raise WorkloadError(f"--net: must be one of {', '.join(NETS)}, got {self.net!r}")
        if self.task not in TASKS:
            raise WorkloadError(f"--task: must be one of {', '.join(TASKS)}, got {self.task!r}")
        for name, value, low in (
            ("epochs", self.epochs, 1),
            ("limit", self.limit, 1),
            ("memory-budget", self.memory_budget_mib, 0),
            ("workers", self.workers, 0),
            ("threads", self.threads, 1),
        ):
            if value is not None and value < low:
                raise WorkloadError(f"--{name}: must be at least {low}, got {value}")

    def spec_name(self) -> str:
        return parse_dataset(self.dataset)[0]


# --- the rows ----------------------------------------------------------------------------------


def _scores(data: TrainData, pred: np.ndarray) -> dict[str, float | None]:
    out: dict[str, float | None] = {
        "test_accuracy": None,
        "r2": None,
        "slope": None,
        "intercept": None,
    }
    if data.task == "classification":
        out["test_accuracy"] = float(np.mean(pred == data.y_test))
        return out
    from sklearn.metrics import r2_score

    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    out["r2"] = float(r2_score(data.y_test, pred)) if len(data.y_test) > 1 else None
    if "truth" in data.info and data.in_features == 1 and len(data.X_test) > 1:
        # The line through the model's predictions: the weights for a linear model, and a fair
        # reading for any other.
        slope, intercept = np.polyfit(data.features(data.X_test)[:, 0], pred, 1)
        out["slope"], out["intercept"] = float(slope), float(intercept)
    return out


def _losses(est: Any) -> list[float]:
    history = getattr(est, "history_", None)
    if history is not None:
        return [float(v) for v in history[:, "train_loss"]]
    curve = getattr(est, "loss_curve_", None)
    return [float(v) for v in curve] if curve is not None else []


def run_skorch_row(
    data: TrainData, net: str, epochs: int, device: str, placement: Placement, seed: int
) -> TrainRecord:
    fit_s = predict_s = None
    scores: dict[str, float | None] = {}
    est = None
    error = None
    regression = data.task == "regression"
    try:
        est = build_skorch(net, data, epochs, device, placement)
        seed_everything(seed)
        mu = sd = None
        if regression:
            # The net fits a standardised target (any scale trains alike); its predictions are
            # mapped back before scoring, so R², slope and intercept are in the data's units.
            mu, sd = float(np.mean(data.y_train)), float(np.std(data.y_train)) or 1.0
            y_fit = ((data.y_train - mu) / sd).astype(np.float32).reshape(-1, 1)
        else:
            y_fit = data.y_train
        if placement.where == "loader" and placement.workers:
            X_fit: Any = ArrayDataset(data.X_train, y_fit, data.scale, regression)
            X_pred: Any = ArrayDataset(data.X_test, np.zeros(len(data.X_test)), data.scale)
            fit = lambda: est.fit(X_fit, None)  # noqa: E731
        else:
            X_fit, X_pred = data.features(data.X_train), data.features(data.X_test)
            fit = lambda: est.fit(X_fit, y_fit)  # noqa: E731
        _, fit_s = timed(fit, device)
        pred, predict_s = timed(lambda: est.predict(X_pred), device)
        if regression:
            pred = np.asarray(pred, dtype=np.float64).reshape(-1) * sd + mu
        scores = _scores(data, np.asarray(pred))
    except Exception as exc:  # a crashing row becomes a failed record, not the end of the run
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        fit_s = predict_s = None
    losses = _losses(est) if est is not None and error is None else []
    ran = ran_on(est) if est is not None and error is None else device
    return _record(
        "skorch", "skorch", est, net, ran, placement, data, epochs, len(losses), fit_s, predict_s,
        scores, losses, error, batch_size=getattr(est, "batch_size", None),
    )  # fmt: skip


def run_sklearn_row(data: TrainData, net: str, epochs: int, seed: int) -> TrainRecord:
    from sklearn.exceptions import ConvergenceWarning

    name, est = build_sklearn(data, net, epochs, seed)
    neural = name == "sk-mlp"
    fit_s = predict_s = None
    scores: dict[str, float | None] = {}
    error = None
    try:
        X_train, X_test = data.features(data.X_train), data.features(data.X_test)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            _, fit_s = timed(lambda: est.fit(X_train, data.y_train), "cpu")
        pred, predict_s = timed(lambda: est.predict(X_test), "cpu")
        scores = _scores(data, np.asarray(pred))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        fit_s = predict_s = None
    losses = _losses(est) if error is None else []
    return _record(
        name, "scikit-learn", est, None, "cpu", None, data, epochs if neural else None,
        len(losses) if neural else None, fit_s, predict_s, scores, losses, error,
        batch_size=getattr(est, "batch_size", None), neural=neural,
    )  # fmt: skip


def _record(
    model, library, est, net, device, placement, data, epochs, epochs_run, fit_s, predict_s,
    scores, losses, error, *, batch_size=None, neural=True,
) -> TrainRecord:  # fmt: skip
    rows = len(data.X_train)
    if fit_s:
        samples = rows * epochs_run if epochs_run else rows
        samples_per_s = samples / fit_s
    else:
        samples_per_s = None
    return TrainRecord(
        model=model,
        library=library,
        neural=neural,
        estimator=class_path(est) if est is not None else "",
        net=net,
        device=device,
        gpu_name=gpu_name(device) if error is None else None,
        placement=placement.to_json() if placement else None,
        rows=rows,
        test_rows=len(data.X_test),
        epochs=epochs,
        epochs_run=epochs_run if error is None else None,
        batch_size=batch_size,
        fit_s=fit_s,
        predict_s=predict_s,
        samples_per_s=samples_per_s,
        test_accuracy=scores.get("test_accuracy"),
        r2=scores.get("r2"),
        slope=scores.get("slope"),
        intercept=scores.get("intercept"),
        epoch_losses=[v if math.isfinite(v) else None for v in losses],
        versions=row_versions(library),
        error=error,
    )


def warm_up_device(data: TrainData, net: str, device: str, seed: int) -> None:
    """The untimed warm-up: a 1-epoch fit on a slice, on the device, thrown away."""
    rows = min(len(data.X_train), 4 * HYPER[net].batch_size)
    if rows < 2:
        return
    small = replace(data, X_train=data.X_train[:rows], y_train=data.y_train[:rows])
    placement = Placement("device", 0, None, "warm-up", 0, False)
    est = build_skorch(net, small, 1, device, placement)
    y = small.y_train.astype(np.float32).reshape(-1, 1) if data.task == "regression" else None
    X_predict = small.features(data.X_test[: min(len(data.X_test), rows)])
    warm_up(
        est,
        small.features(small.X_train),
        small.y_train if y is None else y,
        X_predict,
        device,
        seed,
    )


# --- the run -----------------------------------------------------------------------------------


def prepare(options: TrainOptions) -> tuple[TrainData, str, str, int]:
    """Check options and the device, then read and check the data: every exit-2 problem surfaces
    here, before anything trains. Returns (data, device, net, epochs)."""
    options.check()
    device = resolve_device(options.device)
    data = load_dataset(
        options.dataset,
        data_dir=options.data_dir,
        download=options.download,
        limit=options.limit,
        target=options.target,
        task=options.task,
    )
    if len(data.X_train) < 2:
        raise DataError(f"{data.name}: training needs at least 2 rows, got {len(data.X_train)}")
    if len(data.X_test) < 1:
        raise DataError(f"{data.name}: no test rows to score on")
    net = resolve_net(options.net, data)
    epochs = options.epochs or DATASETS[options.spec_name()].epochs
    return data, device, net, epochs


def run_train(
    options: TrainOptions,
    progress: ProgressFn | None = None,
    prepared: tuple[TrainData, str, str, int] | None = None,
) -> dict[str, Any]:
    """Run both rows and return the result envelope (``workloads.train/1``)."""
    data, device, net, epochs = prepared or prepare(options)
    threads = options.threads or usable_cores()
    workers = options.workers if options.workers is not None else default_workers(usable_cores())
    placement = choose_placement(
        data.float_bytes(),
        device,
        options.memory_budget_mib,
        workers,
        resident_possible=data.task == "classification",
    )
    records: list[TrainRecord] = []
    with pinned_threads(threads) as thread_info:
        if progress:
            progress(f"warm-up on {device}", 0)
        warm_up_device(data, net, device, options.seed)
        if progress:
            progress(f"skorch {net} on {device} ({placement.where})", 0)
        records.append(run_skorch_row(data, net, epochs, device, placement, options.seed))
        if progress:
            progress("scikit-learn on cpu", 1)
        records.append(run_sklearn_row(data, net, epochs, options.seed))
        if progress:
            progress("done", 2)
        machine = describe_machine(device, thread_info)
    opts = {
        **asdict(options),
        "resolved_device": device,
        "resolved_net": net,
        "resolved_epochs": epochs,
        "threads": threads,
        "workers": workers,
        "hyperparameters": asdict(HYPER[net]),
    }
    dataset = {
        "name": data.name,
        "task": data.task,
        "sample_shape": list(data.sample_shape),
        "n_classes": data.n_classes,
        "train_rows": len(data.X_train),
        "test_rows": len(data.X_test),
        "float_bytes": data.float_bytes(),
        "majority_share": _majority_share(data),
        **data.info,
    }
    result = make_train_result(machine, opts, dataset, records, {"passed": False, "failures": []})
    result["validation"] = validate_train(result)
    return result


def _majority_share(data: TrainData) -> float | None:
    """The test accuracy of always answering the commonest training class: the floor to beat."""
    if data.task != "classification":
        return None
    commonest = np.bincount(data.y_train).argmax()
    return float(np.mean(data.y_test == commonest))
