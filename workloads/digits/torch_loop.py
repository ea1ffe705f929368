"""The floor: the digits network trained by a plain PyTorch loop, no skorch in the way.

It shares :class:`~workloads.skorch_fast.ResidentTrainer` with the skorch fast path on purpose: the
difference between the two rows is then exactly what skorch's machinery costs around the same
training step, and the fast path has a fixed target to approach.
"""

from __future__ import annotations

import numpy as np
import torch

from workloads.networks import DigitsNet
from workloads.skorch_fast import (
    ResidentTrainer,
    as_feature_tensor,
    as_target_tensor,
    build_optimizer,
)


def nll_of_probabilities(y_proba: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:
    """The loss skorch's ``NeuralNetClassifier`` uses for a softmax-output module."""
    eps = torch.finfo(y_proba.dtype).eps
    return torch.nn.functional.nll_loss(torch.log(y_proba + eps), y_true)


class TorchLoopClassifier:
    """``fit`` / ``predict`` over a hand-written loop (duck-typed, not a scikit-learn estimator)."""

    def __init__(
        self,
        *,
        device: str = "cpu",
        epochs: int = 20,
        batch_size: int = 128,
        lr: float = 5e-4,
        weight_decay: float = 1e-3,
        cuda_graphs: bool = True,
    ):
        self.device = device
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.cuda_graphs = cuda_graphs

    def fit(self, X, y) -> TorchLoopClassifier:
        self.module_ = DigitsNet().to(self.device)
        self.optimizer_ = build_optimizer(
            torch.optim.AdamW,
            self.module_.parameters(),
            self.device,
            self.cuda_graphs,
            lr=self.lr,
            weight_decay=self.weight_decay,
        )
        trainer = ResidentTrainer(
            self.module_,
            self.optimizer_,
            nll_of_probabilities,
            as_feature_tensor(X, self.device, torch.float32),
            as_target_tensor(y, self.device),
            batch_size=self.batch_size,
            use_graphs=self.cuda_graphs,
        )
        losses = [trainer.run_epoch() for _ in range(self.epochs)]
        # One host read for the whole fit, after the last epoch.
        self.epoch_losses_ = torch.stack(losses).tolist() if losses else []
        self.epochs_run_ = len(losses)
        self.fit_used_graphs_ = trainer._graph is not None
        return self

    @torch.no_grad()
    def predict(self, X) -> np.ndarray:
        self.module_.eval()
        X_dev = as_feature_tensor(X, self.device, torch.float32)
        return self.module_(X_dev).argmax(dim=1).cpu().numpy()
