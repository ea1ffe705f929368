"""Run an image's containers (all GPUs in one, or one per GPU in parallel) and collect reports.

Every container is created with the ``LABEL`` of this run and removed in a ``finally``: on
success, on any error and on Ctrl-C. Containers are created and started separately (never
``remove=True``): when the engine refuses the GPU request at *start* (HTTP 500, "could not
select device driver"), the container already exists in state Created and would stay behind.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from envcheck.images.engine import LABEL, EngineError

NO_GPU_DRIVER = "could not select device driver"
TOOLKIT_REMEDY = (
    "sudo apt-get install -y nvidia-container-toolkit   # from NVIDIA's apt repository",
    "sudo nvidia-ctk runtime configure --runtime=docker",
    "sudo systemctl restart docker",
)


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
    """Force-remove every container of this run (running, exited or only created)."""
    from docker.errors import APIError, NotFound

    with contextlib.suppress(APIError):
        for c in client.containers.list(all=True, filters={"label": f"{LABEL}={run_id}"}):
            with contextlib.suppress(NotFound, APIError):
                c.remove(force=True)


def _one(client: Any, spec: RunSpec, run_id: str, gpu: str, stop: threading.Event) -> Any:
    from docker.errors import APIError, ImageNotFound
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
    try:
        container = client.containers.create(spec.image, spec.command, **options)
    except ImageNotFound as exc:
        raise EngineError(
            f"image {spec.image} not found on this engine",
            f"envcheck images build NAME   # or: docker pull {spec.image}",
            kind="not_found",
        ) from exc
    try:
        if stop.is_set():
            return ContainerResult(name, gpu, error="cancelled")
        try:
            container.start()
        except APIError as exc:
            if NO_GPU_DRIVER in str(exc.explanation or exc):
                raise EngineError(
                    f"the engine cannot give containers GPUs: {exc.explanation} "
                    "(the NVIDIA Container Toolkit is not configured for this Docker)",
                    *TOOLKIT_REMEDY,
                    kind="no_gpu_runtime",
                ) from exc
            raise EngineError(f"{name} did not start: {exc.explanation or exc}") from exc
        return _collect(container, name, gpu, spec)
    finally:
        with contextlib.suppress(APIError):
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
