"""``regime backtest NAME``: thin Typer command over :func:`regime.backtest.engine.run_backtest`.

Registered on the main app by :func:`register` (called at the end of
:mod:`regime.cli`); helpers of the main CLI are imported inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from regime.backtest import DEFAULT_HORIZONS, FOLDER, MODELS, REPORT_FILE
from regime.errors import BadInputError, ModelCheckError


def parse_ints(text: str, option: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise BadInputError(f"{option} must be comma-separated whole months, e.g. 1,3,12.")
    return tuple(sorted(set(values)))


def parse_names(text: str, option: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    if not names:
        raise BadInputError(f"{option} names no model; choose from {', '.join(MODELS)}.")
    return names


def backtest_cmd(
    name: Annotated[str, typer.Argument(help="Report name: writes reports/NAME/backtest.")],
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")] = None,
    offline: Annotated[bool, typer.Option(help="Use the cache only.")] = False,
    synthetic: Annotated[bool, typer.Option(help="Backtest on the synthetic demo sample.")] = False,
    cache_dir: Annotated[Path | None, typer.Option("--cache-dir", help="Cache directory.")] = None,
    start: Annotated[str, typer.Option(help="First forecast origin, YYYY-MM.")] = "2000-01",
    end: Annotated[
        str | None, typer.Option(help="Last origin, YYYY-MM (else the last usable month).")
    ] = None,
    refit_every: Annotated[int, typer.Option(help="Months between refits.")] = 12,
    horizons: Annotated[str, typer.Option(help="Forecast horizons in months.")] = ",".join(
        map(str, DEFAULT_HORIZONS)
    ),
    models: Annotated[
        str, typer.Option(help=f"Comma-separated, from: {', '.join(MODELS)}.")
    ] = ",".join(MODELS),
    workers: Annotated[int, typer.Option(help="Local worker processes (one thread each).")] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="Address of a running Dask scheduler (tcp://host:8786).")
    ] = None,
    draws: Annotated[int, typer.Option(help="Samples per forecast (and posterior draws).")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed; results do not depend on workers.")] = 0,
) -> None:
    """Walk-forward backtest: forecasts made as of each origin, scored against what happened."""
    from regime import pipeline
    from regime.backtest.engine import BacktestSpec, run_backtest
    from regime.cli import _config, _progress, _series_for, console, err_console

    pipeline.check_model_name(name)
    if workers < 1:
        raise BadInputError(f"--workers must be at least 1, got {workers}.")
    spec = BacktestSpec(
        start=start,
        end=end,
        refit_every=refit_every,
        horizons=parse_ints(horizons, "--horizons"),
        models=parse_names(models, "--models"),
        draws=draws,
        seed=seed,
    )
    cfg = _config(config)
    series = _series_for(cfg, cache_dir, synthetic, offline)
    out = cfg.report.out_dir / name / FOLDER
    with _progress() as prog:
        task = prog.add_task("backtest", total=None)

        def tick(done: int, total: int, what: str) -> None:
            prog.update(task, total=total, completed=done, description=f"backtest {what}")

        result = run_backtest(
            series, cfg, spec, out, workers=workers, scheduler=scheduler, progress=tick
        )
    _print_scores(result.scores, console)
    note = result.forecasts.attrs.get("panel_note", "")
    err_console.print(f"[yellow]note:[/] panels are {note}.", highlight=False)
    console.print(f"verdict: {result.verdict}", highlight=False)
    console.print(f"backtest: {out / REPORT_FILE}")
    if result.failures:
        for origin, msg in sorted(result.failures.items()):
            err_console.print(f"[red]failed:[/] origin {origin}: {msg}", highlight=False)
        first = sorted(result.failures)[0]
        raise ModelCheckError(
            f"{len(result.failures)} backtest task(s) failed, first at origin {first}; "
            "the others are saved and a rerun retries only the failed ones."
        )


def _print_scores(scores: Any, console: Any) -> None:
    from rich.table import Table

    table = Table(title="backtest scores (crps, log score: lower is better)")
    for col in scores.columns:
        table.add_column(str(col), justify="right")
    for _, row in scores.iterrows():
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest_cmd)
