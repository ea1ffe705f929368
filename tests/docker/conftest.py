"""A real Docker engine for the tests: a Debian base image, a wheelhouse, the shipped Dockerfile.

Built once per session: the base image (debootstrap + `docker import`, kept on the engine so a
developer's next session reuses it), a wheelhouse made on the host (pip cannot reach an index
from inside a build here), and the test image: docker/Dockerfile's runtime target on that base,
with CPU torch. Without an engine the tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from envcheck.engine import LABEL, EngineError, connect
from envcheck.images import build as build_mod
from envcheck.images import pins

BASE = "gpu-envkit-test/debian:bookworm"
IMAGE = "gpu-envkit-test:cpu-runtime"
TORCH = "2.13.0"  # the CPU wheel this machine's pip finds (see the Makefile's TORCH_SPEC)
# The cu130 runtime pin with what a machine without a registry can provide: a Debian base with
# Python, and CPU torch from a local wheelhouse (what `envcheck images build --torch 2.13.0+cpu`
# builds). Labels and expectations then say CPU, truthfully. No torchvision: the one built for
# CPU torch 2.13.0 lies on no index this machine reaches (PyPI's is a CUDA build, which does not
# import beside it); the torchvision image test builds the real cu130 pin instead.
TEST_PIN = dataclasses.replace(
    pins.with_torch(pins.find("cu130-runtime"), f"{TORCH}+cpu", tag=IMAGE),
    base=BASE,
    torchvision=None,
)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def engine():
    try:
        client = connect(10)
    except EngineError as exc:
        _unavailable(f"no Docker engine: {exc} (see .ci/dockerd.sh)")
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(engine) -> str:
    from docker.errors import ImageNotFound

    try:
        engine.images.get(BASE)
        return BASE
    except ImageNotFound:
        pass
    if not shutil.which("debootstrap") or os.geteuid() != 0:
        _unavailable("building the Debian base image needs debootstrap and root")
    with tempfile.TemporaryDirectory(prefix="envkit-rootfs-") as root:
        subprocess.run(
            ["debootstrap", "--variant=minbase", "--include=python3,python3-venv", "bookworm",
             root, "http://deb.debian.org/debian"],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        tar = subprocess.Popen(["tar", "-C", root, "-c", "."], stdout=subprocess.PIPE)
        repository, tag = BASE.split(":")
        engine.api.import_image(src=tar.stdout, repository=repository, tag=tag, stream_src=True)
        tar.wait(timeout=60)
    return BASE


@pytest.fixture(scope="session")
def wheelhouse():
    """torch (CPU) and everything gpu-envkit[workloads] needs, for the offline image build."""
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory(prefix="envkit-wheelhouse-") as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "-d", tmp, f"torch=={TORCH}",
             f"{root}[workloads]", "setuptools>=68"],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        yield Path(tmp)


@pytest.fixture(scope="session")
def test_image(engine, base_image, wheelhouse) -> str:
    over = build_mod.Overrides(
        runtime_base=base_image, devel_base=base_image, wheelhouse=wheelhouse
    )
    build_mod.build(engine, TEST_PIN, over)
    return IMAGE


@contextlib.contextmanager
def envcheck_process(*args: str) -> Iterator[subprocess.Popen]:
    """`python -m envcheck ARGS` running in the background; killed if the test leaves it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "envcheck", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def ctrl_c(proc: subprocess.Popen, timeout: float) -> None:
    """Ctrl-C as a terminal sends it: after its cleanup the command exits 130, no traceback."""
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Aborted" not in err


def labelled(client) -> list:
    """Containers envcheck created (any run)."""
    return client.containers.list(all=True, filters={"label": LABEL})


def dangling(client) -> set[str]:
    """Untagged leaf images: what `docker images -f dangling=true` lists."""
    return {i.id for i in client.images.list(filters={"dangling": True})}


@pytest.fixture
def no_leftovers(engine):
    """Asserts a test leaves nothing behind: no container of ours, no other new one, no new
    dangling image, and none anywhere from one of our builds."""
    before = {c.id for c in engine.containers.list(all=True)}
    images_before = dangling(engine)
    yield
    assert labelled(engine) == []
    assert {c.id for c in engine.containers.list(all=True)} == before
    new = dangling(engine) - images_before
    assert not new, describe_images(engine, new)
    ours = engine.images.list(filters={"dangling": True, "label": build_mod.BUILD_ID_LABEL})
    assert ours == [], describe_images(engine, {i.id for i in ours})


def describe_images(engine, ids) -> str:
    """What a leftover image is (its build id, when it was made, from what): for the failure
    message, so that a leftover says which build and step left it."""
    lines = []
    for image_id in sorted(ids):
        attrs = engine.api.inspect_image(image_id)
        labels = (attrs.get("Config") or {}).get("Labels") or {}
        cmd = " ".join((attrs.get("ContainerConfig") or attrs.get("Config") or {}).get("Cmd") or [])
        lines.append(
            f"{image_id[:19]} created {attrs.get('Created')} parent {attrs.get('Parent', '')[:19]} "
            f"build {labels.get(build_mod.BUILD_ID_LABEL)} step {cmd[:120]!r}"
        )
    return "leftover images:\n" + "\n".join(lines)
