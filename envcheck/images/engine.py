"""Connecting to the Docker engine, bounded by a timeout, and naming why it failed."""

from __future__ import annotations

import os
from typing import Any

# Every container envcheck creates carries this label (value: the run's id), so cleanup can find
# them all, even one whose create call was interrupted before its id came back.
LABEL = "io.gpu-envkit.run"


class EngineError(Exception):
    """The Docker engine could not do what was asked: one line, with the remedy as commands."""

    def __init__(self, message: str, *remedy: str, kind: str = "other") -> None:
        super().__init__(message)
        self.remedy = remedy
        self.kind = kind


def classify(exc: BaseException) -> tuple[str, tuple[str, ...]]:
    """(error kind, remedy commands) for an exception from connecting to the engine."""
    text = " ".join(str(e) for e in _chain(exc))
    if "Permission denied" in text or any(isinstance(e, PermissionError) for e in _chain(exc)):
        return "no_permission", (
            "sudo usermod -aG docker $USER   # then log in again (or: newgrp docker)",
        )
    if "timed out" in text.lower():
        return "timeout", ("sudo systemctl status docker   # the daemon is up but not answering",)
    if any(w in text for w in ("No such file", "Connection refused", "FileNotFoundError")):
        return "not_running", (
            "sudo systemctl start docker",
            "echo $DOCKER_HOST   # unset it to use /var/run/docker.sock",
        )
    return "other", ("docker version   # the engine's own message",)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    for e in list(seen):  # requests wraps the socket error in its args
        seen.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))
    return seen


def connect(timeout: float = 10.0) -> Any:
    """A ``docker.DockerClient`` from the environment (DOCKER_HOST or the default socket).

    Raises EngineError when the SDK is missing or the engine does not answer within ``timeout``.
    """
    try:
        import docker
    except ImportError as exc:
        raise EngineError(
            "the Docker SDK is not installed",
            "pip install 'gpu-envkit[docker]'",
            kind="not_installed",
        ) from exc
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except Exception as exc:
        kind, remedy = classify(exc)
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        raise EngineError(
            f"cannot reach the Docker engine at {where}: {_WHY.get(kind) or _reason(exc)}",
            *remedy,
            kind=kind,
        ) from exc
    return client


_WHY = {
    "not_running": "nothing is listening there (is the daemon running?)",
    "no_permission": "permission denied on its socket",
    "timeout": "it did not answer in time",
}


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
