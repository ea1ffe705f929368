"""Docker host readiness: is an engine here, does it answer, can it give containers GPUs.

Run as a child process (``python -m envcheck.probes.docker [--gpu-test IMAGE]``) under the
caller's timeout: the SDK's own timeout bounds each request, the child's bounds the whole. It
prints one JSON line per stage, so a hang later still leaves what was read. The GPU container
test runs only when asked (it needs an image); its container is removed before the child's
deadline, so a timeout never leaves it behind.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from typing import Any

from envcheck.facts import ErrorKind
from envcheck.probes.subproc import emit


def present() -> tuple[bool, str]:
    from envcheck.engine import DEFAULT_HOST, engine_address

    host = engine_address()
    found = host != DEFAULT_HOST or os.path.exists(DEFAULT_HOST.removeprefix("unix://"))
    return found or bool(shutil.which("docker") or shutil.which("dockerd")), host


def engine(timeout: float) -> tuple[Any, dict[str, Any]]:
    """(client or None, facts of the engine from `docker info`)."""
    from envcheck.engine import EngineError, calls, connect

    try:
        client = connect(timeout)
        with calls("reading `docker info`"):
            info = client.info()
    except EngineError as exc:
        reachable = None if exc.kind == ErrorKind.NOT_INSTALLED else False
        return None, {"reachable": reachable, "error": str(exc), "error_kind": exc.kind}
    devices = [
        d.get("ID", "") for d in info.get("DiscoveredDevices") or [] if d.get("Source") == "cdi"
    ]
    return client, {
        "reachable": True,
        "server_version": info.get("ServerVersion"),
        "runtimes": sorted(info.get("Runtimes") or {}),
        "default_runtime": info.get("DefaultRuntime"),
        "cdi_spec_dirs": list(info.get("CDISpecDirs") or []),
        "cdi_devices": devices,
    }


def gpu_container(client: Any, image: str, budget: float) -> dict[str, Any]:
    """Start ``image`` with all GPUs running ``nvidia-smi -L``; removed whatever happens."""
    from envcheck.containers import RunSpec, run
    from envcheck.engine import EngineError

    spec = RunSpec(image=image, entrypoint=["nvidia-smi", "-L"], gpus=["all"], timeout=budget)
    try:
        (result,) = run(client, spec)
    except EngineError as exc:  # the kind, not the text, says why (see engine.classify)
        return {
            "gpu_container_ok": False,
            "gpu_container_error": str(exc),
            "gpu_container_error_kind": exc.kind,
        }
    if result.exit_code == 0:
        return {"gpu_container_ok": True}
    last = [line for line in result.stderr.splitlines() if line.strip()]
    why = last[-1][:300] if last else result.error or f"exit code {result.exit_code}"
    return {
        "gpu_container_ok": False,
        "gpu_container_error": f"nvidia-smi -L failed: {why}",
        "gpu_container_error_kind": ErrorKind.OTHER,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envcheck.probes.docker")
    parser.add_argument("--timeout", type=float, default=5.0, help="per engine request")
    parser.add_argument("--gpu-test", metavar="IMAGE", help="also start IMAGE with all GPUs")
    parser.add_argument("--gpu-budget", type=float, default=90.0, help="seconds for that test")
    args = parser.parse_args(argv)
    # envcheck stops its children with SIGTERM: end through SystemExit so the GPU test's
    # `finally` still removes its container.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    found, host = present()
    base = {"present": found, "host": host}
    base["nvidia_hook"] = shutil.which("nvidia-container-runtime-hook")
    emit(docker=base)
    if not found:
        return 0
    client, facts = engine(args.timeout)
    emit(docker={**base, **facts})
    if client is not None and args.gpu_test:
        emit(stage="gpu container")
        result = gpu_container(client, args.gpu_test, args.gpu_budget)
        emit(gpu={"gpu_container_image": args.gpu_test, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
