"""Nothing from outside reaches a terminal, an XML file or a report as it came."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

from envcheck.facts import Smoke, to_json
from envcheck.text import printable, redact_url, xml_safe
from tests.conftest import ROOT, run_envcheck

EVIL = "H200\x1b]0;pwned\x07\x1b[2J\x00\x9b"


def test_control_sequences_are_shown_not_obeyed():
    assert printable(EVIL) == "H200\\x1b]0;pwned\\x07\\x1b[2J\\x00\\x9b"
    assert printable("two\nlines\tand a tab") == "two\nlines\tand a tab"


def test_xml_safe_text_parses():
    ET.fromstring(f"<a b='{xml_safe(EVIL)}'>{xml_safe(EVIL)}</a>")


def test_userinfo_is_redacted_from_urls():
    assert redact_url("tcp://user:secret@10.0.0.1:2376") == "tcp://***@10.0.0.1:2376"
    assert (
        redact_url("https://x-access-token:ghs_abc@github.com/o/r.git")
        == "https://***@github.com/o/r.git"
    )
    assert redact_url("https://gitlab-ci-token:tok@gitlab.com/o/r") == "https://***@gitlab.com/o/r"
    assert redact_url("unix:///var/run/docker.sock") == "unix:///var/run/docker.sock"


def test_json_has_no_nan():
    data = to_json(Smoke(index=0, ok=False, matmul_max_err=math.nan, conv_max_err=math.inf))
    assert data["matmul_max_err"] is None and data["conv_max_err"] is None
    json.dumps(data, allow_nan=False)


def test_an_evil_gpu_name_never_reaches_the_terminal_or_junit(tmp_path):
    facts = json.loads((ROOT / "tests" / "data" / "h200-facts.json").read_text())
    facts["gpus"][0]["name"] = EVIL
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    junit = tmp_path / "junit.xml"
    proc = run_envcheck("judge", str(path), "--junit", str(junit))
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\\x1b" in proc.stdout
    ET.parse(junit)


def test_docker_host_credentials_stay_out_of_the_report():
    import os

    env = {**os.environ, "DOCKER_HOST": "tcp://admin:hunter2@127.0.0.1:9"}
    proc = run_envcheck("--json", "--no-torch", "--timeout", "2", env=env)
    assert "hunter2" not in proc.stdout + proc.stderr
    assert "tcp://***@127.0.0.1:9" in proc.stdout


def test_redact_paths_writes_home_folders_as_tilde(tmp_path):
    facts = json.loads((ROOT / "tests" / "data" / "h200-facts.json").read_text())
    facts["env"] = {"LD_LIBRARY_PATH": "/home/alice/cuda/lib64:/usr/lib", "LD_PRELOAD": ""}
    facts["torch"]["python"] = "/home/alice/venv/bin/python"
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts))
    proc = run_envcheck("judge", str(path), "--json", "--redact-paths")
    assert proc.returncode == 0, proc.stderr
    assert "alice" not in proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["facts"]["env"]["LD_LIBRARY_PATH"] == "~/cuda/lib64:/usr/lib"
    kept = run_envcheck("judge", str(path), "--json")
    assert "/home/alice/cuda/lib64" in kept.stdout  # kept verbatim unless asked
