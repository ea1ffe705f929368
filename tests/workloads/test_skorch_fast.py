"""The skorch fast path is still a scikit-learn estimator, and trains on every row per epoch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetClassifier
from skorch.dataset import ValidSplit

from workloads.networks import DigitsNet
from workloads.skorch_fast import (
    FastNeuralNetClassifier,
    ResidentTrainer,
    build_optimizer,
    graphs_possible,
    rand_dropout_masks,
    speed_options,
)


def fast_net(**kwargs) -> FastNeuralNetClassifier:
    params = {
        "max_epochs": 2,
        "lr": 5e-4,
        "optimizer": torch.optim.AdamW,
        "optimizer__weight_decay": 1e-3,
        "batch_size": 128,
        "device": "cpu",
        "verbose": 0,
        **kwargs,
    }
    return FastNeuralNetClassifier(DigitsNet, **params)


def test_fast_path_is_a_skorch_classifier_with_no_internal_split():
    net = fast_net()
    assert isinstance(net, NeuralNetClassifier)
    assert net.train_split is None


def test_clone_keeps_every_parameter_including_the_fast_path_switches():
    net = fast_net(cuda_graphs=False, shuffle=False, max_epochs=3)
    twin = clone(net)
    assert twin is not net
    assert type(twin) is FastNeuralNetClassifier
    params, twin_params = net.get_params(deep=False), twin.get_params(deep=False)
    assert twin_params["cuda_graphs"] is False
    assert twin_params["shuffle"] is False
    assert twin_params["max_epochs"] == 3
    assert twin_params["optimizer__weight_decay"] == params["optimizer__weight_decay"]


def test_set_params_changes_what_fit_does(digits):
    net = fast_net().set_params(max_epochs=3, cuda_graphs=False)
    assert net.get_params()["cuda_graphs"] is False
    net.fit(digits.X_train, digits.y_train)
    assert len(net.history) == 3


def test_fit_predict_proba_and_score(digits):
    net = fast_net(max_epochs=5).fit(digits.X_train, digits.y_train)
    assert net.fit_path_ == "resident"  # not skorch's per-sample DataLoader loop
    proba = net.predict_proba(digits.X_test)
    assert proba.shape == (len(digits.X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert np.array_equal(net.predict(digits.X_test), proba.argmax(axis=1))
    assert net.score(digits.X_test, digits.y_test) > 0.8
    # The stock callbacks still see one training loss per epoch.
    losses = net.history[:, "train_loss"]
    assert len(losses) == 5 and losses[-1] < losses[0]


def test_works_inside_a_pipeline_with_float64_from_a_scaler(digits):
    pipe = Pipeline([("scale", StandardScaler()), ("net", fast_net(max_epochs=5))])
    pipe.fit(digits.X_train, digits.y_train)  # StandardScaler hands over float64
    assert pipe.named_steps["net"].fit_path_ == "resident"
    assert pipe.score(digits.X_test, digits.y_test) > 0.8


def test_grid_search_clones_fits_and_refits(digits):
    search = GridSearchCV(fast_net(), {"max_epochs": [1, 4]}, cv=2, scoring="accuracy")
    search.fit(digits.X_train, digits.y_train)
    assert search.best_params_ == {"max_epochs": 4}
    assert isinstance(search.best_estimator_, FastNeuralNetClassifier)
    assert search.best_estimator_.fit_path_ == "resident"
    assert len(search.best_estimator_.history) == 4
    assert search.score(digits.X_test, digits.y_test) > 0.8


def test_with_a_validation_split_it_falls_back_to_the_stock_skorch_loop(digits):
    net = fast_net(train_split=ValidSplit(5, stratified=True)).fit(digits.X_train, digits.y_train)
    assert "valid_loss" in net.history[-1]
    assert net.fit_path_ == "skorch"


def test_fast_path_reaches_the_reference_accuracy_at_x1(digits):
    torch.manual_seed(0)
    net = fast_net(max_epochs=20).fit(digits.X_train, digits.y_train)
    assert net.score(digits.X_test, digits.y_test) >= 0.97


class _RecordingNet(torch.nn.Module):
    """Remembers which rows (feature 0 holds the row id) each training batch contained."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(1, 2)
        self.seen: list[torch.Tensor] = []

    def forward(self, X):
        self.seen.append(X[:, 0].detach().clone())
        return self.linear(X)


@pytest.mark.parametrize("shuffle", [True, False])
def test_each_epoch_trains_on_every_row_exactly_once_in_batches(shuffle):
    n, batch = 300, 128  # two full batches and a short one
    X = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    y = torch.zeros(n, dtype=torch.long)
    module = _RecordingNet()
    opt = torch.optim.SGD(module.parameters(), lr=0.0)
    trainer = ResidentTrainer(
        module,
        opt,
        torch.nn.functional.cross_entropy,
        X,
        y,
        batch_size=batch,
        shuffle=shuffle,
    )
    for _ in range(2):
        module.seen.clear()
        loss = trainer.run_epoch()
        assert [len(b) for b in module.seen] == [128, 128, 44]
        rows = torch.cat(module.seen).long()
        assert sorted(rows.tolist()) == list(range(n))
        assert torch.isfinite(loss)
    if not shuffle:
        assert rows.tolist() == list(range(n))


def test_cuda_graphs_are_never_attempted_on_the_cpu():
    module = DigitsNet()
    opt = build_optimizer(torch.optim.AdamW, module.parameters(), "cpu", True, lr=1e-3)
    assert not graphs_possible("cpu", opt)


def test_speed_switches_are_implementation_only_and_the_user_wins():
    assert speed_options(torch.optim.AdamW, "cpu", graphs=True) == {"fused": True}
    assert speed_options(torch.optim.AdamW, "cuda", graphs=True) == {"capturable": True}
    assert speed_options(torch.optim.AdamW, "cuda", graphs=False) == {}
    module = DigitsNet()
    opt = build_optimizer(torch.optim.AdamW, module.parameters(), "cpu", True, lr=1e-3)
    assert opt.defaults["fused"] is True and opt.defaults["lr"] == 1e-3
    opt = build_optimizer(torch.optim.AdamW, module.parameters(), "cpu", True, fused=False)
    assert opt.defaults["fused"] is False
    # An optimizer without the switch is built plainly.
    opt = build_optimizer(torch.optim.Adagrad, module.parameters(), "cpu", True, lr=1e-2)
    assert isinstance(opt, torch.optim.Adagrad)


def test_rand_dropout_masks_draw_the_stock_distribution_and_scale():
    torch.manual_seed(0)
    drop = torch.nn.Dropout(0.3)
    x = torch.ones(1000, 1000, requires_grad=True)
    with rand_dropout_masks(drop, torch.device("cpu")):
        assert "forward" in drop.__dict__
        out = drop(x)
        kept = out != 0
        # Every element is either dropped or scaled by 1 / (1 - p), as torch's dropout does.
        assert torch.equal(out[kept], torch.full_like(out[kept], 1 / 0.7))
        # 10^6 draws: the kept share's standard deviation is 0.00046, this is over 6 of them.
        assert abs(kept.float().mean().item() - 0.7) < 0.003
        out.sum().backward()
        assert torch.equal(x.grad, out.detach())  # d(x * mask)/dx is the mask
        drop.eval()
        assert drop(x) is x
    assert "forward" not in drop.__dict__


class _Dropout(torch.nn.Dropout):
    pass


def test_rand_dropout_masks_swap_only_plain_dropout_on_the_cpu_and_always_restore():
    layers = torch.nn.Sequential(
        torch.nn.Dropout(0.3),
        torch.nn.Dropout(0.3, inplace=True),
        torch.nn.Dropout(0.0),
        torch.nn.Dropout(1.0),
        _Dropout(0.3),
    )
    with pytest.raises(RuntimeError, match="stop"), rand_dropout_masks(layers, torch.device("cpu")):
        assert ["forward" in m.__dict__ for m in layers] == [True, False, False, False, False]
        raise RuntimeError("stop")
    assert not any("forward" in m.__dict__ for m in layers)
    with rand_dropout_masks(layers, torch.device("cuda")):
        assert not any("forward" in m.__dict__ for m in layers)


class _DropoutProbe(torch.nn.Module):
    """Records, per training batch, whether its dropout layer draws masks with torch.rand."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(1, 2)
        self.dropout = torch.nn.Dropout(0.5)
        self.swapped: list[bool] = []

    def forward(self, X):
        self.swapped.append("forward" in self.dropout.__dict__)
        return self.linear(self.dropout(X))


class _GradKeepingSGD(torch.optim.SGD):
    """Keeps the gradient tensor each step saw, to tell released gradients from zeroed ones."""

    def __init__(self, params, **kwargs):
        super().__init__(params, **kwargs)
        self.grads: list[torch.Tensor] = []

    def step(self, closure=None):
        self.grads.append(self.param_groups[0]["params"][0].grad)
        return super().step(closure)


def test_eager_training_on_the_cpu_uses_rand_masks_and_releases_gradients():
    X = torch.randn(300, 1)
    y = torch.zeros(300, dtype=torch.long)
    module = _DropoutProbe()
    opt = _GradKeepingSGD(module.parameters(), lr=0.1)
    trainer = ResidentTrainer(module, opt, torch.nn.functional.cross_entropy, X, y, batch_size=128)
    trainer.run_epoch()
    assert module.swapped == [True, True, True]  # two full batches and the short one
    assert "forward" not in module.dropout.__dict__
    # Released (set to None) between steps, each step's gradient is a tensor of its own; zeroed
    # in place, all three would be the same tensor.
    first, second, third = opt.grads
    assert first is not second and second is not third
