"""Periodic health checks run by a scheduler (node-problem-detector, Slurm's HealthCheckProgram):
probe and judge inside a hard deadline, and say the outcome in one short line.

Both schedulers kill a check that overruns (NPD: SIGKILL to the process group at its plugin
timeout; slurmd: after 60 s), and both may run checks on GPUs that are busy with jobs. So the
defaults here are lighter than `envcheck check`'s: no smoke test (no CUDA work on busy GPUs),
30 s for torch, and a ``--deadline`` that stops every probe child should the run still overrun
(the children live in their own sessions, so a kill of our group would not reach them).
"""

from __future__ import annotations

import functools
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from envcheck.options import probe_options, seconds

# The answers of a scheduled check, the same for NPD (OK, NonOK, Unknown) and Slurm wrappers.
READY, NOT_READY, NO_VERDICT = 0, 1, 2
DEFAULT_DEADLINE = 50.0  # under NPD's plugin timeout (60 s in deploy/) and slurmd's 60 s kill
DEFAULT_TORCH_TIMEOUT = 30.0
DEFAULT_SMOKE_TIMEOUT = 15.0


class DeadlineExceeded(Exception):
    """The run did not end by its deadline; every probe child has been stopped."""


@dataclass(frozen=True)
class Outcome:
    code: int  # READY, NOT_READY or NO_VERDICT
    line: str  # "envcheck: ..." in at most the byte limit asked for
    report: Any = None  # the judged report; None without a verdict


def check(
    options: Any,
    expect_file: str | None,
    strict: bool,
    seconds: float,
    limit: int,
    debug: bool = False,
) -> Outcome:
    """Probe and judge inside ``seconds``, answered in one line of at most ``limit`` bytes. Bad
    input, an overrun and a crash are each NO_VERDICT with their reason, never a traceback (with
    ``debug``, a crash raises)."""
    from envcheck import expect
    from envcheck.report import PREFIX, short_reason
    from envcheck.text import one_line

    def no_verdict(why: str) -> Outcome:
        return Outcome(NO_VERDICT, one_line(PREFIX + why, limit))

    try:
        expectations = expect.load(expect_file) if expect_file else expect.Expectations()
    except expect.ExpectError as exc:
        return no_verdict(f"bad --expect: {exc}")
    try:
        report = judge_within(options, expectations, strict, seconds)
    except DeadlineExceeded:
        return no_verdict(f"no verdict within {seconds:g} s")
    except Exception as exc:
        if debug:
            raise
        return no_verdict(f"envcheck failed: {type(exc).__name__}: {exc}")
    if report.verdict.ready:
        return Outcome(READY, one_line(PREFIX + report.verdict.summary, limit), report)
    return Outcome(NOT_READY, short_reason(report, limit), report)


def worst_case_seconds(options: Any) -> float:
    """The longest ``collect(options)`` can take (without workloads or a Docker GPU test): the
    probes run side by side, each bounded; a timed-out child gets a grace period to clean up.
    The torch probe may run twice: envcheck's own interpreter (fast when it has no torch), then
    the user's, found by a short look at each place torch may live."""
    from envcheck.collect import DISCOVERY_SECONDS, TORCH_LOCATIONS, torch_budget
    from envcheck.probes.subproc import GRACE

    docker = 2 * options.timeout  # connect, then `docker info`
    torch = 0.0
    if options.torch:
        torch = torch_budget(options)
        if not options.python:
            looks = len(TORCH_LOCATIONS) * (min(options.timeout, DISCOVERY_SECONDS) + GRACE)
            torch += looks + GRACE  # the first probe, when it finds no torch, ends at once
    return max(options.timeout, docker, torch) + GRACE


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise DeadlineExceeded in the main thread after ``seconds``, having stopped every probe
    child first (the threads waiting on them then return at once)."""

    def expire(signum: int, frame: Any) -> None:
        from envcheck.probes import subproc

        subproc.terminate_all()
        raise DeadlineExceeded

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def judge_within(options: Any, expectations: Any, strict: bool, seconds: float) -> Any:
    """Probe and judge this machine; raises DeadlineExceeded past ``seconds``."""
    from envcheck.collect import collect
    from envcheck.report import judge

    with deadline(seconds):
        facts = collect(options)
    return judge(facts, expectations, strict)


def scheduled_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options of a scheduled check: the probe options with light defaults, --expect,
    --strict and --deadline. The command receives ``options`` (collect.Options),
    ``expect_file``, ``strict`` and ``limit_seconds``."""

    @click.option(
        "--expect",
        "expect_file",
        type=click.Path(dir_okay=False),
        help="TOML file of expectations, as for `envcheck --expect`.",
    )
    @click.option("--strict", is_flag=True, help="Count warnings as a problem.")
    @probe_options(DEFAULT_TORCH_TIMEOUT, smoke=False, smoke_timeout=DEFAULT_SMOKE_TIMEOUT)
    @click.option(
        "--deadline",
        "limit_seconds",
        type=float,
        default=DEFAULT_DEADLINE,
        show_default=True,
        callback=seconds,
        help="Seconds for the whole run; past it every probe is stopped and there is no "
        "verdict. Keep it under the scheduler's own kill timeout.",
    )
    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        return fn(**kwargs)

    return wrapper
