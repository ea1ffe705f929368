"""The NVIDIA driver: is it there, does it see the GPUs, does it run torch's CUDA."""

from __future__ import annotations

from envcheck import compat, messages
from envcheck.checks import (
    Finding,
    check,
    failed,
    not_reported,
    passed,
    skipped,
    warned,
    without_cuda_torch,
)
from envcheck.expect import Expectations
from envcheck.facts import ErrorKind, Facts, Gpu
from envcheck.messages import Kind

STUB_REMEDY = (
    "Remove the CUDA toolkit's stubs directory (.../lib64/stubs) from LD_LIBRARY_PATH and "
    "/etc/ld.so.conf.d, and any libcuda.so copied from it into a library folder: stubs are for "
    "linking only; at run time libcuda must be the driver's (in a container, mounted by the "
    "NVIDIA Container Toolkit)."
)


def gpu_label(gpu: Gpu) -> str:
    return f"GPU {gpu.index} ({gpu.name})" if gpu.name else f"GPU {gpu.index}"


def _no_driver(facts: Facts) -> Finding:
    if facts.container.inside is None:  # a pasted error: say both, the container first
        return failed(
            "no NVIDIA driver found (libcuda / libnvidia-ml not loadable)",
            "In a container: start it with GPUs (--gpus all; the host needs the NVIDIA Container "
            "Toolkit), since the driver's libraries come from the host. On a host: install the "
            "NVIDIA driver and reboot.",
            "docker run --gpus all ...",
            "sudo ubuntu-drivers install   # on the host; or your distribution's nvidia-driver",
        )
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


SECURE_BOOT = (
    "Secure Boot rejected the unsigned module: enroll the signing key DKMS made (mokutil "
    "--import, then confirm it in the MOK manager at the next boot), or disable Secure Boot."
)
NO_MODULE_FOR_KERNEL = (
    "No module was built for the running kernel (a kernel update, with the driver installed "
    "without DKMS): install this kernel's headers and rebuild it with DKMS, or reinstall the "
    "driver with DKMS so updates rebuild it."
)


def _not_loaded(facts: Facts) -> Finding:
    """The kernel module is not loaded. A pasted modprobe line says why; otherwise both usual
    causes are named, with where to look."""
    error = facts.driver.error or ""
    # NVML's own "not loaded" says nothing more; modprobe's and nvidia-smi's lines do.
    summary = "the NVIDIA kernel module is not loaded" + (
        f": {error}" if error and "not loaded" not in error else ""
    )
    commands = (
        "sudo modprobe nvidia",
        "sudo dmesg | grep -i nvidia",
        "sudo dkms autoinstall   # rebuild the module for the running kernel",
        "mokutil --sb-state",
    )
    if messages.first([error], Kind.MODULE_NOT_LOADED):
        text = NO_MODULE_FOR_KERNEL if "not found" in error else SECURE_BOOT
        return failed(summary, text, *commands)
    return failed(
        summary,
        "Load it; if that fails, modprobe and the kernel log say why. 'Key was rejected by "
        f"service': {SECURE_BOOT} 'Module nvidia not found': {NO_MODULE_FOR_KERNEL}",
        *commands,
    )


_DRIVER_ERRORS = {
    ErrorKind.DRIVER_NOT_LOADED: _not_loaded,
    ErrorKind.VERSION_MISMATCH: lambda facts: _mismatch(facts),
    ErrorKind.NVML_UNKNOWN: lambda facts: _nvml_unknown(facts),
    ErrorKind.NO_PERMISSION: lambda facts: failed(
        "no permission to open the NVIDIA device nodes",
        "The driver makes /dev/nvidia* mode 0666 by default; some distributions' packages make "
        "them group-owned (e.g. video): add the user to that group. Rootless podman drops the "
        "user's extra groups: run it with --group-add keep-groups. Inside a container, pass the "
        "GPUs (--gpus all, or the CDI device nvidia.com/gpu=all).",
        "ls -l /dev/nvidia*",
        "id   # is the user in the device nodes' group?",
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


def _nvml_unknown(facts: Facts) -> Finding:
    """NVML's "Unknown Error" at init. Inside a container it means the container lost its access
    to the GPU device nodes: with runc and the systemd cgroup driver, a `systemctl daemon-reload`
    on the host re-applies the container's device rules without the NVIDIA devices (NVIDIA's
    notice, github.com/NVIDIA/nvidia-docker/issues/1730). On a host it is the driver's state."""
    container = (
        "Inside a container it lost access to the GPU device nodes, most often after `systemctl "
        "daemon-reload` on the host (runc with the systemd cgroup driver re-applies the device "
        "rules without the GPUs): recreate the container (or the pod) to get them back. To stop "
        "it recurring, create the /dev/char symlinks runc needs on the host (NVIDIA's "
        "workaround, with a udev rule to keep them), or run Docker with the cgroupfs driver."
    )
    host = (
        "On a host the driver is in a bad state: look for Xid errors in the kernel log; a reboot "
        "clears it."
    )
    container_commands = (
        "docker rm -f CONTAINER && docker run --gpus all ...   # or delete the pod",
        "sudo nvidia-ctk system create-dev-char-symlinks --create-all   # on the host",
    )
    host_commands = ("sudo dmesg | grep -i -E 'nvrm|xid'", "sudo reboot")
    summary = "NVML cannot initialise: Unknown Error"
    if facts.container.inside:
        return failed(f"{summary} (inside a container)", container, *container_commands)
    if facts.container.inside is False:
        return failed(summary, host, *host_commands)
    return failed(summary, f"{container} {host}", *container_commands, *host_commands)


def _mismatch(facts: Facts) -> Finding:
    summary = (
        "driver/library version mismatch: the running kernel module is not the version of the "
        "user-space driver libraries"
    )
    image = (
        "Inside a container the driver's user-space libraries come from the host (the NVIDIA "
        "Container Toolkit mounts them); an image that installed its own (a libnvidia-* or "
        "nvidia-utils package) carries a second version: remove them from the image and rebuild."
    )
    if facts.container.inside:
        return failed(
            f"{summary} (inside a container)",
            image,
            "dpkg -l | grep -E 'libnvidia|nvidia-utils'   # in the image: these must not be there",
        )
    host = (
        "On a host this follows a driver upgrade (or a package that pulled other driver "
        "libraries in): reboot so the new kernel module loads, or unload and reload the modules."
    )
    return failed(
        summary,
        host if facts.container.inside is False else f"{host} {image}",
        "sudo reboot",
        "sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia",
    )


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
    reason = not_reported(driver, "version")
    if not driver.version and reason and not facts.gpus and "gpus" in facts.unavailable:
        return skipped(f"driver and GPUs: {reason}")
    if not facts.gpus and "gpus" in facts.unavailable:
        return passed(f"driver {driver.version} (GPUs: {facts.unavailable['gpus']})")
    if not facts.gpus:
        loaded = f"driver {driver.version}" if driver.version else "the driver"
        return failed(
            f"{loaded} is loaded but sees no GPU",
            "Check that the GPU is seated and powered and appears on the PCI bus, and read the "
            "kernel log: an NVRM line saying a BAR or PCI I/O region is invalid means the "
            "firmware could not map the GPU's memory (enable Above 4G Decoding and Resizable "
            "BAR in the BIOS/UEFI). In a container, check NVIDIA_VISIBLE_DEVICES.",
            "lspci | grep -i nvidia",
            "sudo dmesg | grep -i NVRM",
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
    version = driver.version or f"version {not_reported(driver, 'version') or 'unknown'}"
    return passed(f"driver {version} (CUDA {driver.cuda}), {count} GPU(s): {names}")


@check("driver.cuda", "Driver runs torch's CUDA")
def driver_cuda(facts: Facts, expect: Expectations) -> Finding:
    """The driver supports the CUDA runtime torch was built with.

    Same or newer: fine. Same major, older minor: runs through minor-version compatibility, but
    PTX newer than the driver cannot be JIT-compiled. Older major: fails, unless a CUDA
    forward-compatibility package is installed (datacenter GPUs only).
    """
    driver = facts.driver
    image = messages.first(facts.torch.messages, Kind.IMAGE_NEEDS_NEWER_DRIVER)
    if image and (needs := messages.IMAGE_NEEDS_CUDA.search(image.line)):
        return image_needs_newer_driver(facts, needs.group("cuda"), image.line)
    too_old = messages.first(facts.torch.messages, Kind.DRIVER_TOO_OLD)
    no_torch = without_cuda_torch(facts)
    if no_torch and not too_old:
        return no_torch
    runtime = facts.torch.cuda
    if not runtime or not driver.cuda:
        if too_old:  # torch itself said so, even where the dump gives no versions
            return _driver_too_old(facts, runtime, f"torch says: {too_old.line}")
        if not driver.cuda and not_reported(driver, "cuda"):
            return skipped(f"the driver's CUDA version: {not_reported(driver, 'cuda')}")
        return skipped("no driver to compare with")
    have, need = compat.version_tuple(driver.cuda), compat.version_tuple(runtime)
    named = f"driver {driver.version}" if driver.version else "the driver"
    if have[:2] >= need[:2]:
        return passed(f"{named} supports CUDA {driver.cuda} ≥ torch's CUDA {runtime}")
    if compat.driver_runs(runtime, driver.cuda, driver.version):
        return passed(
            f"driver CUDA {driver.cuda} < torch's CUDA {runtime}: runs through minor-version "
            "compatibility (PTX newer than the driver will not JIT-compile)"
        )
    if have[0] < need[0] and facts.nvcc.cuda_compat_libs:
        models = [compat.gpu_by_name(g.name or "") for g in facts.gpus]
        if models and all(m and m.forward_compat for m in models):
            return warned(
                f"driver CUDA {driver.cuda} is older than torch's CUDA {runtime}; relying on the "
                f"forward-compatibility libraries at {facts.nvcc.cuda_compat_libs[0]}",
                "Forward compatibility is supported on these datacenter GPUs; upgrading the "
                "driver is the durable fix "
                f"(CUDA {need[0]}.x needs driver {compat.min_driver_for_major(need[0])} or newer).",
            )
    torch = f"torch {facts.torch.version}" if facts.torch.version else "torch"
    why = f"{named} supports CUDA {driver.cuda}, {torch} needs CUDA {runtime}"
    return _driver_too_old(facts, runtime, why)


def image_needs_newer_driver(facts: Facts, cuda: str, line: str) -> Finding:
    """A container image's NVIDIA_REQUIRE_CUDA the host driver does not meet. The NVIDIA
    Container Toolkit compares it with the CUDA release the driver reports, so minor-version
    compatibility does not count here: the driver must be the release's own or newer."""
    floor = compat.min_driver_for_release(cuda)
    driver = f" ({facts.driver.version}, CUDA {facts.driver.cuda})" if facts.driver.cuda else ""
    wanted = floor or f"one that supports CUDA {cuda}"
    return failed(
        f"the container image needs CUDA {cuda}, newer than the host driver{driver} supports: "
        f"{line}",
        f"Upgrade the host's NVIDIA driver to {wanted} or newer, "
        "or use an image built for the CUDA the driver supports (nvidia-smi's 'CUDA Version'). "
        "Within one CUDA major, NVIDIA_DISABLE_REQUIRE=1 skips the check and relies on "
        "minor-version compatibility (PTX newer than the driver will not JIT-compile).",
        f"sudo ubuntu-drivers install   # a driver ≥ {floor or 'supporting CUDA ' + cuda}",
        "nvidia-smi   # 'CUDA Version': the newest CUDA image this driver runs",
    )


def _driver_too_old(facts: Facts, runtime: str | None, why: str) -> Finding:
    """The driver cannot run torch's CUDA: name the driver that can, and a build this driver
    runs."""
    driver = facts.driver
    need = compat.version_tuple(runtime) if runtime else ()
    if need and need[:1] < compat.minor_version_compat_since()[:1]:
        # Before CUDA 11 each release needs its own driver: no minor-version compatibility.
        floor = compat.min_driver_for_release(runtime or "")
        rule = f"CUDA {runtime} needs driver {floor} or newer (no minor-version compatibility "
        rule += "before CUDA 11)"
    elif need:
        floor = compat.min_driver_for_major(need[0])
        rule = f"CUDA {need[0]}.x needs driver {floor} or newer"
    else:
        floor, rule = None, "torch's CUDA is newer than what the driver supports"
    build = compat.suggest_build(
        [g.compute_capability for g in facts.gpus if g.compute_capability],
        driver.cuda,
        driver.version,
    )
    instead = f", or install a torch build for CUDA {driver.cuda}" if driver.cuda else ""
    return failed(
        f"{why}: {rule}",
        f"Upgrade the NVIDIA driver to {floor or 'a newer release'} or newer{instead}.",
        f"sudo ubuntu-drivers install   # a driver ≥ {floor or 'that supports torch CUDA'}",
        *([build.pip_command()] if build and driver.cuda else []),
    )


COMPAT_REMEDY = (
    "CUDA forward compatibility (the cuda-compat package, a libcuda.so under .../cuda/compat) runs "
    "only on datacenter GPUs; elsewhere every CUDA call fails with error 804. Take the compat "
    "directory out of LD_LIBRARY_PATH and /etc/ld.so.conf.d (in an image: remove the cuda-compat "
    "package or its LD_LIBRARY_PATH entry), and use the host driver's libcuda; if torch's CUDA is "
    "newer than the driver, upgrade the driver instead."
)


@check("driver.forward_compat", "CUDA forward compatibility only where it works")
def forward_compat(facts: Facts, expect: Expectations) -> Finding:
    """Forward-compatibility libraries (cuda-compat) work on datacenter GPUs only; on a GeForce
    or most workstation GPUs they make every CUDA call fail (error 804). Judged whenever those
    libraries are found or the error is seen, not only when the CUDA majors differ."""
    seen = messages.first(facts.torch.messages, Kind.COMPAT_UNSUPPORTED)
    libs = list(facts.nvcc.cuda_compat_libs)
    libs += [lib.path for lib in facts.torch.loaded_libraries if "/compat/" in lib.path]
    if seen:
        return failed(
            f"CUDA forward compatibility is used on a GPU that does not support it: {seen.line}",
            COMPAT_REMEDY,
            "ldconfig -p | grep libcuda.so",
            "echo $LD_LIBRARY_PATH   # no .../cuda/compat entry",
        )
    if not libs:
        if reason := not_reported(facts.nvcc, "cuda_compat_libs"):
            return skipped(f"forward-compatibility libraries: {reason}")
        return skipped("no forward-compatibility libraries in use")
    unsupported = [
        gpu_label(g)
        for g in facts.gpus
        if (model := compat.gpu_by_name(g.name or "")) and not model.forward_compat
    ]
    if unsupported:
        return failed(
            f"forward-compatibility libraries ({libs[0]}) on {', '.join(unsupported)}, which "
            "does not support CUDA forward compatibility (CUDA error 804)",
            COMPAT_REMEDY,
            "ldconfig -p | grep libcuda.so",
        )
    known = [g for g in facts.gpus if compat.gpu_by_name(g.name or "")]
    if not known:
        return skipped(f"forward-compatibility libraries at {libs[0]}; the GPUs are not known")
    return passed(f"forward-compatibility libraries at {libs[0]}, on GPUs that support them")
