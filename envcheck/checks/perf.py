"""Performance: each GPU delivers what its model should (``envcheck perf`` or ``--perf``).

Every figure is judged against its model's reference (envcheck/perfspec.py: the published
achievable figure, else a floor derived from the spec peak): pass at 80 % of it or more, warn
from 60 %, fail below. A model the table does not know is measured and reported, and says so.
The remedy names the likely cause from the NVML facts of the same GPU (read before the tests,
at idle: a throttle that only shows under load needs the commands given).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from envcheck import perfspec
from envcheck.checks import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    Finding,
    Remedy,
    check,
    failed,
    passed,
    skipped,
)
from envcheck.checks.gpu_health import held_back
from envcheck.expect import Expectations
from envcheck.facts import ErrorKind, Facts, Gpu, PerfMeasurement
from envcheck.report import PerfRow

PASS_SHARE, WARN_SHARE = 0.80, 0.60
ORDER = {SKIP: 0, PASS: 1, WARN: 2, FAIL: 3}  # a skip (unjudged) never outranks a verdict
# Clock event reasons that say nothing about a slowdown (an idle GPU, a second display clock).
HOT_C = 85


@dataclass(frozen=True)
class Judged:
    m: PerfMeasurement
    model: perfspec.ModelPerf | None
    reference: perfspec.Reference | None
    gpu: Gpu | None
    status: str

    @property
    def share(self) -> float | None:
        if self.reference is None or self.m.value is None:
            return None
        return self.m.value / self.reference.value

    def describe(self) -> str:
        what = f"{self.m.device} {self.m.variant}"
        if self.m.error:
            return f"{what} failed ({self.m.error})"
        figure = f"{self.m.value:g} {self.m.unit}"
        if self.reference is None:
            return f"{what} {figure}"
        return f"{what} {figure} = {self.share:.0%} of {self.reference.value:.4g}"


def _gpu_of(facts: Facts, m: PerfMeasurement) -> Gpu | None:
    """The NVML facts of the GPU a measurement ran on: by PCI bus id (torch's indices follow
    CUDA_VISIBLE_DEVICES and CUDA's device order, NVML's do not); without one, only where there
    is a single GPU on either side, which cannot be mistaken."""
    if m.pci_bus_id:
        for gpu in facts.gpus:
            if gpu.pci_bus_id and gpu.pci_bus_id.upper() == m.pci_bus_id.upper():
                return gpu
        return None
    measured = {x.gpu_index for x in facts.perf.measurements if x.gpu_index is not None}
    if len(facts.gpus) == 1 and measured == {m.gpu_index}:
        return facts.gpus[0]
    return None


def _judge(facts: Facts, m: PerfMeasurement) -> Judged:
    gpu = _gpu_of(facts, m)
    model = perfspec.find(m.name, gpu.pci_device_id if gpu else None)
    reference = model.reference(m.kind, m.variant) if model else None
    if m.error or m.value is None:
        return Judged(m, model, reference, gpu, FAIL)
    if reference is None:
        return Judged(m, model, reference, gpu, SKIP)
    share = m.value / reference.value
    status = PASS if share >= PASS_SHARE else WARN if share >= WARN_SHARE else FAIL
    return Judged(m, model, reference, gpu, status)


def rows(facts: Facts) -> list[PerfRow]:
    """Every measurement with its model, reference, share and status."""
    out = []
    for j in (_judge(facts, m) for m in facts.perf.measurements) if facts.perf else ():
        m, ref = j.m, j.reference
        peak = j.model.peak(m.kind, m.variant) if j.model else None
        out.append(
            PerfRow(
                device=m.device,
                model=j.model.model if j.model else None,
                name=m.name,
                kind=m.kind,
                variant=m.variant,
                value=m.value,
                unit=m.unit,
                expected=round(ref.value, 3) if ref else None,
                expected_basis=ref.basis if ref else None,
                peak=round(peak, 3) if peak is not None else None,
                share=round(j.share, 4) if j.share is not None else None,
                status=j.status,
                error=m.error,
            )
        )
    return out


def _measured(facts: Facts, kind: str) -> list[PerfMeasurement] | Finding | None:
    """This kind's measurements, or the finding that explains why there are none."""
    perf = facts.perf
    if perf is None:
        return None  # not asked for: no line in the report
    found = [m for m in perf.measurements if m.kind == kind]
    if found:
        return found
    if perf.error_kind in (ErrorKind.NOT_INSTALLED, ErrorKind.IMPORT_FAILED):
        return skipped(f"not measured: {perf.error}")
    if perf.error:
        return failed(
            f"the performance run stopped: {perf.error}",
            "A test that hangs or crashes a GPU is a fault in itself: run it alone and watch "
            "the kernel log (one that stopped while torch was starting needs a longer "
            "--perf-timeout).",
            "envcheck perf --debug",
            "sudo dmesg | grep -i -E 'NVRM|Xid'",
        )
    if any(m.device == "cpu" for m in perf.measurements):
        return skipped(f"{_no_gpu(facts)}: {_CPU_ONLY[kind]}")
    if not perf.complete:
        return skipped(f"not reached within the {perf.budget_s:g} s of --perf-timeout")
    return None


def _no_gpu(facts: Facts) -> str:
    """Why the CPU was measured: no GPU at all, or GPUs that torch cannot use."""
    if facts.gpus:
        return "torch sees none of the GPUs (see torch.cuda_build), so the CPU was measured"
    return "no GPU"


_CPU_ONLY = {
    "gemm": "measured on the CPU, with no reference to judge it against",
    "memory": "measured on the CPU, with no reference to judge it against",
    "host_link": "nothing crosses a host link",
    "peer": "no GPUs to copy between",
}


def _verdict(
    facts: Facts,
    kind: str,
    causes: Callable[[list[Judged]], tuple[str, ...]],
    commands: tuple[str, ...],
) -> Finding | None:
    found = _measured(facts, kind)
    if not isinstance(found, list):
        return found
    judged = [_judge(facts, m) for m in found]
    if all(j.m.device == "cpu" for j in judged):
        figures = "; ".join(j.describe() for j in judged)
        return skipped(f"{figures} on the CPU ({_no_gpu(facts)}): {_CPU_ONLY[kind]}")
    worst = max(judged, key=lambda j: ORDER[j.status]).status
    shown = sorted(judged, key=lambda j: -ORDER[j.status])
    summary = "; ".join(j.describe() for j in shown[:4])
    if len(shown) > 4:
        summary += f"; {len(shown) - 4} more ({_count(judged)})"
    unknown = sorted({j.m.name or "?" for j in judged if j.model is None})
    if unknown:
        summary += f"; no reference for this model: {', '.join(unknown)}"
    if worst == PASS:
        return passed(summary)
    if worst == SKIP:
        return skipped(summary)
    bad = [j for j in judged if j.status in (WARN, FAIL)]
    text = " ".join(causes(bad)) or "No cause shows in the NVML facts read before the tests."
    basis = {j.reference.basis for j in bad if j.reference}
    where = f" Judged against: {'; '.join(sorted(basis))}." if basis else ""
    return Finding(worst, summary, Remedy(text + where, commands))


def _count(judged: Iterable[Judged]) -> str:
    counts = Counter(j.status for j in judged)
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def _gpus(bad: list[Judged]) -> list[tuple[str, Gpu]]:
    seen: dict[str, Gpu] = {}
    for j in bad:
        if j.gpu is not None:
            seen.setdefault(j.m.device, j.gpu)
    return list(seen.items())


def _compute_causes(bad: list[Judged]) -> tuple[str, ...]:
    causes = []
    for device, gpu in _gpus(bad):
        if reasons := held_back(gpu):
            causes.append(f"{device}: clocks held back ({', '.join(reasons)}).")
        if gpu.mig_mode:
            causes.append(f"{device}: MIG is on; a slice has a share of the GPU's SMs and memory.")
        if gpu.temperature_c is not None and gpu.temperature_c >= HOT_C:
            causes.append(f"{device}: {gpu.temperature_c} °C before the tests (cooling).")
        if gpu.memory_used_mib:
            causes.append(
                f"{device}: {gpu.memory_used_mib} MiB in use by other processes, which may "
                "have been computing too."
            )
        if gpu.power_limit_w is not None:
            causes.append(f"{device}: power limit {gpu.power_limit_w:g} W (compare the default).")
    return tuple(causes)


def _memory_causes(bad: list[Judged]) -> tuple[str, ...]:
    causes = list(_compute_causes(bad))
    for device, gpu in _gpus(bad):
        if gpu.remapped_rows_pending or gpu.retired_pages_pending:
            causes.append(f"{device}: memory remapping pending (needs a GPU reset).")
        if gpu.remapped_rows_failed:
            causes.append(f"{device}: a row remapping failed (the GPU needs service).")
    return tuple(causes)


def _link_causes(bad: list[Judged]) -> tuple[str, ...]:
    causes = []
    for device, gpu in _gpus(bad):
        if gpu.pcie_width and gpu.pcie_width_max and gpu.pcie_width < gpu.pcie_width_max:
            causes.append(
                f"{device}: the link runs x{gpu.pcie_width} of x{gpu.pcie_width_max} "
                "(slot, riser or seating)."
            )
        model = next((j.model for j in bad if j.m.device == device and j.model), None)
        if model and model.pcie_gen and gpu.pcie_gen_max and gpu.pcie_gen_max < model.pcie_gen:
            causes.append(
                f"{device}: the link reaches PCIe gen {gpu.pcie_gen_max} at most, the "
                f"{model.model} does gen {model.pcie_gen} (an older slot or a BIOS setting)."
            )
    causes.append(
        "Traffic from other devices behind the same switch or CPU socket (NUMA) lowers it too."
    )
    return tuple(causes)


@check("perf.gemm", "GPU dense GEMM throughput")
def gemm(facts: Facts, expect: Expectations) -> Finding | None:
    """FP32, TF32 and BF16 (FP16 before Ampere) matrix products of 8192³ reach the model's
    achievable TFLOPS."""
    return _verdict(
        facts,
        "gemm",
        _compute_causes,
        ("nvidia-smi -q -d PERFORMANCE,POWER,TEMPERATURE", "nvidia-smi dmon -s pucv"),
    )


@check("perf.memory", "GPU memory bandwidth")
def memory(facts: Facts, expect: Expectations) -> Finding | None:
    """A 1 GiB device-to-device copy (read + write bytes) reaches the model's bandwidth."""
    return _verdict(
        facts, "memory", _memory_causes, ("nvidia-smi -q -d ECC,ROW_REMAPPER,PERFORMANCE",)
    )


@check("perf.host_link", "Host-to-GPU link bandwidth")
def host_link(facts: Facts, expect: Expectations) -> Finding | None:
    """Pinned host memory to the GPU and back reaches what the model's PCIe link carries."""
    return _verdict(facts, "host_link", _link_causes, ("nvidia-smi -q -d PCIE", "lspci -vv"))


@check("perf.peer", "GPU-to-GPU copy bandwidth")
def peer(facts: Facts, expect: Expectations) -> Finding | None:
    """With several GPUs: a copy between each ordered pair (and NCCL's all-reduce) completes.
    The figures are reported, not judged: NVLink and PCIe topologies differ per system, so no
    model-wide reference exists; whether each pair had direct access is said."""
    found = _measured(facts, "peer")
    if not isinstance(found, list):
        return found
    broken = [m for m in found if m.error]
    if broken:
        first = broken[0]
        return failed(
            f"{len(broken)} of {len(found)} peer copies failed: {first.variant}: {first.error}",
            "A copy between two GPUs that fails points at the link between them (NVLink, PCIe "
            "switch) or one of the GPUs: read the topology and the kernel log.",
            "nvidia-smi topo -m",
            "nvidia-smi nvlink -s",
            "sudo dmesg | grep -i -E 'NVRM|Xid'",
        )
    values = sorted(m.value for m in found if m.value is not None)
    staged = [m.variant for m in found if m.peer_access is False]
    summary = f"{len(found)} copies between GPUs: {values[0]:g}-{values[-1]:g} GB/s" + (
        f"; staged through the host (no direct access): {', '.join(staged)}" if staged else ""
    )
    reduce = [m for m in facts.perf.measurements if m.kind == "allreduce"] if facts.perf else []
    for m in reduce:
        summary += (
            f"; NCCL all-reduce failed ({m.error})"
            if m.error
            else f"; NCCL all-reduce bus bandwidth {m.value:g} GB/s"
        )
    return passed(summary)
