"""Turn the real H200 measurement in shared/fixtures into an envcheck.facts/1 file.

`python -m tests.h200 > tests/data/h200-facts.json` regenerates the committed file; a test checks
it still matches. Values the fixture did not record stay null, with the reason where it matters.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from envcheck.facts import SCHEMA
from envcheck.probes.nvml import _cuda_text, _reason_names
from envcheck.probes.torch_runtime import _cudnn_text

FIXTURE = "fixtures/h200-device-2026-11-27.json"


def convert(raw: dict[str, Any]) -> dict[str, Any]:
    nvml, torch = raw["nvml"], raw["torch"]
    cc = "{}.{}".format(*nvml["cc"])
    not_recorded = "not recorded in the fixture"
    gpu = {
        "index": 0,
        "name": nvml["name"],
        "uuid": nvml["uuid"],
        "pci_bus_id": None,
        "compute_capability": cc,
        "memory_total_mib": nvml["mem_total"] // (1024 * 1024),
        "memory_used_mib": None,
        "mig_mode": bool(nvml["mig"][0]),
        "ecc_enabled": bool(nvml["ecc"][0]),
        "remapped_rows_pending": bool(nvml["remapped_rows"][2]),
        "remapped_rows_failed": bool(nvml["remapped_rows"][3]),
        "retired_pages_pending": None,
        "pcie_gen": nvml["pcie_gen"][0],
        "pcie_gen_max": nvml["pcie_gen"][1],
        "pcie_width": nvml["pcie_width"][0],
        "pcie_width_max": nvml["pcie_width"][1],
        "power_limit_w": nvml["power_limit_mw"] / 1000,
        "temperature_c": nvml["temp"],
        "clock_event_reasons": _reason_names(nvml["throttle"]),
        "persistence_mode": bool(nvml["persistence"]),
        "unavailable": {
            "pci_bus_id": not_recorded,
            "memory_used_mib": not_recorded,
            "retired_pages_pending": "not supported",
        },
    }
    return {
        "schema": SCHEMA,
        "source": f"shared/{FIXTURE} ({raw['observed']})",
        "driver": {
            "version": nvml["driver"],
            "cuda": _cuda_text(nvml["cuda_driver"]),
            "nvml_version": nvml["nvml_version"],
        },
        "gpus": [gpu],
        "torch": {
            "version": torch["version"],
            "cuda": torch["cuda"],
            "cudnn": _cudnn_text(torch["cudnn_version_int"]),
            "arch_list": torch["arch_list"],
            # the fixture timed a first CUDA tensor on the device, so CUDA was available
            "cuda_available": "first_cuda_tensor" in raw["timings_s"],
            "device_count": nvml["count"],
            "devices": [
                {
                    "index": 0,
                    "name": nvml["name"],
                    "capability": "{}.{}".format(*torch["device_capability"]),
                }
            ],
        },
        "nvcc": {
            "path": raw["which"]["nvcc"],
            "found_via": "PATH",
            "version": raw["nvcc_version_tail"].split("release ")[1].split(",")[0],
            "build": raw["nvcc_version_tail"].split(", ")[1].split()[0],
        },
        "container": {
            "inside": raw["dockerenv_exists"],
            "runtime": "docker" if raw["dockerenv_exists"] else None,
            "evidence": ["/.dockerenv"] if raw["dockerenv_exists"] else [],
        },
    }


if __name__ == "__main__":
    shared = Path(__file__).resolve().parent.parent.parent / "shared"
    raw = json.loads((shared / FIXTURE).read_text())
    json.dump(convert(raw), sys.stdout, indent=1)
    sys.stdout.write("\n")
