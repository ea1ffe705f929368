"""The rows of the digits benchmark (its model registry): names, what each one is, how to build it.

Every builder returns a *new* estimator each time it is called, and each spec names the class it
must return: the runner refuses a row whose estimator is shared with another row or is not the
declared class, which is how the seed tutorial's bug (fitting ``net`` in the ``LinearRegression``
rows) becomes impossible rather than merely absent.

Heavy imports live inside the builders so that listing the models (``--help``) stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrainSettings:
    """What every row shares: the seed tutorial's hyperparameters and the device to use."""

    device: str = "cpu"
    epochs: int = 20
    batch_size: int = 128
    lr: float = 5e-4
    weight_decay: float = 1e-3
    seed: int = 0


@dataclass(frozen=True)
class ModelSpec:
    name: str
    library: str  # "skorch", "torch" or "scikit-learn"
    neural: bool  # neural-net rows must reach the accuracy threshold
    on_device: bool  # runs on the selected device; scikit-learn rows always run on the CPU
    estimator: str  # class name of what build() must return (exactly that class, no subclass)
    summary: str
    build: Callable[[TrainSettings], Any]


def _seed_net_params(s: TrainSettings) -> dict[str, Any]:
    """The seed's skorch settings, shared by both skorch rows. verbose=0 only silences the
    per-epoch table, which would otherwise land in the middle of our JSON on stdout."""
    import torch

    return {
        "max_epochs": s.epochs,
        "lr": s.lr,
        "optimizer": torch.optim.AdamW,
        "optimizer__weight_decay": s.weight_decay,
        "batch_size": s.batch_size,
        "device": s.device,
        "verbose": 0,
    }


def _skorch_ref(s: TrainSettings):
    from skorch import NeuralNetClassifier

    from workloads.networks import DigitsNet

    # The seed's configuration exactly, skorch's default validation split included.
    return NeuralNetClassifier(DigitsNet, iterator_train__shuffle=True, **_seed_net_params(s))


def _skorch_fast(s: TrainSettings):
    from workloads.networks import DigitsNet
    from workloads.skorch_fast import FastNeuralNetClassifier

    return FastNeuralNetClassifier(DigitsNet, **_seed_net_params(s))


def _torch_loop(s: TrainSettings):
    from workloads.digits.torch_loop import TorchLoopClassifier

    return TorchLoopClassifier(
        device=s.device,
        epochs=s.epochs,
        batch_size=s.batch_size,
        lr=s.lr,
        weight_decay=s.weight_decay,
    )


def _sk_mlp(s: TrainSettings):
    from workloads.estimators import sk_mlp

    return sk_mlp(
        batch_size=s.batch_size, lr=s.lr, alpha=s.weight_decay, epochs=s.epochs, seed=s.seed
    )


def _sk_logreg(s: TrainSettings):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def _sk_linreg_onehot(s: TrainSettings):
    from workloads.digits.onehot_linear import OneHotLinearRegression

    return OneHotLinearRegression()


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "skorch-ref",
            "skorch",
            True,
            True,
            "NeuralNetClassifier",
            "the seed's NeuralNetClassifier exactly (DataLoader, 20% validation split)",
            _skorch_ref,
        ),
        ModelSpec(
            "skorch-fast",
            "skorch",
            True,
            True,
            "FastNeuralNetClassifier",
            "same net and optimizer, data on the device, CUDA graphs on CUDA",
            _skorch_fast,
        ),
        ModelSpec(
            "torch-loop",
            "torch",
            True,
            True,
            "TorchLoopClassifier",
            "plain PyTorch loop around the same training step (the floor)",
            _torch_loop,
        ),
        ModelSpec(
            "sk-mlp",
            "scikit-learn",
            True,
            False,
            "MLPClassifier",
            "MLPClassifier (256, 128, 64), same batch and lr, exactly N epochs",
            _sk_mlp,
        ),
        ModelSpec(
            "sk-logreg",
            "scikit-learn",
            False,
            False,
            "LogisticRegression",
            "LogisticRegression(max_iter=1000)",
            _sk_logreg,
        ),
        ModelSpec(
            "sk-linreg-onehot",
            "scikit-learn",
            False,
            False,
            "OneHotLinearRegression",
            "LinearRegression on one-hot targets, argmax as the class",
            _sk_linreg_onehot,
        ),
    )
}

MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
