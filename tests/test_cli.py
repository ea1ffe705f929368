"""The real `envcheck` CLI in a child process: fake NVML scenarios, judge, expectations, outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from envcheck.schema import FILES, render_all
from tests.conftest import ROOT, run_envcheck

H200 = str(ROOT / "tests" / "data" / "h200-facts.json")


def report_of(proc) -> dict:
    assert proc.stdout.strip(), proc.stderr
    return json.loads(proc.stdout)


def checks_of(report: dict) -> dict[str, dict]:
    return {c["id"]: c for c in report["checks"]}


def validate(report: dict) -> None:
    schema = json.loads(FILES["report"].read_text())
    jsonschema.validate(report, schema)


def test_shipped_schemas_are_generated_from_the_classes():
    for path, text in render_all().items():
        assert path.read_text() == text, f"{path} is stale: run python -m envcheck.schema"


def test_one_h100_on_r580_is_read_and_judged(fake_nvml):
    proc = run_envcheck("--json", "--no-torch", env=fake_nvml("one_h100_r580"))
    report = report_of(proc)
    validate(report)
    facts = report["facts"]
    assert facts["driver"]["version"] == "580.95.05"
    assert facts["driver"]["cuda"] == "13.0"
    (gpu,) = facts["gpus"]
    assert gpu["name"] == "NVIDIA H100 80GB HBM3"
    assert gpu["compute_capability"] == "9.0"
    assert gpu["memory_total_mib"] == 81559
    assert gpu["pcie_width"] == 16 and gpu["clock_event_reasons"] == ["gpu_idle"]
    assert gpu["unavailable"]["retired_pages_pending"] == "not supported"
    assert gpu["retired_pages_pending"] is None
    assert (gpu["fabric_state"], gpu["fabric_status"]) == ("completed", "success")
    checks = checks_of(report)
    assert checks["driver.present"]["status"] == "pass"
    assert checks["gpu.pcie"]["status"] == "pass"
    assert checks["gpu.fabric"]["status"] == "pass"
    assert proc.returncode == 0


def test_two_different_gpus(fake_nvml):
    report = report_of(run_envcheck("--json", "--no-torch", env=fake_nvml("two_gpus")))
    validate(report)
    names = [g["name"] for g in report["facts"]["gpus"]]
    assert names == ["NVIDIA H100 80GB HBM3", "Tesla V100-SXM2-32GB"]
    assert [g["compute_capability"] for g in report["facts"]["gpus"]] == ["9.0", "7.0"]
    assert report["facts"]["driver"]["cuda"] == "12.9"
    assert report["facts"]["gpus"][1]["unavailable"]["remapped_rows_pending"] == "not supported"
    # The V100 is on no NVLink fabric; the H100 is registered in one.
    assert report["facts"]["gpus"][1]["unavailable"]["fabric_state"] == "not supported"
    assert checks_of(report)["gpu.fabric"]["summary"] == "1 GPU(s) registered in the NVLink fabric"


def test_gpus_the_fabric_manager_never_registered_fail(fake_nvml):
    proc = run_envcheck("--json", "--no-torch", env=fake_nvml("fabric_not_started"))
    report = report_of(proc)
    validate(report)
    assert [g["fabric_state"] for g in report["facts"]["gpus"]] == ["not_started"] * 2
    check = checks_of(report)["gpu.fabric"]
    assert (
        check["status"] == "fail"
        and "GPU 1 (NVIDIA H100 80GB HBM3): not started" in check["summary"]
    )
    assert "systemctl status nvidia-fabricmanager" in check["remedy"]["commands"]
    assert proc.returncode == 1


@pytest.mark.parametrize(
    ("scenario", "kind", "words"),
    [
        ("driver_library_mismatch", "driver_library_mismatch", "version mismatch"),
        ("driver_not_loaded", "driver_not_loaded", "not loaded"),
    ],
)
def test_driver_failures_each_get_their_remedy(fake_nvml, scenario, kind, words):
    proc = run_envcheck("--json", "--no-torch", env=fake_nvml(scenario))
    report = report_of(proc)
    validate(report)
    assert report["facts"]["driver"]["error_kind"] == kind
    check = checks_of(report)["driver.present"]
    assert check["status"] == "fail" and words in check["summary"]
    assert check["remedy"]["commands"]
    assert proc.returncode == 1


def test_nvml_unknown_error_names_the_container_cause_where_it_applies(fake_nvml):
    proc = run_envcheck("--json", "--no-torch", env=fake_nvml({"init": "unknown_error"}))
    report = report_of(proc)
    assert report["facts"]["driver"]["error_kind"] == "nvml_unknown"
    check = checks_of(report)["driver.present"]
    assert check["status"] == "fail"
    assert check["summary"].startswith("NVML cannot initialise: Unknown Error")
    inside = report["facts"]["container"]["inside"]
    assert ("daemon-reload" in check["remedy"]["text"]) == (inside is not False)
    assert ("Xid" in check["remedy"]["text"]) == (inside is not True)
    assert proc.returncode == 1


def test_a_lost_gpu_is_its_own_row_and_the_rest_still_reads(fake_nvml):
    proc = run_envcheck("--json", "--no-torch", env=fake_nvml("gpu_lost"))
    report = report_of(proc)
    first, lost = report["facts"]["gpus"]
    assert first["name"] == "NVIDIA H100 80GB HBM3" and first["error"] is None
    assert lost["error_kind"] == "gpu_lost"
    assert "fell off the bus" in checks_of(report)["driver.present"]["summary"]
    assert proc.returncode == 1


def test_degraded_gpu_warns_on_memory_pcie_and_throttle(fake_nvml):
    proc = run_envcheck("--json", "--no-torch", env=fake_nvml("degraded"))
    checks = checks_of(report_of(proc))
    assert checks["gpu.memory"]["status"] == "warn"
    assert checks["gpu.pcie"]["status"] == "warn" and "x8 of x16" in checks["gpu.pcie"]["summary"]
    assert checks["gpu.throttle"]["status"] == "warn"
    assert proc.returncode == 0
    assert run_envcheck("--strict", "--no-torch", env=fake_nvml("degraded")).returncode == 1


@pytest.mark.parametrize(
    ("scenario", "stage"),
    [
        ("hang_init", "nvmlInit"),
        ("hang_device", "(0)"),
    ],
)
def test_a_hung_nvml_gives_a_complete_report_in_time(fake_nvml, scenario, stage):
    timeout = 2.0
    start = time.monotonic()
    proc = run_envcheck("--json", "--no-torch", "--timeout", str(timeout), env=fake_nvml(scenario))
    elapsed = time.monotonic() - start
    assert elapsed < timeout + 2, f"took {elapsed:.1f} s"
    report = report_of(proc)
    validate(report)
    nvml = next(p for p in report["facts"]["probes"] if p["name"] == "nvml")
    assert nvml["status"] == "timeout" and stage in nvml["detail"]
    check = checks_of(report)["driver.present"]
    assert check["status"] == "fail" and stage in check["summary"]
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr


def test_cpu_torch_on_a_gpu_host_fails_with_the_pip_command(fake_nvml):
    proc = run_envcheck("--json", env=fake_nvml("one_h100_r580"))
    report = report_of(proc)
    validate(report)
    torch = report["facts"]["torch"]
    assert torch["version"].endswith("+cpu") and torch["cuda"] is None
    check = checks_of(report)["torch.cuda_build"]
    assert check["status"] == "fail"
    assert any(
        "--index-url https://download.pytorch.org/whl/cu130" in c
        for c in check["remedy"]["commands"]
    )


def test_this_machine_reports_cpu_torch_and_no_gpu(tmp_path):
    """CI's real state: no NVIDIA driver, real CPU torch. A complete report, exit 1."""
    env = {**os.environ, "LD_LIBRARY_PATH": str(tmp_path)}
    proc = run_envcheck("--json", "--no-smoke", env=env)
    report = report_of(proc)
    validate(report)
    facts = report["facts"]
    if facts["driver"]["error_kind"] != "library_not_found":
        pytest.skip("this machine has an NVIDIA driver")
    assert facts["torch"]["version"].endswith("+cpu")
    assert facts["torch"]["cuda"] is None and facts["torch"]["cuda_available"] is False
    checks = checks_of(report)
    assert checks["driver.present"]["status"] == "fail"
    assert checks["torch.cuda_build"]["status"] == "skip"
    assert "CPU-only build" in checks["torch.cuda_build"]["summary"]
    assert proc.returncode == 1
    assert "NOT ready" in proc.stderr and "Traceback" not in proc.stderr


def test_judge_h200_fixture_says_ready():
    proc = run_envcheck("judge", H200)
    assert proc.returncode == 0, proc.stdout
    assert "ready" in proc.stdout and "NOT ready" not in proc.stdout


def test_judge_a_saved_report_again(tmp_path):
    saved = tmp_path / "report.json"
    saved.write_text(run_envcheck("judge", H200, "--json").stdout)
    proc = run_envcheck("judge", str(saved), "--json")
    assert proc.returncode == 0
    validate(report_of(proc))


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema": "something/9"}', "not an envcheck.facts/2"),
        ('{"schema": "envcheck.facts/1", "gpus": [{"index": "zero"}]}', "gpus[0].index"),
        ('{"schema": "envcheck.facts/1", "driverr": {}}', "unknown key 'driverr'"),
    ],
)
def test_judge_bad_input_is_one_line_and_exit_2(tmp_path, content, words):
    bad = tmp_path / "facts.json"
    bad.write_text(content)
    proc = run_envcheck("judge", str(bad))
    assert proc.returncode == 2
    assert words in proc.stderr and str(bad) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_judge_missing_file_is_exit_2(tmp_path):
    proc = run_envcheck("judge", str(tmp_path / "nope.json"))
    assert proc.returncode == 2 and "cannot read" in proc.stderr


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("gpu_count = 1\nflavour = 'x'\n", "unknown key 'flavour'"),
        ("gpu_count = 'one'\n", "key 'gpu_count' must be an integer"),
        ("require_nvcc = 1\n", "key 'require_nvcc' must be true or false"),
        ("gpu_count = [\n", "not valid TOML"),
        ('min_driver = "R580"\n', "key 'min_driver' must be a driver version"),
        ('cudnn_min = "v9.10"\n', "key 'cudnn_min' must be a cuDNN version"),
        ('cuda = "thirteen"\n', "key 'cuda' must be a CUDA version"),
        ('torch = "latest"\n', "key 'torch' must be a torch version"),
        ('arch = ["sm90"]\n', "key 'arch' must be architectures"),
        ("gpu_count = 100000\n", "key 'gpu_count' must be 0..4096"),
        (b'gpu_name = "H\xff100"\n', "not UTF-8"),
    ],
)
def test_bad_expectations_are_exit_2_naming_file_and_key(tmp_path, content, words):
    path = tmp_path / "expect.toml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    proc = run_envcheck("judge", H200, "--expect", str(path))
    assert proc.returncode == 2
    assert words in proc.stderr and str(path) in proc.stderr


def test_expectations_become_checks(tmp_path):
    path = tmp_path / "expect.toml"
    path.write_text('gpu_count = 2\ngpu_name = "H200"\ntorch = "2.11"\n')
    proc = run_envcheck("judge", H200, "--expect", str(path), "--json")
    report = report_of(proc)
    checks = checks_of(report)
    assert checks["expect.gpu_count"]["status"] == "fail"
    assert checks["expect.gpu_name"]["status"] == "pass"
    assert checks["expect.torch"]["status"] == "pass"
    assert report["expectations"] == {"gpu_count": 2, "gpu_name": "H200", "torch": "2.11"}
    assert proc.returncode == 1


def test_junit_has_one_testcase_per_check(tmp_path):
    out = tmp_path / "envcheck.xml"
    proc = run_envcheck("judge", H200, "--junit", str(out), "--json")
    report = report_of(proc)
    suite = ET.parse(out).getroot()
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c["id"] for c in report["checks"]]
    skipped = [c.get("name") for c in cases if c.find("skipped") is not None]
    assert skipped == [c["id"] for c in report["checks"] if c["status"] == "skip"]
    assert suite.get("failures") == "0"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--timeout", "-1"),
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--timeout", "1e400"),
        ("--torch-timeout", "1e9"),
    ],
)
def test_bad_option_value_is_exit_2(option, value):
    proc = run_envcheck(option, value)
    assert proc.returncode == 2 and option in proc.stderr
    assert "Traceback" not in proc.stderr


def test_deeply_nested_json_is_exit_2(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"schema": ' * 100_000 + "1" + "}" * 100_000)
    proc = run_envcheck("judge", str(path))
    assert proc.returncode == 2 and "nested too deeply" in proc.stderr


def test_an_endless_input_is_refused_past_the_cap():
    start = time.monotonic()
    proc = run_envcheck("judge", "/dev/zero")
    assert proc.returncode == 2 and "larger than 16 MiB" in proc.stderr
    assert time.monotonic() - start < 30


def test_save_facts_then_judge_gives_the_same_checks(tmp_path, fake_nvml):
    saved = tmp_path / "facts.json"
    env = fake_nvml("two_gpus")
    live = report_of(run_envcheck("--json", "--no-torch", "--save-facts", str(saved), env=env))
    again = report_of(run_envcheck("judge", str(saved), "--json"))
    assert live["checks"] == again["checks"]


def test_python_without_torch_is_reported_not_installed(tmp_path):
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    proc = run_envcheck("--json", "--python", str(venv / "bin" / "python"))
    report = report_of(proc)
    torch = report["facts"]["torch"]
    assert torch["error_kind"] == "not_installed" and torch["python"].startswith(str(venv))
    assert checks_of(report)["torch.cuda_build"]["status"] == "skip"


def test_torch_that_fails_to_import_a_cuda_library_is_not_ready(tmp_path):
    # A torch whose import fails the way a missing cuDNN makes it fail, run by a real
    # interpreter: "installed but broken" must fail torch.import, never read as "not installed".
    fake = tmp_path / "site" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise OSError('libcudnn.so.9: cannot open shared object file: No such file')\n"
    )
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH={tmp_path / "site"} exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    proc = run_envcheck("--json", "--no-smoke", "--python", str(python))
    report = report_of(proc)
    assert proc.returncode == 1
    assert report["facts"]["torch"]["error_kind"] == "import_failed"
    found = checks_of(report)["torch.import"]
    assert found["status"] == "fail" and "libcudnn.so.9" in found["summary"]
    assert "LD_LIBRARY_PATH" in found["remedy"]["text"]


def test_with_workloads_runs_digits_and_judges_it(tmp_path):
    env = {**os.environ, "LD_LIBRARY_PATH": str(tmp_path)}
    proc = run_envcheck("--json", "--no-smoke", "--with-workloads", env=env, timeout=600)
    report = report_of(proc)
    validate(report)
    (run,) = report["facts"]["workloads"]
    assert run["name"] == "digits" and run["error"] is None
    assert run["passed"] is True and run["rows"]
    assert all(r["device"] == "cpu" for r in run["rows"] if r["model"].startswith("skorch"))
    check = checks_of(report)["workload.digits"]
    assert check["status"] == "pass" and "rows trained on cpu" in check["summary"]


def test_run_from_the_repository_root_no_probe_crashes():
    # The checkout's docker/ folder must not shadow the Docker SDK in the probe children.
    proc = run_envcheck("--json", "--no-smoke", cwd=ROOT)
    report = report_of(proc)
    assert "crashed" not in proc.stderr
    assert all(
        p["status"] != "error" or "crashed" not in (p["detail"] or "")
        for p in report["facts"]["probes"]
    )


def test_probe_children_ignore_modules_in_the_callers_directory(tmp_path):
    for name in ("pynvml.py", "docker/__init__.py", "torch/__init__.py"):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_text("raise RuntimeError('shadowed by the current directory')\n")
    proc = run_envcheck("--json", "--no-smoke", cwd=tmp_path)
    report = report_of(proc)
    assert "shadowed" not in proc.stdout + proc.stderr
    assert report["facts"]["torch"]["version"].startswith("2.")  # the installed torch


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (probe children run in their own sessions)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_ends_the_run_and_every_probe_child_at_once(fake_nvml, sig, code):
    proc = subprocess.Popen(
        [sys.executable, "-m", "envcheck", "--timeout", "60", "--torch-timeout", "60"],
        env=fake_nvml("hang_init"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(_descendants(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)  # the NVML and torch probes are running (NVML hangs)
        time.sleep(0.5)
        children = _descendants(proc.pid)
        assert children, "no probe child started"
        start = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=10)
        assert time.monotonic() - start < 2.5
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err and "Aborted" not in err
    assert f"interrupted ({sig.name})" in err
    time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)], "a probe child outlived the run"


def test_top_level_help_lists_the_check_options():
    proc = run_envcheck("--help")
    assert proc.returncode == 0
    for option in ("--json", "--expect", "--junit", "--strict", "--timeout", "--save-facts"):
        assert option in proc.stdout
    assert "judge" in proc.stdout


def test_an_option_error_names_the_command_the_user_typed():
    proc = run_envcheck("--bogus")
    assert proc.returncode == 2
    assert "envcheck check" not in proc.stderr and "envcheck [OPTIONS]" in proc.stderr


def test_make_gpu_check_json_is_pure_json():
    # The README's own example: nothing but the report reaches stdout.
    proc = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "gpu-check", "ARGS=--json --no-torch"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 2), proc.stderr  # make turns envcheck's 1 into 2
    assert json.loads(proc.stdout)["schema"] == "envcheck.report/2"


def test_make_gpu_check_without_a_usable_python_says_what_to_install_and_creates_nothing(
    tmp_path,
):
    venv = tmp_path / "venv"
    proc = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "gpu-check",
         "PYTHON=/nonexistent/python3", f"VENV={venv}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stdout == ""
    ours = proc.stderr.splitlines()[0]
    assert ours.startswith("gpu-check: no python3 (3.10 or newer) here: ")
    assert "python3 envcheck.pyz" in ours  # the route that needs no venv
    assert not venv.exists()


def test_a_signal_during_the_workload_ends_it_and_leaves_no_temp_dir(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the workload's result folder lands here
    proc = subprocess.Popen(
        [sys.executable, "-m", "envcheck", "--no-smoke", "--timeout", "2", "--with-workloads"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(tmp_path.glob("envcheck-workload-*")):
            time.sleep(0.1)  # the probes are done and the workload child is training
        assert list(tmp_path.glob("envcheck-workload-*")), "the workload never started"
        time.sleep(1)
        children = _descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)], "the workload outlived the run"
    assert not list(tmp_path.glob("envcheck-workload-*")), "its temp dir was left behind"
