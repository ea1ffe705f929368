"""What the probes observed, as typed, frozen, JSON-serialisable data (schema ``envcheck.facts/2``).

Unknown is not absent. A value that could not be read, or that a pasted dump does not mention, is
``None`` (an empty list for lists) with the reason in its section's ``unavailable`` map (``"not
supported"``, ``"no permission"``, ``"not in the pasted text"``, ...); a check on such a value
skips. A ``None`` without a reason is an observed absence (torch imported and reported no cuDNN).
A probe that failed as a whole carries ``error`` (one line) and ``error_kind`` (a stable token from
``ErrorKind``) in its section. ``provenance`` says which input a value came from, or what it was
derived from (a GPU's compute capability from its name, say).

``envcheck.facts/1`` files (before ``unavailable`` reached every section) are still read: every
field they lack takes its default.

The JSON Schema shipped in ``envcheck/schemas/`` is generated from these classes
(``python -m envcheck.schema``); a test keeps the two equal.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "envcheck.facts/2"
READABLE = ("envcheck.facts/1", SCHEMA)


class ErrorKind:
    """Stable tokens for why a probe or a GPU could not be read; remedies are keyed on them."""

    LIBRARY_NOT_FOUND = "library_not_found"
    DRIVER_NOT_LOADED = "driver_not_loaded"
    VERSION_MISMATCH = "driver_library_mismatch"
    NO_PERMISSION = "no_permission"
    NVML_UNKNOWN = "nvml_unknown"  # NVML's "Unknown Error": in a container, lost device access
    GPU_LOST = "gpu_lost"
    TIMEOUT = "timeout"
    NOT_INSTALLED = "not_installed"
    IMPORT_FAILED = "import_failed"  # installed, but a library it needs does not load
    CRASHED = "crashed"
    NOT_RUNNING = "not_running"  # a daemon (Docker) that nothing answers for
    NO_GPU_RUNTIME = "no_gpu_runtime"  # Docker cannot give containers GPUs
    IMAGE_NOT_FOUND = "image_not_found"  # the image is not on the Docker engine
    OTHER = "other"

    ALL = (
        LIBRARY_NOT_FOUND,
        DRIVER_NOT_LOADED,
        VERSION_MISMATCH,
        NO_PERMISSION,
        NVML_UNKNOWN,
        GPU_LOST,
        TIMEOUT,
        NOT_INSTALLED,
        IMPORT_FAILED,
        CRASHED,
        NOT_RUNNING,
        NO_GPU_RUNTIME,
        IMAGE_NOT_FOUND,
        OTHER,
    )


def doc(
    text: str,
    default: Any = None,
    factory: Any = None,
    bounds: tuple[float, float] | None = None,
    added: bool = False,
) -> Any:
    """A dataclass field carrying its documentation (it ends up in the JSON Schema) and, for a
    number, the range a real machine can report (a value outside it is bad input). ``added``:
    a field added within the schema's version, so older files of that version lack it (the
    schema does not require it; reading fills in the default)."""
    metadata: dict[str, Any] = {"doc": text}
    if bounds is not None:
        metadata["bounds"] = bounds
    if added:
        metadata["added"] = True
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


UNAVAILABLE_DOC = (
    "Field name -> why it is null or empty ('not supported', 'not in the pasted text')."
)


@dataclass(frozen=True)
class Driver:
    """The NVIDIA driver as NVML reports it."""

    version: str | None = doc("Driver version, e.g. '580.159.04'.")
    cuda: str | None = doc("Newest CUDA version the driver supports, e.g. '13.0'.")
    nvml_version: str | None = doc("NVML library version, e.g. '13.580.159.04'.")
    library: str | None = doc("Path of the libnvidia-ml that was loaded, when known.")
    unavailable: dict[str, str] = doc(
        "Field name -> why it is null ('not supported', ...).", factory=dict
    )
    error: str | None = doc("Why NVML could not be read (one line); null when it could.")
    error_kind: str | None = doc("Stable token for the error (see ErrorKind).")


@dataclass(frozen=True)
class Gpu:
    """One GPU, as NVML reports it. Fields NVML could not read are null, reason in `unavailable`."""

    index: int = doc("NVML index (not affected by CUDA_VISIBLE_DEVICES).", 0, bounds=(0, 4096))
    name: str | None = doc("Product name, e.g. 'NVIDIA H200'.")
    uuid: str | None = doc("GPU UUID, e.g. 'GPU-14e7c949-...'.")
    pci_bus_id: str | None = doc("PCI bus id, e.g. '00000000:19:00.0'.")
    pci_device_id: str | None = doc("PCI device id, e.g. '0x2335' (from `nvidia-smi -q`).")
    compute_capability: str | None = doc("CUDA compute capability, e.g. '9.0'.")
    memory_total_mib: int | None = doc("Total memory in MiB.", bounds=(0, 2**30))
    memory_used_mib: int | None = doc("Used memory in MiB.", bounds=(0, 2**30))
    mig_mode: bool | None = doc("Multi-Instance GPU mode currently enabled.")
    ecc_enabled: bool | None = doc("ECC currently enabled.")
    remapped_rows_pending: bool | None = doc("Row remapping pending: needs a GPU reset.")
    remapped_rows_failed: bool | None = doc("A row remapping failed: the GPU needs service.")
    retired_pages_pending: bool | None = doc("Page retirement pending (pre-Ampere GPUs).")
    pcie_gen: int | None = doc("Current PCIe link generation.", bounds=(1, 16))
    pcie_gen_max: int | None = doc("Maximum PCIe link generation of GPU and slot.", bounds=(1, 16))
    pcie_width: int | None = doc("Current PCIe link width (lanes).", bounds=(1, 64))
    pcie_width_max: int | None = doc("Maximum PCIe link width (lanes).", bounds=(1, 64))
    power_limit_w: float | None = doc("Power management limit in watts.", bounds=(0, 100_000))
    temperature_c: int | None = doc("GPU core temperature in degrees Celsius.", bounds=(-100, 300))
    clock_event_reasons: list[str] | None = doc(
        "Active clock event (throttle) reasons, e.g. ['gpu_idle']; [] when none."
    )
    persistence_mode: bool | None = doc("Persistence mode enabled.")
    fabric_state: str | None = doc(
        "Registration in the NVLink fabric, which the Fabric Manager does on NVSwitch systems "
        "(HGX/DGX): 'not_supported' (no fabric), 'not_started', 'in_progress' or 'completed'. "
        "Added within facts/2: older files lack it.",
        added=True,
    )
    fabric_status: str | None = doc(
        "How a completed registration ended: 'success', or NVML's error text. Added within "
        "facts/2: older files lack it.",
        added=True,
    )
    unavailable: dict[str, str] = doc(
        "Field name -> why it is null ('not supported', 'no permission', ...).", factory=dict
    )
    error: str | None = doc("Why this GPU could not be read at all (one line).")
    error_kind: str | None = doc("Stable token for the error (see ErrorKind).")


@dataclass(frozen=True)
class TorchDevice:
    """A CUDA device as torch sees it (indices follow CUDA_VISIBLE_DEVICES)."""

    index: int = doc("torch device index.", 0, bounds=(0, 4096))
    name: str | None = doc("Device name.")
    capability: str | None = doc("Compute capability, e.g. '9.0'.")


@dataclass(frozen=True)
class LoadedLibrary:
    """A shared library the torch process really mapped (from /proc/self/maps)."""

    kind: str = doc("One of cudart, cudnn, cublas, nvml, cuda (the driver API).", "")
    path: str = doc("Resolved file path.", "")
    stub: bool = doc("True when it is the CUDA toolkit's link-time stub, not a driver.", False)


@dataclass(frozen=True)
class Smoke:
    """A matmul and a cuDNN convolution on one GPU, compared with the CPU result."""

    index: int = doc("torch device index.", 0, bounds=(0, 4096))
    ok: bool = doc("Both results matched the CPU within tolerance.", False)
    matmul_max_err: float | None = doc("Largest relative error of the matmul against the CPU.")
    conv_max_err: float | None = doc("Largest relative error of the convolution against the CPU.")
    seconds: float | None = doc("Wall time of the test on this GPU.")
    error: str | None = doc("Why the test failed to run (one line).")


@dataclass(frozen=True)
class Torch:
    """torch as the probed interpreter imports it."""

    python: str | None = doc("Interpreter the torch probe ran.")
    found_via: str | None = doc(
        "How that interpreter was chosen: '--python', 'envcheck' (envcheck's own), or, when "
        "envcheck's own has no torch, the first with torch of 'VIRTUAL_ENV', 'CONDA_PREFIX', "
        "'PATH' (python3). Added within facts/2: older files lack it.",
        added=True,
    )
    searched: list[str] = doc(
        "Other interpreters looked at for torch, in order, when envcheck's own had none "
        "(e.g. 'VIRTUAL_ENV: /home/me/venv/bin/python'). Added within facts/2.",
        factory=list,
        added=True,
    )
    version: str | None = doc("torch.__version__, e.g. '2.11.0+cu130'.")
    cuda: str | None = doc("CUDA version torch was built with; null for a CPU-only build.")
    cudnn: str | None = doc("cuDNN version loaded at run time, e.g. '9.19.0'.")
    cudnn_compiled: str | None = doc("cuDNN version torch was compiled against.")
    arch_list: list[str] = doc("torch.cuda.get_arch_list(), e.g. ['sm_80', 'sm_90'].", factory=list)
    cuda_available: bool | None = doc("torch.cuda.is_available().")
    cuda_error: str | None = doc("What torch said when CUDA was unavailable (one line).")
    messages: list[str] = doc(
        "torch, CUDA and NVML warnings and errors seen, one line each (see envcheck.messages).",
        factory=list,
    )
    device_count: int | None = doc("torch.cuda.device_count().", bounds=(0, 4096))
    devices: list[TorchDevice] = doc("CUDA devices torch sees.", factory=list)
    loaded_libraries: list[LoadedLibrary] = doc("CUDA libraries really mapped.", factory=list)
    smoke: list[Smoke] | None = doc("Smoke test per GPU; null when not run.")
    unavailable: dict[str, str] = doc(UNAVAILABLE_DOC, factory=dict)
    error: str | None = doc("Why torch could not be probed or imported (one line).")
    error_kind: str | None = doc("Stable token for the error (see ErrorKind).")


@dataclass(frozen=True)
class Nvcc:
    """The CUDA compiler, needed only to build extensions."""

    path: str | None = doc("nvcc that would be used; null when none was found.")
    found_via: str | None = doc(
        "Where it was found: PATH, CUDA_HOME, CUDA_PATH or /usr/local/cuda."
    )
    version: str | None = doc("CUDA release of nvcc, e.g. '13.0'.")
    build: str | None = doc("Full version, e.g. 'V13.0.88'.")
    cuda_compat_libs: list[str] = doc(
        "libcuda.so files of a CUDA forward-compatibility package found on disk.", factory=list
    )
    unavailable: dict[str, str] = doc(UNAVAILABLE_DOC, factory=dict)
    error: str | None = doc("Why nvcc could not be run (one line).")
    error_kind: str | None = doc("Stable token for the error (see ErrorKind).")


@dataclass(frozen=True)
class Container:
    """Whether we run inside a container, and the GPU plumbing visible from here."""

    inside: bool | None = doc("True inside a container; null when not known.", False)
    runtime: str | None = doc("docker, podman, kubernetes, containerd or null.")
    evidence: list[str] = doc("What gave it away, e.g. ['/.dockerenv'].", factory=list)
    device_nodes: list[str] = doc("/dev/nvidia* nodes present.", factory=list)
    shm_mib: int | None = doc(
        "Size of /dev/shm in MiB (DataLoader workers share memory there).", bounds=(0, 2**40)
    )
    unavailable: dict[str, str] = doc(UNAVAILABLE_DOC, factory=dict)


@dataclass(frozen=True)
class Docker:
    """The Docker engine on this host (from `docker info`), when there is one."""

    present: bool | None = doc(
        "A Docker engine is configured here (DOCKER_HOST, its socket or CLI); null: not known.",
        False,
    )
    host: str | None = doc("Where the engine was looked for, e.g. 'unix:///var/run/docker.sock'.")
    reachable: bool | None = doc("The engine answered; null when not tried.")
    server_version: str | None = doc("Engine version, e.g. '28.3.0'.")
    runtimes: list[str] = doc(
        "OCI runtimes the engine knows, e.g. ['nvidia', 'runc'].", factory=list
    )
    default_runtime: str | None = doc("The engine's default runtime, e.g. 'runc'.")
    cdi_spec_dirs: list[str] = doc("Directories the engine reads CDI specs from.", factory=list)
    cdi_devices: list[str] = doc(
        "CDI devices the engine discovered, e.g. 'nvidia.com/gpu=0'.", factory=list
    )
    nvidia_hook: str | None = doc(
        "nvidia-container-runtime-hook on this host's PATH (serves --gpus)."
    )
    gpu_container_image: str | None = doc("Image of the GPU container test; null when not run.")
    gpu_container_ok: bool | None = doc(
        "A container with all GPUs started and ran; null: not tried."
    )
    gpu_container_error: str | None = doc("Why the GPU container failed (one line).")
    gpu_container_error_kind: str | None = doc(
        "Stable token for that failure, e.g. 'no_gpu_runtime', 'image_not_found' (see ErrorKind)."
    )
    unavailable: dict[str, str] = doc(UNAVAILABLE_DOC, factory=dict)
    error: str | None = doc("Why the engine could not be read (one line).")
    error_kind: str | None = doc("Stable token for the error (see ErrorKind).")


@dataclass(frozen=True)
class WorkloadRow:
    """One row of a workload's result, as much as a check needs."""

    model: str = doc("Model name, e.g. 'skorch-fast'.", "")
    device: str | None = doc("Where it ran, e.g. 'cuda:0' or 'cpu'.")
    rows: int | None = doc("Training rows.")
    fit_s: float | None = doc("Median fit time in seconds.")
    test_accuracy: float | None = doc("Test accuracy (worst repeat).")


@dataclass(frozen=True)
class Workload:
    """A workload envcheck ran (``--with-workloads``), judged by its own validation."""

    name: str = doc("Workload name, e.g. 'digits'.", "")
    command: list[str] = doc("The command that ran it.", factory=list)
    seconds: float | None = doc("Wall time of the whole run.")
    passed: bool | None = doc("The workload's own validation passed; null when it did not finish.")
    failures: list[str] = doc("The validation's failures, one line each.", factory=list)
    rows: list[WorkloadRow] = doc("Its result rows.", factory=list)
    error: str | None = doc("Why it did not finish (one line).")
    error_kind: str | None = doc("Stable token for the error (see ErrorKind).")


@dataclass(frozen=True)
class PerfMeasurement:
    """One figure `envcheck perf` measured (conventions: envcheck/probes/perf_runtime.py)."""

    device: str = doc("Where it ran: 'cuda:0', 'cpu', or 'cuda' for the all-reduce.", "")
    gpu_index: int | None = doc("torch's index of the GPU; null on the CPU and for all GPUs.")
    name: str | None = doc("Device name as torch reports it, e.g. 'NVIDIA H200'.")
    pci_bus_id: str | None = doc("The GPU's PCI bus id, to find its NVML facts.")
    kind: str = doc("gemm, memory, host_link, peer or allreduce.", "")
    variant: str = doc("fp32/tf32/bf16/fp16 (gemm), copy, h2d/d2h, 'I->J' (peer), nccl.", "")
    value: float | None = doc("The figure, in unit; null when the test failed.", bounds=(0, 1e7))
    unit: str | None = doc("TFLOPS (10^12 FLOP/s) or GB/s (10^9 bytes/s).")
    size: str | None = doc("The problem size, e.g. '8192x8192x8192' or '1024 MiB'.")
    repeats: int | None = doc("Operations timed.", bounds=(0, 10**9))
    seconds: float | None = doc("Seconds timed (after the warm-up).", bounds=(0, 86_400))
    peer: int | None = doc("The other GPU of a peer copy.")
    peer_access: bool | None = doc("A peer copy went GPU to GPU directly (NVLink or P2P).")
    error: str | None = doc("Why the test gave no figure (one line).")


@dataclass(frozen=True)
class Perf:
    """`envcheck perf` (or --perf): what each device delivered, within its own time bound."""

    measurements: list[PerfMeasurement] = doc("Every figure, as measured.", factory=list)
    seconds: float | None = doc("Wall time of the whole run.")
    budget_s: float | None = doc("The time the run was allowed.")
    complete: bool | None = doc("Every test ran (false: the budget ran out first).")
    stage: str | None = doc("The step it was at when it stopped early.")
    error: str | None = doc("Why it did not run or finish (one line).")
    error_kind: str | None = doc("Stable token for the error (see ErrorKind).")


@dataclass(frozen=True)
class ProbeRun:
    """How one probe went: lets a reader see what was slow or timed out."""

    name: str = doc("Probe name.", "")
    seconds: float = doc("Wall time.", 0.0)
    status: str = doc("ok, error, timeout or skipped.", "ok")
    detail: str | None = doc("One line on a non-ok status.")


@dataclass(frozen=True)
class Facts:
    """Everything the probes observed on one machine."""

    schema: str = doc("'envcheck.facts/2' ('envcheck.facts/1' files are read too).", SCHEMA)
    envcheck_version: str | None = doc("gpu-envkit version that collected these facts.")
    collected_at: str | None = doc("UTC time of collection, ISO 8601.")
    source: str | None = doc(
        "Where these facts came from when not probed live (a fixture, pasted text files)."
    )
    platform: str | None = doc("OS and machine, e.g. 'Linux-6.1 x86_64'.")
    hostname: str | None = doc(
        "The node's name in a fleet table: Slurm's node name (SLURMD_NODENAME), the Kubernetes "
        "node's (ENVCHECK_NODE_NAME, set by deploy/kubernetes), else the host name. Added "
        "within facts/2: older files lack it.",
        added=True,
    )
    driver: Driver = doc("NVIDIA driver.", factory=Driver)
    gpus: list[Gpu] = doc("GPUs NVML sees.", factory=list)
    torch: Torch = doc("torch in the probed interpreter.", factory=Torch)
    nvcc: Nvcc = doc("CUDA compiler.", factory=Nvcc)
    container: Container = doc("Container plumbing.", factory=Container)
    docker: Docker = doc("The Docker engine on this host.", factory=Docker)
    env: dict[str, str] = doc(
        "Only the GPU-related variables that were set (never the whole environment).", factory=dict
    )
    workloads: list[Workload] = doc("Workloads run with --with-workloads.", factory=list)
    perf: Perf | None = doc(
        "Performance measured by `envcheck perf` or --perf; null when not measured. Added "
        "within facts/2: older files lack it.",
        added=True,
    )
    probes: list[ProbeRun] = doc("How each probe went.", factory=list)
    unavailable: dict[str, str] = doc(
        "Top-level field name ('gpus', 'env') -> why it is empty: no GPU reported is not no GPU.",
        factory=dict,
    )
    provenance: dict[str, str] = doc(
        "Value path (e.g. 'gpus[0].compute_capability') -> the input it came from, or what it was "
        "derived from; values probed live have no entry.",
        factory=dict,
    )


# --- JSON conversion at the edges -----------------------------------------------------------


def to_json(obj: Any) -> Any:
    """Plain JSON data from facts dataclasses (and lists/dicts of them)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, list | tuple):
        return [to_json(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_json(v) for k, v in obj.items()}
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN: a reading that is not a number is no reading
    return obj


class FactsError(ValueError):
    """Facts JSON that does not fit the schema; the message names the path and the problem."""


def from_json(cls: type, data: Any, path: str = "facts") -> Any:
    """Build ``cls`` from JSON data, checking types; unknown keys are an error (typos are bugs)."""
    if not isinstance(data, dict):
        raise FactsError(f"{path}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise FactsError(f"{path}: unknown key {unknown[0]!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        kwargs[key] = _convert(hints[key], value, f"{path}.{key}")
        _check_bounds(fields[key], kwargs[key], f"{path}.{key}")
    return cls(**kwargs)


def _check_bounds(f: dataclasses.Field, value: Any, path: str) -> None:
    """A number no real machine reports (NaN, a negative size, a 10^400 W limit) is bad input:
    it must never reach a check."""
    if isinstance(value, float) and not math.isfinite(value):
        raise FactsError(f"{path}: {value} is not a finite number")
    bounds = f.metadata.get("bounds")
    if bounds and isinstance(value, int | float) and not bounds[0] <= value <= bounds[1]:
        raise FactsError(f"{path}: {value} is outside {bounds[0]:g}..{bounds[1]:g}")


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(args[0], value, path)
    if dataclasses.is_dataclass(tp):
        return from_json(tp, value, path)
    if origin is list:
        if not isinstance(value, list):
            raise FactsError(f"{path}: expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(tp)
        return [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise FactsError(f"{path}: expected an object, got {type(value).__name__}")
        _, item = typing.get_args(tp)
        return {str(k): _convert(item, v, f"{path}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > 1e300:  # float() of a 400-digit integer overflows
            raise FactsError(f"{path}: a {len(str(abs(value)))}-digit number is not plausible")
        return float(value)
    if (tp is int and isinstance(value, bool)) or not isinstance(value, tp):
        raise FactsError(f"{path}: expected {tp.__name__}, got {type(value).__name__}")
    return value
