"""The doctor-style terminal report: a mark per check, the value found, the remedy under each
non-pass, one verdict line. rich handles colour, NO_COLOR and non-TTY output."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.table import Table

from envcheck import __version__
from envcheck.checks import FAIL, PASS, SKIP, WARN
from envcheck.report import Report
from envcheck.text import printable


def escape(text: str) -> str:
    """Safe to print: no rich markup, no terminal control sequences."""
    return escape_markup(printable(text))


MARKS = {PASS: ("✓", "green"), WARN: ("!", "yellow"), FAIL: ("✗", "red"), SKIP: ("-", "dim")}


def render(report: Report, file: TextIO | None = None) -> None:
    console = Console(file=file, highlight=False, soft_wrap=True)
    facts = report.facts
    where = facts.source or facts.platform or "saved facts"
    if facts.container.inside:
        where += f", inside a {facts.container.runtime or 'container'} container"
    console.print(f"[bold]envcheck[/] {__version__} — {escape(where)}")
    console.print()
    for result in report.checks:
        mark, colour = MARKS[result.status]
        console.print(
            f"[{colour}]\\[{mark}][/] [bold]{escape(result.title)}[/] "
            f"[dim]({result.id})[/]: {escape(result.summary)}"
        )
        if result.remedy:
            console.print(f"    [{colour}]→[/] {escape(result.remedy.text)}")
            for command in result.remedy.commands:
                console.print(f"      [cyan]$ {escape(command)}[/]")
    table = perf_table(report)
    if table is not None:
        console.print()
        console.print(table)
    slow = [p for p in facts.probes if p.status in ("timeout", "error")]
    if slow:
        console.print()
        for probe in slow:
            console.print(
                f"[yellow]probe {probe.name} {probe.status}[/]: {escape(probe.detail or '')}"
            )
    console.print()
    colour = "green" if report.verdict.ready else "red"
    console.print(f"[bold {colour}]{escape(report.verdict.summary)}[/]")


def perf_table(report: Report) -> Table | None:
    """What `envcheck perf` measured, per device and test: measured, expected, peak, share."""
    from envcheck.checks.perf import rows

    judged = rows(report.facts)
    if not judged:
        return None
    table = Table(title="performance", title_justify="left")
    for name, justify in (
        ("device", "left"),
        ("model", "left"),
        ("test", "left"),
        ("measured", "right"),
        ("expected", "right"),
        ("peak", "right"),
        ("share", "right"),
    ):
        table.add_column(name, justify=justify)
    for r in judged:
        mark, colour = MARKS[r.status]
        measured = f"{r.value:g} {r.unit}" if r.value is not None else f"failed: {r.error}"
        expected = f"{r.expected:.4g}" if r.expected is not None else "—"
        if r.expected_basis and not r.expected_basis.startswith("published"):
            expected += " (floor)"
        share = f"[{colour}]{r.share:.0%} {mark}[/]" if r.share is not None else ""
        table.add_row(
            escape(r.device),
            escape(r.model or r.name or "?"),
            escape(f"{r.kind} {r.variant}"),
            escape(measured),
            expected,
            f"{r.peak:.4g}" if r.peak is not None else "—",
            share,
        )
    return table
