"""Container and environment probes: files and variables only, nothing that can hang."""

from __future__ import annotations

import glob
import os
from typing import Any

# Only these variables are ever read: the environment holds secrets, so no prefix matching.
ENV_VARS = (
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "CUDA_HOME",
    "CUDA_PATH",
    "CUDA_MODULE_LOADING",
    "CUDA_LAUNCH_BLOCKING",
    "CUDA_CACHE_DISABLE",
    "CUDA_FORCE_PTX_JIT",
    "CUDA_DISABLE_PTX_JIT",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
    "NVIDIA_REQUIRE_CUDA",
    "NVIDIA_DISABLE_REQUIRE",
    "NVIDIA_TF32_OVERRIDE",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "TORCH_CUDA_ARCH_LIST",
    "PYTORCH_CUDA_ALLOC_CONF",
    "PYTORCH_NVML_BASED_CUDA_CHECK",
    "CUBLAS_WORKSPACE_CONFIG",
    "CUDNN_PATH",
    "NCCL_DEBUG",
    "NCCL_P2P_DISABLE",
    "NCCL_IB_DISABLE",
    "OMP_NUM_THREADS",
)


def env() -> dict[str, str]:
    return {name: os.environ[name] for name in ENV_VARS if name in os.environ}


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def container() -> dict[str, Any]:
    evidence = []
    runtime = None
    if "KUBERNETES_SERVICE_HOST" in os.environ:
        evidence.append("KUBERNETES_SERVICE_HOST is set")
        runtime = "kubernetes"
    if os.path.exists("/.dockerenv"):
        evidence.append("/.dockerenv")
        runtime = runtime or "docker"
    if os.path.exists("/run/.containerenv"):
        evidence.append("/run/.containerenv")
        runtime = runtime or "podman"
    cgroup = _read("/proc/1/cgroup")
    for marker, name in (
        ("kubepods", "kubernetes"),
        ("docker", "docker"),
        ("containerd", "containerd"),
        ("lxc", "lxc"),
    ):
        if marker in cgroup:
            evidence.append(f"/proc/1/cgroup mentions {marker}")
            runtime = runtime or name
            break
    try:
        shm = os.statvfs("/dev/shm")
        shm_mib = shm.f_blocks * shm.f_frsize // (1024 * 1024)
    except OSError:
        shm_mib = None
    return {
        "inside": bool(evidence),
        "runtime": runtime,
        "evidence": evidence,
        "device_nodes": sorted(glob.glob("/dev/nvidia*")),
        "shm_mib": shm_mib,
    }
