"""Build dist/envcheck.pyz: the host-side checker and its pure-Python dependencies in one file.

`python3 envcheck.pyz [options]` then runs on a machine with nothing but Python >= 3.10: no venv,
no pip, no network. The runtime dependencies are pyproject.toml's, resolved for the oldest Python
we support, so that backports (tomli, and whatever else a dependency needs only on 3.10) are in
the archive too; newer interpreters simply never import them. Not in it: torch (probed in the
user's own interpreter, `--python`), the Docker SDK (the Docker checks skip without it) and
workloads.

    python tools/build_pyz.py [--output dist/envcheck.pyz]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipapp
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
OLDEST_PYTHON = "3.10"  # pyproject.toml's requires-python
# Every file gets this time stamp, so that two builds of the same sources give the same archive.
EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", 315532800))  # 1980-01-01, the oldest zip time
# What stays of a dependency's *.dist-info: its version (importlib.metadata) and its licence.
KEEP_METADATA = re.compile(r"METADATA|LICEN[CS]E.*|COPYING.*|NOTICE.*|AUTHORS.*|licenses", re.I)

MAIN = "import envcheck.cli\n\nenvcheck.cli.run()\n"  # what main="envcheck.cli:run" would write


def requirements() -> list[str]:
    """pyproject.toml's dependencies without their markers: all of them go in (pip decides)."""
    with (ROOT / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)["project"]
    return [dep.split(";")[0].strip() for dep in project["dependencies"]]


def install_dependencies(target: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile",
         "--disable-pip-version-check", "--target", str(target),
         "--python-version", OLDEST_PYTHON, "--only-binary=:all:", *requirements()],
        check=True,
    )  # fmt: skip
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: pygmentize, markdown-it
    (target / "example.py").unlink(missing_ok=True)  # nvidia-ml-py's demo, a top-level module
    for info in target.glob("*.dist-info"):
        for item in info.iterdir():
            if not KEEP_METADATA.fullmatch(item.name):
                shutil.rmtree(item) if item.is_dir() else item.unlink()


def copy_package(target: Path) -> None:
    """envcheck as its wheel has it: the modules and the package data, no caches."""
    shutil.copytree(
        ROOT / "envcheck",
        target / "envcheck",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )


def build(output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="envcheck-pyz-") as tmp:
        staging = Path(tmp) / "app"
        install_dependencies(staging)
        copy_package(staging)
        # zipapp's own (main=...) would carry the build's clock time; this one carries EPOCH.
        (staging / "__main__.py").write_text(MAIN)
        for path in staging.rglob("*"):
            os.utime(path, (EPOCH, EPOCH))
        partial = output.with_name(output.name + ".part")
        zipapp.create_archive(
            staging,
            partial,
            interpreter="/usr/bin/env python3",
            compressed=True,
        )
        partial.replace(output)  # never a half-written archive under the real name
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "envcheck.pyz")
    out = build(parser.parse_args().output)
    print(f"{out}: {out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
