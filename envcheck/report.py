"""A report: the facts, the check results and one verdict (``envcheck.report/2``; /1 is read)."""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcheck import expect as expect_mod
from envcheck.checks import FAIL, PASS, SKIP, STATUSES, WARN, CheckResult, run_checks
from envcheck.facts import READABLE as FACTS_READABLE
from envcheck.facts import SCHEMA as FACTS_SCHEMA
from envcheck.facts import Facts, FactsError, from_json, to_json

SCHEMA = "envcheck.report/2"
READABLE = ("envcheck.report/1", SCHEMA)


@dataclass(frozen=True)
class Verdict:
    ready: bool
    strict: bool
    counts: dict[str, int]
    summary: str


@dataclass(frozen=True)
class PerfRow:
    """One measurement as judged: the report's ``perf`` rows and the terminal's table."""

    device: str
    model: str | None  # the table's model; null when it has no row for this device
    name: str | None  # the device's own name
    kind: str
    variant: str
    value: float | None
    unit: str | None
    expected: float | None  # the reference it was judged against
    expected_basis: str | None  # what that reference is (published, or derived how)
    peak: float | None
    share: float | None  # value / expected
    status: str
    error: str | None


@dataclass(frozen=True)
class Report:
    facts: Facts
    checks: list[CheckResult]
    verdict: Verdict
    expectations: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        out = {
            "schema": SCHEMA,
            "verdict": to_json(self.verdict),
            "checks": [to_json(c) for c in self.checks],
            "expectations": self.expectations,
            "facts": to_json(self.facts),
        }
        if self.facts.perf is not None:  # measured vs expected vs peak, as judged
            from envcheck.checks.perf import rows

            out["perf"] = [to_json(r) for r in rows(self.facts)]
        return out


def problems(report: Report) -> list[CheckResult]:
    """The checks that make the report not ready, in check order (warnings only when strict)."""
    blocking = (FAIL, WARN) if report.verdict.strict else (FAIL,)
    return [c for c in report.checks if c.status in blocking]


# Starts every line envcheck leaves in a scheduler: drain reasons, node conditions.
PREFIX = "envcheck: "


def short_reason(report: Report, limit: int) -> str:
    """The first problem as one line of at most ``limit`` UTF-8 bytes: ``envcheck: <check id>:
    <summary> (+N more)``, for places that show one short line: Slurm's drain reason in `sinfo
    -R`, node-problem-detector's condition message. Empty when the report is ready."""
    from envcheck.text import one_line

    found = problems(report)
    if not found:
        return ""
    more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
    head = f"{PREFIX}{found[0].id}: "
    # No double quotes: scontrol cuts a reason at one.
    summary = found[0].summary.replace('"', "'")
    room = limit - len(head.encode()) - len(more.encode())
    return one_line(head + one_line(summary, max(room, 0)) + more, limit)


def judge(facts: Facts, expect: expect_mod.Expectations, strict: bool = False) -> Report:
    from envcheck import derive

    facts = derive.fill(facts)
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


# Most a pasted dump or a facts file can sensibly be; a larger input is a mistake, not a report.
MAX_INPUT_BYTES = 16 * 1024 * 1024


def read_input(path: str | Path) -> str:
    """The text of one input (``-``: standard input), bounded in size and decoded leniently."""
    try:
        if str(path) == "-":
            raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with Path(path).open("rb") as f:
                raw = f.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(raw) > MAX_INPUT_BYTES:
        raise InputError(f"{path}: larger than {MAX_INPUT_BYTES // 2**20} MiB; not a report")
    return raw.decode("utf-8", errors="replace")


def load_facts(path: str | Path) -> Facts:
    """Facts from a saved facts file or a saved report (its facts are judged again)."""
    return facts_from_json(read_input(path), str(path))


def facts_from_json(text: str, name: str) -> Facts:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{name}: not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"{name}: nested too deeply to be facts") from exc
    if isinstance(data, dict) and data.get("schema") in READABLE:
        data = data.get("facts")
    if not isinstance(data, dict) or data.get("schema") not in FACTS_READABLE:
        raise InputError(f"{name}: not an {FACTS_SCHEMA} facts file or an {SCHEMA} report")
    try:
        facts = from_json(Facts, data)
    except FactsError as exc:
        raise InputError(f"{name}: {exc}") from exc
    except RecursionError as exc:
        raise InputError(f"{name}: nested too deeply to be facts") from exc
    return dataclasses.replace(facts, schema=FACTS_SCHEMA)  # read as the current version


def load_inputs(paths: list[str], fmt: str | None = None) -> Facts:
    """Facts from saved facts or reports, or from pasted text (several texts merge into one)."""
    from envcheck import paste

    texts = [(str(p), read_input(p)) for p in paths]
    json_like = [name for name, text in texts if text.lstrip().startswith("{")]
    if json_like and fmt is None:
        if len(texts) > 1:
            raise InputError(f"{json_like[0]}: a facts file or report is judged alone")
        return facts_from_json(texts[0][1], texts[0][0])
    try:
        return paste.read(texts, fmt)
    except paste.PasteError as exc:
        raise InputError(str(exc)) from exc
