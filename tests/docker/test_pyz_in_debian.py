"""envcheck.pyz on a bare Debian: python3 and nothing else (the debootstrap'd base image), no
venv, no pip, no network. It gives a full report: every probe ran, the exit code says not ready
(no GPU in the container)."""

from __future__ import annotations

import json

import pytest

from tests.test_pyz import build_pyz

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def pyz(tmp_path_factory):
    return build_pyz(tmp_path_factory.mktemp("dist"))


def test_full_report_in_a_bare_debian(engine, base_image, pyz, no_leftovers):
    container = engine.containers.run(
        base_image, ["python3", "/opt/envcheck.pyz", "--json", "--no-torch"],
        detach=True, network_disabled=True,
        volumes={str(pyz): {"bind": "/opt/envcheck.pyz", "mode": "ro"}},
    )  # fmt: skip
    try:
        code = container.wait(timeout=120)["StatusCode"]
        out = container.logs(stdout=True, stderr=False).decode()
        err = container.logs(stdout=False, stderr=True).decode()
    finally:
        container.remove(force=True)
    assert "Traceback" not in err
    assert code == 1, err
    report = json.loads(out)
    assert report["schema"] == "envcheck.report/2"
    assert not report["verdict"]["ready"]
    runs = {p["name"]: p for p in report["facts"]["probes"]}
    assert set(runs) == {"nvml", "torch", "nvcc", "container", "docker"}
    assert runs["nvml"]["status"] == "ok", runs["nvml"]
    assert runs["docker"]["status"] in ("ok", "error"), runs["docker"]
    assert all("crashed" not in (r["detail"] or "") for r in runs.values()), runs
    assert report["facts"]["container"]["inside"] is True
    checks = {c["id"]: c["status"] for c in report["checks"]}
    assert checks["driver.present"] == "fail"
