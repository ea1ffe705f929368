"""Whatever a user feeds envcheck, it answers: a report, or one line and exit 2; never a crash.

Property-based (hypothesis) over facts files, pasted text, expectation files and CLI options.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envcheck import expect
from envcheck.checks import run_checks
from envcheck.report import InputError, judge, load_inputs
from tests.conftest import ROOT

H200 = json.loads((ROOT / "tests" / "data" / "h200-facts.json").read_text())
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _no_crash(facts, expectations=None) -> None:
    report = judge(facts, expectations or expect.Expectations())
    crashed = [c.id for c in report.checks if "this check crashed" in c.summary]
    assert not crashed, crashed
    json.dumps(report.to_json(), allow_nan=False)


def _judge_text(tmp_path, text: str) -> None:
    path = tmp_path / "input"
    path.write_text(text, errors="surrogatepass")
    try:
        facts = load_inputs([str(path)])
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    _no_crash(facts)


@st.composite
def mutated_facts(draw):
    """The real H200 facts with one value somewhere replaced by anything JSON can hold."""
    data = json.loads(json.dumps(H200))
    node, key = data, None
    for _ in range(draw(st.integers(1, 4))):
        target = node if key is None else node[key]
        if isinstance(target, dict) and target:
            node, key = target, draw(st.sampled_from(sorted(target)))
        elif isinstance(target, list) and target:
            node, key = target, draw(st.integers(0, len(target) - 1))
        else:
            break
    if key is not None:
        node[key] = draw(json_values)
    return data


@SETTINGS
@given(data=mutated_facts())
def test_any_facts_file_is_judged_or_refused_in_one_line(tmp_path, data):
    _judge_text(tmp_path, json.dumps(data))


@SETTINGS
@given(text=st.text(max_size=400))
def test_any_pasted_text_is_judged_or_refused_in_one_line(tmp_path, text):
    _judge_text(tmp_path, text)


@SETTINGS
@given(
    prefix=st.sampled_from(
        [
            "PyTorch version: ",
            "GPU models and configuration: GPU 0: ",
            "Nvidia driver version: ",
            "CUDA used to build PyTorch: ",
            "| NVIDIA-SMI 535.1  Driver Version: ",
            "The NVIDIA driver on your system is too old (found version ",
            "NVIDIA GeForce RTX 5090 with CUDA capability sm_",
            "The current PyTorch install supports CUDA capabilities ",
            "compiled  against (",
        ]
    ),
    tail=st.text(max_size=40),
)
def test_known_lines_with_any_value_never_crash(tmp_path, prefix, tail):
    _judge_text(
        tmp_path, f"PyTorch version: 2.4.1+cu121\nIs CUDA available: True\n{prefix}{tail}\n"
    )


@SETTINGS
@given(
    data=st.dictionaries(st.sampled_from(sorted(expect._TYPES)) | st.text(max_size=8), json_values)
)
def test_any_expectations_parse_or_are_refused(h200_facts, data):
    try:
        expectations = expect.parse(data, "expect.toml")
    except expect.ExpectError as exc:
        assert "\n" not in str(exc)
        return
    results = run_checks(h200_facts, expectations)
    assert not [r.id for r in results if "this check crashed" in r.summary]


@settings(max_examples=12, deadline=None)
@given(
    option=st.sampled_from(
        ["--timeout", "--torch-timeout", "--smoke-timeout", "--workload-timeout"]
    ),
    value=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        # What a shell can pass: no NUL (argv strings end at one), no lone surrogates.
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            min_size=1,
            max_size=12,
        ).filter(lambda s: not s.startswith("-")),
    ),
)
def test_any_option_value_exits_0_1_or_2_without_a_traceback(option, value):
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "envcheck", option, value, "--no-torch", "--timeout", "2"]
        if option != "--timeout"
        else [sys.executable, "-m", "envcheck", option, value, "--no-torch"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 1, 2), proc.stderr
    assert "Traceback" not in proc.stderr
    assert time.monotonic() - start < 60
