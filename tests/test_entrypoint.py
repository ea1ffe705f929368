"""The images' entry point as an init: signals stop the whole part, nothing half-written escapes.

The supervisor runs in a real subprocess here, its part a real Python child that behaves as the
hard case does: it ignores SIGTERM, swallows KeyboardInterrupt as skorch's fit loop does, has
started a grandchild, and has already written part of its output.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

STUBBORN = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    print(grandchild.pid, file=sys.stderr, flush=True)
    sys.stdout.write('{"half": ')
    sys.stdout.flush()
    while True:
        try:
            time.sleep(120)
        except KeyboardInterrupt:
            pass
    """
)


def supervisor(*cmd: str) -> subprocess.Popen:
    code = (
        "import sys; from envcheck.images.entrypoint import supervise; "
        f"sys.exit(supervise({list(cmd)!r}))"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it has exited all the same.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[1].startswith("Z")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_ends_the_part_and_everything_it_started(signum):
    proc = supervisor(sys.executable, "-c", STUBBORN)
    try:
        grandchild = int(proc.stderr.readline())  # the part is running, output half written
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=20)  # the part alone would run for minutes
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum
    assert out == ""  # no half report
    assert err.strip() == f"gpu-envkit: stopped by {signal.Signals(signum).name}; no result written"
    deadline = time.monotonic() + 5
    while not gone(grandchild):
        assert time.monotonic() < deadline, "the part's child outlived the stop"
        time.sleep(0.05)


def test_a_finished_part_passes_its_output_and_exit_code_through():
    proc = supervisor(sys.executable, "-c", "print('{\"ok\": 1}'); raise SystemExit(1)")
    out, _ = proc.communicate(timeout=30)
    assert (proc.returncode, out) == (1, '{"ok": 1}\n')


def test_a_part_killed_by_a_signal_exits_as_a_shell_would_say():
    proc = supervisor(sys.executable, "-c", "import os, signal; os.kill(os.getpid(), 9)")
    proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGKILL
