"""nvcc: only needed to compile extensions, but then it must match torch's CUDA major."""

from __future__ import annotations

from envcheck import messages
from envcheck.checks import Finding, check, failed, not_reported, passed, skipped, warned
from envcheck.expect import Expectations
from envcheck.facts import Facts
from envcheck.messages import Kind


@check("nvcc.version", "nvcc matches torch's CUDA")
def nvcc_version(facts: Facts, expect: Expectations) -> Finding:
    """nvcc, when present, has torch's CUDA major: otherwise CUDA extensions will not build.

    Absent is fine (runtime images need none); `require_nvcc` in --expect makes it required.
    """
    nvcc, torch = facts.nvcc, facts.torch
    if not nvcc.path and not nvcc.version:
        if reason := not_reported(nvcc, "version"):
            return skipped(f"nvcc: {reason}")
        return skipped("nvcc not found (only needed to compile CUDA extensions)")
    if nvcc.error:
        return warned(
            f"nvcc at {nvcc.path} could not be run: {nvcc.error}",
            "Check the CUDA toolkit installation.",
            f"{nvcc.path} --version",
        )
    where = f"nvcc {nvcc.version}" + (f" at {nvcc.path}" if nvcc.path else "")
    if not torch.cuda:
        if reason := not_reported(torch, "cuda"):
            return skipped(f"{where}; torch's CUDA: {reason}")
        return passed(f"{where} (torch is not a CUDA build here: nothing to match)")
    if nvcc.version and nvcc.version.split(".")[0] != torch.cuda.split(".")[0]:
        major = torch.cuda.split(".")[0]
        # torch.utils.cpp_extension refuses such a toolkit: where a build already failed on it
        # (its message was seen) that is a failure, otherwise a warning for builds to come.
        refused = messages.first(torch.messages, Kind.CUDA_HOME_MISMATCH)
        judge = failed if refused else warned
        return judge(
            f"{where}, but torch was built with CUDA {torch.cuda}: extensions will not build",
            f"Point CUDA_HOME and PATH at a CUDA {major}.x toolkit before building extensions "
            "(torch.utils.cpp_extension uses CUDA_HOME, else the nvcc on PATH), or use the "
            "matching devel image. Running torch itself does not need nvcc.",
            f"export CUDA_HOME=/usr/local/cuda-{torch.cuda} "
            f"PATH=/usr/local/cuda-{torch.cuda}/bin:$PATH",
        )
    return passed(f"{where} matches torch's CUDA {torch.cuda}")
