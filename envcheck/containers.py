"""Run an image's containers (all GPUs in one, or one per GPU in parallel) and collect reports.

Every container is created with the ``LABEL`` of this run and removed in a ``finally``: on
success, on any error and on Ctrl-C; an error while removing one never stops the others.
Containers are created and started separately (never ``remove=True``): when the engine refuses
the GPU request at *start* (HTTP 500, "could not select device driver"), the container already
exists in state Created and would stay behind. Whatever the SDK raises comes out as an
``EngineError`` (see ``engine.calls``).
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from envcheck.engine import LABEL, EngineError, calls, sdk_errors


@dataclass
class ContainerResult:
    """What one container said: its JSON report (stdout) and the end of its human report."""

    name: str
    gpus: str  # "all", "none" or the GPU it was given
    exit_code: int | None = None
    report: dict[str, Any] | None = None
    stderr: str = ""
    error: str | None = None  # why there is no usable report (one line)
    oom_killed: bool = False

    @property
    def ready(self) -> bool:
        return self.exit_code == 0 and self.error is None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "gpus": self.gpus,
            "exit_code": self.exit_code,
            "ready": self.ready,
            "oom_killed": self.oom_killed,
            "error": self.error,
            "report": self.report,
        }


@dataclass(frozen=True)
class RunSpec:
    image: str
    command: list[str] = field(default_factory=list)  # arguments for the entry point
    entrypoint: list[str] | None = None  # None: the image's own
    # None: no GPU; ["all"]; or one entry per container: a GPU index/UUID, or several "0,1"
    gpus: list[str] | None = None
    mem_limit: str | None = None  # e.g. "8g"; swap is not added on top
    shm_size: str = "8g"  # DataLoader workers share batches through /dev/shm
    timeout: float = 3600.0


def run(client: Any, spec: RunSpec) -> list[ContainerResult]:
    """One container per entry of ``spec.gpus`` (one with no GPU when None), in parallel."""
    run_id = uuid.uuid4().hex[:12]
    stop = threading.Event()
    slots = spec.gpus or ["none"]
    try:
        with ThreadPoolExecutor(max_workers=len(slots)) as pool:
            futures = [pool.submit(_one, client, spec, run_id, gpu, stop) for gpu in slots]
            try:
                # The first error ends the run, whichever container it came from.
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                for f in futures:
                    if f in done and f.exception() is not None:
                        raise f.exception()  # type: ignore[misc]
                return [f.result() for f in futures]
            except BaseException:
                # Ctrl-C or an engine error: remove the others now, so the workers blocked in
                # wait() return instead of running their containers to the end.
                stop.set()
                remove_all(client, run_id)
                raise
    finally:
        remove_all(client, run_id)


def remove_all(client: Any, run_id: str) -> None:
    """Force-remove every container of this run (running, exited or only created).

    Never raises an SDK error: one container that cannot be removed (gone already, a timeout)
    must not keep the others; run() calls this twice on an error, a second chance.
    """
    errors = sdk_errors()
    containers: list[Any] = []
    with contextlib.suppress(*errors):
        containers = client.containers.list(all=True, filters={"label": f"{LABEL}={run_id}"})
    for c in containers:
        with contextlib.suppress(*errors):
            c.remove(force=True)


def _one(client: Any, spec: RunSpec, run_id: str, gpu: str, stop: threading.Event) -> Any:
    from docker.types import DeviceRequest

    name = f"gpu-envkit-{run_id}-{gpu if gpu != 'all' else 'gpus'}"
    requests = []
    if gpu == "all":
        requests = [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    elif gpu != "none":
        requests = [DeviceRequest(device_ids=gpu.split(","), capabilities=[["gpu"]])]
    options: dict[str, Any] = {
        "name": name,
        "labels": {LABEL: run_id},
        "device_requests": requests,
        "shm_size": spec.shm_size,
        "detach": True,
    }
    if spec.mem_limit:
        options.update(mem_limit=spec.mem_limit, memswap_limit=spec.mem_limit)
    if spec.entrypoint is not None:
        options["entrypoint"] = spec.entrypoint
    with calls(f"creating {name}", spec.image):
        container = client.containers.create(spec.image, spec.command, **options)
    try:
        if stop.is_set():
            return ContainerResult(name, gpu, error="cancelled")
        with calls(f"starting {name}", spec.image):
            container.start()
        try:
            with calls(f"reading the output of {name}", spec.image):
                return _collect(container, name, gpu, spec)
        except EngineError:
            if stop.is_set():  # removed under it, as another container failed
                return ContainerResult(name, gpu, error="cancelled")
            raise
    finally:
        with contextlib.suppress(*sdk_errors()):
            container.remove(force=True)


def _collect(container: Any, name: str, gpu: str, spec: RunSpec) -> ContainerResult:
    import requests

    try:
        status = container.wait(timeout=spec.timeout)
    except requests.exceptions.RequestException as exc:  # timed out, or removed by cleanup
        return ContainerResult(name, gpu, error=f"did not finish within {spec.timeout:g} s: {exc}")
    result = ContainerResult(name, gpu, exit_code=status.get("StatusCode"))
    stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
    result.stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
    container.reload()
    state = container.attrs.get("State", {})
    result.oom_killed = bool(state.get("OOMKilled"))
    if result.oom_killed:
        limit = f" (limit {spec.mem_limit})" if spec.mem_limit else ""
        result.error = f"killed for running out of memory{limit}"
        return result
    try:
        report = json.loads(stdout)
        result.report = report if isinstance(report, dict) else None
    except ValueError:
        result.report = None
    if result.report is None:
        last = [line for line in result.stderr.strip().splitlines() if line.strip()]
        why = f": {last[-1][:300]}" if last else ""
        result.error = f"exited with code {result.exit_code} without a JSON report{why}"
    return result
