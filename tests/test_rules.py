"""Table-driven tests of every check over facts: the real H200 (ready) and variations of it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from envcheck.checks import FAIL, PASS, SKIP, WARN, run_checks
from envcheck.expect import Expectations, parse
from envcheck.facts import (
    Facts,
    Gpu,
    LoadedLibrary,
    Perf,
    PerfMeasurement,
    Smoke,
    TorchDevice,
    Workload,
    WorkloadRow,
)
from envcheck.report import judge
from tests.conftest import ROOT, SHARED
from tests.h200 import FIXTURE, convert


def change(
    facts: Facts, *, gpu: dict | None = None, gpus: list[Gpu] | None = None, **sections: dict
) -> Facts:
    """The facts with some fields of some sections changed (gpu= changes GPU 0)."""
    updates = {
        # sections are dataclasses, changed in part; env, workloads, unavailable are given whole
        name: dataclasses.replace(getattr(facts, name), **fields)
        if dataclasses.is_dataclass(getattr(facts, name))
        else fields
        for name, fields in sections.items()
    }
    if gpu is not None:
        updates["gpus"] = [dataclasses.replace(facts.gpus[0], **gpu), *facts.gpus[1:]]
    if gpus is not None:
        updates["gpus"] = gpus
    return dataclasses.replace(facts, **updates)


def result(facts: Facts, check_id: str, expect: Expectations | None = None):
    results = {r.id: r for r in run_checks(facts, expect or Expectations())}
    return results.get(check_id)


V100 = Gpu(index=1, name="Tesla V100-SXM2-32GB", compute_capability="7.0")


def perf(kind: str, variant: str, value: float, **extra) -> dict:
    """A finished `envcheck perf` run on the H200 with one figure (the facts' `perf` section)."""
    unit = "TFLOPS" if kind == "gemm" else "GB/s"
    m = PerfMeasurement(
        device="cuda:0", gpu_index=0, name="NVIDIA H200", kind=kind, variant=variant,
        value=value, unit=unit, **extra,
    )  # fmt: skip
    return {"perf": Perf(measurements=[m], budget_s=60.0, complete=True)}


# A Docker engine that answers; the docker cases add what they are about.
DOCKER_UP = {"present": True, "reachable": True}
RTX5090 = Gpu(index=0, name="NVIDIA GeForce RTX 5090", compute_capability="12.0")

# (test id, check id, changes to the H200 facts, expected status, text the summary or remedy holds)
CASES = [
    ("h200_driver_present", "driver.present", {}, PASS, "580.159.04"),
    (
        "no_driver_on_host",
        "driver.present",
        {
            "driver": {
                "version": None,
                "cuda": None,
                "error": "x",
                "error_kind": "library_not_found",
            },
            "gpus": [],
            "container": {"inside": False, "evidence": []},
        },
        FAIL,
        "ubuntu-drivers",
    ),
    (
        "no_driver_in_container",
        "driver.present",
        {"driver": {"error": "x", "error_kind": "library_not_found"}, "gpus": []},
        FAIL,
        "--gpus all",
    ),
    (
        "module_not_loaded",
        "driver.present",
        {"driver": {"error": "x", "error_kind": "driver_not_loaded"}},
        FAIL,
        "modprobe nvidia",
    ),
    (
        "version_mismatch_on_host_reboots",
        "driver.present",
        {
            "driver": {"error": "x", "error_kind": "driver_library_mismatch"},
            "container": {"inside": False, "evidence": []},
        },
        FAIL,
        "sudo reboot",
    ),
    (
        "version_mismatch_in_container_removes_the_image_driver",
        "driver.present",
        {"driver": {"error": "x", "error_kind": "driver_library_mismatch"}},
        FAIL,
        "remove them from the image",
    ),
    (
        "nvml_hang",
        "driver.present",
        {
            "driver": {
                "error": "NVML did not answer within 2 s (stuck in nvmlInit)",
                "error_kind": "timeout",
            }
        },
        FAIL,
        "stuck in nvmlInit",
    ),
    (
        "gpu_lost",
        "driver.present",
        {
            "gpus": [
                Gpu(index=0, name="NVIDIA H200", compute_capability="9.0"),
                Gpu(index=1, error="GPU is lost", error_kind="gpu_lost"),
            ]
        },
        FAIL,
        "fell off the bus",
    ),
    ("no_gpu_seen", "driver.present", {"gpus": []}, FAIL, "sees no GPU"),
    (
        "nvml_stub",
        "driver.present",
        {"driver": {"library": "/usr/local/cuda/lib64/stubs/libnvidia-ml.so"}},
        FAIL,
        "stub",
    ),
    ("driver_newer_than_runtime", "driver.cuda", {}, PASS, "≥ torch's CUDA 13.0"),
    (
        "minor_version_compat",
        "driver.cuda",
        {"torch": {"cuda": "13.2"}},
        PASS,
        "minor-version compatibility",
    ),
    (
        "cu130_on_r575_fails",
        "driver.cuda",
        {"driver": {"version": "575.57.08", "cuda": "12.9"}},
        FAIL,
        "580.65.06",
    ),
    (
        "cu130_on_r575_with_forward_compat_warns",
        "driver.cuda",
        {
            "driver": {"version": "575.57.08", "cuda": "12.9"},
            "nvcc": {"cuda_compat_libs": ["/usr/local/cuda/compat/libcuda.so.580.95.05"]},
        },
        WARN,
        "forward-compatibility",
    ),
    ("cpu_build_no_cuda_check", "driver.cuda", {"torch": {"cuda": None}}, SKIP, "not a CUDA build"),
    (
        "forward_compat_on_a_datacenter_gpu_passes",
        "driver.forward_compat",
        {"nvcc": {"cuda_compat_libs": ["/usr/local/cuda/compat/libcuda.so.580.95.05"]}},
        PASS,
        "support them",
    ),
    (
        "forward_compat_on_a_geforce_fails_even_with_equal_majors",
        "driver.forward_compat",
        {
            "nvcc": {"cuda_compat_libs": ["/usr/local/cuda/compat/libcuda.so.580.95.05"]},
            "gpus": [RTX5090],
        },
        FAIL,
        "LD_LIBRARY_PATH",
    ),
    (
        "error_804_fails_forward_compat",
        "driver.forward_compat",
        {
            "torch": {
                "messages": ["Error 804: forward compatibility was attempted on non supported HW"]
            }
        },
        FAIL,
        "cuda-compat",
    ),
    ("no_forward_compat_libs_skips", "driver.forward_compat", {}, SKIP, "no forward-compat"),
    (
        "forward_compat_unknown_skips",
        "driver.forward_compat",
        {"nvcc": {"unavailable": {"cuda_compat_libs": "not in the pasted text"}}},
        SKIP,
        "not in the pasted text",
    ),
    ("h200_torch_installed", "torch.install", {}, PASS, "torch 2.11.0+cu130"),
    (
        "torch_nowhere_on_h200_recommends_the_cu130_build",
        "torch.install",
        {"torch": {"version": None, "error": "x", "error_kind": "not_installed"}},
        WARN,
        "whl/cu130",
    ),
    (
        "torch_nowhere_without_gpu_recommends_the_cpu_wheel",
        "torch.install",
        {
            "torch": {"version": None, "error": "x", "error_kind": "not_installed"},
            "gpus": [],
        },
        WARN,
        "whl/cpu",
    ),
    ("h200_torch_imports", "torch.import", {}, PASS, "imports"),
    (
        "missing_cudnn_fails_import",
        "torch.import",
        {
            "torch": {
                "error": "libcudnn.so.9: cannot open shared object file: No such file or directory",
                "error_kind": "import_failed",
            }
        },
        FAIL,
        "LD_LIBRARY_PATH",
    ),
    (
        "torch_not_installed_import_skips",
        "torch.import",
        {"torch": {"version": None, "error": "x", "error_kind": "not_installed"}},
        SKIP,
        "not installed",
    ),
    (
        "cu102_on_a_cuda_10_1_driver_fails_no_minor_compat_before_11",
        "driver.cuda",
        {
            "torch": {"version": "1.8.1+cu102", "cuda": "10.2"},
            "driver": {"version": "418.87.00", "cuda": "10.1"},
        },
        FAIL,
        "440.33",
    ),
    (
        "cu102_on_a_cuda_10_2_driver_passes",
        "driver.cuda",
        {
            "torch": {"version": "1.8.1+cu102", "cuda": "10.2"},
            "driver": {"version": "440.33.01", "cuda": "10.2"},
        },
        PASS,
        "≥ torch's CUDA 10.2",
    ),
    (
        "cu118_on_r450_below_the_11x_floor_fails",
        "driver.cuda",
        {
            "torch": {"version": "2.0.1+cu118", "cuda": "11.8"},
            "driver": {"version": "450.51.06", "cuda": "11.0"},
        },
        FAIL,
        "450.80.02",
    ),
    (
        "cu118_on_r450_at_the_floor_passes",
        "driver.cuda",
        {
            "torch": {"version": "2.0.1+cu118", "cuda": "11.8"},
            "driver": {"version": "450.80.02", "cuda": "11.0"},
        },
        PASS,
        "minor-version compatibility",
    ),
    (
        "driver_cuda_not_reported_skips",
        "driver.cuda",
        {"driver": {"cuda": None, "unavailable": {"cuda": "not in the pasted text"}}},
        SKIP,
        "not in the pasted text",
    ),
    (
        "blackwell_on_r570_is_never_told_cu13x",
        "gpu.arch",
        {
            "torch": {"version": "2.6.0+cu124", "cuda": "12.4", "arch_list": ["sm_80", "sm_90"]},
            "driver": {"version": "570.124.04", "cuda": "12.8"},
            "gpus": [RTX5090],
        },
        FAIL,
        "/whl/cu128",
    ),
    (
        "ptx_only_on_a_driver_older_than_the_build_fails",
        "gpu.arch",
        {
            "torch": {"arch_list": ["sm_80", "compute_90"]},
            "driver": {"version": "575.57.08", "cuda": "12.9"},
            "gpu": {"compute_capability": "10.0"},
        },
        FAIL,
        "cannot JIT-compile",
    ),
    (
        "capability_unknown_and_arch_list_not_reported_skips",
        "gpu.arch",
        {"torch": {"arch_list": [], "unavailable": {"arch_list": "not in the pasted text"}}},
        SKIP,
        "not in the pasted text",
    ),
    (
        "cudnn_older_minor_than_compiled_fails",
        "cudnn.loaded",
        {"torch": {"cudnn": "9.1.0", "cudnn_compiled": "9.19.0"}},
        FAIL,
        "older minor",
    ),
    (
        "cudnn_newer_minor_than_compiled_passes",
        "cudnn.loaded",
        {"torch": {"cudnn": "9.20.0", "cudnn_compiled": "9.19.0"}},
        PASS,
        "9.20.0",
    ),
    (
        "cudnn_not_reported_skips",
        "cudnn.loaded",
        {"torch": {"cudnn": None, "unavailable": {"cudnn": "not in the pasted text"}}},
        SKIP,
        "not in the pasted text",
    ),
    (
        "cuda_available_not_reported_skips",
        "torch.cuda_build",
        {"torch": {"cuda_available": None, "unavailable": {"cuda_available": "not reported"}}},
        SKIP,
        "not reported",
    ),
    (
        "error_999_reloads_nvidia_uvm",
        "torch.cuda_build",
        {
            "torch": {
                "cuda_available": False,
                "cuda_error": "CUDA initialization: CUDA unknown error - this may be due to ...",
            }
        },
        FAIL,
        "sudo rmmod nvidia_uvm && sudo modprobe nvidia_uvm",
    ),
    (
        "nvcc_version_without_path_is_judged",
        "nvcc.version",
        {"nvcc": {"path": None, "version": "12.1"}},
        WARN,
        "CUDA_HOME",
    ),
    (
        "container_unknown_skips_shm",
        "container.shm",
        {"container": {"inside": None, "unavailable": {"inside": "not in the pasted text"}}},
        SKIP,
        "not in the pasted text",
    ),
    (
        "stub_message_fails_libraries",
        "torch.libraries",
        {"torch": {"messages": ["RuntimeError: CUDA driver version is a stub library"]}},
        FAIL,
        "stubs",
    ),
    (
        "family_sass_runs_within_its_family",
        "gpu.arch",
        {"torch": {"arch_list": ["sm_90", "sm_100f"]}, "gpu": {"compute_capability": "10.3"}},
        PASS,
        "sm_100f",
    ),
    (
        "family_ptx_never_crosses_a_major",
        "gpu.arch",
        {"torch": {"arch_list": ["sm_90", "compute_100f"]}, "gpu": {"compute_capability": "12.0"}},
        FAIL,
        "no kernel image",
    ),
    (
        "family_ptx_jits_within_its_family",
        "gpu.arch",
        {"torch": {"arch_list": ["sm_90", "compute_100f"]}, "gpu": {"compute_capability": "10.3"}},
        WARN,
        "compute_100f",
    ),
    (
        "arch_specific_ptx_only_on_its_exact_gpu",
        "gpu.arch",
        {"torch": {"arch_list": ["sm_90", "compute_100a"]}, "gpu": {"compute_capability": "10.3"}},
        FAIL,
        "no kernel image",
    ),
    (
        "arch_specific_ptx_on_its_exact_gpu_jits",
        "gpu.arch",
        {"torch": {"arch_list": ["sm_90", "compute_100a"]}, "gpu": {"compute_capability": "10.0"}},
        WARN,
        "compute_100a",
    ),
    (
        "jetson_gets_no_lower_minor_sass",
        "gpu.arch",
        {
            "torch": {"arch_list": ["sm_80", "sm_86"]},
            "gpu": {"name": "Orin (nvgpu)", "compute_capability": "8.7"},
        },
        FAIL,
        "JetPack",
    ),
    (
        "jetson_runs_its_exact_sass",
        "gpu.arch",
        {
            "torch": {"arch_list": ["sm_72", "sm_87"]},
            "gpu": {"name": "Orin (nvgpu)", "compute_capability": "8.7"},
        },
        PASS,
        "sm_87",
    ),
    ("h200_native_kernels", "gpu.arch", {}, PASS, "sm_90"),
    (
        "same_major_lower_minor_runs",
        "gpu.arch",
        {"gpu": {"compute_capability": "8.9"}},
        PASS,
        "sm_86",
    ),
    (
        "arch_specific_variant_does_not_carry",
        "gpu.arch",
        {"torch": {"arch_list": ["sm_80", "sm_90a"]}, "gpu": {"compute_capability": "9.2"}},
        FAIL,
        "no kernel image",
    ),
    (
        "ptx_only_warns",
        "gpu.arch",
        {"torch": {"arch_list": ["sm_80", "compute_90"]}, "gpu": {"compute_capability": "10.0"}},
        WARN,
        "JIT",
    ),
    (
        "volta_on_cu130_fails_naming_cu126",
        "gpu.arch",
        {"gpus": [Gpu(index=0, name="NVIDIA H200", compute_capability="9.0"), V100]},
        FAIL,
        "cu126",
    ),
    (
        "blackwell_on_cu126_fails_naming_cu130",
        "gpu.arch",
        {
            "torch": {
                "version": "2.14.1+cu126",
                "cuda": "12.6",
                "arch_list": ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"],
            },
            "gpus": [RTX5090],
        },
        FAIL,
        "whl/cu130",
    ),
    (
        "blackwell_on_cuda12_driver_suggests_cu128",
        "gpu.arch",
        {
            "torch": {
                "version": "2.14.1+cu126",
                "cuda": "12.6",
                "arch_list": ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"],
            },
            "driver": {"version": "570.133.07", "cuda": "12.8"},
            "gpus": [RTX5090],
        },
        FAIL,
        "torch==2.11.0 --index-url https://download.pytorch.org/whl/cu128",
    ),
    ("h200_cuda_build", "torch.cuda_build", {}, PASS, "2.11.0+cu130"),
    (
        "cpu_wheel_on_gpu_host_fails_with_pip_command",
        "torch.cuda_build",
        {
            "torch": {
                "version": "2.13.0+cpu",
                "cuda": None,
                "arch_list": [],
                "cuda_available": False,
            }
        },
        FAIL,
        "pip install torch==2.14.1 --index-url https://download.pytorch.org/whl/cu130",
    ),
    (
        "cpu_wheel_without_gpu_skips",
        "torch.cuda_build",
        {"torch": {"version": "2.13.0+cpu", "cuda": None}, "gpus": []},
        SKIP,
        "CPU-only build",
    ),
    (
        "torch_missing_skips",
        "torch.cuda_build",
        {"torch": {"version": None, "error": "x", "error_kind": "not_installed"}},
        SKIP,
        "not installed",
    ),
    (
        "torch_broken_fails",
        "torch.cuda_build",
        {
            "torch": {
                "version": None,
                "error": "ImportError: libcudnn.so.9",
                "error_kind": "crashed",
            }
        },
        FAIL,
        "libcudnn",
    ),
    (
        "cuda_unavailable_fails",
        "torch.cuda_build",
        {"torch": {"cuda_available": False, "cuda_error": "CUDA driver version is insufficient"}},
        FAIL,
        "insufficient",
    ),
    (
        "torch_hung_in_cuda_init_points_at_the_driver",
        "torch.cuda_build",
        {
            "torch": {
                "cudnn": None,
                "error_kind": "timeout",
                "error": "did not finish within 60 s (stuck in CUDA initialisation)",
            }
        },
        FAIL,
        "nvidia-smi",
    ),
    (
        "torch_hung_is_not_blamed_on_cudnn",
        "cudnn.loaded",
        {"torch": {"cudnn": None, "error_kind": "timeout", "error": "x"}},
        SKIP,
        "could not be probed",
    ),
    ("h200_cudnn", "cudnn.loaded", {}, PASS, "9.19.0"),
    (
        "cudnn_missing_fails",
        "cudnn.loaded",
        {"torch": {"cudnn": None}},
        FAIL,
        "could not be loaded",
    ),
    (
        "cudnn_major_mismatch_fails",
        "cudnn.loaded",
        {"torch": {"cudnn": "8.9.7", "cudnn_compiled": "9.19.0"}},
        FAIL,
        "different major",
    ),
    (
        "real_libraries_pass",
        "torch.libraries",
        {"torch": {"loaded_libraries": [LoadedLibrary("cudart", "/x/libcudart.so.13", False)]}},
        PASS,
        "libcudart",
    ),
    (
        "stub_library_fails",
        "torch.libraries",
        {
            "torch": {
                "loaded_libraries": [
                    LoadedLibrary("nvml", "/usr/local/cuda/lib64/stubs/libnvidia-ml.so", True)
                ]
            }
        },
        FAIL,
        "stub",
    ),
    ("h200_nvcc_matches", "nvcc.version", {}, PASS, "matches"),
    (
        "nvcc_absent_skips",
        "nvcc.version",
        {"nvcc": {"path": None, "version": None}},
        SKIP,
        "not found",
    ),
    (
        "nvcc_other_major_warns",
        "nvcc.version",
        {"nvcc": {"version": "12.4"}},
        WARN,
        "will not build",
    ),
    ("smoke_not_run_skips", "gpu.smoke", {}, SKIP, "not run"),
    (
        "smoke_ok_passes",
        "gpu.smoke",
        {"torch": {"smoke": [Smoke(0, True, 1e-7, 2e-7, 0.2)]}},
        PASS,
        "match the CPU",
    ),
    (
        "smoke_mismatch_fails",
        "gpu.smoke",
        {"torch": {"smoke": [Smoke(0, False, 0.5, 1e-7, 0.2)]}},
        FAIL,
        "differ",
    ),
    (
        "smoke_timeout_fails",
        "gpu.smoke",
        {"torch": {"smoke": [Smoke(0, False, error="did not finish within 30 s")]}},
        FAIL,
        "did not finish",
    ),
    ("h200_memory_clean", "gpu.memory", {}, PASS, "no pending"),
    (
        "remap_pending_warns",
        "gpu.memory",
        {"gpu": {"remapped_rows_pending": True}},
        WARN,
        "nvidia-smi -r -i 0",
    ),
    ("remap_failed_fails", "gpu.memory", {"gpu": {"remapped_rows_failed": True}}, FAIL, "RMA"),
    (
        "retired_pages_pending_warns",
        "gpu.memory",
        {"gpu": {"retired_pages_pending": True}},
        WARN,
        "pending",
    ),
    ("h200_pcie_full", "gpu.pcie", {}, PASS, "gen 5 x16"),
    ("narrow_link_warns", "gpu.pcie", {"gpu": {"pcie_width": 8}}, WARN, "x8 of x16"),
    ("low_gen_at_idle_passes", "gpu.pcie", {"gpu": {"pcie_gen": 1}}, PASS, "power saving"),
    (
        "low_gen_under_load_warns",
        "gpu.pcie",
        {"gpu": {"pcie_gen": 3, "clock_event_reasons": []}},
        WARN,
        "under load",
    ),
    ("big_shm_passes", "container.shm", {"container": {"shm_mib": 65536}}, PASS, "65536 MiB"),
    (
        "docker_default_shm_warns",
        "container.shm",
        {"container": {"shm_mib": 64}},
        WARN,
        "--shm-size",
    ),
    (
        "shm_outside_container_skips",
        "container.shm",
        {"container": {"inside": False}},
        SKIP,
        "not inside",
    ),
    (
        "hidden_by_cuda_visible_devices",
        "torch.cuda_build",
        {
            "torch": {"cuda_available": False, "cuda_error": "no CUDA GPUs are available"},
            "env": {"CUDA_VISIBLE_DEVICES": ""},
        },
        FAIL,
        "CUDA_VISIBLE_DEVICES=''",
    ),
    (
        "digits_passed",
        "workload.digits",
        {
            "workloads": [
                Workload(
                    "digits",
                    seconds=4.2,
                    passed=True,
                    rows=[WorkloadRow("skorch-fast", "cuda:0", 1257, 0.4, 0.98)],
                )
            ]
        },
        PASS,
        "cuda:0",
    ),
    (
        "digits_failed_validation",
        "workload.digits",
        {
            "workloads": [
                Workload(
                    "digits",
                    seconds=4.2,
                    passed=False,
                    failures=["skorch-fast x1: test accuracy 0.1 is below 0.95"],
                )
            ]
        },
        FAIL,
        "below 0.95",
    ),
    (
        "digits_not_installed",
        "workload.digits",
        {
            "workloads": [
                Workload(
                    "digits",
                    error="the workloads package is not installed",
                    error_kind="not_installed",
                )
            ]
        },
        FAIL,
        "Install the workloads extra",
    ),
    # The H200's row of envcheck/data/perf.toml: 794.5 TFLOPS BF16 and 4010 GB/s achievable,
    # PCIe gen 5 x16 (76 % of 63.0 GB/s: 47.9).
    ("perf_gemm_at_its_model", "perf.gemm", perf("gemm", "bf16", 780.0), PASS, "98% of 794.5"),
    ("perf_gemm_slow", "perf.gemm", perf("gemm", "bf16", 420.0), FAIL, "power limit 700 W"),
    ("perf_memory_ok", "perf.memory", perf("memory", "copy", 3900.0), PASS, "97% of 4010"),
    ("perf_memory_low", "perf.memory", perf("memory", "copy", 2800.0), WARN, "70% of 4010"),
    ("perf_link_ok", "perf.host_link", perf("host_link", "h2d", 53.0), PASS, "of 47.89"),
    ("perf_link_halved", "perf.host_link", perf("host_link", "d2h", 22.0), FAIL, "gen 5 x16"),
    ("perf_peer_ok", "perf.peer", perf("peer", "0->1", 370.0, peer_access=True), PASS, "370"),
    (
        "perf_peer_failed",
        "perf.peer",
        perf("peer", "0->1", 0.0, error="RuntimeError: peer mapping failed"),
        FAIL,
        "peer mapping failed",
    ),
    (
        "fabric_registered",
        "gpu.fabric",
        {"gpu": {"fabric_state": "completed", "fabric_status": "success"}},
        PASS,
        "1 GPU(s) registered",
    ),
    ("fabric_unreported_skips", "gpu.fabric", {}, SKIP, "no GPU reports"),
    (
        "fabric_none_skips",
        "gpu.fabric",
        {"gpu": {"fabric_state": "not_supported"}},
        SKIP,
        "no NVSwitch",
    ),
    (
        "fabric_not_started_blocks_cuda",
        "gpu.fabric",
        {"gpu": {"fabric_state": "not_started"}, "torch": {"cuda_available": False}},
        FAIL,
        "nvidia-fabricmanager package of exactly the driver's version (580.159.04)",
    ),
    (
        "fabric_not_started_yet_cuda_works",
        "gpu.fabric",
        {"gpu": {"fabric_state": "not_started"}},
        WARN,
        "yet CUDA started",
    ),
    (
        "fabric_in_progress_waits",
        "gpu.fabric",
        {"gpu": {"fabric_state": "in_progress"}, "torch": {"cuda_available": False}},
        WARN,
        "stuck",
    ),
    (
        "fabric_registration_failed",
        "gpu.fabric",
        {"gpu": {"fabric_state": "completed", "fabric_status": "Unknown Error"}},
        FAIL,
        "registration failed: GPU 0 (NVIDIA H200): Unknown Error",
    ),
    (
        "fabric_error_802",
        "gpu.fabric",
        {
            "torch": {
                "cuda_available": False,
                "cuda_error": "RuntimeError: Unexpected error from cudaGetDeviceCount(). Error "
                "802: system not yet initialized",
            }
        },
        FAIL,
        "systemctl status nvidia-fabricmanager",
    ),
    (
        "error_802_points_at_the_fabric",
        "torch.cuda_build",
        {"torch": {"cuda_available": False, "cuda_error": "CUDA error: 802"}},
        FAIL,
        "see gpu.fabric",
    ),
    (
        "nvml_unknown_in_a_container",
        "driver.present",
        {
            "driver": {"error": "nvmlInit failed: Unknown Error", "error_kind": "nvml_unknown"},
            "container": {"inside": True},
        },
        FAIL,
        "create-dev-char-symlinks",
    ),
    (
        "nvml_unknown_on_a_host",
        "driver.present",
        {
            "driver": {"error": "nvmlInit failed: Unknown Error", "error_kind": "nvml_unknown"},
            "container": {"inside": False},
        },
        FAIL,
        "Xid",
    ),
    (
        "image_needs_a_newer_driver",
        "driver.cuda",
        {
            "torch": {
                "messages": [
                    "nvidia-container-cli: requirement error: unsatisfied condition: cuda>=13.1, "
                    "please update your driver to a newer version, or use an earlier cuda container"
                ]
            }
        },
        FAIL,
        "needs CUDA 13.1, newer than the host driver (580.159.04, CUDA 13.0) supports",
    ),
    (
        "extension_build_refused_the_toolkit",
        "nvcc.version",
        {
            "nvcc": {"path": "/usr/local/cuda/bin/nvcc", "version": "12.8"},
            "torch": {
                "messages": [
                    "RuntimeError: The detected CUDA version (12.8) mismatches the version that "
                    "was used to compile PyTorch (13.0). Please make sure to use the same CUDA "
                    "versions."
                ]
            },
        },
        FAIL,
        "export CUDA_HOME=/usr/local/cuda-13.0",
    ),
    (
        "no_cuda_gpus_available",
        "torch.cuda_build",
        {
            "torch": {
                "cuda_available": False,
                "cuda_error": "RuntimeError: No CUDA GPUs are available",
            }
        },
        FAIL,
        "nvidia-smi -L",
    ),
    (
        "gpu_container_test_image_needs_a_newer_driver",
        "docker.gpu_container",
        {
            "docker": {
                "present": True,
                "reachable": True,
                "gpu_container_image": "nvidia/cuda:13.1.0-base-ubuntu24.04",
                "gpu_container_ok": False,
                "gpu_container_error": "OCI runtime create failed: ... nvidia-container-cli: "
                "requirement error: unsatisfied condition: cuda>=13.1, please update your driver",
                "gpu_container_error_kind": "other",
            }
        },
        FAIL,
        "needs CUDA 13.1",
    ),
    ("idle_is_not_throttling", "gpu.throttle", {}, PASS, "no throttling"),
    (
        "thermal_throttle_warns",
        "gpu.throttle",
        {"gpu": {"clock_event_reasons": ["hw_thermal_slowdown"]}},
        WARN,
        "cooling",
    ),
    ("no_docker_skips", "docker.engine", {}, SKIP, "no Docker engine"),
    (
        "docker_answers",
        "docker.engine",
        {"docker": {"present": True, "reachable": True, "server_version": "28.3.0"}},
        PASS,
        "Docker 28.3.0",
    ),
    (
        "docker_daemon_down",
        "docker.engine",
        {
            "docker": {
                "present": True,
                "reachable": False,
                "error": "x",
                "error_kind": "not_running",
            }
        },
        WARN,
        "systemctl start docker",
    ),
    (
        "docker_socket_permission",
        "docker.engine",
        {
            "docker": {
                "present": True,
                "reachable": False,
                "error": "x",
                "error_kind": "no_permission",
            }
        },
        WARN,
        "usermod -aG docker",
    ),
    (
        "docker_nvidia_runtime",
        "docker.nvidia_runtime",
        {"docker": {"present": True, "reachable": True, "runtimes": ["nvidia", "runc"]}},
        PASS,
        "nvidia runtime",
    ),
    (
        "docker_nvidia_cdi",
        "docker.nvidia_runtime",
        {"docker": {"present": True, "reachable": True, "cdi_devices": ["nvidia.com/gpu=0"]}},
        PASS,
        "1 NVIDIA CDI device",
    ),
    (
        "docker_without_nvidia_runtime",
        "docker.nvidia_runtime",
        {"docker": {"present": True, "reachable": True, "runtimes": ["runc"]}},
        WARN,
        "nvidia-ctk runtime configure --runtime=docker",
    ),
    (
        "docker_gpu_container_not_tried",
        "docker.gpu_container",
        {"docker": {"present": True, "reachable": True}},
        SKIP,
        "--docker-gpu-test",
    ),
    (
        "docker_gpu_container_starts",
        "docker.gpu_container",
        {
            "docker": {
                **DOCKER_UP,
                "gpu_container_image": "img",
                "gpu_container_ok": True,
            }
        },
        PASS,
        "img started",
    ),
    (
        "docker_gpu_container_no_driver",
        "docker.gpu_container",
        {
            "docker": {
                **DOCKER_UP,
                "gpu_container_image": "img",
                "gpu_container_ok": False,
                "gpu_container_error": 'could not select device driver "" with capabilities',
                "gpu_container_error_kind": "no_gpu_runtime",
            }
        },
        FAIL,
        "nvidia-ctk runtime configure",
    ),
    (
        "docker_gpu_container_image_missing",
        "docker.gpu_container",
        {
            "docker": {
                **DOCKER_UP,
                "gpu_container_image": "img",
                "gpu_container_ok": False,
                "gpu_container_error": "image img not found on this engine",
                "gpu_container_error_kind": "image_not_found",
            }
        },
        FAIL,
        "docker pull img",
    ),
    (
        # "not found" in the text is not a missing image: the kind says what failed.
        "docker_gpu_container_nvidia_smi_missing_in_image",
        "docker.gpu_container",
        {
            "docker": {
                **DOCKER_UP,
                "gpu_container_image": "img",
                "gpu_container_ok": False,
                "gpu_container_error": 'exec: "nvidia-smi": executable file not found in $PATH',
                "gpu_container_error_kind": "other",
            }
        },
        FAIL,
        "docker run --rm --gpus all --entrypoint nvidia-smi img -L",
    ),
    (
        # make gpu-check installs no docker extra: our packaging must not warn the host.
        "docker_sdk_not_installed_skips",
        "docker.engine",
        {
            "docker": {
                "present": True,
                "reachable": None,
                "error": "the Docker SDK is not installed",
                "error_kind": "not_installed",
            }
        },
        SKIP,
        "pip install 'gpu-envkit[docker]'",
    ),
]


@pytest.mark.parametrize(
    ("check_id", "changes", "status", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rule(h200_facts, check_id, changes, status, text):
    facts = change(h200_facts, **changes)
    found = result(facts, check_id)
    assert found is not None, f"{check_id} gave no result"
    shown = found.summary + (
        " " + found.remedy.text + " " + " ".join(found.remedy.commands) if found.remedy else ""
    )
    assert found.status == status, shown
    assert text in shown
    assert (found.remedy is None) == (status in (PASS, SKIP))


def test_every_check_has_pass_and_non_pass_cases():
    from envcheck.checks import REGISTRY

    run_checks(Facts(), Expectations())  # registers every check
    statuses: dict[str, set[str]] = {}
    for _, check_id, _, status, _ in CASES:
        statuses.setdefault(check_id, set()).add(status)
    for check_id, expect_cases in EXPECT_CASES.items():
        statuses.setdefault(check_id, set()).update(s for _, s in expect_cases)
    for reg in REGISTRY:
        assert PASS in statuses.get(reg.id, set()), f"{reg.id} has no passing case"
        assert statuses.get(reg.id, set()) - {PASS}, f"{reg.id} has no non-pass case"


def test_h200_fixture_is_judged_ready(h200_facts):
    report = judge(h200_facts, Expectations())
    assert report.verdict.ready, report.verdict.summary
    assert report.verdict.counts[FAIL] == 0 and report.verdict.counts[WARN] == 0


def test_committed_h200_facts_match_the_shared_fixture():
    fixture = SHARED / FIXTURE
    if not fixture.exists():
        pytest.skip(f"{fixture} is not beside this checkout")
    committed = json.loads((ROOT / "tests" / "data" / "h200-facts.json").read_text())
    assert convert(json.loads(fixture.read_text())) == committed


def test_strict_counts_warnings(h200_facts):
    facts = change(h200_facts, gpu={"pcie_width": 8})
    assert judge(facts, Expectations()).verdict.ready
    assert not judge(facts, Expectations(), strict=True).verdict.ready


def test_a_crashing_check_becomes_a_failed_result(h200_facts):
    facts = change(h200_facts, gpu={"compute_capability": "nine"})  # cannot be parsed
    found = result(facts, "gpu.arch")
    assert found.status == FAIL and "crashed" in found.summary
    assert result(facts, "driver.present").status == PASS  # the others still ran


EXPECT_CASES = {
    "expect.gpu_count": [({"gpu_count": 1}, PASS), ({"gpu_count": 8}, FAIL)],
    "expect.gpu_name": [({"gpu_name": "h200"}, PASS), ({"gpu_name": "A100"}, FAIL)],
    "expect.min_driver": [({"min_driver": "580.65.06"}, PASS), ({"min_driver": "590.1"}, FAIL)],
    "expect.torch": [({"torch": "2.11"}, PASS), ({"torch": "2.1"}, FAIL)],
    "expect.cuda": [({"cuda": "13.0"}, PASS), ({"cuda": "12.6"}, FAIL)],
    "expect.cudnn_min": [({"cudnn_min": "9.10"}, PASS), ({"cudnn_min": "9.20"}, FAIL)],
    "expect.require_nvcc": [({"require_nvcc": True}, PASS), ({"require_nvcc": False}, FAIL)],
    "expect.arch": [({"arch": ["sm_90", "sm_100"]}, PASS), ({"arch": ["sm_70"]}, FAIL)],
}


def test_expectation_on_an_unreported_fact_skips(h200_facts):
    facts = change(h200_facts, gpus=[])
    facts = dataclasses.replace(facts, unavailable={"gpus": "not in the pasted text"})
    found = result(facts, "expect.gpu_count", parse({"gpu_count": 8}, "expect.toml"))
    assert found.status == SKIP and "not in the pasted text" in found.summary


@pytest.mark.parametrize(
    ("check_id", "data", "status"),
    [(k, d, s) for k, cases in EXPECT_CASES.items() for d, s in cases],
)
def test_expectation(h200_facts, check_id, data, status):
    found = result(h200_facts, check_id, parse(data, "test.toml"))
    assert found is not None and found.status == status, found


def test_unset_expectations_add_no_checks(h200_facts):
    ids = {r.id for r in run_checks(h200_facts, Expectations())}
    assert not any(i.startswith("expect.") for i in ids)


def test_torch_devices_stand_in_when_nvml_has_no_gpus(h200_facts):
    facts = change(h200_facts, gpus=[], torch={"devices": [TorchDevice(0, "Tesla V100", "7.0")]})
    assert result(facts, "gpu.arch").status == FAIL


def test_readme_lists_every_check_id():
    from envcheck.checks import REGISTRY

    run_checks(Facts(), Expectations())
    readme = (ROOT / "README.md").read_text()
    missing = [reg.id for reg in REGISTRY if f"`{reg.id}`" not in readme]
    assert not missing, f"README.md does not document {missing}"


def test_every_expectation_key_has_a_type_and_a_check():
    from envcheck.checks.expected import EXPECTATIONS
    from envcheck.expect import _TYPES, KEYS

    keys = list(KEYS)
    assert list(_TYPES) == keys
    assert list(EXPECTATIONS) == keys
    assert set(EXPECT_CASES) == {f"expect.{k}" for k in keys}
