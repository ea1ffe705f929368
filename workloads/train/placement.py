"""Where the training set lives while a net trains: whole on the device, or streamed to it.

A set whose float32 size fits the memory budget is copied to the device once and trained from
there (skorch's fast path). A larger one stays in host memory in its stored dtype (uint8 for
images) and reaches the device batch by batch through a ``DataLoader``: worker processes decode
and scale the rows, pinned host memory makes the copies asynchronous on CUDA.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

# The data may take this share of what is free: the model, its activations, optimizer state and
# the library's workspaces need the rest.
BUDGET_SHARE = 0.25
MIB = 1024 * 1024


class ArrayDataset(Dataset):
    """Rows of an array as ``(features, target)`` samples, scaled to float32 one row at a time.

    The ``torch.utils.data.Dataset`` the seed tutorial sketches for one's own data, over arrays
    that every source (torchvision's files, generated sets, a user's file) has already checked.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, scale: float = 1.0, regression=False):
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        self.X = X
        self.y = y.astype(np.float32).reshape(-1, 1) if regression else y.astype(np.int64)
        self.scale = np.float32(scale)

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i: int):
        x = torch.from_numpy(self.X[i].astype(np.float32) * self.scale)
        return x, torch.as_tensor(self.y[i])


def available_bytes(device: str) -> int | None:
    """Free memory where the data would sit: the GPU's free memory, or the host's MemAvailable."""
    if device.startswith("cuda"):
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


@dataclass(frozen=True)
class Placement:
    where: str  # "device": whole on the device; "loader": batches through a DataLoader
    data_bytes: int  # the training set as float32 features plus targets
    budget_bytes: int | None
    budget_source: str  # "--memory-budget" or what the automatic budget was derived from
    workers: int
    pin_memory: bool

    def to_json(self) -> dict:
        return {
            "where": self.where,
            "data_bytes": self.data_bytes,
            "budget_bytes": self.budget_bytes,
            "budget_source": self.budget_source,
            "workers": self.workers,
            "pin_memory": self.pin_memory,
        }


def default_workers(cores: int) -> int:
    # Leave a core for the training loop itself; more than 4 rarely helps these small rows.
    return max(0, min(4, cores - 1))


def choose_placement(
    data_bytes: int,
    device: str,
    budget_mib: int | None,
    workers: int,
    resident_possible: bool = True,
) -> Placement:
    """``device`` if the set fits the budget and the row has a resident path, else ``loader``."""
    if budget_mib is not None:
        budget, source = budget_mib * MIB, "--memory-budget"
    else:
        free = available_bytes(device)
        budget = None if free is None else int(free * BUDGET_SHARE)
        kind = "GPU" if device.startswith("cuda") else "host"
        source = f"{int(BUDGET_SHARE * 100)}% of free {kind} memory"
    fits = budget is None or data_bytes <= budget
    if fits and resident_possible:
        return Placement("device", data_bytes, budget, source, 0, False)
    if fits:
        # In budget, but the row has no resident path: skorch's own loader, in-process.
        return Placement("loader", data_bytes, budget, source, 0, False)
    return Placement("loader", data_bytes, budget, source, workers, device.startswith("cuda"))
