"""`envcheck perf`: the real measurement on this CPU within its bound, the checks judged from
facts (an H200's measured figures against its row of the table), and the table's sanity."""

from __future__ import annotations

import dataclasses
import json
import re

import jsonschema
import pytest

from envcheck import compat, perfspec
from envcheck.checks import run_checks
from envcheck.expect import Expectations
from envcheck.facts import ErrorKind, Perf, PerfMeasurement
from envcheck.probes.nvml import CLOCK_EVENT_REASONS
from envcheck.report import judge
from envcheck.schema import FILES
from tests.conftest import run_envcheck

BUS = "00000000:19:00.0"


def test_perf_measures_this_cpu_within_its_bound():
    proc = run_envcheck("perf", "--json", "--no-smoke", "--perf-timeout", "30", timeout=120)
    report = json.loads(proc.stdout)
    jsonschema.validate(report, json.loads(FILES["report"].read_text()))
    perf = report["facts"]["perf"]
    assert perf["complete"] is True and perf["error"] is None
    assert perf["seconds"] <= perf["budget_s"] == 30
    figures = {(m["kind"], m["variant"]): m for m in perf["measurements"]}
    assert set(figures) == {("gemm", "fp32"), ("memory", "copy")}
    for m in figures.values():
        assert m["device"] == "cpu" and m["value"] > 0 and m["repeats"] >= 3
    assert figures["gemm", "fp32"]["unit"] == "TFLOPS"
    assert re.fullmatch(r"(\d+)x\1x\1", figures["gemm", "fp32"]["size"])
    assert figures["memory", "copy"]["unit"] == "GB/s"
    checks = {c["id"]: c for c in report["checks"]}
    assert (
        checks["perf.gemm"]["status"] == "skip" and "on the CPU" in checks["perf.gemm"]["summary"]
    )
    assert checks["perf.host_link"]["summary"] == "no GPU: nothing crosses a host link"
    assert "performance" in proc.stderr and "gemm fp32" in proc.stderr  # the terminal's table
    rows = {(r["kind"], r["variant"]): r for r in report["perf"]}  # as judged: nothing to judge
    assert rows["gemm", "fp32"]["value"] == figures["gemm", "fp32"]["value"]
    assert rows["gemm", "fp32"]["expected"] is None and rows["gemm", "fp32"]["status"] == "skip"


def test_a_run_cut_short_by_its_timeout_says_where_it_stopped(tmp_path):
    from envcheck.collect import perf_section

    perf = perf_section(str(__import__("sys").executable), 0.5)  # not even torch imports
    assert perf.error_kind == ErrorKind.TIMEOUT and perf.complete is False
    assert perf.error.startswith("stopped after 0.5 s at: ")


def test_each_test_times_its_share_of_the_budget():
    from envcheck.probes import perf_runtime as pr

    assert pr.Budget(60).per_test(7) == pr.MAX_TEST_SECONDS  # one GPU: the full two seconds
    assert pr.Budget(60).per_test(105) == pytest.approx(0.6 * 60 / 105, rel=0.01)  # 8 GPUs
    assert pr.Budget(5).per_test(1000) == pr.MIN_TEST_SECONDS
    batches = []

    def clock(op, count):  # every op takes 10 ms
        batches.append(count)
        return 0.01 * count

    run = pr.timed(clock, lambda: None, 0.5)
    assert run["per_op"] == pytest.approx(0.01)
    assert batches[0] == 1 and set(batches[1:]) == {int(pr.BATCH_SECONDS / 0.01)}
    assert 0.5 <= run["seconds"] < 0.5 + pr.BATCH_SECONDS + 1e-9
    assert run["repeats"] == sum(batches[1:])  # the warm-up is not counted


def measured(kind: str, variant: str, value: float | None, **extra) -> PerfMeasurement:
    return PerfMeasurement(
        device="cuda:0", gpu_index=0, name="NVIDIA H200", pci_bus_id=BUS, kind=kind,
        variant=variant, value=value, unit="TFLOPS" if kind == "gemm" else "GB/s",
        size="8192x8192x8192" if kind == "gemm" else "1024 MiB", repeats=50, seconds=0.4,
        **extra,
    )  # fmt: skip


def with_perf(h200_facts, *measurements, gpu=None, **perf):
    gpu0 = dataclasses.replace(h200_facts.gpus[0], pci_bus_id=BUS, **(gpu or {}))
    section = Perf(measurements=list(measurements), budget_s=60.0, complete=True)
    return dataclasses.replace(h200_facts, gpus=[gpu0], perf=dataclasses.replace(section, **perf))


def result(facts, check_id):
    return next(r for r in run_checks(facts, Expectations()) if r.id == check_id)


@pytest.mark.parametrize(
    ("bf16", "status"),
    [(800.0, "pass"), (640.0, "pass"), (560.0, "warn"), (480.0, "warn"), (400.0, "fail")],
)
def test_gemm_is_judged_against_the_h200_achievable_figure(h200_facts, bf16, status):
    # 794.5 TFLOPS achievable: 80 % is 635.6, 60 % is 476.7.
    facts = with_perf(h200_facts, measured("gemm", "fp32", 50.0), measured("gemm", "bf16", bf16))
    r = result(facts, "perf.gemm")
    assert r.status == status
    assert f"cuda:0 bf16 {bf16:g} TFLOPS = {bf16 / 794.5:.0%} of 794.5" in r.summary
    assert "cuda:0 fp32 50 TFLOPS" in r.summary  # no achievable FP32 figure: shown, not judged


def test_a_slow_gemm_names_what_nvml_saw(h200_facts):
    facts = with_perf(
        h200_facts,
        measured("gemm", "bf16", 300.0),
        gpu={"clock_event_reasons": ["sw_power_cap", "gpu_idle"], "power_limit_w": 450.0},
    )
    r = result(facts, "perf.gemm")
    assert r.status == "fail"
    assert "clocks held back (sw_power_cap)" in r.remedy.text and "gpu_idle" not in r.remedy.text
    assert "power limit 450 W" in r.remedy.text
    assert "published achievable figure" in r.remedy.text
    assert "nvidia-smi -q -d PERFORMANCE,POWER,TEMPERATURE" in r.remedy.commands


@pytest.mark.parametrize("reason", sorted(CLOCK_EVENT_REASONS.values()))
def test_a_slow_gemm_and_gpu_throttle_agree_on_what_holds_clocks_back(h200_facts, reason):
    facts = with_perf(
        h200_facts, measured("gemm", "bf16", 300.0), gpu={"clock_event_reasons": [reason]}
    )
    named = f"clocks held back ({reason})" in result(facts, "perf.gemm").remedy.text
    assert named == (result(facts, "gpu.throttle").status == "warn")
    assert named == (reason != "gpu_idle")


def test_memory_and_the_host_link(h200_facts):
    facts = with_perf(
        h200_facts,
        measured("memory", "copy", 3900.0),
        measured("host_link", "h2d", 55.0),
        measured("host_link", "d2h", 26.0),  # half a gen-5 x16 link: an x8 slot
        gpu={"pcie_width": 8, "pcie_width_max": 16},
    )
    assert result(facts, "perf.memory").status == "pass"
    link = result(facts, "perf.host_link")
    assert link.status == "fail"  # 26 of the 47.9 GB/s a healthy gen-5 x16 link reaches
    assert "the link runs x8 of x16" in link.remedy.text
    assert "76% of PCIe gen 5 x16" in link.remedy.text


def test_a_model_without_a_row_is_measured_and_says_so(h200_facts):
    unknown = dataclasses.replace(measured("gemm", "bf16", 100.0), name="NVIDIA Quadro Z9")
    facts = with_perf(h200_facts, unknown, gpu={"name": "NVIDIA Quadro Z9"})
    r = result(facts, "perf.gemm")
    assert r.status == "skip"
    assert "no reference for this model: NVIDIA Quadro Z9" in r.summary


def test_the_pci_device_id_finds_the_row_when_the_name_does_not(h200_facts):
    renamed = dataclasses.replace(measured("gemm", "bf16", 790.0), name="GPU 0")
    facts = with_perf(h200_facts, renamed, gpu={"name": "GPU 0", "pci_device_id": "0x2335"})
    assert result(facts, "perf.gemm").status == "pass"


def test_a_failed_test_fails_its_check(h200_facts):
    broken = dataclasses.replace(
        measured("memory", "copy", None), error="RuntimeError: CUDA error: an illegal memory access"
    )
    r = result(with_perf(h200_facts, broken), "perf.memory")
    assert r.status == "fail" and "an illegal memory access" in r.summary


def test_peers_are_reported_and_failures_fail(h200_facts):
    direct = dataclasses.replace(measured("peer", "0->1", 370.0), peer=1, peer_access=True)
    staged = dataclasses.replace(measured("peer", "1->0", 11.0), peer=0, peer_access=False)
    reduce = PerfMeasurement(device="cuda", kind="allreduce", variant="nccl", value=310.0)
    r = result(with_perf(h200_facts, direct, staged, reduce), "perf.peer")
    assert r.status == "pass"
    assert r.summary == (
        "2 copies between GPUs: 11-370 GB/s; staged through the host (no direct access): 1->0; "
        "NCCL all-reduce bus bandwidth 310 GB/s"
    )
    broken = dataclasses.replace(direct, value=None, error="RuntimeError: peer mapping failed")
    assert result(with_perf(h200_facts, broken, staged), "perf.peer").status == "fail"


def test_gpus_torch_cannot_use_are_named_when_the_cpu_was_measured(h200_facts):
    cpu = PerfMeasurement(device="cpu", name="Xeon", kind="gemm", variant="fp32", value=0.3)
    facts = with_perf(h200_facts, cpu)
    assert "torch sees none of the GPUs" in result(facts, "perf.gemm").summary
    assert "torch sees none of the GPUs" in result(facts, "perf.host_link").summary
    no_gpus = dataclasses.replace(facts, gpus=[])
    assert result(no_gpus, "perf.host_link").summary == "no GPU: nothing crosses a host link"


def test_no_perf_run_no_perf_lines_and_a_run_that_stopped(h200_facts):
    assert not [r for r in judge(h200_facts, Expectations()).checks if r.id.startswith("perf.")]
    hung = with_perf(
        h200_facts, error="stopped after 60 s at: cuda:0: gemm bf16 8192^3",
        error_kind=ErrorKind.TIMEOUT, complete=False,
    )  # fmt: skip
    r = result(hung, "perf.gemm")
    assert r.status == "fail" and "cuda:0: gemm bf16" in r.summary
    no_torch = with_perf(h200_facts, error="torch does not import", error_kind="not_installed")
    assert result(no_torch, "perf.memory").status == "skip"


def test_the_json_report_shows_measured_expected_and_peak(h200_facts):
    facts = with_perf(h200_facts, measured("gemm", "bf16", 780.0), measured("gemm", "fp32", 50.0))
    report = judge(facts, Expectations()).to_json()
    jsonschema.validate(report, json.loads(FILES["report"].read_text()))
    bf16, fp32 = report["perf"]
    assert (bf16["model"], bf16["value"], bf16["expected"], bf16["peak"]) == (
        "H200", 780.0, 794.5, 989.4,
    )  # fmt: skip
    assert bf16["share"] == round(780 / 794.5, 4) and bf16["status"] == "pass"
    assert bf16["expected_basis"] == "published achievable figure"
    # No achievable FP32 figure anywhere in the table: the peak is shown, nothing is judged.
    assert (fp32["expected"], fp32["peak"], fp32["status"]) == (None, 67.0, "skip")
    assert "perf" not in judge(h200_facts, Expectations()).to_json()  # not measured: no rows


def test_the_terminal_shows_measured_expected_and_peak(h200_facts, capsys):
    from envcheck.render import terminal

    facts = with_perf(h200_facts, measured("gemm", "bf16", 780.0), measured("gemm", "tf32", 390.0))
    terminal.render(judge(facts, Expectations()))
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "gemm bf16" in line)
    assert "H200" in row and "780 TFLOPS" in row and "794.5" in row and "989.4" in row
    assert "98%" in row


# -- the table --------------------------------------------------------------------------------

ROWS = perfspec._data()["gpu"]
REQUIRED = [
    "NVIDIA H200", "NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe", "NVIDIA A100-SXM4-80GB",
    "NVIDIA A100-PCIE-40GB", "NVIDIA L40S", "NVIDIA L4", "NVIDIA A10", "Tesla T4",
    "Tesla V100-SXM2-16GB", "NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 5090", "NVIDIA B200",
]  # fmt: skip


@pytest.mark.parametrize("name", REQUIRED)
def test_the_models_the_issue_names_have_rows(name):
    model = perfspec.find(name)
    assert model is not None and model.reference("memory", "copy") is not None


@pytest.mark.parametrize("row", ROWS, ids=[r["model"] for r in ROWS])
def test_each_row_is_consistent(row):
    model = next(m for m in perfspec.models() if m.model == row["model"])
    # Units: TFLOPS and GB/s of a real GPU, tensor figures dense (never below FP32's).
    for key, value in model.figures.items():
        assert 0 < value < (10_000 if key.endswith("_tflops") else 20_000), key
    fp32 = model.figures.get("fp32_tflops", 0.0)
    for key in ("tf32_tflops", "bf16_tflops", "fp16_tflops"):
        assert model.figures.get(key, fp32) >= fp32 * 0.99, key
    for key, value in model.achievable.items():
        assert 0 < value <= model.figures[key], f"achievable {key} above the peak"
    assert row["spec_source"]
    if any(k.startswith("achievable_") and k != "achievable_source" for k in row):
        assert row.get("achievable_source")
    # Every model has an architecture, the one compat.toml gives its capability.
    for example in row["examples"]:
        assert model.pattern.search(example) and perfspec.find(example) is model
        gpu = compat.gpu_by_name(example)
        assert gpu is not None and compat.architecture(gpu.capability) == row["architecture"]
    for device_id in model.pci_device_ids:
        assert re.fullmatch(r"0x[0-9a-f]{4}", device_id)
        assert perfspec.find(None, device_id) is model


def test_pci_ids_are_unique_and_links_are_known():
    ids = [i for m in perfspec.models() for i in m.pci_device_ids]
    assert len(ids) == len(set(ids))
    for m in perfspec.models():
        if m.pcie_gen:
            assert perfspec.pcie_gbs(m.pcie_gen, m.pcie_width) is not None, m.model
    assert perfspec.pcie_gbs(4, 16) == pytest.approx(31.5, abs=0.05)
    assert 0 < perfspec._data()["pcie"]["achievable_share"] < 0.92  # under the protocol ceiling


def test_floors_come_from_the_table_and_stay_below_every_published_share():
    for key, floor in perfspec.floor_ratios().items():
        shares = [
            m.achievable[key] / m.figures[key] for m in perfspec.models() if key in m.achievable
        ]
        assert 0 < floor == min(shares) <= 1
