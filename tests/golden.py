"""Every check's verdict, summary and remedy on a designed set of inputs, pinned in one file.

The inputs: the real H200 facts and every variation of them in tests/test_rules.py, further
variations aimed at each branch and boundary of the rules (the skip paths, the Docker and health
error kinds, the boundaries of /dev/shm, driver floors and cuDNN minors, several failing GPUs),
every real report of tests/data/reports and the paste samples of tests/data/paste. For the pasted
inputs the parsed facts are pinned as well. tests/test_golden.py compares; after an intended
change, `python -m tests.golden` rewrites tests/data/golden.json and the diff is reviewed like code.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from envcheck import paste
from envcheck.expect import Expectations, parse
from envcheck.facts import Facts, Gpu, LoadedLibrary, Smoke, TorchDevice, to_json
from envcheck.report import judge, load_facts

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden.json"
NOT_IN_TEXT = "not in the pasted text"

H100 = Gpu(index=1, name="NVIDIA H100 80GB HBM3", compute_capability="9.0")
T4 = Gpu(index=1, name="Tesla T4", compute_capability="7.5")
K80 = Gpu(index=0, name="Tesla K80", compute_capability="3.7")
GEFORCE = Gpu(index=0, name="NVIDIA GeForce RTX 4090", compute_capability="8.9")
STUB = "/usr/local/cuda/lib64/stubs/libcuda.so"
COMPAT = "/usr/local/cuda/compat/libcuda.so.580.95.05"
EVERY_EXPECTATION = {
    "gpu_count": 1,
    "gpu_name": "H200",
    "min_driver": "580.159.04",  # the boundary: equal passes
    "torch": "2.11.0",
    "cuda": "13.0",
    "cudnn_min": "9.19",
    "require_nvcc": True,
    "arch": ["sm_90"],
}


def _gpu_fields(**fields: Any) -> dict[str, Any]:
    return {"gpu": fields}


# name -> (changes as in tests/test_rules.change, expectations or None)
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "every_expectation_holds": ({}, EVERY_EXPECTATION),
    "every_expectation_fails": (
        {"gpus": [], "driver": {"version": "570.1", "cuda": "12.8"}},
        {
            "gpu_count": 2,
            "gpu_name": "A100",
            "min_driver": "580.159.05",
            "torch": "2.12",
            "cuda": "12.6",
            "cudnn_min": "9.20",
            "require_nvcc": False,
            "arch": ["sm_70"],
        },
    ),
    "every_expectation_on_unreported_facts": (
        {
            "unavailable": {"gpus": NOT_IN_TEXT},
            "gpus": [],
            "driver": {"version": None, "unavailable": {"version": NOT_IN_TEXT}},
            "torch": {
                "version": None,
                "cuda": None,
                "cudnn": None,
                "arch_list": [],
                "unavailable": {
                    "version": NOT_IN_TEXT,
                    "cuda": NOT_IN_TEXT,
                    "cudnn": NOT_IN_TEXT,
                    "arch_list": NOT_IN_TEXT,
                },
            },
            "nvcc": {"version": None, "path": None, "unavailable": {"version": NOT_IN_TEXT}},
        },
        EVERY_EXPECTATION,
    ),
    "nvml_no_permission": ({"driver": {"error": "x", "error_kind": "no_permission"}}, None),
    "nvml_crashed": ({"driver": {"error": "segfault", "error_kind": "crashed"}}, None),
    "two_gpus_broken": (
        {
            "gpus": [
                Gpu(index=0, error="Unknown Error", error_kind="other"),
                Gpu(index=1, error="Unknown Error", error_kind="other"),
            ]
        },
        None,
    ),
    "driver_known_gpus_unreported": (
        {"gpus": [], "unavailable": {"gpus": NOT_IN_TEXT}},
        None,
    ),
    "driver_and_gpus_unreported": (
        {
            "gpus": [],
            "unavailable": {"gpus": NOT_IN_TEXT},
            "driver": {"version": None, "cuda": None, "unavailable": {"version": NOT_IN_TEXT}},
        },
        None,
    ),
    "no_gpus_driver_version_unknown": ({"gpus": [], "driver": {"version": None}}, None),
    "driver_cuda_derived_from_version": ({"driver": {"cuda": None}}, None),
    "torch_cuda_unreported_driver_too_old_said": (
        {
            "torch": {
                "version": None,
                "cuda": None,
                "unavailable": {"version": NOT_IN_TEXT, "cuda": NOT_IN_TEXT},
                "messages": ["The NVIDIA driver on your system is too old (found version 11040)."],
            },
            "driver": {"version": None, "cuda": "11.4"},
        },
        None,
    ),
    "cu130_on_r575_forward_compat_on_geforce": (
        {
            "driver": {"version": "575.57.08", "cuda": "12.9"},
            "nvcc": {"cuda_compat_libs": [COMPAT]},
            "gpus": [GEFORCE],
        },
        None,
    ),
    "forward_compat_on_an_unknown_gpu": (
        {
            "nvcc": {"cuda_compat_libs": [COMPAT]},
            "gpus": [Gpu(index=0, name="Mystery GPU", compute_capability="9.0")],
        },
        None,
    ),
    "forward_compat_loaded_by_torch": (
        {"torch": {"loaded_libraries": [LoadedLibrary("cuda", COMPAT, False)]}, "gpus": [GEFORCE]},
        None,
    ),
    "cu118_exactly_at_the_11x_floor": (
        {
            "torch": {"version": "2.0.1+cu118", "cuda": "11.8", "arch_list": ["sm_80", "sm_90"]},
            "driver": {"version": "450.80.02", "cuda": "11.0"},
        },
        None,
    ),
    "cu102_at_its_own_driver": (
        {
            "torch": {"version": "1.8.1+cu102", "cuda": "10.2", "arch_list": ["sm_37", "sm_70"]},
            "driver": {"version": "440.33", "cuda": "10.2"},
            "gpus": [K80],
        },
        None,
    ),
    "kepler_on_current_torch": ({"gpus": [K80]}, None),
    "h200_and_t4_on_cu130": ({"gpus": [Gpu(index=0, name="NVIDIA H200"), T4]}, None),
    "two_gpus_one_ptx_one_missing": (
        {
            "torch": {"arch_list": ["sm_80", "compute_90"]},
            "gpus": [
                Gpu(index=0, name="a", compute_capability="10.0"),
                Gpu(index=1, name="b", compute_capability="7.0"),
            ],
        },
        None,
    ),
    "torch_devices_only": (
        {
            "gpus": [],
            "unavailable": {"gpus": NOT_IN_TEXT},
            "torch": {"devices": [TorchDevice(0, "NVIDIA H200", "9.0")]},
        },
        None,
    ),
    "torch_import_timeout": (
        {"torch": {"error": "did not finish", "error_kind": "timeout", "version": None}},
        None,
    ),
    "torch_probe_crashed": (
        {"torch": {"error": "boom", "error_kind": "crashed", "version": None}},
        None,
    ),
    "torch_import_failed_without_suffix": (
        {
            "torch": {
                "version": "2.4.1",
                "error": "ImportError: libnvJitLink.so.12: cannot open shared object file",
                "error_kind": "import_failed",
            }
        },
        None,
    ),
    "cpu_torch_gpus_unreported_no_message": (
        {
            "torch": {"version": "2.4.1+cpu", "cuda": None},
            "gpus": [],
            "unavailable": {"gpus": NOT_IN_TEXT},
            "driver": {"version": None, "cuda": None, "unavailable": {"version": NOT_IN_TEXT}},
        },
        None,
    ),
    "cpu_torch_asked_for_cuda_without_gpu_info": (
        {
            "torch": {
                "version": None,
                "cuda": None,
                "unavailable": {"version": NOT_IN_TEXT},
                "messages": ["AssertionError: Torch not compiled with CUDA enabled"],
            },
            "gpus": [],
            "unavailable": {"gpus": NOT_IN_TEXT},
            "driver": {"version": None, "cuda": None, "unavailable": {"version": NOT_IN_TEXT}},
        },
        None,
    ),
    "cuda_unavailable_hidden_by_visible_devices": (
        {
            "torch": {"cuda_available": False, "cuda_error": None},
            "env": {"CUDA_VISIBLE_DEVICES": ""},
        },
        None,
    ),
    **{
        f"cuda_unusable_{kind}": (
            {"torch": {"cuda_available": False, "messages": [line]}},
            None,
        )
        for kind, line in (
            ("999", "CUDA error: unknown error"),
            ("driver_too_old", "CUDA driver version is insufficient for CUDA runtime version"),
            ("804", "Error 804: forward compatibility was attempted on non supported HW"),
            ("stub", "CUDA driver version is a stub library"),
            ("no_driver", "Found no NVIDIA driver on your system."),
        )
    },
    "cudnn_same_major_older_minor": ({"torch": {"cudnn": "9.18.0"}}, None),
    "cudnn_same_minor_older_patch": (
        {"torch": {"cudnn": "9.19.0", "cudnn_compiled": "9.19.1"}},
        None,
    ),
    "cudnn_other_major_from_a_system_folder": (
        {
            "torch": {
                "cudnn": "8.9.7",
                "cudnn_compiled": "9.19.0",
                "loaded_libraries": [
                    LoadedLibrary("cudnn", "/usr/local/cuda/lib64/libcudnn.so.8", False)
                ],
            }
        },
        None,
    ),
    "cudnn_not_loaded_observed": ({"torch": {"cudnn": None}}, None),
    "cudnn_no_compiled_version": ({"torch": {"cudnn_compiled": None}}, None),
    "libraries_unreported": (
        {"torch": {"loaded_libraries": [], "unavailable": {"loaded_libraries": NOT_IN_TEXT}}},
        None,
    ),
    "libraries_none_loaded": ({"torch": {"loaded_libraries": []}}, None),
    "libraries_without_cudart_or_cudnn": (
        {"torch": {"loaded_libraries": [LoadedLibrary("cublas", "/x/libcublas.so.13", False)]}},
        None,
    ),
    "nvcc_error": ({"nvcc": {"error": "permission denied", "version": None}}, None),
    "nvcc_with_cpu_torch": ({"torch": {"cuda": None, "version": "2.13.0+cpu"}}, None),
    "nvcc_with_torch_cuda_unreported": (
        {"torch": {"cuda": None, "unavailable": {"cuda": NOT_IN_TEXT}}},
        None,
    ),
    "nvcc_unreported": (
        {"nvcc": {"path": None, "version": None, "unavailable": {"version": NOT_IN_TEXT}}},
        None,
    ),
    "shm_exactly_1_gib": ({"container": {"shm_mib": 1024}}, None),
    "shm_just_below_1_gib": ({"container": {"shm_mib": 1023}}, None),
    "shm_unknown_inside": ({"container": {"shm_mib": None}}, None),
    "shm_unreported": (
        {"container": {"shm_mib": None, "unavailable": {"shm_mib": NOT_IN_TEXT}}},
        None,
    ),
    "shm_message_but_plenty": (
        {
            "container": {"shm_mib": 8192},
            "torch": {"messages": ["unable to write to file </torch_1_2_3>"]},
        },
        None,
    ),
    "shm_message_on_a_small_shm": (
        {"container": {"shm_mib": 64}, "torch": {"messages": ["insufficient shared memory (shm)"]}},
        None,
    ),
    "smoke_not_run": ({"torch": {"smoke": None}}, None),
    "smoke_unreported": ({"torch": {"smoke": None, "unavailable": {"smoke": NOT_IN_TEXT}}}, None),
    "smoke_on_no_gpu": ({"torch": {"smoke": []}}, None),
    "smoke_two_gpus_one_bad": (
        {"torch": {"smoke": [Smoke(0, True, 1e-7, 1e-7, 0.1), Smoke(1, False, 0.3, 0.2, 0.1)]}},
        None,
    ),
    "memory_unreadable": (
        _gpu_fields(
            remapped_rows_pending=None, remapped_rows_failed=None, retired_pages_pending=None
        ),
        None,
    ),
    "memory_two_gpus_pending": (
        {
            "gpus": [
                Gpu(
                    index=0,
                    name="NVIDIA H200",
                    compute_capability="9.0",
                    remapped_rows_pending=True,
                ),
                Gpu(
                    index=1,
                    name="NVIDIA H200",
                    compute_capability="9.0",
                    retired_pages_pending=True,
                ),
            ]
        },
        None,
    ),
    "pcie_unreported": (_gpu_fields(pcie_width=None, pcie_width_max=None), None),
    "pcie_gen_unknown": (_gpu_fields(pcie_gen=None), None),
    "pcie_narrow_and_slow_under_load": (
        _gpu_fields(pcie_width=4, pcie_gen=2, clock_event_reasons=["sw_power_cap"]),
        None,
    ),
    "throttle_unreported": (_gpu_fields(clock_event_reasons=None), None),
    "throttle_thermal_and_unknown_reason": (
        _gpu_fields(clock_event_reasons=["gpu_idle", "hw_thermal_slowdown", "new_reason"]),
        None,
    ),
    "docker_unreported": (
        {"docker": {"present": None, "reachable": None, "unavailable": {"present": NOT_IN_TEXT}}},
        None,
    ),
    **{
        f"docker_engine_{kind}": (
            {"docker": {"present": True, "reachable": False, "error": "x", "error_kind": kind}},
            None,
        )
        for kind in ("not_running", "no_permission", "timeout", "not_installed", "other")
    },
    "docker_up_without_nvidia": (
        {
            "docker": {
                "present": True,
                "reachable": True,
                "server_version": "28.2",
                "runtimes": ["runc"],
            }
        },
        None,
    ),
    "docker_up_with_cdi_and_hook": (
        {
            "docker": {
                "present": True,
                "reachable": True,
                "runtimes": ["runc"],
                "cdi_devices": ["nvidia.com/gpu=0", "other.com/x=1"],
                "nvidia_hook": "/usr/bin/nvidia-container-runtime-hook",
            }
        },
        None,
    ),
    **{
        f"docker_gpu_container_{kind}": (
            {
                "docker": {
                    "present": True,
                    "reachable": True,
                    "runtimes": ["nvidia"],
                    "gpu_container_image": "img:1",
                    "gpu_container_ok": False,
                    "gpu_container_error": f"failed: {kind}",
                    "gpu_container_error_kind": kind,
                }
            },
            None,
        )
        for kind in (
            "no_gpu_runtime",
            "image_not_found",
            "not_running",
            "no_permission",
            "timeout",
            "other",
        )
    },
    "docker_gpu_container_ok": (
        {
            "docker": {
                "present": True,
                "reachable": True,
                "runtimes": ["nvidia"],
                "gpu_container_image": "img:1",
                "gpu_container_ok": True,
            }
        },
        None,
    ),
}


def _rules_variants() -> Iterator[tuple[str, Facts, Expectations]]:
    from tests.test_rules import CASES, change

    base = load_facts(ROOT / "tests" / "data" / "h200-facts.json")
    yield "h200", base, Expectations()
    for name, _, changes, _, _ in CASES:
        yield f"rules:{name}", change(base, **changes), Expectations()
    for name, (changes, expect) in VARIANTS.items():
        facts = change(base, **changes)
        yield name, facts, parse(expect, "golden") if expect else Expectations()


def _pasted() -> Iterator[tuple[str, Path]]:
    for path in sorted((ROOT / "tests" / "data" / "reports").glob("*.txt")):
        yield f"report:{path.stem}", path
    for path in sorted((ROOT / "tests" / "data" / "paste").glob("*")):
        yield f"paste:{path.name}", path


def _checks(report: Any) -> list[list[Any]]:
    return [
        [
            c.id,
            c.status,
            c.summary,
            c.remedy.text if c.remedy else None,
            list(c.remedy.commands) if c.remedy else [],
        ]
        for c in report.checks
    ]


def _known(data: Any) -> Any:
    """The facts without nulls and empty values: what was read, compactly."""
    if isinstance(data, dict):
        kept = {k: _known(v) for k, v in data.items()}
        return {k: v for k, v in kept.items() if v not in (None, [], {})}
    if isinstance(data, list):
        return [_known(v) for v in data]
    return data


def compute() -> dict[str, Any]:
    golden: dict[str, Any] = {}
    for name, facts, expect in _rules_variants():
        golden[name] = {"checks": _checks(judge(facts, expect))}
    for name, path in _pasted():
        # Named by their path in the checkout: the pins do not depend on where it lies.
        facts = paste.read([(str(path.relative_to(ROOT)), path.read_text())])
        report = judge(facts, Expectations())
        facts = dataclasses.replace(report.facts, source=None)
        golden[name] = {"facts": _known(to_json(facts)), "checks": _checks(report)}
    return golden


def render(golden: dict[str, Any]) -> str:
    return json.dumps(golden, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    GOLDEN.write_text(render(compute()))
    print(f"wrote {GOLDEN} ({len(compute())} inputs)", file=sys.stderr)
