"""Expectations from an onboarding script (``--expect FILE.toml``); each set key becomes a check."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
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


def load(path: str | Path) -> Expectations:
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ExpectError(f"{path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ExpectError(f"{path}: not valid TOML: {exc}") from exc
    return parse(data, str(path))


def parse(data: dict, where: str) -> Expectations:
    values = {}
    for key, value in data.items():
        if key not in _TYPES:
            known = ", ".join(_TYPES)
            raise ExpectError(f"{where}: unknown key {key!r} (known: {known})")
        tp, words = _TYPES[key]
        ok = isinstance(value, tp) and not (tp is int and isinstance(value, bool))
        if tp is list:
            ok = ok and all(isinstance(v, str) for v in value)
            value = tuple(value) if ok else value
        if not ok:
            raise ExpectError(f"{where}: key {key!r} must be {words}, got {value!r}")
        if tp is int and value < 0:
            raise ExpectError(f"{where}: key {key!r} must not be negative, got {value}")
        values[key] = value
    return Expectations(**values)


def to_json(expect: Expectations) -> dict:
    return {
        f.name: list(v) if isinstance(v, tuple) else v
        for f in dataclasses.fields(expect)
        if (v := getattr(expect, f.name)) is not None
    }
