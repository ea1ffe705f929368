"""The NVIDIA driver: is it there, does it see the GPUs, does it run torch's CUDA."""

from __future__ import annotations

from envcheck import compat
from envcheck.checks import Finding, check, failed, passed, skipped, warned, without_cuda_torch
from envcheck.expect import Expectations
from envcheck.facts import ErrorKind, Facts, Gpu

STUB_REMEDY = (
    "Remove the CUDA toolkit's stubs directory from LD_LIBRARY_PATH: stubs are for linking only."
)


def gpu_label(gpu: Gpu) -> str:
    return f"GPU {gpu.index} ({gpu.name})" if gpu.name else f"GPU {gpu.index}"


def _no_driver(facts: Facts) -> Finding:
    if facts.container.inside:
        return failed(
            "no NVIDIA driver visible in this container (libnvidia-ml.so.1 not found)",
            "Start the container with GPUs; the host needs the NVIDIA Container Toolkit "
            "configured for Docker.",
            "docker run --gpus all ...",
            "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker",
        )
    return failed(
        "no NVIDIA driver installed (libnvidia-ml.so.1 not found): no usable NVIDIA GPU here",
        "On a machine with an NVIDIA GPU, install the NVIDIA driver (580 or newer runs CUDA 13 "
        "builds) and reboot.",
        "sudo ubuntu-drivers install   # Ubuntu; or your distribution's nvidia-driver package",
        "sudo reboot",
    )


_DRIVER_ERRORS = {
    ErrorKind.DRIVER_NOT_LOADED: lambda facts: failed(
        "the NVIDIA kernel module is not loaded",
        "Load it; if that fails, the kernel log says why (Secure Boot rejects unsigned modules; "
        "a kernel update needs the module rebuilt).",
        "sudo modprobe nvidia",
        "sudo dmesg | grep -i nvidia",
    ),
    ErrorKind.VERSION_MISMATCH: lambda facts: failed(
        "driver/library version mismatch: the running kernel module is not the version of the "
        "installed user-space driver (typical right after a driver upgrade)",
        "Reboot so the new kernel module loads (or unload and reload the nvidia modules).",
        "sudo reboot",
    ),
    ErrorKind.NO_PERMISSION: lambda facts: failed(
        "no permission to open the NVIDIA device nodes",
        "Check the device nodes' permissions; inside a container, pass the GPUs with --gpus.",
        "ls -l /dev/nvidia*",
    ),
    ErrorKind.TIMEOUT: lambda facts: failed(
        facts.driver.error or "NVML did not answer",
        "The driver is stuck: check whether nvidia-smi hangs too, and the kernel log for Xid "
        "errors; enabling persistence mode avoids slow re-initialisation.",
        "timeout 20 nvidia-smi",
        "sudo dmesg | grep -i xid",
        "sudo nvidia-smi -pm 1",
    ),
}


@check("driver.present", "NVIDIA driver and GPUs")
def driver_present(facts: Facts, expect: Expectations) -> Finding:
    """A driver answers through NVML and every GPU it lists can be read.

    Each way this fails (no driver, module not loaded, user-space/kernel mismatch, a GPU fallen
    off the bus, a hung driver) has its own remedy.
    """
    driver = facts.driver
    if driver.error_kind == ErrorKind.LIBRARY_NOT_FOUND:
        return _no_driver(facts)
    if driver.error:
        make = _DRIVER_ERRORS.get(driver.error_kind or "")
        if make:
            return make(facts)
        return failed(
            f"NVML failed: {driver.error}", "Run nvidia-smi to see the driver's own message."
        )
    if driver.library and "/stubs/" in driver.library:
        return failed(
            f"NVML came from the CUDA toolkit's link-time stub {driver.library}, not a driver",
            STUB_REMEDY,
        )
    if not facts.gpus:
        return failed(
            f"driver {driver.version} is loaded but sees no GPU",
            "Check that the GPU is seated and powered and appears on the PCI bus; in a "
            "container, check NVIDIA_VISIBLE_DEVICES.",
            "lspci | grep -i nvidia",
        )
    lost = [g for g in facts.gpus if g.error_kind == ErrorKind.GPU_LOST]
    if lost:
        names = ", ".join(gpu_label(g) for g in lost)
        return failed(
            f"{names} fell off the bus (NVML: GPU is lost)",
            "Reset the GPU or reboot; if it recurs, check power, cooling and seating "
            "(the kernel log shows Xid 79).",
            "sudo dmesg | grep -i xid",
            f"sudo nvidia-smi -r -i {lost[0].index}",
        )
    broken = [g for g in facts.gpus if g.error]
    if broken:
        first = broken[0]
        return failed(
            f"{gpu_label(first)} cannot be read: {first.error}",
            "Check the kernel log for Xid errors; reset the GPU or reboot.",
            "sudo dmesg | grep -i xid",
        )
    names = ", ".join(sorted({g.name or "?" for g in facts.gpus}))
    count = len(facts.gpus)
    return passed(f"driver {driver.version} (CUDA {driver.cuda}), {count} GPU(s): {names}")


@check("driver.cuda", "Driver runs torch's CUDA")
def driver_cuda(facts: Facts, expect: Expectations) -> Finding:
    """The driver supports the CUDA runtime torch was built with.

    Same or newer: fine. Same major, older minor: runs through minor-version compatibility, but
    PTX newer than the driver cannot be JIT-compiled. Older major: fails, unless a CUDA
    forward-compatibility package is installed (datacenter GPUs only).
    """
    no_torch = without_cuda_torch(facts)
    if no_torch:
        return no_torch
    runtime, driver = facts.torch.cuda, facts.driver
    if not driver.cuda:
        return skipped("no driver to compare with")
    have, need = compat.version_tuple(driver.cuda), compat.version_tuple(runtime)
    if have >= need:
        return passed(
            f"driver {driver.version} supports CUDA {driver.cuda} ≥ torch's CUDA {runtime}"
        )
    if have[0] == need[0]:
        return passed(
            f"driver CUDA {driver.cuda} < torch's CUDA {runtime}: runs through minor-version "
            "compatibility (PTX newer than the driver will not JIT-compile)"
        )
    floor = compat.min_driver_for_major(need[0])
    if facts.nvcc.cuda_compat_libs:
        return warned(
            f"driver CUDA {driver.cuda} is older than torch's CUDA {runtime}; relying on the "
            f"forward-compatibility libraries at {facts.nvcc.cuda_compat_libs[0]}",
            "Forward compatibility works on datacenter GPUs only; upgrading the driver is the "
            f"durable fix (CUDA {need[0]}.x needs driver {floor} or newer).",
        )
    build = compat.suggest_build(
        [g.compute_capability for g in facts.gpus if g.compute_capability], driver.cuda
    )
    commands = [build.pip_command()] if build else []
    return failed(
        f"driver {driver.version} supports CUDA {driver.cuda}, but torch {facts.torch.version} "
        f"needs CUDA {runtime}: CUDA {need[0]}.x needs driver {floor} or newer",
        f"Upgrade the driver to {floor} or newer, or install a torch build for CUDA {have[0]}.x.",
        f"sudo ubuntu-drivers install   # a driver ≥ {floor}",
        *commands,
    )
