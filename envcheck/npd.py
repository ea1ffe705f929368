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

The run must end on its own, well inside NPD's plugin timeout (see ``envcheck.health``: every
probe is bounded, and ``--deadline`` answers Unknown should the run still overrun).
"""

from __future__ import annotations

from typing import Any

import click

from envcheck import health

# NPD's default max_output_length, and what our monitor config sets: the condition message.
MAX_BYTES = 80

# NPD's exit protocol.
OK, NON_OK, UNKNOWN = 0, 1, 2


def one_line(text: str, limit: int = MAX_BYTES) -> str:
    return health.one_line(text, limit)


def verdict_line(report: Any, limit: int = MAX_BYTES) -> tuple[int, str]:
    """NPD's exit code and the one line for a judged report."""
    from envcheck.report import short_reason

    if report.verdict.ready:
        return OK, one_line(report.verdict.summary, limit)
    return NON_OK, short_reason(report, limit, health.PREFIX)


def run(
    options: Any, expect_file: str | None, strict: bool, limit_seconds: float, debug: bool = False
) -> tuple[int, str]:
    """Probe, judge and answer NPD: (exit code, one line). Bad input, an overrun and a crash are
    each Unknown with their reason (with ``debug``, a crash raises)."""
    from envcheck import expect

    try:
        expectations = expect.load(expect_file) if expect_file else expect.Expectations()
    except expect.ExpectError as exc:
        return UNKNOWN, one_line(f"bad --expect: {exc}")
    try:
        return verdict_line(health.judge_within(options, expectations, strict, limit_seconds))
    except health.DeadlineExceeded:
        return UNKNOWN, one_line(f"no verdict within --deadline {limit_seconds:g} s")
    except Exception as exc:
        if debug:
            raise
        return UNKNOWN, one_line(f"envcheck failed: {type(exc).__name__}: {exc}")


class _NpdCommand(click.Command):
    """A usage error is one line on stdout and exit 2 too: NPD shows only stdout."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            click.echo(one_line(f"bad usage: {exc.format_message()}"))
            ctx.exit(UNKNOWN)


@click.command("npd", cls=_NpdCommand)
@health.probe_options
@click.option("--debug", is_flag=True, help="Let an unexpected error end in its traceback.")
def npd_cmd(
    options: Any, expect_file: str | None, strict: bool, limit_seconds: float, debug: bool
) -> None:
    """node-problem-detector custom plugin: probe and judge this machine, print one line of at
    most 80 bytes, exit 0 ready, 1 not ready, 2 cannot tell (NPD's OK, NonOK, Unknown)."""
    code, line = run(options, expect_file, strict, limit_seconds, debug)
    click.echo(line)
    click.get_current_context().exit(code)
