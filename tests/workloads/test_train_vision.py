"""MNIST, Fashion-MNIST and CIFAR-10 read by torchvision from tiny real-format files.

Run with torchvision (``.venv-vision/bin/python -m pytest -q -m vision tests/workloads``); where it
does not import (the CPU torch of the main venv has no matching build), these skip, and
``test_train_synthetic`` checks the message users get there instead.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.workloads.cli_run import run_cli
from tests.workloads.datafiles import banded_images, write_cifar10, write_mnist
from tests.workloads.train_cli import error_lines, invoke, run_json
from workloads.train.data import load_dataset


def _torchvision_problem() -> str | None:
    try:
        import torchvision.datasets  # noqa: F401
    except Exception as exc:  # ImportError, or a build made for another torch
        return f"torchvision does not import here ({type(exc).__name__}); use .venv-vision"
    return None


PROBLEM = _torchvision_problem()
pytestmark = [pytest.mark.vision, pytest.mark.skipif(PROBLEM is not None, reason=PROBLEM or "")]


@pytest.fixture
def cifar_root(tmp_path, monkeypatch):
    """Tiny CIFAR-10 batches, and torchvision told their MD5s instead of the real set's.

    Only the expected checksums change: torchvision still checks every file against them, then
    unpickles the batches and the label names itself.
    """
    import torchvision.datasets

    md5 = write_cifar10(tmp_path)
    cls = torchvision.datasets.CIFAR10
    monkeypatch.setattr(
        cls, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)]
    )
    monkeypatch.setattr(cls, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(cls, "meta", {**cls.meta, "md5": md5["batches.meta"]})
    return tmp_path


@pytest.mark.parametrize(
    ("dataset", "folder"), [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")]
)
def test_mnist_style_sets_train_through_the_cli_from_idx_files(tmp_path, dataset, folder):
    write_mnist(tmp_path, folder)
    out = tmp_path / "r.json"
    proc = run_cli(
        "train", "--dataset", dataset, "--data-dir", str(tmp_path), "--device", "cpu",
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    ds = result["dataset"]
    assert ds["reader"] == f"torchvision.datasets.{folder}"
    assert ds["location"] == str(tmp_path / folder / "raw")
    assert (ds["sample_shape"], ds["n_classes"]) == ([1, 28, 28], 10)
    assert (ds["train_rows"], ds["test_rows"]) == (200, 100)
    skorch = result["records"][0]
    assert skorch["net"] == "mlp" and skorch["placement"]["where"] == "device"
    assert skorch["test_accuracy"] >= 0.2


def test_the_pixels_arrive_as_written_rows_first_channels_first(tmp_path, cifar_root):
    write_mnist(tmp_path)
    mnist = load_dataset("mnist", data_dir=tmp_path)
    images, labels = banded_images(200, 1, 28, seed=1)
    np.testing.assert_array_equal(mnist.X_train, images.reshape(200, -1))
    np.testing.assert_array_equal(mnist.y_train, labels)
    cifar = load_dataset("cifar10", data_dir=cifar_root)
    first, first_labels = banded_images(40, 3, 32, seed=11)  # data_batch_1
    np.testing.assert_array_equal(cifar.X_train[:40], first.reshape(40, -1))
    np.testing.assert_array_equal(cifar.y_train[:40], first_labels)
    assert cifar.sample_shape == (3, 32, 32) and len(cifar.X_train) == 200


def test_cifar10_trains_the_cnn_through_the_cli(tmp_path, cifar_root):
    result, data = run_json(
        tmp_path, "--dataset", "cifar10", "--data-dir", str(cifar_root), "--device", "cpu",
        "--epochs", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    skorch, sk = data["records"]
    assert skorch["net"] == "cnn" and skorch["estimator"].endswith("FastNeuralNetClassifier")
    assert sk["model"] == "sk-mlp"
    assert data["dataset"]["sample_shape"] == [3, 32, 32]
    assert skorch["test_accuracy"] >= 0.2


def test_over_the_memory_budget_the_set_streams_through_a_dataloader(tmp_path):
    write_mnist(tmp_path)
    result, data = run_json(
        tmp_path, "--dataset", "mnist", "--data-dir", str(tmp_path), "--device", "cpu",
        "--memory-budget", "0", "--workers", "1", "--epochs", "2", "--net", "cnn",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    skorch = data["records"][0]
    assert skorch["estimator"] == "skorch.classifier.NeuralNetClassifier"
    assert skorch["placement"] == {
        "where": "loader",
        "data_bytes": 200 * (784 * 4 + 8),
        "budget_bytes": 0,
        "budget_source": "--memory-budget",
        "workers": 1,
        "pin_memory": False,  # pinning only helps copies to a GPU
    }
    assert skorch["samples_per_s"] > 0 and skorch["epochs_run"] == 2
    assert "loader 1w" in result.stdout


def test_no_data_and_no_download_names_the_folder_and_the_fetch_command(tmp_path):
    proc = run_cli("train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--device", "cpu")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        f"Error: mnist: no data in {tmp_path}/MNIST/raw (missing train-images-idx3-ubyte, "
        "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte); fetch it "
        f"with: workloads train --dataset mnist --data-dir {tmp_path} --download"
    )
    assert not (tmp_path / "MNIST").exists()  # nothing was fetched or created


def test_damaged_cifar_files_are_named_not_reported_missing(tmp_path):
    write_cifar10(tmp_path)  # real layout, but not the real set's checksums
    result = invoke("--dataset", "cifar10", "--data-dir", str(tmp_path), "--device", "cpu")
    assert result.exit_code == 2
    (error,) = error_lines(result)
    assert f"torchvision could not read the files in {tmp_path}/cifar-10-batches-py" in error
    assert "Dataset not found or corrupted" in error and "--download" in error
