"""``workloads train`` on the seed's generated sets: the truth is known, so it is checked."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from importlib import resources

import jsonschema
import matplotlib.image
import pytest

from tests.workloads.cli_run import run_cli
from tests.workloads.train_cli import error_lines, invoke, run_json
from workloads import TRAIN_SCHEMA

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory):
    """The linear set at its default size through the real CLI in a fresh interpreter."""
    out = tmp_path_factory.mktemp("linear") / "linear.json"
    proc = run_cli("train", "--dataset", "synthetic-linear", "--device", "cpu", "--json", str(out))
    return proc, json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema():
    text = resources.files("workloads").joinpath("schemas/train-1.json").read_text("utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def test_the_linear_set_recovers_slope_3_and_intercept_2(linear_run):
    proc, result = linear_run
    assert proc.returncode == 0, proc.stderr
    rows = {r["model"]: r for r in result["records"]}
    assert rows["skorch"]["estimator"] == "skorch.regressor.NeuralNetRegressor"
    assert rows["sk-linreg"]["estimator"].endswith(".LinearRegression")
    for r in rows.values():
        assert r["slope"] == pytest.approx(3.0, abs=0.3), r["model"]
        assert r["intercept"] == pytest.approx(2.0, abs=0.3), r["model"]
    # The net found the least-squares line, not merely one near the truth.
    assert rows["skorch"]["slope"] == pytest.approx(rows["sk-linreg"]["slope"], abs=0.1)
    assert rows["skorch"]["r2"] == pytest.approx(rows["sk-linreg"]["r2"], abs=0.01)
    assert "true slope 3, intercept 2" in " ".join(proc.stdout.split())
    assert "validation passed" in proc.stdout


def test_real_output_validates_against_the_shipped_schema(linear_run, schema):
    _, result = linear_run
    assert result["schema"] == TRAIN_SCHEMA == "workloads.train/1"
    jsonschema.validate(result, schema)
    other = copy.deepcopy(result)
    other["schema"] = "workloads.train/2"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(other, schema)
    with_host = copy.deepcopy(result)
    with_host["machine"]["hostname"] = "gpu-node-17"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(with_host, schema)
    missing = copy.deepcopy(result)
    del missing["records"][0]["samples_per_s"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(missing, schema)


def test_the_classification_set_is_learned_to_high_accuracy(tmp_path, schema):
    result, data = run_json(tmp_path, "--dataset", "synthetic-classification", "--device", "cpu")
    assert result.exit_code == 0, result.output
    jsonschema.validate(data, schema)
    rows = {r["model"]: r for r in data["records"]}
    assert set(rows) == {"skorch", "sk-mlp"}
    assert rows["skorch"]["test_accuracy"] >= 0.95
    assert rows["sk-mlp"]["test_accuracy"] >= 0.9
    # 1000 rows fit the memory budget: the whole set sat on the device (the fast path).
    assert rows["skorch"]["placement"]["where"] == "device"
    assert rows["skorch"]["epochs_run"] == 20 == len(rows["skorch"]["epoch_losses"])
    assert rows["skorch"]["samples_per_s"] > 0


def test_a_fit_that_misses_the_truth_exits_1_and_says_why(tmp_path):
    result, data = run_json(
        tmp_path, "--dataset", "synthetic-linear", "--device", "cpu", "--epochs", "1"
    )
    assert result.exit_code == 1
    assert "validation failed" in result.stdout
    assert any(f.startswith("skorch: fitted slope") for f in data["validation"]["failures"])
    # LinearRegression has no epochs; it still finds the line.
    assert not any(f.startswith("sk-linreg") for f in data["validation"]["failures"])


def test_json_to_stdout_stays_pure_and_the_plot_is_a_png(tmp_path):
    plot = tmp_path / "train.png"
    args = ("--dataset", "synthetic-linear", "--limit", "200", "--device", "cpu")
    result = invoke(*args, "--json", "-", "--plot", str(plot))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dataset"]["train_rows"] == 200 and data["dataset"]["test_rows"] == 200
    assert "sk-linreg" in result.stderr and "validation passed" in result.stderr
    assert "\x1b[" not in result.stderr
    assert plot.read_bytes()[:8] == PNG_SIGNATURE
    pixels = matplotlib.image.imread(plot)
    assert pixels.ndim == 3 and pixels.shape[1] > 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--dataset", "imagenet"), "unknown data set 'imagenet'"),
        (("--dataset", "file:"), "give the file's path after 'file:'"),
        (("--dataset", "synthetic-linear", "--net", "cnn"), "--net cnn: needs an image data set"),
        (("--dataset", "synthetic-classification", "--net", "linear"), "--net linear"),
        (("--dataset", "synthetic-linear", "--target", "y"), "--target names a CSV column"),
        (("--dataset", "synthetic-linear", "--task", "classification"), "is a regression set"),
        (("--dataset", "synthetic-linear", "--epochs", "0"), "--epochs"),
        (("--dataset", "synthetic-linear", "--limit", "1"), "at least 2 rows"),
        (("--dataset", "synthetic-linear", "--plot", "x.svg"), "give a .png file"),
    ],
)
def test_bad_options_exit_2_with_one_clear_line(args, message):
    result = invoke(*args, "--device", "cpu")
    assert result.exit_code == 2
    errors = error_lines(result)
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "validation" not in result.output  # nothing trained


def test_the_dataset_code_does_not_import_torchvision_and_envcheck_none_of_it():
    code = (
        "import sys, envcheck.cli, workloads.cli, workloads.train.data, workloads.train.run; "
        "print('torchvision' in sys.modules, 'torch' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    # train.run needs torch (it trains); torchvision only when a torchvision set is read.
    assert proc.stdout.split() == ["False", "True"]
    code = "import sys, envcheck.cli; print('torch' in sys.modules, 'workloads' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.split() == ["False", "False"]


def _torchvision_imports() -> bool:
    try:
        import torchvision.datasets  # noqa: F401
    except Exception:
        return False
    return True


@pytest.mark.skipif(_torchvision_imports(), reason="torchvision imports here")
def test_without_torchvision_an_image_set_is_one_line_saying_so(tmp_path):
    result = invoke("--dataset", "mnist", "--data-dir", str(tmp_path), "--device", "cpu")
    assert result.exit_code == 2
    (error,) = error_lines(result)
    assert "--dataset mnist reads its files with torchvision, which does not import here" in error
