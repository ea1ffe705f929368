"""Docker host readiness: the engine answers, it can give containers GPUs, and one really starts.

Every check skips where there is no Docker at all (inside a container, on a host without it).
Docker is optional plumbing: a host whose engine is down or lacks the NVIDIA runtime can still
train on bare metal, so those warn; a GPU container test that was asked for and failed fails.
"""

from __future__ import annotations

from envcheck.checks import Finding, check, failed, passed, skipped, warned
from envcheck.expect import Expectations
from envcheck.facts import ErrorKind, Facts

TOOLKIT_DOCS = (
    "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html"
)
TOOLKIT_COMMANDS = (
    "sudo apt-get install -y nvidia-container-toolkit   # from NVIDIA's apt repository",
    "sudo nvidia-ctk runtime configure --runtime=docker",
    "sudo systemctl restart docker",
)

_ENGINE_ERRORS = {
    ErrorKind.NOT_RUNNING: (
        "Start the Docker daemon (or point DOCKER_HOST at the engine you mean).",
        ("sudo systemctl start docker", "sudo systemctl enable docker"),
    ),
    ErrorKind.NO_PERMISSION: (
        "Add your user to the docker group, then log in again.",
        ("sudo usermod -aG docker $USER", "newgrp docker"),
    ),
    ErrorKind.NOT_INSTALLED: (
        "Install the Docker SDK for Python next to envcheck.",
        ("pip install 'gpu-envkit[docker]'",),
    ),
    ErrorKind.TIMEOUT: (
        "The daemon is up but does not answer: check its state and log.",
        ("sudo systemctl status docker", "sudo journalctl -u docker --since -10min"),
    ),
}


@check("docker.engine", "Docker engine reachable")
def engine(facts: Facts, expect: Expectations) -> Finding:
    """The Docker engine answers; each way it does not (not running, no permission on its
    socket, no SDK, hung) has its own remedy."""
    docker = facts.docker
    if not docker.present:
        return skipped("no Docker engine on this host")
    if docker.reachable:
        return passed(f"Docker {docker.server_version} answers at {docker.host}")
    text, commands = _ENGINE_ERRORS.get(
        docker.error_kind or "", ("Run `docker version` to see the engine's own message.", ())
    )
    return warned(
        docker.error or f"the Docker engine at {docker.host} did not answer", text, *commands
    )


@check("docker.nvidia_runtime", "Docker can give containers GPUs")
def nvidia_runtime(facts: Facts, expect: Expectations) -> Finding:
    """The NVIDIA Container Toolkit serves Docker: an `nvidia` runtime, NVIDIA CDI devices, or
    the runtime hook that `--gpus` uses. Without it, `docker run --gpus all` fails."""
    docker = facts.docker
    if not docker.reachable:
        return skipped("no Docker engine to ask")
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
        f"Install the NVIDIA Container Toolkit ({TOOLKIT_DOCS}) and configure Docker for it.",
        *TOOLKIT_COMMANDS,
    )


@check("docker.gpu_container", "A GPU container starts")
def gpu_container(facts: Facts, expect: Expectations) -> Finding:
    """A container given all GPUs really starts and sees them (`nvidia-smi -L`); tried only with
    `envcheck --docker-gpu-test IMAGE`, since it needs an image."""
    docker = facts.docker
    if not docker.reachable:
        return skipped("no Docker engine to ask")
    if docker.gpu_container_ok is None:
        return skipped("not tried (envcheck --docker-gpu-test IMAGE starts one)")
    image = docker.gpu_container_image
    if docker.gpu_container_ok:
        return passed(f"{image} started with all GPUs and listed them")
    error = docker.gpu_container_error or "unknown error"
    if "could not select device driver" in error:
        return failed(
            f"{image} could not start with GPUs: {error}",
            "Docker does not know how to give containers GPUs: install and configure the "
            "NVIDIA Container Toolkit.",
            *TOOLKIT_COMMANDS,
        )
    if "not found" in error:
        return failed(
            f"{image} could not start: {error}",
            "Build or pull the image first.",
            "envcheck images build cu130-runtime",
        )
    return failed(
        f"{image} with GPUs failed: {error}",
        "Run the same by hand to see the whole message.",
        f"docker run --rm --gpus all --entrypoint nvidia-smi {image} -L",
    )
