"""Tiny but real-format data files, written the way the real ones are, for the train tests.

MNIST-style IDX files and CIFAR-10 python pickle batches in torchvision's folder layout, so the
tests read them through torchvision's own dataset classes, exactly as a user's download would
be read. The pictures are learnable: class k is noise plus a bright band at a place of its own,
so a working stack learns them in a few epochs and a broken one does not.
"""

from __future__ import annotations

import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CIFAR_LABELS = [
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


def banded_images(n: int, channels: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(n, channels, size, size)`` uint8 pictures and their labels 0..9."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 80, size=(n, channels, size, size), dtype=np.uint8)
    band = size // 10
    for i, k in enumerate(labels):
        images[i, :, k * band : (k + 1) * band, :] = 255
    return images, labels.astype(np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    """The IDX format (big-endian dims after a magic of 0x08 = ubyte, then the rank)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_mnist(root: Path, folder: str = "MNIST", train: int = 200, test: int = 100) -> Path:
    """``root/<folder>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``; returns the raw dir."""
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", train, 1), ("test", test, 2)):
        images, labels = banded_images(n, 1, 28, seed)
        image_file, label_file = MNIST_FILES[split]
        write_idx(raw / image_file, images[:, 0])
        write_idx(raw / label_file, labels)
    return raw


def write_cifar10(root: Path, per_batch: int = 40, test: int = 100) -> dict[str, str]:
    """``root/cifar-10-batches-py/``: five training batches, a test batch and batches.meta.

    Returns each file's MD5: torchvision checks the real set's MD5s, so a test that reads these
    files gives torchvision theirs (the check itself still runs).
    """
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    batches = [(f"data_batch_{i}", per_batch, 10 + i) for i in range(1, 6)]
    batches.append(("test_batch", test, 99))
    for name, n, seed in batches:
        images, labels = banded_images(n, 3, 32, seed)
        entry = {
            "batch_label": name,
            # Rows of 3072 bytes: the red plane, then green, then blue, as in the real files.
            "data": images.reshape(n, 3 * 32 * 32),
            "labels": [int(v) for v in labels],
            "filenames": [f"{name}_{i}.png" for i in range(n)],
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {"label_names": CIFAR_LABELS, "num_cases_per_batch": per_batch, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return {
        p.name: hashlib.md5(p.read_bytes(), usedforsecurity=False).hexdigest()
        for p in folder.iterdir()
    }
