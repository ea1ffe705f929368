"""The image pins of ``docker/images.toml``: which images exist and what each one carries."""

from __future__ import annotations

import dataclasses
import re
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
DERIVED = {
    "cuda",
    "cudnn",
    "arch_list",
    "min_driver",
    "nvidia_require_cuda",
    "index_url",
    "torchvision",
}
# PyTorch's index of CPU-only wheels: the one build compat.toml has no entry for (no CUDA, so
# nothing to be compatible with). Only test and CPU images use it.
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_SPEC = re.compile(r"(\d+\.\d+\.\d+)\+(cpu|cu\d+)")


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
    torchvision: str | None  # None: the image has no torchvision
    source: str

    @property
    def pypi_default(self) -> bool:
        """PyPI's plain ``torch==X`` wheel is this image's build (no ``+cu1xx`` in its name)."""
        build = compat.build_named(self.torch, self.build)
        return build is not None and build.pypi_default


def derived(torch: str, build: str) -> dict:
    """Every DERIVED field of an image with this torch release and build."""
    torchvision = compat.torchvision_for(torch)
    if build == "cpu":
        return {
            "cuda": None,
            "cudnn": None,
            "arch_list": (),
            "min_driver": None,
            "nvidia_require_cuda": None,
            "index_url": CPU_INDEX,
            "torchvision": torchvision,
        }
    found = _compat_build(torch, build)
    major = int(found.cuda.split(".")[0])
    return {
        "cuda": found.cuda,
        "cudnn": found.cudnn,
        "arch_list": found.arch_list,
        # Any driver of the CUDA major runs the wheel (minor-version compatibility), the same
        # rule envcheck's driver.cuda applies.
        "min_driver": compat.min_driver_for_major(major),
        "nvidia_require_cuda": f"cuda>={major}.0",
        "index_url": found.index_url,
        "torchvision": torchvision,
    }


def with_torch(pin: ImagePin, spec: str, tag: str | None = None) -> ImagePin:
    """``pin`` built with another torch (``2.13.0+cpu``, ``2.14.1+cu126``): everything derived
    from torch follows it (labels, expectations, torchvision), and so does the tag, so that no
    image claims a torch it does not carry. Raises PinsError for a spec compat.toml lacks."""
    match = TORCH_SPEC.fullmatch(spec.strip())
    if not match:
        raise PinsError(
            f"--torch {spec!r}: expected VERSION+BUILD, e.g. 2.13.0+cpu or 2.14.1+cu126"
        )
    torch, build = match.groups()
    if tag is None:
        pinned = f"{pin.torch}-{pin.build}"
        if pinned not in pin.tag:
            raise PinsError(
                f"--torch {spec}: the tag {pin.tag} does not name its torch; give --tag"
            )
        tag = pin.tag.replace(pinned, f"{torch}-{build}")
    return dataclasses.replace(
        pin,
        name=f"{pin.name} (torch {torch}+{build})",
        tag=tag,
        torch=torch,
        build=build,
        # The pin's words describe its own build's architectures; arch_list says the rest.
        architectures="CPU only" if build == "cpu" else "",
        **derived(torch, build),
        source=f"{pin.source} Built with torch {torch}+{build} instead of the pinned torch.",
    )


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
            pins.append(
                ImagePin(
                    name=entry["name"],
                    tag=entry["tag"],
                    target=entry["target"],
                    base=entry["base"],
                    torch=entry["torch"],
                    build=entry["build"],
                    architectures=entry.get("architectures", ""),
                    source=entry["source"],
                    **derived(entry["torch"], entry["build"]),
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
