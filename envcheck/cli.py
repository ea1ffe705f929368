"""Command line: `envcheck` (probe and judge this machine) and `envcheck judge FILE`.

Exit codes: 0 ready, 1 not ready (a fail; a warn too with --strict), 2 bad usage or input,
3 envcheck itself failed.
The report goes to stdout; with --json the JSON report goes to stdout and the human report to
stderr. Expected failures print one line, never a traceback (--debug shows it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from envcheck import __version__
from envcheck.fleet.cli import fleet_cmd
from envcheck.images.cli import images_group
from envcheck.npd import npd_cmd
from envcheck.options import probe_options, prom_option, seconds
from envcheck.slurm.cli import slurm_group


class BadInput(click.ClickException):
    """Bad input (a file, a value): one line, exit 2."""

    exit_code = 2


class InternalError(click.ClickException):
    """envcheck itself failed (a bug): exit 3, so scripts never read it as "not ready"."""

    exit_code = 3


@contextlib.contextmanager
def internal_errors(debug: bool) -> Iterator[None]:
    """An unexpected exception in the block is one line and exit 3 (``--debug``: its
    traceback); the expected ones (ClickException, SystemExit) pass through."""
    try:
        yield
    except click.ClickException:
        raise
    except Exception as exc:
        if debug:
            raise
        raise InternalError(
            f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
        ) from exc


_DEFAULTED = "envcheck.check_by_default"


class DefaultGroup(click.Group):
    """`envcheck [OPTIONS]` means `envcheck check [OPTIONS]`: the top-level help lists check's
    options, and an option error names `envcheck`, the command the user typed."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
            ctx.meta[_DEFAULTED] = True
        return super().parse_args(ctx, args)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        check = self.get_command(ctx, "check")
        if check is not None:
            check_ctx = click.Context(check, info_name=ctx.info_name, parent=ctx)
            records = [p.get_help_record(check_ctx) for p in check.get_params(check_ctx)]
            with formatter.section("Options (checking this machine)"):
                formatter.write_dl([r for r in records if r and not r[0].startswith("-h")])
        super().format_options(ctx, formatter)


class _CheckContext(click.Context):
    @property
    def command_path(self) -> str:
        if self.parent is not None and self.meta.get(_DEFAULTED):
            return self.parent.command_path
        return super().command_path


class DefaultCommand(click.Command):
    context_class = _CheckContext


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="envcheck")
def main() -> None:
    """Is this GPU machine ready? Reads the NVIDIA driver, the GPUs, torch's CUDA and cuDNN, nvcc
    and the container plumbing, and says exactly what to fix.

    Run without a command to check this machine (same as `envcheck check`)."""


def run() -> None:
    """The program's entry point (console script and ``python -m envcheck``): ``main`` with the
    signal handlers that stop every probe child on Ctrl-C or SIGTERM."""
    from envcheck import interrupt

    interrupt.install()
    main(prog_name="envcheck")


main.add_command(images_group)
main.add_command(fleet_cmd)
main.add_command(npd_cmd)
main.add_command(slurm_group)


save_facts_option = click.option(
    "--save-facts",
    type=click.Path(dir_okay=False, writable=True),
    help="Also save the raw facts (envcheck.facts/2), to judge again with `envcheck judge`.",
)


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that ends in a report."""

    @click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print the JSON report (envcheck.report/2) on stdout; the human report goes "
        "to stderr.",
    )
    @click.option(
        "--junit",
        "junit",
        type=click.Path(dir_okay=False, writable=True),
        help="Also write a JUnit XML file, one testcase per check.",
    )
    @prom_option
    @click.option(
        "--expect",
        "expect_file",
        type=click.Path(dir_okay=False),
        help="TOML file of expectations (gpu_count, gpu_name, min_driver, torch, cuda, "
        "cudnn_min, require_nvcc, arch); each becomes a check.",
    )
    @click.option("--strict", is_flag=True, help="Count warnings as not ready (exit 1).")
    @click.option(
        "--redact-paths",
        is_flag=True,
        help="Write home folders as ~ (/home/NAME/, /Users/NAME/, /root/) everywhere in the "
        "report, for reports that leave the machine.",
    )
    @click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        return fn(**kwargs)

    return wrapper


perf_timeout_option = click.option(
    "--perf-timeout",
    type=float,
    default=60.0,
    show_default=True,
    callback=seconds,
    help="Seconds the performance tests may take in all (torch's start-up included); what was "
    "measured by then is judged.",
)


@main.command("check", cls=DefaultCommand)
@probe_options(torch_timeout=60.0, smoke=True, smoke_timeout=30.0)
@click.option(
    "--with-workloads",
    is_flag=True,
    help="Also run the digits workload (x1, one repeat) and judge its validation.",
)
@click.option(
    "--workload-timeout",
    type=float,
    default=900.0,
    show_default=True,
    callback=seconds,
    help="Seconds the workload may take.",
)
@click.option(
    "--perf",
    is_flag=True,
    help="Also measure each GPU (GEMM, memory, host link, peers) against its model's figures, "
    "as `envcheck perf` does.",
)
@perf_timeout_option
@click.option(
    "--docker-gpu-test",
    "docker_gpu_image",
    metavar="IMAGE",
    help="Start IMAGE with all GPUs through Docker (nvidia-smi -L) and judge it "
    "(docker.gpu_container); the container is always removed.",
)
@save_facts_option
@output_options
def check_cmd(
    options: Any,
    with_workloads: bool,
    workload_timeout: float,
    perf: bool,
    perf_timeout: float,
    docker_gpu_image: str | None,
    save_facts: str | None,
    **out: Any,
) -> None:
    """Probe this machine and judge it."""
    options = dataclasses.replace(
        options,
        workloads=with_workloads,
        workload_timeout=workload_timeout,
        perf=perf,
        perf_timeout=perf_timeout,
        docker_gpu_image=docker_gpu_image,
    )
    _report(lambda: _collect(options, save_facts), **out)


@main.command("perf")
@probe_options(torch_timeout=60.0, smoke=True, smoke_timeout=30.0)
@perf_timeout_option
@save_facts_option
@output_options
def perf_cmd(options: Any, perf_timeout: float, save_facts: str | None, **out: Any) -> None:
    """Does each GPU deliver what its model should? Measures dense GEMM (FP32, TF32, BF16),
    device memory, the host link and the peers, within --perf-timeout, and judges them against
    the model's published figures (envcheck/data/perf.toml), with the rest of the report. On a
    machine without a GPU it measures the CPU, and says there is nothing to judge it against."""
    options = dataclasses.replace(options, perf=True, perf_timeout=perf_timeout)
    _report(lambda: _collect(options, save_facts), **out)


def _collect(options: Any, save_facts: str | None) -> Any:
    from envcheck.collect import collect

    collected = collect(options)
    if save_facts:
        from envcheck.facts import to_json

        _write(save_facts, json.dumps(to_json(collected), indent=1) + "\n")
    return collected


@main.command("judge")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--from",
    "fmt",
    type=click.Choice(["collect-env", "nvidia-smi", "text"]),
    help="Read the text as this (default: recognised from its content).",
)
@output_options
def judge_cmd(files: tuple[str, ...], fmt: str | None, **out: Any) -> None:
    """Judge saved facts, a saved report, or what a user pasted: `python -m
    torch.utils.collect_env` output, `nvidia-smi` or `nvidia-smi -q` output, and the torch, CUDA
    and NVML messages they quote. Several FILES merge into one machine; `-` reads stdin. What the
    text does not say stays unknown, and the checks that need it skip."""

    def facts() -> Any:
        from envcheck.report import InputError, load_inputs

        try:
            return load_inputs(list(files), fmt)
        except InputError as exc:
            raise BadInput(str(exc)) from exc

    _report(facts, **out)


def _report(
    get_facts: Callable[[], Any],
    as_json: bool,
    junit: str | None,
    expect_file: str | None,
    strict: bool,
    redact_paths: bool,
    debug: bool,
    prom: str | None = None,
) -> None:
    from envcheck.report import judge

    with internal_errors(debug):
        expectations = _expectations(expect_file)  # before probing: bad input fails fast
        facts = get_facts()
        if redact_paths:
            from envcheck.facts import Facts, from_json, to_json
            from envcheck.text import redact_home

            facts = from_json(Facts, _map_strings(to_json(facts), redact_home))
        report = judge(facts, expectations, strict)
        _emit(report, as_json, junit, prom)
    sys.exit(0 if report.verdict.ready else 1)


def _map_strings(data: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(data, str):
        return fn(data)
    if isinstance(data, list):
        return [_map_strings(v, fn) for v in data]
    if isinstance(data, dict):
        return {k: _map_strings(v, fn) for k, v in data.items()}
    return data


def _expectations(path: str | None) -> Any:
    from envcheck import expect

    if path is None:
        return expect.Expectations()
    try:
        return expect.load(path)
    except expect.ExpectError as exc:
        raise BadInput(str(exc)) from exc


def _emit(report: Any, as_json: bool, junit: str | None, prom: str | None = None) -> None:
    from envcheck.render import terminal

    if junit:
        from envcheck.render import junit as junit_render

        _write(junit, junit_render.render(report))
    if prom:
        from envcheck.render import prom as prom_render

        try:
            prom_render.write(report, prom)
        except OSError as exc:
            raise BadInput(f"{prom}: cannot write: {exc.strerror or exc}") from exc
    if as_json:
        terminal.render(report, file=sys.stderr)
        sys.stdout.write(json.dumps(report.to_json(), indent=1) + "\n")
    else:
        terminal.render(report)


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text)
    except OSError as exc:
        raise BadInput(f"{path}: cannot write: {exc.strerror}") from exc
