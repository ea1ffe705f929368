"""`--prom FILE`: Prometheus metrics for node_exporter's textfile collector, parsed back with
prometheus_client and held to the stricter rules of node_exporter's own (Go) parser."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
import threading
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from envcheck import __version__
from envcheck.expect import Expectations
from envcheck.facts import to_json
from envcheck.render import prom
from envcheck.report import Report, judge, load_facts
from tests.conftest import ROOT, run_envcheck

H200 = ROOT / "tests" / "data" / "h200-facts.json"
NOW = 1_764_000_000.25
STATUSES = ("pass", "warn", "fail", "skip")

# One sample line as node_exporter's parser (prometheus/common expfmt) accepts it: a label value
# may hold any character but a raw `"`, `\` or newline, and only the escapes \\, \" and \n.
_VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
_PAIR = rf"[a-zA-Z_][a-zA-Z0-9_]*={_VALUE}"
_SAMPLE = re.compile(
    rf"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<labels>\{{{_PAIR}(?:,{_PAIR})*\}})? (?P<value>\S+)$"
)


def h200_report(expect: Expectations | None = None, strict: bool = False) -> Report:
    return judge(load_facts(H200), expect or Expectations(), strict)


def families(text: str) -> dict[str, list]:
    """name -> samples, after checking the text the way node_exporter's stricter parser would."""
    strict_check(text)
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def strict_check(text: str) -> None:
    assert text.endswith("\n")
    text.encode("utf-8")  # node_exporter refuses invalid UTF-8 (a lone surrogate)
    typed: list[str] = []
    helped: set[str] = set()
    series: set[tuple[str, str]] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in helped, f"second HELP for {name}"
            helped.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind == "gauge" and name not in typed, line
            assert name in helped, f"TYPE before HELP: {line}"
            typed.append(name)
        else:
            match = _SAMPLE.match(line)
            assert match, f"not a valid sample line: {line!r}"
            name = match["name"]
            # A family's samples follow its own TYPE line, and no other family's.
            assert typed and typed[-1] == name, f"{name} outside its family"
            assert (name, match["labels"] or "") not in series, f"repeated series: {line}"
            series.add((name, match["labels"] or ""))
            float(match["value"])  # a plain number: no timestamp (the textfile collector refuses)


def value(fams: dict[str, list], metric: str, /, **labels: str) -> float:
    found = [s.value for s in fams[metric] if s.labels == labels]
    assert len(found) == 1, (metric, labels, fams.get(metric))
    return found[0]


def with_gpu(report: Report, **changes: object) -> Report:
    facts = report.facts
    gpu = dataclasses.replace(facts.gpus[0], **changes)
    return dataclasses.replace(report, facts=dataclasses.replace(facts, gpus=[gpu]))


# --- what the metrics say ------------------------------------------------------------------


def test_ready_h200_reports_ready_with_every_check_as_a_state_set():
    report = h200_report()
    fams = families(prom.render(report, now=NOW))

    assert value(fams, "envcheck_ready") == 1
    statuses = {c.id: c.status for c in report.checks}
    assert statuses["torch.cuda_build"] == "pass"
    for check, status in statuses.items():
        for s in STATUSES:
            assert value(fams, "envcheck_check_status", check=check, status=s) == (s == status)
    assert len(fams["envcheck_check_status"]) == 4 * len(statuses)
    assert value(fams, "envcheck_check_status", check="torch.cuda_build", status="pass") == 1
    assert value(fams, "envcheck_checks", status="pass") == report.verdict.counts["pass"] == 11
    assert value(fams, "envcheck_checks", status="fail") == 0
    assert value(fams, "envcheck_checks", status="skip") == 8
    assert value(fams, "envcheck_last_run_timestamp_seconds") == NOW
    versions = {
        "driver": "580.159.04",
        "driver_cuda": "13.0",
        "torch": "2.11.0+cu130",
        "torch_cuda": "13.0",
        "cudnn": "9.19.0",
        "envcheck": __version__,
    }
    assert value(fams, "envcheck_info", **versions) == 1
    assert value(fams, "envcheck_gpus") == 1
    gpu = {
        "index": "0",
        "name": "NVIDIA H200",
        "uuid": "GPU-14e7c949-dd20-cb2f-412c-90057271383a",
        "pci_bus_id": "",  # not in these facts: empty, as Prometheus reads a missing label
        "compute_capability": "9.0",
    }
    assert value(fams, "envcheck_gpu_info", **gpu) == 1


def test_every_family_has_help_and_gauge_type():
    text = prom.render(h200_report(), now=NOW)
    for name in (
        "ready",
        "check_status",
        "checks",
        "last_run_timestamp_seconds",
        "info",
        "gpus",
        "gpu_info",
    ):
        assert f"# HELP envcheck_{name} " in text
        assert f"# TYPE envcheck_{name} gauge\n" in text


def test_failed_expectation_reports_not_ready_and_names_the_failing_check():
    report = h200_report(Expectations(gpu_count=8))
    assert not report.verdict.ready
    fams = families(prom.render(report, now=NOW))

    assert value(fams, "envcheck_ready") == 0
    assert value(fams, "envcheck_check_status", check="expect.gpu_count", status="fail") == 1
    assert value(fams, "envcheck_check_status", check="expect.gpu_count", status="pass") == 0
    assert value(fams, "envcheck_check_status", check="torch.cuda_build", status="pass") == 1
    assert value(fams, "envcheck_checks", status="fail") == 1
    failing = [
        s.labels["check"]
        for s in fams["envcheck_check_status"]
        if s.labels["status"] == "fail" and s.value == 1
    ]
    assert failing == ["expect.gpu_count"]


def test_cpu_only_torch_on_a_gpu_host_fails_torch_cuda_build_and_leaves_torch_cuda_empty():
    report = h200_report()
    facts = report.facts
    cpu_torch = dataclasses.replace(
        facts.torch, version="2.11.0+cpu", cuda=None, cudnn=None, cuda_available=False
    )
    report = judge(dataclasses.replace(facts, torch=cpu_torch), Expectations())
    fams = families(prom.render(report, now=NOW))

    assert value(fams, "envcheck_ready") == 0
    assert value(fams, "envcheck_check_status", check="torch.cuda_build", status="fail") == 1
    [info] = fams["envcheck_info"]
    assert info.labels["torch"] == "2.11.0+cpu"
    assert info.labels["torch_cuda"] == ""
    assert info.labels["cudnn"] == ""


def test_a_warning_counts_against_ready_only_when_strict():
    report = h200_report()
    facts = report.facts
    slow = dataclasses.replace(facts.gpus[0], pcie_width=8, pcie_width_max=16)
    facts = dataclasses.replace(facts, gpus=[slow])
    for strict, ready in ((False, 1), (True, 0)):
        fams = families(prom.render(judge(facts, Expectations(), strict), now=NOW))
        assert value(fams, "envcheck_check_status", check="gpu.pcie", status="warn") == 1
        assert value(fams, "envcheck_ready") == ready


def test_unknown_gpu_count_is_absent_not_zero():
    facts = dataclasses.replace(
        load_facts(H200), gpus=[], unavailable={"gpus": "not in the pasted text"}
    )
    fams = families(prom.render(judge(facts, Expectations()), now=NOW))
    assert "envcheck_gpus" not in fams
    assert "envcheck_gpu_info" not in fams


def test_observed_absence_of_gpus_is_zero():
    facts = dataclasses.replace(load_facts(H200), gpus=[])
    fams = families(prom.render(judge(facts, Expectations()), now=NOW))
    assert value(fams, "envcheck_gpus") == 0
    assert value(fams, "envcheck_ready") == 0


def test_timestamp_defaults_to_now():
    import time

    before = time.time()
    fams = families(prom.render(h200_report()))
    assert before <= value(fams, "envcheck_last_run_timestamp_seconds") <= time.time()


def test_no_summaries_paths_or_host_names_become_labels():
    report = h200_report(Expectations(gpu_count=8))
    report = dataclasses.replace(
        report, facts=dataclasses.replace(report.facts, hostname="secret-host")
    )
    text = prom.render(report, now=NOW)
    assert "secret-host" not in text
    for check in report.checks:
        assert check.summary not in text
    labels = {k for f in families(text).values() for s in f for k in s.labels}
    assert labels == {
        "check", "status", "driver", "driver_cuda", "torch", "torch_cuda", "cudnn", "envcheck",
        "index", "name", "uuid", "pci_bus_id", "compute_capability",
    }  # fmt: skip


# --- hostile label values ------------------------------------------------------------------

HOSTILE = 'H200" } 1\nenvcheck_ready 1\n# \\"x\\n\\\\ back\\slash \x1b[2J\x07 tab\tend'


def test_hostile_label_values_are_escaped_and_parse_back():
    report = with_gpu(h200_report(), name=HOSTILE, uuid='GPU-"quoted"', pci_bus_id="a\\b\nc")
    report = dataclasses.replace(
        report,
        facts=dataclasses.replace(
            report.facts, driver=dataclasses.replace(report.facts.driver, version='580"\n\\')
        ),
    )
    text = prom.render(report, now=NOW)
    fams = families(text)

    [gpu] = fams["envcheck_gpu_info"]
    # Control characters show as a visible \xNN (as in every envcheck output); quote,
    # backslash and newline come back exactly.
    assert gpu.labels["name"] == (
        'H200" } 1\nenvcheck_ready 1\n# \\"x\\n\\\\ back\\slash \\x1b[2J\\x07 tab\tend'
    )
    assert gpu.labels["uuid"] == 'GPU-"quoted"'
    assert gpu.labels["pci_bus_id"] == "a\\b\nc"
    [info] = fams["envcheck_info"]
    assert info.labels["driver"] == '580"\n\\'
    # The injected line stayed inside its label: one ready sample, the real one.
    assert [s.value for s in fams["envcheck_ready"]] == [1]
    assert "\x1b" not in text and "\x07" not in text


def test_label_escaping_writes_exactly_the_three_escapes():
    assert prom._label_value('a"b') == 'a\\"b'
    assert prom._label_value("a\\b") == "a\\\\b"
    assert prom._label_value("a\nb") == "a\\nb"
    # A backslash already followed by n is a backslash, not a newline.
    assert prom._label_value("a\\nb") == "a\\\\nb"
    assert prom._label_value(None) == ""


def test_lone_surrogate_from_a_facts_file_becomes_a_replacement_character(tmp_path):
    facts = to_json(load_facts(H200))
    facts["gpus"][0]["name"] = "H200 \ud800 bad"
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))  # ensure_ascii: the surrogate travels as \ud800
    report = judge(load_facts(path), Expectations())
    fams = families(prom.render(report, now=NOW))
    assert fams["envcheck_gpu_info"][0].labels["name"] == "H200 \ufffd bad"


def test_huge_label_values_are_cut():
    report = with_gpu(h200_report(), name="X" * 100_000 + '"')
    fams = families(prom.render(report, now=NOW))
    name = fams["envcheck_gpu_info"][0].labels["name"]
    assert len(name) == prom.MAX_LABEL_CHARS
    assert name.endswith("...")


def test_repeated_gpus_do_not_repeat_a_series():
    report = h200_report()
    gpu = report.facts.gpus[0]
    other = dataclasses.replace(gpu, index=1, uuid="GPU-other")
    report = dataclasses.replace(
        report, facts=dataclasses.replace(report.facts, gpus=[gpu, gpu, other])
    )
    fams = families(prom.render(report, now=NOW))  # strict_check refuses repeated series
    assert sorted(s.labels["index"] for s in fams["envcheck_gpu_info"]) == ["0", "1"]
    assert value(fams, "envcheck_gpus") == 3


def test_a_repeated_check_id_does_not_repeat_a_series():
    report = h200_report()
    report = dataclasses.replace(report, checks=[*report.checks, report.checks[0]])
    fams = families(prom.render(report, now=NOW))  # strict_check refuses repeated series
    first = report.checks[0]
    assert value(fams, "envcheck_check_status", check=first.id, status=first.status) == 1


# --- atomic write --------------------------------------------------------------------------


def test_write_creates_a_world_readable_file_whatever_the_umask(tmp_path):
    target = tmp_path / "envcheck.prom"
    old = os.umask(0o077)
    try:
        prom.write(h200_report(), target, now=NOW)
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert target.read_text() == prom.render(h200_report(), now=NOW)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["envcheck.prom"]


def test_write_replaces_an_existing_file_by_rename(tmp_path):
    target = tmp_path / "envcheck.prom"
    target.write_text("old\n")
    target.chmod(0o444)  # only the folder needs to be writable
    old_inode = target.stat().st_ino
    with target.open() as reader:  # a scrape already reading the old file
        prom.write(h200_report(), target, now=NOW)
        assert reader.read() == "old\n"  # not truncated under the reader
    assert target.stat().st_ino != old_inode
    assert value(families(target.read_text()), "envcheck_ready") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["envcheck.prom"]


def test_while_writing_the_temp_file_is_hidden_and_not_prom(tmp_path, monkeypatch):
    target = tmp_path / "envcheck.prom"
    target.write_text("old\n")
    seen: list[tuple[list[str], str]] = []
    real_fsync = os.fsync

    def fsync_and_look(fd: int) -> None:
        real_fsync(fd)
        seen.append((sorted(p.name for p in tmp_path.iterdir()), target.read_text()))

    monkeypatch.setattr(os, "fsync", fsync_and_look)
    prom.write(h200_report(), target, now=NOW)

    names, content = seen[0]  # the temp file is complete on disk, not yet renamed
    temps = [n for n in names if n != "envcheck.prom"]
    assert len(temps) == 1
    assert temps[0].startswith(".") and not temps[0].endswith(".prom")
    assert content == "old\n"  # node_exporter still reads the old file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["envcheck.prom"]


def test_concurrent_reader_sees_only_whole_files(tmp_path):
    target = tmp_path / "envcheck.prom"
    report = h200_report()
    prom.write(report, target, now=NOW)
    whole = prom.render(report, now=NOW)
    torn: list[str] = []
    done = threading.Event()

    def scrape() -> None:
        while not done.is_set():
            text = target.read_text()
            if text != whole:
                torn.append(text)

    reader = threading.Thread(target=scrape)
    reader.start()
    try:
        for _ in range(200):
            prom.write(report, target, now=NOW)
    finally:
        done.set()
        reader.join()
    assert torn == []
    assert not [p for p in tmp_path.iterdir() if p.name != "envcheck.prom"]


def test_failed_rename_leaves_no_temp_file(tmp_path):
    target = tmp_path / "envcheck.prom"
    target.mkdir()  # a rename cannot replace a folder
    with pytest.raises(OSError):
        prom.write(h200_report(), target, now=NOW)
    assert [p.name for p in tmp_path.iterdir()] == ["envcheck.prom"]
    assert list(target.iterdir()) == []


def test_failed_fsync_leaves_no_temp_file_and_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "envcheck.prom"
    target.write_text("old\n")

    def fail(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError):
        prom.write(h200_report(), target, now=NOW)
    assert [p.name for p in tmp_path.iterdir()] == ["envcheck.prom"]
    assert target.read_text() == "old\n"


# --- the CLI -------------------------------------------------------------------------------


def test_cli_judge_writes_the_metrics_file(tmp_path):
    target = tmp_path / "envcheck.prom"
    proc = run_envcheck("judge", str(H200), "--prom", str(target), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"]["ready"] is True  # stdout is still the JSON
    fams = families(target.read_text())
    assert value(fams, "envcheck_ready") == 1
    assert value(fams, "envcheck_gpus") == 1
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["envcheck.prom"]


def test_cli_not_ready_still_writes_the_file_and_exits_1(tmp_path):
    expect = tmp_path / "expect.toml"
    expect.write_text("gpu_count = 8\n")
    target = tmp_path / "envcheck.prom"
    proc = run_envcheck("judge", str(H200), "--expect", str(expect), "--prom", str(target))
    assert proc.returncode == 1, proc.stderr
    fams = families(target.read_text())
    assert value(fams, "envcheck_ready") == 0
    assert value(fams, "envcheck_check_status", check="expect.gpu_count", status="fail") == 1


def test_cli_hostile_facts_file_writes_valid_metrics(tmp_path):
    facts = to_json(load_facts(H200))
    facts["gpus"][0]["name"] = HOSTILE
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    target = tmp_path / "envcheck.prom"
    proc = run_envcheck("judge", str(path), "--prom", str(target))
    assert proc.returncode == 0, proc.stderr
    fams = families(target.read_text())
    assert fams["envcheck_gpu_info"][0].labels["name"].startswith('H200" } 1\nenvcheck_ready 1\n')
    assert [s.value for s in fams["envcheck_ready"]] == [1]


def _unwritable_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    # root writes anywhere a mode allows; sysfs refuses new files even to root.
    if not Path("/sys/kernel").is_dir():
        pytest.skip("running as root without sysfs: no folder root cannot write")
    return Path("/sys/kernel")


@pytest.mark.parametrize("where", ["unwritable folder", "missing folder", "file as folder"])
def test_cli_unwritable_target_is_one_line_exit_2(tmp_path, where):
    if where == "unwritable folder":
        target = _unwritable_dir(tmp_path) / "envcheck.prom"
    elif where == "missing folder":
        target = tmp_path / "missing" / "envcheck.prom"
    else:
        (tmp_path / "file").write_text("")
        target = tmp_path / "file" / "envcheck.prom"
    proc = run_envcheck("judge", str(H200), "--prom", str(target))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"{target}: cannot write: " in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not target.exists()
    if where != "unwritable folder":
        assert not [p for p in target.parent.parent.rglob("*") if ".tmp" in p.name]


def test_check_accepts_prom_like_every_report_command():
    proc = run_envcheck("check", "--help")
    assert "--prom" in proc.stdout
    proc = run_envcheck("judge", "--help")
    assert "--prom" in proc.stdout


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_cli_refuses_to_replace_what_is_not_a_regular_file(tmp_path, kind):
    """The rename would replace the link or the FIFO itself (as root, `--prom /dev/null` would
    destroy /dev/null): only a regular file is replaced."""
    target = tmp_path / "envcheck.prom"
    real = tmp_path / "real.prom"
    real.write_text("kept\n")
    if kind == "symlink":
        target.symlink_to(real)
    else:
        os.mkfifo(target)
    proc = run_envcheck("judge", str(H200), "--prom", str(target))
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert real.read_text() == "kept\n"
    mode = os.lstat(target).st_mode
    assert {"symlink": stat.S_ISLNK, "fifo": stat.S_ISFIFO}[kind](mode)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
