"""How every workload times its rows: warm-up, device-synchronised clocks, seeds, pinned threads.

Both runners use these and nothing else for timing, so a digits row and a train row are measured
the same way: the device is drained before and after each clock, one-time costs are paid in an
untimed warm-up, and every BLAS / OpenMP pool runs on the same pinned thread count.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

# What a runner reports while it works: (what is running now, fits completed so far).
ProgressFn = Callable[[str, int], None]


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: str) -> tuple[Any, float]:
    """Run ``fn``; seconds measured with the device drained before and after."""
    synchronize(device)
    start = time.perf_counter()
    out = fn()
    synchronize(device)
    return out, time.perf_counter() - start


def seed_everything(seed: int) -> None:
    import torch

    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too


def warm_up(estimator: Any, X: Any, y: Any, X_predict: Any, device: str, seed: int) -> None:
    """One untimed fit and predict of a throw-away ``estimator``, so the first row does not pay
    the device's one-time costs.

    CUDA context, cuBLAS handles and workspaces, kernel loading, CUDA-graph machinery and
    skorch's first-use imports all land here. The caller builds a small estimator (one epoch on
    a slice of the data) on the device the rows will use.
    """
    seed_everything(seed)
    estimator.fit(X, y)
    estimator.predict(X_predict)
    synchronize(device)


@contextmanager
def pinned_threads(threads: int) -> Iterator[dict]:
    """Pin torch's intra-op threads and every BLAS/OpenMP pool to ``threads``; yield what holds.

    Unpinned, scikit-learn's BLAS and torch's pool each size themselves to the machine and the
    numbers stop being comparable between machines (or between runs in a busy container).
    """
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            yield {
                "requested": threads,
                "torch_intraop": torch.get_num_threads(),
                "torch_interop": torch.get_num_interop_threads(),
                "pools": [
                    {
                        "api": pool.get("internal_api"),
                        "library": pool.get("prefix"),
                        "version": pool.get("version"),
                        "threads": pool.get("num_threads"),
                    }
                    for pool in threadpool_info()
                ],
            }
    finally:
        torch.set_num_threads(previous)
