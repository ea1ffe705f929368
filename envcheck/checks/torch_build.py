"""torch: a CUDA build that has kernels for these GPUs, and the cuDNN and libraries it loads."""

from __future__ import annotations

from envcheck import compat
from envcheck.checks import Finding, check, failed, passed, skipped, warned, without_cuda_torch
from envcheck.checks.driver import STUB_REMEDY, gpu_label
from envcheck.expect import Expectations
from envcheck.facts import ErrorKind, Facts


def _capabilities(facts: Facts) -> list[tuple[str, str]]:
    """(label, compute capability) per GPU: NVML's view, or torch's when NVML had none."""
    found = [(gpu_label(g), g.compute_capability) for g in facts.gpus if g.compute_capability]
    if not found:
        found = [
            (f"GPU {d.index} ({d.name})", d.capability) for d in facts.torch.devices if d.capability
        ]
    return found


def _suggestion(facts: Facts) -> list[str]:
    build = compat.suggest_build([cc for _, cc in _capabilities(facts)], facts.driver.cuda)
    return [build.pip_command()] if build else []


def _not_importable(facts: Facts) -> Finding | None:
    torch = facts.torch
    if torch.error_kind == ErrorKind.NOT_INSTALLED:
        return skipped(f"torch is not installed for {torch.python}")
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
    if not torch.version:
        return skipped("torch was not probed (--no-torch)")
    return None


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
    have_gpus = bool(facts.gpus)
    if not torch.cuda:
        if not have_gpus:
            return skipped(f"torch {torch.version} is a CPU-only build (no CUDA); no GPU here")
        return failed(
            f"torch {torch.version} is a CPU-only build on a host with {len(facts.gpus)} GPU(s)",
            "Install a CUDA build of torch.",
            *_suggestion(facts),
        )
    if not have_gpus:
        return skipped(f"torch {torch.version} is a CUDA {torch.cuda} build; no GPU here")
    if not torch.cuda_available:
        why = torch.cuda_error or "torch.cuda.is_available() is False"
        hidden = facts.env.get("CUDA_VISIBLE_DEVICES")
        if hidden is not None:
            why += f" (CUDA_VISIBLE_DEVICES={hidden!r})"
        return failed(
            f"torch {torch.version} cannot use the GPUs: {why}",
            "Fix the driver first if its checks fail; in a container, start it with --gpus all; "
            "check that CUDA_VISIBLE_DEVICES does not hide the GPUs.",
        )
    return passed(f"torch {torch.version} (CUDA {torch.cuda}) sees {torch.device_count} GPU(s)")


@check("gpu.arch", "torch has kernels for every GPU")
def arch(facts: Facts, expect: Expectations) -> Finding:
    """Every GPU can run torch's kernels: native code for its sm, or PTX that JIT-compiles.

    Native code for the same major and a lower minor runs too (not across ``a`` variants). Only
    PTX: works, but the first use of each kernel is JIT-compiled (slow start). Neither: torch fails
    with "no kernel image is available for execution on the device".
    """
    torch = facts.torch
    no_torch = without_cuda_torch(facts)
    if no_torch:
        return no_torch
    if not torch.arch_list:
        return skipped(f"torch {torch.version} reported no architecture list")
    gpus = _capabilities(facts)
    if not gpus:
        return skipped("no GPU to check")
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
    built_for = " ".join(torch.arch_list)
    if missing:
        return failed(
            f"no kernel image for {'; '.join(missing)} in torch {torch.version} "
            f"(built for {built_for})",
            "Install a torch build whose architecture list covers these GPUs.",
            *_suggestion(facts),
        )
    if ptx:
        return warned(
            f"only PTX for {'; '.join(ptx)}: kernels JIT-compile on first use",
            "Works, but start-up is slow; a build with native kernels for these GPUs avoids it.",
            *_suggestion(facts),
        )
    return passed("native kernels for " + "; ".join(ok))


@check("cudnn.loaded", "cuDNN loads and matches torch")
def cudnn(facts: Facts, expect: Expectations) -> Finding:
    """cuDNN is loaded at run time and its major version is the one torch was compiled against."""
    no_torch = without_cuda_torch(facts)
    if no_torch:
        return no_torch
    torch = facts.torch
    if not torch.cudnn:
        return failed(
            f"cuDNN could not be loaded by torch {torch.version}",
            "Reinstall torch so its pinned cuDNN wheel comes with it; check that LD_LIBRARY_PATH "
            "does not point at another cuDNN.",
            *_suggestion(facts),
        )
    if torch.cudnn_compiled and torch.cudnn.split(".")[0] != torch.cudnn_compiled.split(".")[0]:
        return failed(
            f"cuDNN {torch.cudnn} loaded, but torch was compiled against cuDNN "
            f"{torch.cudnn_compiled}: different major versions",
            "Remove the foreign cuDNN from LD_LIBRARY_PATH, or reinstall torch with its pinned "
            "cuDNN.",
        )
    compiled = f" (compiled against {torch.cudnn_compiled})" if torch.cudnn_compiled else ""
    return passed(f"cuDNN {torch.cudnn}{compiled}")


@check("torch.libraries", "torch loads real CUDA libraries")
def libraries(facts: Facts, expect: Expectations) -> Finding:
    """The CUDA libraries torch really mapped: none may be the toolkit's link-time stub."""
    libs = facts.torch.loaded_libraries
    if not libs:
        return skipped("no CUDA library recorded as loaded (CPU build, or CUDA unavailable)")
    stubs = [lib for lib in libs if lib.stub]
    if stubs:
        return failed(
            f"torch loaded the CUDA toolkit's stub {stubs[0].path}, which fails every call",
            STUB_REMEDY,
        )
    shown = ", ".join(f"{lib.kind}={lib.path}" for lib in libs if lib.kind in ("cudart", "cudnn"))
    return passed(shown or f"{len(libs)} CUDA libraries, none a stub")
