"""The charts are chosen from the data: bars where each model has one point, lines where it has
several, and every figure names the machine and the device it ran on."""

from __future__ import annotations

import copy

import pytest
from matplotlib.container import BarContainer

from workloads.digits.plot import digits_figure, plot_fit_times
from workloads.train.plot import train_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _digits_record(model: str, scale: int, fit_s: float, accuracy: float, device: str) -> dict:
    return {
        "model": model,
        "scale": scale,
        "rows": 1257 * scale,
        "device": device,
        "fit_s": fit_s,
        "test_accuracy": accuracy,
        "error": None,
    }


def _digits_result(scales: tuple[int, ...]) -> dict:
    models = (
        ("skorch-ref", 4.0, 0.975, "cuda:0"),
        ("skorch-fast", 0.2, 0.98, "cuda:0"),
        ("sk-logreg", 0.05, 0.96, "cpu"),
    )
    return {
        "schema": "workloads.digits/1",
        "machine": {
            "gpu_name": "NVIDIA H200",
            "cpu_model": "AMD EPYC 9534",
            "threads": {"torch_intraop": 16},
        },
        "options": {"resolved_device": "cuda", "repeats": 3},
        "records": [
            _digits_record(model, scale, fit_s * scale, acc, device)
            for scale in scales
            for model, fit_s, acc, device in models
        ],
        "validation": {"passed": True, "failures": []},
    }


def _bar_containers(ax) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def test_one_scale_is_drawn_as_bars_of_fit_time_and_accuracy_per_model():
    fig = digits_figure(_digits_result((1,)))
    time_ax, acc_ax = fig.axes
    for ax in (time_ax, acc_ax):
        (bars,) = _bar_containers(ax)
        assert len(bars) == 3
        assert [t.get_text() for t in ax.get_xticklabels()] == [
            "skorch-ref",
            "skorch-fast",
            "sk-logreg",
        ]
        assert ax.get_xscale() == "linear"
    assert [b.get_height() for b in _bar_containers(time_ax)[0]] == [4.0, 0.2, 0.05]
    assert [b.get_height() for b in _bar_containers(acc_ax)[0]] == [0.975, 0.98, 0.96]
    # No per-model lines on the time axis: one point per model is not a curve.
    assert time_ax.get_lines() == []
    # 4 s against 0.05 s: linear bars would hide the fast rows.
    assert time_ax.get_yscale() == "log"


def test_bars_stay_linear_when_the_times_are_alike():
    result = _digits_result((1,))
    for r, fit_s in zip(result["records"], (0.3, 0.2, 0.1), strict=True):
        r["fit_s"] = fit_s
    time_ax, _ = digits_figure(result).axes
    assert time_ax.get_yscale() == "linear"


def test_several_scales_are_drawn_as_log_log_lines_one_per_model():
    fig = digits_figure(_digits_result((1, 10, 100)))
    time_ax, acc_ax = fig.axes
    assert _bar_containers(time_ax) == [] and _bar_containers(acc_ax) == []
    lines = time_ax.get_lines()
    assert [line.get_label() for line in lines] == ["skorch-ref", "skorch-fast", "sk-logreg"]
    for line in lines:
        assert list(line.get_xdata()) == [1257, 12570, 125700]
    assert (time_ax.get_xscale(), time_ax.get_yscale()) == ("log", "log")
    assert acc_ax.get_xscale() == "log"
    assert [t.get_text() for t in time_ax.get_xticklabels()] == ["1,257", "12,570", "125,700"]


@pytest.mark.parametrize("scales", [(1,), (1, 10)])
def test_the_digits_title_names_the_device_and_the_machine(scales):
    title = digits_figure(_digits_result(scales)).get_suptitle()
    assert "cuda (NVIDIA H200)" in title
    assert "AMD EPYC 9534" in title and "16 threads" in title
    assert "median of 3" in title


def test_a_cpu_run_is_titled_with_the_cpu_device():
    result = _digits_result((1,))
    result["machine"]["gpu_name"] = None
    result["options"]["resolved_device"] = "cpu"
    title = digits_figure(result).get_suptitle()
    assert "\ncpu, AMD EPYC 9534, 16 threads" in title


def test_a_failed_row_has_no_bar_and_no_point():
    result = _digits_result((1,))
    result["records"][0].update(fit_s=None, test_accuracy=None, error="RuntimeError: boom")
    time_ax, acc_ax = digits_figure(result).axes
    assert len(_bar_containers(time_ax)[0]) == 2
    assert len(_bar_containers(acc_ax)[0]) == 2


def test_the_digits_plot_is_written_as_png(tmp_path):
    path = plot_fit_times(_digits_result((1,)), tmp_path / "fit.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def _train_result(epochs: int, task: str = "classification") -> dict:
    def record(model: str, device: str, losses: list[float]) -> dict:
        return {
            "model": model,
            "device": device,
            "epoch_losses": losses,
            "samples_per_s": 1000.0 if device == "cpu" else 50000.0,
            "test_accuracy": 0.97 if task == "classification" else None,
            "r2": 0.9 if task == "regression" else None,
            "error": None,
        }

    losses = [1.0 / (e + 1) for e in range(epochs)]
    return {
        "schema": "workloads.train/1",
        "machine": {
            "gpu_name": "NVIDIA H200",
            "cpu_model": "AMD EPYC 9534",
            "threads": {"torch_intraop": 16},
        },
        "options": {"resolved_device": "cuda", "resolved_epochs": epochs},
        "dataset": {"name": "mnist", "task": task, "train_rows": 60000},
        "records": [record("skorch", "cuda:0", losses), record("sk-mlp", "cpu", list(losses))],
        "validation": {"passed": True, "failures": []},
    }


def test_several_epochs_draw_loss_curves_beside_throughput_bars():
    learn_ax, speed_ax = train_figure(_train_result(5)).axes
    assert [line.get_label() for line in learn_ax.get_lines()] == ["skorch", "sk-mlp"]
    assert all(len(line.get_xdata()) == 5 for line in learn_ax.get_lines())
    assert _bar_containers(learn_ax) == []
    (bars,) = _bar_containers(speed_ax)
    assert [b.get_height() for b in bars] == [50000.0, 1000.0]


def test_one_epoch_draws_the_scores_as_bars_not_lone_dots():
    learn_ax, _ = train_figure(_train_result(1)).axes
    assert learn_ax.get_lines() == []
    (bars,) = _bar_containers(learn_ax)
    assert [b.get_height() for b in bars] == [0.97, 0.97]
    assert learn_ax.get_ylabel() == "test accuracy"


def test_a_closed_form_regression_draws_r2_bars():
    result = _train_result(1, task="regression")
    result["records"][1].update(model="sk-linreg", epoch_losses=[])
    learn_ax, _ = train_figure(result).axes
    (bars,) = _bar_containers(learn_ax)
    assert [b.get_height() for b in bars] == [0.9, 0.9]
    assert learn_ax.get_ylabel() == "R²"


def test_the_train_title_names_the_data_the_device_and_the_machine():
    title = train_figure(_train_result(5)).get_suptitle()
    assert "mnist: 60,000 training rows, 5 epochs" in title
    assert "cuda (NVIDIA H200), AMD EPYC 9534, 16 threads" in title


def test_drawing_leaves_the_result_unchanged():
    result = _digits_result((1, 10))
    before = copy.deepcopy(result)
    digits_figure(result)
    assert result == before
