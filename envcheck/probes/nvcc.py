"""nvcc probe: which CUDA compiler a build would use, and its release."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from typing import Any

from envcheck.facts import ErrorKind

_RELEASE = re.compile(r"release (\d+\.\d+), (V[\d.]+)")


def _candidates() -> list[tuple[str, str]]:
    """(path, how it was found), in the order a build would pick them (PATH first)."""
    found = []
    on_path = shutil.which("nvcc")
    if on_path:
        found.append((on_path, "PATH"))
    for var in ("CUDA_HOME", "CUDA_PATH"):
        root = os.environ.get(var)
        if root:
            found.append((os.path.join(root, "bin", "nvcc"), var))
    found.append(("/usr/local/cuda/bin/nvcc", "/usr/local/cuda"))
    return [(p, via) for p, via in found if os.path.isfile(p) and os.access(p, os.X_OK)]


def cuda_compat_libs() -> list[str]:
    """libcuda.so of a CUDA forward-compatibility package (cuda-compat-*), if one is installed."""
    roots = {os.environ.get("CUDA_HOME") or "", "/usr/local/cuda", *glob.glob("/usr/local/cuda-*")}
    paths = set()
    for root in filter(None, roots):
        paths.update(glob.glob(os.path.join(root, "compat", "libcuda.so.*")))
    return sorted(paths)


def probe(timeout: float) -> dict[str, Any]:
    result: dict[str, Any] = {"cuda_compat_libs": cuda_compat_libs()}
    candidates = _candidates()
    if not candidates:
        return result
    path, via = candidates[0]
    result.update(path=path, found_via=via)
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {
            **result,
            "error": f"`nvcc --version` did not finish within {timeout:g} s",
            "error_kind": ErrorKind.TIMEOUT,
        }
    except OSError as exc:
        return {
            **result,
            "error": f"cannot run {path}: {exc.strerror}",
            "error_kind": ErrorKind.OTHER,
        }
    match = _RELEASE.search(out.stdout)
    if not match:
        return {
            **result,
            "error": f"unrecognised `nvcc --version` output (exit {out.returncode})",
            "error_kind": ErrorKind.OTHER,
        }
    return {**result, "version": match.group(1), "build": match.group(2)}
