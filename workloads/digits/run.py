"""Runs the digits rows: fresh estimator per fit, warm-up first, device-synchronised clocks.

Data flow: data (split, tiles) → models (specs build estimators) → this runner (timing,
repeats, sync) → records (JSON) → validation / table / plot. Nothing here prints.
"""

from __future__ import annotations

import os
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from workloads.digits.data import DigitsSplit, load_digits_split
from workloads.digits.models import MODEL_NAMES, MODELS, ModelSpec, TrainSettings
from workloads.digits.records import DigitsRecord, make_result
from workloads.digits.validation import validate
from workloads.errors import WorkloadError
from workloads.estimators import class_path, epochs_run, ran_on
from workloads.machine import (
    check_device,
    describe_machine,
    gpu_name,
    resolve_device,
    row_versions,
    usable_cores,
)
from workloads.timing import ProgressFn, pinned_threads, seed_everything, timed, warm_up

DEFAULT_SCALES = (1, 10, 100)


# Digits' training split is 1,257 rows of 64 float32 features; a run holds a few copies of the
# tiled set (numpy, torch, the estimators'), so a scale must leave most of the memory free.
_TILE_BYTES = 1257 * 64 * 4 * 4


def max_scale() -> int:
    """The largest --scales value whose tiled set fits in a quarter of the physical memory."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        memory = 8 * 2**30
    return max(1, memory // 4 // _TILE_BYTES)


@dataclass(frozen=True)
class DigitsOptions:
    scales: tuple[int, ...] = DEFAULT_SCALES
    device: str = "auto"
    models: tuple[str, ...] = MODEL_NAMES
    repeats: int = 3
    epochs: int = 20
    batch_size: int = 128
    threads: int | None = None  # None: every core this process may use
    seed: int = 0

    def check(self) -> None:
        """Raise :class:`WorkloadError` naming the first bad option and its value."""
        if not self.scales:
            raise WorkloadError("--scales: give at least one scale, e.g. 1,10,100")
        bad = [s for s in self.scales if not isinstance(s, int) or s < 1]
        if bad:
            raise WorkloadError(f"--scales: scales must be positive integers, got {bad[0]!r}")
        if len(set(self.scales)) != len(self.scales):
            raise WorkloadError(f"--scales: a scale is repeated in {list(self.scales)}")
        limit = max_scale()
        if max(self.scales) > limit:
            raise WorkloadError(
                f"--scales: {max(self.scales)} would tile more rows than this machine's memory "
                f"holds (at most {limit} here)"
            )
        if not self.models:
            raise WorkloadError("--models: give at least one model")
        unknown = [m for m in self.models if m not in MODELS]
        if unknown:
            raise WorkloadError(
                f"--models: unknown model {unknown[0]!r} (known: {', '.join(MODEL_NAMES)})"
            )
        if len(set(self.models)) != len(self.models):
            raise WorkloadError(f"--models: a model is repeated in {list(self.models)}")
        check_device(self.device)
        for name, value in (("repeats", self.repeats), ("epochs", self.epochs)):
            if value < 1:
                raise WorkloadError(f"--{name}: must be at least 1, got {value}")
        if self.batch_size < 2:
            # BatchNorm cannot normalise a batch of one row in training mode.
            raise WorkloadError(f"batch size must be at least 2, got {self.batch_size}")
        if self.threads is not None and self.threads < 1:
            raise WorkloadError(f"--threads: must be at least 1, got {self.threads}")


def warm_up_device(device: str, data: DigitsSplit, settings: TrainSettings) -> None:
    """The untimed warm-up: a 1-epoch fast-path fit on a slice, thrown away."""
    rows = min(len(data.X_train), 4 * settings.batch_size)
    small = TrainSettings(**{**asdict(settings), "epochs": 1, "device": device})
    est = MODELS["skorch-fast"].build(small)
    warm_up(est, data.X_train[:rows], data.y_train[:rows], data.X_test, device, settings.seed)


@dataclass
class _Guard:
    """Refuses an estimator object that another row already fitted (the seed tutorial's bug).

    Holds the objects themselves, not just their ids: a freed object's id can be reused.
    """

    seen: dict[int, tuple[str, Any]] = field(default_factory=dict)

    def admit(self, row: str, spec: ModelSpec, est: Any) -> None:
        if id(est) in self.seen:
            other, _ = self.seen[id(est)]
            raise WorkloadError(f"{row}: its estimator object was already fitted for {other}")
        if type(est).__qualname__ != spec.estimator:
            raise WorkloadError(
                f"{row}: built a {class_path(est)}, but {spec.name} is declared as {spec.estimator}"
            )
        self.seen[id(est)] = (row, est)


def run_row(
    spec: ModelSpec,
    scale: int,
    data: DigitsSplit,
    settings: TrainSettings,
    repeats: int,
    guard: _Guard,
    progress: ProgressFn | None = None,
    completed: int = 0,
) -> DigitsRecord:
    """Fit ``spec`` at ``scale`` ``repeats`` times, each on a fresh estimator; one record."""
    X_train, y_train = data.tiled(scale)
    device = settings.device if spec.on_device else "cpu"
    row_settings = TrainSettings(**{**asdict(settings), "device": device})
    row = f"{spec.name} x{scale}"
    fit_s, predict_s, accuracy = [], [], []
    estimator = ran = None
    ran_epochs: int | None = None
    fit_path: str | None = None
    error = None
    try:
        for repeat in range(repeats):
            if progress:
                progress(f"{row} ({repeat + 1}/{repeats})", completed + repeat)
            est = spec.build(row_settings)
            guard.admit(row, spec, est)
            seed_everything(settings.seed + repeat)
            with warnings.catch_warnings():
                # MLPClassifier warns that it stopped at max_iter: that is the point here.
                warnings.simplefilter("ignore", category=ConvergenceWarning)
                _, seconds = timed(lambda est=est: est.fit(X_train, y_train), device)
            fit_s.append(seconds)
            pred, seconds = timed(lambda est=est: est.predict(data.X_test), device)
            predict_s.append(seconds)
            accuracy.append(float(np.mean(np.asarray(pred) == data.y_test)))
            # Everything reported below comes from the object that was just fitted.
            estimator, ran, ran_epochs = class_path(est), ran_on(est), epochs_run(est)
            fit_path = getattr(est, "fit_path_", None)
    except Exception as exc:  # a crashing row becomes a failed record, not the end of the run
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    fit_med = statistics.median(fit_s) if fit_s and not error else None
    return DigitsRecord(
        model=spec.name,
        library=spec.library,
        neural=spec.neural,
        estimator=estimator or spec.estimator,
        device=ran or device,
        gpu_name=gpu_name(ran) if ran else None,
        scale=scale,
        rows=len(X_train),
        test_rows=len(data.X_test),
        epochs=settings.epochs if _has_epochs(spec) else None,
        epochs_run=ran_epochs,
        fit_path=fit_path,
        repeats=repeats,
        fit_s=fit_med,
        predict_s=statistics.median(predict_s) if predict_s and not error else None,
        samples_per_s=len(X_train) / fit_med if fit_med else None,
        test_accuracy=min(accuracy) if accuracy and not error else None,
        fit_s_all=fit_s,
        predict_s_all=predict_s,
        accuracy_all=accuracy,
        versions=row_versions(spec.library),
        error=error,
    )


def _has_epochs(spec: ModelSpec) -> bool:
    return spec.neural


def planned_fits(options: DigitsOptions) -> int:
    return len(options.scales) * len(options.models) * options.repeats


def run_digits(
    options: DigitsOptions,
    progress: ProgressFn | None = None,
    specs: Sequence[ModelSpec] | None = None,
) -> dict[str, Any]:
    """Run the benchmark and return the result envelope (``workloads.digits/1``).

    ``specs`` replaces the registry's models (tests use it to prove the guard works).
    Raises :class:`WorkloadError` for bad options, before anything is trained.
    """
    options.check()
    device = resolve_device(options.device)
    threads = options.threads or usable_cores()
    chosen = list(specs) if specs is not None else [MODELS[m] for m in options.models]
    settings = TrainSettings(
        device=device, epochs=options.epochs, batch_size=options.batch_size, seed=options.seed
    )
    data = load_digits_split()
    guard = _Guard()
    records: list[DigitsRecord] = []
    with pinned_threads(threads) as thread_info:
        if any(s.on_device for s in chosen):
            if progress:
                progress(f"warm-up on {device}", 0)
            warm_up_device(device, data, settings)
        for scale in options.scales:
            for spec in chosen:
                records.append(
                    run_row(
                        spec,
                        scale,
                        data,
                        settings,
                        options.repeats,
                        guard,
                        progress,
                        completed=len(records) * options.repeats,
                    )
                )
        if progress:
            progress("done", len(records) * options.repeats)
        machine = describe_machine(device, thread_info)
    opts = {
        **asdict(options),
        "scales": list(options.scales),
        "models": [s.name for s in chosen],
        "resolved_device": device,
        "threads": threads,
        "train_rows": len(data.X_train),
        "test_rows": len(data.X_test),
    }
    result = make_result(machine, opts, records, {"passed": False, "failures": []})
    result["validation"] = validate(result)
    return result
