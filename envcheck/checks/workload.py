"""Workloads: the stack does not only load, it trains to the expected accuracy."""

from __future__ import annotations

from envcheck.checks import Finding, check, failed, passed
from envcheck.expect import Expectations
from envcheck.facts import ErrorKind, Facts


@check("workload.digits", "The digits workload trains correctly")
def digits(facts: Facts, expect: Expectations) -> Finding | None:
    """The skorch-versus-scikit-learn digits benchmark (``--with-workloads``) passes its own
    validation: every neural net reaches its accuracy floor, on the GPU when one was asked for."""
    run = next((w for w in facts.workloads if w.name == "digits"), None)
    if run is None:
        return None  # not asked for: no line in the report
    if run.error:
        remedy = (
            "Install the workloads extra for this interpreter."
            if run.error_kind == ErrorKind.NOT_INSTALLED
            else "Run the workload by hand to see its whole output."
        )
        return failed(
            f"digits workload: {run.error}",
            remedy,
            "python -m workloads digits --scales 1 --repeats 1",
        )
    if not run.passed:
        return failed(
            "digits workload failed its validation: " + "; ".join(run.failures or ["no reason"]),
            "A stack that loads but trains wrong: run the smoke test and the workload on the CPU "
            "to tell a GPU fault from a software one.",
            "python -m workloads digits --device cpu --scales 1",
        )
    devices = sorted({r.device for r in run.rows if r.device})
    best = max((r.test_accuracy for r in run.rows if r.test_accuracy is not None), default=None)
    accuracy = f", best test accuracy {best:.3f}" if best is not None else ""
    return passed(
        f"{len(run.rows)} rows trained on {', '.join(devices) or '?'}{accuracy} "
        f"in {run.seconds:.1f} s"
    )
