"""The torch, CUDA and NVML messages users paste: what each one states about the machine.

Which messages exist and what they mean is ``envcheck.messages``; this module turns the facts a
message states outright (a GPU's name and capability, the build's architectures, the driver's
CUDA, the cuDNN versions) into observations. Every recognised line is also kept in
``torch.messages``, where the checks read it, exactly as they read what the live probe saw.
"""

from __future__ import annotations

from typing import Any

from envcheck import messages
from envcheck.facts import ErrorKind
from envcheck.messages import Kind

# Messages that are the driver layer's own error (what NVML or nvidia-smi said).
_DRIVER_ERRORS = {
    Kind.NVML_MISMATCH: ErrorKind.VERSION_MISMATCH,
    Kind.SMI_NO_DRIVER: ErrorKind.DRIVER_NOT_LOADED,
    Kind.MODULE_NOT_LOADED: ErrorKind.DRIVER_NOT_LOADED,
    Kind.NO_DRIVER: ErrorKind.LIBRARY_NOT_FOUND,
    Kind.NVML_UNKNOWN: ErrorKind.NVML_UNKNOWN,
    Kind.NVML_NO_PERMISSION: ErrorKind.NO_PERMISSION,
}


def detect(text: str) -> bool:
    return bool(
        messages.classify(text)
        or messages.CUDA_AVAILABLE.search(text)
        or messages.NVCC_RELEASE.search(text)
    )


def _cc_from_sm(digits: str) -> str:
    return f"{digits[:-1]}.{digits[-1]}"


def _cudnn(numbers: str) -> str | None:
    """'8, 9, 2' -> '8.9.2'; an old integer '7102' -> '7.1.2'."""
    parts = [p for p in numbers.replace(" ", "").split(",") if p]
    if len(parts) == 3:
        return ".".join(parts)
    if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) >= 4:
        value = int(parts[0])
        return f"{value // 1000}.{value % 1000 // 100}.{value % 100}"
    return None


def parse(text: str) -> dict[str, Any]:
    found = messages.classify(text)
    observed: dict[str, Any] = {"driver": {}, "torch": {}}
    torch, driver = observed["torch"], observed["driver"]
    if match := messages.TORCH_VERSION.search(text):
        torch["version"] = match.group("version")
        if torch["version"].endswith("+cpu"):
            torch["cuda"] = None  # a CPU-only build, by its own name
    if match := messages.CUDA_AVAILABLE.search(text):
        torch["cuda_available"] = match.group("value") == "True"
    if match := messages.NVCC_RELEASE.search(text):  # `nvcc --version` pasted
        observed["nvcc"] = {"version": match.group("version"), "build": match.group("build")}
    if not found:
        return observed
    torch["messages"] = [m.line for m in found]
    gpus: dict[int, dict[str, Any]] = {}
    # torch's capability warnings state the GPU, and the build's architectures, on lines of their
    # own: a pasted warning is often wrapped, "Found GPU0 ... which is of cuda capability 5.0." on
    # one line and "PyTorch no longer supports this GPU" on the next, so these are read from every
    # line, not only classified ones.
    for line in text.splitlines():
        if match := messages.SUPPORTED_ARCHS.search(line):
            torch["arch_list"] = match.group(1).split()
        if match := messages.SM_NOT_COMPATIBLE.search(line):
            gpus.setdefault(len(gpus), {}).update(
                name=match.group("name").strip(), compute_capability=_cc_from_sm(match.group("cc"))
            )
        if match := messages.TOO_OLD_GPU.search(line):
            index = int(match.group("index"))
            gpus.setdefault(index, {}).update(
                name=match.group("name").strip(), compute_capability=match.group("cc")
            )
    for message in found:
        line = message.line
        if message.kind == Kind.DRIVER_TOO_OLD:
            torch["cuda_available"] = False
            if match := messages.DRIVER_FOUND_VERSION.search(line):
                value = int(match.group("version"))
                driver["cuda"] = f"{value // 1000}.{value % 1000 // 10}"
        if message.kind in (
            Kind.UNKNOWN_ERROR,
            Kind.NO_DEVICE,
            Kind.COMPAT_UNSUPPORTED,
            Kind.SYSTEM_NOT_READY,
        ):
            torch["cuda_available"] = False
        if message.kind == Kind.NOT_COMPILED:
            torch["cuda"] = None  # a CPU-only build said so itself
            torch["cuda_available"] = False
        if message.kind == Kind.LIBRARY_MISSING:
            torch.update(error=line, error_kind=ErrorKind.IMPORT_FAILED)
        # The first driver error wins, except that modprobe's line, which says why the module
        # is not loaded, takes the place of nvidia-smi's, which only says that it is not.
        if message.kind in _DRIVER_ERRORS and (
            "error" not in driver
            or (
                message.kind == Kind.MODULE_NOT_LOADED
                and driver.get("error_kind") == ErrorKind.DRIVER_NOT_LOADED
                and not messages.first([driver["error"]], Kind.MODULE_NOT_LOADED)
            )
        ):
            driver.update(error=line, error_kind=_DRIVER_ERRORS[message.kind])
        if message.kind == Kind.CUDNN_MISMATCH and (match := messages.CUDNN_VERSIONS.search(line)):
            compiled = match.group("compiled") or match.group("compiled_int")
            runtime = match.group("runtime") or match.group("runtime_int")
            for key, numbers in (("cudnn_compiled", compiled), ("cudnn", runtime)):
                if version := _cudnn(numbers):  # what does not parse stays unknown
                    torch[key] = version
        if message.kind == Kind.NO_GPU_RUNTIME and "docker" not in observed:
            # The engine answered a --gpus request, and could not give the container GPUs.
            observed["docker"] = {
                "present": True,
                "reachable": True,
                "gpu_container_ok": False,
                "gpu_container_error": line,
                "gpu_container_error_kind": ErrorKind.NO_GPU_RUNTIME,
            }
        if message.kind == Kind.CUDA_HOME_MISMATCH and (
            match := messages.CUDA_HOME_VERSIONS.search(" ".join(text.split()))
        ):
            nvcc = observed.setdefault("nvcc", {})
            nvcc.setdefault("version", match.group("nvcc") or match.group("nvcc_arg"))
            torch.setdefault("cuda", match.group("torch") or match.group("torch_arg"))
        if message.kind == Kind.NO_DEVICES_FOUND:
            observed["gpus"] = []
        if message.kind == Kind.GPU_LOST:
            gpus.setdefault(len(gpus), {}).update(error=line, error_kind=ErrorKind.GPU_LOST)
    if gpus:
        observed["gpus"] = [{"index": i, **g} for i, g in sorted(gpus.items())]
    return observed
