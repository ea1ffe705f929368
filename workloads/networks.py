"""The torch networks both workloads train.

``DigitsNet`` is the seed tutorial's digits network, kept exactly as the tutorial defines it;
``workloads train`` sizes the same shape to its data and adds a small CNN and a line.

Every module takes flat rows (``(n, features)`` float32): the data pipeline, the resident fast
path and the scikit-learn rows then all see the same arrays, and the CNN restores the image shape
itself.
"""

from __future__ import annotations

from torch import nn


class DigitsNet(nn.Module):
    """64 → 256 (BatchNorm1d, ReLU, Dropout 0.3) → 128 → 64 → 10, softmax output.

    The softmax output is the seed's choice; skorch's ``NeuralNetClassifier`` pairs it with
    ``NLLLoss`` by taking the log itself, and every row that trains this network uses that same
    loss, so the rows differ only in how they drive the training, not in what they train.

    The defaults are the seed's network exactly; ``workloads train`` sizes the same shape to its
    data (``in_features``, ``n_outputs``) and drops the softmax for regression.
    """

    def __init__(
        self,
        num_units: int = 256,
        nonlin: nn.Module | None = None,
        in_features: int = 64,
        n_outputs: int = 10,
        softmax: bool = True,
    ):
        super().__init__()
        self.dense0 = nn.Linear(in_features, num_units)
        self.bn0 = nn.BatchNorm1d(num_units)
        # A fresh ReLU per instance: a module as a default argument would be shared by every
        # network built in the process.
        self.nonlin = nonlin if nonlin is not None else nn.ReLU()
        self.dropout = nn.Dropout(0.3)
        self.dense1 = nn.Linear(num_units, num_units // 2)
        self.dense2 = nn.Linear(num_units // 2, num_units // 4)
        self.output = nn.Linear(num_units // 4, n_outputs)
        self.softmax = nn.Softmax(dim=-1) if softmax else nn.Identity()

    def forward(self, X, **kwargs):
        X = self.nonlin(self.bn0(self.dense0(X)))
        X = self.dropout(X)
        X = self.nonlin(self.dense1(X))
        X = self.nonlin(self.dense2(X))
        return self.softmax(self.output(X))


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
