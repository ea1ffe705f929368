"""torch probe: what torch was built with, what it really loads, and a smoke test per GPU.

This file runs as a script in a child process (``python torch_runtime.py [--smoke]``), possibly
under another interpreter than envcheck's own (``envcheck --python``), so it imports nothing but
the standard library and torch. It prints JSON lines as it goes: ``torch`` (the whole section so
far, re-sent as it grows), ``smoke`` (one GPU's result per line) and ``stage`` (the step it is
about to take, so a hang is named). CUDA initialisation and kernels can hang on a sick GPU; the
parent kills this process when its time is up.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from typing import Any

# File-name prefixes in /proc/self/maps -> the library kind we report. libcudnn.so is the
# front library; its sub-libraries (libcudnn_graph, ...) follow its version.
LIBRARY_KINDS = {
    "libcudart.so": "cudart",
    "libcudnn.so": "cudnn",
    "libcublas.so": "cublas",
    "libnvidia-ml.so": "nvml",
    "libcuda.so": "cuda",
}


def mapped_libraries(maps_path: str = "/proc/self/maps") -> list[dict[str, Any]]:
    """The CUDA-related shared libraries this process has mapped, in load order.

    The CUDA toolkit ships link-time stubs (``.../lib64/stubs/libnvidia-ml.so``, ``libcuda.so``)
    that load fine and then fail every call: flag them, they are a classic broken-image cause.
    """
    seen: dict[str, dict[str, Any]] = {}
    try:
        with open(maps_path) as maps:
            lines = maps.read().splitlines()
    except OSError:
        return []
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[5].startswith("/"):
            continue
        path = parts[5].strip()
        name = path.rsplit("/", 1)[-1]
        for prefix, kind in LIBRARY_KINDS.items():
            if name.startswith(prefix) and path not in seen:
                seen[path] = {"kind": kind, "path": path, "stub": "/stubs/" in path}
    return list(seen.values())


def emit(**parts: Any) -> None:
    sys.stdout.write(json.dumps(parts) + "\n")
    sys.stdout.flush()


def _cudnn_text(version: int | None) -> str | None:
    """cuDNN's integer version: 9.x is major*10000 + minor*100 + patch, 8.x major*1000 + ..."""
    if not version:
        return None
    if version >= 90000:
        return f"{version // 10000}.{version % 10000 // 100}.{version % 100}"
    return f"{version // 1000}.{version % 1000 // 100}.{version % 100}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def _arch_list(torch: Any) -> list[str]:
    # get_arch_list() answers [] whenever CUDA is unavailable; the compiled-in flags do not
    # depend on a working driver, and that is exactly when we need them.
    flags = getattr(torch._C, "_cuda_getArchFlags", lambda: None)()
    if flags:
        return flags.split()
    return list(torch.cuda.get_arch_list())


def _cudnn_compiled(torch: Any) -> str | None:
    cudnn = getattr(torch._C, "_cudnn", None)
    if cudnn is None:
        return None
    major, minor, patch = cudnn.getCompileVersion()
    return f"{major}.{minor}.{patch}"


def _smoke(torch: Any, index: int) -> dict[str, Any]:
    """A matmul and a cuDNN convolution on one GPU against the CPU, TF32 off for a fair compare."""
    result: dict[str, Any] = {"index": index, "ok": False}
    start = time.perf_counter()
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        gen = torch.Generator().manual_seed(index)
        a, b = torch.randn(512, 512, generator=gen), torch.randn(512, 512, generator=gen)
        x, w = torch.randn(8, 16, 32, 32, generator=gen), torch.randn(32, 16, 3, 3, generator=gen)
        device = torch.device("cuda", index)
        matmul = (a.to(device) @ b.to(device)).cpu()
        conv = torch.nn.functional.conv2d(x.to(device), w.to(device), padding=1).cpu()
        torch.cuda.synchronize(device)

        def rel_err(got: Any, want: Any) -> float:
            return float((got - want).abs().max() / want.abs().max())

        result["matmul_max_err"] = rel_err(matmul, a @ b)
        result["conv_max_err"] = rel_err(conv, torch.nn.functional.conv2d(x, w, padding=1))
        result["ok"] = max(result["matmul_max_err"], result["conv_max_err"]) < 1e-3
    except Exception as exc:  # a broken GPU must become a result, not end the probe
        result["error"] = f"{type(exc).__name__}: {_first_line(str(exc))}"
    result["seconds"] = round(time.perf_counter() - start, 4)
    return result


def main(argv: list[str]) -> int:
    info: dict[str, Any] = {"python": sys.executable}
    emit(stage="import torch")
    try:
        import torch
    except Exception as exc:
        # Only torch itself missing is "not installed"; a CUDA library torch needs that does
        # not load (OSError from the loader, ImportError of a submodule) is a broken install.
        if isinstance(exc, ModuleNotFoundError) and exc.name == "torch":
            kind, error = "not_installed", f"torch is not importable: {exc}"
        elif isinstance(exc, (ImportError, OSError)):
            kind, error = "import_failed", f"{type(exc).__name__}: {_first_line(str(exc))}"
        else:
            kind, error = "crashed", f"importing torch crashed: {type(exc).__name__}: {exc}"
        emit(torch={**info, "error": error, "error_kind": kind})
        return 0
    info.update(
        version=torch.__version__,
        cuda=torch.version.cuda,
        cudnn_compiled=_cudnn_compiled(torch),
        arch_list=_arch_list(torch),
    )
    emit(torch=info)

    emit(stage="torch.cuda.is_available()")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info["cuda_available"] = torch.cuda.is_available()
    if not info["cuda_available"] and caught:
        info["cuda_error"] = _first_line(str(caught[-1].message))
    if info["cuda_available"]:
        emit(stage="CUDA initialisation")
        # CUDA initialisation warns of GPUs the build has no kernels for ("sm_120 is not
        # compatible with the current PyTorch installation"): keep what it says.
        with warnings.catch_warnings(record=True) as init_warnings:
            warnings.simplefilter("always")
            try:
                torch.cuda.init()
                info["device_count"] = torch.cuda.device_count()
                info["devices"] = [
                    {
                        "index": i,
                        "name": torch.cuda.get_device_name(i),
                        "capability": "{}.{}".format(*torch.cuda.get_device_capability(i)),
                    }
                    for i in range(info["device_count"])
                ]
            except Exception as exc:
                info["cuda_error"] = f"{type(exc).__name__}: {_first_line(str(exc))}"
        caught += init_warnings
    else:
        info["device_count"] = 0
    # Every line torch warned, for the checks that read torch's own words (envcheck.messages).
    info["messages"] = [
        line.strip()[:300] for w in caught for line in str(w.message).splitlines() if line.strip()
    ][:20]
    emit(stage="torch.backends.cudnn.version()")
    info["cudnn"] = _cudnn_text(torch.backends.cudnn.version()) if info["cuda"] else None
    emit(torch=info)

    if "--smoke" in argv and info.get("devices"):
        emit(smoke=[])
        for device in info["devices"]:
            emit(stage=f"smoke test on GPU {device['index']}")
            emit(smoke=[_smoke(torch, device["index"])])
    info["loaded_libraries"] = mapped_libraries()
    emit(torch=info, stage="done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
