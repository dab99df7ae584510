"""Pipeline stages wired together: what the CLI's ``data``, ``run`` and ``demo`` call."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from regime._io import atomic_write_bytes
from regime.config import Config
from regime.data.base import SeriesData, merge_history
from regime.data.cache import Cache, CacheCorruptError, default_cache_dir
from regime.data.pull import pull
from regime.data.sample import simulate_sample
from regime.errors import BadInputError
from regime.features.panel import Panel, build_panel
from regime.progress import ProgressFn

FRED_KEY_ENV = "FRED_API_KEY"


def resolve_api_key(cfg: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """The FRED key from the config, else ``$FRED_API_KEY``; ``None`` means keyless."""
    if cfg.data.fred.api_key is not None:
        return cfg.data.fred.api_key.get_secret_value() or None
    env = os.environ if environ is None else environ
    return env.get(FRED_KEY_ENV) or None


def cache_for(
    cfg: Config, cache_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> Cache:
    return Cache(cache_dir or default_cache_dir(cfg.data.cache_dir, environ))


def load_series(
    cfg: Config,
    cache: Cache,
    *,
    offline: bool = False,
    refresh: bool = False,
    api_key: str | None = None,
    session: requests.Session | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, SeriesData]:
    return pull(
        cfg.data,
        cache,
        api_key=api_key,
        session=session,
        refresh=refresh,
        offline=offline,
        progress=progress,
    )


def import_series(
    cache: Cache, parsed: list[SeriesData], *, replace: bool = False
) -> list[SeriesData]:
    """Store parsed series; unless ``replace``, extend what is cached (see ``merge_history``)."""
    merged: dict[str, SeriesData] = {}
    for s in parsed:
        sid = s.meta.series_id
        previous = merged.get(sid)
        if previous is None and not replace and cache.has(sid):
            try:
                previous = cache.get(sid)
            except CacheCorruptError:
                previous = None  # a damaged entry is replaced, never merged
        merged[sid] = s if previous is None or replace else merge_history(previous, s)
    return [cache.put(s) for s in merged.values()]


def synthetic_series(seed: int = 20260101) -> dict[str, SeriesData]:
    series, _ = simulate_sample(seed=seed)
    return series


def panel_for(cfg: Config, series: Mapping[str, SeriesData], as_of: str | None = None) -> Panel:
    return build_panel(series, cfg.features, cfg.data, as_of=as_of)


def write_panel(panel: Panel, out: Path) -> None:
    """Write the panel as CSV or Parquet (by suffix), atomically."""
    frame = panel.frame.copy()
    frame.index = frame.index.astype(str)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        atomic_write_bytes(out, frame.to_csv().encode())
    elif suffix in (".parquet", ".pq"):
        atomic_write_bytes(out, frame.to_parquet())
    else:
        raise BadInputError(f"Output file {out} must end in .csv or .parquet.")


def panel_summary(panel: Panel) -> pd.DataFrame:
    f = panel.frame.select_dtypes("number")
    return f.describe().T[["count", "mean", "std", "min", "max"]]


def fit_and_save(
    cfg: Config,
    panel: Panel,
    name: str,
    *,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    seed: int | None = None,
    compare: bool = True,
    compare_draws: int = 300,
    progressbar: bool = True,
    progress: Callable[[str], None] | None = None,
    steps: ProgressFn | None = None,
) -> tuple[Any, Path]:
    """Fit the configured model, optionally the hold-out comparison, and save ``models/NAME``.

    ``progress(message)`` hears each hold-out candidate's name; ``steps`` (see
    :mod:`regime.progress`) the progress of every long step, with ETAs.
    """
    from regime.bayes.api import fit_spec
    from regime.bayes.compare import candidates, holdout_comparison
    from regime.bayes.io import save_model
    from regime.bayes.parallel import Background
    from regime.errors import RegimeError

    if not name or "/" in name or name.startswith("."):
        raise BadInputError(f"Model name {name!r} must be a plain folder name.")
    background = None
    if compare and cfg.model.holdout_years > 0:
        # The comparison runs in a forked process alongside the main fit: their
        # compilations (single-threaded, most of a cold first run) overlap, and the
        # cores stay busy between the main fit's steps. Same table as run after it.
        n_fits = len(candidates(cfg.model)) + 1

        def comparison(done: Callable[[int], None]) -> Any:
            try:
                return holdout_comparison(
                    panel,
                    cfg.model,
                    draws=compare_draws,
                    tune=compare_draws,
                    chains=2,
                    seed=cfg.model.seed if seed is None else seed,
                    steps=lambda step, k, total: done(int(k)),
                )
            except RegimeError as exc:  # re-raised in this process, exit code intact
                return exc

        if progress is not None:
            progress(f"{n_fits} fits, alongside the main fit")
        background = Background(comparison)
    main_steps = steps
    if steps is not None and background is not None:
        bg, report = background, steps

        def main_steps(step: str, done: float, total: float) -> None:
            report(step, done, total)
            report("hold-out comparison", bg.done(), n_fits)

    try:
        result = fit_spec(
            panel,
            cfg.model,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            progressbar=progressbar,
            progress=main_steps,
        )
    except BaseException:
        if background is not None:
            background.cancel()
        raise
    table = None
    if background is not None:
        tick = (lambda k: steps("hold-out comparison", k, n_fits)) if steps else None
        table = background.result(on_progress=tick)
        if isinstance(table, RegimeError):
            raise table
    folder = cfg.report.models_dir / name
    config = cfg.model_dump(mode="json", exclude={"data": {"fred": {"api_key"}}})
    save_model(result, folder, config=config, panel=panel, comparison=table)
    result.panel = panel
    return result, folder


def model_folder(cfg: Config, name: str) -> Path:
    """``models/NAME`` (or ``name`` itself when it is a folder path)."""
    p = Path(name)
    return p if p.is_dir() and (p / "model.json").exists() else cfg.report.models_dir / name


def run_scenarios(
    cfg: Config,
    name: str,
    scenario_files: list[Path] | None = None,
    *,
    samples: int | None = None,
    seed: int = 0,
) -> tuple[Any, pd.DataFrame, Path]:
    """Load models/NAME, simulate the scenarios, write reports/NAME/{scenarios.nc, summary.csv}."""
    import warnings

    from regime._io import atomic_directory
    from regime.bayes.io import load_model
    from regime.scenarios import builtin_scenarios, load_scenarios, run
    from regime.scenarios.summary import fan, summary

    model = load_model(model_folder(cfg, name))
    specs = load_scenarios(scenario_files) if scenario_files else builtin_scenarios()
    ds = run(model, specs, n_samples=samples, seed=seed)
    table = summary(ds, model.panel.frame)
    out = cfg.report.out_dir / Path(name).name / "scenarios"
    with atomic_directory(out) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.to_netcdf(tmp / "scenarios.nc", engine="h5netcdf")
        table.to_csv(tmp / "summary.csv")
        fan(ds).to_csv(tmp / "fan.csv")
    return ds, table, out


def make_report(cfg: Config, name: str, *, seed: int = 0) -> Path:
    """reports/NAME/index.html from models/NAME and reports/NAME/scenarios (run if absent)."""
    from regime.bayes.io import load_model
    from regime.reports.render import load_scenarios, render_report

    model = load_model(model_folder(cfg, name))
    out = cfg.report.out_dir / Path(name).name
    if not (out / "scenarios" / "scenarios.nc").exists():
        run_scenarios(cfg, name, seed=seed)
    ds = load_scenarios(out / "scenarios")
    return render_report(model, ds, out)


def run_all(
    cfg: Config,
    name: str,
    *,
    synthetic: bool = False,
    offline: bool = False,
    compare: bool = True,
    compare_draws: int = 300,
    scenario_files: list[Path] | None = None,
    samples: int | None = None,
    progress: Callable[[str], None] | None = None,
    cache_dir: Path | None = None,
    steps: ProgressFn | None = None,
) -> Path:
    """pull -> panel -> fit -> scenarios -> report; returns the report path.

    ``progress(message)`` hears each stage; ``steps`` (see :mod:`regime.progress`)
    the progress of every long step.
    """
    say = progress or (lambda m: None)
    say("data")
    if synthetic:
        series = synthetic_series()
    else:
        cache = cache_for(cfg, cache_dir)
        series = load_series(cfg, cache, offline=offline, api_key=resolve_api_key(cfg))
    panel = panel_for(cfg, series)
    say(f"fit ({cfg.model.kind}, {panel.meta.start}..{panel.meta.end})")
    fit_and_save(
        cfg,
        panel,
        name,
        compare=compare,
        compare_draws=compare_draws,
        progress=lambda m: say(f"hold-out comparison: {m}"),
        steps=steps,
    )
    say("scenarios")
    if steps is not None:
        steps("scenarios", 0, 1)
    run_scenarios(cfg, name, scenario_files, samples=samples, seed=cfg.model.seed)
    if steps is not None:
        steps("scenarios", 1, 1)
    say("report")
    return make_report(cfg, name, seed=cfg.model.seed)
