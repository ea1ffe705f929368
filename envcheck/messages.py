"""What torch, CUDA, NVML and nvidia-smi say when something is wrong: one table of their messages.

The live torch probe records the warnings and errors torch gives (``facts.torch.messages``), and
users paste the same lines into bug reports; both are read through this table, so a message is
known in one place. Each pattern is the message's stable part, as the library prints it (sources:
torch/cuda/__init__.py and c10/cuda error texts, the CUDA runtime's cudaGetErrorString strings,
NVML's nvmlErrorString, nvidia-smi's own lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from envcheck.engine import NO_GPU_DRIVER


class Kind:
    """Stable tokens for what a message means; checks key their verdicts on them."""

    ARCH_UNSUPPORTED = "arch_unsupported"  # the build has no kernels for this GPU
    NO_KERNEL_IMAGE = "no_kernel_image"
    DRIVER_TOO_OLD = "driver_too_old"  # the driver's CUDA is older than torch's
    NO_DRIVER = "no_driver"  # no libcuda: no driver, or a container without GPUs
    STUB_LIBRARY = "stub_library"  # CUDA error 34: the toolkit's stub libcuda was loaded
    COMPAT_UNSUPPORTED = "compat_unsupported"  # CUDA error 804: cuda-compat on a GPU without it
    UNKNOWN_ERROR = "unknown_error"  # CUDA error 999, typically after suspend/resume
    NO_DEVICE = "no_device"  # CUDA error 100
    SYSTEM_NOT_READY = "system_not_ready"  # CUDA error 802: NVSwitch fabric not set up
    NOT_COMPILED = "not_compiled"  # a CPU-only torch asked for CUDA
    CUDA_REQUESTED = "cuda_requested"  # a program asked for a GPU that torch cannot give
    LIBRARY_MISSING = "library_missing"  # a CUDA library torch needs does not load
    CUDNN_MISMATCH = "cudnn_mismatch"
    SHM_EXHAUSTED = "shm_exhausted"  # DataLoader workers ran out of /dev/shm
    NVML_MISMATCH = "nvml_mismatch"  # kernel module and user-space driver differ
    NVML_UNKNOWN = "nvml_unknown"  # NVML init failed: in a container, device access lost
    NVML_NO_PERMISSION = "nvml_no_permission"  # the device nodes cannot be opened
    NO_GPU_RUNTIME = "no_gpu_runtime"  # Docker has no NVIDIA runtime to give containers GPUs
    CUDA_HOME_MISMATCH = "cuda_home_mismatch"  # nvcc's CUDA major is not torch's
    IMAGE_NEEDS_NEWER_DRIVER = "image_needs_newer_driver"  # an image's CUDA is past the driver
    SMI_NO_DRIVER = "smi_no_driver"  # nvidia-smi cannot talk to the kernel module
    MODULE_NOT_LOADED = "module_not_loaded"  # modprobe: Secure Boot, or none for this kernel
    NO_DEVICES_FOUND = "no_devices_found"
    GPU_LOST = "gpu_lost"


# CUDA libraries whose failure to load breaks `import torch` (the driver's libcuda and NVML are
# the driver layer's: torch loads them lazily).
_TORCH_LIBS = (
    r"lib(?:cudnn\w*|cublas\w*|cudart|cufft\w*|curand|cusparse\w*|cusolver\w*|nvrtc\w*|nccl"
    r"|nvJitLink|nvToolsExt|cupti|cufile|cusparseLt|torch\w*|c10\w*|shm|caffe2\w*|gomp)"
)
_DRIVER_LIBS = r"lib(?:cuda|nvidia-ml)"

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        (
            Kind.ARCH_UNSUPPORTED,
            r"with CUDA capability sm_\d+[a-z]? is not compatible with the current PyTorch",
        ),
        (Kind.ARCH_UNSUPPORTED, r"PyTorch no longer supports this GPU because it is too old"),
        (Kind.NO_KERNEL_IMAGE, r"no kernel image is available for execution on the device"),
        (Kind.NO_KERNEL_IMAGE, r"CUDA error: invalid device function"),
        (Kind.DRIVER_TOO_OLD, r"NVIDIA driver on your system is too old"),
        (Kind.DRIVER_TOO_OLD, r"CUDA driver version is insufficient for CUDA runtime version"),
        (Kind.NO_DRIVER, r"Found no NVIDIA driver on your system"),
        (Kind.NO_DRIVER, rf"{_DRIVER_LIBS}\.so(?:\.1)?: cannot open shared object file"),
        (Kind.STUB_LIBRARY, r"CUDA driver version is a stub library|cudaErrorStubLibrary"),
        (Kind.STUB_LIBRARY, r"CUDA error:? 34\b|Error 34:"),
        (Kind.COMPAT_UNSUPPORTED, r"forward compatibility was attempted on non supported HW"),
        (Kind.COMPAT_UNSUPPORTED, r"CUDA error:? 804\b|Error 804:|cudaErrorCompatNotSupported"),
        (Kind.UNKNOWN_ERROR, r"CUDA unknown error|CUDA error: unknown error|cudaErrorUnknown"),
        (Kind.UNKNOWN_ERROR, r"CUDA error:? 999\b|Error 999:|CUDA_ERROR_UNKNOWN"),
        (Kind.NO_DEVICE, r"no CUDA-capable device is detected|CUDA_ERROR_NO_DEVICE"),
        (Kind.NO_DEVICE, r"No CUDA GPUs are available"),
        (
            Kind.SYSTEM_NOT_READY,
            r"system not yet initialized|cudaErrorSystemNotReady|CUDA_ERROR_SYSTEM_NOT_READY",
        ),
        (Kind.SYSTEM_NOT_READY, r"CUDA error:? 802\b|Error 802:|runtime error \(802\)"),
        # THC's "error=802", ollama's "cuInit err: 802" / "init failure: 802"
        (Kind.SYSTEM_NOT_READY, r"\b(?:error=|err: |failure: )802(?![.\d])"),
        (Kind.NOT_COMPILED, r"Torch not compiled with CUDA enabled"),
        (Kind.CUDA_REQUESTED, r"Invalid CUDA '?device=\S+'? requested"),
        (Kind.CUDA_REQUESTED, r"deserialize object on a CUDA device but torch\.cuda\.is_available"),
        # cuDNN's sub-libraries loaded lazily from another cuDNN: a runtime mismatch, not an
        # import failure (torch imported; the first convolution fails).
        (Kind.CUDNN_MISMATCH, r"Could not load library libcudnn\w*\.so[\w.]*\. Error:"),
        (Kind.LIBRARY_MISSING, rf"{_TORCH_LIBS}[\w.+-]*: cannot open shared object file"),
        (Kind.LIBRARY_MISSING, rf"{_TORCH_LIBS}[\w.+-]*\.so[\w.]*: undefined symbol"),
        (Kind.LIBRARY_MISSING, r"undefined symbol: \w*(?:cudnn|cublas|nvJitLink|nccl|ncclComm)\w*"),
        (Kind.LIBRARY_MISSING, r"Error loading \S*(?:cudnn|cublas|cudart|torch|c10)\S*\.dll"),
        (Kind.CUDNN_MISMATCH, r"cuDNN version (?:incompatibility|mismatch)"),
        (Kind.SHM_EXHAUSTED, r"unable to write to file </torch_"),
        (Kind.SHM_EXHAUSTED, r"insufficient shared memory \(shm\)|out of shared\s+memory"),
        (Kind.SHM_EXHAUSTED, r"DataLoader worker \(pid \d+\) is killed by signal: Bus"),
        (Kind.NVML_MISMATCH, r"Driver/library version mismatch"),
        (Kind.NVML_MISMATCH, r"NVRM: API mismatch: the client"),  # the kernel log
        # Secure Boot (or lockdown) refusing an unsigned module; no module for the running kernel.
        (
            Kind.MODULE_NOT_LOADED,
            r"could not insert 'nvidia[\w-]*': (?:Key was rejected by service|Required key not "
            r"available)|Lockdown: modprobe: unsigned module loading is restricted|not signed by "
            r"a key that is trusted by the kernel",
        ),
        (
            Kind.MODULE_NOT_LOADED,
            r"Module nvidia[\w-]* not found(?: in directory /lib/modules/|\.)",
        ),
        (Kind.NVML_UNKNOWN, r"Failed to initialize NVML: Unknown Error"),
        (Kind.NVML_NO_PERMISSION, r"Failed to initialize NVML: Insufficient Permissions"),
        (Kind.NO_GPU_RUNTIME, rf"{NO_GPU_DRIVER} \S* ?with capabilities: \[\["),
        (
            Kind.NO_GPU_RUNTIME,
            r"unknown or invalid runtime name: nvidia|Unknown runtime specified nvidia",
        ),
        # An image's NVIDIA_REQUIRE_CUDA the host driver does not meet (nvidia-container-cli).
        (Kind.IMAGE_NEEDS_NEWER_DRIVER, r"unsatisfied condition: cuda\s*>="),
        (
            Kind.CUDA_HOME_MISMATCH,
            r"The detected CUDA version \((?:[\d.]+|%s)\) mismatches the version",
        ),
        (Kind.SMI_NO_DRIVER, r"NVIDIA-SMI has failed because it couldn.t"),
        (Kind.NO_DEVICES_FOUND, r"^\s*No devices were found\s*$"),
        (Kind.GPU_LOST, r"GPU is lost|fallen off the bus|GPU has fallen off"),
    )
)


@dataclass(frozen=True)
class Message:
    kind: str
    line: str  # the line it was found on, trimmed


def classify(text: str) -> list[Message]:
    """Every known message in ``text``, in the order they appear: one per line, the first
    pattern that matches deciding what it means (the table lists the specific ones first)."""
    found: list[Message] = []
    seen: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if line in seen:
            continue
        kind = next((kind for kind, pattern in PATTERNS if pattern.search(line)), None)
        if kind:
            seen.add(line)
            found.append(Message(kind, line[:300]))
    return found


def first(messages: list[str], *kinds: str) -> Message | None:
    """The first of ``messages`` (lines) that means one of ``kinds``."""
    for line in messages:
        for message in classify(line):
            if message.kind in kinds:
                return message
    return None


# Facts a message states outright, read by the paste parser.
SM_NOT_COMPATIBLE = re.compile(
    r"(?P<name>[\w .()/-]+?) with CUDA capability sm_(?P<cc>\d+)[a-z]? is not compatible"
)
SUPPORTED_ARCHS = re.compile(r"supports CUDA capabilities ((?:(?:sm|compute)_\d+[a-z]?\s*)+)")
TOO_OLD_GPU = re.compile(
    r"Found GPU(?P<index>\d+) (?P<name>.+?) which is of cuda capability (?P<cc>\d+\.\d+)"
)
# How programs and users print torch's version and CUDA availability outside collect_env
# ("torch-2.1.0+cpu" in Ultralytics' banner, `torch.__version__` printed, `pip list`).
TORCH_VERSION = re.compile(
    r"(?:\btorch[- ]|\btorch==|torch\.__version__\W+)(?P<version>\d+\.\d+(?:\.\d+)?(?:\+\w+)?)"
)
IMAGE_NEEDS_CUDA = re.compile(r"unsatisfied condition: cuda\s*>=\s*(?P<cuda>\d+\.\d+)")
# Read from the text with its whitespace folded: pip indents and wraps the message. torch 2.x
# formats the versions in; newer releases leave "%s" and pass them as the exception's arguments.
CUDA_HOME_VERSIONS = re.compile(
    r"detected CUDA version \((?P<nvcc>\d+\.\d+)[\d.]*\) mismatches the version that was used "
    r"to compile ?PyTorch \((?P<torch>\d+\.\d+)[\d.]*\)"
    r"|detected CUDA version \(%s\) mismatches the version that was used to compile ?PyTorch "
    r"\(%s\)[^']*', ?'(?P<nvcc_arg>\d+\.\d+)[\d.]*', ?'(?P<torch_arg>\d+\.\d+)"
)
NVCC_RELEASE = re.compile(
    r"Cuda compilation tools, release (?P<version>\d+\.\d+), (?P<build>V[\d.]+)"
)
CUDA_AVAILABLE = re.compile(r"torch\.cuda\.is_available\(\)\W+(?P<value>True|False)\b")
DRIVER_FOUND_VERSION = re.compile(r"too old \(found version (?P<version>\d+)\)")
CUDNN_VERSIONS = re.compile(
    r"compiled\s+against\s+(?:\((?P<compiled>[\d, ]+)\)|(?P<compiled_int>\d+))\s+but\s+"
    r"(?:found runtime version|linked against)\s+(?:\((?P<runtime>[\d, ]+)\)|(?P<runtime_int>\d+))"
)
