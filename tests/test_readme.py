"""The README's commands, run as a user runs them: from a fresh clone's root, with the venv's
console scripts first on PATH, and without a traceback or a warning the code caused.

Two past bugs are why: from the repository root the project's `docker/` folder shadowed the
Docker SDK in child processes, and `make gpu-check ARGS=--json > r.json` put make's echo in the
JSON. ``PLANS`` says how each command of the README's ```sh and ```console blocks runs here: as
written, with stated substitutions, or skipped with the reason. A command the README gains, or
one it drops, fails ``test_every_readme_command_has_a_plan`` / ``..._is_still_in_the_readme``,
so the table cannot go stale; a new command is one entry.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
VENV = Path(sys.prefix)  # the venv running the tests: its console scripts are the user's
BIN = VENV / "bin"
REPORTS = ROOT / "tests" / "data" / "reports"


# -- how each README command runs here ---------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    code: int | None  # the exit code it must give here; None: skipped
    why: str = ""  # why it is substituted or skipped
    sub: tuple[tuple[str, str], ...] = ()  # (as written, as run here)
    out: tuple[tuple[str, str], ...] = ()  # (file it promises, what it must parse as)
    timeout: float = 120


def run(code: int, *, out: tuple[tuple[str, str], ...] = (), timeout: float = 120) -> Plan:
    return Plan(code, out=out, timeout=timeout)


def sub(code: int, why: str, *pairs: tuple[str, str], **kw) -> Plan:
    return Plan(code, why, sub=pairs, **kw)


def skip(why: str) -> Plan:
    return Plan(None, why)


def verdict(case: str) -> int:
    """The exit code `envcheck judge` must give a real report: its recorded verdict."""
    data = tomllib.loads((REPORTS / f"{case}.toml").read_text())
    return 0 if data["verdict"] == "ready" else 1


# The input files the README names, made in the clone before anything runs: real pasted dumps
# from tests/data/reports/ (the name says which). facts.json comes from the README's own
# `envcheck --save-facts facts.json`, onboarding.toml from its ```toml block; the fleet's reports
# from `envcheck --json` here and the real H200 measurement judged.
PASTES = {
    "collect_env.txt": "pytorch-119131",  # collect_env of a healthy machine: ready
    "smi.txt": "more-ollama-1651",  # an nvidia-smi table of a GeForce GTX 1660: ready
    "errors.txt": "vllm-4940",  # CUDA error 804 (forward compat on unsupported HW): not ready
    "dump.txt": "biop-desktop-27",  # "Failed to initialize NVML: Driver/library version mismatch"
}
CLIPBOARD = "more-feral-18"  # what `pbpaste` gives: a collect_env, ready
SAVE_FACTS = "envcheck --save-facts facts.json"
FLEET = {
    "reports/this-machine.json": "envcheck --json",
    "reports/h200.json": "envcheck judge --json tests/data/h200-facts.json",
    "a.json": "envcheck judge --json tests/data/h200-facts.json",
    "b.json": "envcheck --json",
}
MAKE_REUSES_VENV = (
    "make would create .venv in the clone and pip-install into it (needs an index); it reuses "
    "the ready venv (VENV=) and is told its stamp is current (-o) so nothing is reinstalled"
)
SLURM = "needs a Slurm cluster (srun on the partition's nodes)"
DOCKER_IMAGE = "needs a Docker engine with the NVIDIA runtime, a GPU and the built image"
VISION_TEST = (
    "the documented offline build: tests/docker/test_vision_image.py runs these on the real "
    "engine, with pip's own package source for the index and a local Debian base for nvidia/cuda"
)
HOST_SETUP = "installs NVIDIA's Container Toolkit and restarts the host's Docker: a host's setup"

# NOT READY on this machine (no NVIDIA GPU, CPU torch) is exit 1 for every live check.
PLANS: dict[str, Plan] = {
    # Set up
    "make gpu-check": sub(
        2,  # make reports envcheck's 1 as its own 2 (README: Set up)
        MAKE_REUSES_VENV,
        ("make gpu-check", f"make gpu-check VENV={VENV} -o {VENV}/.core"),
    ),
    "make test": skip("the whole suite, this one included; it installs torch and torchvision"),
    "make mutate": skip("mutation testing takes many minutes"),
    "make dist": skip("builds dist/envcheck.pyz: tests/test_pyz.py builds and runs it"),
    # Usage
    "envcheck": run(1),
    "envcheck --json > report.json": run(1, out=(("report.json", "report"),)),
    "envcheck --junit envcheck.xml": run(1, out=(("envcheck.xml", "junit"),)),
    "envcheck --expect onboarding.toml": run(1),
    "envcheck --python /opt/venv/bin/python": sub(
        1,
        "no /opt/venv here: the venv's own interpreter stands in",
        ("/opt/venv/bin/python", str(BIN / "python")),
    ),
    "envcheck --with-workloads": run(1, timeout=280),
    # Performance: no GPU here, so the CPU is measured (and the machine is not ready: exit 1).
    "envcheck perf": run(1),
    "envcheck perf --json > perf.json": run(1, out=(("perf.json", "report"),)),
    "envcheck --perf --perf-timeout 120 --json > report.json": run(
        1, out=(("report.json", "report"),)
    ),
    SAVE_FACTS: run(1, out=(("facts.json", "facts"),)),
    "envcheck judge facts.json": run(1),  # this machine's facts: not ready
    "envcheck judge dump.txt": run(verdict(PASTES["dump.txt"])),
    # Judging what users paste
    "envcheck judge collect_env.txt": run(verdict(PASTES["collect_env.txt"])),
    # The GeForce of smi.txt and error 804 of errors.txt: forward compat where it cannot work.
    "envcheck judge smi.txt errors.txt": run(verdict(PASTES["errors.txt"])),
    "pbpaste | envcheck judge -": sub(
        verdict(CLIPBOARD),
        "no clipboard here: a real pasted dump stands in",
        ("pbpaste", f"cat tests/data/reports/{CLIPBOARD}.txt"),
    ),
    "envcheck judge --from nvidia-smi smi.txt": run(verdict(PASTES["smi.txt"])),
    "envcheck judge tests/data/reports/pytorch-150733.txt": run(verdict("pytorch-150733")),
    # Fleet: reports/ holds this machine's report (not ready) and the H200's (ready); a.json is
    # the H200's, b.json this machine's.
    "envcheck fleet reports/": run(1),
    "envcheck fleet reports/ --json > fleet.json": run(1, out=(("fleet.json", "fleet"),)),
    "envcheck fleet a.json b.json --junit fleet.xml --strict": run(
        1, out=(("fleet.xml", "junit"),)
    ),
    "envcheck slurm run --partition gpu": skip(SLURM),
    'envcheck slurm run --args "--expect /etc/gpu-envkit/expect.toml" --json > fleet.json': skip(
        SLURM
    ),
    "envcheck slurm run -- --account ml --qos debug": skip(SLURM),
    # Workloads
    "workloads digits": sub(
        0,
        "x1, x10, x100 with 3 repeats takes many minutes on a CPU: x1, one repeat",
        ("workloads digits", "workloads digits --scales 1 --repeats 1"),
        timeout=280,
    ),
    "workloads digits --scales 1,10 --device cpu --repeats 3 "
    "--json digits.json --plot digits.png": sub(
        0,
        "x10 with three repeats took over 280 s on this busy 2-core CPU: x1 once, the same "
        "options otherwise and the same JSON and plot",
        ("--scales 1,10", "--scales 1"),
        ("--repeats 3", "--repeats 1"),
        out=(("digits.json", "digits"), ("digits.png", "png")),
        timeout=280,
    ),
    "make bench": skip("digits x1, x10, x100 on a CPU takes many minutes"),
    # Datasets
    "workloads train --dataset synthetic-linear": run(0),
    "workloads train --dataset synthetic-classification": run(0),
    "workloads train --dataset mnist --data-dir data --download": skip(
        "downloads MNIST (needs a network) and torchvision, which this venv does not hold"
    ),
    "workloads train --dataset cifar10 --limit 5000 --device cuda --json c10.json --plot c10.png": (
        skip("needs a GPU (--device cuda) and torchvision's CIFAR-10 data set")
    ),
    'docker run --rm --gpus all -v "$PWD/data:/data:ro" -e WORKLOADS_DATA_DIR=/data '
    "--entrypoint /opt/venv/bin/workloads gpu-envkit:2.14.1-cu130-runtime "
    "train --dataset mnist --device cuda": skip(
        f"{DOCKER_IMAGE}, and MNIST in ./data (tests/docker/test_vision_image.py runs it in the "
        "real cu130 image on the CPU, on tiny MNIST files)"
    ),
    "workloads train --dataset file:measurements.csv --target yield": run(0),
    # Images
    "envcheck images list": run(0),
    "make images": skip("builds images: needs a Docker engine and a registry for the bases"),
    "envcheck images build cu130-devel": skip(
        "builds an image: needs a Docker engine and a registry for the base and torch"
    ),
    "envcheck images build cu130-runtime --wheelhouse ./wheels": skip(VISION_TEST),
    "pip download -d wheels torch==2.14.1 torchvision==0.29.1 "
    "--index-url https://download.pytorch.org/whl/cu130": skip(VISION_TEST),
    'pip download -d wheels ".[workloads]" "setuptools>=68"': skip(VISION_TEST),
    "sudo apt-get install -y nvidia-container-toolkit": skip(HOST_SETUP),
    "sudo nvidia-ctk runtime configure --runtime=docker": skip(HOST_SETUP),
    "sudo systemctl restart docker": skip(HOST_SETUP),
    "docker run --rm --gpus all gpu-envkit:2.14.1-cu130-runtime": skip(DOCKER_IMAGE),
    "docker run --rm --gpus all gpu-envkit:2.14.1-cu130-devel check": skip(DOCKER_IMAGE),
    "docker run --rm --gpus all gpu-envkit:2.14.1-cu126-runtime check > report.json": skip(
        DOCKER_IMAGE
    ),
    "docker run --rm --gpus all gpu-envkit:2.14.1-cu126-devel digits --scales 1,10": skip(
        DOCKER_IMAGE
    ),
    'docker run --rm --gpus all --shm-size=8g -v "$PWD/data:/data:ro" '
    "gpu-envkit:2.14.1-cu130-runtime check": skip(DOCKER_IMAGE),
    "envcheck images run cu130-runtime": skip(DOCKER_IMAGE),
    "envcheck images run cu130-runtime --per-gpu": skip(DOCKER_IMAGE),
    "envcheck images run cu130-runtime --json check > merged.json": skip(DOCKER_IMAGE),
    # Development ("make test" is listed above)
    "make lint": sub(
        0,
        MAKE_REUSES_VENV,
        ("make lint", f"make lint VENV={VENV} -o {VENV}/.dev"),
    ),
}


# -- reading the README ------------------------------------------------------------------------


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def _normal(command: str) -> str:
    return " ".join(_strip_comment(command).split())


def readme_commands(text: str) -> dict[str, list[str]]:
    """Every command of the README's ```sh blocks (continuation lines joined) and ```console
    blocks (``$ `` lines), in order, each with the output the README shows for it (console)."""
    commands: dict[str, list[str]] = {}
    lang, block = None, []
    for line in text.splitlines():
        fence = re.match(r"^```(\S*)\s*$", line)
        if fence and lang is None:
            lang, block = fence.group(1), []
            continue
        if fence:
            _read_block(lang, block, commands)
            lang = None
            continue
        if lang is not None:
            block.append(line)
    return commands


def _read_block(lang: str, lines: list[str], commands: dict[str, list[str]]) -> None:
    if lang == "sh":
        pending = ""
        for line in lines:
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            command = _normal(pending + line)
            pending = ""
            if command:
                commands.setdefault(command, [])
    elif lang == "console":
        shown = None
        for line in lines:
            if line.startswith("$ "):
                shown = commands.setdefault(_normal(line[2:]), [])
            elif shown is not None and line.strip():
                shown.append(line)


def readme_toml(text: str) -> str:
    blocks = re.findall(r"^```toml\n(.*?)^```", text, re.M | re.S)
    assert len(blocks) == 1, "the README should hold one ```toml block: the --expect example"
    return blocks[0]


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))


def test_every_readme_command_has_a_plan():
    missing = [c for c in COMMANDS if c not in PLANS]
    assert not missing, f"README commands without an entry in PLANS (add one each): {missing}"


def test_every_plan_is_still_in_the_readme():
    gone = [c for c in PLANS if c not in COMMANDS]
    assert not gone, f"PLANS entries the README no longer has (remove or update them): {gone}"


def test_substitutions_replace_what_the_command_says():
    for command, plan in PLANS.items():
        for old, _ in plan.sub:
            assert old in command, (command, old)


def test_the_readme_reader_joins_continuations_and_drops_comments():
    text = "```sh\na --x \\\n  'b # c' \\\n  d   # e\n\n# f\n```\n```console\n$ g\nout\n```\n"
    assert readme_commands(text) == {"a --x 'b # c' d": [], "g": ["out"]}


# -- running them in a fresh clone -------------------------------------------------------------


def _clone(dest: Path) -> None:
    """The files a clone holds: git's tracked and not-ignored files, as they are now."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        src = ROOT / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree, not yet in git
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / name, follow_symlinks=False)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST"))}
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    return env


def _bash(command: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        env=_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a timeout ends the whole pipeline, not just bash
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"`{command}` ran past {timeout} s\n{out[-2000:]}\n{err[-2000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def clone() -> Iterator[Path]:
    if not (BIN / "envcheck").exists() or not (BIN / "workloads").exists():
        pytest.skip(f"the venv's console scripts are not installed in {BIN}")
    with tempfile.TemporaryDirectory(prefix="envkit-readme-") as tmp:
        root = Path(tmp) / "gpu-envkit"
        root.mkdir()
        _clone(root)
        for name, case in PASTES.items():
            shutil.copy(root / "tests" / "data" / "reports" / f"{case}.txt", root / name)
        text = (root / "README.md").read_text(encoding="utf-8")
        (root / "onboarding.toml").write_text(readme_toml(text))
        _write_measurements(root / "measurements.csv")
        assert SAVE_FACTS in COMMANDS
        _bash(SAVE_FACTS, root, PLANS[SAVE_FACTS].timeout)
        assert (root / "facts.json").is_file(), f"`{SAVE_FACTS}` wrote no facts.json"
        (root / "reports").mkdir()
        for name, command in FLEET.items():
            _bash(f"{command} > {name}", root, 120)
            _check_output(root, name, "report")
        yield root


def _write_measurements(path: Path) -> None:
    """A process log: yield = 0.5 * temperature - 2 * pressure + noise (seeded)."""
    import random

    rng = random.Random(0)
    rows = ["temperature,pressure,yield"]
    for _ in range(200):
        t, p = rng.uniform(20, 80), rng.uniform(1, 5)
        rows.append(f"{t:.2f},{p:.3f},{0.5 * t - 2 * p + rng.gauss(0, 1):.3f}")
    path.write_text("\n".join(rows) + "\n")


# A warning printed by Python (`file:12: UserWarning: ...`, `DeprecationWarning`), pip
# (`WARNING: ...`), make or a compiler (`warning: ...`).
WARNING = re.compile(r"\b\w*Warning\b|^\s*WARNING\b|(?:^|: )warning:", re.M)
ENGINE_REASONS = {None, "not_running", "no_permission", "timeout"}
DOCKER_SDK = True
try:
    metadata.version("docker")  # by distribution: our docker/ folder cannot answer for it
except metadata.PackageNotFoundError:  # pragma: no cover - the docker extra not installed
    DOCKER_SDK = False


def _check_output(root: Path, name: str, kind: str) -> None:
    path = root / name
    assert path.is_file(), f"{name} was not written"
    if kind == "png":
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n"), f"{name} is not a PNG"
        return
    if kind == "junit":
        suite = ET.parse(path).getroot()
        assert next(suite.iter("testcase"), None) is not None, f"{name} holds no testcase"
        return
    data = json.loads(path.read_text())
    schema = {
        "report": ("envcheck.report/2", "envcheck/schemas/report-2.json"),
        "facts": ("envcheck.facts/2", "envcheck/schemas/facts-2.json"),
        "digits": ("workloads.digits/1", "workloads/schemas/digits-1.json"),
        "fleet": ("envcheck.fleet/1", "envcheck/schemas/fleet-1.json"),
    }[kind]
    assert data["schema"] == schema[0], name
    jsonschema.validate(data, json.loads((root / schema[1]).read_text()))
    facts = data["facts"] if kind == "report" else data
    if kind in ("report", "facts") and DOCKER_SDK and facts["source"] is None:  # live
        docker = facts["docker"]
        # From the clone's root the probe child must import the SDK, not our docker/ folder: the
        # engine answers, or the reason is the engine's own (not "not installed", "crashed").
        assert docker.get("reachable") or docker.get("error_kind") in ENGINE_REASONS, docker


@pytest.mark.parametrize("command", list(PLANS))
def test_readme_command_runs_cleanly_from_a_fresh_clone(command, clone):
    plan = PLANS[command]
    if plan.code is None:
        pytest.skip(plan.why)
    if command not in COMMANDS:
        pytest.skip("not in the README (test_every_plan_is_still_in_the_readme fails)")
    line = command
    for old, new in plan.sub:
        line = line.replace(old, new)
    for name, _ in plan.out:
        (clone / name).unlink(missing_ok=True)  # what is checked is what this run wrote

    proc = _bash(line, clone, plan.timeout)

    both = f"$ {line}\n--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"
    assert proc.returncode == plan.code, both
    for stream in (proc.stdout, proc.stderr):
        assert "Traceback" not in stream, both
        assert "Exception ignored" not in stream, both
        assert not WARNING.findall(stream), both
    for name, kind in plan.out:
        _check_output(clone, name, kind)
    for shown in COMMANDS[command]:  # a ```console block's output, "…" marking what it cut
        assert shown.rstrip(" …") in proc.stdout, f"the README shows {shown!r}\n{both}"
