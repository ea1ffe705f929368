"""Prometheus text exposition format, for node_exporter's textfile collector (``--prom FILE``).

node_exporter reads every ``*.prom`` file in its ``--collector.textfile.directory`` on each
scrape, so :func:`write` replaces the file atomically: the metrics go to a hidden temp file in
the same directory (named ``.<name>.<random>.tmp``, never ``*.prom``), are fsynced, made
readable by all (0644: node_exporter often runs as another user), then renamed over the
target. A scrape sees the old file or the new one, never half of one; on an error the temp file
is removed.

Metrics (all gauges, no sample timestamps: the textfile collector rejects files that have them):

- ``envcheck_ready`` 1 when the machine is ready (no check failed; with ``--strict``, none
  warned either), else 0.
- ``envcheck_check_status{check, status}`` one series per check and per status (``pass``,
  ``warn``, ``fail``, ``skip``): 1 for the check's status, 0 for the other three. The state-set
  encoding of node_exporter's ``node_systemd_unit_state{name, state}``: alert on
  ``envcheck_check_status{status="fail"} == 1``; a check that did not run has no series.
- ``envcheck_checks{status}`` how many checks ended in each status (all four, zeros included).
- ``envcheck_last_run_timestamp_seconds`` when envcheck wrote the file (Unix time); a file
  that stops being rewritten is caught with ``time() - envcheck_last_run_timestamp_seconds``.
- ``envcheck_info{driver, driver_cuda, torch, torch_cuda, cudnn, envcheck}`` always 1: the
  driver version and the newest CUDA it supports, torch's version, the CUDA it was built with,
  the cuDNN it loaded, and envcheck's own version. Unknown or absent: the empty string.
- ``envcheck_gpus`` how many GPUs NVML listed; absent when that is not known (NVML failed, or
  pasted text lists no GPUs): an unknown count is not zero.
- ``envcheck_gpu_info{index, name, uuid, pci_bus_id, compute_capability}`` always 1, one series
  per GPU. The UUID is the join key of dcgm-exporter's metrics; it names hardware, not a person.

No summaries, remedies, paths or host names: they change from run to run (a new series each
time) or may name users, and Prometheus's own ``instance`` label already names the node.

Label values come from facts, which may be pasted text or a hostile file: control characters
become a visible ``\\xNN`` (as everywhere in envcheck), lone surrogates U+FFFD, values are cut to
``MAX_LABEL_CHARS`` (a Prometheus ``label_value_length_limit`` fails the node's whole scrape),
and backslash, double quote and newline are escaped as the format requires.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

from envcheck import __version__
from envcheck.checks import STATUSES
from envcheck.report import Report
from envcheck.text import printable

PREFIX = "envcheck_"
# Longer than any driver, torch or GPU name; short enough for a scrape's label length limit.
MAX_LABEL_CHARS = 128
_SURROGATE = re.compile(r"[\ud800-\udfff]")

Labels = dict[str, str | None]
Sample = tuple[Labels, float]


def render(report: Report, now: float | None = None) -> str:
    """The report's metrics as exposition-format text; ``now`` (Unix time) defaults to the
    current time."""
    facts = report.facts
    out: list[str] = []
    _family(
        out,
        "ready",
        "1 when the machine is ready (no check failed; with --strict none warned), else 0.",
        [({}, int(report.verdict.ready))],
    )
    seen: set[str] = set()
    states: list[Sample] = []
    for check in report.checks:
        # A repeated series makes node_exporter drop the whole file.
        if _label_value(check.id) in seen:
            continue
        seen.add(_label_value(check.id))
        states += [({"check": check.id, "status": s}, int(check.status == s)) for s in STATUSES]
    _family(out, "check_status", "1 for the check's status, 0 for the other statuses.", states)
    _family(
        out,
        "checks",
        "Number of checks that ended in each status.",
        [({"status": s}, sum(c.status == s for c in report.checks)) for s in STATUSES],
    )
    _family(
        out,
        "last_run_timestamp_seconds",
        "Unix time when envcheck wrote these metrics.",
        [({}, time.time() if now is None else now)],
    )
    info = {
        "driver": facts.driver.version,
        "driver_cuda": facts.driver.cuda,
        "torch": facts.torch.version,
        "torch_cuda": facts.torch.cuda,
        "cudnn": facts.torch.cudnn,
        "envcheck": __version__,
    }
    _family(
        out,
        "info",
        "Versions of the driver, torch, CUDA, cuDNN and envcheck; always 1.",
        [(info, 1)],
    )
    count_known = facts.gpus or not (facts.driver.error or "gpus" in facts.unavailable)
    if count_known:
        _family(out, "gpus", "Number of GPUs NVML lists.", [({}, len(facts.gpus))])
    gpus: list[Sample] = []
    gpu_keys: set[tuple[str, ...]] = set()
    for gpu in facts.gpus:
        labels: Labels = {
            "index": str(gpu.index),
            "name": gpu.name,
            "uuid": gpu.uuid,
            "pci_bus_id": gpu.pci_bus_id,
            "compute_capability": gpu.compute_capability,
        }
        key = tuple(_label_value(v) for v in labels.values())
        if key not in gpu_keys:
            gpu_keys.add(key)
            gpus.append((labels, 1))
    if gpus:
        _family(out, "gpu_info", "One series per GPU NVML lists; always 1.", gpus)
    return "".join(out)


def write(report: Report, path: str | os.PathLike[str], now: float | None = None) -> None:
    """Write the metrics to ``path`` atomically (see the module's docstring); raises OSError."""
    data = render(report, now).encode("utf-8")
    target = Path(path)
    # The file is replaced by a rename: a device, FIFO or symlink there would be replaced too
    # (`--prom /dev/null` as root would destroy /dev/null), so only a regular file may be.
    with contextlib.suppress(FileNotFoundError):
        if not stat.S_ISREG(os.lstat(target).st_mode):
            raise OSError(errno.EEXIST, "exists and is not a regular file; not replacing it")
    # Hidden and not *.prom: node_exporter must never read the file while it is being written.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), 0o644)  # mkstemp's 0600 would hide it from node_exporter
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # The rename itself survives a crash only once the directory is on disk; best effort.
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _family(out: list[str], name: str, help_text: str, samples: list[Sample]) -> None:
    out.append(f"# HELP {PREFIX}{name} {help_text}\n# TYPE {PREFIX}{name} gauge\n")
    for labels, value in samples:
        pairs = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items())
        out.append(
            f"{PREFIX}{name}{{{pairs}}} {_number(value)}\n"
            if pairs
            else f"{PREFIX}{name} {_number(value)}\n"
        )


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))


def _label_value(value: str | None) -> str:
    text = _SURROGATE.sub("\ufffd", printable("" if value is None else str(value)))
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 3] + "..."
    # Backslash first, or the other escapes would be escaped twice.
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
