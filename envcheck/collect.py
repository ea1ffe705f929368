"""Run every probe, each isolated and bounded, and assemble the Facts.

NVML and torch run in child processes at the same time (either can hang; torch takes seconds to
import); nvcc, the container and the environment are read meanwhile. A probe that times out or
crashes becomes an error in its own section, never the end of the run.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from typing import Any

from envcheck import __version__
from envcheck.facts import (
    Container,
    Docker,
    Driver,
    ErrorKind,
    Facts,
    Gpu,
    Nvcc,
    Perf,
    PerfMeasurement,
    ProbeRun,
    Torch,
    Workload,
    from_json,
)
from envcheck.probes import host, nvcc, subproc
from envcheck.probes import workload as workload_probe
from envcheck.text import redact_url

# Run by path, not as a module: under another interpreter (--python) `envcheck` may be missing or
# another version. It imports nothing of ours, so a temporary copy works too (from envcheck.pyz).
TORCH_SCRIPT = resources.files("envcheck.probes") / "torch_runtime.py"
PERF_SCRIPT = resources.files("envcheck.probes") / "perf_runtime.py"
# The perf child stops starting tests this long before its timeout: torch's import and CUDA's
# start-up come out of the same budget, and what was measured must be printed before the kill.
PERF_MARGIN_SECONDS = 3.0


@dataclass(frozen=True)
class Options:
    timeout: float = 5.0  # NVML and nvcc
    torch: bool = True
    torch_timeout: float = 60.0  # import, CUDA initialisation
    smoke: bool = True
    smoke_timeout: float = 30.0  # the smoke test, on top of torch_timeout
    python: str | None = None  # interpreter whose torch is probed
    workloads: bool = False  # also run the digits workload (tens of seconds on a CPU)
    workload_timeout: float = 900.0
    docker_gpu_image: str | None = None  # start this image with all GPUs (a real attempt)
    docker_gpu_timeout: float = 90.0
    perf: bool = False  # also measure GEMM, memory and link throughput (envcheck perf)
    perf_timeout: float = 60.0


def collect(options: Options) -> Facts:
    with ThreadPoolExecutor(max_workers=3) as pool:
        nvml_future = pool.submit(
            subproc.run,
            subproc.python_command(sys.executable, "envcheck.probes.nvml"),
            options.timeout,
        )
        docker_future = pool.submit(_run_docker, options)
        torch_future = pool.submit(_torch_section, options) if options.torch else None
        start = time.perf_counter()
        nvcc_data = nvcc.probe(options.timeout)
        nvcc_run = _run("nvcc", time.perf_counter() - start, nvcc_data.get("error"))
        start = time.perf_counter()
        container, env = host.container(), host.env()
        host_run = _run("container", time.perf_counter() - start, None)
        driver, gpus, nvml_run = _nvml_facts(nvml_future.result(), options.timeout)
        docker, docker_run = _docker_facts(docker_future.result())
        if torch_future is None:
            torch, torch_run = (
                Torch(),
                ProbeRun(name="torch", status="skipped", detail="--no-torch"),
            )
        else:
            torch, torch_run = torch_future.result()
    workloads = []
    if options.workloads:  # after the probes: it would skew their timings and fight for cores
        device = "cuda" if torch.cuda_available else "cpu"
        workload = workload_probe.run_digits(
            options.python or torch.python or sys.executable, options.workload_timeout, device
        )
        workloads.append(from_json(Workload, workload, "workloads"))
    perf = None
    if options.perf:  # last and alone: any other work would take from what it measures
        perf = perf_section(options.python or torch.python or sys.executable, options.perf_timeout)
    return Facts(
        envcheck_version=__version__,
        collected_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        platform=f"{platform.system()}-{platform.release()} {platform.machine()}",
        hostname=node_name(),
        driver=driver,
        gpus=gpus,
        torch=torch,
        nvcc=from_json(Nvcc, nvcc_data, "nvcc"),
        container=from_json(Container, container, "container"),
        docker=docker,
        env=env,
        workloads=workloads,
        perf=perf,
        probes=[nvml_run, torch_run, nvcc_run, host_run, docker_run],
    )


def perf_section(python: str, timeout: float) -> Perf:
    """Run the perf child under ``timeout``; whatever it measured before it stopped is kept."""
    budget = max(1.0, timeout - PERF_MARGIN_SECONDS)
    with resources.as_file(PERF_SCRIPT) as script:
        cmd = subproc.python_command(python, str(script), "--budget", f"{budget:g}", isolated=False)
        out = subproc.run(cmd, timeout)
    data = out.data
    measurements = [
        from_json(PerfMeasurement, m, f"perf.measurements[{i}]")
        for i, m in enumerate(data.get("measurements") or [])
    ]
    complete = bool(data.get("complete"))
    error, kind = data.get("error"), data.get("error_kind")
    if out.timed_out:
        error = f"stopped after {timeout:g} s at: {data.get('stage', 'start-up')}"
        kind = ErrorKind.TIMEOUT
    elif error is None and out.error:
        error, kind = f"perf probe crashed: {out.error}", ErrorKind.CRASHED
    elif error is None and not data.get("done"):
        error, kind = "perf probe printed no result", ErrorKind.CRASHED
    return Perf(
        measurements=measurements,
        seconds=round(out.seconds, 3),
        budget_s=timeout,
        complete=complete,
        stage=None if complete else data.get("stage"),
        error=error,
        error_kind=kind,
    )


def _run(name: str, seconds: float, error: str | None, timed_out: bool = False) -> ProbeRun:
    status = "timeout" if timed_out else "error" if error else "ok"
    return ProbeRun(name=name, seconds=round(seconds, 4), status=status, detail=error)


# Where a scheduler says which node this is, when the host name would say something else: Slurm
# (several slurmd may share a host; scontrol and sinfo know the node by this name) and the
# Kubernetes manifests in deploy/ (a pod's host name is the pod's, set from spec.nodeName).
NODE_NAME_VARIABLES = ("SLURMD_NODENAME", "ENVCHECK_NODE_NAME")


def node_name() -> str | None:
    for variable in NODE_NAME_VARIABLES:
        if os.environ.get(variable):
            return os.environ[variable]
    return platform.node() or None


def torch_budget(options: Options) -> float:
    """One deadline for the torch child: import and CUDA initialisation, then the smoke test."""
    return options.torch_timeout + (options.smoke_timeout if options.smoke else 0)


def _run_torch(options: Options) -> subproc.Outcome:
    args = ["--smoke"] if options.smoke else []
    # A real file for the child: the script itself when installed, a copy removed after the run
    # when envcheck runs from a zip (as_file extracts it; run() returns only once the child ended).
    with resources.as_file(TORCH_SCRIPT) as script:
        cmd = subproc.python_command(
            options.python or sys.executable, str(script), *args, isolated=False
        )
        return subproc.run(cmd, torch_budget(options))


def _run_docker(options: Options) -> subproc.Outcome:
    cmd = subproc.python_command(
        sys.executable, "envcheck.probes.docker", "--timeout", str(options.timeout)
    )
    budget = options.timeout * 2  # connecting, then `docker info`
    if options.docker_gpu_image:
        cmd += ["--gpu-test", options.docker_gpu_image]
        cmd += ["--gpu-budget", str(options.docker_gpu_timeout)]
        # Around the wait (bounded by the GPU budget) the test makes at most 8 engine calls,
        # each bounded by --timeout (create, start, two log reads, reload, remove, and the
        # run's own list and remove): a slow engine still ends inside this deadline, and past
        # it the child gets SIGTERM and removes its container before it is killed.
        budget += options.docker_gpu_timeout + 8 * options.timeout + 5
    return subproc.run(cmd, budget)


def _docker_facts(out: subproc.Outcome) -> tuple[Docker, ProbeRun]:
    data: dict[str, Any] = {**(out.data.get("docker") or {}), **(out.data.get("gpu") or {})}
    # DOCKER_HOST may carry credentials (tcp://user:secret@host): never into a report.
    data = {k: redact_url(v) if isinstance(v, str) else v for k, v in data.items()}
    error = out.error and f"Docker probe crashed: {out.error}"
    if out.timed_out:
        stage = out.data.get("stage", "docker info")
        error = f"the Docker engine did not answer in time (stuck in {stage})"
        data.update(error=error, error_kind=ErrorKind.TIMEOUT)
    elif error and not data.get("error"):
        data.update(error=error, error_kind=ErrorKind.CRASHED)
    run = _run("docker", out.seconds, error or data.get("error"), out.timed_out)
    return from_json(Docker, data, "docker"), run


def _nvml_facts(out: subproc.Outcome, timeout: float) -> tuple[Driver, list[Gpu], ProbeRun]:
    data = out.data
    driver: dict[str, Any] = dict(data.get("driver") or {})
    gpus: list[dict[str, Any]] = list(data.get("gpus") or [])
    stage = data.get("stage", "start-up")
    error = out.error and f"NVML probe crashed: {out.error}"
    if out.timed_out:
        error = f"NVML did not answer within {timeout:g} s (stuck in {stage})"
        if "count" in data and stage.startswith("nvmlDevice"):
            # The driver answered; one GPU hung. Name it, and say the rest were not reached.
            stuck = len(gpus)
            gpus.append(
                {
                    "index": stuck,
                    "error": f"{stage} did not return within {timeout:g} s",
                    "error_kind": ErrorKind.TIMEOUT,
                }
            )
            gpus += [
                {
                    "index": i,
                    "error": f"not read: NVML hung on GPU {stuck} first",
                    "error_kind": ErrorKind.TIMEOUT,
                }
                for i in range(stuck + 1, data["count"])
            ]
        else:
            driver.update(error=error, error_kind=ErrorKind.TIMEOUT)
    elif error and not driver.get("error"):
        driver.update(error=error, error_kind=ErrorKind.CRASHED)
    run = _run("nvml", out.seconds, error, out.timed_out)
    return from_json(Driver, driver, "driver"), [from_json(Gpu, g, "gpus") for g in gpus], run


def _torch_facts(out: subproc.Outcome, options: Options) -> tuple[Torch, ProbeRun]:
    data = out.data
    torch: dict[str, Any] = dict(data.get("torch") or {"python": options.python or sys.executable})
    if "smoke" in data:
        torch["smoke"] = list(data["smoke"])
    stage = data.get("stage", "start-up")
    error = out.error and f"torch probe crashed: {out.error}"
    if out.timed_out:
        error = (
            f"the torch probe did not finish within {torch_budget(options):g} s (stuck in {stage})"
        )
        if stage.startswith("smoke test on GPU"):
            index = int(stage.rsplit(" ", 1)[-1])
            torch["smoke"] = [
                *torch.get("smoke", []),
                {
                    "index": index,
                    "ok": False,
                    "error": f"did not finish by the torch probe's deadline "
                    f"({torch_budget(options):g} s: --torch-timeout + --smoke-timeout)",
                },
            ]
        elif stage != "done":
            torch.update(error=error, error_kind=ErrorKind.TIMEOUT)
    elif error and not torch.get("error"):
        torch.update(error=error, error_kind=ErrorKind.CRASHED)
    run = _run("torch", out.seconds, error, out.timed_out)
    return from_json(Torch, torch, "torch"), run


# Where a user's torch lives when envcheck's own interpreter (a core install: `make gpu-check`)
# has none: the environment they activated, then the python3 they would type.
TORCH_LOCATIONS = ("VIRTUAL_ENV", "CONDA_PREFIX", "PATH")
# Each look takes tens of milliseconds; a scheduled check's deadline counts them (health.py).
DISCOVERY_SECONDS = 2.0

# Whether an interpreter can import torch, without importing it (seconds, and CUDA libraries): the
# child's own path as the torch probe's child sees it (user site kept, no current directory).
_HAS_TORCH = (
    "import importlib.util, json, sys;"
    "sys.path[:] = [p for p in sys.path if p not in ('', '.')];"
    "print(json.dumps({'torch': importlib.util.find_spec('torch') is not None}))"
)


def _torch_section(options: Options) -> tuple[Torch, ProbeRun]:
    """Probe torch where the user really runs it: ``--python``; else envcheck's own interpreter;
    when that has no torch, the first of TORCH_LOCATIONS that has it. Nothing with torch: the
    facts say so for envcheck's own, and list what else was searched."""
    out = _run_torch(options)
    if options.python:
        found_via, searched = "--python", []
    else:
        found_via, searched = "envcheck", []
        if out.data.get("torch", {}).get("error_kind") == ErrorKind.NOT_INSTALLED:
            for location, python in torch_candidates():
                searched.append(f"{location}: {python}")
                seconds = min(options.timeout, DISCOVERY_SECONDS)
                if subproc.run([python, "-c", _HAS_TORCH], seconds).data.get("torch"):
                    options = dataclasses.replace(options, python=python)
                    out, found_via = _run_torch(options), location
                    break
    torch, run = _torch_facts(out, options)
    return dataclasses.replace(torch, found_via=found_via, searched=searched), run


def torch_candidates() -> list[tuple[str, str]]:
    """(where it came from, interpreter) for each of TORCH_LOCATIONS that exists and is not
    envcheck's own interpreter (nor one listed before it)."""
    seen = {_interpreter_identity(sys.executable)}
    found = []
    for location in TORCH_LOCATIONS:
        if location == "PATH":
            python = shutil.which("python3")
        else:
            prefix = os.environ.get(location)
            python = os.path.join(prefix, "bin", "python") if prefix else None
        if not (python and os.path.isfile(python) and os.access(python, os.X_OK)):
            continue
        identity = _interpreter_identity(python)
        if identity not in seen:
            seen.add(identity)
            found.append((location, os.path.abspath(python)))
    return found


def _interpreter_identity(python: str) -> tuple[str, str | None]:
    """The same interpreter in the same environment. A venv's bin/python is a link to its base
    interpreter: resolving alone would make every venv one, so its venv (pyvenv.cfg) counts too."""
    path = os.path.abspath(python)
    venv = os.path.dirname(os.path.dirname(path))
    in_venv = os.path.isfile(os.path.join(venv, "pyvenv.cfg"))
    return os.path.realpath(path), venv if in_venv else None
