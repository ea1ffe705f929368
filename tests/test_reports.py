"""Every real report in tests/data/reports is diagnosed right: verdict, cause and remedy."""

from __future__ import annotations

import pytest

from tests.reports import cases, score

CASES = cases()

# Cases whose fix lies outside what compat.toml knows; each says why.
REMEDY_BEYOND_KNOWLEDGE = {
    "more-pytorch-scripts-13": "the fix was torch 0.3.0; compat.toml's builds start at torch 1.8",
}


def test_the_corpus_is_large_enough_and_has_controls():
    assert len(CASES) >= 30
    assert sum(c.ready and c.check is None for c in CASES) >= 5
    assert all(c.source.startswith("https://") for c in CASES)
    assert all(c.text.is_file() for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_report_is_diagnosed_right(case):
    result = score(case)
    failing = [c.id for c in result.report.checks if c.status == "fail"]
    assert result.verdict, f"verdict {result.report.verdict.summary}; failing {failing}"
    assert result.cause, f"expected {case.check}; failing {failing}"
    if case.name in REMEDY_BEYOND_KNOWLEDGE:
        assert result.remedy is False, "now diagnosed: drop it from REMEDY_BEYOND_KNOWLEDGE"
    elif result.remedy is not None:
        assert result.remedy, f"{case.check}'s remedy does not name {case.remedy!r}"
