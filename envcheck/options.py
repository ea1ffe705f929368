"""Command-line options shared by the commands that probe this machine (`envcheck check`, `npd`,
`slurm health`): one declaration each, with the defaults of the command that uses them; and
`--prom`, for every command that ends in one machine's report.

A command decorated with ``probe_options(...)`` receives ``options`` (``collect.Options``) in
place of the six probe options.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

# A day: longer than any probe may sensibly wait; past it a value is a typo, not a choice.
MAX_SECONDS = 86400.0


def seconds(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """Callback of every option in seconds: positive and finite (NaN fails this too)."""
    if not 0 < value <= MAX_SECONDS:
        raise click.BadParameter(f"must be seconds in (0, {MAX_SECONDS:g}], got {value:g}")
    return value


prom_option = click.option(
    "--prom",
    # No writable=True: the file is replaced by a rename, so only its folder must be writable.
    type=click.Path(dir_okay=False),
    help="Also write Prometheus metrics (envcheck_ready, envcheck_check_status, ...) for "
    "node_exporter's textfile collector, replacing FILE atomically.",
)


def probe_options(
    torch_timeout: float, smoke: bool, smoke_timeout: float
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--timeout, --torch/--no-torch, --torch-timeout, --smoke/--no-smoke, --smoke-timeout and
    --python, with these defaults."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @click.option(
            "--timeout",
            type=float,
            default=5.0,
            show_default=True,
            callback=seconds,
            help="Seconds each host probe (NVML, nvcc, Docker) may take.",
        )
        @click.option(
            "--torch/--no-torch",
            "with_torch",
            default=True,
            show_default=True,
            help="Probe torch (in a child process: importing it takes seconds).",
        )
        @click.option(
            "--torch-timeout",
            type=float,
            default=torch_timeout,
            show_default=True,
            callback=seconds,
            help="Seconds for importing torch and initialising CUDA.",
        )
        @click.option(
            "--smoke/--no-smoke",
            default=smoke,
            show_default=True,
            help="Run a matmul and a cuDNN convolution on each GPU against the CPU (CUDA work on "
            "GPUs that may be running jobs).",
        )
        @click.option(
            "--smoke-timeout",
            type=float,
            default=smoke_timeout,
            show_default=True,
            callback=seconds,
            help="Seconds for the smoke test, on top of --torch-timeout.",
        )
        @click.option(
            "--python",
            "python",
            type=click.Path(exists=True, dir_okay=False),
            help="Probe the torch of this interpreter (e.g. your training environment's).",
        )
        @functools.wraps(fn)
        def wrapper(
            timeout: float,
            with_torch: bool,
            torch_timeout: float,
            smoke: bool,
            smoke_timeout: float,
            python: str | None,
            **rest: Any,
        ) -> Any:
            from envcheck.collect import Options

            options = Options(
                timeout=timeout,
                torch=with_torch,
                torch_timeout=torch_timeout,
                smoke=smoke,
                smoke_timeout=smoke_timeout,
                python=python,
            )
            return fn(options=options, **rest)

        return wrapper

    return decorate
