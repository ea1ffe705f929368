"""JSON Schemas for the facts and the report, generated from the dataclasses that define them.

The shipped files in ``envcheck/schemas/`` are this module's output (``python -m envcheck.schema``
rewrites them); a test keeps them equal, so the classes stay the one source of truth.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

from envcheck.checks import STATUSES, CheckResult
from envcheck.facts import SCHEMA as FACTS_SCHEMA
from envcheck.facts import Facts
from envcheck.fleet.table import SCHEMA as FLEET_SCHEMA
from envcheck.fleet.table import Fleet
from envcheck.report import SCHEMA as REPORT_SCHEMA
from envcheck.report import PerfRow, Verdict

DIR = Path(__file__).parent / "schemas"
# The current versions; facts-1.json and report-1.json stay shipped as published (still read).
FILES = {
    "facts": DIR / "facts-2.json",
    "report": DIR / "report-2.json",
    "fleet": DIR / "fleet-1.json",
}
_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _type(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        return {"anyOf": [_type(inner, defs), {"type": "null"}]}
    if origin in (list, tuple):  # tuple[X, ...] serialises as a list
        return {"type": "array", "items": _type(typing.get_args(tp)[0], defs)}
    if origin is dict:
        return {"type": "object", "additionalProperties": _type(typing.get_args(tp)[1], defs)}
    if dataclasses.is_dataclass(tp):
        _object(tp, defs)
        return {"$ref": f"#/$defs/{tp.__name__}"}
    return {"type": _SCALARS[tp]}


def _object(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    if cls.__name__ in defs:
        return defs[cls.__name__]
    defs[cls.__name__] = schema = {"type": "object"}  # placeholder first: classes may nest
    hints = typing.get_type_hints(cls)
    props = {}
    required = []
    for f in dataclasses.fields(cls):
        if not f.metadata.get("added"):
            required.append(f.name)
        prop = _type(hints[f.name], defs)
        if "doc" in f.metadata:
            prop = {"description": f.metadata["doc"], **prop}
        if "bounds" in f.metadata:
            low, high = f.metadata["bounds"]
            numeric = prop["anyOf"][0] if "anyOf" in prop else prop
            numeric.update(minimum=low, maximum=high)
        props[f.name] = prop
    schema.update(
        description=(cls.__doc__ or "").strip().splitlines()[0],
        properties=props,
        required=required,
        additionalProperties=False,
    )
    return schema


def facts_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    root = dict(_object(Facts, defs))
    del defs["Facts"]
    root["properties"] = {**root["properties"], "schema": {"const": FACTS_SCHEMA}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://gpu-envkit.invalid/schemas/{FILES['facts'].name}",
        "title": FACTS_SCHEMA,
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def report_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    facts = facts_schema()
    defs.update(facts["$defs"])
    check = _type(CheckResult, defs)
    defs["CheckResult"]["properties"]["status"] = {"enum": list(STATUSES)}
    perf_row = _type(PerfRow, defs)
    defs["PerfRow"]["properties"]["status"] = {"enum": list(STATUSES)}
    defs["Facts"] = {k: v for k, v in facts.items() if not k.startswith("$") and k != "title"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://gpu-envkit.invalid/schemas/{FILES['report'].name}",
        "title": REPORT_SCHEMA,
        "description": "An envcheck report: one verdict, the check results, the facts judged.",
        "type": "object",
        "properties": {
            "schema": {"const": REPORT_SCHEMA},
            "verdict": _type(Verdict, defs),
            "checks": {"type": "array", "items": check},
            "expectations": {"type": "object", "description": "The --expect keys that were set."},
            "facts": {"$ref": "#/$defs/Facts"},
            "perf": {
                "type": "array",
                "items": perf_row,
                "description": "With `envcheck perf` or --perf: each measurement with the figure "
                "it was judged against (expected, what that is, the peak), its share and status.",
            },
        },
        "required": ["schema", "verdict", "checks", "expectations", "facts"],
        "additionalProperties": False,
        "$defs": dict(sorted(defs.items())),
    }


def fleet_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    root = dict(_object(Fleet, defs))
    del defs["Fleet"]
    root["properties"] = {"schema": {"const": FLEET_SCHEMA}, **root["properties"]}
    root["required"] = ["schema", *root["required"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://gpu-envkit.invalid/schemas/{FILES['fleet'].name}",
        "title": FLEET_SCHEMA,
        **root,
        "$defs": dict(sorted(defs.items())),
    }


def render_all() -> dict[Path, str]:
    return {
        FILES["facts"]: json.dumps(facts_schema(), indent=1) + "\n",
        FILES["report"]: json.dumps(report_schema(), indent=1) + "\n",
        FILES["fleet"]: json.dumps(fleet_schema(), indent=1) + "\n",
    }


if __name__ == "__main__":
    for path, text in render_all().items():
        path.write_text(text)
        print(f"wrote {path}", file=sys.stderr)
