"""Probe children past their deadline: stopped with SIGTERM first, so they can clean up."""

from __future__ import annotations

import sys
import time

from envcheck.probes import subproc


def test_a_child_past_its_deadline_gets_to_clean_up_before_it_is_killed(tmp_path):
    marker = tmp_path / "cleaned"
    child = (
        "import signal, sys, time\n"
        "def stop(signum, frame):\n"
        f"    open({str(marker)!r}, 'w').write('removed my container')\n"
        "    sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        'print(\'{"stage": "waiting"}\', flush=True)\n'
        "time.sleep(60)\n"
    )
    start = time.monotonic()
    outcome = subproc.run([sys.executable, "-c", child], timeout=1.0)
    assert outcome.timed_out and outcome.data == {"stage": "waiting"}
    assert marker.read_text() == "removed my container"
    assert time.monotonic() - start < 1.0 + subproc.GRACE + 1


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(tmp_path):
    child = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)\n"
    start = time.monotonic()
    outcome = subproc.run([sys.executable, "-c", child], timeout=0.5)
    assert outcome.timed_out
    assert time.monotonic() - start < 0.5 + subproc.GRACE + 1
