"""Compatibility knowledge, read from ``envcheck/data/compat.toml`` (the one place it lives).

Also the rules that interpret it and are needed in more than one place: whether a torch build's
architecture list can run on a GPU, and which official build to suggest instead.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass
from importlib import resources

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Through importlib.resources, not __file__: run from envcheck.pyz the package is inside a zip.
DATA = resources.files("envcheck") / "data" / "compat.toml"


@dataclass(frozen=True)
class Build:
    """An official PyTorch CUDA wheel build."""

    torch: str
    name: str  # cu126, cu130, ...
    cuda: str
    cudnn: str | None
    arch_list: tuple[str, ...]
    index_url: str
    pypi_default: bool = False  # PyPI's plain torch==X wheel is this build

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


def newest_cuda_for_driver(driver: str) -> str | None:
    """The newest CUDA release whose toolkit driver is not newer than ``driver`` (Linux): what
    nvidia-smi would print as "CUDA Version" when a dump gives only the driver."""
    have = version_tuple(driver)
    fits = [
        entry["version"] for entry in _data()["cuda"] if version_tuple(entry["min_driver"]) <= have
    ]
    return max(fits, key=version_tuple) if fits else None


def minor_version_compat_since() -> tuple[int, ...]:
    """The first CUDA major whose minor releases run on any driver of the major's floor."""
    return version_tuple(_data().get("cuda_minor_compat", {}).get("since", "11.0"))


def driver_runs(runtime: str, driver_cuda: str, driver_version: str | None) -> bool:
    """Whether a driver that reports CUDA ``driver_cuda`` runs a CUDA ``runtime`` build.

    Newer or equal: always. An older minor of the same major: only through minor-version
    compatibility, which exists from CUDA 11 on and needs the major's floor driver (an R450 driver
    older than 450.80.02 reports CUDA 11.0 and runs no 11.1+ build). An older major: never
    (forward-compatibility libraries aside, judged apart).
    """
    have, need = version_tuple(driver_cuda), version_tuple(runtime)
    if have[:2] >= need[:2]:
        return True
    if have[0] != need[0] or need[:1] < minor_version_compat_since()[:1]:
        return False
    floor = min_driver_for_major(need[0])
    # Without the version, the oldest driver that reports this CUDA stands in for it.
    driver_version = driver_version or min_driver_for_release(driver_cuda)
    if floor is None or driver_version is None:
        return floor is None
    return version_tuple(driver_version) >= version_tuple(floor)


def min_driver_for_release(cuda: str) -> str | None:
    """The Linux driver of a CUDA release's GA toolkit ('12.4' -> '550.54.14')."""
    for entry in _data()["cuda"]:
        if version_tuple(entry["version"])[:2] == version_tuple(cuda)[:2]:
            return entry["min_driver"]
    return None


@dataclass(frozen=True)
class GpuModel:
    """A GPU product as compat.toml knows it."""

    capability: str
    segment: str  # datacenter, workstation, geforce, jetson
    forward_compat: bool  # NVIDIA's CUDA forward compatibility is supported on it


def _gpu_model(entry: dict) -> GpuModel:
    return GpuModel(entry["capability"], entry["segment"], bool(entry.get("forward_compat")))


def normalise_gpu_name(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip()
    return re.sub(r"^NVIDIA ", "", name, flags=re.IGNORECASE)


def gpu_by_name(name: str) -> GpuModel | None:
    """The product a GPU name (as NVML, nvidia-smi or torch print it) stands for; None when the
    name is unknown or was cut short by nvidia-smi."""
    name = normalise_gpu_name(name)
    if not name or name.endswith("..."):
        return None
    for entry in _data().get("gpu", []):
        if re.search(entry["match"], name, re.IGNORECASE):
            return _gpu_model(entry)
    return None


def gpu_by_pci_id(device_id: str | None) -> GpuModel | None:
    if not device_id:
        return None
    for entry in _data().get("gpu", []):
        if device_id.lower() in (p.lower() for p in entry.get("pci_ids", ())):
            return _gpu_model(entry)
    return None


def build_tag(torch_version: str) -> str | None:
    """'2.5.1+cu124' -> 'cu124'; '2.5.1+cpu' -> 'cpu'; no local tag -> None."""
    _, _, tag = torch_version.partition("+")
    return tag or None


def find_build(torch_version: str, cuda: str) -> Build | None:
    """The official build of this torch release (its minor: patch releases share the build
    settings) for this CUDA, when compat.toml knows it."""
    release = version_tuple(torch_version)[:2]
    for build in builds():
        if (
            version_tuple(build.torch)[:2] == release
            and version_tuple(build.cuda)[:2] == (version_tuple(cuda)[:2])
        ):
            return build
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
            pypi_default=b.get("pypi_default", False),
        )
        for b in _data()["torch_build"]
    ]


def torchvision_for(torch: str) -> str | None:
    """The torchvision release built for exactly this torch release; None where none is known."""
    return next((t["torchvision"] for t in _data()["torchvision"] if t["torch"] == torch), None)


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
    """How a GPU of ``capability`` runs a build with ``arch_list`` (the rules of
    compat.toml's [kernel_compat], as NVIDIA states them).

    Returns (verdict, entry): 'exact' (an sm_XY for this GPU), 'compatible' (SASS of the same
    major and a lower minor, plain or family ``f``; never an ``a`` variant, and never on Tegra,
    which has no binary compatibility), 'ptx' (only PTX the GPU can JIT-compile: plain PTX at or
    below it, ``f`` PTX of its family, ``a`` PTX of exactly it) or 'none'.
    """
    gpu = tuple(int(p) for p in capability.split("."))
    tegra = is_tegra(capability)
    parsed = [(entry, _parse_arch(entry)) for entry in arch_list]
    sm = [(e, p) for e, p in parsed if p and p[0] == "sm"]
    for entry, (_, major, minor, _) in sm:
        if (major, minor) == gpu:
            return "exact", entry
    compatible = [
        (minor, entry)
        for entry, (_, major, minor, suffix) in sm
        if not tegra and major == gpu[0] and minor < gpu[1] and suffix != "a"
    ]
    if compatible:
        return "compatible", max(compatible)[1]
    ptx = [
        ((major, minor), entry)
        for entry, p in parsed
        if p and p[0] == "compute"
        for major, minor, suffix in [(p[1], p[2], p[3])]
        if (major, minor) <= gpu
        and (suffix == "" or (suffix == "f" and major == gpu[0]) or (major, minor) == gpu)
    ]
    if ptx:
        return "ptx", max(ptx)[1]
    return "none", None


def is_tegra(capability: str) -> bool:
    """Jetson (Tegra) compute capabilities: they run no other capability's SASS."""
    return any(
        entry["capability"] == capability and entry.get("tegra")
        for entry in _data()["architecture"]
    )


def covers(build: Build, capabilities: list[str]) -> bool:
    """The build has native kernels (exact or compatible SASS) for every GPU."""
    return all(
        kernel_support(build.arch_list, cc)[0] in ("exact", "compatible") for cc in capabilities
    )


def build_named(torch: str, name: str) -> Build | None:
    """The official build ``name`` (cu126, ...) of exactly this torch release."""
    return next((b for b in builds() if (b.torch, b.name) == (torch, name)), None)


def first_build_covering(capabilities: list[str]) -> Build | None:
    """The oldest official build with native kernels for every GPU: where support began."""
    covering = [b for b in builds() if covers(b, capabilities)]
    if not covering:
        return None
    return min(covering, key=lambda b: (version_tuple(b.torch), version_tuple(b.cuda)))


def suggest_build(
    capabilities: list[str], driver_cuda: str | None, driver_version: str | None = None
) -> Build | None:
    """The official build of the newest torch that has native kernels for every GPU and that the
    driver runs (an older torch when no current build does, e.g. Blackwell on a CUDA 12 driver).

    A driver runs a build as ``driver_runs`` says; builds no newer than the driver are preferred,
    since minor-version compatibility cannot JIT newer PTX. Without a known driver CUDA, any build
    is considered.
    """
    driver = version_tuple(driver_cuda) if driver_cuda else None
    for torch in sorted({b.torch for b in builds()}, key=version_tuple, reverse=True):
        candidates = [
            b
            for b in builds()
            if b.torch == torch
            and covers(b, capabilities)
            and (driver_cuda is None or driver_runs(b.cuda, driver_cuda, driver_version))
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
