"""The pass/fail rules of ``workloads train``, as pure functions of a result's JSON."""

from __future__ import annotations

import pytest

from workloads.train.validation import linear_tolerance, validate_train


def rec(**overrides):
    base = {
        "model": "skorch",
        "library": "skorch",
        "device": "cpu",
        "epochs": 5,
        "epochs_run": 5,
        "epoch_losses": [1.0, 0.5, 0.4, 0.3, 0.2],
        "test_accuracy": 0.97,
        "r2": None,
        "slope": None,
        "intercept": None,
        "error": None,
    }
    return {**base, **overrides}


def result(name, *records, device="cpu", **dataset):
    ds = {"name": name, "task": "classification", "n_classes": 10, "train_rows": 60000}
    return {"options": {"device": device}, "dataset": {**ds, **dataset}, "records": list(records)}


def failures(res):
    return validate_train(res)["failures"]


def test_full_mnist_is_held_to_095_and_a_partial_one_to_twice_chance():
    assert failures(result("mnist", rec(test_accuracy=0.94))) == [
        "skorch: test accuracy 0.9400 is below 0.95 (full training set)"
    ]
    partial = result("mnist", rec(test_accuracy=0.3), train_rows=200)
    assert failures(partial) == []
    assert failures(result("cifar10", rec(test_accuracy=0.15), train_rows=200)) == [
        "skorch: test accuracy 0.1500 is below 0.2 (twice chance, on a partial training set)"
    ]


def test_the_scikit_learn_row_is_a_reference_for_image_sets_not_judged():
    sk = rec(model="sk-mlp", library="scikit-learn", test_accuracy=0.5)
    assert failures(result("fashion-mnist", rec(test_accuracy=0.85), sk)) == []


@pytest.mark.parametrize(
    ("rows", "slope", "passed"),
    [(1000, 3.29, True), (1000, 3.31, False), (250, 3.59, True), (250, 3.61, False)],
)
def test_the_linear_band_is_03_at_1000_rows_and_widens_as_one_over_root_rows(rows, slope, passed):
    assert linear_tolerance(1000) == pytest.approx(0.3)
    assert linear_tolerance(250) == pytest.approx(0.6)
    truth = {"slope": 3.0, "intercept": 2.0, "noise_sd": 1.0}
    r = rec(test_accuracy=None, slope=slope, intercept=2.0, r2=0.4)
    res = result("synthetic-linear", r, task="regression", train_rows=rows, truth=truth)
    assert validate_train(res)["passed"] is passed


def test_the_classification_set_needs_09_from_every_row():
    sk = rec(model="sk-mlp", library="scikit-learn", test_accuracy=0.88)
    assert failures(result("synthetic-classification", rec(), sk, train_rows=1000)) == [
        "sk-mlp: test accuracy 0.8800 is below 0.9 (the set is linearly separable)"
    ]


def test_a_file_must_beat_the_commonest_class_or_the_mean():
    clf = result("file", rec(test_accuracy=0.7), majority_share=0.7, train_rows=80)
    assert failures(clf) == [
        "skorch: test accuracy 0.7000 does not beat always answering the commonest class (0.7000)"
    ]
    reg = result("file", rec(test_accuracy=None, r2=-0.1), task="regression", train_rows=80)
    assert failures(reg) == ["skorch: R² -0.1000 does not beat predicting the mean (0)"]


def test_nan_losses_short_training_a_cpu_fallback_and_a_crash_all_fail():
    assert failures(result("mnist", rec(epoch_losses=[1.0, None]))) == [
        "skorch: the training loss became NaN or infinite"
    ]
    assert failures(result("mnist", rec(epochs_run=3))) == [
        "skorch: trained 3 epochs, 5 were asked for"
    ]
    assert failures(result("mnist", rec(), device="cuda")) == [
        "skorch: asked for cuda but the model ran on cpu"
    ]
    assert failures(result("mnist", rec(error="RuntimeError: boom"))) == [
        "skorch: failed: RuntimeError: boom"
    ]
    assert failures(result("mnist")) == ["no rows were run"]


def test_the_digits_mlp_shape_is_kept_when_sized_to_the_data():
    from workloads.networks import DigitsNet

    sized = DigitsNet(in_features=784, n_outputs=3).state_dict()
    shapes = {k: tuple(v.shape) for k, v in sized.items()}
    assert shapes["dense0.weight"] == (256, 784) and shapes["output.weight"] == (3, 64)
    assert shapes["dense1.weight"] == (128, 256) and shapes["dense2.weight"] == (64, 128)
    assert type(DigitsNet(softmax=False).softmax).__name__ == "Identity"
