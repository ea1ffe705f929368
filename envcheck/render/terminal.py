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
    """What `envcheck perf` measured, per device and test: measured, expected, peak."""
    from envcheck.checks.perf import judged

    rows = judged(report.facts)
    if not rows:
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
    for j in rows:
        mark, colour = MARKS[j.status]
        m, ref = j.m, j.reference
        measured = f"{m.value:g} {m.unit}" if m.value is not None else f"failed: {m.error}"
        expected = f"{ref.value:.4g}" if ref else "—"
        if ref and not ref.basis.startswith("published"):
            expected += " (floor)"
        share = f"[{colour}]{j.share:.0%} {mark}[/]" if j.share is not None else ""
        table.add_row(
            escape(m.device),
            escape(j.model.model if j.model else (m.name or "?")),
            escape(f"{m.kind} {m.variant}"),
            escape(measured),
            expected,
            f"{ref.peak:.4g}" if ref else "—",
            share,
        )
    return table
