"""GPU health: the NVLink fabric, the smoke test, pending memory repairs, PCIe link, throttling."""

from __future__ import annotations

from envcheck import messages
from envcheck.checks import Finding, check, failed, not_reported, passed, skipped, warned
from envcheck.checks.driver import gpu_label
from envcheck.expect import Expectations
from envcheck.facts import Facts, Gpu
from envcheck.messages import Kind

# Clock event reasons that hold a GPU's clocks back, with what to look at. gpu_idle, the normal
# state of an unloaded GPU, is the one reason that is not; gpu.throttle and the perf checks' causes
# both read held_back(), so a reason is a cause in one exactly where it is in the other.
IDLE_REASON = "gpu_idle"
_THROTTLE_ADVICE = {
    "hw_thermal_slowdown": "the GPU is too hot: check cooling and airflow",
    "sw_thermal_slowdown": "the driver slows the GPU for temperature: check cooling",
    "hw_power_brake_slowdown": "an external power brake is asserted: check the power supply",
    "hw_slowdown": "hardware slowdown (temperature or power): check cooling and power",
    "sw_power_cap": "running at its power limit (normal under full load)",
    "applications_clocks_setting": "application clocks are set below the maximum",
    "sync_boost": "held back to match other GPUs in a sync-boost group",
    "display_clock_setting": "held back by the display clock setting",
}


def held_back(gpu: Gpu) -> list[str]:
    """``gpu``'s active clock event reasons that slow it down: all but idle."""
    return [r for r in gpu.clock_event_reasons or [] if r != IDLE_REASON]


FABRIC_MANAGER = (
    "On an NVSwitch baseboard (HGX/DGX A100, H100, H200, B200) CUDA starts only after the NVIDIA "
    "Fabric Manager has registered the GPUs in the NVLink fabric. Install the nvidia-fabricmanager "
    "package of exactly the driver's version{driver}, enable and start the service, and read its "
    "log if it stops; upgrade it with every driver upgrade. In a VM or container the host runs it."
)
FABRIC_COMMANDS = (
    "systemctl status nvidia-fabricmanager",
    "sudo systemctl enable --now nvidia-fabricmanager",
    "nvidia-smi -q | grep -A3 Fabric",
)


@check("gpu.fabric", "GPUs registered in the NVLink fabric (NVSwitch systems)")
def fabric(facts: Facts, expect: Expectations) -> Finding:
    """On NVSwitch systems the Fabric Manager registers every GPU in the NVLink fabric, and until
    it has CUDA fails with error 802 ("system not yet initialized"). NVML reports the registration
    for Hopper and newer; for older GPUs only CUDA's error says so. GPUs on no fabric (PCIe cards,
    pre-Hopper) report 'not_supported' and are not judged."""
    torch = facts.torch
    driver = f" ({facts.driver.version})" if facts.driver.version else ""
    remedy = FABRIC_MANAGER.format(driver=driver)
    said = messages.first([*torch.messages, torch.cuda_error or ""], Kind.SYSTEM_NOT_READY)
    if said:
        return failed(f"CUDA is not initialised: {said.line}", remedy, *FABRIC_COMMANDS)
    gpus = [g for g in facts.gpus if g.fabric_state is not None]
    if not gpus:
        reasons = {g.unavailable.get("fabric_state") for g in facts.gpus} - {None}
        why = f" ({'; '.join(sorted(reasons))})" if reasons else ""
        return skipped(f"no GPU reports an NVLink fabric state{why}")
    unregistered = [g for g in gpus if g.fabric_state not in ("completed", "not_supported")]
    broken = [
        g
        for g in gpus
        if g.fabric_state == "completed" and g.fabric_status not in (None, "success")
    ]
    if broken:
        failures = "; ".join(f"{gpu_label(g)}: {g.fabric_status}" for g in broken)
        return failed(f"fabric registration failed: {failures}", remedy, *FABRIC_COMMANDS)
    if unregistered:
        states = "; ".join(
            f"{gpu_label(g)}: {g.fabric_state.replace('_', ' ')}" for g in unregistered
        )
        if torch.cuda_available:
            # CUDA started anyway, so nothing is blocked now: say what NVML reports, no more.
            summary = f"fabric registration {states}, yet CUDA started"
            return warned(summary, remedy, *FABRIC_COMMANDS)
        if not any(g.fabric_state == "not_started" for g in unregistered):  # in progress
            return warned(
                f"fabric registration {states}: CUDA waits (or fails with error 802) until it "
                "completes",
                "Wait a minute and check again; if it stays in progress the Fabric Manager is "
                "stuck. " + remedy,
                *FABRIC_COMMANDS,
            )
        return failed(f"not registered in the NVLink fabric: {states}", remedy, *FABRIC_COMMANDS)
    on_fabric = [g for g in gpus if g.fabric_state == "completed"]
    if not on_fabric:
        return skipped(f"no NVLink fabric: {len(gpus)} GPU(s) report none (no NVSwitch)")
    return passed(f"{len(on_fabric)} GPU(s) registered in the NVLink fabric")


@check("gpu.smoke", "GPUs compute correctly")
def smoke(facts: Facts, expect: Expectations) -> Finding:
    """A matmul and a cuDNN convolution on each GPU agree with the CPU (TF32 off)."""
    results = facts.torch.smoke
    if results is None and (reason := not_reported(facts.torch, "smoke")):
        return skipped(f"smoke test: {reason}")
    if results is None:
        return skipped("smoke test not run (no GPU visible to torch, or --no-smoke)")
    if not results:
        return skipped("smoke test ran on no GPU")
    bad = [r for r in results if not r.ok]
    if bad:
        first = bad[0]
        why = first.error or (
            f"results differ from the CPU (matmul {first.matmul_max_err:.1e}, "
            f"conv {first.conv_max_err:.1e} relative)"
        )
        return failed(
            f"GPU {first.index}: {why}",
            "Check the kernel log for Xid errors and run a longer GPU diagnostic (DCGM).",
            "sudo dmesg | grep -i xid",
            "dcgmi diag -r 2",
        )
    worst = max(max(r.matmul_max_err or 0, r.conv_max_err or 0) for r in results)
    return passed(
        f"matmul and convolution match the CPU on {len(results)} GPU(s) "
        f"(worst relative error {worst:.1e})"
    )


@check("gpu.memory", "No pending GPU memory repairs")
def memory(facts: Facts, expect: Expectations) -> Finding:
    """Row remapping or page retirement that is pending needs a GPU reset; a failed remap
    means the GPU needs service."""
    failed_remap = [g for g in facts.gpus if g.remapped_rows_failed]
    if failed_remap:
        return failed(
            f"{gpu_label(failed_remap[0])}: a row remapping failed",
            "The GPU has run out of spare memory rows: it needs service (RMA).",
        )
    pending = [g for g in facts.gpus if g.remapped_rows_pending or g.retired_pages_pending]
    if pending:
        return warned(
            f"{', '.join(gpu_label(g) for g in pending)}: memory repair pending",
            "Reset the GPU (or reboot) so the pending row remapping / page retirement applies.",
            *(f"sudo nvidia-smi -r -i {g.index}" for g in pending),
        )
    readable = [
        g
        for g in facts.gpus
        if g.remapped_rows_pending is not None or g.retired_pages_pending is not None
    ]
    if not readable:
        return skipped("no GPU reports remapped rows or retired pages")
    return passed(f"no pending memory repairs on {len(readable)} GPU(s)")


@check("gpu.pcie", "PCIe links at full width and speed")
def pcie(facts: Facts, expect: Expectations) -> Finding:
    """A link narrower than its maximum costs bandwidth always; a lower generation is normal at
    idle (the link slows down to save power) and suspicious under load."""
    gpus = [g for g in facts.gpus if g.pcie_width is not None and g.pcie_width_max is not None]
    if not gpus:
        return skipped("no GPU reports its PCIe link")
    problems = []
    idle_notes = []
    for g in gpus:
        if g.pcie_width < g.pcie_width_max:
            problems.append(f"{gpu_label(g)} runs x{g.pcie_width} of x{g.pcie_width_max}")
        if g.pcie_gen is not None and g.pcie_gen_max is not None and g.pcie_gen < g.pcie_gen_max:
            if IDLE_REASON in (g.clock_event_reasons or []):
                idle_notes.append(
                    f"{gpu_label(g)} at gen {g.pcie_gen} of {g.pcie_gen_max} while idle"
                )
            else:
                problems.append(
                    f"{gpu_label(g)} at gen {g.pcie_gen} of {g.pcie_gen_max} under load"
                )
    if problems:
        return warned(
            "; ".join(problems),
            "Reseat the GPU or move it to a full-width slot; check riser cables and BIOS PCIe "
            "settings.",
            "sudo lspci -vv | grep -E 'LnkCap|LnkSta'",
        )
    links = sorted({f"gen {g.pcie_gen} x{g.pcie_width}" for g in gpus})
    note = f" ({'; '.join(idle_notes)}: normal power saving)" if idle_notes else ""
    return passed(f"{', '.join(links)} on {len(gpus)} GPU(s){note}")


@check("gpu.throttle", "GPUs not throttled")
def throttle(facts: Facts, expect: Expectations) -> Finding:
    """Active clock event reasons other than idle slow the GPU: each gets its likely cause."""
    gpus = [g for g in facts.gpus if g.clock_event_reasons is not None]
    if not gpus:
        return skipped("no GPU reports clock event reasons")
    active = [(g, r) for g in gpus for r in held_back(g)]
    if active:
        summary = "; ".join(f"{gpu_label(g)}: {r}" for g, r in active)
        advice = sorted({_THROTTLE_ADVICE.get(r, r) for _, r in active})
        return warned(
            summary,
            "; ".join(advice).capitalize() + ".",
            "nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER",
        )
    return passed(f"no throttling on {len(gpus)} GPU(s)")
