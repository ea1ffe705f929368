"""scikit-learn's digits, split and tiled the way the benchmark needs them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The seed tutorial's split seed; fixed so every row and every run sees the same test set.
SPLIT_SEED = 42
TEST_SIZE = 0.3


@dataclass(frozen=True)
class DigitsSplit:
    """A stratified 70/30 split: pixel values scaled to [0, 1] as float32, labels as int64."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    def tiled(self, scale: int) -> tuple[np.ndarray, np.ndarray]:
        """The training set repeated ``scale`` times (the test set is never tiled)."""
        if scale < 1:
            raise ValueError(f"scale must be a positive integer, got {scale}")
        return np.tile(self.X_train, (scale, 1)), np.tile(self.y_train, scale)


def load_digits_split(seed: int = SPLIT_SEED) -> DigitsSplit:
    """Load the digits (shipped with scikit-learn, no download) and split them."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, random_state=seed, stratify=y
    )
    return DigitsSplit(
        X_train=np.ascontiguousarray(X_train),
        y_train=np.ascontiguousarray(y_train),
        X_test=np.ascontiguousarray(X_test),
        y_test=np.ascontiguousarray(y_test),
    )
