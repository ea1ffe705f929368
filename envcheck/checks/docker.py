"""Docker host readiness: the engine answers, it can give containers GPUs, and one really starts.

Every check skips where there is no Docker at all (inside a container, on a host without it),
and where the Docker SDK is not installed (an optional extra: our packaging, not the host).
Docker is optional plumbing: a host whose engine is down or lacks the NVIDIA runtime can still
train on bare metal, so those warn; a GPU container test that was asked for and failed fails.
Remedies come from ``envcheck.engine.REMEDIES``, keyed on the recorded error kind, so
`envcheck images` and these checks say the same thing.
"""

from __future__ import annotations

from envcheck import messages
from envcheck.checks import Finding, check, failed, not_reported, passed, skipped, warned
from envcheck.checks.driver import image_needs_newer_driver
from envcheck.engine import DEFAULT_HOST, remedy
from envcheck.expect import Expectations
from envcheck.facts import ErrorKind, Facts


def _fix(facts: Facts, kind: str | None, image: str = "IMAGE") -> tuple[str, ...]:
    """The remedy of an engine error kind as (text, *commands), for the engine the facts name."""
    text, commands = remedy(kind, image, facts.docker.host or DEFAULT_HOST)
    return (text, *commands)


@check("docker.engine", "Docker engine reachable")
def engine(facts: Facts, expect: Expectations) -> Finding:
    """The Docker engine answers; each way it does not (not running, no permission on its
    socket, hung) has its own remedy. Without the Docker SDK (the `docker` extra, which
    `make gpu-check` does not install) it is not asked: skipped, saying how to enable it."""
    docker = facts.docker
    if reason := not_reported(docker, "present"):
        return skipped(f"Docker: {reason}")
    if not docker.present:
        return skipped("no Docker engine on this host")
    if docker.reachable:
        version = f" {docker.server_version}" if docker.server_version else ""
        at = f" at {docker.host}" if docker.host else ""  # a pasted error says neither
        return passed(f"Docker{version} answers{at}")
    if docker.error_kind == ErrorKind.NOT_INSTALLED:
        return skipped(
            f"Docker at {docker.host} not checked: the Docker SDK for Python is not installed "
            "(pip install 'gpu-envkit[docker]' enables the docker.* checks)"
        )
    return warned(
        docker.error or f"the Docker engine at {docker.host} did not answer",
        *_fix(facts, docker.error_kind),
    )


@check("docker.nvidia_runtime", "Docker can give containers GPUs")
def nvidia_runtime(facts: Facts, expect: Expectations) -> Finding:
    """The NVIDIA Container Toolkit serves Docker: an `nvidia` runtime, NVIDIA CDI devices, or
    the runtime hook that `--gpus` uses. Without it, `docker run --gpus all` fails."""
    docker = facts.docker
    if reason := not_reported(docker, "reachable"):
        return skipped(f"Docker: {reason}")
    if not docker.reachable:
        return skipped("no Docker engine to ask")
    if reason := not_reported(docker, "runtimes"):
        return skipped(f"Docker's runtimes: {reason}")
    ways = []
    if "nvidia" in docker.runtimes:
        ways.append("the nvidia runtime")
    cdi = [d for d in docker.cdi_devices if d.startswith("nvidia.com/")]
    if cdi:
        ways.append(f"{len(cdi)} NVIDIA CDI device(s)")
    if docker.nvidia_hook:
        ways.append(f"the runtime hook {docker.nvidia_hook}")
    if ways:
        return passed("GPUs reach containers through " + " and ".join(ways))
    runtimes = ", ".join(docker.runtimes) or "none"
    return warned(
        f"Docker has no NVIDIA runtime (runtimes: {runtimes}), no NVIDIA CDI device and no "
        "nvidia-container-runtime-hook: `docker run --gpus all` will fail",
        *_fix(facts, ErrorKind.NO_GPU_RUNTIME),
    )


@check("docker.gpu_container", "A GPU container starts")
def gpu_container(facts: Facts, expect: Expectations) -> Finding:
    """A container given all GPUs really starts and sees them (`nvidia-smi -L`); tried only with
    `envcheck --docker-gpu-test IMAGE`, since it needs an image."""
    docker = facts.docker
    if reason := not_reported(docker, "reachable"):
        return skipped(f"Docker: {reason}")
    if not docker.reachable:
        return skipped("no Docker engine to ask")
    if docker.gpu_container_ok is None:
        return skipped("not tried (envcheck --docker-gpu-test IMAGE starts one)")
    image = docker.gpu_container_image or "a container"
    if docker.gpu_container_ok:
        return passed(f"{image} started with all GPUs and listed them")
    error = docker.gpu_container_error or "unknown error"
    kind = docker.gpu_container_error_kind
    if kind == ErrorKind.NO_GPU_RUNTIME:
        return failed(f"{image} could not start with GPUs: {error}", *_fix(facts, kind))
    if kind == ErrorKind.IMAGE_NOT_FOUND:
        named = docker.gpu_container_image or "IMAGE"
        return failed(f"{image} could not start: {error}", *_fix(facts, kind, named))
    if kind in (ErrorKind.NOT_RUNNING, ErrorKind.NO_PERMISSION, ErrorKind.TIMEOUT):
        return failed(f"{image} with GPUs failed: {error}", *_fix(facts, kind))
    if needs := messages.IMAGE_NEEDS_CUDA.search(error):
        return image_needs_newer_driver(facts, needs.group("cuda"), error)
    return failed(
        f"{image} with GPUs failed: {error}",
        "Run the same by hand to see the whole message.",
        f"docker run --rm --gpus all --entrypoint nvidia-smi {image} -L",
    )
