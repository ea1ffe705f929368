"""A fleet as a terminal table or as JUnit XML; nothing is decided here.

Node names, versions, check ids and summaries come from files the nodes wrote: the terminal gets
them through ``printable`` (an escape sequence shows as ``\\x1b``, never acts), XML through
``xml_safe``.

The table is laid out here rather than with ``rich.table.Table``: rich's table takes seconds for
ten thousand rows, and a fleet table is read by grep as often as by eye (one line per node, no
wrapping). rich still does the colour, and honours NO_COLOR and non-TTY output.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TextIO

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from envcheck.fleet.table import FIELDS, Fleet, Node
from envcheck.text import printable, xml_safe

# The table's columns after node and verdict: the versions, GPUs as one column, then the checks.
_COLUMNS = ("driver", "driver_cuda", "torch", "torch_cuda", "cudnn")
_HEADER = ("node", "verdict", *(FIELDS[c] for c in _COLUMNS), "GPUs", "checks (✗ failed, ! warned)")
# A longer cell (a hostile hostname, say) is cut, so one row cannot push every other row's columns.
_MAX_CELL = 48
DRIFT_MARK = "*"


def _safe(text: str) -> str:
    """One line for the terminal: control characters visible, never obeyed."""
    return printable(text).replace("\n", "\\n").replace("\t", "\\t")


def _cell(text: str) -> str:
    text = _safe(text)
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _row(node: Node) -> list[tuple[str, str | None]]:
    """(text, style) per column."""
    if node.versions is None:
        blanks: list[tuple[str, str | None]] = [("", None)] * (len(_COLUMNS) + 1)
        return [(_cell(node.name), None), ("unreadable", "red"), *blanks]
    drifted = {d.field for d in node.drift}
    cells: list[tuple[str, str | None]] = [
        (_cell(node.name), None),
        ("ready", "green") if node.ready else ("NOT ready", "red"),
    ]
    versions = node.versions
    for attr in _COLUMNS:
        value = getattr(versions, attr)
        text = _cell(value) if value is not None else "?"
        cells.append((text + DRIFT_MARK, "yellow") if attr in drifted else (text, None))
    count = "?" if versions.gpu_count is None else str(versions.gpu_count)
    models = ", ".join(versions.gpu_models) if versions.gpu_models else "?"
    gpus = _cell(f"{count}× {models}")
    if drifted & {"gpu_count", "gpu_models"}:
        cells.append((gpus + DRIFT_MARK, "yellow"))
    else:
        cells.append((gpus, None))
    return cells


def _checks(node: Node, text: Text) -> None:
    """The last column: no width to keep, so nothing is cut."""
    if node.failed:
        text.append("✗ " + " ".join(_safe(i) for i in node.failed), style="red")
    if node.warned:
        text.append("  " if node.failed else "")
        text.append("! " + " ".join(_safe(i) for i in node.warned), style="yellow")


def terminal(fleet: Fleet, file: TextIO | None = None) -> None:
    """The table (one line per node), the drift, why nodes are not ready, the verdict line."""
    console = Console(file=file, highlight=False, soft_wrap=True)
    rows = [(node, _row(node)) for node in fleet.nodes]
    widths = [cell_len(h) for h in _HEADER[:-1]]
    for _, cells in rows:
        for i, (cell, _style) in enumerate(cells):
            widths[i] = max(widths[i], cell_len(cell))
    out = Text()
    for i, head in enumerate(_HEADER):
        out.append(head.ljust(widths[i] + 2) if i < len(widths) else head, style="bold")
    out.append("\n")
    for node, cells in rows:
        for i, (cell, style) in enumerate(cells):
            out.append(cell, style=style)
            out.append(" " * (widths[i] - cell_len(cell) + 2))
        _checks(node, out)
        out.append("\n")

    drifting = [n for n in fleet.nodes if n.drift]
    if drifting:
        out.append(f"\nDrift ({DRIFT_MARK} in the table: a value off the fleet's majority):\n")
        for node in drifting:
            for drift in node.drift:
                out.append("  ! ", style="yellow")
                out.append(f"{_safe(node.name)}: {_safe(drift.summary)}\n")
    blocked = [n for n in fleet.nodes if n.reason or n.error]
    if blocked:
        out.append("\nNot ready:\n")
        for node in blocked:
            out.append("  ✗ ", style="red")
            why = node.error if node.error is not None else node.reason or ""
            out.append(f"{_safe(node.name)}: {_safe(why)}\n")
    out.append("\n")
    out.append(
        _safe(fleet.verdict.summary), style="bold green" if fleet.verdict.ready else "bold red"
    )
    console.print(out)


def junit(fleet: Fleet) -> str:
    """One testcase per node: a failure when it is not ready (or, with --strict, drifts), an
    error when its input could not be read; drift without --strict, the verdict line and the
    warnings go to system-out."""
    strict = fleet.verdict.strict
    suite = ET.Element(
        "testsuite",
        name="envcheck.fleet",
        tests=str(len(fleet.nodes)),
        failures=str(sum(_fails(n, strict) for n in fleet.nodes)),
        errors=str(fleet.verdict.unreadable),
        skipped="0",
    )
    for node in fleet.nodes:
        case = ET.SubElement(
            suite, "testcase", classname="envcheck.fleet", name=xml_safe(node.name)
        )
        if node.error is not None:
            ET.SubElement(case, "error", message=xml_safe(node.error))
            continue
        lines = [f"source: {node.source}", node.summary or ""]
        if node.failed:
            lines.append("failed: " + " ".join(node.failed))
        if node.warned:
            lines.append("warned: " + " ".join(node.warned))
        lines += [f"drift: {d.summary}" for d in node.drift]
        detail = xml_safe("\n".join(lines))
        if _fails(node, strict):
            message = node.reason or "; ".join(d.summary for d in node.drift)
            ET.SubElement(case, "failure", message=xml_safe(message)).text = detail
        else:
            ET.SubElement(case, "system-out").text = detail
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


def _fails(node: Node, strict: bool) -> bool:
    return node.ready is False or (strict and node.ready is True and bool(node.drift))
