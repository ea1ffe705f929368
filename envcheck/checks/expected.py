"""Expectations (``--expect FILE.toml``): each key that is set becomes a check of its own."""

from __future__ import annotations

from envcheck.checks import Finding, check, failed, passed
from envcheck.compat import version_tuple
from envcheck.expect import Expectations
from envcheck.facts import Facts


def _versions_match(have: str, want: str) -> bool:
    """'2.14.1+cu130' matches '2.14', '2.14.1' and '2.14.1+cu130', not '2.1'."""
    return have == want or have.startswith((want + ".", want + "+"))


def _expect(ok: bool, want: str, got: str) -> Finding:
    if ok:
        return passed(f"{got} (expected {want})")
    return failed(
        f"expected {want}, found {got}",
        "This machine or image is not the one the onboarding script expects.",
    )


@check("expect.gpu_count", "Expected number of GPUs")
def gpu_count(facts: Facts, expect: Expectations) -> Finding | None:
    if expect.gpu_count is None:
        return None
    return _expect(
        len(facts.gpus) == expect.gpu_count,
        f"{expect.gpu_count} GPU(s)",
        f"{len(facts.gpus)} GPU(s)",
    )


@check("expect.gpu_name", "Expected GPU model")
def gpu_name(facts: Facts, expect: Expectations) -> Finding | None:
    if expect.gpu_name is None:
        return None
    names = [g.name or "?" for g in facts.gpus]
    ok = bool(names) and all(expect.gpu_name.lower() in n.lower() for n in names)
    return _expect(ok, f"every GPU named like {expect.gpu_name!r}", ", ".join(names) or "no GPU")


@check("expect.min_driver", "Expected minimum driver")
def min_driver(facts: Facts, expect: Expectations) -> Finding | None:
    if expect.min_driver is None:
        return None
    have = facts.driver.version
    ok = have is not None and version_tuple(have) >= version_tuple(expect.min_driver)
    return _expect(ok, f"driver ≥ {expect.min_driver}", f"driver {have or 'none'}")


@check("expect.torch", "Expected torch version")
def torch_version(facts: Facts, expect: Expectations) -> Finding | None:
    if expect.torch is None:
        return None
    have = facts.torch.version
    ok = have is not None and _versions_match(have, expect.torch)
    return _expect(ok, f"torch {expect.torch}", f"torch {have or 'not importable'}")


@check("expect.cuda", "Expected CUDA build of torch")
def cuda(facts: Facts, expect: Expectations) -> Finding | None:
    if expect.cuda is None:
        return None
    have = facts.torch.cuda
    ok = have is not None and _versions_match(have, expect.cuda)
    return _expect(ok, f"CUDA {expect.cuda}", f"CUDA {have or 'none (CPU build)'}")


@check("expect.cudnn_min", "Expected minimum cuDNN")
def cudnn_min(facts: Facts, expect: Expectations) -> Finding | None:
    if expect.cudnn_min is None:
        return None
    have = facts.torch.cudnn
    ok = have is not None and version_tuple(have) >= version_tuple(expect.cudnn_min)
    return _expect(ok, f"cuDNN ≥ {expect.cudnn_min}", f"cuDNN {have or 'not loaded'}")


@check("expect.require_nvcc", "Expected nvcc")
def require_nvcc(facts: Facts, expect: Expectations) -> Finding | None:
    if expect.require_nvcc is None:
        return None
    have = facts.nvcc.version is not None
    return _expect(
        have == expect.require_nvcc,
        "nvcc present" if expect.require_nvcc else "no nvcc",
        f"nvcc {facts.nvcc.version} at {facts.nvcc.path}" if have else "no nvcc",
    )


@check("expect.arch", "Expected GPU architectures in torch")
def arch(facts: Facts, expect: Expectations) -> Finding | None:
    if expect.arch is None:
        return None
    have = facts.torch.arch_list
    missing = [a for a in expect.arch if a not in have]
    return _expect(
        not missing,
        "arch list with " + " ".join(expect.arch),
        "arch list " + (" ".join(have) or "empty"),
    )
