"""Compatibility knowledge, read from ``envcheck/data/compat.toml`` (the one place it lives).

Also the rules that interpret it and are needed in more than one place: whether a torch build's
architecture list can run on a GPU, and which official build to suggest instead.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DATA = Path(__file__).parent / "data" / "compat.toml"


@dataclass(frozen=True)
class Build:
    """An official PyTorch CUDA wheel build."""

    torch: str
    name: str  # cu126, cu130, ...
    cuda: str
    cudnn: str | None
    arch_list: tuple[str, ...]
    index_url: str

    def pip_command(self) -> str:
        return f"pip install torch=={self.torch} --index-url {self.index_url}"


@functools.lru_cache(maxsize=1)
def _data() -> dict:
    with DATA.open("rb") as f:
        return tomllib.load(f)


def version_tuple(text: str) -> tuple[int, ...]:
    """'580.65.06' -> (580, 65, 6); '2.11.0+cu130' -> (2, 11, 0). Non-numeric tails are dropped."""
    parts = []
    for piece in re.split(r"[.+-]", text):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def min_driver_for_major(major: int) -> str | None:
    """The oldest driver that runs any CUDA ``major``.x runtime (minor-version compatibility)."""
    for entry in _data()["cuda_major"]:
        if entry["major"] == major:
            return entry["min_driver"]
    return None


def architecture(capability: str) -> str | None:
    """Compute capability -> architecture name ('9.0' -> 'Hopper')."""
    for entry in _data()["architecture"]:
        if entry["capability"] == capability:
            return entry["name"]
    return None


def builds() -> list[Build]:
    return [
        Build(
            torch=b["torch"],
            name=b["build"],
            cuda=b["cuda"],
            cudnn=b.get("cudnn"),
            arch_list=tuple(b["arch_list"]),
            index_url=b["index_url"],
        )
        for b in _data()["torch_build"]
    ]


_ARCH = re.compile(r"^(sm|compute)_(\d+)(\d)([af]?)$")


def _parse_arch(entry: str) -> tuple[str, int, int, str] | None:
    """'sm_90a' -> ('sm', 9, 0, 'a'); 'compute_120' -> ('compute', 12, 0, '')."""
    match = _ARCH.match(entry)
    if not match:
        return None
    kind, major, minor, suffix = match.groups()
    return kind, int(major), int(minor), suffix


def kernel_support(
    arch_list: list[str] | tuple[str, ...], capability: str
) -> tuple[str, str | None]:
    """How a GPU of ``capability`` runs a build with ``arch_list``.

    Returns (verdict, entry): 'exact' (an sm_XY for this GPU), 'compatible' (an sm of the same
    major and a lower minor: CUDA binaries run on later minors of their major, but an ``a``
    variant runs only on its exact GPU), 'ptx' (only PTX at or below the GPU: JIT-compiled on
    first use) or 'none'.
    """
    gpu = tuple(int(p) for p in capability.split("."))
    parsed = [(entry, _parse_arch(entry)) for entry in arch_list]
    sm = [(e, p) for e, p in parsed if p and p[0] == "sm"]
    for entry, (_, major, minor, _) in sm:
        if (major, minor) == gpu:
            return "exact", entry
    compatible = [
        (minor, entry)
        for entry, (_, major, minor, suffix) in sm
        if major == gpu[0] and minor < gpu[1] and suffix != "a"
    ]
    if compatible:
        return "compatible", max(compatible)[1]
    ptx = [
        ((major, minor), entry)
        for entry, p in parsed
        if p and p[0] == "compute" and p[3] != "a"
        for major, minor in [(p[1], p[2])]
        if (major, minor) <= gpu
    ]
    if ptx:
        return "ptx", max(ptx)[1]
    return "none", None


def suggest_build(capabilities: list[str], driver_cuda: str | None) -> Build | None:
    """The official build of the newest torch that has native kernels for every GPU and that the
    driver runs (an older torch when no current build does, e.g. Blackwell on a CUDA 12 driver).

    A driver runs a build when its CUDA is the same major or newer (minor-version compatibility
    covers an older minor); builds no newer than the driver are preferred, since minor-version
    compatibility cannot JIT newer PTX. Without a known driver CUDA, any build is considered.
    """
    driver = version_tuple(driver_cuda) if driver_cuda else None
    for torch in sorted({b.torch for b in builds()}, key=version_tuple, reverse=True):
        candidates = [
            b
            for b in builds()
            if b.torch == torch
            and all(
                kernel_support(b.arch_list, cc)[0] in ("exact", "compatible") for cc in capabilities
            )
            and (driver is None or version_tuple(b.cuda)[0] <= driver[0])
        ]
        if candidates:
            return max(
                candidates,
                key=lambda b: (
                    driver is None or version_tuple(b.cuda) <= driver,
                    version_tuple(b.cuda),
                ),
            )
    return None
