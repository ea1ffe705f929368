"""`envcheck fleet`: per-node reports (the real H200 measurement judged, with variations) merged
into one table, drift across nodes, unreadable inputs, the JSON schema, JUnit and hostile names."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from envcheck import expect
from envcheck.facts import Facts
from envcheck.fleet import render, table
from envcheck.report import judge, load_facts
from envcheck.schema import DIR, FILES, fleet_schema
from tests.conftest import ROOT, run_envcheck

H200 = ROOT / "tests" / "data" / "h200-facts.json"
EVIL = "gpu\x1b]0;pwned\x07\x1b[2J\x9b7"


@pytest.fixture(scope="module")
def h200() -> Facts:
    return load_facts(H200)


def node(base: Facts, hostname: str | None, gpus: int = 8, **driver: str) -> Facts:
    """The H200 machine as one node of a fleet: its own hostname, ``gpus`` H200s, and optionally
    another driver (``version=``, ``cuda=``)."""
    gpu = base.gpus[0]
    listed = [dataclasses.replace(gpu, index=i, uuid=f"GPU-{i}") for i in range(gpus)]
    return dataclasses.replace(
        base, hostname=hostname, gpus=listed, driver=dataclasses.replace(base.driver, **driver)
    )


def report(facts: Facts) -> dict[str, Any]:
    return judge(facts, expect.Expectations()).to_json()


def write(folder: Path, name: str, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=1))
    return path


def fleet_json(proc) -> dict[str, Any]:
    assert proc.stdout.strip(), proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.validate(data, json.loads(FILES["fleet"].read_text()))
    return data


def rows(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["name"]: n for n in data["nodes"]}


def plain_env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1"}


def test_shipped_fleet_schema_is_generated_from_the_classes():
    assert json.loads(FILES["fleet"].read_text()) == fleet_schema()
    assert FILES["fleet"] == DIR / "fleet-1.json"


def test_identical_ready_nodes_are_one_row_each_and_exit_0(tmp_path, h200):
    for i in range(3):
        write(tmp_path, f"file{i}", report(node(h200, f"gpu-{i:03d}")))
    proc = run_envcheck("fleet", str(tmp_path), "--json")
    data = fleet_json(proc)
    assert proc.returncode == 0, proc.stderr
    assert [n["name"] for n in data["nodes"]] == ["gpu-000", "gpu-001", "gpu-002"]
    first = data["nodes"][0]
    assert first["ready"] is True and first["failed"] == [] and first["drift"] == []
    assert first["source"] == str(tmp_path / "file0.json")
    assert first["versions"] == {
        "driver": "580.159.04",
        "driver_cuda": "13.0",
        "torch": "2.11.0+cu130",
        "torch_cuda": "13.0",
        "cudnn": "9.19.0",
        "gpu_count": 8,
        "gpu_models": ["NVIDIA H200"],
    }
    assert data["verdict"]["ready"] is True
    assert data["verdict"]["summary"] == "fleet ready: 3 nodes: 3 ready"
    # The human table went to stderr: one line per node.
    assert "gpu-001" in proc.stderr and "8× NVIDIA H200" in proc.stderr
    assert "fleet ready: 3 nodes: 3 ready" in proc.stderr


def test_a_node_on_another_driver_drifts_from_the_majority(tmp_path, h200):
    for i in range(3):
        write(tmp_path, f"n{i}", report(node(h200, f"gpu-{i}")))
    write(tmp_path, "n3", report(node(h200, "gpu-3", version="580.95.05")))
    proc = run_envcheck("fleet", str(tmp_path), "--json")
    data = fleet_json(proc)
    # Drift is a warning: every node is still ready.
    assert proc.returncode == 0, proc.stderr
    (drift,) = rows(data)["gpu-3"]["drift"]
    assert drift["field"] == "driver"
    assert drift["value"] == "580.95.05" and drift["majority"] == "580.159.04"
    assert "580.95.05" in drift["summary"] and "580.159.04" in drift["summary"]
    assert "3 of 4 nodes" in drift["summary"]
    assert all(not rows(data)[f"gpu-{i}"]["drift"] for i in range(3))
    spread = {f["field"]: f for f in data["fields"]}["driver"]
    assert spread["majority"] == "580.159.04"
    assert spread["values"] == {"580.159.04": 3, "580.95.05": 1}
    assert data["verdict"]["drifted"] == 1
    assert "580.95.05*" in proc.stderr and "gpu-3: driver 580.95.05" in proc.stderr

    strict = run_envcheck("fleet", str(tmp_path), "--strict", env=plain_env())
    assert strict.returncode == 1
    assert "fleet NOT ready" in strict.stdout and "--strict: drift counts" in strict.stdout


def test_a_node_whose_driver_is_too_old_is_not_ready_and_names_the_check(tmp_path, h200):
    write(tmp_path, "a", report(node(h200, "gpu-a")))
    write(tmp_path, "b", report(node(h200, "gpu-b")))
    write(tmp_path, "c", report(node(h200, "gpu-c", version="575.57.08", cuda="12.9")))
    proc = run_envcheck("fleet", str(tmp_path), "--json")
    data = fleet_json(proc)
    assert proc.returncode == 1
    bad = rows(data)["gpu-c"]
    assert bad["ready"] is False and bad["failed"] == ["driver.cuda"]
    assert bad["reason"].startswith("driver.cuda: ") and "575.57.08" in bad["reason"]
    assert bad["summary"].startswith("NOT ready")
    assert {d["field"] for d in bad["drift"]} == {"driver", "driver_cuda"}
    assert data["verdict"]["not_ready"] == 1 and data["verdict"]["ready"] is False
    assert "✗ driver.cuda" in proc.stderr


def test_gpu_count_and_models_drift(tmp_path, h200):
    for i in range(3):
        write(tmp_path, f"n{i}", report(node(h200, f"gpu-{i}")))
    seven = node(h200, "gpu-7", gpus=7)
    mixed = node(h200, "gpu-mixed")
    mixed = dataclasses.replace(
        mixed, gpus=[*mixed.gpus[:7], dataclasses.replace(mixed.gpus[7], name="NVIDIA H100")]
    )
    write(tmp_path, "n7", report(seven))
    write(tmp_path, "nm", report(mixed))
    data = fleet_json(run_envcheck("fleet", str(tmp_path), "--json"))
    (count,) = rows(data)["gpu-7"]["drift"]
    assert (count["field"], count["value"], count["majority"]) == ("gpu_count", "7", "8")
    (models,) = rows(data)["gpu-mixed"]["drift"]
    assert models["field"] == "gpu_models"
    assert models["value"] == "NVIDIA H100, NVIDIA H200" and models["majority"] == "NVIDIA H200"
    assert rows(data)["gpu-mixed"]["versions"]["gpu_models"] == ["NVIDIA H100", "NVIDIA H200"]


def test_unknown_values_are_never_drift(h200):
    """A node whose NVML could not be read lists no GPU: its count is unknown, not 0; a node
    where torch was not probed has no torch version: unknown, not a different one."""
    no_nvml = dataclasses.replace(
        node(h200, "no-nvml", gpus=0),
        driver=dataclasses.replace(
            h200.driver, version=None, cuda=None, error="NVML: driver not loaded"
        ),
    )
    no_torch = dataclasses.replace(
        node(h200, "no-torch"),
        torch=dataclasses.replace(
            h200.torch, version=None, cuda=None, cudnn=None, unavailable={"version": "not probed"}
        ),
    )
    nodes = [
        *table.read_reports(json.dumps(report(node(h200, "a"))), "a.json"),
        *table.read_reports(json.dumps(report(node(h200, "b"))), "b.json"),
        *table.read_reports(json.dumps(report(no_nvml)), "no-nvml.json"),
        *table.read_reports(json.dumps(report(no_torch)), "no-torch.json"),
    ]
    fleet = table.merge(nodes)
    by_name = {n.name: n for n in fleet.nodes}
    assert by_name["no-nvml"].versions.gpu_count is None
    assert by_name["no-nvml"].versions.gpu_models is None
    assert by_name["no-torch"].versions.torch is None
    assert all(not n.drift for n in fleet.nodes)
    spread = {s.field: s for s in fleet.fields}
    assert spread["gpu_count"].unknown == 1 and spread["gpu_count"].values == {"8": 3}
    assert spread["torch"].unknown == 1 and spread["torch"].majority == "2.11.0+cu130"
    # The driver-less node is not ready on its own checks, not on drift.
    assert by_name["no-nvml"].ready is False and "driver.present" in by_name["no-nvml"].failed


def test_an_observed_zero_gpu_count_is_drift(h200):
    nodes = [
        table.read_reports(json.dumps(report(node(h200, name))), name)[0] for name in ("a", "b")
    ]
    nodes += table.read_reports(json.dumps(report(node(h200, "empty", gpus=0))), "empty")
    fleet = table.merge(nodes)
    (drift,) = fleet.nodes[2].drift
    assert (drift.field, drift.value, drift.majority) == ("gpu_count", "0", "8")


def test_a_tie_has_no_majority_and_every_node_drifts(h200):
    nodes = [
        *table.read_reports(json.dumps(report(node(h200, "a"))), "a"),
        *table.read_reports(json.dumps(report(node(h200, "b", version="580.95.05"))), "b"),
    ]
    fleet = table.merge(nodes)
    for n in fleet.nodes:
        (drift,) = n.drift
        assert drift.field == "driver" and drift.majority is None
        assert "no majority" in drift.summary
    assert {s.field: s for s in fleet.fields}["driver"].majority is None


def downgrade(data: Any, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """``data`` cut down to what an older schema knows (a key it does not have is dropped)."""
    if "$ref" in schema:
        return downgrade(data, root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root)
    if "anyOf" in schema:
        return data if data is None else downgrade(data, schema["anyOf"][0], root)
    if isinstance(data, dict) and "properties" in schema:
        props = schema["properties"]
        return {k: downgrade(v, props[k], root) for k, v in data.items() if k in props}
    if isinstance(data, list) and "items" in schema:
        return [downgrade(v, schema["items"], root) for v in data]
    return data


def test_a_report_1_is_read_and_named_after_its_file(tmp_path, h200):
    schema_1 = json.loads((DIR / "report-1.json").read_text())
    old = downgrade(report(node(h200, "ignored")), schema_1, schema_1)
    old["schema"] = "envcheck.report/1"
    old["facts"]["schema"] = "envcheck.facts/1"
    jsonschema.validate(old, schema_1)  # a genuine /1 report: no hostname, no `unavailable`
    assert "hostname" not in old["facts"]
    write(tmp_path, "node-old", old)
    write(tmp_path, "node-new", report(node(h200, "gpu-new")))
    proc = run_envcheck("fleet", str(tmp_path), "--json")
    data = fleet_json(proc)
    assert proc.returncode == 0, proc.stderr
    old_row = rows(data)["node-old"]
    assert old_row["ready"] is True and old_row["error"] is None
    assert old_row["versions"]["driver"] == "580.159.04" and old_row["versions"]["gpu_count"] == 8


def test_a_report_1_with_nvml_down_has_an_unknown_gpu_count(h200):
    schema_1 = json.loads((DIR / "report-1.json").read_text())
    down = dataclasses.replace(
        node(h200, None, gpus=0),
        driver=dataclasses.replace(h200.driver, version=None, cuda=None, error="NVML failed"),
    )
    old = downgrade(report(down), schema_1, schema_1)
    old["schema"], old["facts"]["schema"] = "envcheck.report/1", "envcheck.facts/1"
    (row,) = table.read_reports(json.dumps(old), "dir/nvml-down.json")
    assert row.name == "nvml-down" and row.versions.gpu_count is None


def test_unreadable_inputs_are_named_and_skipped(tmp_path, h200):
    good = report(node(h200, "gpu-ok"))
    write(tmp_path, "a-good", good)
    write(tmp_path, "b-corrupt", '{"schema": "envcheck.report/2", "verdict": ')
    write(tmp_path, "c-other", {"schema": "something/9"})
    write(tmp_path, "d-facts", json.loads(H200.read_text()))
    lying = json.loads(json.dumps(report(node(h200, "gpu-liar", version="575.57.08", cuda="12.9"))))
    lying["verdict"]["ready"] = True
    write(tmp_path, "e-liar", lying)
    wrong_type = json.loads(json.dumps(good))
    wrong_type["facts"]["driver"]["version"] = 580
    write(tmp_path, "f-type", wrong_type)
    (tmp_path / "notes.txt").write_text("not a report, not *.json: not read")

    proc = run_envcheck("fleet", str(tmp_path), "--json")
    data = fleet_json(proc)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    expected = {
        "b-corrupt": "not valid JSON",
        "c-other": "not an envcheck.report/2 report (schema 'something/9')",
        "d-facts": "a facts file (envcheck.facts/2), not a report",
        "e-liar": "its verdict says ready, but driver.cuda blocks it",
        "f-type": "facts.driver.version: expected a string or null, got a number",
    }
    assert len(warnings) == len(expected)
    by_name = rows(data)
    for name, words in expected.items():
        path = str(tmp_path / f"{name}.json")
        assert any(path in w and words in w for w in warnings), (name, warnings)
        assert by_name[name]["ready"] is None and by_name[name]["versions"] is None
        assert words in by_name[name]["error"] and path in by_name[name]["error"]
    assert by_name["gpu-ok"]["ready"] is True
    assert "notes" not in by_name
    assert data["verdict"]["unreadable"] == 5 and data["verdict"]["ready_nodes"] == 1


def test_no_readable_report_is_bad_input(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_envcheck("fleet", str(empty))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"Error: {empty}: no *.json files, no envcheck report"
    ]

    write(tmp_path / "bad", "x", "garbage")
    proc = run_envcheck("fleet", str(tmp_path / "bad"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    warning, error = proc.stderr.strip().splitlines()
    assert warning.startswith(f"warning: {tmp_path / 'bad' / 'x.json'}: not valid JSON")
    assert error == f"Error: {tmp_path / 'bad'}: no readable envcheck report (1 unreadable)"

    proc = run_envcheck("fleet", str(tmp_path / "missing.json"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"Error: {tmp_path / 'missing.json'}: no such file or folder"
    ]

    assert run_envcheck("fleet").returncode == 2  # no input at all is a usage error


def test_stdin_holds_one_report_an_array_or_json_lines(h200):
    reports = [report(node(h200, f"gpu-{i}")) for i in range(3)]
    for text in (
        json.dumps(reports),
        "\n".join(json.dumps(r) for r in reports),
        "".join(json.dumps(r, indent=1) for r in reports),
    ):
        proc = _stdin(text)
        data = fleet_json(proc)
        assert [n["name"] for n in data["nodes"]] == ["gpu-0", "gpu-1", "gpu-2"]
        assert [n["source"] for n in data["nodes"]] == ["-[0]", "-[1]", "-[2]"]
        assert proc.returncode == 0
    (one,) = fleet_json(_stdin(json.dumps(reports[0])))["nodes"]
    assert one["name"] == "gpu-0" and one["source"] == "-"


def test_stdin_with_a_broken_tail_keeps_the_reports_before_it(h200):
    text = json.dumps(report(node(h200, None))) + "\n" + '{"schema": "envcheck.rep'
    proc = _stdin(text)
    data = fleet_json(proc)
    assert proc.returncode == 1
    first, broken = data["nodes"]
    assert first["name"] == "stdin[0]" and first["ready"] is True
    assert broken["name"] == "stdin[1]" and "not valid JSON" in broken["error"]
    assert "warning: -[1]: not valid JSON" in proc.stderr


def _stdin(text: str):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "envcheck", "fleet", "-", "--json"],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_junit_has_one_testcase_per_node(tmp_path, h200):
    reports = tmp_path / "reports"
    write(reports, "a", report(node(h200, "gpu-a")))
    write(reports, "b", report(node(h200, "gpu-b")))
    write(reports, "c", report(node(h200, "gpu-c", version="575.57.08", cuda="12.9")))
    write(reports, "d", report(node(h200, "gpu-d", version="580.95.05")))
    write(reports, "e", "{")
    out = tmp_path / "fleet.xml"
    proc = run_envcheck("fleet", str(reports), "--junit", str(out), env=plain_env())
    assert proc.returncode == 1
    suite = ET.parse(out).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "5"
    assert suite.get("failures") == "1" and suite.get("errors") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["gpu-a", "gpu-b", "gpu-c", "gpu-d", "e"]
    failure = cases["gpu-c"].find("failure")
    assert failure is not None and failure.get("message").startswith("driver.cuda: ")
    assert cases["e"].find("error") is not None
    # Drift without --strict is reported, not failed.
    assert cases["gpu-d"].find("failure") is None
    assert "drift: driver 580.95.05" in cases["gpu-d"].find("system-out").text

    run_envcheck("fleet", str(reports), "--strict", "--junit", str(out))
    cases = {c.get("name"): c for c in ET.parse(out).getroot().iter("testcase")}
    assert "580.95.05" in cases["gpu-d"].find("failure").get("message")


def test_escape_sequences_in_a_hostname_never_reach_the_terminal(tmp_path, h200):
    write(tmp_path, "evil", report(node(h200, EVIL)))
    write(tmp_path, "evil2", report(node(h200, EVIL, version="580.95.05")))
    write(tmp_path / "x", "evil\x1b[2Jname", "{")  # a hostile file name, unreadable
    out = tmp_path / "fleet.xml"
    proc = run_envcheck(
        "fleet", str(tmp_path), str(tmp_path / "x"), "--junit", str(out), env=plain_env()
    )
    assert proc.returncode == 1
    for stream in (proc.stdout, proc.stderr):
        assert "\x1b" not in stream and "\x07" not in stream and "\x9b" not in stream
    assert "gpu\\x1b]0;pwned\\x07\\x1b[2J\\x9b7" in proc.stdout
    assert "evil\\x1b[2Jname.json" in proc.stderr
    names = [c.get("name") for c in ET.parse(out).getroot().iter("testcase")]
    assert "gpu\\x1b]0;pwned\\x07\\x1b[2J\x9b7" in names  # XML can carry \x9b, not \x1b
    # JSON keeps the name exactly (json escapes it); the table only shows it.
    data = fleet_json(run_envcheck("fleet", str(tmp_path), "--json"))
    assert data["nodes"][0]["name"] == EVIL


def test_escape_sequences_stay_escaped_in_a_colour_terminal(monkeypatch, h200):
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    nodes = table.read_reports(json.dumps(report(node(h200, EVIL))), "evil.json")
    nodes += table.read_reports(json.dumps(report(node(h200, "ok", version="1"))), "ok.json")
    out = io.StringIO()
    render.terminal(table.merge(nodes), file=out)
    text = out.getvalue()
    assert "\x1b[" in text  # colour is on ...
    assert "\x1b]" not in text and "\x1b[2J" not in text and "\x07" not in text  # ... only colour
    assert "\\x1b[2J" in text


def test_the_api_reads_a_folder_of_reports_named_after_their_nodes(tmp_path, h200):
    """What `envcheck slurm run` does: one report per node, named after it, in a temp folder."""
    for name in ("node-b", "node-a"):
        write(tmp_path, name, report(node(h200, None)))
    messages: list[str] = []
    fleet = table.merge(table.load([tmp_path], on_error=messages.append))
    assert [n.name for n in fleet.nodes] == ["node-a", "node-b"]
    assert messages == [] and fleet.verdict.ready
    assert fleet.to_json()["schema"] == "envcheck.fleet/1"
    jsonschema.validate(fleet.to_json(), json.loads(FILES["fleet"].read_text()))
    ET.fromstring(render.junit(fleet))
    with pytest.raises(table.FleetError, match="no such file"):
        table.load([tmp_path / "gone"])
    with pytest.raises(table.FleetError, match="no envcheck report"):
        table.require_readable([])


def test_a_node_given_twice_is_named_in_a_warning(tmp_path, h200):
    one = write(tmp_path, "a", report(node(h200, "gpu-7")))
    proc = run_envcheck(
        "fleet", str(one), str(one), str(write(tmp_path, "b", report(node(h200, "gpu-8"))))
    )
    assert proc.returncode == 0, proc.stderr
    (warning,) = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert warning == f"warning: node gpu-7 appears 2 times: {one}, {one}"
