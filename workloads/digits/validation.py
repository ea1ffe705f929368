"""The pass/fail rules of the digits workload: pure functions of a result's JSON.

They read the JSON rather than Python objects so that a saved result can be judged again
anywhere, and so envcheck can re-apply them to what the subprocess wrote.
"""

from __future__ import annotations

from typing import Any

# Every neural-net row must clear this on the untiled test set. The seed's network reaches
# ~0.98 after 20 epochs at x1; 0.95 leaves room for seeds and hardware while catching a broken
# stack (wrong kernels, silent NaNs, a model that did not train).
NEURAL_MIN_ACCURACY = 0.95


def _row(record: dict[str, Any]) -> str:
    return f"{record['model']} x{record['scale']}"


def validation_failures(result: dict[str, Any]) -> list[str]:
    """One line per problem; an empty list means the run passed."""
    records = result.get("records") or []
    options = result.get("options") or {}
    if not records:
        return ["no rows were run"]
    failures: list[str] = []
    for r in records:
        if r.get("error"):
            failures.append(f"{_row(r)}: failed: {r['error']}")
            continue
        acc = r.get("test_accuracy")
        if r.get("neural") and (acc is None or acc < NEURAL_MIN_ACCURACY):
            shown = "none" if acc is None else f"{acc:.4f}"
            failures.append(
                f"{_row(r)}: test accuracy {shown} is below {NEURAL_MIN_ACCURACY} "
                f"(worst of {r.get('repeats')} fits)"
            )
        if r.get("neural") and r.get("epochs") is not None and r.get("epochs_run") != r["epochs"]:
            failures.append(
                f"{_row(r)}: trained {r.get('epochs_run')} epochs, {r['epochs']} were asked for"
            )
        if r.get("fit_path") == "skorch":
            failures.append(f"{_row(r)}: fell back to skorch's per-sample loop, not the fast path")
        if (
            options.get("device") == "cuda"
            and r.get("library") in ("skorch", "torch")
            and not str(r.get("device", "")).startswith("cuda")
        ):
            failures.append(f"{_row(r)}: asked for cuda but the model ran on {r.get('device')}")
    return failures


def validate(result: dict[str, Any]) -> dict[str, Any]:
    failures = validation_failures(result)
    return {"passed": not failures, "failures": failures}
