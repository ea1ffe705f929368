"""A fake ``libnvidia-ml.so.1`` for GPU-less tests, and its scenarios.

``fake_nvml.c`` is compiled here (``build``) and loaded by the *real* pynvml in a
subprocess whose ``LD_LIBRARY_PATH`` puts it first (``env_for``).  At ``nvmlInit`` the
library reads the ``key = value`` file named by ``FAKE_NVML_CONFIG`` (``write_config``):

    init = ok | hang | driver_not_loaded | lib_rm_version_mismatch | no_permission |
           unknown_error
    driver_version = 580.95.05          # defaults: 580.95.05 / 13000 / 13.580.95.05
    cuda_driver_version = 13000
    nvml_version = 13.580.95.05
    gpu.N.name / uuid / pci_bus_id / pci_device_id / cc / memory_total_mib /
    memory_used_mib / mig / ecc / remapped_rows / retired_pages_pending / pcie /
    power_limit_mw / temperature / clock_event_reasons / persistence /
    fabric (state, status: "3,0" is a completed, successful fabric registration)
    gpu.N.state = ok | lost | hang

Any value may be ``not_supported`` or ``no_permission``; a missing ``gpu.N`` field
answers NVML_ERROR_NOT_SUPPORTED.  A missing config file, an unknown key or a bad value
makes ``nvmlInit`` fail with NVML_ERROR_UNKNOWN and a ``fake_nvml:`` line on stderr.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

SOURCE = Path(__file__).with_name("fake_nvml.c")
LIB_NAME = "libnvidia-ml.so.1"
CFLAGS = ("-shared", "-fPIC", "-O1", "-Wall", "-Wextra")


class BuildError(RuntimeError):
    """gcc is missing or could not compile the fake library."""


def build(dest_dir: str | os.PathLike[str], *, source: Path = SOURCE) -> Path:
    """Compile the fake library into ``dest_dir/libnvidia-ml.so.1`` and return its path."""
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    out = dest / LIB_NAME
    gcc = shutil.which("gcc")
    if gcc is None:
        raise BuildError("gcc is not on PATH: cannot build the fake libnvidia-ml.so.1")
    cmd = [gcc, *CFLAGS, f"-Wl,-soname,{LIB_NAME}", "-o", str(out), str(source)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(
            f"building the fake NVML library failed (exit {proc.returncode}):\n"
            f"  {' '.join(cmd)}\n{proc.stderr.strip()}"
        )
    return out


def write_config(path: str | os.PathLike[str], config: Mapping[str, str]) -> Path:
    """Write ``config`` as the ``key = value`` file the library reads; return its path."""
    lines = []
    for key, value in config.items():
        text = str(value)
        # '#' starts a comment and '=' splits key from value in the C parser.
        if any(c in key for c in "=# \t\n") or any(c in text for c in "#\n"):
            raise ValueError(f"config entry cannot be written on one line: {key!r} = {text!r}")
        lines.append(f"{key} = {text}\n")
    out = Path(path)
    out.write_text("".join(lines), encoding="utf-8")
    return out


def env_for(lib_dir: str | os.PathLike[str], config_path: str | os.PathLike[str]) -> dict[str, str]:
    """Environment additions that make a subprocess's pynvml load the fake library."""
    ld_path = str(lib_dir)
    inherited = os.environ.get("LD_LIBRARY_PATH")
    if inherited:
        ld_path = f"{ld_path}{os.pathsep}{inherited}"
    return {"LD_LIBRARY_PATH": ld_path, "FAKE_NVML_CONFIG": str(config_path)}


def _gpu(index: int, **fields: str) -> dict[str, str]:
    return {f"gpu.{index}.{key}": value for key, value in fields.items()}


def _system(driver: str, cuda: int, nvml_major: int) -> dict[str, str]:
    return {
        "driver_version": driver,
        "cuda_driver_version": str(cuda),
        "nvml_version": f"{nvml_major}.{driver}",
    }


def _h100(index: int, bus: int, uuid: str, **overrides: str) -> dict[str, str]:
    """A healthy, idle H100 SXM5 80GB. Hopper pages are remapped, not retired."""
    fields = {
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": uuid,
        "pci_bus_id": f"00000000:{bus:02X}:00.0",
        "pci_device_id": "0x233010DE",
        "cc": "9.0",
        "memory_total_mib": "81559",
        "memory_used_mib": "0",
        "mig": "0,0",
        "ecc": "1,1",
        "remapped_rows": "0,0,0,0",
        "retired_pages_pending": "not_supported",
        "pcie": "5,5,16,16",
        "power_limit_mw": "700000",
        "temperature": "38",
        "clock_event_reasons": "0x1",
        "persistence": "1",
        "fabric": "3,0",  # on an HGX baseboard: registered in the NVLink fabric, successfully
        "state": "ok",
    }
    fields.update(overrides)
    return _gpu(index, **fields)


H100_UUID_0 = "GPU-5b4f3c2e-8d1a-4e7b-9c6f-0a1b2c3d4e5f"
H100_UUID_1 = "GPU-9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
V100_UUID = "GPU-1f2e3d4c-5b6a-7988-a7b6-c5d4e3f2a1b0"
A100_UUID = "GPU-0c9b8a7f-6e5d-4c3b-a291-8f7e6d5c4b3a"

ONE_H100_R580: dict[str, str] = {
    "init": "ok",
    **_system("580.95.05", 13000, 13),
    **_h100(0, 0x19, H100_UUID_0),
}

TWO_GPUS: dict[str, str] = {
    "init": "ok",
    **_system("575.57.08", 12090, 12),
    **_h100(0, 0x19, H100_UUID_0),
    **_gpu(
        1,
        name="Tesla V100-SXM2-32GB",
        uuid=V100_UUID,
        pci_bus_id="00000000:3B:00.0",
        pci_device_id="0x1DB510DE",
        cc="7.0",
        memory_total_mib="32768",
        memory_used_mib="0",
        mig="not_supported",  # MIG arrived with Ampere
        ecc="1,1",
        remapped_rows="not_supported",  # Volta retires pages instead
        retired_pages_pending="0",
        pcie="3,3,16,16",
        power_limit_mw="300000",
        temperature="34",
        clock_event_reasons="0x1",
        persistence="1",
        state="ok",
    ),
}

DRIVER_LIBRARY_MISMATCH: dict[str, str] = {
    "init": "lib_rm_version_mismatch",
    **_system("580.95.05", 13000, 13),
}

DRIVER_NOT_LOADED: dict[str, str] = {
    "init": "driver_not_loaded",
    **_system("580.95.05", 13000, 13),
}

GPU_LOST: dict[str, str] = {
    "init": "ok",
    **_system("580.95.05", 13000, 13),
    **_h100(0, 0x19, H100_UUID_0),
    **_h100(1, 0x3B, H100_UUID_1, state="lost"),
}

HANG_INIT: dict[str, str] = {
    "init": "hang",
    **_system("580.95.05", 13000, 13),
    **_h100(0, 0x19, H100_UUID_0),
}

HANG_DEVICE: dict[str, str] = {
    "init": "ok",
    **_system("580.95.05", 13000, 13),
    **_h100(0, 0x19, H100_UUID_0, state="hang"),
}

DEGRADED: dict[str, str] = {
    "init": "ok",
    **_system("550.163.01", 12040, 12),
    **_gpu(
        0,
        name="NVIDIA A100-SXM4-80GB",
        uuid=A100_UUID,
        pci_bus_id="00000000:07:00.0",
        pci_device_id="0x20B210DE",
        cc="8.0",
        memory_total_mib="81920",
        memory_used_mib="0",
        mig="0,0",
        ecc="1,1",
        remapped_rows="0,0,1,0",  # a row remap is pending: needs a GPU reset
        retired_pages_pending="not_supported",
        pcie="4,4,8,16",  # trained at x8 of x16
        power_limit_mw="400000",
        temperature="87",
        clock_event_reasons="0x40 | 0x20",  # HW thermal + SW thermal slowdown
        persistence="1",
        state="ok",
    ),
}

# An HGX H100 whose Fabric Manager is not running: NVML answers, CUDA fails with error 802.
FABRIC_NOT_STARTED: dict[str, str] = {
    "init": "ok",
    **_system("580.95.05", 13000, 13),
    **_h100(0, 0x19, H100_UUID_0, fabric="1,0"),
    **_h100(1, 0x3B, H100_UUID_1, fabric="1,0"),
}

SCENARIOS: dict[str, dict[str, str]] = {
    "one_h100_r580": ONE_H100_R580,
    "two_gpus": TWO_GPUS,
    "driver_library_mismatch": DRIVER_LIBRARY_MISMATCH,
    "driver_not_loaded": DRIVER_NOT_LOADED,
    "gpu_lost": GPU_LOST,
    "hang_init": HANG_INIT,
    "hang_device": HANG_DEVICE,
    "degraded": DEGRADED,
    "fabric_not_started": FABRIC_NOT_STARTED,
}

__all__ = [
    "LIB_NAME",
    "SCENARIOS",
    "SOURCE",
    "BuildError",
    "build",
    "env_for",
    "write_config",
]
