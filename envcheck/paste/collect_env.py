"""`python -m torch.utils.collect_env`, as torch 1.x and 2.x print it (Linux, Windows, WSL).

Only what the dump states is taken. Two of its lines are easy to misread: "CUDA runtime version"
is what `nvcc --version` printed (the toolkit on PATH, not torch's CUDA), and "cuDNN version"
lists the libcudnn files found on the system, not the cuDNN torch loads; neither is read as
torch's.
"""

from __future__ import annotations

import re
from typing import Any

MARKERS = ("PyTorch version:", "CUDA used to build PyTorch:", "Is CUDA available:")
_UNKNOWN = {"", "n/a", "could not collect", "none found"}
_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9 _./-]*?):\s*(.*?)\s*$")
_GPU = re.compile(r"GPU (\d+): (.+?)(?: \(UUID: (GPU-[0-9a-fA-F-]+)\))?\s*$")
_PIP_TORCH = re.compile(r"^\s*\[(?:pip\d?|conda)\]\s+torch(?:==|\s+)(\d[\w.+]*)", re.MULTILINE)


def detect(text: str) -> bool:
    return sum(marker in text for marker in MARKERS) >= 2


def _value(text: str) -> str | None:
    return None if text.strip().lower() in _UNKNOWN else text.strip()


def _bool(text: str) -> bool | None:
    return {"true": True, "yes": True, "false": False, "no": False}.get(text.strip().lower())


def _fields(text: str) -> dict[str, tuple[str, list[str]]]:
    """key -> (value on its line, the indented or bare lines that follow it up to the next key)."""
    fields: dict[str, tuple[str, list[str]]] = {}
    current: str | None = None
    for line in text.splitlines():
        match = _KEY.match(line)
        if match and not re.fullmatch(r"GPU \d+", match.group(1)):
            current = match.group(1).strip()
            fields.setdefault(current, (match.group(2), []))
        elif current and line.strip():
            fields[current][1].append(line.strip())
        elif not line.strip():
            current = None
    return fields


def parse(text: str) -> dict[str, Any]:
    text = text.replace("\uff1a", ":")  # a full-width colon, as some pastes have it
    text = re.sub(r"^(\s*PyTorch version)\s+(?=\d)", r"\1: ", text, flags=re.MULTILINE)
    fields = _fields(text)

    def get(key: str) -> str | None:
        return _value(fields[key][0]) if key in fields else None

    observed: dict[str, Any] = {"driver": {}, "torch": {}, "nvcc": {}}
    torch = observed["torch"]
    version = get("PyTorch version")
    if version is None:
        pip = _PIP_TORCH.search(text)
        version = pip.group(1) if pip else None
    if version:
        version = version.split()[0]  # users sometimes annotate the line
        torch["version"] = version
        built = fields.get("CUDA used to build PyTorch", ("", []))[0].strip()
        rocm = get("ROCM used to build PyTorch")
        # collect_env prints a None as "Could not collect": with torch imported (its version
        # known), that is torch.version.cuda None, a CPU-only (or ROCm) build.
        if built.lower() in ("none", "could not collect") or version.endswith("+cpu") or rocm:
            torch["cuda"] = None
        elif _value(built) and re.match(r"\d+\.\d+", built):
            torch["cuda"] = ".".join(built.split(".")[:2])
        available = _bool(fields.get("Is CUDA available", ("", []))[0])
        if available is not None:
            torch["cuda_available"] = available
    runtime = get("CUDA runtime version")
    if runtime and re.match(r"\d+\.\d+", runtime):
        observed["nvcc"]["version"] = ".".join(runtime.split(".")[:2])
    driver = get("Nvidia driver version")
    if driver and re.match(r"\d+\.\d+", driver):
        observed["driver"]["version"] = driver
    gpus = _gpus(fields.get("GPU models and configuration"))
    if gpus is not None:
        observed["gpus"] = gpus
    platform = get("Python platform") or get("OS")
    if platform:
        observed["platform"] = platform
    return observed


def _gpus(field: tuple[str, list[str]] | None) -> list[dict[str, Any]] | None:
    if field is None:
        return None
    first, rest = field
    lines = [first, *rest] if first.strip() else rest
    gpus = []
    for line in lines:
        match = _GPU.match(line.strip())
        if match:
            gpu: dict[str, Any] = {"index": int(match.group(1)), "name": match.group(2).strip()}
            if match.group(3):
                gpu["uuid"] = match.group(3)
            gpus.append(gpu)
    if gpus:
        return gpus
    # A bare name (torch's own view when nvidia-smi is absent); a "GPU..." line that did not
    # parse says nothing reliable.
    name = _value(first)
    return [{"index": 0, "name": name}] if name and not name.startswith("GPU") else None
