"""What both workloads ask of a fitted estimator, and the one scikit-learn MLP they both run.

Every helper reads the object that was really fitted, never what was asked for: a record names
the class that trained, the device its weights ended on and the epochs it really ran.
"""

from __future__ import annotations

from typing import Any


def class_path(obj: object) -> str:
    """``module.Class`` of an object: what the records report and the specs declare."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def epochs_run(estimator: Any) -> int | None:
    """How many epochs a fitted estimator really trained (None where epochs mean nothing)."""
    history = getattr(estimator, "history_", None)
    if history is not None:
        return len(history)
    for attr in ("epochs_run_", "n_iter_"):
        value = getattr(estimator, attr, None)
        if isinstance(value, int):
            return value
    return None


def ran_on(estimator: Any) -> str:
    """The device the fitted model's weights are on: what it really ran on, not what was asked."""
    module = getattr(estimator, "module_", None)
    if module is not None:
        for p in module.parameters():
            return str(p.device)
    return "cpu"


def sk_mlp(*, batch_size: int, lr: float, alpha: float, epochs: int, seed: int):
    """scikit-learn's counterpart of the MLP (``DigitsNet``'s 256, 128, 64 hidden layers).

    ``n_iter_no_change`` above the epoch count: the loss-plateau stop can never fire, so it runs
    exactly ``epochs`` epochs like the torch rows (``alpha`` is L2, the nearest to AdamW's decay).
    """
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(256, 128, 64),
        batch_size=batch_size,
        learning_rate_init=lr,
        alpha=alpha,
        max_iter=epochs,
        early_stopping=False,
        n_iter_no_change=epochs + 1,
        shuffle=True,
        random_state=seed,
    )
