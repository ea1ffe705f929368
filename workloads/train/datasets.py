"""The registry of ``workloads train``'s data sets: names, tasks, default epochs and networks.

Pure data and name parsing, nothing heavy: the CLI builds its choices and help text from it, and
``workloads.train.data`` loads what it names.
"""

from __future__ import annotations

from dataclasses import dataclass

from workloads.errors import WorkloadError

TASKS = ("auto", "classification", "regression")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    task: str  # "classification" or "regression"; a file's is decided when it is read
    source: str  # "torchvision", "synthetic" or "file"
    epochs: int  # the default --epochs
    net: str  # the default network: "mlp", "cnn" or "linear"
    summary: str


DATASETS: dict[str, DatasetSpec] = {
    s.name: s
    for s in (
        DatasetSpec(
            "mnist",
            "classification",
            "torchvision",
            5,
            "mlp",
            "MNIST, 70,000 × 28×28 (torchvision's files in --data-dir, see --download)",
        ),
        DatasetSpec(
            "fashion-mnist",
            "classification",
            "torchvision",
            5,
            "mlp",
            "Fashion-MNIST, 70,000 × 28×28 (as mnist)",
        ),
        DatasetSpec(
            "cifar10",
            "classification",
            "torchvision",
            10,
            "cnn",
            "CIFAR-10, 60,000 × 3×32×32 (as mnist)",
        ),
        DatasetSpec(
            "synthetic-linear",
            "regression",
            "synthetic",
            50,
            "linear",
            "the seed's y = 3x + 2 + N(0, 1), x ~ U(0, 1): NeuralNetRegressor against "
            "LinearRegression, judged on slope and intercept",
        ),
        DatasetSpec(
            "synthetic-classification",
            "classification",
            "synthetic",
            20,
            "mlp",
            "the seed's y = [x1 + x2 > 1], x ~ U(0, 1)²",
        ),
        DatasetSpec(
            "file",
            "auto",
            "file",
            20,
            "mlp",
            ".csv (--target column, default the last), .npz (arrays X, y) or .pt/.pth "
            "(torch.save({'X': X, 'y': y}))",
        ),
    )
}


def usage(name: str) -> str:
    """How --dataset spells a data set: its name, or ``file:PATH`` for a file."""
    return "file:PATH" if DATASETS[name].source == "file" else name


def parse_dataset(value: str) -> tuple[str, str | None]:
    """``mnist`` → ("mnist", None); ``file:PATH`` → ("file", PATH). Raises WorkloadError."""
    if value.startswith("file:"):
        path = value[len("file:") :]
        if not path:
            raise WorkloadError("--dataset file:PATH: give the file's path after 'file:'")
        return "file", path
    if value in DATASETS and value != "file":
        return value, None
    known = ", ".join(n for n in DATASETS if n != "file")
    raise WorkloadError(f"--dataset: unknown data set {value!r} (known: {known}, file:PATH)")
