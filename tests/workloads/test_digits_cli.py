"""``python -m workloads digits``: exit codes, output streams and the plot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.workloads.cli_run import run_cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAST = ("--scales", "1", "--repeats", "1", "--device", "cpu")


def test_a_passing_run_exits_0(x1_run):
    proc, _ = x1_run
    assert proc.returncode == 0, proc.stderr
    assert "validation passed" in proc.stdout
    assert "skorch-fast" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scales", "1,x"), "is not a comma-separated list of integers"),
        (("--scales", "0,10"), "scales must be positive integers"),
        (("--scales", "-1"), "scales must be positive integers"),
        (("--scales", ""), "is not a comma-separated list of integers"),
        (("--scales", "10,10"), "a scale is repeated"),
        (("--scales", "99999999999"), "more rows than this machine's memory holds"),
        (("--models", "skorch-ref,xgboost"), "unknown model 'xgboost'"),
        (("--device", "tpu"), "'tpu' is not one of"),
        (("--repeats", "0"), "--repeats"),
        (("--epochs", "0"), "--epochs"),
        (("--plot", "fit.svg"), "give a .png file"),
        (("--json", "/nonexistent-dir/out.json"), "does not exist"),
    ],
)
def test_bad_options_exit_2_with_one_clear_line(args, message):
    proc = run_cli("digits", *args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_a_gpu_exits_2():
    proc = run_cli("digits", "--device", "cuda", "--scales", "1")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "Error: --device cuda: no CUDA device is available" in proc.stderr


def test_a_run_below_the_accuracy_threshold_exits_1_and_says_why(tmp_path):
    out = tmp_path / "r.json"
    proc = run_cli("digits", *FAST, "--models", "skorch-fast", "--epochs", "1", "--json", str(out))
    assert proc.returncode == 1
    assert "validation failed" in proc.stdout
    result = json.loads(out.read_text())
    assert result["validation"]["passed"] is False
    assert result["validation"]["failures"][0].startswith("skorch-fast x1: test accuracy")


def test_json_to_stdout_leaves_stdout_pure_json_and_the_table_on_stderr(tmp_path):
    plot = tmp_path / "fit.png"
    args = ("--models", "sk-logreg,sk-linreg-onehot", "--json", "-", "--plot", str(plot))
    proc = run_cli("digits", *FAST, *args)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [r["model"] for r in result["records"]] == ["sk-logreg", "sk-linreg-onehot"]
    assert "sk-linreg-onehot" in proc.stderr and "validation passed" in proc.stderr
    assert "\x1b[" not in proc.stderr  # NO_COLOR and a pipe: no escape codes


def test_the_plot_is_a_valid_png(tmp_path):
    import matplotlib.image

    plot = tmp_path / "fit.png"
    args = (
        "--scales",
        "1,2",
        "--repeats",
        "1",
        "--models",
        "sk-linreg-onehot",
        "--plot",
        str(plot),
    )
    proc = run_cli("digits", *args)
    assert proc.returncode == 0, proc.stderr
    assert plot.read_bytes()[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(plot)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_help_lists_every_model_and_the_exit_codes():
    from workloads.digits.models import MODEL_NAMES

    proc = run_cli("digits", "--help")
    assert proc.returncode == 0
    for name in MODEL_NAMES:
        assert name in proc.stdout
    assert "2 bad options" in proc.stdout


def test_importing_the_package_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, workloads, workloads.cli; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "False"


def test_ctrl_c_stops_training_at_once_and_writes_no_result(tmp_path):
    out = tmp_path / "digits.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "workloads", "digits", "--scales", "1,10,100", "--device", "cpu",
         "--json", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    try:
        time.sleep(8)  # torch imported, training under way
        assert proc.poll() is None, "finished before the signal: make the run longer"
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        stopped = time.monotonic() - start
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert stopped < 3, f"took {stopped:.1f} s to stop"
    assert "no result written" in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--dataset", "nope"], "unknown data set 'nope'"),
        (["train", "--dataset", "file:/nowhere/data.csv"], "no such file"),
        (["digits", "--models", "xgboost"], "unknown model 'xgboost'"),
    ],
)
def test_bad_arguments_are_rejected_before_torch_is_imported(args, message):
    code = (
        "import sys\n"
        "from workloads.cli import main\n"
        "try:\n"
        f"    main({args!r}, prog_name='workloads')\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code, 'torch' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.stdout.strip() == "exit 2 False", proc.stdout + proc.stderr
    assert message in proc.stderr
