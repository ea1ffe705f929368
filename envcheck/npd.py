"""`envcheck npd`: a node-problem-detector custom plugin.

NPD runs the plugin every ``invoke_interval`` and reads two things (its custom plugin protocol):
the exit code, 0 OK, 1 NonOK (a problem: the condition turns True), anything else Unknown; and
standard output, cut at ``max_output_length`` bytes, as the condition's message. So this command
probes the machine like ``envcheck check``, judges it, and prints exactly one line of at most
80 bytes (``MAX_BYTES``):

- ready: ``envcheck: ready: 12 passed, 4 skipped`` (the verdict), exit 0;
- not ready: ``envcheck: <check id>: <summary> (+N more)`` (``report.short_reason``), exit 1;
- cannot tell: ``envcheck: <why>``, exit 2 — a bad ``--expect`` file or option, envcheck itself
  crashed, or the run overran ``--deadline``. Never a traceback, and never exit 3 (NPD reads
  every code but 0 and 1 as Unknown anyway; 2 keeps "envcheck could not tell" one code).

The deadline. NPD kills a plugin that overruns its ``timeout`` with SIGKILL to the plugin's
process group, which the probe children (each in its own session, so that envcheck can stop
them) would outlive. So the run must end on its own, well inside NPD's timeout: every probe is
bounded (``worst_case_seconds``), and ``--deadline`` (default 50 s, for a 60 s plugin timeout)
stops all of them and answers Unknown should the run still overrun. The defaults leave room:
probes 5 s, torch 30 s, no smoke test (a periodic check must not start CUDA work on GPUs that run
jobs; ``--smoke`` turns it on), so the worst case is about 31 s.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

# NPD's default max_output_length, and what our monitor config sets: the condition message.
MAX_BYTES = 80
PREFIX = "envcheck: "

# NPD's exit protocol.
OK, NON_OK, UNKNOWN = 0, 1, 2

DEFAULT_DEADLINE = 50.0  # for NPD's plugin timeout of 60 s in deploy/kubernetes
DEFAULT_TORCH_TIMEOUT = 30.0
DEFAULT_SMOKE_TIMEOUT = 15.0


class DeadlineExceeded(Exception):
    """The run did not end by ``--deadline``; every probe child has been stopped."""


def one_line(text: str, limit: int = MAX_BYTES) -> str:
    """``text`` as one printable line of at most ``limit`` UTF-8 bytes, with the prefix."""
    from envcheck.text import printable

    line = PREFIX + " ".join(printable(text).split())
    if len(line.encode()) <= limit:
        return line
    return line.encode()[: limit - 3].decode(errors="ignore").rstrip() + "..."


def verdict_line(report: Any, limit: int = MAX_BYTES) -> tuple[int, str]:
    """NPD's exit code and the one line for a judged report."""
    from envcheck.report import short_reason

    if report.verdict.ready:
        return OK, one_line(report.verdict.summary, limit)
    return NON_OK, short_reason(report, limit, PREFIX)


def worst_case_seconds(options: Any) -> float:
    """The longest ``collect(options)`` can take (without workloads or a Docker GPU test): the
    probes run side by side, each bounded; a timed-out child gets a grace period to clean up."""
    from envcheck.collect import _torch_budget
    from envcheck.probes.subproc import GRACE

    docker = 2 * options.timeout  # connect, then `docker info`
    torch = _torch_budget(options) if options.torch else 0.0
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


def run(
    options: Any, expect_file: str | None, strict: bool, limit_seconds: float, debug: bool = False
) -> tuple[int, str]:
    """Probe, judge and answer NPD: (exit code, one line). Bad input, an overrun and a crash are
    each Unknown with their reason (with ``debug``, a crash raises)."""
    from envcheck import collect as collect_mod
    from envcheck import expect
    from envcheck.report import judge

    try:
        expectations = expect.load(expect_file) if expect_file else expect.Expectations()
    except expect.ExpectError as exc:
        return UNKNOWN, one_line(f"bad --expect: {exc}")
    try:
        with deadline(limit_seconds):
            facts = collect_mod.collect(options)
        return verdict_line(judge(facts, expectations, strict))
    except DeadlineExceeded:
        return UNKNOWN, one_line(f"no verdict within --deadline {limit_seconds:g} s")
    except Exception as exc:
        if debug:
            raise
        return UNKNOWN, one_line(f"envcheck failed: {type(exc).__name__}: {exc}")


def _seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    from envcheck.cli import _positive  # not at import time: envcheck.cli imports this module

    return _positive(ctx, param, value)


class _NpdCommand(click.Command):
    """A usage error is one line on stdout and exit 2 too: NPD shows only stdout."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            click.echo(one_line(f"bad usage: {exc.format_message()}"))
            ctx.exit(UNKNOWN)


@click.command("npd", cls=_NpdCommand)
@click.option(
    "--expect",
    "expect_file",
    type=click.Path(dir_okay=False),
    help="TOML file of expectations, as for `envcheck --expect`.",
)
@click.option("--strict", is_flag=True, help="Count warnings as a problem (exit 1).")
@click.option(
    "--timeout",
    type=float,
    default=5.0,
    show_default=True,
    callback=_seconds,
    help="Seconds each host probe (NVML, nvcc, Docker) may take.",
)
@click.option(
    "--torch/--no-torch",
    "with_torch",
    default=True,
    show_default=True,
    help="Probe torch (off where NPD runs on a host without it).",
)
@click.option(
    "--torch-timeout",
    type=float,
    default=DEFAULT_TORCH_TIMEOUT,
    show_default=True,
    callback=_seconds,
    help="Seconds for importing torch and initialising CUDA.",
)
@click.option(
    "--smoke/--no-smoke",
    default=False,
    show_default=True,
    help="Also run the matmul and convolution smoke test on each GPU (CUDA work on GPUs that "
    "may be running jobs).",
)
@click.option(
    "--smoke-timeout",
    type=float,
    default=DEFAULT_SMOKE_TIMEOUT,
    show_default=True,
    callback=_seconds,
    help="Seconds for the smoke test, on top of --torch-timeout.",
)
@click.option(
    "--python",
    "python",
    type=click.Path(exists=True, dir_okay=False),
    help="Probe the torch of this interpreter.",
)
@click.option(
    "--deadline",
    "limit_seconds",
    type=float,
    default=DEFAULT_DEADLINE,
    show_default=True,
    callback=_seconds,
    help="Seconds for the whole run; past it every probe is stopped and the answer is Unknown "
    "(exit 2). Keep it under the plugin's NPD timeout.",
)
@click.option("--debug", is_flag=True, help="Let an unexpected error end in its traceback.")
def npd_cmd(
    expect_file: str | None,
    strict: bool,
    timeout: float,
    with_torch: bool,
    torch_timeout: float,
    smoke: bool,
    smoke_timeout: float,
    python: str | None,
    limit_seconds: float,
    debug: bool,
) -> None:
    """node-problem-detector custom plugin: probe and judge this machine, print one line of at
    most 80 bytes, exit 0 ready, 1 not ready, 2 cannot tell (NPD's OK, NonOK, Unknown)."""
    from envcheck.collect import Options

    options = Options(
        timeout=timeout,
        torch=with_torch,
        torch_timeout=torch_timeout,
        smoke=smoke,
        smoke_timeout=smoke_timeout,
        python=python,
    )
    code, line = run(options, expect_file, strict, limit_seconds, debug)
    click.echo(line)
    click.get_current_context().exit(code)
