"""Every check's verdict, summary and remedy, and every pasted input's facts, as pinned in
tests/data/golden.json (see tests/golden.py; `python -m tests.golden` rewrites it after an
intended change)."""

from __future__ import annotations

import json

import pytest

from tests.golden import GOLDEN, compute

EXPECTED = json.loads(GOLDEN.read_text())
ACTUAL = compute()


def test_the_inputs_are_the_pinned_ones():
    assert sorted(ACTUAL) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_input_is_judged_as_pinned(name):
    got, want = ACTUAL.get(name), EXPECTED[name]
    assert got is not None
    assert got.get("facts") == want.get("facts")
    for got_check, want_check in zip(got["checks"], want["checks"], strict=True):
        assert got_check == want_check


def test_no_check_crashes_on_any_input():
    # A crash is reported as a failed check so the run goes on; it must never hide in the pins.
    crashed = [
        (name, check[0])
        for name, result in ACTUAL.items()
        for check in result["checks"]
        if check[2].startswith("this check crashed")
    ]
    assert not crashed
