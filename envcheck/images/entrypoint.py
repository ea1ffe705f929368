"""The images' entry point: prove the image is what it says, then that it computes.

    docker run --gpus all IMAGE [all|check|digits] [OPTIONS...]

- ``check``: envcheck with the image's pins as expectations (/etc/gpu-envkit/expect.toml).
- ``digits``: the digits workload alone (its workloads.digits/1 JSON on stdout).
- ``all`` (the default): ``check`` with the digits workload judged as one more check.

The JSON report goes to stdout, the human report to stderr, and the exit code is the verdict
(0 ready, 1 not ready, 2 bad usage). Options after the part go to the command it runs.

This process is the container's PID 1 and behaves as an init would (the images need no
``docker run --init``): the part runs as a child in its own session, SIGTERM, SIGINT and SIGHUP
stop it and every process it started within ``GRACE_SECONDS``, and the container exits
128 + the signal (143 for ``docker stop``, 130 for Ctrl-C) with nothing on stdout. Handing the
signal on as it came would not do: the kernel drops SIGTERM to a PID 1 without a handler, and
skorch's fit loop catches the KeyboardInterrupt that SIGINT raises and trains on. stdout is held
until the part ends, so an interrupted run never leaves half a report; orphans that the part
leaves are reaped as they exit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

from envcheck.expect import IMAGE_PINS as EXPECT

PARTS = ("all", "check", "digits")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
GRACE_SECONDS = 0.5  # after SIGTERM, the part's process group is killed
POLL_SECONDS = 0.1


def command(argv: list[str], expect: str = EXPECT) -> list[str]:
    """The command line for a part and its options; raises ValueError for an unknown part."""
    part, rest = (argv[0], argv[1:]) if argv and not argv[0].startswith("-") else ("all", argv)
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}: expected one of {', '.join(PARTS)}")
    python = sys.executable
    check = [python, "-m", "envcheck", "check", "--json", "--expect", expect]
    if part == "check":
        return [*check, *rest]
    if part == "all":
        return [*check, "--with-workloads", *rest]
    return [python, "-m", "workloads", "digits", "--json", "-", *rest]


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group has already gone
        os.killpg(pgid, signum)


def _reap_orphans(child: int) -> None:
    """Collect every exited process except ``child`` (Popen collects that one itself)."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == child:
            return
        os.waitpid(info.si_pid, 0)


def supervise(cmd: list[str]) -> int:
    """Run ``cmd`` as a child and return its exit code, or 128 + the signal that stopped it."""
    stopped: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        if not stopped:
            stopped.append(signum)
        _signal_group(child.pid, signal.SIGTERM)

    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, start_new_session=True)
    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    kill_at = None
    try:
        while True:
            try:
                out, _ = child.communicate(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                _reap_orphans(child.pid)
                if stopped and kill_at is None:
                    kill_at = time.monotonic() + GRACE_SECONDS
                if kill_at is not None and time.monotonic() >= kill_at:
                    _signal_group(child.pid, signal.SIGKILL)
    finally:
        _signal_group(child.pid, signal.SIGKILL)  # whatever the part left running in its group
        for s, handler in previous.items():
            signal.signal(s, handler)
    _reap_orphans(child.pid)
    if stopped:
        name = signal.Signals(stopped[0]).name
        print(f"gpu-envkit: stopped by {name}; no result written", file=sys.stderr)
        return 128 + stopped[0]
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


def main(argv: list[str] | None = None) -> int:
    try:
        cmd = command(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        print(f"gpu-envkit: {exc}", file=sys.stderr)
        return 2
    return supervise(cmd)


if __name__ == "__main__":
    sys.exit(main())
