"""Ctrl-C and SIGTERM end a run at once: every probe child is stopped, nothing is left behind,
and the exit code says the run was interrupted (130, 143), never "not ready" (1).

The handler runs in the main thread: it stops the children (whose threads then return at
once), then raises SystemExit, so ``finally`` blocks and temporary directories still clean up.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

from envcheck.probes import subproc

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop(signum: int, frame: FrameType | None) -> None:
    for sig in SIGNALS:  # a second Ctrl-C while stopping must not interrupt the cleanup
        signal.signal(sig, signal.SIG_IGN)
    subproc.terminate_all()
    sys.stderr.write(f"envcheck: interrupted ({signal.Signals(signum).name})\n")
    raise SystemExit(128 + signum)


def install() -> None:
    for sig in SIGNALS:
        signal.signal(sig, _stop)
