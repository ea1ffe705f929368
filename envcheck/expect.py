"""Expectations from an onboarding script (``--expect FILE.toml``); each set key becomes a check."""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class ExpectError(ValueError):
    """A bad expectations file; the message names the file and the key."""


@dataclass(frozen=True)
class Expectations:
    gpu_count: int | None = None  # exactly this many GPUs
    gpu_name: str | None = None  # every GPU's name contains this (case-insensitive)
    min_driver: str | None = None  # driver version at least this, e.g. "580.65.06"
    torch: str | None = None  # torch version, or a prefix of it: "2.14", "2.14.1+cu130"
    cuda: str | None = None  # CUDA version torch was built with, e.g. "13.0"
    cudnn_min: str | None = None  # loaded cuDNN at least this, e.g. "9.10"
    require_nvcc: bool | None = None  # nvcc must be present (devel images)
    arch: tuple[str, ...] | None = None  # torch's arch list must include these, e.g. ["sm_90"]
    # Who states these expectations, for the remedy of a failed one; not an expectation itself.
    origin: str = field(default="the expectations given with --expect", compare=False)


# The expectation keys, in file order (``origin`` is who stated them, not one of them).
KEYS = tuple(f.name for f in dataclasses.fields(Expectations) if f.name != "origin")

_TYPES = {
    "gpu_count": (int, "an integer"),
    "gpu_name": (str, "a string"),
    "min_driver": (str, "a string"),
    "torch": (str, "a string"),
    "cuda": (str, "a string"),
    "cudnn_min": (str, "a string"),
    "require_nvcc": (bool, "true or false"),
    "arch": (list, "a list of strings"),
}


# What each version-like value must look like: a value that does not parse would otherwise
# compare as anything ("R580" >= every driver), so it is refused when the file is read.
_FORMATS = {
    "min_driver": (re.compile(r"\d+(\.\d+){0,3}"), "a driver version like '580.65.06'"),
    "cudnn_min": (re.compile(r"\d+(\.\d+){0,3}"), "a cuDNN version like '9.10'"),
    "cuda": (re.compile(r"\d+(\.\d+){0,2}"), "a CUDA version like '13.0'"),
    "torch": (
        re.compile(r"\d+(\.\d+){0,2}(\+[A-Za-z0-9.]+)?"),
        "a torch version like '2.14' or '2.14.1+cu130'",
    ),
    "arch": (re.compile(r"(sm|compute)_\d+[af]?"), "architectures like 'sm_90' or 'compute_120'"),
    "gpu_name": (re.compile(r"[\w .()/+-]{1,100}"), "a GPU name like 'H100'"),
}
# Where every gpu-envkit image keeps its own pins as expectations (its entry point checks them).
IMAGE_PINS = "/etc/gpu-envkit/expect.toml"
MAX_GPUS = 4096
MAX_BYTES = 1024 * 1024  # far above any expectations file; more is a wrong file


def load(path: str | Path) -> Expectations:
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ExpectError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_BYTES:
        raise ExpectError(f"{path}: larger than {MAX_BYTES // 1024} KiB: not an expectations file")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ExpectError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ExpectError(f"{path}: not valid TOML: {exc}") from exc
    origin = (
        f"this image's pins ({IMAGE_PINS})"
        if str(path) == IMAGE_PINS
        else f"the expectations file {path}"
    )
    return dataclasses.replace(parse(data, str(path)), origin=origin)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse(data: dict, where: str) -> Expectations:
    values = {}
    for key, value in data.items():
        if key not in _TYPES:
            known = ", ".join(_TYPES)
            raise ExpectError(f"{where}: unknown key {_short(key)} (known: {known})")
        tp, words = _TYPES[key]
        ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        if tp is list:
            ok = ok and all(isinstance(v, str) for v in value)
            value = tuple(value) if ok else value
        if not ok:
            raise ExpectError(f"{where}: key {key!r} must be {words}, got {_short(value)}")
        if tp is int and not 0 <= value <= MAX_GPUS:
            raise ExpectError(f"{where}: key {key!r} must be 0..{MAX_GPUS}, got {_short(value)}")
        if key in _FORMATS:
            pattern, form = _FORMATS[key]
            for item in value if isinstance(value, tuple) else (value,):
                if not pattern.fullmatch(item):
                    raise ExpectError(f"{where}: key {key!r} must be {form}, got {_short(item)}")
        values[key] = value
    return Expectations(**values)


def to_json(expect: Expectations) -> dict:
    return {
        key: list(v) if isinstance(v, tuple) else v
        for key in KEYS
        if (v := getattr(expect, key)) is not None
    }
