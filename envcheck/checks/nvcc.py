"""nvcc: only needed to compile extensions, but then it must match torch's CUDA major."""

from __future__ import annotations

from envcheck.checks import Finding, check, passed, skipped, warned
from envcheck.expect import Expectations
from envcheck.facts import Facts


@check("nvcc.version", "nvcc matches torch's CUDA")
def nvcc_version(facts: Facts, expect: Expectations) -> Finding:
    """nvcc, when present, has torch's CUDA major: otherwise CUDA extensions will not build.

    Absent is fine (runtime images need none); `require_nvcc` in --expect makes it required.
    """
    nvcc, torch = facts.nvcc, facts.torch
    if not nvcc.path:
        return skipped("nvcc not found (only needed to compile CUDA extensions)")
    if nvcc.error:
        return warned(
            f"nvcc at {nvcc.path} could not be run: {nvcc.error}",
            "Check the CUDA toolkit installation.",
            f"{nvcc.path} --version",
        )
    where = f"nvcc {nvcc.version} at {nvcc.path}"
    if not torch.cuda:
        return passed(f"{where} (torch is not a CUDA build here: nothing to match)")
    if nvcc.version and nvcc.version.split(".")[0] != torch.cuda.split(".")[0]:
        return warned(
            f"{where}, but torch was built with CUDA {torch.cuda}: extensions will not build",
            f"Put a CUDA {torch.cuda.split('.')[0]}.x toolkit first on PATH (or CUDA_HOME), "
            "or use the matching devel image.",
        )
    return passed(f"{where} matches torch's CUDA {torch.cuda}")
