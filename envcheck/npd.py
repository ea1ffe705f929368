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

# NPD's exit protocol: OK, NonOK (the condition turns True), Unknown.
OK, NON_OK, UNKNOWN = health.READY, health.NOT_READY, health.NO_VERDICT


def one_line(text: str) -> str:
    """A line of ours for NPD: the prefix, at most MAX_BYTES."""
    from envcheck.report import PREFIX
    from envcheck.text import one_line as cut

    return cut(PREFIX + text, MAX_BYTES)


class _NpdCommand(click.Command):
    """A usage error is one line on stdout and exit 2 too: NPD shows only stdout."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            click.echo(one_line(f"bad usage: {exc.format_message()}"))
            ctx.exit(UNKNOWN)


@click.command("npd", cls=_NpdCommand)
@health.scheduled_options
@click.option("--debug", is_flag=True, help="Let an unexpected error end in its traceback.")
def npd_cmd(
    options: Any, expect_file: str | None, strict: bool, limit_seconds: float, debug: bool
) -> None:
    """node-problem-detector custom plugin: probe and judge this machine, print one line of at
    most 80 bytes, exit 0 ready, 1 not ready, 2 cannot tell (NPD's OK, NonOK, Unknown)."""
    outcome = health.check(options, expect_file, strict, limit_seconds, MAX_BYTES, debug)
    click.echo(outcome.line)
    click.get_current_context().exit(outcome.code)
