"""Training on device-resident tensors, and the skorch classifier that uses it.

skorch's default path builds every batch from a ``Dataset`` one sample at a time through a
``DataLoader``, records each batch's loss with ``loss.item()`` (a host sync per batch) and spends
a fifth of the data on an internal validation split. On the digits network that overhead, not the
arithmetic, is what the seed tutorial timed. Here the whole training set lives on the device,
a batch is one ``index_select`` of a device-side permutation, the loss is summed on the device and
read once per epoch, and on CUDA each full-batch training step is captured once in a CUDA graph
and replayed: one launch per step instead of ~50 small kernels' worth of Python and launches.
On the CPU the step stays eager; there the dropout masks are drawn with ``torch.rand`` rather than
``bernoulli_`` (see :func:`rand_dropout_masks`) and gradients are released rather than zeroed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.utils import to_device

# Graph capture needs a few eager steps first (the PyTorch CUDA-graphs recipe: lazy cuBLAS
# workspaces, autograd and optimizer state). Their effect on the weights is undone afterwards.
GRAPH_WARMUP_STEPS = 3

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def graphs_possible(device: torch.device | str, optimizer: torch.optim.Optimizer) -> bool:
    """CUDA graphs need a CUDA device and an optimizer whose step can run inside a capture."""
    if torch.device(device).type != "cuda" or not torch.cuda.is_available():
        return False
    groups = optimizer.param_groups
    if not groups or not all(g.get("capturable", False) for g in groups):
        return False
    # State created by an earlier non-capturable step (warm start) keeps its step counter on
    # the host, which a captured step cannot update.
    return all(
        not isinstance(v, torch.Tensor) or v.device.type == "cuda"
        for state in optimizer.state.values()
        for v in state.values()
    )


def speed_options(optimizer_cls, device: torch.device | str, graphs: bool) -> dict:
    """Implementation switches (never hyperparameters) that make ``optimizer_cls`` faster here.

    On CUDA with graphs: ``capturable=True``, so the step (and its step counter) can live inside
    a captured graph. On CPU: ``fused=True``, one kernel per step instead of a loop over the
    parameters; on this network that is a quarter of a CPU training step.
    """
    try:
        accepted = inspect.signature(optimizer_cls).parameters
    except (TypeError, ValueError):
        return {}
    kind = torch.device(device).type
    if kind == "cuda" and graphs and "capturable" in accepted:
        return {"capturable": True}
    if kind == "cpu" and "fused" in accepted:
        return {"fused": True}
    return {}


def build_optimizer(optimizer_cls, params, device, graphs: bool, **kwargs):
    """``optimizer_cls(params, **kwargs)`` plus :func:`speed_options` the caller did not set.

    Falls back to the plain construction when this torch build rejects a switch (fused on an
    unsupported dtype, an older release), so the switches can only ever cost speed, not a fit.
    """
    params = list(params)
    extra = {
        k: v for k, v in speed_options(optimizer_cls, device, graphs).items() if k not in kwargs
    }
    if extra:
        try:
            return optimizer_cls(params, **kwargs, **extra)
        except (RuntimeError, ValueError, TypeError):
            pass
    return optimizer_cls(params, **kwargs)


def _rand_dropout(module: torch.nn.Dropout) -> Callable[[torch.Tensor], torch.Tensor]:
    """``module``'s forward with the mask drawn by ``torch.rand``: an element is kept when its
    uniform draw in [0, 1) is at least ``p`` (probability 1 - p, as ``bernoulli_(1 - p)``) and
    scaled by 1 / (1 - p), so the layer computes the same function of the same distribution."""
    p = module.p
    scale = 1.0 / (1.0 - p)

    def forward(x: torch.Tensor) -> torch.Tensor:
        if not module.training:
            return x
        return x * torch.rand_like(x).ge_(p).mul_(scale)

    return forward


@contextmanager
def rand_dropout_masks(module: torch.nn.Module, device: torch.device) -> Iterator[None]:
    """On the CPU, train ``module``'s ``nn.Dropout`` layers with masks drawn by ``torch.rand``.

    PyTorch's CPU dropout draws its mask with ``bernoulli_``, one generator call per element:
    290 µs for the digits network's 128×256 mask on a 2-core Xeon, a fifth of the whole
    training step, where ``torch.rand`` fills the same mask in 88 µs and the float mask makes
    the two multiplies (forward and backward) cheaper than the stock bool mask. Only exact
    ``nn.Dropout`` instances with 0 < p < 1 and not in place are swapped (a subclass may mean
    something else), through an instance attribute that shadows the class's ``forward`` and is
    removed on the way out, so the module is never left changed (checkpoint callbacks that
    pickle it run outside). On CUDA the stock kernel already draws and applies the mask in one
    fused launch, so nothing changes there.
    """
    swapped = []
    if device.type == "cpu":
        swapped = [
            m
            for m in module.modules()
            if type(m) is torch.nn.Dropout and 0.0 < m.p < 1.0 and not m.inplace
        ]
    try:
        for m in swapped:
            m.forward = _rand_dropout(m)
        yield
    finally:
        for m in swapped:
            m.__dict__.pop("forward", None)


class ResidentTrainer:
    """Runs epochs of minibatch training on tensors that already live on the module's device.

    ``X`` and ``y`` are never copied per batch: each step reads rows ``perm[cursor:cursor+B]``
    through ``index_select`` with a device-side cursor, so the same step body runs eagerly (CPU,
    or CUDA without graphs) and inside a captured CUDA graph, where no Python value may change
    between replays.
    """

    def __init__(
        self,
        module: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: LossFn,
        X: torch.Tensor,
        y: torch.Tensor,
        *,
        batch_size: int,
        shuffle: bool = True,
        use_graphs: bool = False,
    ):
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
        if X.shape[0] == 0:
            raise ValueError("cannot train on an empty data set")
        self.module = module
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.X = X
        self.y = y
        self.n = X.shape[0]
        self.batch_size = min(batch_size, self.n)
        self.shuffle = shuffle
        self.device = X.device
        self.n_full, self.rest = divmod(self.n, self.batch_size)
        self.perm = torch.arange(self.n, device=self.device)
        self.cursor = torch.zeros((), dtype=torch.long, device=self.device)
        self.loss_sum = torch.zeros((), dtype=torch.float32, device=self.device)
        self._offsets_full = torch.arange(self.batch_size, device=self.device)
        self._offsets_rest = torch.arange(self.rest, device=self.device)
        self.use_graphs = use_graphs and graphs_possible(self.device, optimizer)
        self._graph: torch.cuda.CUDAGraph | None = None

    def _step(self, offsets: torch.Tensor) -> None:
        """One training step on the next ``len(offsets)`` rows of the permutation."""
        idx = self.perm.index_select(0, self.cursor + offsets)
        xb = self.X.index_select(0, idx)
        yb = self.y.index_select(0, idx)
        # With graphs, zero in place: the gradients must keep their addresses so the captured graph
        # and the eager remainder step accumulate into the same tensors. Eagerly, release them:
        # backward then hands each gradient over instead of adding it to a zeroed one, which
        # saves a fill and an add per parameter (~55 µs of a 1.2 ms CPU step on the digits net).
        self.optimizer.zero_grad(set_to_none=not self.use_graphs)
        loss = self.loss_fn(self.module(xb), yb)
        loss.backward()
        self.optimizer.step()
        self.loss_sum.add_(loss.detach() * offsets.shape[0])
        self.cursor.add_(offsets.shape[0])

    def _capture(self) -> torch.cuda.CUDAGraph:
        params = [p.detach().clone() for p in self.module.parameters()]
        buffers = [b.detach().clone() for b in self.module.buffers()]
        had_state = {
            p: {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
            for p, s in self.optimizer.state.items()
        }
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(GRAPH_WARMUP_STEPS):
                self.cursor.zero_()
                self._step(self._offsets_full)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._step(self._offsets_full)
        # Capture records kernels without running them, but the warm-up steps really trained:
        # put weights, BatchNorm statistics and optimizer state back where they were, in place
        # (the graph holds their addresses), so the fit sees exactly the epochs it asked for.
        with torch.no_grad():
            for p, saved in zip(self.module.parameters(), params, strict=True):
                p.copy_(saved)
            for b, saved in zip(self.module.buffers(), buffers, strict=True):
                b.copy_(saved)
            for p, state in self.optimizer.state.items():
                before = had_state.get(p)
                for k, v in state.items():
                    if not isinstance(v, torch.Tensor):
                        continue
                    if before is not None and k in before:
                        v.copy_(before[k])
                    else:
                        v.zero_()  # Adam-family state starts at zero (step 0, zero moments)
        return graph

    def run_epoch(self) -> torch.Tensor:
        """Train one epoch; returns the mean training loss as a 0-d tensor on the device."""
        self.module.train()
        if self.use_graphs and self._graph is None and self.n_full > 0:
            self._graph = self._capture()
        if self.shuffle:
            self.perm.copy_(torch.randperm(self.n, device=self.device))
        self.cursor.zero_()
        self.loss_sum.zero_()
        with rand_dropout_masks(self.module, self.device):
            if self._graph is not None:
                for _ in range(self.n_full):
                    self._graph.replay()
            else:
                for _ in range(self.n_full):
                    self._step(self._offsets_full)
            if self.rest:
                # Like a DataLoader without drop_last, the short last batch is trained too; it
                # runs eagerly because a graph is specialised to one batch shape.
                self._step(self._offsets_rest)
        return self.loss_sum / self.n


def as_feature_tensor(X, device: torch.device | str, dtype: torch.dtype) -> torch.Tensor:
    """Features as one tensor on ``device``; floating input takes the module's dtype."""
    t = torch.as_tensor(X)
    if t.is_floating_point():
        t = t.to(dtype)
    return t.to(device).contiguous()


def as_target_tensor(y, device: torch.device | str) -> torch.Tensor:
    return torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).to(
        device=device, dtype=torch.long
    )


def _is_plain_array(X) -> bool:
    return isinstance(X, (np.ndarray, torch.Tensor)) and X.ndim == 2


class FastNeuralNetClassifier(NeuralNetClassifier):
    """A skorch ``NeuralNetClassifier`` that trains on device-resident tensors.

    Differences from the stock classifier, all for speed and all stated here:

    - ``train_split`` defaults to ``None`` (train on every row given; score on held-out data
      yourself, as the benchmark does). With a split set, or with input skorch's ``Dataset``
      must unpack (dicts, Datasets, fit params), it falls back to the stock skorch loop.
    - Batches come from tensor indexing on the device (``shuffle`` reshuffles every epoch), the
      training loss is recorded once per epoch, and per-batch callbacks
      (``on_batch_begin/end``, ``on_grad_computed``) are not called: they would force a host sync
      per batch. Epoch-level callbacks (timer, train_loss, early stopping on it, checkpoints)
      work; scoring callbacks see no datasets (there is no split) and skip themselves.
    - ``cuda_graphs=True`` (the default) captures the full-batch training step in a CUDA graph
      when the device is CUDA and the optimizer supports ``capturable`` (Adam, AdamW, ...);
      the optimizer is built with ``capturable=True`` for that, and with ``fused=True`` on CPU
      (same algorithm and hyperparameters, fewer kernels; see :func:`speed_options`).
    - On the CPU, ``nn.Dropout`` layers draw their masks with ``torch.rand`` during the fit
      (same distribution and scaling, a third of the time; see :func:`rand_dropout_masks`).
    - Floating-point input is cast to the module's dtype (float64 from a scaler is fine).

    Everything else (``fit``, ``partial_fit``, ``predict``, ``predict_proba``, ``score``,
    ``get_params``/``set_params``, ``clone``, ``Pipeline``, ``GridSearchCV``) is skorch's.
    """

    def __init__(
        self,
        module,
        *args,
        train_split=None,
        shuffle: bool = True,
        cuda_graphs: bool = True,
        **kwargs,
    ):
        super().__init__(module, *args, train_split=train_split, **kwargs)
        self.shuffle = shuffle
        self.cuda_graphs = cuda_graphs

    def initialize_optimizer(self, *args, **kwargs):
        # skorch's own recipe (named parameters, optimizer__* params, lr), plus the speed
        # switches; anything the user set explicitly through optimizer__* wins.
        named_parameters = self.get_all_learnable_params()
        opt_args, opt_kwargs = self.get_params_for_optimizer("optimizer", named_parameters)
        (params,) = opt_args
        self.optimizer_ = build_optimizer(
            self.optimizer, params, self.device, self.cuda_graphs, **opt_kwargs
        )
        return self

    def _module_dtype(self) -> torch.dtype:
        for p in self.module_.parameters():
            return p.dtype
        return torch.float32

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        # skorch >= 1.4 threads its metadata-routing marker through fit_params; it is not a
        # parameter for the module, so it must not send the fit down the per-sample path.
        routing = {k: fit_params.pop(k) for k in ("_routing_method",) if k in fit_params}
        if (
            self.train_split is not None
            or fit_params
            or not _is_plain_array(X)
            or y is None
            or len(self._optimizers) > 1
        ):
            self.fit_path_ = "skorch"
            return super().fit_loop(X, y, epochs=epochs, **routing, **fit_params)
        self.fit_path_ = "resident"
        self.check_data(X, y)
        self.check_training_readiness()
        epochs = epochs if epochs is not None else self.max_epochs

        device = self.device
        X_dev = as_feature_tensor(X, device, self._module_dtype())
        y_dev = as_target_tensor(y, device)
        trainer = ResidentTrainer(
            self.module_,
            self.optimizer_,
            lambda y_pred, y_true: self.get_loss(y_pred, y_true, training=True),
            X_dev,
            y_dev,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            use_graphs=self.cuda_graphs,
        )
        on_epoch_kwargs = {"dataset_train": None, "dataset_valid": None}
        for _ in range(epochs):
            self.notify("on_epoch_begin", **on_epoch_kwargs)
            mean_loss = trainer.run_epoch()
            # One batch entry per epoch, weighted by all rows: the stock train_loss callback
            # then averages it to the epoch loss, so history and callbacks read as usual.
            self.history.new_batch()
            self.history.record_batch("train_loss", mean_loss.item())
            self.history.record_batch("train_batch_size", trainer.n)
            self.notify("on_epoch_end", **on_epoch_kwargs)
        self.fit_used_graphs_ = trainer._graph is not None
        return self

    def forward_iter(self, X, training=False, device="cpu"):
        if not _is_plain_array(X):
            yield from super().forward_iter(X, training=training, device=device)
            return
        X_dev = as_feature_tensor(X, self.device, self._module_dtype())
        step = self.batch_size if self.batch_size and self.batch_size > 0 else len(X_dev)
        for start in range(0, len(X_dev), step):
            yp = self.evaluation_step((X_dev[start : start + step], None), training=training)
            yield to_device(yp, device=device)


__all__ = [
    "FastNeuralNetClassifier",
    "ResidentTrainer",
    "as_feature_tensor",
    "as_target_tensor",
    "build_optimizer",
    "graphs_possible",
    "rand_dropout_masks",
    "speed_options",
]
