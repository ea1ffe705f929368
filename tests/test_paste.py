"""Pasted text becomes facts: collect_env (1.x, 2.x), nvidia-smi (table, -q), torch messages.

What the text states is observed, what it does not stays unknown with a reason, and what
compat.toml can derive is derived and says so.
"""

from __future__ import annotations

import json

import pytest

from envcheck import compat
from envcheck.checks import FAIL, PASS, SKIP, WARN, run_checks
from envcheck.expect import Expectations
from envcheck.report import InputError, judge, load_inputs
from tests.conftest import ROOT, run_envcheck

PASTE = ROOT / "tests" / "data" / "paste"


def facts_of(*names: str):
    return judge(load_inputs([str(PASTE / n) for n in names]), Expectations()).facts


def statuses(facts) -> dict[str, str]:
    return {r.id: r.status for r in run_checks(facts, Expectations())}


def test_collect_env_2x_is_read_and_its_gaps_stay_unknown():
    facts = facts_of("collect-env-2x.txt")
    assert facts.torch.version == "2.4.1+cu121"
    assert facts.torch.cuda == "12.1"
    assert facts.torch.cuda_available is True
    assert [g.name for g in facts.gpus] == ["NVIDIA GeForce RTX 3090"] * 2
    assert facts.driver.version == "550.54.14"
    # "CUDA runtime version" is nvcc's; the cuDNN list is the system's, never torch's.
    assert facts.nvcc.version == "11.8"
    assert facts.torch.cudnn is None
    assert facts.torch.unavailable["cudnn"] == "not in the pasted text"
    assert facts.container.inside is None


def test_collect_env_gaps_are_derived_with_provenance():
    facts = facts_of("collect-env-2x.txt")
    assert facts.driver.cuda == "12.4"  # 550.54.14 is CUDA 12.4's driver
    assert "derived from driver 550.54.14" in facts.provenance["driver.cuda"]
    assert facts.gpus[0].compute_capability == "8.6"
    assert "RTX 3090" in facts.provenance["gpus[0].compute_capability"]
    assert "sm_86" in facts.torch.arch_list
    assert "2.4" in facts.provenance["torch.arch_list"]
    assert facts.provenance["torch.version"].startswith("collect-env")


def test_healthy_collect_env_is_ready_and_unknowns_skip():
    report = judge(load_inputs([str(PASTE / "collect-env-2x.txt")]), Expectations())
    by_id = {c.id: c for c in report.checks}
    assert report.verdict.ready, report.verdict.summary
    assert by_id["gpu.arch"].status == PASS
    assert by_id["driver.cuda"].status == PASS
    assert by_id["cudnn.loaded"].status == SKIP
    assert "not in the pasted text" in by_id["cudnn.loaded"].summary
    assert by_id["container.shm"].status == SKIP


def test_collect_env_1x_yes_no_and_driver_too_old_for_cuda_10_1():
    facts = facts_of("collect-env-1x.txt")
    assert facts.torch.version == "1.4.0" and facts.torch.cuda == "10.1"
    assert facts.torch.cuda_available is True
    assert facts.gpus[0].name == "GeForce GTX 1080 Ti"
    assert facts.gpus[0].compute_capability == "6.1"
    assert facts.driver.cuda == "10.1"  # 418.87 >= 418.39, CUDA 10.1's driver
    assert statuses(facts)["driver.cuda"] == PASS


def test_nvidia_smi_new_layout():
    facts = facts_of("smi-new.txt")
    assert facts.driver.version == "535.104.05" and facts.driver.cuda == "12.2"
    first, second = facts.gpus
    assert first.name == "NVIDIA A100-SXM4-80GB" and first.pci_bus_id == "00000000:07:00.0"
    assert (first.memory_total_mib, first.memory_used_mib) == (81920, 4)
    assert (first.temperature_c, first.power_limit_w) == (30, 400.0)
    assert (first.mig_mode, second.mig_mode) == (False, True)
    assert first.compute_capability == "8.0"
    assert facts.torch.unavailable["version"] == "not in the pasted text"
    assert statuses(facts)["driver.present"] == PASS


def test_nvidia_smi_q():
    facts = facts_of("smi-q.txt")
    assert facts.driver.version == "470.82.01" and facts.driver.cuda == "11.4"
    (gpu,) = facts.gpus
    assert gpu.name == "Tesla V100-PCIE-32GB" and gpu.pci_device_id == "0x1db6"
    assert (gpu.pcie_gen, gpu.pcie_width, gpu.pcie_width_max) == (3, 8, 16)
    assert (gpu.memory_total_mib, gpu.temperature_c, gpu.power_limit_w) == (32510, 33, 250.0)
    assert gpu.persistence_mode is True and gpu.mig_mode is None
    assert gpu.compute_capability == "7.0"


SMI_Q_FABRIC = """
==============NVSMI LOG==============

Driver Version                            : 580.159.04
CUDA Version                              : 13.0

Attached GPUs                             : 1
GPU 00000000:19:00.0
    Product Name                          : NVIDIA H200
{fabric}
"""


@pytest.mark.parametrize(
    ("fabric", "state", "fabric_status", "status"),
    [
        (  # nvidia-smi 580 on a healthy HGX: the section indented, with its Health block
            "    Fabric\n        State : Completed\n        Status : Success\n"
            "        CliqueId : 2\n        Health\n            Bandwidth : Full",
            "completed",
            "success",
            PASS,
        ),
        (  # pasted without its indent: a registration that completed and failed
            "Fabric\n    State : Completed\n    Status : Insufficient Resources",
            "completed",
            "Insufficient Resources",
            FAIL,
        ),
        (
            "    Fabric\n        State : In Progress\n        Status : N/A",
            "in_progress",
            None,
            WARN,
        ),
        (
            "    Fabric\n        State : Not Started\n        Status : N/A",
            "not_started",
            None,
            FAIL,
        ),
        ("    Fabric\n        State : N/A\n        Status : N/A", None, None, SKIP),  # pre-Hopper
    ],
)
def test_nvidia_smi_q_fabric_section(tmp_path, fabric, state, fabric_status, status):
    path = tmp_path / "smi-q.txt"
    path.write_text(SMI_Q_FABRIC.format(fabric=fabric))
    facts = load_inputs([str(path)])
    (gpu,) = facts.gpus
    assert (gpu.fabric_state, gpu.fabric_status) == (state, fabric_status)
    assert statuses(facts)["gpu.fabric"] == status


def test_nvidia_smi_and_collect_env_merge_the_first_input_winning():
    facts = facts_of("smi-new.txt", "collect-env-2x.txt")
    assert facts.driver.version == "535.104.05"  # nvidia-smi came first
    assert facts.torch.version == "2.4.1+cu121"  # only collect_env says
    assert facts.provenance["driver.version"].startswith("nvidia-smi")
    assert facts.provenance["torch.version"].startswith("collect-env")


@pytest.mark.parametrize(
    ("text", "check_id", "words"),
    [
        (
            "UserWarning: NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible "
            "with the current PyTorch installation.\nThe current PyTorch install supports CUDA "
            "capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90.",
            "gpu.arch",
            "sm_120",
        ),
        (
            "UserWarning: Found GPU0 Tesla K40c which is of cuda capability 3.5.\n    PyTorch no "
            "longer supports this GPU because it is too old.",
            "gpu.arch",
            "too old",
        ),
        (
            "UserWarning: CUDA initialization: The NVIDIA driver on your system is too old (found "
            "version 11040).",
            "driver.cuda",
            "found version 11040",
        ),
        (
            "RuntimeError: CUDA error: CUDA driver version is a stub library",
            "torch.libraries",
            "stub",
        ),
        (
            "UserWarning: CUDA initialization: CUDA unknown error - this may be due to an "
            "incorrectly set up environment",
            "torch.cuda_build",
            "nvidia_uvm",
        ),
        (
            "ImportError: libcudnn.so.9: cannot open shared object file: No such file or directory",
            "torch.import",
            "LD_LIBRARY_PATH",
        ),
        (
            "RuntimeError: cuDNN version incompatibility: PyTorch was compiled  against (9, 1, 0) "
            "but found runtime version (8, 9, 7).",
            "cudnn.loaded",
            "LD_LIBRARY_PATH",
        ),
        ("Failed to initialize NVML: Driver/library version mismatch", "driver.present", "reboot"),
        (
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
            "driver.present",
            "modprobe",
        ),
        ("No devices were found", "driver.present", "sees no GPU"),
        ("AssertionError: Torch not compiled with CUDA enabled", "torch.cuda_build", "CPU-only"),
        (
            "THCudaCheck FAIL file=/pytorch/aten/src/THC/THCGeneral.cpp line=50 error=802 : "
            "system not yet initialized",
            "gpu.fabric",
            "nvidia-fabricmanager",
        ),
        (
            'level=INFO msg="Unable to load cudart library /usr/lib/x86_64-linux-gnu/libcuda.so.'
            '570.86.15: cuda driver library init failure: 802"',
            "gpu.fabric",
            "nvidia-fabricmanager",
        ),
        (
            'docker: Error response from daemon: could not select device driver "" with '
            "capabilities: [[gpu]].",
            "docker.gpu_container",
            "nvidia-ctk runtime configure",
        ),
        (  # docker compose, with the capabilities its deploy section asked for
            'Error response from daemon: could not select device driver "nvidia" with '
            "capabilities: [[compute utility]]",
            "docker.gpu_container",
            "nvidia-ctk runtime configure",
        ),
        (
            "docker: Error response from daemon: unknown or invalid runtime name: nvidia.",
            "docker.gpu_container",
            "NVIDIA Container Toolkit",
        ),
        (
            "nvidia-container-cli: requirement error: unsatisfied condition: cuda>=12.4, please "
            "update your driver to a newer version, or use an earlier cuda container: unknown",
            "driver.cuda",
            "550.54.14",
        ),
        (
            "RuntimeError: The detected CUDA version (12.1) mismatches the version that was used "
            "to compile PyTorch (11.8). Please make sure to use the same CUDA versions.",
            "nvcc.version",
            "CUDA_HOME=/usr/local/cuda-11.8",
        ),
        ("Failed to initialize NVML: Unknown Error", "driver.present", "daemon-reload"),
        (
            "modprobe: ERROR: could not insert 'nvidia': Key was rejected by service",
            "driver.present",
            "mokutil",
        ),
        (
            "modprobe: FATAL: Module nvidia not found in directory /lib/modules/6.8.0-45-generic",
            "driver.present",
            "dkms autoinstall",
        ),
        (
            "NVRM: API mismatch: the client has the version 580.95.05, but",
            "driver.present",
            "sudo reboot",
        ),
        (  # newer kernels name the client
            "NVRM: API mismatch: the client 'nvidia-smi' (pid 1005)",
            "driver.present",
            "sudo reboot",
        ),
        ("modprobe: FATAL: Module nvidia-uvm not found.", "driver.present", "DKMS"),
        ("Failed to initialize NVML: Insufficient Permissions", "driver.present", "permission"),
        ("RuntimeError: No CUDA GPUs are available", "torch.cuda_build", "CUDA_VISIBLE_DEVICES"),
        (
            "cupy.cuda.runtime.CUDARuntimeError: cudaErrorSystemNotReady",
            "torch.cuda_build",
            "see gpu.fabric",
        ),
    ],
)
def test_each_pasted_message_fails_its_check(tmp_path, text, check_id, words):
    path = tmp_path / "paste.txt"
    path.write_text(text + "\n")
    report = judge(load_inputs([str(path)]), Expectations())
    found = {c.id: c for c in report.checks}[check_id]
    shown = found.summary + (
        found.remedy.text + " ".join(found.remedy.commands) if found.remedy else ""
    )
    assert found.status == FAIL, found.summary
    assert words in shown
    assert not report.verdict.ready


def test_a_wrapped_too_old_warning_still_names_the_gpu_and_a_build_for_it(tmp_path):
    path = tmp_path / "paste.txt"
    path.write_text(
        "torch/cuda/__init__.py:116: UserWarning:\n"
        "    Found GPU0 GeForce GTX 960M which is of cuda capability 5.0.\n"
        "    PyTorch no longer supports this GPU because it is too old.\n"
    )
    facts = load_inputs([str(path)])
    assert [(g.name, g.compute_capability) for g in facts.gpus] == [("GeForce GTX 960M", "5.0")]
    found = {c.id: c for c in judge(facts, Expectations()).checks}["gpu.arch"]
    (command,) = found.remedy.commands
    build = compat.suggest_build(["5.0"], None)
    assert compat.covers(build, ["5.0"]) and command == build.pip_command()
    # The table's oldest build already covers sm_50: it cannot say when support began.
    assert "start with" not in found.remedy.text


def test_a_pasted_gpu_request_docker_refused_is_judged_by_the_docker_checks(tmp_path):
    path = tmp_path / "paste.txt"
    path.write_text(
        'docker: Error response from daemon: could not select device driver "" with '
        "capabilities: [[gpu]].\n"
    )
    checks = {c.id: c for c in judge(load_inputs([str(path)]), Expectations()).checks}
    assert checks["docker.engine"].status == PASS and checks["docker.engine"].summary == (
        "Docker answers"
    )
    # The paste says what failed, not which runtimes Docker has: that stays unknown.
    assert checks["docker.nvidia_runtime"].status == SKIP
    assert checks["docker.gpu_container"].status == FAIL
    assert checks["docker.gpu_container"].summary.startswith("a container could not start")


@pytest.mark.parametrize(
    "text",
    [
        # pip's indented, wrapped copy of torch 2.x's message
        "      RuntimeError:\n      The detected CUDA version (12.8) mismatches the version that "
        "was used to compile\n      PyTorch (13.0). Please make sure to use the same CUDA "
        "versions.\n",
        # newer torch: the versions are the exception's arguments, "%s" stays in the text
        "RuntimeError: ('The detected CUDA version (%s) mismatches the version that was used to "
        "compilePyTorch (%s). Please make sure to use the same CUDA versions.', '12.8', '13.0')\n",
    ],
)
def test_an_extension_build_torch_refused_names_both_cuda_versions(tmp_path, text):
    path = tmp_path / "paste.txt"
    path.write_text(text)
    facts = load_inputs([str(path)])
    assert (facts.nvcc.version, facts.torch.cuda) == ("12.8", "13.0")
    assert statuses(facts)["nvcc.version"] == FAIL


def test_nvcc_version_output_is_read(tmp_path):
    path = tmp_path / "paste.txt"
    path.write_text(
        "nvcc: NVIDIA (R) Cuda compiler driver\n"
        "Cuda compilation tools, release 13.0, V13.0.88\n"
        "Build cuda_13.0.r13.0/compiler.36424714_0\n"
    )
    facts = load_inputs([str(path)])
    assert (facts.nvcc.version, facts.nvcc.build) == ("13.0", "V13.0.88")
    assert statuses(facts)["nvcc.version"] == SKIP  # torch's CUDA is not in the text


def test_modprobe_says_why_the_module_is_not_loaded_in_place_of_nvidia_smi(tmp_path):
    path = tmp_path / "paste.txt"
    path.write_text(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure "
        "that the latest NVIDIA driver is installed and running.\n"
        "modprobe: ERROR: could not insert 'nvidia': Key was rejected by service\n"
    )
    found = {c.id: c for c in judge(load_inputs([str(path)]), Expectations()).checks}
    check = found["driver.present"]
    assert check.summary.endswith("could not insert 'nvidia': Key was rejected by service")
    assert check.remedy.text.startswith("Secure Boot rejected the unsigned module")


def test_cuda_version_from_found_version_and_cudnn_versions(tmp_path):
    path = tmp_path / "paste.txt"
    path.write_text(
        "The NVIDIA driver on your system is too old (found version 11040).\n"
        "cuDNN version incompatibility: PyTorch was compiled  against (8, 9, 2) but found "
        "runtime version (8, 5, 0).\n"
    )
    facts = load_inputs([str(path)])
    assert facts.driver.cuda == "11.4"
    assert (facts.torch.cudnn_compiled, facts.torch.cudnn) == ("8.9.2", "8.5.0")


def test_text_that_is_nothing_known_is_one_line_exit_2(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my training is slow, any ideas?\n")
    proc = run_envcheck("judge", str(path))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "notes.txt" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_judge_reads_stdin():
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "envcheck", "judge", "-", "--json"],
        input=(PASTE / "smi-new.txt").read_text(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["schema"] == "envcheck.report/2"
    assert report["facts"]["driver"]["version"] == "535.104.05"


def test_forced_reader_that_finds_nothing_leaves_everything_unknown(tmp_path):
    facts = load_inputs([str(PASTE / "smi-new.txt")], "collect-env")
    assert facts.driver.version is None
    assert facts.driver.unavailable["version"] == "not in the pasted text"
    assert facts.unavailable["gpus"] == "not in the pasted text"


@pytest.mark.parametrize(
    ("gpu", "words"),
    [
        ({"memory_total_mib": -1}, "gpus[0].memory_total_mib: -1 is outside"),
        ({"power_limit_w": 10**400}, "gpus[0].power_limit_w"),
        ({"temperature_c": 10**6}, "gpus[0].temperature_c"),
    ],
)
def test_impossible_numbers_are_bad_input(tmp_path, gpu, words):
    data = {"schema": "envcheck.facts/2", "gpus": [{"index": 0, **gpu}]}
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=words.replace("[", r"\[").replace("]", r"\]")):
        load_inputs([str(path)])


def test_nan_is_bad_input(tmp_path):
    path = tmp_path / "facts.json"
    path.write_text('{"schema": "envcheck.facts/2", "gpus": [{"index": 0, "power_limit_w": NaN}]}')
    with pytest.raises(InputError, match="not a finite number"):
        load_inputs([str(path)])


def test_facts_1_files_are_still_read(h200_facts, tmp_path):
    data = json.loads((ROOT / "tests" / "data" / "h200-facts.json").read_text())
    data["schema"] = "envcheck.facts/1"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    facts = load_inputs([str(path)])
    assert facts.schema == "envcheck.facts/2"
    assert statuses(facts) == statuses(h200_facts)


def test_nvidia_smi_old_layout_windows_layout_and_list():
    old = facts_of("smi-old.txt")
    assert (old.driver.version, old.driver.cuda) == ("470.82.01", "11.4")
    (t4,) = old.gpus
    assert (t4.name, t4.compute_capability, t4.memory_total_mib) == ("Tesla T4", "7.5", 15109)
    assert (t4.temperature_c, t4.power_limit_w, t4.persistence_mode) == (34, 70.0, False)
    windows = facts_of("smi-windows.txt")
    (gtx,) = windows.gpus
    # WDDM says nothing of persistence; a name nvidia-smi cut short is not guessed at
    assert gtx.persistence_mode is None and gtx.compute_capability is None
    assert gtx.name == "NVIDIA GeForce GTX 1660 ..." and gtx.memory_used_mib == 512
    listed = facts_of("smi-list.txt")
    assert [g.uuid[:12] for g in listed.gpus] == ["GPU-5f3c1a2b", "GPU-6a7b8c9d"]
    assert listed.driver.unavailable["version"] == "not in the pasted text"


@pytest.mark.parametrize(
    "name", [*sorted(p.name for p in PASTE.iterdir()), "../reports/vllm-4940.txt"]
)
def test_a_pasted_report_fits_the_published_schema(name):
    import jsonschema

    from envcheck.schema import FILES

    report = judge(load_inputs([str(PASTE / name)]), Expectations())
    jsonschema.validate(report.to_json(), json.loads(FILES["report"].read_text()))


def test_old_integer_cudnn_versions_are_read():
    facts = facts_of("old-cudnn-mismatch.txt")
    assert (facts.torch.cudnn_compiled, facts.torch.cudnn) == ("7.6.5", "7.1.2")
    assert statuses(facts)["cudnn.loaded"] == FAIL


def test_collect_env_odd_lines():
    facts = facts_of("collect-env-odd.txt")
    # No "PyTorch version" line: the pip list names torch; "garbage" is no CUDA version.
    assert facts.torch.version == "2.2.2+cu121"
    assert facts.torch.cuda == "12.1" and "derived" in facts.provenance["torch.cuda"]
    # A bare GPU name (no "GPU 0:"), as some collect_env versions print it
    assert [g.name for g in facts.gpus] == ["NVIDIA GeForce RTX 3060 Laptop GPU"]
    assert facts.gpus[0].compute_capability == "8.6"


def test_collect_env_gpu_uuid():
    facts = facts_of("collect-env-uuid.txt")
    (gpu,) = facts.gpus
    assert gpu.name == "NVIDIA H100 80GB HBM3" and gpu.uuid.startswith("GPU-0a1b2c3d")


def test_a_blank_line_ends_a_fields_continuation_lines():
    from envcheck.paste.collect_env import _fields

    fields = _fields("cuDNN version: Probably one of the following:\n/a/libcudnn.so.8\n\n/stray\n")
    assert fields["cuDNN version"] == ("Probably one of the following:", ["/a/libcudnn.so.8"])


@pytest.mark.parametrize(
    ("value", "gpus"),
    [("GPU0: NVIDIA A100", None), ("Could not collect", None), ("Tesla T4", ["Tesla T4"])],
)
def test_a_gpu_field_without_gpu_lines(value, gpus):
    from envcheck.paste.collect_env import parse

    observed = parse(f"PyTorch version: 2.1.0\nGPU models and configuration: {value}\n")
    found = [g["name"] for g in observed["gpus"]] if "gpus" in observed else None
    assert found == gpus


def test_a_table_cut_short_says_nothing_of_the_gpus():
    facts = facts_of("smi-header-only.txt")
    assert facts.driver.version == "535.104.05"
    assert facts.driver.cuda == "12.2" and "derived" in facts.provenance["driver.cuda"]  # N/A
    assert facts.unavailable["gpus"] == "not in the pasted text"


def test_cudnn_versions_that_are_neither_triples_nor_integers_stay_unknown(tmp_path):
    path = tmp_path / "paste.txt"
    path.write_text(
        "cuDNN version incompatibility: PyTorch was compiled against (8, 9) but "
        "found runtime version (8, 5).\n"
    )
    facts = load_inputs([str(path)])
    assert (facts.torch.cudnn_compiled, facts.torch.cudnn) == (None, None)
    assert facts.torch.unavailable["cudnn"] == "not in the pasted text"
