"""`envcheck images list|build|run`: the pinned images, through the Docker SDK.

Errors print one line and the commands that fix them, exit 1 (the engine or the image is not
ready) or 2 (bad usage or input: an unknown image, a bad option, no pins file). Ctrl-C removes
the containers first. `run` is ready only when this host and every container are.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from envcheck.engine import EngineError
from envcheck.images import pins as pins_mod

RUN_SCHEMA = "envcheck.images-run/1"


class EngineFailure(click.ClickException):
    """An EngineError as one line plus its remedy; exit 1."""

    exit_code = 1

    def __init__(self, error: EngineError) -> None:
        super().__init__(str(error))
        self.remedy = error.remedy

    def show(self, file: Any = None) -> None:
        out = file or sys.stderr
        click.echo(f"Error: {self.message}", file=out)
        for line in self.remedy:
            click.echo(f"  fix: {line}", file=out)


class BadInput(click.ClickException):
    """Bad input (no pins file, no checkout to build from): one line, exit 2."""

    exit_code = 2


def _load(path: Path | None) -> tuple[list[pins_mod.ImagePin], list[str]]:
    try:
        return pins_mod.load(path or pins_mod.PINS)
    except pins_mod.PinsError as exc:
        raise BadInput(str(exc)) from exc


def _pin(name: str, path: Path | None) -> pins_mod.ImagePin:
    path = path or pins_mod.PINS
    _load(path)  # no file, or a broken one: its own message
    try:
        return pins_mod.find(name, path)
    except pins_mod.PinsError as exc:
        raise click.BadParameter(str(exc), param_hint="IMAGE") from exc


pins_option = click.option(
    "--pins",
    "pins_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The image pins to use [default: docker/images.toml of this checkout].",
)

# What the engine accepts as a size (the SDK's parse_bytes): a number and b, k, m or g.
_SIZE = re.compile(r"\d+(\.\d+)?([bkmg]b?)?", re.IGNORECASE)


def _memory(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not _SIZE.fullmatch(value.strip()):
        raise click.BadParameter(f"{value!r} is not a size: a number with b, k, m or g, e.g. 16g")
    return value.strip() if value else value


def _client(timeout: float) -> Any:
    from envcheck.engine import connect

    try:
        return connect(timeout)
    except EngineError as exc:
        raise EngineFailure(exc) from exc


@click.group("images")
def images_group() -> None:
    """The pinned CUDA + PyTorch images of docker/images.toml: list, build, run."""


@images_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the pins as JSON.")
@pins_option
def list_cmd(as_json: bool, pins_file: Path | None) -> None:
    """Every pinned image: tag, base, torch build, cuDNN, minimum driver, architectures."""
    pins, defaults = _load(pins_file)
    if as_json:
        rows = [
            {**vars(p), "arch_list": list(p.arch_list), "default": p.name in defaults} for p in pins
        ]
        click.echo(json.dumps(rows, indent=1))
        return
    for p in pins:
        mark = "*" if p.name in defaults else " "
        click.echo(
            f"{mark} {p.name:<15} {p.tag:<34} torch {p.torch}+{p.build}  cuDNN {p.cudnn}  "
            f"driver ≥ {p.min_driver}  {p.architectures}\n"
            f"  {'':<15} FROM {p.base}"
        )
    click.echo("(* built by `make images`)")


@images_group.command("build")
@click.argument("names", nargs=-1)
@click.option("--default", "defaults", is_flag=True, help="Build the default images.")
@click.option("--base", help="Use this runtime base image instead of the pinned one.")
@click.option("--devel-base", help="Use this devel base image instead of the pinned one.")
@click.option(
    "--wheelhouse",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Install offline, from the wheels in this folder only.",
)
@click.option(
    "--torch",
    "torch_spec",
    metavar="VERSION+BUILD",
    help="Build with this torch instead of the pinned one, e.g. 2.13.0+cpu for a CPU test "
    "image; labels, the image's expectations, torchvision and the default tag follow it.",
)
@click.option(
    "--no-torchvision",
    is_flag=True,
    help="Build without torchvision (where no wheel of it can be had); its label says none.",
)
@click.option("--tag", help="Tag the image so instead of the pinned tag (one image only).")
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait for the engine to answer one request.",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not stream the build output.")
@pins_option
def build_cmd(
    names: tuple[str, ...],
    defaults: bool,
    base: str | None,
    devel_base: str | None,
    wheelhouse: Path | None,
    torch_spec: str | None,
    no_torchvision: bool,
    tag: str | None,
    timeout: float,
    quiet: bool,
    pins_file: Path | None,
) -> None:
    """Build images of docker/images.toml by name, streaming the build's progress to stderr.

    Nothing is left behind but the images: the untagged images of the build's stages and of a
    failed or interrupted build are removed."""
    from envcheck.images.build import (
        Overrides,
        build,
        fetch_command,
        missing_sources,
        wheelhouse_gaps,
    )

    if defaults:
        names = (*names, *_load(pins_file)[1])
    if not names:
        raise click.UsageError("name at least one image (see `envcheck images list`) or --default")
    if tag and len(names) > 1:
        raise click.UsageError("--tag needs exactly one image")
    selected = [_pin(n, pins_file) for n in names]
    if torch_spec:
        try:
            selected = [pins_mod.with_torch(p, torch_spec, tag) for p in selected]
        except pins_mod.PinsError as exc:
            raise BadInput(str(exc)) from exc
    if no_torchvision:
        selected = [dataclasses.replace(p, torchvision=None) for p in selected]
    for pin in selected if wheelhouse else ():
        gaps = wheelhouse_gaps(pin, wheelhouse)
        if gaps:
            raise BadInput(
                f"--wheelhouse {wheelhouse} has no wheel of {', '.join(gaps)} ({pin.name}); "
                f"fetch it with: {fetch_command(pin, wheelhouse)}"
            )
    missing = missing_sources()
    if missing:
        raise BadInput(
            f"no {missing[0]}: `envcheck images build` builds from a gpu-envkit checkout "
            "(the Dockerfile and the sources beside the envcheck package)"
        )
    client = _client(timeout)
    over = Overrides(runtime_base=base, devel_base=devel_base, wheelhouse=wheelhouse, tag=tag)
    for pin in selected:
        click.echo(f"building {tag or pin.tag} ({pin.target}, FROM {base or pin.base})", err=True)
        try:
            image_id = build(client, pin, over, lambda line: quiet or click.echo(line, err=True))
        except EngineError as exc:
            raise EngineFailure(exc) from exc
        click.echo(f"{tag or pin.tag} {image_id}")


def _gpus_option(gpus: str, per_gpu: bool, host_gpus: list[str]) -> list[str] | None:
    if gpus == "none":
        return None
    chosen = host_gpus if gpus == "all" else [g.strip() for g in gpus.split(",") if g.strip()]
    if not per_gpu:
        return ["all"] if gpus == "all" else [",".join(chosen)]
    if not chosen:
        raise EngineError(
            "--per-gpu: NVML lists no GPU on this host",
            "envcheck   # see why no GPU is visible",
            kind="no_gpu",
        )
    return chosen


@images_group.command("run", context_settings={"ignore_unknown_options": True})
@click.argument("image")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--gpus",
    default="all",
    show_default=True,
    help="'all', 'none', or GPU indices/UUIDs separated by commas.",
)
@click.option("--per-gpu", is_flag=True, help="One container per GPU, in parallel.")
@click.option(
    "--memory",
    callback=_memory,
    help="Memory limit of each container, e.g. 16g (no swap on top).",
)
@click.option(
    "--timeout",
    type=float,
    default=3600.0,
    show_default=True,
    help="Seconds each container may run.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help=f"Print the merged result ({RUN_SCHEMA}) as JSON on stdout.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
@pins_option
def run_cmd(
    image: str,
    args: tuple[str, ...],
    gpus: str,
    per_gpu: bool,
    memory: str | None,
    timeout: float,
    as_json: bool,
    debug: bool,
    pins_file: Path | None,
) -> None:
    """Run IMAGE (a name from docker/images.toml, or any tag) and merge the containers' reports
    with this host's facts into one verdict. ARGS go to the image's entry point (all, check,
    digits, and their options)."""
    from envcheck.containers import RunSpec, run
    from envcheck.engine import connect

    if gpus == "none" and per_gpu:
        raise click.UsageError("--per-gpu needs GPUs; drop --gpus none")
    tag = _tag_of(image, pins_file)
    host = None
    try:
        client = connect(60.0)  # first: an unreachable engine needs no host probing
        host = _host_report()
        host_gpus = [str(g.index) for g in host.facts.gpus if not g.error]
        spec = RunSpec(
            image=tag,
            command=list(args),
            gpus=_gpus_option(gpus, per_gpu, host_gpus),
            mem_limit=memory,
            timeout=timeout,
        )
        results = run(client, spec)
    except EngineError as exc:
        if debug:
            raise
        error = _host_first(exc, host)
        if as_json:  # a script reading stdout still gets a document, with the error in it
            verdict = RunVerdict.failed(host, error)
            click.echo(json.dumps(_run_document(tag, host, [], verdict, error), indent=1))
        raise EngineFailure(error) from exc
    for r in results:
        click.echo(f"── {r.name} (GPUs: {r.gpus}) exit {r.exit_code}", err=True)
        if r.stderr.strip():
            click.echo(r.stderr.rstrip(), err=True)
        if r.error:
            click.echo(f"Error: {r.name} {r.error}", err=True)
    verdict = RunVerdict.of(host, results)
    click.echo(("ready: " if verdict.ready else "NOT ready: ") + verdict.summary, err=True)
    if as_json:
        click.echo(json.dumps(_run_document(tag, host, results, verdict), indent=1))
    sys.exit(0 if verdict.ready else 1)


def _run_document(
    tag: str,
    host: Any,
    results: list[Any],
    verdict: RunVerdict,
    error: EngineError | None = None,
) -> dict[str, Any]:
    """The envcheck.images-run/1 document: host report, containers, one verdict, and the
    engine error that stopped the run (null when it ran)."""
    return {
        "schema": RUN_SCHEMA,
        "image": tag,
        "host": host.to_json() if host is not None else None,
        "containers": [r.to_json() for r in results],
        "verdict": dataclasses.asdict(verdict),
        "error": None
        if error is None
        else {"message": str(error), "kind": error.kind, "remedy": list(error.remedy)},
    }


def _host_first(error: EngineError, host: Any) -> EngineError:
    """An engine that cannot give containers GPUs, on a host whose NVIDIA driver is missing or
    broken: the driver comes first (the Container Toolkit needs it), so the error says so."""
    from envcheck.checks import FAIL
    from envcheck.facts import ErrorKind

    if error.kind != ErrorKind.NO_GPU_RUNTIME or host is None:
        return error
    driver = next((c for c in host.checks if c.id == "driver.present"), None)
    if driver is None or driver.status != FAIL:
        return error
    fix = driver.remedy.commands if driver.remedy else ()
    return EngineError(
        f"this host's NVIDIA driver is not working ({driver.summary}), so no container can "
        f"have a GPU: fix the driver first, then the Container Toolkit if Docker still "
        f"refuses ({error})",
        *fix,
        *error.remedy,
        kind=error.kind,
    )


@dataclass(frozen=True)
class RunVerdict:
    """An image run's verdict: ready only when this host is and every container is."""

    ready: bool
    host_ready: bool | None  # None: the host was not judged (the engine failed first)
    not_ready: list[str]  # "host" and the containers that are not ready
    summary: str

    @classmethod
    def of(cls, host: Any, results: list[Any]) -> RunVerdict:
        from envcheck.checks import FAIL

        not_ready = ["host"] if not host.verdict.ready else []
        not_ready += [r.name for r in results if not r.ready]
        failed = [c for c in host.checks if c.status == FAIL]
        host_part = "host ready" if host.verdict.ready else "host NOT ready"
        if failed:
            host_part += " (" + ", ".join(c.id for c in failed) + ")"
        containers = f"{sum(r.ready for r in results)} of {len(results)} container(s) ready"
        return cls(not not_ready, host.verdict.ready, not_ready, f"{host_part}; {containers}")

    @classmethod
    def failed(cls, host: Any, error: EngineError) -> RunVerdict:
        """No container ran: the engine refused (the host, when it was judged, may add to it)."""
        host_ready = host.verdict.ready if host is not None else None
        not_ready = ["engine"] + (["host"] if host_ready is False else [])
        return cls(False, host_ready, not_ready, f"no container ran: {error}")


def _tag_of(image: str, pins_file: Path | None) -> str:
    if pins_file is None and not pins_mod.PINS.is_file():
        return image  # an installed envcheck: IMAGE can only be a tag
    for pin in _load(pins_file)[0]:
        if image in (pin.name, pin.tag):
            return pin.tag
    return image  # any tag: a locally built or test image


def _host_report() -> Any:
    """This host's facts and checks (no torch: the containers bring their own)."""
    from envcheck.collect import Options, collect
    from envcheck.expect import Expectations
    from envcheck.report import judge

    return judge(collect(Options(torch=False, smoke=False)), Expectations(), False)
