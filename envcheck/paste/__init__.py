"""Facts from what users paste: `collect_env` and `nvidia-smi` output, torch and CUDA messages.

Each reader returns observations (section -> field -> value; ``gpus`` only when the text says
which GPUs there are). Several inputs merge into one set of facts, the first input to state a
value winning. Whatever no input states is unknown, with the reason, so the checks skip it rather
than judge an absence nobody observed. ``provenance`` names the input of every value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from envcheck.facts import (
    Container,
    Docker,
    Driver,
    Facts,
    FactsError,
    Gpu,
    Nvcc,
    Torch,
    from_json,
)
from envcheck.paste import collect_env, errors, nvidia_smi

NOT_IN_TEXT = "not in the pasted text"

Reader = tuple[Callable[[str], bool], Callable[[str], dict[str, Any]]]
READERS: dict[str, Reader] = {
    "collect-env": (collect_env.detect, collect_env.parse),
    "nvidia-smi": (nvidia_smi.detect, nvidia_smi.parse),
    "text": (errors.detect, errors.parse),
}
SECTIONS: dict[str, type] = {
    "driver": Driver,
    "torch": Torch,
    "nvcc": Nvcc,
    "container": Container,
    "docker": Docker,
}
# Fields that say how a value was read, not what the machine is.
_META = {"index", "unavailable", "error", "error_kind", "python"}


class PasteError(ValueError):
    """Text that none of the readers recognises, or that states impossible values."""


def observe(text: str, name: str, fmt: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """What one input states, and which readers recognised it. ``fmt`` forces one reader."""
    chosen = [fmt] if fmt else [f for f, (detect, _) in READERS.items() if detect(text)]
    if not chosen:
        raise PasteError(
            f"{name}: not a facts file, a report, collect_env or nvidia-smi output, nor a torch, "
            "CUDA or NVML message envcheck knows"
        )
    merged: dict[str, Any] = {}
    for fmt_name in chosen:
        _merge(merged, READERS[fmt_name][1](text), f"{fmt_name} ({name})", {})
    return merged, chosen


def _merge(into: dict[str, Any], new: dict[str, Any], origin: str, where: dict[str, str]) -> None:
    """Fill ``into`` from ``new`` where ``into`` has no value yet; ``where`` records origins."""
    for section, values in new.items():
        if section == "gpus":
            known = into.setdefault("gpus", [])
            for gpu in values:
                match = next((g for g in known if g.get("index") == gpu.get("index")), None)
                if match is None:
                    known.append(match := {"index": gpu.get("index", len(known))})
                for key, value in gpu.items():
                    if key not in match:
                        match[key] = value
                        where.setdefault(f"gpus[{match['index']}].{key}", origin)
        elif isinstance(values, dict):
            target = into.setdefault(section, {})
            for key, value in values.items():
                if key == "messages":
                    target.setdefault(key, []).extend(value)
                elif key not in target:
                    target[key] = value
                    where.setdefault(f"{section}.{key}", origin)
        elif section not in into:
            into[section] = values
            where.setdefault(section, origin)


def read(inputs: list[tuple[str, str]], fmt: str | None = None) -> Facts:
    """Facts from pasted texts, given as (name, text) pairs."""
    merged: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for name, text in inputs:
        observed, chosen = observe(text, name, fmt)
        _merge(merged, observed, f"{'+'.join(chosen)} ({name})", provenance)
    provenance = {k: v for k, v in provenance.items() if not k.endswith(".index")}
    try:
        sections = {
            section: _section(cls, merged.get(section, {}), section)
            for section, cls in SECTIONS.items()
        }
        gpus = [_gpu(g) for g in merged.get("gpus", [])]
    except (FactsError, TypeError, ValueError) as exc:
        raise PasteError(f"{', '.join(n for n, _ in inputs)}: {exc}") from exc
    unavailable = {"env": NOT_IN_TEXT}
    if "gpus" not in merged:
        unavailable["gpus"] = NOT_IN_TEXT
    return Facts(
        source="pasted: " + ", ".join(name for name, _ in inputs),
        platform=merged.get("platform"),
        gpus=gpus,
        unavailable=unavailable,
        provenance=provenance,
        **sections,
    )


def _unknown_fields(cls: type, observed: dict[str, Any]) -> dict[str, Any]:
    """Every field the text did not state: null (or empty), and why."""
    values: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for f in dataclasses.fields(cls):
        if f.name in _META or f.name in observed:
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else None
        values[f.name] = default if isinstance(default, list | dict) else None
        unavailable[f.name] = NOT_IN_TEXT
    return {**values, "unavailable": unavailable}


def _section(cls: type, observed: dict[str, Any], path: str) -> Any:
    built = from_json(cls, {k: v for k, v in observed.items() if k != "messages"}, path)
    fields = _unknown_fields(cls, observed)
    if observed.get("messages"):
        fields["messages"] = list(dict.fromkeys(observed["messages"]))
        fields["unavailable"].pop("messages", None)
    return dataclasses.replace(built, **fields)


def _gpu(observed: dict[str, Any]) -> Gpu:
    built = from_json(Gpu, observed, f"gpus[{observed.get('index', 0)}]")
    if built.error:  # a GPU nothing could be read of: its other fields say nothing more
        return built
    return dataclasses.replace(built, **_unknown_fields(Gpu, observed))
