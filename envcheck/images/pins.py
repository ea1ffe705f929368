"""The image pins of ``docker/images.toml``: which images exist and what each one carries."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from envcheck import compat

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# docker/ lies beside the package in a checkout (or an editable install) only: an installed
# package has no pins unless given a file (`envcheck images ... --pins FILE`).
ROOT = Path(__file__).resolve().parents[2]
PINS = ROOT / "docker" / "images.toml"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
TARGETS = ("runtime", "devel")


# What an image's torch and build imply, read from compat.toml: never written twice.
DERIVED = {"cuda", "cudnn", "arch_list", "min_driver", "nvidia_require_cuda", "index_url"}


class PinsError(ValueError):
    """No such image, or a pins file that is missing or does not parse."""


def _compat_build(torch: str, name: str) -> compat.Build:
    build = compat.build_named(torch, name)
    if build is None:
        raise PinsError(f"no official torch {torch} {name} build in envcheck/data/compat.toml")
    return build


@dataclass(frozen=True)
class ImagePin:
    """One image: what it is built from and what it must prove when it runs."""

    name: str
    tag: str
    target: str  # a stage of docker/Dockerfile: runtime or devel
    base: str
    torch: str
    build: str  # cu126, cu130, ... or cpu (test images only)
    cuda: str | None
    cudnn: str | None
    arch_list: tuple[str, ...]
    architectures: str
    min_driver: str | None
    nvidia_require_cuda: str | None
    index_url: str | None
    source: str


def load(path: Path = PINS) -> tuple[list[ImagePin], list[str]]:
    """Every pinned image, and the names `make images` builds by default."""
    if not path.is_file():
        raise PinsError(
            f"no pins file at {path}: `envcheck images` runs from a gpu-envkit checkout "
            "(docker/images.toml beside the envcheck package), or give one with --pins FILE"
        )
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PinsError(f"{path}: {exc}") from exc
    pins = []
    for i, entry in enumerate(data.get("image", [])):
        copied = sorted(DERIVED & set(entry))
        if copied:
            raise PinsError(
                f"{path}: image {i} sets {copied[0]!r}, which comes from envcheck/data/compat.toml "
                "(the image names only its torch and build)"
            )
        try:
            build = _compat_build(entry["torch"], entry["build"])
            major = int(build.cuda.split(".")[0])
            pins.append(
                ImagePin(
                    name=entry["name"],
                    tag=entry["tag"],
                    target=entry["target"],
                    base=entry["base"],
                    torch=entry["torch"],
                    build=entry["build"],
                    cuda=build.cuda,
                    cudnn=build.cudnn,
                    arch_list=build.arch_list,
                    architectures=entry.get("architectures", ""),
                    # Any driver of the CUDA major runs the wheel (minor-version compatibility),
                    # the same rule envcheck's driver.cuda applies.
                    min_driver=compat.min_driver_for_major(major),
                    nvidia_require_cuda=f"cuda>={major}.0",
                    index_url=build.index_url,
                    source=entry["source"],
                )
            )
        except KeyError as exc:
            raise PinsError(f"{path}: image {i} lacks {exc.args[0]!r}") from exc
    defaults = list(data.get("defaults", {}).get("images", []))
    return pins, defaults


def find(name: str, path: Path = PINS) -> ImagePin:
    """The pin called ``name`` (or tagged ``name``)."""
    pins, _ = load(path)
    for pin in pins:
        if name in (pin.name, pin.tag):
            return pin
    known = ", ".join(p.name for p in pins)
    raise PinsError(f"no image {name!r} in {path} (known: {known})")
