"""perf probe: what each device delivers: GEMM throughput, memory, host link, peers, all-reduce.

Runs as a script in a child process (``python perf_runtime.py --budget 50``), like
``torch_runtime.py`` and for the same reasons: stdlib and torch only (it may run under another
interpreter), and a hung GPU is the parent's to kill. It prints one JSON line per measurement as
it goes (``{"measurements": [{...}]}``; the parent joins the lists), and ``stage`` before each
step, so what was measured
before a timeout is kept and the step that hung is named.

Each test runs its operation once to warm up (cuBLAS heuristics, allocations, clocks rising),
then in batches long enough to time well (``BATCH_SECONDS``) for its share of the budget:
``MAX_TEST_SECONDS`` when there is room (long enough for power and heat to pull clocks down,
as they would in a job), less on a machine with many GPUs and pairs, never under
``MIN_TEST_SECONDS``; the figure is the median batch's rate. On a GPU batches are timed with
CUDA events on the device's stream; peer copies and the all-reduce span devices and are timed
on the host clock between synchronisations. Conventions (those of the expectations table):

- GEMM: ``2·n³`` floating-point operations per ``n×n @ n×n`` product, in TFLOPS (10^12/s);
  fp32 with TF32 off, tf32 with it on, bf16 (fp16 on GPUs before Ampere, which have no BF16).
- memory: a device-to-device copy counts every byte twice (read and written), in GB/s (10^9/s).
- host_link: one pinned host buffer copied to the device (h2d) and back (d2h), bytes once.
- peer: a copy from one GPU to another, bytes once; ``peer_access`` says whether it went
  directly (NVLink or PCIe P2P) or may have been staged through the host.
- allreduce: NCCL's bus bandwidth (algorithm bandwidth × 2(n-1)/n, as nccl-tests report it).

On the CPU the same code measures GEMM (fp32) and memory, so every path from timing to report
runs where there is no GPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

MAX_TEST_SECONDS = 2.0  # timed part of one test, after its warm-up, when the budget allows
MIN_TEST_SECONDS = 0.25
BATCH_SECONDS = 0.05  # one timed batch: long enough that the clocks' overhead vanishes
GPU_GEMM_N = 8192  # saturates every data-centre GPU's tensor cores
GPU_COPY_BYTES = 1 << 30  # 1 GiB: far past every GPU's L2 cache
LINK_BYTES = 256 << 20
CPU_COPY_BYTES = 256 << 20  # past any CPU's last-level cache
CPU_GEMM_TARGET_SECONDS = 0.02  # the CPU matrix grows until one product takes this long


def emit(**parts: Any) -> None:
    sys.stdout.write(json.dumps(parts) + "\n")
    sys.stdout.flush()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


class Clock:
    """Times one batch of ``op`` calls on a device: CUDA events there, perf_counter on the CPU."""

    def __init__(self, torch: Any, device: Any) -> None:
        self.torch, self.device = torch, device

    def batch(self, op: Callable[[], Any], count: int) -> float:
        torch = self.torch
        if self.device.type != "cuda":
            start = time.perf_counter()
            for _ in range(count):
                op()
            return time.perf_counter() - start
        with torch.cuda.device(self.device):
            begin = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            begin.record()
            for _ in range(count):
                op()
            end.record()
            end.synchronize()
            return begin.elapsed_time(end) / 1000.0


def timed(
    clock: Callable[[Callable[[], Any], int], float], op: Callable[[], Any], seconds: float
) -> dict:
    """Warm up, size the batches, then time batches for ``seconds``: median seconds per op."""
    first = clock(op, 1)  # the warm-up, also a first estimate of one op
    count = max(1, int(BATCH_SECONDS / max(first, 1e-6)))
    per_op, spent = [], 0.0
    while spent < seconds or len(per_op) < 3:
        batch = clock(op, count)
        per_op.append(batch / count)
        spent += batch
        if len(per_op) >= 1000:
            break
    return {
        "per_op": statistics.median(per_op),
        "repeats": count * len(per_op),
        "seconds": round(spent, 4),
    }


def host_clock(torch: Any, devices: list[Any]) -> Callable[[Callable[[], Any], int], float]:
    """A batch clock across several GPUs: synchronise them all around the host's clock."""

    def batch(op: Callable[[], Any], count: int) -> float:
        for d in devices:
            torch.cuda.synchronize(d)
        start = time.perf_counter()
        for _ in range(count):
            op()
        for d in devices:
            torch.cuda.synchronize(d)
        return time.perf_counter() - start

    return batch


def record(target: dict, kind: str, variant: str, unit: str, size: str, amount: float, run: dict,
           **extra: Any) -> None:  # fmt: skip
    """Emit one measurement: ``amount`` (FLOP or bytes per op) over the median op time."""
    scale = 1e12 if unit == "TFLOPS" else 1e9
    emit(
        measurements=[
            {
                **target,
                "kind": kind,
                "variant": variant,
                "value": round(amount / run["per_op"] / scale, 3),
                "unit": unit,
                "size": size,
                "repeats": run["repeats"],
                "seconds": run["seconds"],
                **extra,
            }
        ]
    )


def failed(target: dict, kind: str, variant: str, exc: BaseException) -> None:
    error = f"{type(exc).__name__}: {_first_line(str(exc))}"
    emit(measurements=[{**target, "kind": kind, "variant": variant, "error": error}])


class Budget:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def per_test(self, tests: int) -> float:
        """Seconds each of ``tests`` may time, leaving room for the warm-ups and set-up."""
        share = 0.6 * self.left() / max(tests, 1)
        return max(MIN_TEST_SECONDS, min(MAX_TEST_SECONDS, share))


def gemm(torch: Any, target: dict, device: Any, dtype_name: str, n: int, seconds: float) -> None:
    emit(stage=f"{target['device']}: gemm {dtype_name} {n}^3")
    dtype = {"fp32": torch.float32, "tf32": torch.float32}.get(dtype_name) or getattr(
        torch, {"bf16": "bfloat16", "fp16": "float16"}[dtype_name]
    )
    previous = torch.backends.cuda.matmul.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = dtype_name == "tf32"
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        out = torch.empty(n, n, device=device, dtype=dtype)
        run = timed(Clock(torch, device).batch, lambda: torch.mm(a, b, out=out), seconds)
        record(target, "gemm", dtype_name, "TFLOPS", f"{n}x{n}x{n}", 2.0 * n**3, run)
    except Exception as exc:
        failed(target, "gemm", dtype_name, exc)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous


def cpu_gemm_size(torch: Any) -> int:
    """The smallest power-of-two n (256..4096) whose fp32 product takes CPU_GEMM_TARGET_SECONDS:
    big enough to run at full speed, small enough to fit the budget on a small CPU."""
    n = 256
    torch.mm(torch.randn(n, n), torch.randn(n, n))  # starts the thread pool: not the product's
    while n < 4096:
        a = torch.randn(n, n)
        start = time.perf_counter()
        torch.mm(a, a)
        if time.perf_counter() - start >= CPU_GEMM_TARGET_SECONDS:
            break
        n *= 2
    return n


def copy(torch: Any, target: dict, device: Any, nbytes: int, seconds: float) -> None:
    emit(stage=f"{target['device']}: device memory copy {nbytes >> 20} MiB")
    try:
        src = torch.empty(nbytes, dtype=torch.uint8, device=device).fill_(1)
        dst = torch.empty_like(src)
        run = timed(Clock(torch, device).batch, lambda: dst.copy_(src), seconds)
        record(target, "memory", "copy", "GB/s", f"{nbytes >> 20} MiB", 2.0 * nbytes, run)
    except Exception as exc:
        failed(target, "memory", "copy", exc)


def host_link(torch: Any, target: dict, device: Any, seconds: float) -> None:
    for direction in ("h2d", "d2h"):
        emit(stage=f"{target['device']}: pinned {direction} copy {LINK_BYTES >> 20} MiB")
        try:
            host = torch.empty(LINK_BYTES, dtype=torch.uint8, pin_memory=True).fill_(1)
            gpu = torch.empty(LINK_BYTES, dtype=torch.uint8, device=device)
            src, dst = (host, gpu) if direction == "h2d" else (gpu, host)
            run = timed(
                Clock(torch, device).batch,
                lambda d=dst, s=src: d.copy_(s, non_blocking=True),
                seconds / 2,  # two directions: one test's share
            )
            size = f"{LINK_BYTES >> 20} MiB"
            record(target, "host_link", direction, "GB/s", size, float(LINK_BYTES), run)
        except Exception as exc:
            failed(target, "host_link", direction, exc)


def peer(torch: Any, targets: list[dict], i: int, j: int, seconds: float) -> None:
    emit(stage=f"peer copy cuda:{i} -> cuda:{j}")
    target = {**targets[i], "peer": j}
    try:
        access = bool(torch.cuda.can_device_access_peer(i, j))
        src = torch.empty(LINK_BYTES, dtype=torch.uint8, device=f"cuda:{i}").fill_(1)
        dst = torch.empty(LINK_BYTES, dtype=torch.uint8, device=f"cuda:{j}")
        copy_op = lambda: dst.copy_(src, non_blocking=True)  # noqa: E731
        run = timed(host_clock(torch, [i, j]), copy_op, seconds)
        size = f"{LINK_BYTES >> 20} MiB"
        record(target, "peer", f"{i}->{j}", "GB/s", size, float(LINK_BYTES), run,
               peer_access=access)  # fmt: skip
    except Exception as exc:
        failed(target, "peer", f"{i}->{j}", exc)


def allreduce(torch: Any, count: int, seconds: float) -> None:
    emit(stage=f"NCCL all-reduce over {count} GPUs")
    target = {"device": "cuda", "gpu_index": None, "name": f"{count} GPUs"}
    try:
        from torch.cuda import nccl

        tensors = [
            torch.ones(LINK_BYTES // 4, dtype=torch.float32, device=f"cuda:{i}")
            for i in range(count)
        ]
        if not nccl.is_available(tensors):
            raise RuntimeError("NCCL is not available to this torch")
        reduce_op = lambda: nccl.all_reduce(tensors)  # noqa: E731
        run = timed(host_clock(torch, list(range(count))), reduce_op, seconds)
        bus = float(LINK_BYTES) * 2 * (count - 1) / count
        record(target, "allreduce", "nccl", "GB/s", f"{LINK_BYTES >> 20} MiB", bus, run)
    except Exception as exc:
        failed(target, "allreduce", "nccl", exc)


def measure_gpus(torch: Any, budget: Budget) -> bool:
    """Every test on every GPU, then between them; False when the budget ran out first."""
    count = torch.cuda.device_count()
    targets = []
    for index in range(count):
        props = torch.cuda.get_device_properties(index)
        bus = getattr(props, "pci_bus_id", None)
        targets.append(
            {
                "device": f"cuda:{index}",
                "gpu_index": index,
                "name": props.name,
                "pci_bus_id": f"{getattr(props, 'pci_domain_id', 0):08X}:{bus:02X}:"
                f"{getattr(props, 'pci_device_id', 0):02X}.0"
                if isinstance(bus, int)
                else None,
            }
        )
    # Per GPU: up to three GEMMs, a copy and the host link; then every ordered pair, all-reduce.
    seconds = budget.per_test(5 * count + count * (count - 1) + (count > 1))
    for index, target in enumerate(targets):
        device = torch.device("cuda", index)
        major, _ = torch.cuda.get_device_capability(index)
        kinds = ["fp32", "tf32", "bf16"] if major >= 8 else ["fp32", "fp16"]
        steps = [
            *(partial(gemm, torch, target, device, k, GPU_GEMM_N, seconds) for k in kinds),
            partial(copy, torch, target, device, _gpu_copy_bytes(torch, index), seconds),
            partial(host_link, torch, target, device, seconds),
        ]
        for step in steps:
            if budget.left() <= 0:
                return False
            step()
        torch.cuda.empty_cache()
    for i in range(count):
        for j in range(count):
            if i != j:
                if budget.left() <= 0:
                    return False
                peer(torch, targets, i, j, seconds)
    if count > 1:
        if budget.left() <= 0:
            return False
        allreduce(torch, count, seconds)
    return True


def _gpu_copy_bytes(torch: Any, index: int) -> int:
    """1 GiB, or an eighth of what is free on a small or busy GPU (two buffers are needed)."""
    free, _ = torch.cuda.mem_get_info(index)
    return max(1 << 20, min(GPU_COPY_BYTES, free // 8))


def measure_cpu(torch: Any, budget: Budget) -> None:
    target = {"device": "cpu", "gpu_index": None, "name": _cpu_name()}
    cpu = torch.device("cpu")
    gemm(torch, target, cpu, "fp32", cpu_gemm_size(torch), budget.per_test(2))
    copy(torch, target, cpu, CPU_COPY_BYTES, budget.per_test(1))


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="perf_runtime.py")
    parser.add_argument("--budget", type=float, default=50.0, help="seconds for every test")
    parser.add_argument("--cpu", action="store_true", help="measure the CPU even with GPUs")
    args = parser.parse_args(argv)
    budget = Budget(args.budget)
    emit(stage="import torch")
    try:
        import torch
    except Exception as exc:
        missing = isinstance(exc, ModuleNotFoundError) and exc.name == "torch"
        error = f"torch does not import: {type(exc).__name__}: {_first_line(str(exc))}"
        emit(error=error, error_kind="not_installed" if missing else "import_failed")
        return 0
    emit(stage="torch.cuda.is_available()")
    if torch.cuda.is_available() and not args.cpu:
        complete = measure_gpus(torch, budget)
    else:
        measure_cpu(torch, budget)
        complete = True
    emit(done=True, complete=complete)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
