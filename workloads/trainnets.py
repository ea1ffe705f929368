"""The networks of ``workloads train`` besides the digits MLP (``workloads.nets.DigitsNet``,
sized to the data): a small CNN and a line.

Every module takes flat rows (``(n, features)`` float32): the data pipeline, the resident fast
path and the scikit-learn rows then all see the same arrays, and the CNN restores the image shape
itself.
"""

from __future__ import annotations

from torch import nn


class SmallCNN(nn.Module):
    """Two conv blocks (32, 64 channels; BatchNorm, ReLU, 2×2 max-pool) → 128 → classes, softmax.

    Enough to learn CIFAR-10 well past chance in a few epochs, small enough to train on a CPU.
    """

    def __init__(self, channels: int = 3, height: int = 32, width: int = 32, n_classes: int = 10):
        super().__init__()
        self.shape = (channels, height, width)
        self.features = nn.Sequential(
            nn.Conv2d(channels, 32, kernel_size=3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        flat = 64 * (height // 4) * (width // 4)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, 128),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(128, n_classes),
            nn.Softmax(dim=-1),
        )

    def forward(self, X, **kwargs):
        return self.head(self.features(X.view(-1, *self.shape)))


class LinearNet(nn.Module):
    """One linear layer: the model the linear set was drawn from, so its weights are the fit."""

    def __init__(self, in_features: int = 1):
        super().__init__()
        self.linear = nn.Linear(in_features, 1)

    def forward(self, X, **kwargs):
        return self.linear(X)
