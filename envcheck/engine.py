"""Talking to the Docker engine: connecting within a timeout, and naming why a call failed.

Everything the SDK raises (its ``DockerException``s, and the ``requests`` errors of the HTTP layer
beneath it) becomes an ``EngineError`` here, with a stable kind (``ErrorKind``) and the remedy
for that kind. ``REMEDIES`` is the one place those remedies are written: the images CLI prints
them, and the ``docker.*`` checks give the same ones from the recorded kind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from envcheck.facts import ErrorKind

# Every container envcheck creates carries this label (value: the run's id), so cleanup can find
# them all, even one whose create call was interrupted before its id came back.
LABEL = "io.gpu-envkit.run"

# What the engine answers when --gpus is asked of a Docker without the NVIDIA runtime: written
# only here, for the engine's errors and for pasted messages (envcheck.messages).
NO_GPU_DRIVER = "could not select device driver"

TOOLKIT_DOCS = (
    "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html"
)
TOOLKIT_COMMANDS = (
    "sudo apt-get install -y nvidia-container-toolkit   # from NVIDIA's apt repository",
    "sudo nvidia-ctk runtime configure --runtime=docker",
    "sudo systemctl restart docker",
)

# Where the SDK and the CLI look for the engine when DOCKER_HOST is not set.
DEFAULT_HOST = "unix:///var/run/docker.sock"
# Said only where the engine was looked for somewhere else: it is DOCKER_HOST that sent it there.
DOCKER_HOST_HINT = "echo $DOCKER_HOST   # unset it to use the default socket"

# kind -> (what to do, the commands that do it); "{image}" is the image concerned.
REMEDIES: dict[str, tuple[str, tuple[str, ...]]] = {
    ErrorKind.NOT_RUNNING: (
        "Start the Docker daemon (or point DOCKER_HOST at the engine you mean).",
        ("sudo systemctl start docker", DOCKER_HOST_HINT),
    ),
    ErrorKind.NO_PERMISSION: (
        "Add your user to the docker group, then log in again.",
        ("sudo usermod -aG docker $USER", "newgrp docker   # or log in again"),
    ),
    ErrorKind.NOT_INSTALLED: (
        "Install the Docker SDK for Python next to envcheck.",
        ("pip install 'gpu-envkit[docker]'",),
    ),
    ErrorKind.TIMEOUT: (
        "The daemon is up but does not answer: check its state and log.",
        ("sudo systemctl status docker", "sudo journalctl -u docker --since -10min"),
    ),
    ErrorKind.NO_GPU_RUNTIME: (
        f"Install the NVIDIA Container Toolkit ({TOOLKIT_DOCS}) and configure Docker for it.",
        TOOLKIT_COMMANDS,
    ),
    ErrorKind.IMAGE_NOT_FOUND: (
        "Build or pull the image first.",
        (
            "envcheck images build NAME   # a pinned image: envcheck images list",
            "docker pull {image}",
        ),
    ),
    ErrorKind.OTHER: (
        "Run `docker version` to see the engine's own message.",
        ("docker version",),
    ),
}


def remedy(
    kind: str | None, image: str = "IMAGE", host: str | None = None
) -> tuple[str, tuple[str, ...]]:
    """(text, commands) that fix an engine error of this kind, for the engine at ``host``
    (None: the one this process would use)."""
    text, commands = REMEDIES.get(kind or "", REMEDIES[ErrorKind.OTHER])
    at_default = (host or engine_address()) == DEFAULT_HOST
    return text, tuple(
        c.format(image=image) for c in commands if not (at_default and c == DOCKER_HOST_HINT)
    )


def engine_address() -> str:
    """Where this process looks for the engine: DOCKER_HOST, or the default socket."""
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


class EngineError(Exception):
    """The Docker engine could not do what was asked: one line, with the remedy as commands."""

    def __init__(self, message: str, *remedy: str, kind: str = ErrorKind.OTHER) -> None:
        super().__init__(message)
        self.remedy = remedy
        self.kind = kind


def sdk_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a call into the SDK may raise (call only where the SDK is installed)."""
    import requests
    from docker.errors import DockerException

    return DockerException, requests.exceptions.RequestException


def classify(exc: BaseException) -> str:
    """The ErrorKind of an exception the SDK raised (the SDK is installed when one comes)."""
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain)
    from docker.errors import APIError, ImageNotFound

    if any(isinstance(e, APIError) for e in chain):
        # The engine answered, so its socket is fine: the reason is in its message.
        if any(isinstance(e, ImageNotFound) for e in chain):
            return ErrorKind.IMAGE_NOT_FOUND
        if NO_GPU_DRIVER in text:
            return ErrorKind.NO_GPU_RUNTIME
        return ErrorKind.OTHER
    if "Permission denied" in text or any(isinstance(e, PermissionError) for e in chain):
        return ErrorKind.NO_PERMISSION
    if "timed out" in text.lower() or any(isinstance(e, TimeoutError) for e in chain):
        return ErrorKind.TIMEOUT
    if any(w in text for w in ("No such file", "Connection refused", "FileNotFoundError")):
        return ErrorKind.NOT_RUNNING
    return ErrorKind.OTHER


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    for e in list(seen):  # requests wraps the socket error in its args
        seen.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    return seen


def error_from(exc: BaseException, doing: str, image: str = "IMAGE") -> EngineError:
    """An SDK exception as one line: what was being done, and why it failed."""
    kind = classify(exc)
    if kind == ErrorKind.IMAGE_NOT_FOUND:
        message = f"image {image} not found on this engine ({doing})"
    elif kind == ErrorKind.NO_GPU_RUNTIME:
        message = (
            f"the engine cannot give containers GPUs ({doing}): {_reason(exc)} "
            "(the NVIDIA Container Toolkit is not configured for this Docker)"
        )
    elif kind == ErrorKind.TIMEOUT:
        message = f"{doing}: the engine did not answer in time ({_reason(exc)})"
    else:
        message = f"{doing}: {_reason(exc)}"
    return EngineError(message, *remedy(kind, image)[1], kind=kind)


@contextlib.contextmanager
def calls(doing: str, image: str = "IMAGE") -> Iterator[None]:
    """Calls into the SDK inside this block raise EngineError, never the SDK's own exceptions."""
    try:
        yield
    except EngineError:
        raise
    except Exception as exc:
        if not isinstance(exc, sdk_errors()):
            raise
        raise error_from(exc, doing, image) from exc


def connect(timeout: float = 10.0) -> Any:
    """A ``docker.DockerClient`` from the environment (DOCKER_HOST or the default socket).

    Raises EngineError when the SDK is missing or the engine does not answer within ``timeout``.
    """
    try:
        import docker
    except ImportError as exc:
        raise EngineError(
            "the Docker SDK is not installed",
            *remedy(ErrorKind.NOT_INSTALLED)[1],
            kind=ErrorKind.NOT_INSTALLED,
        ) from exc
    where = engine_address()
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:
        # Anything at all: a malformed DOCKER_HOST raises plain errors before any request.
        kind = classify(exc)
        raise EngineError(
            f"cannot reach the Docker engine at {where}: {_WHY.get(kind) or _reason(exc)}",
            *remedy(kind)[1],
            kind=kind,
        ) from exc
    return client


_WHY = {
    ErrorKind.NOT_RUNNING: "nothing is listening there (is the daemon running?)",
    ErrorKind.NO_PERMISSION: "permission denied on its socket",
    ErrorKind.TIMEOUT: "it did not answer in time",
}


def _reason(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)  # an APIError: the engine's own message
    text = str(explanation or exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
