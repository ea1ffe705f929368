"""A report: the facts, the check results and one verdict (schema ``envcheck.report/1``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcheck import expect as expect_mod
from envcheck.checks import FAIL, PASS, SKIP, STATUSES, WARN, CheckResult, run_checks
from envcheck.facts import SCHEMA as FACTS_SCHEMA
from envcheck.facts import Facts, FactsError, from_json, to_json

SCHEMA = "envcheck.report/1"


@dataclass(frozen=True)
class Verdict:
    ready: bool
    strict: bool
    counts: dict[str, int]
    summary: str


@dataclass(frozen=True)
class Report:
    facts: Facts
    checks: list[CheckResult]
    verdict: Verdict
    expectations: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "verdict": to_json(self.verdict),
            "checks": [to_json(c) for c in self.checks],
            "expectations": self.expectations,
            "facts": to_json(self.facts),
        }


def judge(facts: Facts, expect: expect_mod.Expectations, strict: bool = False) -> Report:
    checks = run_checks(facts, expect)
    return Report(facts, checks, verdict(checks, strict), expect_mod.to_json(expect))


def verdict(checks: list[CheckResult], strict: bool) -> Verdict:
    counts = {status: sum(c.status == status for c in checks) for status in STATUSES}
    blocking = counts[FAIL] + (counts[WARN] if strict else 0)
    ready = blocking == 0
    parts = [
        f"{counts[s]} {word}"
        for s, word in ((FAIL, "failed"), (WARN, "warned"), (PASS, "passed"), (SKIP, "skipped"))
        if counts[s]
    ]
    head = "ready" if ready else "NOT ready"
    strict_note = " (--strict: warnings count)" if strict and counts[WARN] else ""
    return Verdict(ready, strict, counts, f"{head}: {', '.join(parts)}{strict_note}")


class InputError(ValueError):
    """A facts or report file that cannot be judged; the message names the file and the problem."""


def load_facts(path: str | Path) -> Facts:
    """Facts from a saved facts file or a saved report (its facts are judged again)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from exc
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        data = data.get("facts")
    if not isinstance(data, dict) or data.get("schema") != FACTS_SCHEMA:
        raise InputError(f"{path}: not an {FACTS_SCHEMA} facts file or an {SCHEMA} report")
    try:
        return from_json(Facts, data)
    except FactsError as exc:
        raise InputError(f"{path}: {exc}") from exc
