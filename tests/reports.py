"""The corpus of real users' reports (tests/data/reports): load each case and judge it.

Shared by tests/test_reports.py (every case must be diagnosed right) and
benchmarks/reports_score.py (prints the score).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from envcheck.checks import FAIL
from envcheck.expect import Expectations
from envcheck.report import Report, judge, load_inputs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DIR = Path(__file__).parent / "data" / "reports"
FIELDS = {"source", "title", "cause", "verdict", "check", "remedy"}


@dataclass(frozen=True)
class Case:
    name: str
    text: Path
    source: str
    cause: str
    ready: bool
    check: str | None
    remedy: str | None


@dataclass(frozen=True)
class Score:
    verdict: bool  # ready / not ready as the thread established
    cause: bool  # the expected check fails (or, for a control, none does)
    remedy: bool | None  # its remedy names the fix; None when the case names none
    report: Report


def cases() -> list[Case]:
    found = []
    for meta in sorted(DIR.glob("*.toml")):
        data = tomllib.loads(meta.read_text())
        unknown = set(data) - FIELDS
        if unknown:
            raise ValueError(f"{meta}: unknown keys {sorted(unknown)}")
        found.append(
            Case(
                name=meta.stem,
                text=meta.with_suffix(".txt"),
                source=data["source"],
                cause=data["cause"],
                ready=data["verdict"] == "ready",
                check=data.get("check"),
                remedy=data.get("remedy"),
            )
        )
    return found


def score(case: Case) -> Score:
    report = judge(load_inputs([str(case.text)]), Expectations())  # bad input raises
    results = {c.id: c for c in report.checks}
    failing = [c.id for c in report.checks if c.status == FAIL]
    expected = results.get(case.check) if case.check else None
    if case.ready:
        cause = not failing and (case.check is None or (expected and expected.status != "pass"))
    else:
        cause = expected is not None and expected.status == FAIL
    remedy = None
    if case.remedy:
        said = ""
        if expected and expected.remedy:
            said = " ".join([expected.remedy.text, *expected.remedy.commands])
        remedy = case.remedy.lower() in said.lower()
    return Score(report.verdict.ready == case.ready, bool(cause), remedy, report)
