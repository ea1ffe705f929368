"""The estimators of ``workloads train``: which networks exist, their hyperparameters, and how
each row's estimator is built for the data it will see (the train workload's model registry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workloads.errors import WorkloadError
from workloads.train.datasets import DATASETS

if TYPE_CHECKING:  # light at import: the CLI reads NETS, and placement imports torch
    from workloads.train.data import TrainData
    from workloads.train.placement import Placement


@dataclass(frozen=True)
class Hyper:
    """Training hyperparameters per network; the MLP's are the digits workload's."""

    optimizer: str
    lr: float
    weight_decay: float
    batch_size: int


HYPER = {
    "mlp": Hyper("AdamW", 5e-4, 1e-3, 128),
    "cnn": Hyper("AdamW", 1e-3, 1e-3, 128),
    # No weight decay: it would pull the fitted slope and intercept towards zero.
    "linear": Hyper("Adam", 0.05, 0.0, 64),
}


# What --net accepts: "auto" (the data set's default) or a network of HYPER.
NETS: tuple[str, ...] = ("auto", *HYPER)
NET_SUMMARIES = {
    "mlp": "the digits network (256, 128, 64), sized to the data",
    "cnn": "two conv blocks and a dense head, for image sets",
    "linear": "one linear layer, for the linear regression set",
}


def resolve_net(net: str, data: TrainData) -> str:
    """``net`` as asked, ``auto`` replaced by the data set's default; refuses a net the data
    cannot train."""
    if net == "auto":
        net = DATASETS[data.name].net if data.name in DATASETS else "mlp"
    if net == "cnn" and not data.is_image:
        raise WorkloadError("--net cnn: needs an image data set (mnist, fashion-mnist, cifar10)")
    if net == "cnn" and data.task != "classification":
        raise WorkloadError("--net cnn: classifies images; this is a regression set")
    if net == "linear" and data.task != "regression":
        raise WorkloadError("--net linear: fits a regression; this is a classification set")
    return net


def safe_batch_size(rows: int, batch_size: int) -> int:
    """``batch_size``, lowered so that no batch has one row: BatchNorm cannot train on one."""
    b = min(batch_size, rows)
    while b > 2 and rows % b == 1:
        b -= 1
    return b


def module_for(net: str, data: TrainData) -> tuple[type, dict[str, Any]]:
    from workloads.networks import DigitsNet, LinearNet, SmallCNN

    if net == "cnn":
        c, h, w = data.sample_shape
        return SmallCNN, {"channels": c, "height": h, "width": w, "n_classes": data.n_classes}
    if net == "linear":
        return LinearNet, {"in_features": data.in_features}
    classification = data.task == "classification"
    return DigitsNet, {
        "in_features": data.in_features,
        "n_outputs": data.n_classes if classification else 1,
        "softmax": classification,
    }


def build_skorch(net: str, data: TrainData, epochs: int, device: str, placement: Placement):
    """A fresh skorch estimator: the resident fast path when the data sits on the device."""
    import torch
    from skorch import NeuralNetClassifier, NeuralNetRegressor

    from workloads.skorch_fast import FastNeuralNetClassifier

    hyper = HYPER[net]
    module, module_kwargs = module_for(net, data)
    kwargs: dict[str, Any] = {
        "max_epochs": epochs,
        "lr": hyper.lr,
        "optimizer": getattr(torch.optim, hyper.optimizer),
        "batch_size": safe_batch_size(len(data.X_train), hyper.batch_size),
        "device": device,
        "train_split": None,  # the test split is held out by the runner, not by skorch
        "verbose": 0,
        **{f"module__{k}": v for k, v in module_kwargs.items()},
    }
    if hyper.weight_decay:
        kwargs["optimizer__weight_decay"] = hyper.weight_decay
    if placement.where == "device" and data.task == "classification":
        return FastNeuralNetClassifier(module, **kwargs)
    kwargs["iterator_train__shuffle"] = True
    for it in ("iterator_train", "iterator_valid"):
        kwargs[f"{it}__num_workers"] = placement.workers
        kwargs[f"{it}__pin_memory"] = placement.pin_memory
    if placement.workers:
        # Workers live for the whole fit, not one epoch: their start-up is paid once.
        kwargs["iterator_train__persistent_workers"] = True
    cls = NeuralNetClassifier if data.task == "classification" else NeuralNetRegressor
    return cls(module, **kwargs)


def build_sklearn(data: TrainData, net: str, epochs: int, seed: int):
    if data.task == "regression":
        from sklearn.linear_model import LinearRegression

        return "sk-linreg", LinearRegression()
    from workloads.estimators import sk_mlp

    hyper = HYPER[net]
    # The digits workload's sk-mlp, sized to this data. A CNN has no scikit-learn counterpart;
    # the MLP on the same pixels is the nearest.
    return "sk-mlp", sk_mlp(
        batch_size=safe_batch_size(len(data.X_train), hyper.batch_size),
        lr=hyper.lr,
        alpha=hyper.weight_decay or 1e-4,
        epochs=epochs,
        seed=seed,
    )
