"""`make gpu-check` on a fresh Debian without python3-venv (what minimal cloud images ship): the
interpreter check says in one line what to install, before anything is created.

Tested in a real Debian root (the debootstrap'd base image) with the package really removed.
"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.docker

SCRIPT = "/tools/check_python.sh"


def _in_debian(engine, image: str, command: str) -> tuple[int, str]:
    container = engine.containers.run(
        image, ["sh", "-c", command], detach=True,
        volumes={str(ROOT / "tools"): {"bind": "/tools", "mode": "ro"}},
    )  # fmt: skip
    try:
        code = container.wait(timeout=120)["StatusCode"]
        return code, container.logs(stdout=True, stderr=True).decode()
    finally:
        container.remove(force=True)


def test_python_without_venv_support_is_one_line_naming_the_package(
    engine, base_image, no_leftovers
):
    code, out = _in_debian(
        engine, base_image,
        f"dpkg -r python3-venv python3.11-venv >/dev/null 2>&1; sh {SCRIPT} python3",
    )  # fmt: skip
    assert code == 2
    assert out == (
        "gpu-check: no venv support for python3 here: sudo apt-get install python3-venv (for "
        "python3: python3.11-venv); or run the single-file checker, which needs no venv: "
        "python3 envcheck.pyz (make dist)\n"
    )


def test_python_with_venv_support_passes_silently(engine, base_image, no_leftovers):
    assert _in_debian(engine, base_image, f"sh {SCRIPT} python3") == (0, "")
