"""``workloads train``'s data: torchvision's image sets, the seed's generated sets, a file.

Each loads into one :class:`TrainData` (a train and a test split as arrays, images kept as
uint8) before anything trains; every problem with the data is a :class:`DataError` naming the
folder or file. torchvision is imported here, lazily, and nowhere else: the host-side checker and
every other data set work without it.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workloads.errors import DataError, WorkloadError
from workloads.train.datasets import DATASETS, TASKS, parse_dataset

# Seeds of the data itself (split, generated sets), apart from the training seed, so that every
# run of every row sees the same rows: the seed tutorial's split seed.
DATA_SEED = 42
# The seed tutorial's generated sets have 1000 rows; a test set of the same size is drawn apart.
SYNTHETIC_ROWS = 1000
LINEAR_TRUTH = {"slope": 3.0, "intercept": 2.0, "noise_sd": 1.0}
# A file's target with at most this many distinct whole numbers is read as class labels
# (--task overrides the guess).
MAX_AUTO_CLASSES = 50
FILE_TEST_FRACTION = 0.2
FILE_MIN_ROWS = 5


@dataclass(frozen=True)
class TorchvisionLayout:
    cls: str  # the torchvision.datasets class
    folder: str  # under --data-dir, where that class looks
    files: tuple[str, ...]  # what it needs there


_IDX = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")
_IDX_TEST = ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
LAYOUTS: dict[str, TorchvisionLayout] = {
    "mnist": TorchvisionLayout("MNIST", "MNIST/raw", _IDX + _IDX_TEST),
    "fashion-mnist": TorchvisionLayout("FashionMNIST", "FashionMNIST/raw", _IDX + _IDX_TEST),
    "cifar10": TorchvisionLayout(
        "CIFAR10",
        "cifar-10-batches-py",
        (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"),
    ),
}


@dataclass(frozen=True)
class TrainData:
    """Both splits, ready for every row: features flat, rows first, labels 0..k-1 or floats.

    Image pixels stay uint8 (a quarter of the float32 size) until :meth:`features` scales them;
    a streamed run never makes the float32 copy of the whole training set at all.
    """

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    sample_shape: tuple[int, ...]  # (channels, height, width) for images, (features,) otherwise
    n_classes: int | None
    scale: float = 1.0  # features = X * scale (1/255 for uint8 pixels)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def in_features(self) -> int:
        return int(np.prod(self.sample_shape))

    @property
    def is_image(self) -> bool:
        return len(self.sample_shape) == 3

    def features(self, X: np.ndarray) -> np.ndarray:
        if X.dtype == np.float32 and self.scale == 1.0:
            return X
        return (X.astype(np.float32) * np.float32(self.scale)).astype(np.float32, copy=False)

    def float_bytes(self) -> int:
        """What the training set takes as float32 features plus targets: the resident size."""
        return len(self.X_train) * (self.in_features * 4 + 8)


def load_dataset(
    value: str,
    *,
    data_dir: str | Path = "data",
    download: bool = False,
    limit: int | None = None,
    target: str | None = None,
    task: str = "auto",
) -> TrainData:
    name, path = parse_dataset(value)
    if limit is not None and limit < 1:
        raise WorkloadError(f"--limit: must be at least 1, got {limit}")
    if task not in TASKS:
        raise WorkloadError(f"--task: must be one of {', '.join(TASKS)}, got {task!r}")
    if target is not None and name != "file":
        raise WorkloadError("--target names a CSV column; it applies to --dataset file:PATH only")
    if task != "auto" and name != "file" and task != DATASETS[name].task:
        raise WorkloadError(f"--task: {name} is a {DATASETS[name].task} set, not {task}")
    if name in LAYOUTS:
        return _torchvision(name, Path(data_dir), download, limit)
    if name.startswith("synthetic-"):
        return _synthetic(name, limit)
    assert path is not None
    return _file(path, target, task, limit)


def _cap(a: np.ndarray, limit: int | None) -> np.ndarray:
    return a if limit is None else a[:limit]


# --- torchvision's image sets ------------------------------------------------------------------


def fetch_command(name: str, data_dir: Path) -> str:
    return f"workloads train --dataset {name} --data-dir {data_dir} --download"


def _import_torchvision_datasets(name: str):
    try:
        import torchvision.datasets
    except Exception as exc:  # ImportError, or a torchvision built for another torch
        import torch

        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(
            f"--dataset {name} reads its files with torchvision, which does not import here "
            f"({first[:120]}); {torchvision_advice(torch.__version__)}"
        ) from None
    return torchvision.datasets


def torchvision_advice(torch_version: str) -> str:
    """Which torchvision pairs with this torch, and from which index.

    torchvision is released with each torch: 0.(N+15) with torch 2.N, 0.(N+1) with torch 1.N
    (PyTorch's torchvision compatibility table). A local build tag (+cpu, +cu126) names the
    index the pair must come from: PyPI's torchvision is built against PyPI's torch only.
    """
    release, _, tag = torch_version.partition("+")
    parts = release.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return f"install the torchvision release built for torch {torch_version}"
    vision = f"0.{minor + 15}" if major == 2 else f"0.{minor + 1}"
    index = f" --index-url https://download.pytorch.org/whl/{tag}" if tag else ""
    return (
        f"torch {torch_version} pairs with torchvision {vision}: "
        f"pip install 'torch=={release}' 'torchvision=={vision}.*'{index} "
        "(in a gpu-envkit checkout, `make test-vision` builds .venv-vision with torch 2.14.1 "
        "and torchvision 0.29.1)"
    )


def _torchvision_split(name: str, data_dir: Path, download: bool, train: bool):
    layout = LAYOUTS[name]
    datasets = _import_torchvision_datasets(name)
    folder = data_dir / layout.folder
    try:
        # torchvision reports downloads on stdout, which may be carrying our JSON.
        with contextlib.redirect_stdout(sys.stderr):
            return getattr(datasets, layout.cls)(root=str(data_dir), train=train, download=download)
    except Exception as exc:  # torchvision raises RuntimeError, URLError, OSError, ...
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        first = lines[0] if lines else type(exc).__name__
        if download:
            # torchvision's download error lists each mirror tried; the last line is the cause.
            first = lines[-1] if lines else first
            raise DataError(
                f"{name}: downloading into {folder} failed ({first}); without a network, copy "
                f"the files ({', '.join(layout.files)}) there"
            ) from None
        missing = [f for f in layout.files if not (folder / f).is_file()]
        if missing:
            raise DataError(
                f"{name}: no data in {folder} (missing {', '.join(missing)}); fetch it with: "
                f"{fetch_command(name, data_dir)}"
            ) from None
        raise DataError(
            f"{name}: torchvision could not read the files in {folder} ({first}); replace "
            f"them with: {fetch_command(name, data_dir)}"
        ) from None


def _torchvision(name: str, data_dir: Path, download: bool, limit: int | None) -> TrainData:
    train = _torchvision_split(name, data_dir, download, train=True)
    test = _torchvision_split(name, data_dir, False, train=False)

    def arrays(ds) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
        # The decoded uint8 pixels torchvision holds (what ds[i] would wrap in a PIL image).
        pixels = np.asarray(ds.data)
        if pixels.ndim == 3:  # MNIST-style: (n, H, W), one channel
            shape = (1, *pixels.shape[1:])
        else:  # CIFAR: (n, H, W, C) → channels first, as torch convolutions expect
            pixels = pixels.transpose(0, 3, 1, 2)
            shape = pixels.shape[1:]
        X = np.ascontiguousarray(pixels.reshape(len(pixels), -1), dtype=np.uint8)
        y = np.asarray(ds.targets, dtype=np.int64)
        return X, y, tuple(int(s) for s in shape)

    X_train, y_train, shape = arrays(train)
    X_test, y_test, _ = arrays(test)
    layout = LAYOUTS[name]
    return TrainData(
        name=name,
        task="classification",
        X_train=_cap(X_train, limit),
        y_train=_cap(y_train, limit),
        X_test=_cap(X_test, limit),
        y_test=_cap(y_test, limit),
        sample_shape=shape,
        n_classes=len(train.classes),
        scale=1.0 / 255.0,
        info={
            "source": "torchvision",
            "location": str(data_dir / layout.folder),
            "reader": f"torchvision.datasets.{layout.cls}",
            "full_train_rows": len(X_train),
            "full_test_rows": len(X_test),
        },
    )


# --- the seed's generated sets -----------------------------------------------------------------


def _synthetic(name: str, limit: int | None) -> TrainData:
    def draw(seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        if name == "synthetic-linear":
            x = rng.random((SYNTHETIC_ROWS, 1), dtype=np.float32)
            noise = rng.standard_normal(SYNTHETIC_ROWS) * LINEAR_TRUTH["noise_sd"]
            y = LINEAR_TRUTH["slope"] * x[:, 0] + LINEAR_TRUTH["intercept"] + noise
            return x, y.astype(np.float64)
        x = rng.random((SYNTHETIC_ROWS, 2), dtype=np.float32)
        return x, (x.sum(axis=1) > 1).astype(np.int64)

    X_train, y_train = draw(DATA_SEED)
    X_test, y_test = draw(DATA_SEED + 1)
    regression = name == "synthetic-linear"
    info: dict[str, Any] = {
        "source": "synthetic",
        "location": None,
        "reader": "numpy.random.default_rng",
        "full_train_rows": SYNTHETIC_ROWS,
        "full_test_rows": SYNTHETIC_ROWS,
        "data_seed": DATA_SEED,
    }
    if regression:
        info["truth"] = dict(LINEAR_TRUTH)
    return TrainData(
        name=name,
        task="regression" if regression else "classification",
        X_train=_cap(X_train, limit),
        y_train=_cap(y_train, limit),
        X_test=_cap(X_test, limit),
        y_test=_cap(y_test, limit),
        sample_shape=(X_train.shape[1],),
        n_classes=None if regression else 2,
        info=info,
    )


# --- a user's own file -------------------------------------------------------------------------


def guess_task(y: np.ndarray) -> str:
    whole = bool(np.all(np.equal(np.mod(y, 1), 0)))
    return "classification" if whole and len(np.unique(y)) <= MAX_AUTO_CLASSES else "regression"


def _file(path: str, target: str | None, task: str, limit: int | None) -> TrainData:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    from workloads.train.files import read_file

    X, y, info = read_file(path, target)
    if len(X) < FILE_MIN_ROWS:
        raise DataError(
            f"{path}: has {len(X)} rows; needs at least {FILE_MIN_ROWS} "
            f"(a fifth is held out to test)"
        )
    task = guess_task(y) if task == "auto" else task
    n_classes = None
    classes = None
    if task == "classification":
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise DataError(f"{path}: --task classification needs whole-number class labels")
        classes, y = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise DataError(f"{path}: the target has a single class ({classes[0]:g})")
        n_classes = len(classes)
        y = y.astype(np.int64)
    split = {"test_size": FILE_TEST_FRACTION, "random_state": DATA_SEED}
    try:
        parts = train_test_split(X, y, stratify=y if task == "classification" else None, **split)
    except ValueError:  # a class too rare to stratify on
        parts = train_test_split(X, y, **split)
    X_train, X_test, y_train, y_test = parts
    # Standardised features (fitted on the training split): the networks train as well on a
    # column of prices as on one of fractions; the scikit-learn rows see the same numbers.
    scaler = StandardScaler().fit(X_train)
    X_train = scaler.transform(X_train).astype(np.float32)
    X_test = scaler.transform(X_test).astype(np.float32)
    info = {
        "source": "file",
        "location": info.pop("path"),
        "reader": f"{read_file.__module__} ({info.pop('format')})",
        "full_train_rows": len(X_train),
        "full_test_rows": len(X_test),
        **info,
    }
    if classes is not None:
        info["class_values"] = [float(c) for c in classes]
    return TrainData(
        name="file",
        task=task,
        X_train=_cap(X_train, limit),
        y_train=_cap(y_train, limit),
        X_test=_cap(X_test, limit),
        y_test=_cap(y_test, limit),
        sample_shape=(X.shape[1],),
        n_classes=n_classes,
        info=info,
    )
