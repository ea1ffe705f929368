"""The pass/fail rules, as pure functions of a result's JSON."""

from __future__ import annotations

from workloads.digits.validation import validate


def record(**overrides):
    base = {
        "model": "skorch-fast",
        "library": "skorch",
        "neural": True,
        "device": "cuda:0",
        "scale": 1,
        "epochs": 20,
        "epochs_run": 20,
        "repeats": 3,
        "test_accuracy": 0.98,
        "error": None,
    }
    return {**base, **overrides}


def result(*records, device="cuda"):
    return {"options": {"device": device}, "records": list(records)}


def test_a_healthy_gpu_run_passes():
    assert validate(result(record())) == {"passed": True, "failures": []}


def test_a_neural_row_below_095_fails_with_its_value():
    failures = validate(result(record(test_accuracy=0.91)))["failures"]
    assert failures == ["skorch-fast x1: test accuracy 0.9100 is below 0.95 (worst of 3 fits)"]


def test_linear_rows_have_no_accuracy_threshold():
    linear = record(
        model="sk-linreg-onehot",
        library="scikit-learn",
        neural=False,
        epochs=None,
        epochs_run=None,
        device="cpu",
        test_accuracy=0.93,
    )
    assert validate(result(linear))["passed"]


def test_asking_for_cuda_and_running_on_the_cpu_fails():
    failures = validate(result(record(device="cpu")))["failures"]
    assert failures == ["skorch-fast x1: asked for cuda but the model ran on cpu"]


def test_the_cpu_rows_of_scikit_learn_are_fine_under_cuda():
    mlp = record(model="sk-mlp", library="scikit-learn", device="cpu")
    assert validate(result(mlp))["passed"]


def test_a_net_that_stopped_early_fails():
    failures = validate(result(record(model="sk-mlp", library="scikit-learn", epochs_run=12)))
    assert failures["failures"] == ["sk-mlp x1: trained 12 epochs, 20 were asked for"]


def test_a_crashed_row_and_an_empty_run_fail():
    crashed = validate(result(record(error="RuntimeError: boom", test_accuracy=None)))
    assert crashed["failures"] == ["skorch-fast x1: failed: RuntimeError: boom"]
    assert validate(result())["failures"] == ["no rows were run"]


def test_a_fast_path_that_fell_back_to_skorchs_loop_fails():
    outcome = validate(result(record(fit_path="skorch")))
    assert not outcome["passed"]
    assert "fell back to skorch's per-sample loop" in outcome["failures"][0]
    assert validate(result(record(fit_path="resident")))["passed"]
