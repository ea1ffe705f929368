"""What the machine is: cores, CPU, GPU, library versions, and which device a run gets.

Recorded in every result, never a hostname.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata

from workloads import DEVICES
from workloads.errors import WorkloadError


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


# The packages a row's numbers depend on, by the row's library.
ROW_PACKAGES = {
    "skorch": ("skorch", "torch", "numpy"),
    "torch": ("torch", "numpy"),
    "scikit-learn": ("scikit-learn", "numpy"),
}


def row_versions(library: str) -> dict[str, str | None]:
    """The versions recorded with one row: its library and what that library computes with."""
    return {name: package_version(name) for name in ROW_PACKAGES[library]}


def check_device(device: str) -> None:
    if device not in DEVICES:
        raise WorkloadError(f"--device: must be one of {', '.join(DEVICES)}, got {device!r}")


def resolve_device(requested: str) -> str:
    """``auto`` → cuda when torch sees a GPU, else cpu; ``cuda`` without one is an error."""
    import torch

    if requested == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        build = f"torch {torch.__version__}"
        why = "a CPU-only build" if torch.version.cuda is None else "no device visible"
        raise WorkloadError(f"--device cuda: no CUDA device is available ({build}, {why})")
    return "cpu"


def gpu_name(device: str) -> str | None:
    import torch

    if not device.startswith("cuda") or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(torch.device(device))


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
