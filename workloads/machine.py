"""What the machine is and how many threads the run may use: recorded, never a hostname."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def library_versions() -> dict[str, str | None]:
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": str(torch.backends.cudnn.version())
        if torch.backends.cudnn.is_available()
        else None,
        "skorch": package_version("skorch"),
        "scikit-learn": package_version("scikit-learn"),
        "numpy": package_version("numpy"),
        "threadpoolctl": package_version("threadpoolctl"),
    }


def gpu_name(device: str) -> str | None:
    import torch

    if not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(torch.device(device))


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


def describe_machine(device: str, threads: dict) -> dict:
    """The machine block of the result: enough to compare runs, nothing that identifies a host."""
    return {
        "os": platform.system(),
        "arch": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_usable": usable_cores(),
        "gpu_name": gpu_name(device),
        "versions": library_versions(),
        "threads": threads,
    }
