"""Pipeline stages wired together: what the CLI's ``data``, ``run`` and ``demo`` call."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import requests

from regime import _dims as D
from regime._io import atomic_write_bytes

# the CLI reaches the layers below through this module only: names it needs are re-exported
from regime.bayes.diagnostics import Diagnostics as Diagnostics
from regime.bayes.sensitivity import SENSITIVE_SHIFT as SENSITIVE_SHIFT
from regime.config import Comparison, Config
from regime.data.base import Prefer, SeriesData, merge_history
from regime.data.cache import Cache, default_cache_dir
from regime.data.cache import CacheCorruptError as CacheCorruptError
from regime.data.pull import pull
from regime.data.sample import SAMPLE_SEED, simulate_sample
from regime.errors import BadInputError
from regime.features.panel import Panel, build_panel
from regime.progress import ProgressFn

FRED_KEY_ENV = "FRED_API_KEY"

log = logging.getLogger(__name__)


def resolve_api_key(cfg: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """The FRED key from the config, else ``$FRED_API_KEY``; ``None`` means keyless."""
    if cfg.data.fred.api_key is not None:
        return cfg.data.fred.api_key.get_secret_value() or None
    env = os.environ if environ is None else environ
    return env.get(FRED_KEY_ENV) or None


PROXY_ENV = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")


def check_proxies(environ: Mapping[str, str] | None = None) -> None:
    """Proxy variables must be URLs like ``http://host:3128`` (their value is never printed)."""
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    env = os.environ if environ is None else environ
    for var in PROXY_ENV:
        value = env.get(var)
        if not value:
            continue
        try:
            url = parse_url(value)
            ok = url.scheme in PROXY_SCHEMES and bool(url.host)
        except (LocationParseError, ValueError):
            ok = False
        if not ok:
            raise BadInputError(
                f"Environment variable {var} is not a valid proxy URL; expected a form like "
                "http://host:3128 (or unset it)."
            )


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
    if not offline:
        check_proxies()
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
    cache: Cache,
    parsed: list[SeriesData],
    *,
    replace: bool = False,
    prefer: Prefer | None = None,
) -> list[SeriesData]:
    """Store parsed series; unless ``replace``, merge them with what is cached.

    The read-merge-write happens under the cache's lock, so concurrent imports
    of one series serialise. Overlapping months that conflict stop the import
    (nothing is written) unless ``prefer`` says which copy wins; see
    :func:`~regime.data.base.merge_history`.
    """
    with cache.locked():
        merged: dict[str, SeriesData] = {}
        for s in parsed:
            sid = s.meta.series_id
            previous = merged.get(sid)
            if previous is None and not replace and cache.has(sid):
                try:
                    previous = cache.get(sid)
                except CacheCorruptError as exc:
                    # a damaged or orphaned entry is replaced, never merged
                    log.warning("%s It is replaced by the imported copy.", exc)
                    previous = None
            merged[sid] = (
                s if previous is None or replace else merge_history(previous, s, prefer=prefer)
            )
        return [cache.put(s) for s in merged.values()]


def synthetic_series(seed: int = SAMPLE_SEED) -> dict[str, SeriesData]:
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


def check_fit_overrides(
    cfg: Config, *, draws: int | None, tune: int | None, chains: int | None
) -> None:
    """``--draws/--tune/--chains`` obey the bounds of ``model.*`` (checked before any work)."""
    from pydantic import ValidationError

    from regime.config import ModelSpec

    given = {
        k: v for k, v in {"draws": draws, "tune": tune, "chains": chains}.items() if v is not None
    }
    try:
        ModelSpec.model_validate({**cfg.model.model_dump(), **given})
    except ValidationError as exc:
        parts = [
            f"--{e['loc'][0]} {given[str(e['loc'][0])]}: {str(e['msg']).lower()}"
            for e in exc.errors()
            if e["loc"] and str(e["loc"][0]) in given
        ]
        raise BadInputError("Invalid option " + "; ".join(parts) + ".") from None


def check_model_name(name: str) -> None:
    """A model name is one plain folder name under models/ (no path, no dot-name)."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or name != name.strip():
        raise BadInputError(f"Model name {name!r} must be a plain folder name.")


def check_holdout(cfg: Config, panel: Panel, *, compare: bool) -> None:
    """``model.holdout_years`` must leave enough months to train on (checked before the fit)."""
    from regime.models.api import model_inputs
    from regime.models.compare import MIN_TRAIN_MONTHS

    years = cfg.model.holdout_years
    if not compare or years <= 0:
        return
    n = len(model_inputs(panel, cfg.model, cfg.model.seed).endog)
    if n - 12 * years < MIN_TRAIN_MONTHS:
        raise BadInputError(
            f"model.holdout_years {years} holds out {12 * years} of the {n} model months, "
            f"leaving fewer than {MIN_TRAIN_MONTHS} to train on; lower it or pass --no-compare."
        )


def check_scenario_features(cfg: Config) -> None:
    """A regime model's transition features and regressors must be derived from the macro
    series (checked before the fit): its scenarios set them from the macro paths."""
    from regime.scenarios.paths import derivable_features

    if cfg.model.kind not in ("markov", "var"):
        return
    allowed = derivable_features()
    for key, names in (
        ("model.tvtp_features", cfg.model.tvtp_features),
        ("model.exog", cfg.model.exog),
    ):
        for f in names:
            if f not in allowed:
                raise BadInputError(
                    f"{key} {f!r} is not derived from the macro series, so a scenario "
                    f"cannot set it; use features from {', '.join(sorted(allowed))}."
                )


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
    comparison: Comparison = "full",
    progressbar: bool = True,
    progress: Callable[[str], None] | None = None,
    interrupted: Callable[[], bool] | None = None,
    steps: ProgressFn | None = None,
) -> tuple[Any, Path]:
    """Fit the configured model, optionally the hold-out comparison, and save ``models/NAME``.

    ``progress(message)`` hears each hold-out candidate's name; ``steps`` (see
    :mod:`regime.progress`) the progress of every long step, with ETAs. ``interrupted``
    is asked before saving: a sampler that caught Ctrl-C returns partial draws, which
    must not replace a saved model.
    """
    from regime.bayes.fit import MAP_STEP
    from regime.bayes.parallel import Background, can_fork
    from regime.errors import RegimeError
    from regime.models.api import fit_spec
    from regime.models.compare import comparison_parts, holdout_comparison, merge_comparisons
    from regime.models.io import save_model
    from regime.progress import reporting

    check_model_name(name)
    check_fit_overrides(cfg, draws=draws, tune=tune, chains=chains)
    check_holdout(cfg, panel, compare=compare)
    check_scenario_features(cfg)
    stop = interrupted or (lambda: False)
    parts: dict[str, Background[Any]] = {}
    n_fits = 0
    early: list[Any] = []
    late: list[Any] = []
    # set once the main model is compiled: an early part finished before then compiles
    # what the main process needs next (compile_ahead), in its otherwise idle process
    main_compiled = multiprocessing.get_context("fork").Event() if can_fork() else None

    def start(part: Literal["early", "late"]) -> None:
        """Fork the comparison's ``part`` (see holdout_comparison) to run alongside."""

        def run_part(done: Callable[[int], None]) -> Any:
            try:
                table = holdout_comparison(
                    panel,
                    cfg.model,
                    draws=compare_draws,
                    tune=compare_draws,
                    chains=2,
                    seed=cfg.model.seed if seed is None else seed,
                    steps=lambda step, k, total: done(int(k)),
                    comparison=comparison,
                    part=part,
                )
            except RegimeError as exc:  # re-raised in this process, exit code intact
                return exc
            if part == "early" and main_compiled is not None and not main_compiled.is_set():
                compile_ahead(cfg, panel)
            return table

        parts[part] = Background(run_part)

    if compare and cfg.model.holdout_years > 0:
        # The comparison runs in forked processes alongside the main fit: their
        # compilations (single-threaded, most of a cold first run) overlap, and the
        # cores stay busy between the main fit's steps. Same table as run after it.
        # The candidates of the main model's kind start once the main model is compiled,
        # forked from this process: they find it compiled (see holdout_comparison).
        early, late = comparison_parts(cfg.model, comparison)
        n_fits = len(early) + len(late)
        if progress is not None:
            progress(f"{n_fits} fits, alongside the main fit")
        start("early")

    def comparison_done() -> int:
        return sum(bg.done() for bg in parts.values())

    try:
        with reporting(progressbar, steps) as report:

            def main_steps(step: str, done: float, total: float) -> None:
                if step == MAP_STEP and main_compiled is not None:
                    main_compiled.set()
                if step == MAP_STEP and n_fits and late and "late" not in parts:
                    start("late")
                if report is not None:
                    report(step, done, total)
                    if parts and report is steps:
                        report("hold-out comparison", comparison_done(), n_fits)

            result = fit_spec(
                panel,
                cfg.model,
                draws=draws,
                tune=tune,
                chains=chains,
                seed=seed,
                progressbar=progressbar,
                progress=main_steps if (report is not None or n_fits) else None,
            )
    except BaseException:
        for bg in parts.values():
            bg.cancel()
        raise
    if n_fits and late and "late" not in parts:  # a fit that never reported its MAP search
        start("late")
    table = None
    if parts:
        sizes = {"early": len(early), "late": len(late)}
        finished = 0  # fits of the parts collected (a part's done() stays 0 without fork)
        tables = []
        items = list(parts.items())  # collected in the order they started
        try:
            for i, (key, bg) in enumerate(items):
                rest = [b for _, b in items[i + 1 :]]

                def tick(k: int, f: int = finished, rest: list[Any] = rest) -> None:
                    if steps is not None:
                        steps("hold-out comparison", f + k + sum(b.done() for b in rest), n_fits)

                out = bg.result(on_progress=tick)
                if isinstance(out, RegimeError):
                    raise out
                tables.append(out)
                finished += sizes[key]
        except BaseException:  # the other part must not outlive this process's failure
            for b in parts.values():
                b.cancel()
            raise
        if steps is not None:
            steps("hold-out comparison", finished, n_fits)
        table = merge_comparisons(*tables)
    if stop():
        raise KeyboardInterrupt
    folder = cfg.report.models_dir / name
    config = cfg.model_dump(mode="json", exclude={"data": {"fred": {"api_key"}}})
    save_model(result, folder, config=config, panel=panel, comparison=table)
    result.panel = panel
    return result, folder


def compile_ahead(cfg: Config, panel: Panel) -> None:
    """Compile what the configured model's fit, post-processing and scenarios need besides
    the log density, by running them once on stand-in results (see
    :func:`regime.models.api.compile_ahead`); the disk caches keep it. Only a speed-up:
    if it fails, the main process compiles the same later, so the failure is logged."""
    import warnings

    from regime.models.api import compile_ahead as model_compile_ahead
    from regime.scenarios import builtin_scenarios, run

    failure: Exception | None = None
    before = logging.root.manager.disable
    logging.disable(logging.WARNING)  # stand-in results: their warnings mean nothing
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model_compile_ahead(panel, cfg.model)
            if res is not None:
                run(res, builtin_scenarios(), n_samples=COMPILE_AHEAD_SAMPLES, seed=0)
    except Exception as exc:  # an optimisation: the real run compiles the same anyway
        failure = exc
    finally:
        logging.disable(before)
    if failure is not None:
        log.info("compiling ahead skipped: %s", failure)


COMPILE_AHEAD_SAMPLES = 64


def model_folder(cfg: Config, name: str) -> Path:
    """``models/NAME`` (or ``name`` itself when it is a folder path)."""
    from regime._io import recover_directory

    p = Path(name)
    if p.is_dir() and (p / "model.json").exists():
        return p
    folder = cfg.report.models_dir / name
    recover_directory(folder)
    return folder


def load_fitted(cfg: Config, name: str) -> Any:
    """The saved model ``models/NAME`` (or the folder ``name``), with its metadata."""
    from regime.models.io import load_model

    return load_model(model_folder(cfg, name))


def read_model_meta(cfg: Config, name: str) -> dict[str, Any]:
    """``model.json`` of the saved model ``models/NAME`` (or the folder ``name``)."""
    from regime.models.io import read_meta

    return read_meta(model_folder(cfg, name))


def read_files(files: list[Path], series_id: str | None = None) -> list[SeriesData]:
    """Parse downloaded files (FRED CSV, FRED-MD, Ken French CSV/zip); nothing is stored."""
    from regime.data.csvimport import read_file

    return [s for f in files for s in read_file(f, series_id=series_id)]


def diagnostics(diag: Mapping[str, Any]) -> Diagnostics:
    """The convergence gates of a saved fit (``model.json``'s ``diagnostics``)."""
    return Diagnostics.from_dict(dict(diag))


def report_folder(cfg: Config, name: str) -> Path:
    """``reports/NAME`` for a model named or located by ``name``, never outside ``reports/``.

    The report is named after the model folder's own (resolved) name, so a path
    such as ``models/x/sub/..`` writes ``reports/x``, and a name that resolves to
    no folder name (``/``, ``..``) is rejected.
    """
    label = model_folder(cfg, name).resolve().name
    if not label or label in (".", "..") or label.startswith("."):
        raise BadInputError(f"Model {name!r} does not name a model folder.")
    root = cfg.report.out_dir.resolve()
    out = (root / label).resolve()
    if out.parent != root:
        raise BadInputError(f"Report folder for {name!r} would be outside {cfg.report.out_dir}.")
    return cfg.report.out_dir / label


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
    from regime.models.io import load_model
    from regime.scenarios import builtin_scenarios, load_scenarios, run
    from regime.scenarios.summary import fan, summary

    # the scenario files are checked before the (slower) model load
    specs = load_scenarios(scenario_files) if scenario_files else builtin_scenarios()
    model = load_model(model_folder(cfg, name))
    ds = run(model, specs, n_samples=samples, seed=seed)
    table = summary(ds, model.panel.frame)
    out = report_folder(cfg, name) / "scenarios"
    with atomic_directory(out) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds.to_netcdf(tmp / "scenarios.nc", engine="h5netcdf")
        table.to_csv(tmp / "summary.csv")
        fan(ds).to_csv(tmp / "fan.csv")
    return ds, table, out


def stress_file(loss: float, horizon: int, variable: str) -> str:
    """``stress_L_H.csv`` (``stress_VARIABLE_L_H.csv`` for a variable other than the
    relative return), the loss written in full (``10``, ``2.5``, ``0.001``)."""
    import numpy as np

    who = "" if variable == D.REL_RETURN else f"{variable}_"
    return f"stress_{who}{np.format_float_positional(loss, trim='-')}_{horizon}.csv"


def run_stress(
    cfg: Config,
    name: str,
    loss: float,
    horizon: int,
    *,
    variable: str = D.REL_RETURN,
    samples: int | None = None,
    top: int | None = None,
    seed: int = 0,
) -> tuple[Any, Path]:
    """Load models/NAME, run its reverse stress, write reports/NAME/stress_L_H.csv.

    ``loss`` in the variable's units (relative return: % points of cumulative
    return, a sum of monthly % returns), ``horizon`` in months; ``samples`` and
    ``top`` (``None``) default to the model's own defaults (see
    :meth:`regime.bayes.var.MarkovSwitchingVARResults.stress`). Only a VAR
    (``model.kind: var``) has a stress test. Returns the
    :class:`~regime.regimes.conditional.StressResult` and the CSV's path (the long
    table of :meth:`~regime.regimes.conditional.StressResult.to_frame`); the CSV is
    written only once the whole result exists, atomically.
    """
    from regime._io import atomic_write_text
    from regime.models.io import load_model

    model = load_model(model_folder(cfg, name))
    if model.kind != "var":
        raise BadInputError(
            f"Model {name!r} is a {model.kind!r} model; only a VAR (model.kind: var) "
            "has a stress test."
        )
    out = report_folder(cfg, name) / stress_file(loss, horizon, variable)
    result = model.stress(loss, horizon, variable=variable, n_samples=samples, seed=seed, top=top)
    atomic_write_text(out, result.to_frame().to_csv(index=False))
    return result, out


def make_report(cfg: Config, name: str, *, seed: int = 0) -> Path:
    """reports/NAME/index.html from models/NAME and reports/NAME/scenarios (run if absent)."""
    from regime._io import recover_directory
    from regime.models.io import load_model
    from regime.reports.render import load_scenarios, render_report

    model = load_model(model_folder(cfg, name))
    out = report_folder(cfg, name)
    recover_directory(out / "scenarios")
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
    comparison: Comparison = "full",
    scenario_files: list[Path] | None = None,
    samples: int | None = None,
    progress: Callable[[str], None] | None = None,
    cache_dir: Path | None = None,
    interrupted: Callable[[], bool] | None = None,
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
        comparison=comparison,
        progress=lambda m: say(f"hold-out comparison: {m}"),
        interrupted=interrupted,
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
