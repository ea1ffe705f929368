"""torch: a CUDA build that has kernels for these GPUs, and the cuDNN and libraries it loads."""

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
from envcheck.checks.driver import STUB_REMEDY, gpu_label
from envcheck.expect import Expectations
from envcheck.facts import ErrorKind, Facts
from envcheck.messages import Kind


def _capabilities(facts: Facts) -> list[tuple[str, str]]:
    """(label, compute capability) per GPU: NVML's view, or torch's when NVML had none."""
    found = [(gpu_label(g), g.compute_capability) for g in facts.gpus if g.compute_capability]
    if not found:
        found = [
            (f"GPU {d.index} ({d.name})", d.capability) for d in facts.torch.devices if d.capability
        ]
    return found


def _suggestion(facts: Facts) -> tuple[str, list[str]]:
    """A build that covers these GPUs and runs on this driver: (what to say of it, the pip
    command). The text says so when only an older torch release fits, or none does."""
    capabilities = [cc for _, cc in _capabilities(facts)]
    build = compat.suggest_build(capabilities, facts.driver.cuda, facts.driver.version)
    return _suggestion_text(facts, capabilities, build), [build.pip_command()] if build else []


def _suggestion_text(facts: Facts, capabilities: list[str], build: compat.Build | None) -> str:
    first = compat.first_build_covering(capabilities)
    # Where support began is news only inside the table: no GPU known (nothing to cover), or the
    # table's oldest build covering them, says nothing of when it started.
    since = (
        f" Builds with kernels for them start with torch {first.torch} ({first.name})."
        if first and capabilities and first != compat.first_build_covering([])
        else ""
    )
    if build is None:
        return (
            " No official torch build known to gpu-envkit covers these GPUs on this driver: "
            "build torch from source with TORCH_CUDA_ARCH_LIST naming their compute capability, "
            "or run on the CPU." + since
        )
    newest = max((b.torch for b in compat.builds()), key=compat.version_tuple)
    if compat.version_tuple(build.torch)[:2] < compat.version_tuple(newest)[:2]:
        driver = f" on driver {facts.driver.version}" if facts.driver.version else ""
        return (
            f" No current torch release fits these GPUs{driver}; the newest that does is torch "
            f"{build.torch} ({build.name})." + since
        )
    return since


CPU_WHEEL = "pip install torch --index-url https://download.pytorch.org/whl/cpu"


@check("torch.install", "torch is installed where you run Python")
def torch_install(facts: Facts, expect: Expectations) -> Finding:
    """torch is installed in the interpreter judged: ``--python``, else envcheck's own, else the
    first with torch of the active virtualenv, the active conda environment and python3 on PATH
    (``torch.found_via``). With torch nowhere every torch check would skip in silence; this one
    warns with the install line instead: the build the `gpu.arch` remedy would name for these GPUs
    and this driver, or the CPU wheel where there is no NVIDIA GPU. A warning, not a failure: the
    machine may be fine, it only has no torch yet."""
    torch = facts.torch
    where = torch.python or "the probed interpreter"
    if torch.error_kind != ErrorKind.NOT_INSTALLED:
        if torch.version and not torch.python:
            return passed(f"torch {torch.version} is installed")
        if torch.version:
            via = torch.found_via
            found = f" (found via {via})" if via and via not in ("envcheck", "--python") else ""
            return passed(f"torch {torch.version} in {torch.python}{found}")
        if torch.error_kind == ErrorKind.IMPORT_FAILED:
            return skipped(f"torch is installed in {where} but does not import (see torch.import)")
        if torch.error:
            return skipped("torch could not be probed (see torch.cuda_build)")
        if reason := not_reported(torch, "version"):
            return skipped(f"torch: {reason}")
        return skipped("torch was not probed (--no-torch)")
    summary = f"torch is not installed for {where}"
    if torch.searched:
        summary += ", nor for " + ", ".join(torch.searched)
    advice = (
        " Install it in the environment you train in (activate it before running envcheck, or "
        "name its interpreter with --python)."
    )
    gpu_host = _gpu_host(facts)
    if gpu_host is False:
        return warned(
            f"{summary}; no GPU here", "No NVIDIA GPU: the CPU wheel." + advice, CPU_WHEEL
        )
    if gpu_host is None:
        return warned(
            summary,
            "The GPUs were not reported: on an NVIDIA GPU host install the CUDA build for its "
            "driver (https://pytorch.org/get-started/locally/), else the CPU wheel." + advice,
        )
    text, commands = _suggestion(facts)
    if commands:
        build = commands[0].rsplit("/", 1)[-1]
        fits = "it has kernels for these GPUs and runs on this driver."
        text = f"Install the {build} build of torch: {fits}{text}"
    return warned(summary, text.strip() + advice, *commands)


@check("torch.import", "torch imports")
def torch_import(facts: Facts, expect: Expectations) -> Finding:
    """torch is installed and imports. A CUDA library it needs that does not load (a missing
    cuDNN, an `undefined symbol` from a mismatched one, nvidia-* wheels shadowed by an
    LD_LIBRARY_PATH) stops every torch program: the machine is not ready, whatever else holds."""
    torch = facts.torch
    if torch.error_kind == ErrorKind.IMPORT_FAILED:
        return failed(
            f"torch does not import: {torch.error}",
            "torch loads CUDA libraries (cuDNN, cuBLAS, nvJitLink, ...) from the nvidia-* wheels "
            "installed with it, or from its own lib folder: one did not load or is the wrong "
            "version. A LD_LIBRARY_PATH naming another CUDA's or cuDNN's lib folder shadows "
            "them; a partial install lacks them. Try without LD_LIBRARY_PATH, then reinstall "
            "torch with its own CUDA wheels.",
            "env -u LD_LIBRARY_PATH python -c 'import torch; print(torch.__version__)'",
            "pip install --force-reinstall torch" + _index_for(torch.version),
        )
    if torch.error_kind == ErrorKind.NOT_INSTALLED:
        return skipped(f"torch is not installed for {torch.python}")
    if torch.version:
        return passed(f"torch {torch.version} imports")
    if reason := not_reported(torch, "version"):
        return skipped(f"torch: {reason}")
    return skipped("torch was not probed")


def _index_for(version: str | None) -> str:
    tag = compat.build_tag(version or "")
    if tag and tag.startswith("cu"):
        return f"=={version.split('+')[0]} --index-url https://download.pytorch.org/whl/{tag}"
    return ""


def _not_importable(facts: Facts) -> Finding | None:
    torch = facts.torch
    if torch.error_kind == ErrorKind.NOT_INSTALLED:
        return skipped(f"torch is not installed for {torch.python}")
    if torch.error_kind == ErrorKind.IMPORT_FAILED:
        return skipped("torch does not import (see torch.import)")
    if torch.error_kind == ErrorKind.TIMEOUT:
        return failed(
            torch.error or "the torch probe timed out",
            "Importing torch or initialising CUDA hung: check whether the driver answers, and the "
            "kernel log for Xid errors (a slow disk or network home can also delay the import).",
            "timeout 20 nvidia-smi",
            "sudo dmesg | grep -i xid",
        )
    if torch.error:
        return failed(
            f"torch could not be probed: {torch.error}",
            "Import it by hand to see the whole error.",
            f"{torch.python or 'python'} -c 'import torch; print(torch.__version__)'",
        )
    if not torch.version and not torch.messages:
        if reason := not_reported(torch, "version"):
            return skipped(f"torch: {reason}")
        return skipped("torch was not probed (--no-torch)")
    return None


def _gpu_host(facts: Facts) -> bool | None:
    """True: GPUs (or an NVIDIA driver) observed; False: observed none; None: not reported."""
    if "gpus" not in facts.unavailable:
        return bool(facts.gpus)
    return True if facts.driver.version else None


_UNUSABLE = {
    Kind.UNKNOWN_ERROR: (
        "CUDA error 999 (unknown error) while NVML is fine: typically after suspend/resume, the "
        "nvidia_uvm kernel module lost its state. Reload it (no CUDA process may be running); "
        "if that fails, reboot.",
        "sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm",
        "sudo reboot",
    ),
    Kind.DRIVER_TOO_OLD: ("The driver is older than torch's CUDA: see driver.cuda.",),
    Kind.NO_DEVICE: (
        "CUDA sees no GPU: CUDA_VISIBLE_DEVICES hides them (empty, -1, or indices or UUIDs that do "
        "not exist), the container was started without GPUs (--gpus all, or a nvidia.com/gpu "
        "resource in Kubernetes), or the driver itself sees none (see driver.present).",
        'echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"',
        "nvidia-smi -L",
    ),
    Kind.SYSTEM_NOT_READY: (
        "CUDA error 802: the GPUs are not registered in the NVLink fabric: see gpu.fabric.",
    ),
    Kind.COMPAT_UNSUPPORTED: (
        "Forward-compatibility libraries on a GPU without support: see driver.forward_compat.",
    ),
    Kind.STUB_LIBRARY: (f"The CUDA toolkit's stub libcuda was loaded. {STUB_REMEDY}",),
    Kind.NO_DRIVER: (
        "torch found no NVIDIA driver: install it on the host; in a container, start it with "
        "--gpus all.",
        "docker run --gpus all ...",
    ),
}


@check("torch.cuda_build", "torch is a CUDA build that sees the GPUs")
def cuda_build(facts: Facts, expect: Expectations) -> Finding:
    """torch must be a CUDA build and reach the GPUs.

    A CPU-only wheel on a GPU host is the most common onboarding mistake; the remedy is the exact
    pip command for a build that covers these GPUs and runs on this driver.
    """
    problem = _not_importable(facts)
    if problem:
        return problem
    torch = facts.torch
    gpu_host = _gpu_host(facts)
    label = f"torch {torch.version}" if torch.version else "torch"
    hidden = facts.env.get("CUDA_VISIBLE_DEVICES")
    shown = f" (CUDA_VISIBLE_DEVICES={hidden!r})" if hidden is not None else ""
    if torch.cuda_available is not True:
        seen = messages.first([*torch.messages, torch.cuda_error or ""], *_UNUSABLE)
        if seen:
            text, *commands = _UNUSABLE[seen.kind]
            return failed(f"{label} cannot use the GPUs: {seen.line}{shown}", text, *commands)
    if not torch.cuda:
        if reason := not_reported(torch, "cuda"):
            return skipped(f"torch's CUDA build: {reason}")
        asked = messages.first(torch.messages, Kind.NOT_COMPILED, Kind.CUDA_REQUESTED)
        if gpu_host is False or (gpu_host is None and not asked):
            return skipped(f"{label} is a CPU-only build (no CUDA); no GPU reported here")
        where = f"a host with {len(facts.gpus)} GPU(s)" if facts.gpus else "an NVIDIA GPU host"
        if not facts.gpus and not facts.driver.version:
            where = f"a machine where a program asked for CUDA ({asked.line if asked else '?'})"
        text, commands = _suggestion(facts)
        return failed(
            f"{label} is a CPU-only build on {where}",
            "Install a CUDA build of torch from the PyTorch index for your CUDA (plain "
            "`pip install torch` on Windows, or a +cpu wheel, has no CUDA)." + text,
            *commands,
        )
    if gpu_host is False:
        return skipped(f"{label} is a CUDA {torch.cuda} build; no GPU here")
    if torch.cuda_available is None:
        reason = not_reported(torch, "cuda_available") or "not probed"
        return skipped(f"whether {label} sees the GPUs: {reason}")
    if not torch.cuda_available:
        why = torch.cuda_error or "torch.cuda.is_available() is False"
        return failed(
            f"torch {torch.version} cannot use the GPUs: {why}{shown}",
            "Fix the driver first if its checks fail; in a container, start it with --gpus all; "
            "check that CUDA_VISIBLE_DEVICES does not hide the GPUs.",
        )
    seen = f"{torch.device_count} GPU(s)" if torch.device_count is not None else "the GPUs"
    return passed(f"{label} (CUDA {torch.cuda}) sees {seen}")


# Tegra runs only SASS built for its exact capability (compat.toml [kernel_compat]).
JETSON_NOTE = (
    " A Jetson (Tegra) GPU runs only kernels built for its exact compute capability: use the "
    "PyTorch wheels NVIDIA publishes for your JetPack release, or build torch from source with "
    "TORCH_CUDA_ARCH_LIST set to it."
)


@check("gpu.arch", "torch has kernels for every GPU")
def arch(facts: Facts, expect: Expectations) -> Finding:
    """Every GPU can run torch's kernels: native code for its sm, or PTX that JIT-compiles.

    Native code for the same major and a lower minor runs too (not across ``a`` variants). Only
    PTX: works, but the first use of each kernel is JIT-compiled (slow start). Neither: torch fails
    with "no kernel image is available for execution on the device".
    """
    torch = facts.torch
    said = messages.first(torch.messages, Kind.ARCH_UNSUPPORTED, Kind.NO_KERNEL_IMAGE)
    no_torch = without_cuda_torch(facts)
    if no_torch and not said:
        return no_torch
    gpus = _capabilities(facts)
    if not torch.arch_list or not gpus:
        if said:  # torch said so itself, even where the dump lacks the architecture list
            text, commands = _suggestion(facts)
            return failed(
                f"torch has no kernels for this GPU: {said.line}",
                "Install a torch build whose architecture list covers the GPU." + text,
                *commands,
            )
        if not torch.arch_list:
            reason = not_reported(torch, "arch_list") or "none reported"
            return skipped(f"torch {torch.version}'s architecture list: {reason}")
        if reason := facts.unavailable.get("gpus"):
            return skipped(f"GPUs: {reason}")
        return skipped("no GPU with a known compute capability to check")
    ptx, missing, ok = [], [], []
    for label, cc in gpus:
        verdict, entry = compat.kernel_support(torch.arch_list, cc)
        sm = "sm_" + cc.replace(".", "")
        if verdict == "none":
            family = compat.architecture(cc)
            missing.append(f"{label}, {sm}" + (f" {family}" if family else ""))
        elif verdict == "ptx":
            ptx.append(f"{label} via {entry}")
        else:
            ok.append(f"{label}: {entry}")
    if not missing and not ptx:
        return passed("native kernels for " + "; ".join(ok))
    built_for = " ".join(torch.arch_list)
    text, commands = _suggestion(facts)
    if missing:
        if any(compat.is_tegra(cc) for _, cc in gpus):
            text, commands = JETSON_NOTE, []
        return failed(
            f"no kernel image for {'; '.join(missing)} in torch {torch.version} "
            f"(built for {built_for})",
            "Install a torch build whose architecture list covers these GPUs." + text,
            *commands,
        )
    driver = facts.driver.cuda
    if ptx and driver and compat.version_tuple(driver)[:2] < compat.version_tuple(torch.cuda)[:2]:
        return failed(
            f"only PTX for {'; '.join(ptx)}, and driver CUDA {driver} is older than torch's "
            f"CUDA {torch.cuda}: a driver cannot JIT-compile PTX from a newer toolkit",
            "Upgrade the driver to one that supports CUDA "
            f"{torch.cuda}, or install a build with native kernels for these GPUs." + text,
            *commands,
        )
    return warned(
        f"only PTX for {'; '.join(ptx)}: kernels JIT-compile on first use",
        "Works, but start-up is slow; a build with native kernels for these GPUs avoids it.",
        *commands,
    )


@check("cudnn.loaded", "cuDNN loads and matches torch")
def cudnn(facts: Facts, expect: Expectations) -> Finding:
    """cuDNN is loaded at run time, its major version is the one torch was compiled against and
    its minor no older (cuDNN keeps compatibility forward within a major, not back); a cuDNN
    picked up from LD_LIBRARY_PATH instead of torch's own is named."""
    torch = facts.torch
    said = messages.first(torch.messages, Kind.CUDNN_MISMATCH)
    no_torch = without_cuda_torch(facts)
    if no_torch and not said:
        return no_torch
    foreign = [
        lib.path
        for lib in torch.loaded_libraries
        if lib.kind == "cudnn"
        and "site-packages" not in lib.path
        and "dist-packages" not in lib.path
    ]
    where = f" from {foreign[0]}" if foreign else ""
    shadow = (
        f"A cuDNN other than torch's own was loaded{where}: LD_LIBRARY_PATH (or ld.so.conf) names "
        "a system cuDNN that comes before the nvidia-cudnn wheel torch was built with. Remove "
        "that folder from LD_LIBRARY_PATH, or reinstall torch with its pinned cuDNN."
    )
    if said:
        return failed(f"cuDNN does not match torch: {said.line}", shadow)
    if not torch.cudnn:
        if reason := not_reported(torch, "cudnn"):
            return skipped(f"the cuDNN torch loads: {reason}")
        return failed(
            f"cuDNN could not be loaded by torch {torch.version}",
            "Reinstall torch so its pinned cuDNN wheel comes with it; check that LD_LIBRARY_PATH "
            "does not point at another cuDNN.",
            *_suggestion(facts)[1],
        )
    compiled = torch.cudnn_compiled
    if compiled:
        loaded, want = compat.version_tuple(torch.cudnn), compat.version_tuple(compiled)
        if loaded[:1] != want[:1] or loaded[:2] < want[:2]:
            kind = "a different major version" if loaded[:1] != want[:1] else "an older minor"
            return failed(
                f"cuDNN {torch.cudnn} loaded{where}, but torch was compiled against cuDNN "
                f"{compiled}: {kind}",
                shadow,
                "echo $LD_LIBRARY_PATH   # no folder with another libcudnn",
            )
    built = f" (compiled against {compiled})" if compiled else ""
    return passed(f"cuDNN {torch.cudnn}{built}")


@check("torch.libraries", "torch loads real CUDA libraries")
def libraries(facts: Facts, expect: Expectations) -> Finding:
    """The CUDA libraries torch really mapped: none may be the toolkit's link-time stub."""
    libs = facts.torch.loaded_libraries
    said = messages.first(facts.torch.messages, Kind.STUB_LIBRARY)
    if said:
        return failed(f"a CUDA stub library was loaded: {said.line}", STUB_REMEDY)
    if not libs:
        if reason := not_reported(facts.torch, "loaded_libraries"):
            return skipped(f"the libraries torch loaded: {reason}")
        return skipped("no CUDA library recorded as loaded (CPU build, or CUDA unavailable)")
    stubs = [lib for lib in libs if lib.stub]
    if stubs:
        return failed(
            f"torch loaded the CUDA toolkit's stub {stubs[0].path}, which fails every call",
            STUB_REMEDY,
        )
    shown = ", ".join(f"{lib.kind}={lib.path}" for lib in libs if lib.kind in ("cudart", "cudnn"))
    return passed(shown or f"{len(libs)} CUDA libraries, none a stub")
