"""Checks: pure functions of facts (and expectations), each registered under a stable id.

A check returns a ``Finding`` (status, one-line summary, remedy) or ``None`` when it does not apply
at all (an expectation nobody set). Ids are stable: retire one, never reuse it. A check that raises
becomes a failed result naming the crash, never the end of the run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envcheck.expect import Expectations
    from envcheck.facts import Facts

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
STATUSES = (PASS, WARN, FAIL, SKIP)


@dataclass(frozen=True)
class Remedy:
    """What to do, as text and the exact commands: the terminal and the JSON say the same thing."""

    text: str
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    status: str
    summary: str
    remedy: Remedy | None = None


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    status: str
    summary: str
    remedy: Remedy | None = None


def passed(summary: str) -> Finding:
    return Finding(PASS, summary)


def skipped(summary: str) -> Finding:
    return Finding(SKIP, summary)


def warned(summary: str, remedy: str, *commands: str) -> Finding:
    return Finding(WARN, summary, Remedy(remedy, tuple(commands)))


def failed(summary: str, remedy: str, *commands: str) -> Finding:
    return Finding(FAIL, summary, Remedy(remedy, tuple(commands)))


def not_reported(section: object, name: str) -> str | None:
    """Why ``section.name`` is unknown ('not in the pasted text', ...), or None when it was
    observed (a null without a reason is an observed absence)."""
    unavailable: dict[str, str] = getattr(section, "unavailable", {})
    return unavailable.get(name)


def without_cuda_torch(facts: Facts) -> Finding | None:
    """A skip saying precisely why there is no CUDA torch to judge, or None when there is one."""
    from envcheck.facts import ErrorKind

    torch = facts.torch
    # An error first: a probe that hung in CUDA initialisation knows torch's CUDA but not the
    # rest, and judging the rest would blame the wrong layer.
    if torch.error_kind == ErrorKind.NOT_INSTALLED:
        return skipped(f"torch is not installed for {torch.python}")
    if torch.error_kind == ErrorKind.IMPORT_FAILED:
        return skipped("torch does not import (see torch.import)")
    if torch.error:
        return skipped("torch could not be probed (see torch.cuda_build)")
    if torch.cuda:
        return None
    for name in ("version", "cuda"):
        if reason := not_reported(torch, name):
            return skipped(f"torch's {'CUDA' if name == 'cuda' else name}: {reason}")
    if not torch.version:
        return skipped("torch was not probed")
    return skipped(f"torch {torch.version} is not a CUDA build")


CheckFn = Callable[["Facts", "Expectations"], "Finding | None"]


@dataclass(frozen=True)
class Registered:
    id: str
    title: str
    fn: CheckFn = field(repr=False)


REGISTRY: list[Registered] = []


def check(check_id: str, title: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check under a stable id; the report lists checks in registration order."""

    def register(fn: CheckFn) -> CheckFn:
        if any(r.id == check_id for r in REGISTRY):
            raise ValueError(f"duplicate check id {check_id}")
        REGISTRY.append(Registered(check_id, title, fn))
        return fn

    return register


def run_checks(facts: Facts, expect: Expectations) -> list[CheckResult]:
    _load_all()
    results = []
    for reg in REGISTRY:
        try:
            finding = reg.fn(facts, expect)
        except Exception as exc:  # a bug in one check must not hide the others
            finding = failed(
                f"this check crashed: {type(exc).__name__}: {exc}",
                "Report this as a gpu-envkit bug, with `envcheck --json` output attached.",
            )
        if finding is not None:
            results.append(CheckResult(reg.id, reg.title, *_fields(finding)))
    return results


def _fields(finding: Finding) -> tuple[str, str, Remedy | None]:
    return finding.status, finding.summary, finding.remedy


# Importing a module registers its checks; this order is the report's order.
_MODULES = (
    "driver",
    "torch_build",
    "nvcc",
    "gpu_health",
    "container",
    "docker",
    "workload",
    "perf",
    "expected",
)


def _load_all() -> None:
    for name in _MODULES:
        importlib.import_module(f"envcheck.checks.{name}")
