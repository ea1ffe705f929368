"""`nvidia-smi` (the table, old and new layouts), `nvidia-smi -L` and `nvidia-smi -q`.

The table's header carries the driver version and the newest CUDA that driver runs; each GPU is a
block of rows (name, persistence, bus id; fan, temperature, power, memory; MIG mode). Names
nvidia-smi cut short end in "..." and are kept as printed.
"""

from __future__ import annotations

import re
from typing import Any

_HEADER = re.compile(
    r"NVIDIA-SMI\s+(?P<smi>[\d.]+)\s+Driver Version:\s+(?P<driver>[\d.]+)"
    r"(?:\s+CUDA Version:\s+(?P<cuda>[\d.]+|N/A))?"
)
_ROW1 = re.compile(
    r"^\|\s+(?P<index>\d+)\s+(?P<name>.+?)\s+(?P<persist>On|Off|WDDM|TCC|N/A)\s*\|"
    r"\s*(?P<bus>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.\d)"
)
_TEMP = re.compile(r"\b(\d+)C\b")
_POWER_CAP = re.compile(r"/\s*(\d+)W\b")
_MEMORY = re.compile(r"(\d+)MiB\s*/\s*(\d+)MiB")
_LIST = re.compile(r"^GPU (\d+): (.+?) \(UUID: (GPU-[0-9a-fA-F-]+)\)", re.MULTILINE)
_Q_GPU = re.compile(r"^GPU ([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.\d)\s*$")
_Q_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[^:]+?)\s*(?::\s*(?P<value>.*?))?\s*$")


def detect(text: str) -> bool:
    return bool(_HEADER.search(text) or "NVSMI LOG" in text or _LIST.search(text))


def parse(text: str) -> dict[str, Any]:
    if "NVSMI LOG" in text:
        return _parse_query(text)
    observed: dict[str, Any] = {"driver": {}}
    header = _HEADER.search(text)
    if header:
        observed["driver"]["version"] = header.group("driver")
        if header.group("cuda") and header.group("cuda") != "N/A":
            observed["driver"]["cuda"] = header.group("cuda")
        # With no GPU nvidia-smi prints "No devices were found", not a table: a header without
        # GPU rows is a paste cut short, and says nothing of the GPUs.
        if gpus := _table_gpus(text):
            observed["gpus"] = gpus
    listed = [
        {"index": int(m.group(1)), "name": m.group(2).strip(), "uuid": m.group(3)}
        for m in _LIST.finditer(text)
    ]
    if listed and not observed.get("gpus"):
        observed["gpus"] = listed
    return observed


def _table_gpus(text: str) -> list[dict[str, Any]]:
    gpus: list[dict[str, Any]] = []
    rows_after = 0
    for line in text.splitlines():
        match = _ROW1.match(line.strip())
        if match:
            gpu: dict[str, Any] = {
                "index": int(match.group("index")),
                "name": match.group("name").strip(),
                "pci_bus_id": match.group("bus"),
            }
            if match.group("persist") in ("On", "Off"):
                gpu["persistence_mode"] = match.group("persist") == "On"
            gpus.append(gpu)
            rows_after = 1
            continue
        if not gpus or not rows_after:
            continue
        if line.strip().startswith("+") or line.strip().startswith("|=") or not line.strip():
            rows_after = 0
            continue
        gpu = gpus[-1]
        if rows_after == 1:
            if temp := _TEMP.search(line):
                gpu["temperature_c"] = int(temp.group(1))
            if cap := _POWER_CAP.search(line):
                gpu["power_limit_w"] = float(cap.group(1))
            if memory := _MEMORY.search(line):
                gpu["memory_used_mib"] = int(memory.group(1))
                gpu["memory_total_mib"] = int(memory.group(2))
        else:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells and cells[-1] in ("Enabled", "Disabled"):
                gpu["mig_mode"] = cells[-1] == "Enabled"
        rows_after += 1
    return gpus


def _number(value: str) -> float | None:
    match = re.match(r"([\d.]+)", value)
    return float(match.group(1)) if match else None


_Q_FIELDS = {
    "Product Name": "name",
    "GPU UUID": "uuid",
    "PCI/Bus Id": "pci_bus_id",
    "PCI/Device Id": "pci_device_id",
    "FB Memory Usage/Total": "memory_total_mib",
    "FB Memory Usage/Used": "memory_used_mib",
    "PCI/GPU Link Info/PCIe Generation/Max": "pcie_gen_max",
    "PCI/GPU Link Info/PCIe Generation/Current": "pcie_gen",
    "PCI/GPU Link Info/Link Width/Max": "pcie_width_max",
    "PCI/GPU Link Info/Link Width/Current": "pcie_width",
    "Temperature/GPU Current Temp": "temperature_c",
    "Power Readings/Power Limit": "power_limit_w",
    "GPU Power Readings/Current Power Limit": "power_limit_w",
    "Persistence Mode": "persistence_mode",
    "MIG Mode/Current": "mig_mode",
    "Ecc Mode/Current": "ecc_enabled",
    "Remapped Rows/Pending": "remapped_rows_pending",
    "Remapped Rows/Remapping Failure Occurred": "remapped_rows_failed",
    "Fabric/State": "fabric_state",  # Not Supported, Not Started, In Progress, Completed
    "Fabric/Status": "fabric_status",  # Success, or what went wrong (once Completed)
}
_INTS = {
    "memory_total_mib",
    "memory_used_mib",
    "pcie_gen_max",
    "pcie_gen",
    "pcie_width_max",
    "pcie_width",
    "temperature_c",
}
_FLAGS = {"Enabled": True, "Disabled": False, "Yes": True, "No": False}


def _parse_query(text: str) -> dict[str, Any]:
    observed: dict[str, Any] = {"driver": {}, "gpus": []}
    stack: list[tuple[int, str]] = []
    gpu: dict[str, Any] | None = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("="):
            continue
        if match := _Q_GPU.match(line):
            gpu = {"index": len(observed["gpus"]), "pci_bus_id": match.group(1)}
            observed["gpus"].append(gpu)
            stack = []
            continue
        match = _Q_LINE.match(line)
        if not match:
            continue
        indent, key, value = len(match.group("indent")), match.group("key"), match.group("value")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if value is None or value == "":
            stack.append((indent, key))
            continue
        if gpu is None:
            if key == "Driver Version":
                observed["driver"]["version"] = value
            elif key == "CUDA Version" and value != "N/A":
                observed["driver"]["cuda"] = value
            continue
        path = "/".join([*(k for _, k in stack), key])
        name = _Q_FIELDS.get(path)
        if name is None or value in ("N/A", "[N/A]", "Unknown Error"):
            continue
        if name in _INTS:
            number = _number(value)
            if number is not None:
                gpu[name] = int(number)
        elif name == "power_limit_w":
            gpu[name] = _number(value)
        elif name in ("name", "uuid", "pci_bus_id"):
            gpu[name] = value
        elif name == "fabric_state":
            gpu[name] = value.lower().replace(" ", "_")
        elif name == "fabric_status":
            gpu[name] = "success" if value == "Success" else value
        elif name == "pci_device_id":
            gpu[name] = "0x" + value.lower().removeprefix("0x")[:4]
        elif value in _FLAGS:
            gpu[name] = _FLAGS[value]
    return observed
