"""Workloads that prove a GPU stack computes, fast and correctly.

Deliberately light: importing the package must not import torch, skorch or scikit-learn, so
that tools (envcheck, the CLI's ``--help``) can find it without paying for them. The heavy
modules are imported by the code that runs a workload.

Each workload is a subpackage with the same parts: ``data``, ``models``, ``run``, ``records``,
``validation``, ``table`` and ``plot`` (``workloads.digits``, ``workloads.train``). What they
share sits here: ``timing`` (warm-up, synchronised clocks, pinned threads), ``machine`` (what
the machine is, which device a run gets), ``networks`` (the torch modules), ``skorch_fast`` (the
resident-tensor skorch path), ``estimators`` (reading a fitted estimator, the one scikit-learn
MLP), ``output`` and ``charts`` (JSON text, table cells, figures) and ``errors``.
"""

__all__ = ["DEVICES", "DIGITS_SCHEMA", "TRAIN_SCHEMA"]

# Where a workload's torch rows may run (--device); auto picks cuda when torch sees a GPU.
DEVICES = ("auto", "cuda", "cpu")

# The version tag of the digits result envelope; bump it (and ship a new schema file) whenever
# a field changes meaning or disappears, never for additions that readers may ignore.
DIGITS_SCHEMA = "workloads.digits/1"

# The version tag of the ``workloads train`` result envelope, under the same rule.
TRAIN_SCHEMA = "workloads.train/1"
