"""Command-line interface (Typer). Thin: parses arguments, calls the library, prints.

Exit codes: 0 ok, 2 bad input, 3 model failed its diagnostics, 4 data source
unavailable, 130 interrupted (Ctrl-C). Errors print one sentence; ``--debug``
adds the traceback (the exit code stays the same).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import sys
import threading
import warnings
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from regime import _dims as D
from regime import pipeline
from regime.config import Comparison, Config, load_config
from regime.errors import BadInputError, ModelCheckError, RegimeError
from regime.progress import RichSteps, progress_columns

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Macro-regime scenario analysis of small-cap relative returns.",
)
data_app = typer.Typer(no_args_is_help=True, help="Pull, import, inspect and transform data.")
app.add_typer(data_app, name="data")

console = Console(stderr=False)
err_console = Console(stderr=True)
_STATE = {"debug": False}


class PreferChoice(StrEnum):
    new = "new"
    old = "old"


ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file.")]
CacheOpt = Annotated[
    Path | None,
    typer.Option("--cache-dir", help="Cache directory (else config, $REGIME_CACHE_DIR, user dir)."),
]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    _STATE["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    root = logging.getLogger("regime")
    root.handlers[:] = [RichHandler(console=err_console, show_path=False, show_time=False)]
    root.setLevel(level)
    root.propagate = False


def _config(path: Path | None) -> Config:
    if path is None and Path("configs/default.yaml").exists():
        path = Path("configs/default.yaml")
    return load_config(path)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )


def _steps_progress() -> Progress:
    """One bar per long step (MAP search, sampling, regime paths, ...), with an ETA."""
    return Progress(*progress_columns(), console=err_console, transient=False)


# --------------------------------------------------------------------------- data


@data_app.command("pull")
def data_pull(
    config: ConfigOpt = None,
    cache_dir: CacheOpt = None,
    refresh: Annotated[bool, typer.Option(help="Refetch even when cached.")] = False,
    offline: Annotated[bool, typer.Option(help="Never touch the network.")] = False,
) -> None:
    """Fetch the configured series (FRED, Ken French) into the cache."""
    cfg = _config(config)
    cache = pipeline.cache_for(cfg, cache_dir)
    key = pipeline.resolve_api_key(cfg)
    with _progress() as prog:
        task = prog.add_task("pulling", total=len(cfg.data.series))

        def tick(sid: str) -> None:
            prog.update(
                task,
                description=f"pulling {sid}",
                completed=[s.id for s in cfg.data.series].index(sid),
            )

        series = pipeline.load_series(
            cfg, cache, offline=offline, refresh=refresh, api_key=key, progress=tick
        )
        prog.update(task, completed=len(cfg.data.series), description="pulled")
    _show_table(series.values(), title=f"cache {cache.directory}")


@data_app.command("import")
def data_import(
    files: Annotated[list[Path], typer.Argument(help="FRED CSV, FRED-MD, Ken French CSV/zip.")],
    series_id: Annotated[
        str | None, typer.Option(help="Series id (or Ken French dataset).")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace a cached series instead of extending its history.")
    ] = False,
    prefer: Annotated[
        PreferChoice | None,
        typer.Option(help="Which copy wins where overlapping months conflict."),
    ] = None,
    config: ConfigOpt = None,
    cache_dir: CacheOpt = None,
) -> None:
    """Import downloaded files into the cache (all files parse before anything is written).

    A series already cached (or imported earlier in the same call) is merged:
    the result has the months of both copies. Overlapping months must agree;
    where they conflict the import stops (nothing written) unless --prefer new
    or --prefer old says which copy wins. Only index levels (CPI, dollar index)
    are chained by a ratio when one copy is rebased; rates and returns never
    are. --replace drops the old copy instead.
    """
    cfg = _config(config)
    cache = pipeline.cache_for(cfg, cache_dir)
    if series_id and len(files) > 1:
        raise BadInputError("--series-id applies to one file; import the files one at a time.")
    parsed = pipeline.read_files(files, series_id)
    cache.check_writable()
    stored = pipeline.import_series(
        cache, parsed, replace=replace, prefer=prefer.value if prefer is not None else None
    )
    _show_table(stored, title=f"imported into {cache.directory}")


@data_app.command("show")
def data_show(config: ConfigOpt = None, cache_dir: CacheOpt = None) -> None:
    """List the cached series with their provenance."""
    cfg = _config(config)
    cache = pipeline.cache_for(cfg, cache_dir)
    ids = cache.ids()
    if not ids:
        console.print(
            f"The cache {cache.directory} is empty; run `regime data pull` "
            "or `regime data import FILE`."
        )
        return
    good, bad = [], []
    for i in ids:
        try:
            good.append(cache.get(i))
        except (pipeline.CacheCorruptError, BadInputError) as exc:
            bad.append(str(exc))  # one bad entry never hides the rest
    _show_table(good, title=f"cache {cache.directory}")
    for msg in bad:
        err_console.print(f"[yellow]warning:[/] {escape(msg)}", highlight=False, soft_wrap=True)


@data_app.command("panel")
def data_panel(
    out: Annotated[Path | None, typer.Option("--out", help="Write to .csv or .parquet.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Build as of this month (YYYY-MM).")] = None,
    synthetic: Annotated[bool, typer.Option(help="Use the synthetic demo sample.")] = False,
    config: ConfigOpt = None,
    cache_dir: CacheOpt = None,
) -> None:
    """Build the monthly feature panel from the cache (no network)."""
    cfg = _config(config)
    if synthetic:
        series = pipeline.synthetic_series()
    else:
        series = pipeline.load_series(cfg, pipeline.cache_for(cfg, cache_dir), offline=True)
    panel = pipeline.panel_for(cfg, series, as_of=as_of)
    if out is not None:
        pipeline.write_panel(panel, out)
        console.print(
            f"wrote {out} ({len(panel.frame)} months, {panel.meta.start}..{panel.meta.end})"
        )
    _show_panel(panel)


def _show_table(series: object, title: str) -> None:
    rows = list(series)  # type: ignore[call-overload]
    wide = console.width >= WIDE_TABLE
    table = Table(title=title)
    longest = max((len(s.meta.series_id) for s in rows), default=6)
    table.add_column("series", no_wrap=True, min_width=longest)  # ids are what users look up
    cols = ["source", "first", "last", "rows", "missing", "fetched-at / vintage"]
    if not wide:  # whole ids and dates in 80 columns; source and vintage from WIDE_TABLE
        cols = ["first", "last", "rows", "missing"]
    for col in cols:
        table.add_column(col, no_wrap=col in ("first", "last", "rows"))
    for s in rows:
        m = s.meta
        miss = ", ".join(m.missing[:3]) + (" ..." if len(m.missing) > 3 else "")
        cells = {
            "source": m.source + (" (SYNTHETIC)" if m.synthetic else ""),
            "first": s.first,
            "last": s.last,
            "rows": str(m.rows),
            "missing": miss or "-",
            "fetched-at / vintage": m.vintage or m.fetched_at or "-",
        }
        table.add_row(m.series_id, *(cells[c] for c in cols))
    console.print(table)
    if not wide and any(s.meta.synthetic for s in rows):
        console.print("[bold red]SYNTHETIC DATA[/] in this cache (regime.data.sample)")


def _show_panel(panel: pipeline.Panel) -> None:
    meta = panel.meta
    if meta.synthetic:
        console.print("[bold red]SYNTHETIC DATA[/] (regime.data.sample), not market history")
    console.print(f"panel {meta.start}..{meta.end}, {len(panel.frame)} months")
    for sid, months in meta.missing.items():
        if months and sid not in meta.filled:  # filled months were logged when filled
            console.print(f"  missing {sid}: {', '.join(months)} (left missing)")
    table = Table()
    summary = pipeline.panel_summary(panel)
    table.add_column("column")
    for c in summary.columns:
        table.add_column(c, justify="right")
    for name, row in summary.iterrows():
        table.add_row(str(name), *(f"{v:.3g}" for v in row))
    console.print(table)


# --------------------------------------------------------------------------- models


def _series_for(cfg: Config, cache_dir: Path | None, synthetic: bool, offline: bool) -> Any:
    if synthetic:
        return pipeline.synthetic_series()
    cache = pipeline.cache_for(cfg, cache_dir)
    return pipeline.load_series(cfg, cache, offline=offline, api_key=pipeline.resolve_api_key(cfg))


@app.command("fit")
def fit(
    config: ConfigOpt = None,
    name: Annotated[str, typer.Option(help="Folder name under models/.")] = "default",
    seed: Annotated[int | None, typer.Option(help="Random seed (else model.seed).")] = None,
    draws: Annotated[int | None, typer.Option(help="Posterior draws per chain.")] = None,
    tune: Annotated[int | None, typer.Option(help="Tuning steps per chain.")] = None,
    chains: Annotated[int | None, typer.Option(help="Number of chains.")] = None,
    allow_unconverged: Annotated[
        bool, typer.Option(help="Exit 0 even when the diagnostic gates fail.")
    ] = False,
    compare: Annotated[bool, typer.Option(help="Hold-out comparison against other models.")] = True,
    synthetic: Annotated[bool, typer.Option(help="Fit on the synthetic demo sample.")] = False,
    offline: Annotated[bool, typer.Option(help="Use the cache only.")] = False,
    cache_dir: CacheOpt = None,
) -> None:
    """Fit the configured model on the panel and save it under models/NAME."""
    cfg = _config(config)
    pipeline.check_fit_overrides(cfg, draws=draws, tune=tune, chains=chains)
    pipeline.check_model_name(name)
    panel = pipeline.panel_for(cfg, _series_for(cfg, cache_dir, synthetic, offline))
    if panel.meta.synthetic:
        console.print("[bold red]SYNTHETIC DATA[/] (regime.data.sample), not market history")
    err_console.print(f"fitting {cfg.model.kind} model on {panel.meta.start}..{panel.meta.end}")
    with _steps_progress() as prog:
        result, folder = pipeline.fit_and_save(
            cfg,
            panel,
            name,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            compare=compare,
            progress=lambda m: prog.console.print(f"  hold-out comparison: {m}"),
            interrupted=_INTERRUPT,
            steps=RichSteps(prog),
        )
    _print_diagnostics(
        result.diagnostics.to_dict(),
        result.summary(),
        (result.info or {}).get("prior_sensitivity"),
    )
    console.print(f"saved {folder}")
    _gate(result.diagnostics.to_dict(), allow_unconverged or cfg.model.allow_unconverged)


def _gate(diag: dict[str, Any], allow: bool) -> None:
    d = pipeline.diagnostics(diag)
    if not d.passed:
        msg = "Model failed its diagnostic gates: " + "; ".join(d.failures()) + "."
        if allow:
            err_console.print(f"[yellow]warning:[/] {msg} (allowed)")
        else:
            raise ModelCheckError(f"{msg} {d.remedy()}, or pass --allow-unconverged.")


def _print_diagnostics(
    diag: dict[str, Any], summary: Any, sensitivity: list[dict[str, Any]] | None = None
) -> None:
    d = pipeline.diagnostics(diag)
    table = Table(title="diagnostics")
    for col in ("gate", "value", "threshold", "ok"):
        table.add_column(col)
    for r in d.rows():
        table.add_row(r[0], r[1], r[2], "[green]yes[/]" if r[3] else "[red]NO[/]")
    console.print(table)
    for w in d.warnings():
        err_console.print(f"[yellow]warning:[/] {w}")
    if sensitivity:
        _print_sensitivity(sensitivity)
    if summary is not None:
        st = Table(title="posterior summary")
        st.add_column("parameter")
        for c in summary.columns:
            st.add_column(c, justify="right")
        for idx, row in summary.iterrows():
            st.add_row(str(idx), *(f"{v:.3f}" if abs(v) < 1e4 else f"{v:.0f}" for v in row))
        console.print(st)


@app.command("diagnose")
def diagnose_cmd(
    name: Annotated[str, typer.Argument(help="Model folder name under models/ (or a path).")],
    config: ConfigOpt = None,
) -> None:
    """Print the diagnostics, posterior summary and model comparison of a fitted model."""
    cfg = _config(config)
    res = pipeline.load_fitted(cfg, name)
    meta = res.meta
    _print_diagnostics(
        meta["diagnostics"], res.summary(), (meta.get("info") or {}).get("prior_sensitivity")
    )
    comp = meta.get("comparison")
    if comp:
        ct = Table(title="hold-out one-step log predictive density (higher is better)")
        for c in comp:
            ct.add_column(c)
        for i in range(len(comp["model"])):
            ct.add_row(
                *(
                    str(comp[c][i])
                    if isinstance(comp[c][i], str) or c == "holdout_months"
                    else f"{comp[c][i]:.2f}"
                    for c in comp
                )
            )
        console.print(ct)
    _gate(meta["diagnostics"], allow=True)


def _print_sensitivity(rows: list[dict[str, Any]]) -> None:
    t = Table(title="prior vs posterior (shift: posterior sds the mean moves, prior x0.5 / x2)")
    for col in ("family", "prior sd", "post sd", "post/prior", "shift", "prior decides"):
        t.add_column(col, justify="left" if col == "family" else "right")
    for r in rows:
        t.add_row(
            r["family"],
            f"{r['prior_sd']:.3g}",
            f"{r['posterior_sd']:.3g}",
            f"{r['contraction']:.2f}",
            f"{r['shift_half_prior']:.2f} / {r['shift_double_prior']:.2f}",
            "[yellow]yes[/]" if r["sensitive"] else "no",
        )
    console.print(t)
    if any(r["sensitive"] for r in rows):
        err_console.print(
            "[yellow]warning:[/] the prior moves the answer by more than "
            f"{pipeline.SENSITIVE_SHIFT} posterior sd for: "
            + ", ".join(r["family"] for r in rows if r["sensitive"])
            + "."
        )


@app.command("scenario")
def scenario_cmd(
    name: Annotated[str, typer.Argument(help="Model folder name under models/.")],
    scenarios: Annotated[
        list[Path] | None, typer.Option("--scenarios", "-s", help="Scenario YAML file(s).")
    ] = None,
    samples: Annotated[int | None, typer.Option(help="Simulated paths per scenario.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    config: ConfigOpt = None,
) -> None:
    """Simulate scenarios (built-in ones by default) and write reports/NAME/scenarios/."""
    cfg = _config(config)
    if samples is not None and samples < 1:
        raise BadInputError(f"--samples must be at least 1, got {samples}.")
    ds, table, out = pipeline.run_scenarios(cfg, name, scenarios, samples=samples, seed=seed)
    _print_scenarios(table, bool(ds.attrs.get("synthetic")))
    console.print(f"wrote {out}/scenarios.nc, summary.csv, fan.csv")


# Terminal width below which `regime data show` drops its source and vintage columns, so
# that whole series ids fit in 80 columns (the scenario table measures what fits instead).
WIDE_TABLE = 110


def _scenario_table(table: Any, horizon: int, cols: list[tuple[str, Any]]) -> Table:
    t = Table(title=f"cumulative small-minus-large return at {horizon} months (%)")
    longest = max((len(str(n)) for n in table.index), default=8)
    t.add_column("scenario", justify="left", no_wrap=True, min_width=longest)
    for c, _ in cols:
        t.add_column(c, justify="right", no_wrap=True)
    for name, r in table.iterrows():
        t.add_row(str(name), *(fmt(r) for _, fmt in cols))
    return t


def _fits(t: Table) -> bool:
    from rich.measure import Measurement

    unbounded = console.options.update_width(10 * console.width)  # the table's natural width
    return Measurement.get(console, unbounded, t).maximum <= console.width


def _print_scenarios(table: Any, synthetic: bool) -> None:
    """The scenario table in the widest layout that fits the terminal.

    Wide: every column. Narrow (80 columns): whole scenario names, the median, the
    interval, P(outperform) and plausibility, plus the median difference from the
    baseline when it still fits; the rest is in summary.csv.
    """
    if synthetic:
        console.print("[bold red]SYNTHETIC DATA[/] (regime.data.sample), not market history")
    horizon = max(int(c.split("_")[1][:-1]) for c in table.columns if c.startswith("median_"))
    flags = table["baseline"] if "baseline" in table.columns else []
    base = next((str(n) for n, b in zip(table.index, flags, strict=False) if b), None)

    def versus(col: str, fmt: str) -> Any:
        return lambda r: "base" if r["baseline"] else format(r[col], fmt)

    core: list[tuple[str, Any]] = [
        ("median", lambda r: f"{r[f'median_{horizon}m']:.2f}"),
        ("90% interval", lambda r: f"[{r[f'q05_{horizon}m']:.1f}, {r[f'q95_{horizon}m']:.1f}]"),
        ("P(out)", lambda r: f"{r['p_outperform']:.2f}"),
    ]
    diff: list[tuple[str, Any]] = (
        [("vs base", versus(f"diff_median_{horizon}m", "+.2f"))] if base else []
    )
    beat: list[tuple[str, Any]] = (
        [("P(beat)", versus(f"p_beats_baseline_{horizon}m", ".2f"))] if base else []
    )
    extra: list[tuple[str, Any]] = [
        ("ES 5%", lambda r: f"{r['expected_shortfall_5']:.2f}"),
        ("macro", lambda r: f"{r['macro_contribution']:.2f}"),
        ("flows", lambda r: f"{r['flow_contribution']:.2f}"),
    ]
    plaus: list[tuple[str, Any]] = [
        (
            "plaus. %",
            lambda r: f"{r['plausibility_pct']:.1f}" + (" [red]!![/]" if r["implausible"] else ""),
        )
    ]
    layouts = [core + diff + beat + extra + plaus, core + diff + plaus, core + plaus]
    tables = [_scenario_table(table, horizon, cols) for cols in layouts]
    shown = next((i for i, t in enumerate(tables) if _fits(t)), len(tables) - 1)
    console.print(tables[shown])
    shown_cols = dict(layouts[shown])
    if not base:
        console.print(
            "No scenario has baseline: true, so there is no baseline to compare against.",
            highlight=False,
        )
    elif "vs base" in shown_cols:
        note = f"vs base: median of the paired difference from {base} at {horizon} months (pp)"
        if "P(beat)" in shown_cols:
            note += f"; P(beat): share of paired samples above {base}, a tie counting half"
        console.print(note + ".", highlight=False)
    spelled = {"vs base": f"difference from {base}", "P(beat)": f"P(beats {base})"}
    hidden = [spelled.get(c, c) for c, _ in layouts[0] if c not in shown_cols]
    if hidden:
        console.print(
            f"In summary.csv (or a wider terminal): {', '.join(hidden)}.", highlight=False
        )
    for name, r in table.iterrows():
        if r["implausible"]:
            err_console.print(
                f"[yellow]warning:[/] scenario {name} is farther from history "
                f"than {100 - r['plausibility_pct']:.1f}% of past windows; "
                "check its units."
            )


@app.command("stress")
def stress_cmd(
    name: Annotated[str, typer.Argument(help="Model folder name under models/ (a VAR).")],
    loss: Annotated[
        float,
        typer.Option(help="Loss in % points of cumulative relative return (positive)."),
    ],
    horizon: Annotated[int, typer.Option(help="Months over which the loss accrues.")],
    variable: Annotated[
        str, typer.Option(help="VAR variable whose cumulative sum is stressed.")
    ] = D.REL_RETURN,
    top: Annotated[int | None, typer.Option(help="Regime sequences to report.")] = None,
    samples: Annotated[int | None, typer.Option(help="Baseline samples.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    config: ConfigOpt = None,
) -> None:
    """Reverse stress: the macro paths and regimes behind a loss, and its probability.

    Writes reports/NAME/stress_LOSS_HORIZON.csv. Only a VAR model (model.kind: var).
    """
    cfg = _config(config)
    result, out = pipeline.run_stress(
        cfg, name, loss, horizon, variable=variable, samples=samples, top=top, seed=seed
    )
    _print_stress(result)
    console.print(f"wrote {out}", highlight=False)


def _widest(layouts: list[Table]) -> Table:
    """The first table that fits the terminal, else the last (narrowest)."""
    return next((t for t in layouts if _fits(t)), layouts[-1])


def _print_stress(res: Any) -> None:
    """The stress result in three tables that fit the terminal (80 columns and up):
    the loss's probability, the macro paths behind it, the regime sequences."""
    h, var = res.horizon, res.variable
    pt = Table(title=f"baseline P(sum of {var} over {h} months <= -{res.loss:g})")
    for col in ("probability", "MC std. error", "share of samples", "samples"):
        pt.add_column(col, justify="right")
    pt.add_row(
        f"{res.probability:.4f}",
        f"{res.probability_se:.4f}",
        f"{res.probability_mc:.4f}",
        str(res.n_samples),
    )
    console.print(pt)

    paths = res.macro_paths
    names = list(dict.fromkeys(paths["variable"]))

    def path_table(step: int | None) -> Table:
        t = Table(title="paths behind the loss: cumulative change by month (median)")
        t.add_column("variable", no_wrap=True)
        marks = list(range(step, h, step)) if step else []
        for m in marks:
            t.add_column(f"m{m}", justify="right", no_wrap=True)
        t.add_column(f"m{h}", justify="right", no_wrap=True)
        t.add_column(f"90% m{h}", justify="right", no_wrap=True)
        for v in names:
            rows = paths[paths["variable"] == v].set_index("month")
            last = rows.loc[h]
            t.add_row(
                v,
                *(f"{rows.loc[m, 'median']:.2f}" for m in marks),
                f"{last['median']:.2f}",
                f"[{last['q05']:.2f}, {last['q95']:.2f}]",
            )
        return t

    steps = [s for s in (1, 3, 6, 12) if s < h]
    console.print(_widest([path_table(s) for s in steps] + [path_table(None)]))

    seqs = res.sequences
    others = [v for v in names if v != var]  # the stressed variable ends at -loss in all

    def seq_table(medians: bool) -> Table:
        t = Table(title=f"most likely regime sequences behind the loss (months 1..{h})")
        t.add_column("regimes", no_wrap=True)
        t.add_column("share", justify="right", no_wrap=True)
        for v in others if medians else []:
            t.add_column(f"{v} m{h}", justify="right", no_wrap=True)
        for _, r in seqs.iterrows():
            cells = [f"{r[v]:.2f}" for v in others] if medians else []
            t.add_row(str(r["regimes"]), f"{r['share']:.3f}", *cells)
        return t

    shown = _widest([seq_table(True), seq_table(False)])
    console.print(shown)
    note = (
        "Units: each variable's own (pp for rate and inflation changes, % for the dollar "
        "and returns), summed over months. Regimes: one digit per month, numbered as in "
        "the report"
    )
    if len(shown.columns) > 2:
        note += f"; {{variable}} m{h}: its median by month {h} for that sequence"
    console.print(note + ".", highlight=False)
    fc = res.forecast
    if fc.low_ess:
        err_console.print(
            f"[yellow]warning:[/] the loss is implausible under the model: the effective "
            f"sample size fell to {fc.ess_min:.0f} of {fc.n_samples} samples."
        )


# --------------------------------------------------------------------------- demo


@app.command("report")
def report_cmd(
    name: Annotated[str, typer.Argument(help="Model folder name under models/.")],
    config: ConfigOpt = None,
) -> None:
    """Write reports/NAME/index.html from the saved model and scenario results."""
    cfg = _config(config)
    path = pipeline.make_report(cfg, name)
    console.print(f"report: {path}")


@app.command("run")
def run_cmd(
    config: ConfigOpt = None,
    name: Annotated[str, typer.Option(help="Model / report name.")] = "default",
    offline: Annotated[bool, typer.Option(help="Use the cache (or imported files) only.")] = False,
    compare: Annotated[bool, typer.Option(help="Hold-out model comparison.")] = True,
    scenarios: Annotated[
        list[Path] | None, typer.Option("--scenarios", "-s", help="Scenario YAML file(s).")
    ] = None,
    allow_unconverged: Annotated[bool, typer.Option(help="Report even if gates fail.")] = False,
    cache_dir: CacheOpt = None,
) -> None:
    """pull -> panel -> fit -> scenarios -> report on the configured data."""
    cfg = _config(config)
    _run(
        cfg,
        name,
        synthetic=False,
        offline=offline,
        compare=compare,
        scenarios=scenarios,
        allow=allow_unconverged,
        cache_dir=cache_dir,
    )


@app.command("demo")
def demo(
    name: Annotated[str, typer.Option(help="Model / report name.")] = "demo",
    config: ConfigOpt = None,
    full_comparison: Annotated[
        bool,
        typer.Option(
            help="Also hold out the four univariate Markov models (K=2/3, constant/TVTP), "
            "as `regime run` does: about 150 CPU-s more on a first run."
        ),
    ] = False,
) -> None:
    """The whole pipeline offline on the synthetic sample (timings in the README).

    Its hold-out comparison scores the configured model against the constant-mean
    baseline and the observed-regime model; --full-comparison adds the univariate
    Markov models."""
    cfg = _config(config)
    cfg = cfg.model_copy(
        update={"model": cfg.model.model_copy(update={"draws": DEMO_DRAWS, "tune": DEMO_DRAWS})}
    )
    _run(
        cfg,
        name,
        synthetic=True,
        offline=True,
        compare=True,
        scenarios=None,
        allow=True,
        cache_dir=None,
        compare_draws=DEMO_COMPARE_DRAWS,
        comparison="full" if full_comparison else "baselines",
    )


DEMO_DRAWS = 1000  # the standard 2 x 1000 (cost: tests/benchmarks/results/demo.json)
DEMO_COMPARE_DRAWS = 300


def _run(
    cfg: Config,
    name: str,
    *,
    synthetic: bool,
    offline: bool,
    compare: bool,
    scenarios: list[Path] | None,
    allow: bool,
    cache_dir: Path | None,
    compare_draws: int = 300,
    comparison: Comparison = "full",
) -> None:
    import time

    t0 = time.perf_counter()
    with _steps_progress() as prog:

        def say(msg: str) -> None:
            prog.console.print(f"  {msg} ({time.perf_counter() - t0:.0f}s)", highlight=False)

        path = pipeline.run_all(
            cfg,
            name,
            synthetic=synthetic,
            offline=offline,
            compare=compare,
            compare_draws=compare_draws,
            comparison=comparison,
            scenario_files=scenarios,
            progress=say,
            cache_dir=cache_dir,
            interrupted=_INTERRUPT,
            steps=RichSteps(prog),
        )
    meta = pipeline.read_model_meta(cfg, name)
    _gate(meta["diagnostics"], allow)
    import pandas as pd

    table = pd.read_csv(path.parent / "summary.csv", index_col=0)
    _print_scenarios(table, bool(meta.get("panel_meta", {}).get("synthetic")))
    console.print(f"report: {path} ({time.perf_counter() - t0:.0f}s)")


INTERRUPTED = (
    "Interrupted; nothing was half-written: every result and cache entry is as it was or complete."
)
EXIT_INTERRUPTED = 130


class _InterruptFlag:
    """Remembers a Ctrl-C even when a sampler catches it and returns partial draws."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self) -> bool:
        return self.seen

    def handler(self, signum: int, frame: Any) -> None:
        self.seen = True
        signal.default_int_handler(signum, frame)


_INTERRUPT = _InterruptFlag()


GC_YOUNG = 50_000  # allocations between collections of the youngest generation


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and map errors to exit codes (0, 2, 3, 4, 130)."""
    _STATE["debug"] = False
    _INTERRUPT.seen = False
    # PyTensor warns at import when no BLAS is linked; the numba path does not use it
    warnings.filterwarnings("ignore", message=".*could not link to a BLAS.*")
    args = sys.argv[1:] if argv is None else argv
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, _INTERRUPT.handler)
    try:
        rv = app(args=args, prog_name="regime", standalone_mode=False)
    except RegimeError as exc:
        if _STATE["debug"]:
            err_console.print_exception()
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        return exc.exit_code
    except typer.Exit as exc:
        rv = int(exc.exit_code or 0)
    except typer.TyperException as exc:  # usage errors from the vendored click
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            err_console.print(f"error: {exc.format_message()}")
        return 2
    except (typer.Abort, KeyboardInterrupt):
        rv = EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if rv == EXIT_INTERRUPTED or _INTERRUPT.seen:
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C while reporting
            err_console.print(f"[bold red]error:[/] {INTERRUPTED}", highlight=False, soft_wrap=True)
        return EXIT_INTERRUPTED
    return rv if isinstance(rv, int) else 0


def run() -> None:  # console script and ``python -m regime``
    # A fit builds and rewrites large PyTensor graphs: at CPython's default thresholds
    # (700, 10, 10) the collector ran 1700 times in a warm demo and walked every
    # object 9 times, 1.8 s in all. Collecting young objects every 50 000
    # allocations instead saves about a second per run (measured), for a few MB.
    # Processes forked for the hold-out fits and chains inherit it (Dask's spawned
    # backtest workers do not). Tuned on CPython 3.11's generational collector.
    gc.set_threshold(GC_YOUNG, 10, 10)
    code = main()
    # The interpreter's teardown ran the collector over everything the run left behind
    # (PyTensor graphs, numba's code): 1.3-1.6 s after a fit. Frozen, those objects are
    # not walked again; cyclic garbage still pending is then never finalized, which
    # nothing in regime relies on (files are closed and renamed by then).
    gc.freeze()
    if code == EXIT_INTERRUPTED and threading.current_thread() is threading.main_thread():
        # reported once; another Ctrl-C while the interpreter shuts down (joining
        # worker threads and processes) must not turn exit 130 into a death by signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)


# the backtest command lives in its own module (imports regime.cli helpers lazily)
from regime.backtest.cli import register as _register_backtest  # noqa: E402

_register_backtest(app)
