"""A fleet table: per-node envcheck reports merged into one row per node, with drift.

A report already carries its verdict and its checks, judged on the node with the node's own
expectations; the fleet reads them and never judges again (a node's verdict is the node's). It
reads only what the table needs, each value type-checked, plus the verdict's agreement with the
checks: a report whose verdict says ready while a check failed is corrupt, not ready.

Inputs (``load``): report files, folders (every ``*.json`` directly inside, by name) and ``-``
(standard input). Every input holds one ``envcheck.report/2`` (or ``/1``) report, a JSON array of
reports, or reports one after another (JSON lines, or ``envcheck --json`` outputs concatenated), at
most 16 MiB. An input that cannot be read becomes an unreadable row naming the problem; it never
stops the others. A ``/1`` report is read like a ``/2``: its facts have no hostname (the node is
named after its file) and no ``unavailable``: its GPU count is unknown when its driver has an error.

Drift (``merge``): for each value in ``FIELDS``, a node whose value differs from the most common
value among the nodes that reported it gets a ``Drift`` warning naming the value and the majority.
When several values tie for most common there is no majority, and every node that reported the
value drifts. Unknown values (null, not reported, an unreadable NVML for the GPU count) are never
drift.

Pure functions, no click: the CLI turns ``FleetError`` into one line and exit 2.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path
from typing import Any

from envcheck.checks import FAIL, STATUSES, WARN
from envcheck.facts import READABLE as FACTS_READABLE
from envcheck.facts import to_json
from envcheck.report import READABLE as REPORT_READABLE
from envcheck.report import SCHEMA as REPORT_SCHEMA
from envcheck.report import InputError, read_input

SCHEMA = "envcheck.fleet/1"
STDIN = "-"


class FleetError(ValueError):
    """A fleet that cannot be built at all (a missing path, no readable report): one line."""


def _doc(text: str) -> dict[str, str]:
    """A field's documentation: it ends up in the JSON Schema (envcheck/schemas/fleet-1.json)."""
    return {"doc": text}


@dataclass(frozen=True)
class Versions:
    """The versions a node reported, as its facts hold them; null: not reported (never drift)."""

    driver: str | None = _field(metadata=_doc("NVIDIA driver version (facts.driver.version)."))
    driver_cuda: str | None = _field(
        metadata=_doc("Newest CUDA the driver supports (facts.driver.cuda).")
    )
    torch: str | None = _field(metadata=_doc("torch version (facts.torch.version)."))
    torch_cuda: str | None = _field(metadata=_doc("CUDA torch was built with (facts.torch.cuda)."))
    cudnn: str | None = _field(metadata=_doc("cuDNN torch loaded (facts.torch.cudnn)."))
    gpu_count: int | None = _field(
        metadata=_doc("GPUs NVML listed; null when NVML could not list them.")
    )
    gpu_models: list[str] | None = _field(
        metadata=_doc("The GPUs' distinct names, sorted; null when none read.")
    )


# Versions attribute -> its name in the table; the order of the table's columns and of `fields`.
FIELDS = {
    "driver": "driver",
    "driver_cuda": "driver CUDA",
    "torch": "torch",
    "torch_cuda": "torch CUDA",
    "cudnn": "cuDNN",
    "gpu_count": "GPU count",
    "gpu_models": "GPU model",
}


@dataclass(frozen=True)
class Drift:
    """A value of this node that differs from the fleet's majority (a warning)."""

    field: str = _field(
        metadata=_doc("The value: a key of `versions` (driver, driver_cuda, torch, ...).")
    )
    value: str = _field(metadata=_doc("This node's value, as text (GPU models joined by ', ')."))
    majority: str | None = _field(
        metadata=_doc("The value most nodes that reported it have; null when several tie.")
    )
    summary: str = _field(metadata=_doc("One line naming the field, this value and the majority."))


@dataclass(frozen=True)
class Node:
    """One node's row: an input that held a report, or one that could not be read."""

    name: str = _field(
        metadata=_doc("The report's facts.hostname; else the input's file name without .json.")
    )
    source: str = _field(
        metadata=_doc("The input it came from ('-' is stdin; '[i]': the i-th report in it).")
    )
    ready: bool | None = _field(
        metadata=_doc("The report's verdict; null when the input could not be read.")
    )
    summary: str | None = _field(
        metadata=_doc("The report's verdict line, e.g. 'ready: 10 passed, 7 skipped'.")
    )
    reason: str | None = _field(
        metadata=_doc(
            "The first check that makes it not ready, 'id: summary' (+N more); null when ready."
        )
    )
    failed: list[str] = _field(metadata=_doc("Ids of the checks that failed."))
    warned: list[str] = _field(metadata=_doc("Ids of the checks that warned."))
    versions: Versions | None = _field(
        metadata=_doc("Key versions; null when the input could not be read.")
    )
    drift: list[Drift] = _field(metadata=_doc("Values that differ from the fleet's majority."))
    error: str | None = _field(
        metadata=_doc("Why the input could not be read (one line); null when it could.")
    )


@dataclass(frozen=True)
class Spread:
    """How the fleet's nodes spread over one value."""

    field: str = _field(metadata=_doc("A key of `versions`."))
    title: str = _field(metadata=_doc("Its name in the table, e.g. 'driver CUDA'."))
    majority: str | None = _field(
        metadata=_doc("The most common value; null when several tie or none reported.")
    )
    values: dict[str, int] = _field(metadata=_doc("Value -> number of nodes, most common first."))
    unknown: int = _field(metadata=_doc("Readable nodes that did not report it."))


@dataclass(frozen=True)
class FleetVerdict:
    """Ready when every input is a node that is ready (with --strict: and none drifts)."""

    ready: bool = _field(
        metadata=_doc("Every input was read and every node is ready (strict: and no drift).")
    )
    strict: bool = _field(metadata=_doc("Drift counts as not ready (--strict)."))
    nodes: int = _field(metadata=_doc("Rows: nodes read plus inputs that could not be read."))
    ready_nodes: int = _field(metadata=_doc("Nodes whose report says ready."))
    not_ready: int = _field(metadata=_doc("Nodes whose report says not ready."))
    unreadable: int = _field(metadata=_doc("Inputs that could not be read."))
    drifted: int = _field(metadata=_doc("Nodes with at least one value off the fleet's majority."))
    summary: str = _field(
        metadata=_doc("One line, e.g. 'fleet NOT ready: 3 nodes: 2 ready, 1 not ready'.")
    )


@dataclass(frozen=True)
class Fleet:
    """Many nodes' envcheck reports, merged: one row per node and drift across them."""

    verdict: FleetVerdict = _field(metadata=_doc("The fleet's verdict."))
    fields: list[Spread] = _field(
        metadata=_doc("Per value in the table: how the nodes spread over it.")
    )
    nodes: list[Node] = _field(metadata=_doc("One row per node, in input order."))

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **to_json(self)}


# --- reading ----------------------------------------------------------------------------------


def load(paths: Iterable[str | Path], on_error: Callable[[str], None] | None = None) -> list[Node]:
    """One row per report in ``paths`` (files, folders, ``-``), in order. An input that cannot be
    read becomes an unreadable row, and ``on_error`` gets its one-line message; an empty folder
    beside other inputs only the message. A path that does not exist, or folders with no *.json
    file at all, raise ``FleetError`` before anything is read."""
    inputs: list[str] = []
    empty: list[str] = []
    for path in paths:
        name = str(path)
        if name == STDIN:
            if STDIN in inputs:
                raise FleetError("-: standard input given twice")
            inputs.append(STDIN)
        elif os.path.isdir(name):
            found = _json_files(name)
            if not found:
                empty.append(name)
            inputs.extend(found)
        elif os.path.exists(name):
            inputs.append(name)
        else:
            raise FleetError(f"{name}: no such file or folder")
    if not inputs:
        raise FleetError(f"{', '.join(empty)}: no *.json files, no envcheck report")
    for name in empty:
        if on_error:
            on_error(f"{name}: no *.json files in this folder")
    nodes: list[Node] = []
    for source in inputs:
        try:
            found_nodes = read_reports(read_input(source), source)
        except InputError as exc:
            found_nodes = [unreadable(_stem(source), source, str(exc))]
        for node in found_nodes:
            if node.error is not None and on_error:
                on_error(node.error)
        nodes.extend(found_nodes)
    return nodes


def _json_files(folder: str) -> list[str]:
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if e.name.endswith(".json") and e.is_file())
    return [os.path.join(folder, n) for n in names]


def _stem(source: str) -> str:
    return "stdin" if source == STDIN else Path(source).stem


def read_reports(text: str, source: str) -> list[Node]:
    """The rows of one input's text: one report, a JSON array of them, or several one after
    another. Rows of a several-report input are named ``source[i]`` (and ``stem[i]`` when a
    report has no hostname)."""
    stem = _stem(source)
    documents, error = _documents(text)
    if len(documents) == 1 and isinstance(documents[0], list) and error is None:
        documents = documents[0]
        if not documents:
            return [unreadable(stem, source, f"{source}: an empty list, no report")]
        many = True
    else:
        many = len(documents) + (error is not None) > 1
    if not documents and error is None:
        return [unreadable(stem, source, f"{source}: empty, no report")]
    rows = []
    for i, data in enumerate(documents):
        where = f"{source}[{i}]" if many else source
        rows.append(_node(data, f"{stem}[{i}]" if many else stem, where))
    if error is not None:
        where = f"{source}[{len(documents)}]" if many else source
        name = f"{stem}[{len(documents)}]" if many else stem
        rows.append(unreadable(name, where, f"{where}: {error}"))
    return rows


_SPACE = re.compile(r"[ \t\r\n]*")  # what JSON allows between values


def _documents(text: str) -> tuple[list[Any], str | None]:
    """The JSON values in ``text``, one after another, and why the rest could not be read."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    end, size = 0, len(text)
    while True:
        end = _SPACE.match(text, end).end()  # always matches: * allows none
        if end == size:
            return found, None
        try:
            value, end = decoder.raw_decode(text, end)
        except ValueError as exc:
            return found, f"not valid JSON: {exc}"
        except RecursionError:
            return found, "nested too deeply to be a report"
        found.append(value)


def unreadable(name: str, source: str, error: str) -> Node:
    """A row without a report: an input that could not be read, a node that wrote none."""
    return Node(name, source, None, None, None, [], [], None, [], error)


class _Malformed(ValueError):
    """Why one JSON value is not a report the fleet can read."""


def _node(data: Any, stem: str, source: str) -> Node:
    try:
        return _parse(data, stem, source)
    except _Malformed as exc:
        return unreadable(stem, source, f"{source}: {exc}")


_REPORT_KEYS = frozenset({"schema", "verdict", "checks", "expectations", "facts"})


def _parse(data: Any, stem: str, source: str) -> Node:
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema not in REPORT_READABLE:
        if schema in FACTS_READABLE:
            raise _Malformed(
                f"a facts file ({schema}), not a report: `envcheck judge FILE --json` judges it"
            )
        found = f" (schema {_short(schema)})" if isinstance(schema, str) else ""
        raise _Malformed(f"not an {REPORT_SCHEMA} report{found}")
    unknown = sorted(set(data) - _REPORT_KEYS)
    if unknown:
        raise _Malformed(f"unknown key {_short(unknown[0])}")
    verdict = _section(data, "verdict", "verdict")
    ready = _value(verdict, "ready", bool, "verdict")
    strict = _value(verdict, "strict", bool, "verdict")
    summary = _value(verdict, "summary", str, "verdict")
    checks = data.get("checks")
    if not isinstance(checks, list):
        raise _Malformed(f"checks: expected a list, got {_kind(checks)}")
    failed: list[str] = []
    warned: list[str] = []
    blocking: list[str] = []
    for i, check in enumerate(checks):
        where = f"checks[{i}]"
        if not isinstance(check, dict):
            raise _Malformed(f"{where}: expected an object, got {_kind(check)}")
        check_id = _value(check, "id", str, where)
        status = check.get("status")
        if status not in STATUSES:
            raise _Malformed(f"{where}.status: not one of {', '.join(STATUSES)}")
        if status == FAIL or (strict and status == WARN):
            blocking.append(f"{check_id}: {_value(check, 'summary', str, where)}")
        if status == FAIL:
            failed.append(check_id)
        elif status == WARN:
            warned.append(check_id)
    # The verdict is the checks' (envcheck.report.verdict): one that hides a failure is corrupt.
    if ready and blocking:
        raise _Malformed(f"its verdict says ready, but {blocking[0].split(': ')[0]} blocks it")
    if not ready and not blocking:
        raise _Malformed("its verdict says not ready, but no check blocks it")
    reason = None
    if blocking:
        more = f" (+{len(blocking) - 1} more)" if len(blocking) > 1 else ""
        reason = blocking[0] + more
    facts = _section(data, "facts", "facts")
    if facts.get("schema") not in FACTS_READABLE:
        raise _Malformed(f"facts: not {' or '.join(FACTS_READABLE)}")
    hostname = _value(facts, "hostname", str, "facts", optional=True)
    versions = _versions(facts)
    name = hostname or stem
    return Node(name, source, ready, summary, reason, failed, warned, versions, [], None)


def _versions(facts: dict[str, Any]) -> Versions:
    driver = _section(facts, "driver", "facts")
    torch = _section(facts, "torch", "facts")
    gpus = facts.get("gpus")
    if not isinstance(gpus, list):
        raise _Malformed(f"facts.gpus: expected a list, got {_kind(gpus)}")
    names = set()
    for i, gpu in enumerate(gpus):
        if not isinstance(gpu, dict):
            raise _Malformed(f"facts.gpus[{i}]: expected an object, got {_kind(gpu)}")
        name = _value(gpu, "name", str, f"facts.gpus[{i}]", optional=True)
        if name:
            names.add(name)
    unavailable = facts.get("unavailable", {})
    if not isinstance(unavailable, dict):
        raise _Malformed(f"facts.unavailable: expected an object, got {_kind(unavailable)}")
    # No GPU listed is a count only when NVML answered: a driver that could not be read lists
    # none, and a facts/2 file says why in unavailable.gpus (a facts/1 file cannot: the error).
    driver_error = _value(driver, "error", str, "facts.driver", optional=True)
    count = None if driver_error or "gpus" in unavailable else len(gpus)
    return Versions(
        driver=_value(driver, "version", str, "facts.driver", optional=True),
        driver_cuda=_value(driver, "cuda", str, "facts.driver", optional=True),
        torch=_value(torch, "version", str, "facts.torch", optional=True),
        torch_cuda=_value(torch, "cuda", str, "facts.torch", optional=True),
        cudnn=_value(torch, "cudnn", str, "facts.torch", optional=True),
        gpu_count=count,
        gpu_models=sorted(names) or None,
    )


def _section(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        path = key if where == key else f"{where}.{key}"
        raise _Malformed(f"{path}: expected an object, got {_kind(value)}")
    return value


def _value(data: dict[str, Any], key: str, tp: type, where: str, optional: bool = False) -> Any:
    value = data.get(key)
    if optional and value is None:
        return None
    if not isinstance(value, tp):
        wanted = {str: "a string", bool: "true or false"}[tp] + (" or null" if optional else "")
        raise _Malformed(f"{where}.{key}: expected {wanted}, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --- merging ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def repeated_names(rows: list[Node]) -> dict[str, list[str]]:
    """Node names that more than one readable row carries -> those rows' sources."""
    sources: dict[str, list[str]] = {}
    for row in rows:
        if row.versions is not None:
            sources.setdefault(row.name, []).append(row.source)
    return {name: found for name, found in sources.items() if len(found) > 1}


def require_readable(rows: list[Node]) -> None:
    """Inputs with no readable report at all are bad input, not a fleet: ``FleetError``."""
    if not any(n.versions is not None for n in rows):
        raise FleetError(
            f"no readable envcheck report ({len(rows)} unreadable)"
            if rows
            else "no envcheck report"
        )


def merge(nodes: Iterable[Node], strict: bool = False) -> Fleet:
    """The fleet of these rows: drift per node, the spread of every value, one verdict (rows
    without a report, e.g. nodes that did not answer, count as not ready)."""
    rows = list(nodes)
    readable = [i for i, n in enumerate(rows) if n.versions is not None]
    drift: dict[int, list[Drift]] = {}
    spreads = []
    for attr, title in FIELDS.items():
        known = []
        for i in readable:
            value = getattr(rows[i].versions, attr)
            if value is not None:
                known.append((i, _text(value)))
        ranked = Counter(v for _, v in known).most_common()  # ties: first seen first
        leaders = [v for v, c in ranked if c == ranked[0][1]] if ranked else []
        majority = leaders[0] if len(leaders) == 1 else None
        spreads.append(Spread(attr, title, majority, dict(ranked), len(readable) - len(known)))
        if len(ranked) < 2:
            continue
        if majority is None:
            shown = ", ".join(f"{v} on {c:,}" for v, c in ranked[:3])
            note = f"no majority: {shown}{', ...' if len(ranked) > 3 else ''}"
        else:
            note = f"the fleet's majority has {majority} ({ranked[0][1]:,} of {len(known):,} nodes)"
        for i, value in known:
            if value != majority:
                summary = f"{title} {value}; {note}"
                drift.setdefault(i, []).append(Drift(attr, value, majority, summary))
    rows = [dataclasses.replace(n, drift=drift[i]) if i in drift else n for i, n in enumerate(rows)]
    return Fleet(_verdict(rows, strict, len(drift)), spreads, rows)


def _verdict(rows: list[Node], strict: bool, drifted: int) -> FleetVerdict:
    ready = sum(n.ready is True for n in rows)
    not_ready = sum(n.ready is False for n in rows)
    unreadable = sum(n.error is not None for n in rows)
    ok = not_ready == 0 and unreadable == 0 and not (strict and drifted)
    parts = [
        f"{count:,} {word}"
        for count, word in (
            (ready, "ready"),
            (not_ready, "not ready"),
            (unreadable, "unreadable"),
            (drifted, "drifted"),
        )
        if count
    ]
    head = "fleet ready" if ok else "fleet NOT ready"
    strict_note = " (--strict: drift counts)" if strict and drifted else ""
    nodes = f"{len(rows):,} node{'s' if len(rows) != 1 else ''}"
    summary = f"{head}: {nodes}: {', '.join(parts)}{strict_note}"
    return FleetVerdict(ok, strict, len(rows), ready, not_ready, unreadable, drifted, summary)
