"""Build an image of ``docker/images.toml`` from ``docker/Dockerfile``, streaming progress.

The build context is assembled here (the Dockerfile, the project's sources and a ``wheelhouse/``
folder, empty unless an offline package source is given), so a build never depends on what else
lies in the checkout. A wheelhouse is checked against the pins before anything is sent.

A build leaves nothing behind but its image: intermediate containers go even when a step fails
(forcerm), and every untagged image it made (the build stage, the last good step of a failed or
interrupted build) carries its build id and is removed afterwards, whatever the outcome.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcheck import __version__
from envcheck.engine import EngineError, classify, remedy, sdk_errors
from envcheck.facts import ErrorKind
from envcheck.images.pins import DOCKERFILE, ROOT, ImagePin
from envcheck.text import redact_url

# The classic builder paints a step's stderr red; the log keeps plain text.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
SOURCES = ("pyproject.toml", "README.md", "envcheck", "workloads")
BUILD_ID_LABEL = "io.gpu-envkit.build-id"  # docker/Dockerfile sets it on every stage
# After an interrupted build the engine still finishes (and commits) the step it was running
# before it notices the client went; cleanup waits this long for its containers to go.
SETTLE_SECONDS = 60.0


@dataclass(frozen=True)
class Overrides:
    """What a build may change without changing the pins: where bases and packages come from."""

    runtime_base: str | None = None  # replaces the runtime base (and the build stage's)
    devel_base: str | None = None
    wheelhouse: Path | None = None  # install offline from these wheels only
    tag: str | None = None


class BuildError(EngineError):
    """The build failed; ``log`` keeps its last lines."""

    def __init__(self, message: str, log: list[str], kind: str = ErrorKind.OTHER) -> None:
        fix = ("Read the build log above; rerun with the same arguments.",)
        if kind != ErrorKind.OTHER:  # the engine failed (timed out, went away), not a step
            fix = remedy(kind)[1]
        super().__init__(message, *fix, kind=kind)
        self.log = log


def missing_sources() -> list[Path]:
    """What a build context needs from a gpu-envkit checkout and is not here (an installed
    package carries neither docker/Dockerfile nor the project files beside it)."""
    return [p for p in (DOCKERFILE, *(ROOT / name for name in SOURCES)) if not p.exists()]


def build_args(pin: ImagePin, over: Overrides = Overrides(), build_id: str = "") -> dict[str, str]:
    base = pin.base
    runtime_base = over.runtime_base or (base if pin.target == "runtime" else _runtime_of(base))
    args = {
        "BUILD_ID": build_id,
        "RUNTIME_BASE": runtime_base,
        "DEVEL_BASE": over.devel_base or (base if pin.target == "devel" else _devel_of(base)),
        "IMAGE_NAME": pin.name,
        "TORCH_VERSION": pin.torch,
        "TORCHVISION_VERSION": pin.torchvision or "",
        "TORCH_BUILD": pin.build,
        "TORCH_CUDA": pin.cuda or "",
        "TORCH_CUDNN": pin.cudnn or "",
        "TORCH_ARCH_LIST": " ".join(pin.arch_list),
        "MIN_DRIVER": pin.min_driver or "",
        "NVIDIA_REQUIRE_CUDA": pin.nvidia_require_cuda or "",
        "TORCH_INDEX_URL": pin.index_url or "",
        "VERSION": __version__,
        # Where the sources came from, as git knows it: never a made-up address.
        "REVISION": _git("rev-parse", "HEAD") or "unknown",
        "SOURCE": redact_url(_git("remote", "get-url", "origin")),
    }
    if over.wheelhouse is not None:
        args.update(PIP_NO_INDEX="1", PIP_FIND_LINKS="/tmp/wheelhouse", TORCH_INDEX_URL="")
    return args


# A wheel's file name: distribution-version(-build)?-python-abi-platform.whl (PEP 427).
_WHEEL = re.compile(r"(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl")


def wheelhouse_gaps(pin: ImagePin, wheelhouse: Path) -> list[str]:
    """The pinned packages (torch, torchvision) that ``wheelhouse`` has no wheel of, as
    requirement strings. A ``+build`` wheel must be the pin's build; a plain one counts only
    where PyPI's plain wheel is that build."""
    found: dict[str, set[str]] = {}
    for path in wheelhouse.iterdir():
        match = _WHEEL.fullmatch(path.name)
        if match:
            name = match["name"].lower().replace("_", "-")
            found.setdefault(name, set()).add(match["version"])
    wanted = {"torch": pin.torch, "torchvision": pin.torchvision}
    gaps = []
    for name, version in wanted.items():
        if version is None:
            continue
        ok = {f"{version}+{pin.build}"} | ({version} if pin.pypi_default else set())
        if not ok & found.get(name, set()):
            gaps.append(f"{name}=={version}+{pin.build}")
    return gaps


def fetch_command(pin: ImagePin, wheelhouse: Path) -> str:
    """The pip command that fills ``wheelhouse`` with the pinned torch (and torchvision)."""
    wanted = [f"torch=={pin.torch}"] + (
        [f"torchvision=={pin.torchvision}"] if pin.torchvision else []
    )
    index = f" --index-url {pin.index_url}" if pin.index_url else ""
    return f"pip download -d {wheelhouse} {' '.join(wanted)}{index}"


def _runtime_of(base: str) -> str:
    return base.replace("-devel-", "-base-")


def _devel_of(base: str) -> str:
    return base.replace("-base-", "-devel-")


def _git(*args: str) -> str:
    """A git answer about this checkout, or '' where there is none."""
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), *args],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


@contextlib.contextmanager
def context(wheelhouse: Path | None) -> Iterator[Any]:
    """The build context as a tar file (deleted afterwards)."""
    with tempfile.TemporaryFile(prefix="envkit-context-") as f:
        with tarfile.open(fileobj=f, mode="w") as tar:
            tar.add(DOCKERFILE, arcname="docker/Dockerfile")
            for name in SOURCES:
                tar.add(ROOT / name, arcname=name, filter=_no_caches)
            folder = tarfile.TarInfo("wheelhouse")
            folder.type, folder.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(folder)
            for wheel in sorted(wheelhouse.iterdir()) if wheelhouse else ():
                tar.add(wheel, arcname=f"wheelhouse/{wheel.name}")
        f.seek(0)
        yield f


def _no_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    parts = Path(info.name).parts
    if "__pycache__" in parts or info.name.endswith((".pyc", ".egg-info")):
        return None
    return info


def build(
    client: Any,
    pin: ImagePin,
    over: Overrides = Overrides(),
    progress: Callable[[str], None] = lambda line: None,
) -> str:
    """Build ``pin``; returns the image id. Raises BuildError with the failing step's message.

    Whatever the outcome (an error, Ctrl-C), the untagged images the build made are removed;
    so is the image a rebuild took the tag from, once nothing (no tag, no container) holds it."""
    build_id = uuid.uuid4().hex
    replaced = _image_id(client, over.tag or pin.tag)
    try:
        image_id = _build(client, pin, over, progress, build_id)
    finally:
        remove_leftovers(client, build_id)
    if replaced and replaced != image_id:
        with contextlib.suppress(*sdk_errors()):  # still tagged elsewhere, or in use: it stays
            if not client.images.get(replaced).tags:
                client.images.remove(replaced, force=False, noprune=False)
    return image_id


def _image_id(client: Any, tag: str) -> str | None:
    """The image now at ``tag``; None where there is none (or the engine cannot say: the build
    will then fail with the engine's own reason)."""
    try:
        return client.images.get(tag).id
    except sdk_errors():
        return None


def remove_leftovers(client: Any, build_id: str) -> None:
    """Remove the untagged images of build ``build_id``, once the engine has stopped building.

    Polls until none is left, for at most SETTLE_SECONDS: a failed or interrupted build may
    still hold its last step's container for a moment. "Nothing left" must be seen twice in a
    row, since the engine removes a failed step's container and its images in steps of its own.
    A conflict (an image still in use) or an image already gone is the engine settling and is
    waited out; other engine errors are retried, three in a row and the engine is not waited for.
    Never raises an SDK error: a leftover that cannot go must not hide the build's own outcome.
    """
    mine = {"label": f"{BUILD_ID_LABEL}={build_id}"}
    deadline = time.monotonic() + SETTLE_SECONDS
    errors = clean = 0
    while time.monotonic() < deadline and errors < 3 and clean < 2:
        try:
            # The step containers inherit the label; while one exists the engine is at work.
            if client.containers.list(all=True, filters=mine):
                clean = 0
            elif images := client.images.list(filters={**mine, "dangling": True}):
                clean = 0
                for image in images:  # its untagged parents go with it (noprune=False)
                    client.images.remove(image.id, force=False, noprune=False)
            else:
                clean += 1
            errors = 0
        except sdk_errors() as exc:
            clean = 0
            if getattr(exc, "status_code", None) not in (404, 409):
                errors += 1
        time.sleep(0.2)


def _build(
    client: Any,
    pin: ImagePin,
    over: Overrides,
    progress: Callable[[str], None],
    build_id: str,
) -> str:
    tag = over.tag or pin.tag
    log: list[str] = []
    pending = ""
    image_id = None
    with context(over.wheelhouse) as ctx:
        try:
            stream = client.api.build(
                fileobj=ctx,
                custom_context=True,
                dockerfile="docker/Dockerfile",
                target=pin.target,
                tag=tag,
                buildargs=build_args(pin, over, build_id),
                rm=True,
                forcerm=True,  # intermediate containers go even when a step fails
                pull=False,
                decode=True,
            )
            for chunk in stream:
                if "error" in chunk:
                    detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                    raise BuildError(_failure(tag, log, detail), log[-20:])
                # Output arrives in arbitrary pieces: only whole lines are logged.
                pending += chunk.get("stream") or chunk.get("status") or ""
                *lines, pending = _ANSI.sub("", pending).split("\n")
                for line in lines:
                    if line.strip():
                        log.append(line.rstrip())
                        progress(line.rstrip())
                image_id = (chunk.get("aux") or {}).get("ID", image_id)
        except sdk_errors() as exc:  # the engine refused, timed out or went away
            why = getattr(exc, "explanation", None) or exc
            kind = classify(exc)
            raise BuildError(f"building {tag} failed: {why}", log[-20:], kind) from exc
        except BaseException:
            # Ctrl-C: hang up, so the engine cancels the build instead of running its steps to
            # the end (the open response would keep it going); the client reconnects on its next
            # request, for the cleanup.
            client.api.close()
            raise
    if image_id is None:
        raise BuildError(f"building {tag} failed: the engine reported no image", log[-20:])
    return image_id


def _failure(tag: str, log: list[str], detail: str) -> str:
    """One line: the step that failed and the cause its output gave (pip's ERROR line, say)."""
    step = next((line for line in reversed(log) if line.startswith("Step ")), None)
    cause = next((line for line in reversed(log) if line.lstrip().startswith("ERROR")), None)
    where = ""
    if step:
        number, _, instruction = step.partition(" : ")
        where = f" at {number} ({instruction[:60]})"
    return f"building {tag} failed{where}: {(cause or _last(detail)).strip()}"


def _last(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:400] if lines else "unknown error"
