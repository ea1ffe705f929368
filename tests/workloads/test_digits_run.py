"""The seed tutorial's bug cannot come back: every row fits, predicts and reports its own model."""

from __future__ import annotations

from dataclasses import replace

from workloads.digits.models import MODELS
from workloads.digits.run import DigitsOptions, run_digits

TINY = DigitsOptions(scales=(1,), device="cpu", repeats=2, epochs=1, threads=1)


def test_two_rows_sharing_one_estimator_object_fail_the_run():
    shared = MODELS["sk-linreg-onehot"].build(None)
    first = replace(MODELS["sk-linreg-onehot"], name="first", build=lambda s: shared)
    second = replace(MODELS["sk-linreg-onehot"], name="second", build=lambda s: shared)
    result = run_digits(replace(TINY, repeats=1), specs=[first, second])
    first_rec, second_rec = result["records"]
    assert first_rec["error"] is None
    assert "already fitted for first x1" in second_rec["error"]
    assert not result["validation"]["passed"]
    assert any(f.startswith("second x1: failed") for f in result["validation"]["failures"])


def test_a_builder_reusing_its_object_across_repeats_fails_the_row():
    shared = MODELS["sk-logreg"].build(None)
    spec = replace(MODELS["sk-logreg"], build=lambda s: shared)
    (record,) = run_digits(TINY, specs=[spec])["records"]
    assert "already fitted" in record["error"]
    assert record["test_accuracy"] is None


def test_a_row_whose_reported_model_is_not_the_fitted_one_fails():
    # The seed's mistake in miniature: a "LinearRegression" row that really fits the net.
    liar = replace(MODELS["sk-linreg-onehot"], build=MODELS["skorch-fast"].build)
    (record,) = run_digits(TINY, specs=[liar])["records"]
    assert "FastNeuralNetClassifier" in record["error"]
    assert "declared as OneHotLinearRegression" in record["error"]
    assert record["fit_s"] is None


def test_each_record_names_the_class_that_was_fitted(x1_run):
    _, result = x1_run
    expected = {
        "skorch-ref": "skorch.classifier.NeuralNetClassifier",
        "skorch-fast": "workloads.skorch_fast.FastNeuralNetClassifier",
        "torch-loop": "workloads.digits.torch_loop.TorchLoopClassifier",
        "sk-mlp": "MLPClassifier",
        "sk-logreg": "LogisticRegression",
        "sk-linreg-onehot": "workloads.digits.onehot_linear.OneHotLinearRegression",
    }
    got = {r["model"]: r["estimator"] for r in result["records"]}
    assert set(got) == set(expected)
    for model, cls in expected.items():
        assert got[model].endswith(cls), (model, got[model])
    # Distinct rows, distinct models: no two rows report the same estimator class.
    assert len(set(got.values())) == len(got)


def test_every_row_is_timed_and_scored_on_its_own(x1_run):
    _, result = x1_run
    for r in result["records"]:
        assert r["error"] is None
        assert r["rows"] == 1257 and r["test_rows"] == 540
        assert len(r["fit_s_all"]) == len(r["predict_s_all"]) == len(r["accuracy_all"]) == 1
        assert r["fit_s"] > 0 and r["predict_s"] > 0
    accuracies = {r["model"]: r["test_accuracy"] for r in result["records"]}
    # LinearRegression on one-hot targets is a different model from the nets: it must not score
    # like them (the seed's table showed the net's accuracy in its "LinearRegression" rows).
    assert accuracies["sk-linreg-onehot"] < accuracies["skorch-fast"]


def test_neural_rows_reach_the_thresholds_at_x1(x1_run):
    _, result = x1_run
    by_model = {r["model"]: r for r in result["records"]}
    for model in ("skorch-ref", "skorch-fast", "torch-loop", "sk-mlp"):
        assert by_model[model]["test_accuracy"] >= 0.95, model
        assert by_model[model]["epochs_run"] == 20, model
    assert by_model["skorch-fast"]["test_accuracy"] >= 0.97
    assert result["validation"] == {"passed": True, "failures": []}


def test_threads_are_pinned_and_recorded():
    result = run_digits(replace(TINY, repeats=1, models=("sk-linreg-onehot",)))
    threads = result["machine"]["threads"]
    assert threads["requested"] == 1 and threads["torch_intraop"] == 1
    assert all(pool["threads"] == 1 for pool in threads["pools"])
    assert result["options"]["threads"] == 1
