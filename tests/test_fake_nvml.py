"""The fake libnvidia-ml.so.1, driven through the real pynvml in a subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pynvml
import pytest

from tests.fakenvml import SCENARIOS, SOURCE, BuildError, build

# Lets this module run on its own; tests/conftest.py registers the same plugin (deduplicated).
pytest_plugins = ["tests.fakenvml.plugin"]

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

GIB = 1 << 30
MIB = 1 << 20

# Runs in the child: report everything pynvml returns or raises as JSON.
PROBE = textwrap.dedent(
    """
    import ctypes, json, pynvml

    def q(fn, *args):
        try:
            value = fn(*args)
        except pynvml.NVMLError as exc:
            return {"error": type(exc).__name__, "code": exc.value, "str": str(exc)}
        return {"value": value}

    def pci(h):
        p = pynvml.nvmlDeviceGetPciInfo_v3(h)
        return [p.busId, p.busIdLegacy, p.domain, p.bus, p.device, p.pciDeviceId]

    def mem(h):
        m = pynvml.nvmlDeviceGetMemoryInfo(h)
        return [m.total, m.free, m.used]

    def mem2(h):
        m = pynvml.nvmlDeviceGetMemoryInfo(h, version=pynvml.nvmlMemory_v2)
        return [m.total, m.reserved, m.free, m.used]

    def fabric(h):
        info = pynvml.c_nvmlGpuFabricInfo_t()
        pynvml.nvmlDeviceGetGpuFabricInfo(h, ctypes.byref(info))
        return [info.state, info.status]

    QUERIES = {
        "index": pynvml.nvmlDeviceGetIndex,
        "name": pynvml.nvmlDeviceGetName,
        "uuid": pynvml.nvmlDeviceGetUUID,
        "pci": pci,
        "cc": pynvml.nvmlDeviceGetCudaComputeCapability,
        "memory": mem,
        "memory_v2": mem2,
        "mig": pynvml.nvmlDeviceGetMigMode,
        "ecc": pynvml.nvmlDeviceGetEccMode,
        "remapped_rows": pynvml.nvmlDeviceGetRemappedRows,
        "retired_pages_pending": pynvml.nvmlDeviceGetRetiredPagesPendingStatus,
        "pcie_gen": pynvml.nvmlDeviceGetCurrPcieLinkGeneration,
        "pcie_max_gen": pynvml.nvmlDeviceGetMaxPcieLinkGeneration,
        "pcie_width": pynvml.nvmlDeviceGetCurrPcieLinkWidth,
        "pcie_max_width": pynvml.nvmlDeviceGetMaxPcieLinkWidth,
        "power_limit": pynvml.nvmlDeviceGetPowerManagementLimit,
        "temperature": lambda h: pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU),
        "reasons": pynvml.nvmlDeviceGetCurrentClocksEventReasons,
        "throttle_reasons": pynvml.nvmlDeviceGetCurrentClocksThrottleReasons,
        "persistence": pynvml.nvmlDeviceGetPersistenceMode,
        "fabric": fabric,
    }

    out = {"init": q(pynvml.nvmlInit)}
    if "error" not in out["init"]:
        out["driver"] = q(pynvml.nvmlSystemGetDriverVersion)
        out["nvml"] = q(pynvml.nvmlSystemGetNVMLVersion)
        out["cuda"] = q(pynvml.nvmlSystemGetCudaDriverVersion)
        out["cuda_v2"] = q(pynvml.nvmlSystemGetCudaDriverVersion_v2)
        out["gpus"] = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            out["gpus"].append({k: q(fn, h) for k, fn in QUERIES.items()})
        pynvml.nvmlShutdown()
    print(json.dumps(out))
    """
)


def run_py(env: dict[str, str], code: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def probe(env: dict[str, str]) -> dict:
    proc = run_py(env, PROBE)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def ok(value):
    return {"value": value}


def err(name: str) -> dict:
    """The error record for pynvml.NVMLError_<name>, with its real code and message."""
    cls = getattr(pynvml, f"NVMLError_{name}")
    exc = cls()
    return {"error": cls.__name__, "code": exc.value, "str": str(exc)}


def healthy_h100(index: int, uuid: str, bus: int) -> dict:
    total = 81559 * MIB
    return {
        "index": ok(index),
        "name": ok("NVIDIA H100 80GB HBM3"),
        "uuid": ok(uuid),
        "pci": ok([f"00000000:{bus:02X}:00.0", f"0000:{bus:02X}:00.0", 0, bus, 0, 0x233010DE]),
        "cc": ok([9, 0]),
        "memory": ok([total, total, 0]),
        "memory_v2": ok([total, 0, total, 0]),
        "mig": ok([0, 0]),
        "ecc": ok([1, 1]),
        "remapped_rows": ok([0, 0, 0, 0]),
        "retired_pages_pending": err("NotSupported"),
        "pcie_gen": ok(5),
        "pcie_max_gen": ok(5),
        "pcie_width": ok(16),
        "pcie_max_width": ok(16),
        "power_limit": ok(700000),
        "temperature": ok(38),
        "reasons": ok(pynvml.nvmlClocksEventReasonGpuIdle),
        "throttle_reasons": ok(pynvml.nvmlClocksThrottleReasonGpuIdle),
        "persistence": ok(pynvml.NVML_FEATURE_ENABLED),
        "fabric": ok([pynvml.NVML_GPU_FABRIC_STATE_COMPLETED, pynvml.NVML_SUCCESS]),
    }


H100_0 = SCENARIOS["one_h100_r580"]["gpu.0.uuid"]
H100_1 = SCENARIOS["gpu_lost"]["gpu.1.uuid"]


def test_one_h100_r580(fake_nvml):
    out = probe(fake_nvml("one_h100_r580"))
    assert out["init"] == ok(None)
    assert out["driver"] == ok("580.95.05")
    assert out["nvml"] == ok("13.580.95.05")
    assert out["cuda"] == ok(13000)
    assert out["cuda_v2"] == ok(13000)
    assert out["gpus"] == [healthy_h100(0, H100_0, 0x19)]
    assert out["gpus"][0]["memory"]["value"][0] // GIB == 79


def test_two_gpus(fake_nvml):
    out = probe(fake_nvml("two_gpus"))
    assert (out["driver"], out["cuda"]) == (ok("575.57.08"), ok(12090))
    assert out["nvml"] == ok("12.575.57.08")
    h100, v100 = out["gpus"]
    assert h100 == healthy_h100(0, H100_0, 0x19)
    assert v100["index"] == ok(1)
    assert v100["name"] == ok("Tesla V100-SXM2-32GB")
    assert v100["cc"] == ok([7, 0])
    assert v100["memory"] == ok([32 * GIB, 32 * GIB, 0])
    assert v100["pci"]["value"][0] == "00000000:3B:00.0"
    assert v100["remapped_rows"] == err("NotSupported")
    assert v100["mig"] == err("NotSupported")
    assert v100["retired_pages_pending"] == ok(0)
    assert (v100["pcie_gen"], v100["pcie_max_width"]) == (ok(3), ok(16))
    assert v100["fabric"] == err("NotSupported")  # no field: NVML's answer for pre-Hopper GPUs


def test_fabric_not_started(fake_nvml):
    out = probe(fake_nvml("fabric_not_started"))
    not_started = [pynvml.NVML_GPU_FABRIC_STATE_NOT_STARTED, pynvml.NVML_SUCCESS]
    assert [g["fabric"] for g in out["gpus"]] == [ok(not_started), ok(not_started)]


def test_degraded(fake_nvml):
    out = probe(fake_nvml("degraded"))
    assert (out["driver"], out["cuda"]) == (ok("550.163.01"), ok(12040))
    (a100,) = out["gpus"]
    assert a100["name"] == ok("NVIDIA A100-SXM4-80GB")
    assert a100["cc"] == ok([8, 0])
    assert a100["remapped_rows"] == ok([0, 0, 1, 0])
    assert [a100[k] for k in ("pcie_gen", "pcie_max_gen", "pcie_width", "pcie_max_width")] == [
        ok(4),
        ok(4),
        ok(8),
        ok(16),
    ]
    thermal = (
        pynvml.nvmlClocksEventReasonHwThermalSlowdown
        | pynvml.nvmlClocksEventReasonSwThermalSlowdown
    )
    assert a100["reasons"] == ok(thermal) == a100["throttle_reasons"]
    assert a100["temperature"] == ok(87)


def test_gpu_lost_fails_every_query_but_hands_out_the_handle(fake_nvml):
    out = probe(fake_nvml("gpu_lost"))
    healthy, lost = out["gpus"]
    assert healthy == healthy_h100(0, H100_0, 0x19)
    assert lost == dict.fromkeys(healthy, err("GpuIsLost"))
    assert lost["name"]["code"] == pynvml.NVML_ERROR_GPU_IS_LOST == 15
    assert lost["name"]["str"] == "GPU is lost"


@pytest.mark.parametrize(
    ("scenario", "error", "code"),
    [
        ("driver_library_mismatch", "LibRmVersionMismatch", 18),
        ("driver_not_loaded", "DriverNotLoaded", 9),
        ({"init": "no_permission"}, "NoPermission", 4),
        ({"init": "unknown_error"}, "Unknown", 999),
    ],
)
def test_init_failures(fake_nvml, scenario, error, code):
    out = probe(fake_nvml(scenario))
    assert out == {"init": err(error)}
    assert out["init"]["code"] == code


def test_init_failure_exception_class_and_error_string(fake_nvml):
    code = textwrap.dedent(
        """
        import pynvml
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError_LibRmVersionMismatch as exc:
            print(exc.value, str(exc), sep="|")
        # the library is loaded even though init failed: nvmlErrorString needs no init
        for c in (9, 15, 18, 999):
            print(pynvml.nvmlErrorString(c))
        """
    )
    proc = run_py(fake_nvml("driver_library_mismatch"), code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "18|RM has detected an NVML/RM version mismatch.",
        "Driver Not Loaded",
        "GPU is lost",
        "RM has detected an NVML/RM version mismatch.",
        "Unknown Error",
    ]


def test_fields_can_be_unsupported_forbidden_or_missing(fake_nvml):
    config = {
        **SCENARIOS["one_h100_r580"],
        "gpu.0.power_limit_mw": "no_permission",
        "gpu.0.ecc": "not_supported",
        "driver_version": "no_permission",
    }
    del config["gpu.0.temperature"]
    out = probe(fake_nvml(config))
    (gpu,) = out["gpus"]
    assert gpu["power_limit"] == err("NoPermission")
    assert gpu["ecc"] == err("NotSupported")
    assert gpu["temperature"] == err("NotSupported")
    assert gpu["name"] == ok("NVIDIA H100 80GB HBM3")
    assert out["driver"] == err("NoPermission")


def test_argument_checks_and_shutdown_refcount(fake_nvml):
    code = textwrap.dedent(
        """
        import pynvml

        def attempt(fn, *args):
            try:
                return repr(fn(*args))
            except pynvml.NVMLError as exc:
                return type(exc).__name__

        pynvml.nvmlInit()
        pynvml.nvmlInit()
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        print(attempt(pynvml.nvmlDeviceGetHandleByIndex, 1))
        print(attempt(pynvml.nvmlDeviceGetTemperature, h, 1))
        print(attempt(pynvml.nvmlDeviceGetMemoryInfo, h, 0x01000028))
        pynvml.nvmlShutdown()
        print(attempt(pynvml.nvmlDeviceGetCount))
        pynvml.nvmlShutdown()
        print(attempt(pynvml.nvmlDeviceGetCount))
        print(attempt(pynvml.nvmlDeviceGetName, h))
        print(attempt(pynvml.nvmlShutdown))
        """
    )
    proc = run_py(fake_nvml("one_h100_r580"), code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "NVMLError_InvalidArgument",
        "NVMLError_InvalidArgument",
        "NVMLError_ArgumentVersionMismatch",
        "1",
        "NVMLError_Uninitialized",
        "NVMLError_Uninitialized",
        "NVMLError_Uninitialized",
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"gpu.0.colour": "green"}, "unknown gpu field"),
        ({"gpu.1.name": "NVIDIA H100 80GB HBM3"}, "contiguous"),
        ({"init": "sometimes"}, "bad init value"),
        ({"gpu.0.pcie": "5,5,16"}, "bad value for: gpu.0.pcie"),
        ({"gpu.0.pci_bus_id": "19:00.0"}, "pci_bus_id"),
    ],
)
def test_bad_config_fails_init_loudly(fake_nvml, config, message):
    proc = run_py(fake_nvml(config), PROBE)
    assert json.loads(proc.stdout) == {"init": err("Unknown")}
    assert "fake_nvml:" in proc.stderr
    assert message in proc.stderr


def test_missing_config_fails_init(fake_nvml, tmp_path):
    env = fake_nvml({})
    # an empty file is fine: zero GPUs and the default R580 system values
    assert probe(env) == {
        "init": ok(None),
        "driver": ok("580.95.05"),
        "nvml": ok("13.580.95.05"),
        "cuda": ok(13000),
        "cuda_v2": ok(13000),
        "gpus": [],
    }
    env["FAKE_NVML_CONFIG"] = str(tmp_path / "absent.conf")
    proc = run_py(env, PROBE)
    assert json.loads(proc.stdout) == {"init": err("Unknown")}
    assert "cannot open config file" in proc.stderr
    del env["FAKE_NVML_CONFIG"]
    proc = run_py(env, PROBE)
    assert json.loads(proc.stdout) == {"init": err("Unknown")}
    assert "FAKE_NVML_CONFIG is not set" in proc.stderr


HANG_TIMEOUT_S = 2


def partial_stdout(exc: subprocess.TimeoutExpired) -> str:
    """What the killed child printed (bytes on POSIX even with text=True)."""
    out = exc.stdout or b""
    return out.decode() if isinstance(out, bytes) else out


def test_hang_init_blocks_until_killed(fake_nvml):
    code = (
        "import pynvml\nprint('calling nvmlInit', flush=True)\npynvml.nvmlInit()\nprint('returned')"
    )
    with pytest.raises(subprocess.TimeoutExpired) as info:
        run_py(fake_nvml("hang_init"), code, timeout=HANG_TIMEOUT_S)
    assert partial_stdout(info.value).strip() == "calling nvmlInit"


def test_hang_device_blocks_queries_not_enumeration(fake_nvml):
    code = textwrap.dedent(
        """
        import pynvml
        pynvml.nvmlInit()
        print("driver", pynvml.nvmlSystemGetDriverVersion())
        print("count", pynvml.nvmlDeviceGetCount())
        h = pynvml.nvmlDeviceGetHandleByIndex(0)
        print("handle ok", flush=True)
        print(pynvml.nvmlDeviceGetName(h))
        """
    )
    with pytest.raises(subprocess.TimeoutExpired) as info:
        run_py(fake_nvml("hang_device"), code, timeout=HANG_TIMEOUT_S)
    assert partial_stdout(info.value).splitlines() == ["driver 580.95.05", "count 1", "handle ok"]


def test_build_reports_compiler_errors(tmp_path):
    broken = tmp_path / "broken.c"
    broken.write_text("int nvmlInit(void) { return }\n")
    with pytest.raises(BuildError, match="failed") as info:
        build(tmp_path / "out", source=broken)
    assert "broken.c" in str(info.value)


def test_source_compiles_without_warnings(tmp_path):
    proc = subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-o",
            str(tmp_path / "x.so"),
            str(SOURCE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_built_library_is_named_for_dlopen(fake_nvml_dir: Path):
    lib = fake_nvml_dir / "libnvidia-ml.so.1"
    assert lib.is_file()
    assert b"libnvidia-ml.so.1" in lib.read_bytes()  # the soname
