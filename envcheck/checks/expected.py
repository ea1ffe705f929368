"""Expectations (``--expect FILE.toml``): each key that is set becomes a check of its own.

Each entry below compares one expectation with the facts and says (holds, what was expected,
what was found); the loop at the end registers it as ``expect.<key>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from envcheck.checks import Finding, check, failed, not_reported, passed, skipped
from envcheck.compat import version_tuple
from envcheck.expect import Expectations
from envcheck.facts import Facts

Comparison = tuple[bool, str, str]


def _versions_match(have: str, want: str) -> bool:
    """'2.14.1+cu130' matches '2.14', '2.14.1' and '2.14.1+cu130', not '2.1'."""
    return have == want or have.startswith((want + ".", want + "+"))


def _at_least(have: str | None, want: str) -> bool:
    return have is not None and version_tuple(have) >= version_tuple(want)


def _gpu_count(facts: Facts, want: int) -> Comparison:
    return len(facts.gpus) == want, f"{want} GPU(s)", f"{len(facts.gpus)} GPU(s)"


def _gpu_name(facts: Facts, want: str) -> Comparison:
    names = [g.name or "?" for g in facts.gpus]
    ok = bool(names) and all(want.lower() in n.lower() for n in names)
    return ok, f"every GPU named like {want!r}", ", ".join(names) or "no GPU"


def _min_driver(facts: Facts, want: str) -> Comparison:
    have = facts.driver.version
    return _at_least(have, want), f"driver ≥ {want}", f"driver {have or 'none'}"


def _torch(facts: Facts, want: str) -> Comparison:
    have = facts.torch.version
    ok = have is not None and _versions_match(have, want)
    return ok, f"torch {want}", f"torch {have or 'not importable'}"


def _cuda(facts: Facts, want: str) -> Comparison:
    have = facts.torch.cuda
    ok = have is not None and _versions_match(have, want)
    return ok, f"CUDA {want}", f"CUDA {have or 'none (CPU build)'}"


def _cudnn_min(facts: Facts, want: str) -> Comparison:
    have = facts.torch.cudnn
    return _at_least(have, want), f"cuDNN ≥ {want}", f"cuDNN {have or 'not loaded'}"


def _require_nvcc(facts: Facts, want: bool) -> Comparison:
    nvcc = facts.nvcc
    have = nvcc.version is not None
    found = f"nvcc {nvcc.version} at {nvcc.path}" if have else "no nvcc"
    return have == want, "nvcc present" if want else "no nvcc", found


def _arch(facts: Facts, want: tuple[str, ...]) -> Comparison:
    have = facts.torch.arch_list
    ok = all(a in have for a in want)
    return ok, "arch list with " + " ".join(want), "arch list " + (" ".join(have) or "empty")


EXPECTATIONS: dict[str, tuple[str, Callable[[Facts, Any], Comparison]]] = {
    "gpu_count": ("Expected number of GPUs", _gpu_count),
    "gpu_name": ("Expected GPU model", _gpu_name),
    "min_driver": ("Expected minimum driver", _min_driver),
    "torch": ("Expected torch version", _torch),
    "cuda": ("Expected CUDA build of torch", _cuda),
    "cudnn_min": ("Expected minimum cuDNN", _cudnn_min),
    "require_nvcc": ("Expected nvcc", _require_nvcc),
    "arch": ("Expected GPU architectures in torch", _arch),
}


# The fact each expectation compares: (section, field); unknown there, the expectation skips.
_FACT = {
    "gpu_count": (None, "gpus"),
    "gpu_name": (None, "gpus"),
    "min_driver": ("driver", "version"),
    "torch": ("torch", "version"),
    "cuda": ("torch", "cuda"),
    "cudnn_min": ("torch", "cudnn"),
    "require_nvcc": ("nvcc", "version"),
    "arch": ("torch", "arch_list"),
}


def _register(key: str, title: str, compare: Callable[[Facts, Any], Comparison]) -> None:
    def expectation(facts: Facts, expect: Expectations) -> Finding | None:
        want = getattr(expect, key)
        if want is None:
            return None  # not set: no line in the report
        section, name = _FACT[key]
        reason = not_reported(getattr(facts, section) if section else facts, name)
        if reason:
            return skipped(f"{name}: {reason}")
        ok, wanted, found = compare(facts, want)
        if ok:
            return passed(f"{found} (expected {wanted})")
        return failed(
            f"expected {wanted}, found {found}",
            f"This machine or image does not match {expect.origin}: install what it names, "
            "or run on the machine or image it was written for.",
        )

    check(f"expect.{key}", title)(expectation)


for _key, (_title, _compare) in EXPECTATIONS.items():
    _register(_key, _title, _compare)
