"""NVML probe: the driver and every GPU, read through the real pynvml.

Run as ``python -m envcheck.probes.nvml``: NVML calls can block forever on a sick driver, so this
always runs in a child process that the parent kills on timeout. Before each call that can hang it
prints the call's name (``stage``), so a timeout names the call that never came back. Every NVML
call goes through ``_query``, which keeps the reason a value is missing instead of a bare null.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from envcheck.facts import ErrorKind
from envcheck.probes.subproc import emit
from envcheck.probes.torch_runtime import mapped_libraries

MIB = 1024 * 1024

# NVML clock event reason bits -> our names (nvml.h, nvmlClocksEventReason*).
CLOCK_EVENT_REASONS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}

# NVLink fabric registration states (nvml.h, NVML_GPU_FABRIC_STATE_*) -> our names.
FABRIC_STATES = {0: "not_supported", 1: "not_started", 2: "in_progress", 3: "completed"}


class Unavailable(Exception):
    """A field NVML could not give; ``reason`` is what users read."""

    def __init__(self, reason: str, kind: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def _error_kind(pynvml: Any, exc: Exception) -> str:
    code = getattr(exc, "value", None)
    return {
        pynvml.NVML_ERROR_LIBRARY_NOT_FOUND: ErrorKind.LIBRARY_NOT_FOUND,
        pynvml.NVML_ERROR_DRIVER_NOT_LOADED: ErrorKind.DRIVER_NOT_LOADED,
        pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH: ErrorKind.VERSION_MISMATCH,
        pynvml.NVML_ERROR_NO_PERMISSION: ErrorKind.NO_PERMISSION,
        pynvml.NVML_ERROR_UNKNOWN: ErrorKind.NVML_UNKNOWN,
        pynvml.NVML_ERROR_GPU_IS_LOST: ErrorKind.GPU_LOST,
    }.get(code, ErrorKind.OTHER)


def _reason(pynvml: Any, exc: Exception) -> str:
    code = getattr(exc, "value", None)
    if code == pynvml.NVML_ERROR_NOT_SUPPORTED:
        return "not supported"
    if code == pynvml.NVML_ERROR_NO_PERMISSION:
        return "no permission"
    if code == pynvml.NVML_ERROR_FUNCTION_NOT_FOUND:
        return "not in this driver's NVML"
    return str(exc) or type(exc).__name__


def _query(pynvml: Any, stage: str, fn: Any, *args: Any) -> Any:
    """Call one NVML function; NVML errors become ``Unavailable`` with the reason kept."""
    emit(stage=stage)
    try:
        return fn(*args)
    except pynvml.NVMLError as exc:
        raise Unavailable(_reason(pynvml, exc), _error_kind(pynvml, exc)) from exc


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _cuda_text(version: int) -> str:
    """NVML's CUDA version integer: 13000 -> '13.0', 12090 -> '12.9'."""
    return f"{version // 1000}.{version % 1000 // 10}"


def _driver(pynvml: Any) -> dict[str, Any]:
    driver: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for key, fn, convert in (
        ("version", pynvml.nvmlSystemGetDriverVersion, _text),
        ("nvml_version", pynvml.nvmlSystemGetNVMLVersion, _text),
        ("cuda", pynvml.nvmlSystemGetCudaDriverVersion, _cuda_text),
    ):
        try:
            driver[key] = convert(_query(pynvml, fn.__name__, fn))
        except Unavailable as exc:
            driver[key] = None
            unavailable[key] = exc.reason
    return {**driver, "unavailable": unavailable}


def _gpu(pynvml: Any, index: int) -> dict[str, Any]:
    """One GPU's fields. A lost GPU stops at the first query that says so."""
    unavailable: dict[str, str] = {}
    handle = _query(
        pynvml, f"nvmlDeviceGetHandleByIndex({index})", pynvml.nvmlDeviceGetHandleByIndex, index
    )

    def raw(fields: tuple[str, ...], fn: Any, *extra: Any) -> Any:
        """The NVML value, or None with the reason recorded for every field it feeds."""
        try:
            return _query(pynvml, f"{fn.__name__}({index})", fn, handle, *extra)
        except Unavailable as exc:
            if exc.kind == ErrorKind.GPU_LOST:
                raise
            unavailable.update(dict.fromkeys(fields, exc.reason))
            return None

    def one(field: str, fn: Any, convert: Any = lambda v: v, *extra: Any) -> Any:
        value = raw((field,), fn, *extra)
        return None if value is None else convert(value)

    memory = raw(("memory_total_mib", "memory_used_mib"), pynvml.nvmlDeviceGetMemoryInfo)
    remapped = raw(
        ("remapped_rows_pending", "remapped_rows_failed"), pynvml.nvmlDeviceGetRemappedRows
    )
    fabric = raw(("fabric_state", "fabric_status"), _fabric_info(pynvml))
    gpu = {
        "index": index,
        "name": one("name", pynvml.nvmlDeviceGetName, _text),
        "uuid": one("uuid", pynvml.nvmlDeviceGetUUID, _text),
        "pci_bus_id": one("pci_bus_id", pynvml.nvmlDeviceGetPciInfo, lambda p: _text(p.busId)),
        "compute_capability": one(
            "compute_capability", pynvml.nvmlDeviceGetCudaComputeCapability, "{0[0]}.{0[1]}".format
        ),
        "memory_total_mib": None if memory is None else memory.total // MIB,
        "memory_used_mib": None if memory is None else memory.used // MIB,
        "mig_mode": one("mig_mode", pynvml.nvmlDeviceGetMigMode, lambda m: bool(m[0])),
        "ecc_enabled": one("ecc_enabled", pynvml.nvmlDeviceGetEccMode, lambda m: bool(m[0])),
        # (corrected, uncorrected, pending, failure)
        "remapped_rows_pending": None if remapped is None else bool(remapped[2]),
        "remapped_rows_failed": None if remapped is None else bool(remapped[3]),
        "retired_pages_pending": one(
            "retired_pages_pending", pynvml.nvmlDeviceGetRetiredPagesPendingStatus, bool
        ),
        "pcie_gen": one("pcie_gen", pynvml.nvmlDeviceGetCurrPcieLinkGeneration),
        "pcie_gen_max": one("pcie_gen_max", pynvml.nvmlDeviceGetMaxPcieLinkGeneration),
        "pcie_width": one("pcie_width", pynvml.nvmlDeviceGetCurrPcieLinkWidth),
        "pcie_width_max": one("pcie_width_max", pynvml.nvmlDeviceGetMaxPcieLinkWidth),
        "power_limit_w": one(
            "power_limit_w", pynvml.nvmlDeviceGetPowerManagementLimit, lambda mw: mw / 1000
        ),
        "temperature_c": one(
            "temperature_c", pynvml.nvmlDeviceGetTemperature, int, pynvml.NVML_TEMPERATURE_GPU
        ),
        "clock_event_reasons": one(
            "clock_event_reasons", pynvml.nvmlDeviceGetCurrentClocksEventReasons, _reason_names
        ),
        "persistence_mode": one("persistence_mode", pynvml.nvmlDeviceGetPersistenceMode, bool),
        **_fabric_fields(pynvml, fabric),
    }
    return {**gpu, "unavailable": unavailable}


def _fabric_info(pynvml: Any) -> Any:
    """A reader of the GPU's NVLink fabric registration (Hopper and newer), named for the stage
    it prints; a pynvml too old to know the call answers as a driver without it would."""

    def nvmlDeviceGetGpuFabricInfo(handle: Any) -> Any:
        if not hasattr(pynvml, "c_nvmlGpuFabricInfo_t"):
            raise pynvml.NVMLError(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        info = pynvml.c_nvmlGpuFabricInfo_t()
        pynvml.nvmlDeviceGetGpuFabricInfo(handle, ctypes.byref(info))
        return info

    return nvmlDeviceGetGpuFabricInfo


def _fabric_fields(pynvml: Any, info: Any) -> dict[str, Any]:
    if info is None:
        return {"fabric_state": None, "fabric_status": None}
    state = FABRIC_STATES.get(info.state, f"unknown_{info.state}")
    # NVML: the status "must be checked only if state returns complete".
    status = None
    if state == "completed":
        status = "success" if info.status == 0 else str(pynvml.NVMLError(info.status))
    return {"fabric_state": state, "fabric_status": status}


def _reason_names(mask: int) -> list[str]:
    names = [name for bit, name in CLOCK_EVENT_REASONS.items() if mask & bit]
    unknown = mask & ~sum(CLOCK_EVENT_REASONS)
    if unknown:
        names.append(f"unknown_0x{unknown:x}")
    return names


def main() -> int:
    import pynvml

    try:
        _query(pynvml, "nvmlInit", pynvml.nvmlInit)
    except Unavailable as exc:
        emit(driver={"error": _init_message(exc), "error_kind": exc.kind}, gpus=[])
        return 0
    driver = _driver(pynvml)
    driver["library"] = next(
        (lib["path"] for lib in mapped_libraries() if lib["kind"] == "nvml"), None
    )
    emit(driver=driver)
    try:
        count = _query(pynvml, "nvmlDeviceGetCount", pynvml.nvmlDeviceGetCount)
    except Unavailable as exc:
        emit(driver={**driver, "error": f"cannot count GPUs: {exc.reason}", "error_kind": exc.kind})
        return 0
    emit(gpus=[], count=count)
    for index in range(count):
        try:
            gpu = _gpu(pynvml, index)
        except Unavailable as exc:
            gpu = {"index": index, "error": exc.reason, "error_kind": exc.kind}
        emit(gpus=[gpu])
    emit(stage="done")
    return 0


def _init_message(exc: Unavailable) -> str:
    return {
        ErrorKind.LIBRARY_NOT_FOUND: "libnvidia-ml.so.1 not found: no NVIDIA driver installed",
        ErrorKind.DRIVER_NOT_LOADED: "the NVIDIA kernel driver is not loaded",
        ErrorKind.VERSION_MISMATCH: (
            "driver/library version mismatch: the loaded kernel module is not the version of "
            "the installed libnvidia-ml"
        ),
        ErrorKind.NO_PERMISSION: "no permission to open the NVIDIA device nodes",
    }.get(exc.kind or "", f"nvmlInit failed: {exc.reason}")


if __name__ == "__main__":
    sys.exit(main())
