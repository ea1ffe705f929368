"""``workloads``: run a workload, print its table, write its JSON, exit 0 pass / 1 fail / 2 usage.

Thin on purpose: parsing and output here, everything else in the runner. Heavy imports (torch,
skorch, scikit-learn) happen inside the command, so ``--help`` and usage errors stay instant.
"""

from __future__ import annotations

import signal
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from workloads import DEVICES, DIGITS_SCHEMA, TRAIN_SCHEMA
from workloads.digits.models import MODEL_NAMES, MODELS
from workloads.train.datasets import DATASETS, TASKS, usage
from workloads.train.models import NET_SUMMARIES, NETS


# The callbacks only parse; DigitsOptions.check() judges the values (one set of rules for the
# CLI and for callers of the runner).
def _parse_scales(ctx, param, value: str) -> tuple[int, ...]:
    try:
        return tuple(int(p.strip()) for p in value.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a comma-separated list of integers, e.g. 1,10,100"
        ) from None


def _parse_models(ctx, param, value: str) -> tuple[str, ...]:
    if value.strip() == "all":
        return MODEL_NAMES
    return tuple(m.strip() for m in value.split(",") if m.strip())


def _check_output(ctx, param, value: str | None) -> str | None:
    if value is None or value == "-":
        return value
    path = Path(value)
    if param.name == "plot" and path.suffix.lower() != ".png":
        raise click.BadParameter(f"the plot is written as PNG; give a .png file, not {value!r}")
    if not path.parent.is_dir():
        raise click.BadParameter(f"folder {str(path.parent)!r} does not exist")
    return value


def _listing(rows: list[tuple[str, str]]) -> str:
    """Help-text rows (name, what it is), the text wrapped under its column; click keeps the
    layout of a paragraph that starts with \\b."""
    width = max(len(name) for name, _ in rows) + 2
    lines = []
    for name, text in rows:
        wrapped = textwrap.wrap(text, 76 - width) or [""]
        lines.append(f"  {name:<{width}}{wrapped[0]}")
        lines += [f"  {'':<{width}}{more}" for more in wrapped[1:]]
    return "\n".join(lines)


_MODELS_HELP = _listing([(name, spec.summary) for name, spec in MODELS.items()])


def run_options(schema: str, plot_help: str) -> Callable[[Callable], Callable]:
    """Options every workload shares: threads, seed, the JSON result and the plot."""

    def decorate(fn: Callable) -> Callable:
        for option in reversed(
            (
                click.option(
                    "--threads",
                    type=click.IntRange(min=1),
                    default=None,
                    help="CPU threads for torch and BLAS (pinned and recorded). "
                    "Default: all usable cores.",
                ),
                click.option(
                    "--seed", type=int, default=0, show_default=True, help="Training seed."
                ),
                click.option(
                    "--json",
                    "json_path",
                    metavar="FILE",
                    default=None,
                    callback=_check_output,
                    help=f"Write the result (schema {schema}) to FILE; '-' for stdout.",
                ),
                click.option(
                    "--plot",
                    metavar="FILE.png",
                    default=None,
                    callback=_check_output,
                    help=plot_help,
                ),
            )
        ):
            fn = option(fn)
        return fn

    return decorate


def finish(
    ctx: click.Context,
    result: dict[str, Any],
    json_path: str | None,
    plot: str | None,
    table: Any,
    plotter: Callable[[dict[str, Any], str], None],
) -> None:
    """Write the JSON, print the table and the verdict, draw the plot; exit by the verdict."""
    from rich.console import Console

    from workloads.output import dumps, validation_lines

    # With the JSON on stdout, everything for people goes to stderr.
    out = Console(stderr=json_path == "-")
    if json_path == "-":
        sys.stdout.write(dumps(result))
        sys.stdout.flush()
    elif json_path:
        Path(json_path).write_text(dumps(result), encoding="utf-8")
    out.print(table)
    for line in validation_lines(result):
        out.print(line)
    if plot:
        plotter(result, plot)
        Console(stderr=True).print(f"plot written to {plot}")
    ctx.exit(0 if result["validation"]["passed"] else 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Workloads that prove a GPU machine computes, fast and correctly."""


def run() -> None:
    """The program's entry point (console script and ``python -m workloads``): ``main`` with the
    signal handlers a process of its own needs (in-process callers keep theirs)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupted)
    main(prog_name="workloads")


def _interrupted(signum: int, frame: object) -> None:
    """Stop at once and write no result. A KeyboardInterrupt would not do: skorch's fit catches
    it and carries on as if training had finished, and the partial fit would be reported."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    sys.stderr.write(f"workloads: interrupted ({signal.Signals(signum).name}); no result written\n")
    raise SystemExit(128 + signum)


@main.command(
    epilog="\b\nModels (comma-separated for --models, default all):\n"
    + _MODELS_HELP
    + "\n\n\bExit status: 0 validation passed, 1 validation failed, 2 bad options."
)
@click.option(
    "--scales",
    default="1,10,100",
    show_default=True,
    callback=_parse_scales,
    help="How many times to tile the 1,257-row training set, comma-separated.",
)
@click.option(
    "--device",
    type=click.Choice(DEVICES),
    default="auto",
    show_default=True,
    help="Where the torch rows run (scikit-learn rows always run on the CPU).",
)
@click.option(
    "--models",
    default="all",
    show_default=True,
    callback=_parse_models,
    help="Rows to run, comma-separated (see the list below).",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Fits per row; times are medians.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Epochs for the neural-net rows.",
)
@run_options(DIGITS_SCHEMA, "Write a log-log plot of fit time against rows per model.")
@click.pass_context
def digits(ctx, scales, device, models, repeats, epochs, threads, seed, json_path, plot) -> None:
    """skorch against scikit-learn on the digits, the workload that validates a machine.

    Each row is a fresh estimator fitted on the training set tiled x1, x10, x100 and scored on
    the untouched test set. The run passes when every neural-net row reaches 0.95 test accuracy
    and, with --device cuda, the torch rows really ran on the GPU.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from workloads.digits.plot import plot_fit_times
    from workloads.digits.run import DigitsOptions, planned_fits, run_digits
    from workloads.digits.table import digits_table
    from workloads.errors import WorkloadError
    from workloads.machine import resolve_device

    options = DigitsOptions(
        scales=scales,
        device=device,
        models=models,
        repeats=repeats,
        epochs=epochs,
        threads=threads,
        seed=seed,
    )
    try:
        # Before the progress bar: bad options and a missing GPU are usage errors, not a run.
        options.check()
        resolve_device(options.device)
    except WorkloadError as exc:
        raise click.UsageError(str(exc), ctx=ctx) from None

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("digits", total=planned_fits(options))

        def on_progress(description: str, completed: int) -> None:
            progress.update(task, description=description, completed=completed)

        try:
            result = run_digits(options, progress=on_progress)
        except WorkloadError as exc:
            raise click.UsageError(str(exc), ctx=ctx) from None
    finish(ctx, result, json_path, plot, digits_table(result), plot_fit_times)


class DataProblem(click.ClickException):
    """Bad input data (a file, a data folder): one ``Error:`` line, exit 2, no usage text."""

    exit_code = 2


_DATASETS_HELP = _listing(
    [
        (usage(name), f"{spec.summary}; {spec.epochs} epochs, --net {spec.net}")
        for name, spec in DATASETS.items()
    ]
)
_NETS_HELP = _listing(
    [("auto", "the data set's network (above)")] + [(n, t) for n, t in NET_SUMMARIES.items()]
)
_TRAIN_EPILOG = (
    "\b\nData sets (--dataset):\n"
    + _DATASETS_HELP
    + "\n\n\b\nNetworks (--net):\n"
    + _NETS_HELP
    + "\n\n\bExit status: 0 validation passed, 1 validation failed, 2 bad options or bad data."
)


@main.command(epilog=_TRAIN_EPILOG)
@click.option(
    "--dataset",
    "dataset",
    required=True,
    metavar="NAME|file:PATH",
    help="What to train on (see the list below).",
)
@click.option(
    "--data-dir",
    default="data",
    show_default=True,
    envvar="WORKLOADS_DATA_DIR",
    metavar="DIR",
    help="Where torchvision's data sets live, in torchvision's layout (env WORKLOADS_DATA_DIR).",
)
@click.option(
    "--download", is_flag=True, help="Let torchvision fetch a missing data set into --data-dir."
)
@click.option(
    "--device",
    type=click.Choice(DEVICES),
    default="auto",
    show_default=True,
    help="Where the skorch row runs (the scikit-learn row always runs on the CPU).",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Epochs for the neural rows. Default: per data set (see the list below).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Use at most N training rows and N test rows (quick runs).",
)
@click.option("--target", default=None, metavar="COLUMN", help="A CSV file's target column.")
@click.option(
    "--task",
    type=click.Choice(TASKS),
    default="auto",
    show_default=True,
    help="For a file: auto reads up to 50 distinct whole numbers as classes.",
)
@click.option(
    "--net",
    type=click.Choice(NETS),
    default="auto",
    show_default=True,
    help="The torch module (see the list below).",
)
@click.option(
    "--memory-budget",
    "memory_budget",
    type=click.IntRange(min=0),
    default=None,
    metavar="MiB",
    help="Larger training sets stream through a DataLoader instead of sitting on the device. "
    "Default: a quarter of the free memory there.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="DataLoader worker processes when streaming. Default: cores - 1, at most 4.",
)
@run_options(TRAIN_SCHEMA, "Write the training loss per epoch and the throughput per row.")
@click.pass_context
def train(
    ctx,
    dataset,
    data_dir,
    download,
    device,
    epochs,
    limit,
    target,
    task,
    net,
    memory_budget,
    workers,
    threads,
    seed,
    json_path,
    plot,
) -> None:
    """skorch on the chosen device against scikit-learn on the CPU, on the seed's data sets.

    The data is read and checked before anything trains; a missing data folder or a bad file
    is one line and exit 2. The run passes by the data set's own rule (see the README).
    """
    from workloads.errors import DataError, WorkloadError
    from workloads.train.datasets import parse_dataset
    from workloads.train.files import check_path

    try:  # what needs no torch first: a wrong name or a missing file is rejected at once
        _, path = parse_dataset(dataset)
        if path is not None:
            check_path(path)
    except DataError as exc:
        raise DataProblem(str(exc)) from None
    except WorkloadError as exc:
        raise click.UsageError(str(exc), ctx=ctx) from None

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from workloads.train.plot import plot_training
    from workloads.train.run import TrainOptions, prepare, run_train
    from workloads.train.table import train_table

    options = TrainOptions(
        dataset=dataset,
        data_dir=data_dir,
        download=download,
        device=device,
        epochs=epochs,
        limit=limit,
        target=target,
        task=task,
        net=net,
        memory_budget_mib=memory_budget,
        workers=workers,
        threads=threads,
        seed=seed,
    )
    try:
        prepared = prepare(options)
    except DataError as exc:
        raise DataProblem(str(exc)) from None
    except WorkloadError as exc:
        raise click.UsageError(str(exc), ctx=ctx) from None

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed}/{task.total} rows"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task_id = progress.add_task(dataset, total=2)

        def on_progress(description: str, completed: int) -> None:
            progress.update(task_id, description=description, completed=completed)

        result = run_train(options, progress=on_progress, prepared=prepared)
    finish(ctx, result, json_path, plot, train_table(result), plot_training)
