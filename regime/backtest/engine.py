"""Walk-forward backtest: one ``dask.distributed`` task per refit block of origins.

For each forecast origin t (every month from ``start`` to ``end``) the panel is
built **as of t** (:func:`regime.features.panel.build_panel` with ``as_of=t``:
only values whose reference month plus release lag is <= t). The panel is
*not point-in-time*: the cache holds the latest vintage of each series, so
later revisions are not replayed; the output says so (``point_in_time = 0``).

Models (``--models``):

* ``constant``, ``bootstrap``, ``regression`` -- the baselines of
  :mod:`regime.backtest.baselines`, refitted at every origin (they are cheap;
  this can only favour them over the regime model);
* ``model`` -- the configured regime model (``model.kind``), fitted with
  :func:`regime.models.api.fit_spec` on the as-of panel at the first origin of
  each block of ``refit_every`` months; at the later origins of the block its
  parameters are kept and, for a Markov model, the regime filter is run forward
  on the new months (:func:`regime.bayes.switching.regime_draws`) so the
  forecast starts from Pr[S_t | y_1..y_t]. Forecasts come from the scenario
  engine (:func:`regime.scenarios.run`), reconstitution overlay off (the
  emissions are fitted on returns that already contain it).

Forecast kinds: ``unconditional`` (the model's own forecast; for ``model`` the
engine's ``baseline`` scenario, a block bootstrap of the macro history) and
``conditional`` (the macro path later realised, given as a hard scenario; only
the regime model takes a macro path, so baselines have no conditional
forecasts and their entries are NaN).

Forecasts are samples of the cumulative relative return over the next h months
(compounded %, small minus large); ``forecasts.nc`` keeps their quantiles and
mean, and each forecast's PIT, CRPS and log score, so figures of scores over
time need no samples. Seeds derive from ``(seed, origin)``, never
from the worker, so the numbers do not depend on the number of workers. Every
finished origin is checkpointed (one ``.npz`` file per origin, written
atomically) under ``reports/NAME/.backtest-partial/KEY``; a rerun with the same
settings and data resumes from them.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import shutil
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from regime import _dims as D
from regime._io import atomic_directory, atomic_write_bytes
from regime.backtest import (
    BASELINES,
    DEFAULT_HORIZONS,
    DIFFERENCES_FILE,
    FORECASTS_FILE,
    MODELS,
    REFERENCE,
    REGIME_MODEL,
    REPORT_FILE,
)
from regime.backtest import baselines as B
from regime.backtest import scores as S
from regime.backtest.verdict import verdict
from regime.config import Config, stable_hash
from regime.data.base import SeriesData
from regime.errors import BadInputError, RegimeError
from regime.features.panel import Panel, build_panel

log = logging.getLogger(__name__)

KINDS = ("unconditional", "conditional")
PIT_EDGES = np.linspace(0.0, 1.0, 11)  # ten PIT bins; calibrated forecasts fill them evenly
QUANTILES = np.round(np.arange(0.01, 1.0, 0.01), 2)  # stored in forecasts.nc
# fewest months of the relative return (and features) needed at the first origin
MIN_HISTORY_MONTHS = 60
ORIGIN = "origin"
HORIZON = "horizon"
MODEL = "model"
KIND = "kind"
# scores.csv, one row per model, horizon and kind (means over the scored origins)
SCORE_COLUMNS = (
    MODEL,
    HORIZON,
    KIND,
    "n",
    "log_score",
    "crps",
    "cover50",
    "cover90",
    "mean_error",
    "median_error",
)


@dataclass(frozen=True)
class BacktestSpec:
    """What to backtest; validated against the data by :func:`plan`."""

    start: str
    end: str | None = None
    refit_every: int = 12
    horizons: tuple[int, ...] = DEFAULT_HORIZONS
    models: tuple[str, ...] = MODELS
    draws: int = 500
    seed: int = 0

    def key(self, cfg: Config, data_hash: str) -> str:
        """Checkpoint key: settings, configuration and data all agree."""
        return stable_hash({"spec": asdict(self), "config": cfg.spec_hash(), "data": data_hash})


@dataclass(frozen=True)
class Plan:
    spec: BacktestSpec
    origins: list[pd.Period]
    blocks: list[list[pd.Period]]
    outcomes: np.ndarray  # (origin, horizon) realised cumulative %, NaN beyond the data
    realised_macro: dict[str, pd.Series]  # fedfunds %, inflation CPI YoY %, dollar index
    last_month: pd.Period
    data_hash: str
    point_in_time: bool = False
    synthetic: bool = False


@dataclass
class BacktestResult:
    forecasts: xr.Dataset
    scores: pd.DataFrame
    differences: pd.DataFrame
    verdict: str
    pit_histogram: pd.DataFrame = field(default_factory=pd.DataFrame)
    failures: dict[str, str] = field(default_factory=dict)
    out: Path | None = None


# --------------------------------------------------------------------------- planning


def _month(value: str, option: str) -> pd.Period:
    if not re.fullmatch(r"\d{4}-\d{2}", str(value).strip()):
        raise BadInputError(f"{option} must be a month YYYY-MM, got {value!r}.")
    try:
        return pd.Period(str(value).strip(), freq="M")
    except ValueError:
        raise BadInputError(f"{option} must be a month YYYY-MM, got {value!r}.") from None


def regression_features(cfg: Config) -> list[str]:
    return list(cfg.model.tvtp_features or D.STATE_FEATURES)  # none named: the macro state


def _frame_hash(frame: pd.DataFrame) -> str:
    num = frame.select_dtypes("number")
    buf = io.BytesIO()
    np.save(buf, num.to_numpy(dtype=float), allow_pickle=False)
    text = "|".join(map(str, num.columns)) + str(frame.index[0]) + str(frame.index[-1])
    return hashlib.sha256(buf.getvalue() + text.encode()).hexdigest()[:16]


def plan(series: Mapping[str, SeriesData], cfg: Config, spec: BacktestSpec) -> Plan:
    """Origins, refit blocks and realised outcomes; bad settings raise one sentence."""
    unknown = [m for m in spec.models if m not in MODELS]
    if unknown:
        raise BadInputError(
            f"--models: unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}."
        )
    if not spec.models:
        raise BadInputError("--models names no model.")
    if not spec.horizons or min(spec.horizons) < 1:
        raise BadInputError("--horizons must be positive whole months, e.g. 1,3,12.")
    if spec.refit_every < 1:
        raise BadInputError(f"--refit-every must be at least 1 month, got {spec.refit_every}.")
    if spec.draws < 50:
        raise BadInputError(f"--draws must be at least 50, got {spec.draws}.")
    full = build_panel(series, cfg.features, cfg.data)
    frame = full.model_frame([D.REL_RETURN, *regression_features(cfg)])
    first, last = frame.index[0], full.frame[D.REL_RETURN].dropna().index[-1]
    start = _month(spec.start, "--start")
    earliest = first + (MIN_HISTORY_MONTHS - 1)
    if start < earliest:
        raise BadInputError(
            f"--start {start} leaves fewer than {MIN_HISTORY_MONTHS} months of history "
            f"(the data begin in {first}); start in {earliest} or later."
        )
    h_max = max(spec.horizons)
    if start + h_max > last:
        raise BadInputError(
            f"--horizons {h_max} reaches beyond the data: {h_max} months after --start "
            f"{start} is after the last month {last}."
        )
    end = _month(spec.end, "--end") if spec.end else last - min(spec.horizons)
    end = min(end, last - min(spec.horizons))
    if end < start:
        raise BadInputError(f"--end {end} is before --start {start}.")
    origins = list(pd.period_range(start, end, freq="M"))
    blocks = [origins[i : i + spec.refit_every] for i in range(0, len(origins), spec.refit_every)]
    y = full.frame[D.REL_RETURN]
    outcomes = np.full((len(origins), len(spec.horizons)), np.nan)
    for i, t in enumerate(origins):
        for j, h in enumerate(spec.horizons):
            if t + h <= last:
                r = y.loc[t + 1 : t + h].to_numpy(dtype=float)
                outcomes[i, j] = B.compound(r)[-1]
    macro = {
        "fedfunds": full.frame[D.FEDFUNDS],
        "inflation": full.frame[D.CPI_YOY],
        "dollar": full.frame[D.USD],
    }
    return Plan(
        spec=spec,
        origins=origins,
        blocks=blocks,
        outcomes=outcomes,
        realised_macro=macro,
        last_month=last,
        data_hash=_frame_hash(full.frame),
        point_in_time=False,
        synthetic=bool(full.meta.synthetic),
    )


# --------------------------------------------------------------------------- one task


def as_of_panel(payload: Payload, origin: pd.Period) -> Panel:
    """The panel as of ``origin``; its fill-policy warnings were already logged once by
    :func:`plan` for the full panel, so they are not repeated for every origin."""
    panel_log = logging.getLogger("regime.features.panel")
    level = panel_log.level
    panel_log.setLevel(logging.ERROR)
    try:
        cfg = payload.cfg
        return build_panel(payload.series, cfg.features, cfg.data, as_of=origin)
    finally:
        panel_log.setLevel(level)


def origin_rng(seed: int, origin: pd.Period, stream: int) -> np.random.Generator:
    """The generator of one (origin, model) pair: independent of worker and order."""
    return np.random.default_rng([int(seed), int(origin.ordinal) + 100_000, int(stream)])


def _baseline_forecast(
    name: str, panel: Panel, cfg: Config, horizons: Sequence[int], n: int, rng: np.random.Generator
) -> np.ndarray:
    if name == "regression":
        frame = panel.model_frame([D.REL_RETURN, *regression_features(cfg)])
        x = frame[regression_features(cfg)].to_numpy(dtype=float)
        return B.predictive_regression(frame[D.REL_RETURN].to_numpy(float), x, horizons, n, rng)
    y = panel.model_frame([D.REL_RETURN])[D.REL_RETURN].to_numpy(dtype=float)
    if name == "constant":
        return B.constant_t(y, horizons, n, rng)
    return B.block_bootstrap(y, horizons, n, rng)


def _realised_scenario(
    macro: Mapping[str, pd.Series], origin: pd.Period, horizon: int, anchor: pd.Series
) -> Any:
    """The macro path realised after ``origin`` as a hard scenario, anchored to the as-of
    panel: its changes from ``origin`` in the final data, added to (Fed funds, inflation)
    or multiplied into (dollar) the as-of panel's levels ``anchor`` at ``origin``. The
    levels themselves can differ between vintages (revisions, a dollar index spliced onto
    a later one with another base), so the realised path is what happened from there."""
    from regime.flows.impact import FlowSpec
    from regime.scenarios.spec import PathSpec, PathsSpec, ScenarioSpec

    months = pd.period_range(origin + 1, periods=horizon, freq="M")
    vals = {}
    for k, s in macro.items():
        path = s.reindex(months).to_numpy(dtype=float)
        start = float(s.get(origin, np.nan))
        base = float(anchor.get(k, np.nan))
        if np.isfinite(start) and np.isfinite(base):
            path = base * path / start if k == "dollar" else base + (path - start)
        vals[k] = tuple(float(v) for v in path)
    return ScenarioSpec(
        name="realised",
        horizon=horizon,
        paths=PathsSpec(**{k: PathSpec(kind="values", values=v) for k, v in vals.items()}),
        flows=FlowSpec(enabled=False),
    )


def _filtered_forward(result: Any, panel: Panel, cfg: Config, seed: int) -> Any:
    """A shallow copy of a regime fit whose ``filtered_last`` is Pr[S_t | data to t] at t
    (a VAR filters on every variable, see ``MarkovSwitchingVARResults.filtered_forward``)."""
    import copy

    from regime.bayes.markov import prepare_data
    from regime.bayes.switching import regime_draws
    from regime.models.api import model_inputs, var_inputs

    if result.kind == "var":
        endog, tvtp = var_inputs(panel, cfg.model)
        return result.filtered_forward(endog, tvtp, random_seed=seed)
    if not hasattr(result, "data"):
        return result  # observed regimes follow the features; nothing to filter
    inputs = model_inputs(panel, cfg.model, seed)
    data = prepare_data(
        inputs.endog,
        inputs.exog,
        inputs.exog_tvtp,
        inputs.recon if cfg.model.recon_effect != "none" else None,
        tvtp_standardization=(result.data.tvtp_mean, result.data.tvtp_sd),
    )
    out = regime_draws(result.idata, data, result.spec, seed)
    post = result.idata.posterior
    shape = (post.sizes["chain"], post.sizes["draw"], -1)
    idata = copy.copy(result.idata)
    idata.posterior = post.assign(
        filtered_last=(post["filtered_last"].dims, out["filtered_last"].reshape(shape))
    )
    new = copy.copy(result)
    new.idata, new.data = idata, data
    return new


def _model_forecast(
    fitted: Any,
    panel: Panel,
    cfg: Config,
    origin: pd.Period,
    horizons: Sequence[int],
    n: int,
    seed: int,
    macro: Mapping[str, pd.Series],
    last: pd.Period,
) -> np.ndarray:
    """(2, H, n): unconditional and realised-path forecasts from the scenario engine."""
    from regime.flows.impact import FlowSpec
    from regime.scenarios import run
    from regime.scenarios.spec import ScenarioSpec

    h_max = max(horizons)
    out = np.full((2, len(horizons), n), np.nan)
    base = ScenarioSpec(
        name="baseline", horizon=h_max, baseline=True, flows=FlowSpec(enabled=False)
    )
    ds = run(fitted, [base], n_samples=n, seed=seed, panel=panel, features=cfg.features)
    cum = ds["cumulative"].to_numpy()[0]  # (sample, month)
    for j, h in enumerate(horizons):
        out[0, j] = cum[:, h - 1]
    h_real = min(h_max, int((last - origin).n))
    if h_real >= 1:
        try:
            seen = panel.frame.loc[:origin]
            anchor = pd.Series(
                {
                    "fedfunds": seen[D.FEDFUNDS].dropna().iloc[-1],
                    "inflation": seen[D.CPI_YOY].dropna().iloc[-1],
                    "dollar": seen[D.USD].dropna().iloc[-1],
                }
            )
            spec = _realised_scenario(macro, origin, h_real, anchor)
            ds = run(fitted, [spec], n_samples=n, seed=seed, panel=panel, features=cfg.features)
        except BadInputError as exc:  # e.g. a realised level outside the scenario bounds
            log.warning("Origin %s: no conditional forecast (%s)", origin, exc)
            return out
        cum = ds["cumulative"].to_numpy()[0]
        for j, h in enumerate(horizons):
            if h <= h_real:
                out[1, j] = cum[:, h - 1]
    return out


@dataclass(frozen=True)
class Payload:
    """What every task needs; scattered to the workers once."""

    series: Mapping[str, SeriesData]
    cfg: Config
    spec: BacktestSpec
    macro: Mapping[str, pd.Series]
    last: pd.Period


def forecast_origin(
    payload: Payload, origin: pd.Period, fitted: Any = None, *, refit: bool = True
) -> np.ndarray:
    """(horizon, model, kind, sample) float32 forecasts made with the data as of ``origin``.

    ``fitted`` is the regime model fitted at the block's first origin (``None``
    to fit here when ``refit``). Conditional forecasts use the realised macro
    path and so, by design, information after the origin; unconditional ones
    use nothing after it.
    """
    spec, cfg = payload.spec, payload.cfg
    panel = as_of_panel(payload, origin)
    n, hs = spec.draws, spec.horizons
    out = np.full((len(hs), len(spec.models), len(KINDS), n), np.nan, dtype=np.float32)
    for m, name in enumerate(spec.models):
        if name in BASELINES:
            rng = origin_rng(spec.seed, origin, m)
            out[:, m, 0] = _baseline_forecast(name, panel, cfg, hs, n, rng)
            continue
        if fitted is None:
            fitted = _fit(panel, cfg, spec, origin)
        elif not refit:
            fitted = _filtered_forward(fitted, panel, cfg, _seed(spec.seed, origin))
        fc = _model_forecast(
            fitted,
            panel,
            cfg,
            origin,
            hs,
            n,
            _seed(spec.seed, origin),
            payload.macro,
            payload.last,
        )
        out[:, m] = np.moveaxis(fc, 0, 1)
    return out


def _seed(seed: int, origin: pd.Period) -> int:
    return int(seed) * 1_000_003 + int(origin.ordinal) + 100_000


def _fit(
    panel: Panel, cfg: Config, spec: BacktestSpec, origin: pd.Period, models: Any = None
) -> Any:
    from regime.models.api import fit_spec

    return fit_spec(
        panel,
        cfg.model,
        draws=spec.draws,
        tune=spec.draws,
        seed=_seed(spec.seed, origin),
        progressbar=False,
        models=models,
    )


def run_block(
    payload: Payload, block: list[pd.Period], models: Any = None
) -> dict[str, np.ndarray]:
    """One task: the regime model fitted at ``block[0]``, forecasts at every origin of it.

    ``models`` is the :class:`~regime.bayes.switching.ModelCache` the fit reuses
    (default: the running Dask worker's, :func:`regime.backtest.workers.worker_models`),
    so a worker compiles the model structure once, whatever the number of blocks.
    """
    fitted = None
    results: dict[str, np.ndarray] = {}
    for i, origin in enumerate(block):
        if REGIME_MODEL in payload.spec.models and fitted is None:
            if models is None:
                from regime.backtest.workers import worker_models

                models = worker_models()
            panel = as_of_panel(payload, origin)
            fitted = _fit(panel, payload.cfg, payload.spec, origin, models)
        results[str(origin)] = forecast_origin(payload, origin, fitted, refit=i == 0)
    return results


# --------------------------------------------------------------------------- driver


def _checkpoint_dir(out: Path, key: str) -> Path:
    return out.parent / ".backtest-partial" / key


def _save_origin(folder: Path, origin: str, arr: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    atomic_write_bytes(folder / f"{origin}.npy", buf.getvalue())


def _load_origin(folder: Path, origin: str) -> np.ndarray | None:
    p = folder / f"{origin}.npy"
    if not p.exists():
        return None
    try:
        return np.asarray(np.load(p, allow_pickle=False))
    except (OSError, ValueError):
        return None  # a damaged checkpoint is recomputed


def run_backtest(
    series: Mapping[str, SeriesData],
    cfg: Config,
    spec: BacktestSpec,
    out: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    client: Any = None,
) -> BacktestResult:
    """Plan, run the blocks on Dask (resuming from checkpoints), score and write ``out``.

    ``out`` is ``reports/NAME/backtest``; it is replaced atomically at the end.
    Failed blocks are reported in ``failures`` (origin -> message) and left out
    of the scores; their origins are recomputed by the next run.
    """
    p = plan(series, cfg, spec)
    key = spec.key(cfg, p.data_hash)
    ckpt = _checkpoint_dir(out, key)
    done: dict[str, np.ndarray] = {}
    for t in p.origins:
        arr = _load_origin(ckpt, str(t))
        if arr is not None:
            done[str(t)] = arr
    todo = [b for b in p.blocks if any(str(t) not in done for t in b)]
    total = len(p.blocks)
    say = progress or (lambda i, n, m: None)
    say(total - len(todo), total, "resumed" if done else "start")
    failures: dict[str, str] = {}
    if todo:
        # tasks never need the FRED key: it is not sent to the (possibly remote) workers
        fred = cfg.data.fred.model_copy(update={"api_key": None})
        safe = cfg.model_copy(update={"data": cfg.data.model_copy(update={"fred": fred})})
        payload = Payload(series, safe, spec, p.realised_macro, p.last_month)
        with _maybe_client(client, workers, scheduler) as cl:
            failures = _submit(cl, payload, todo, ckpt, done, total, say)
    identity = cfg.model.identity() if REGIME_MODEL in spec.models else ""
    result = _assemble(p, done, failures, identity)
    _write(result, out)
    if not failures:
        shutil.rmtree(ckpt, ignore_errors=True)
        with suppress(OSError):
            ckpt.parent.rmdir()
    result.out = out
    return result


@contextmanager
def _maybe_client(client: Any, workers: int, scheduler: str | None) -> Iterator[Any]:
    if client is not None:
        yield client
        return
    from regime.backtest.workers import dask_client

    with dask_client(workers, scheduler) as cl:
        yield cl


def _submit(
    client: Any,
    payload: Payload,
    todo: list[list[pd.Period]],
    ckpt: Path,
    done: dict[str, np.ndarray],
    total: int,
    say: Callable[[int, int, str], None],
) -> dict[str, str]:
    from distributed import as_completed

    [remote] = client.scatter([payload], broadcast=True)
    futures = {
        client.submit(run_block, remote, block, key=f"backtest-{block[0]}", pure=False): block
        for block in todo
    }
    failures: dict[str, str] = {}
    finished = total - len(todo)
    try:
        for fut in as_completed(futures):
            block = futures[fut]
            label = str(block[0]) if len(block) == 1 else f"{block[0]}..{block[-1]}"
            if fut.status != "finished":
                exc = fut.exception()
                msg = str(exc) if isinstance(exc, RegimeError) else f"{type(exc).__name__}: {exc}"
                failures[str(block[0])] = msg
                log.warning("Backtest origin %s failed: %s", label, msg)
                say(finished, total, f"{label} failed")
                continue
            for origin, arr in fut.result().items():
                _save_origin(ckpt, origin, arr)
                done[origin] = arr
            finished += 1
            say(finished, total, label)
    finally:
        for fut in futures:
            fut.cancel()
    return failures


def _assemble(
    p: Plan, done: dict[str, np.ndarray], failures: dict[str, str], model_identity: str = ""
) -> BacktestResult:
    """Scores, paired differences and the forecasts dataset from the per-origin samples.

    ``model_identity`` is :meth:`regime.config.ModelSpec.identity` of the regime
    model's configuration ("" when the regime model was not run).
    """
    spec = p.spec
    n_o, n_h, n_m, n_k = len(p.origins), len(spec.horizons), len(spec.models), len(KINDS)
    samples = np.full((n_o, n_h, n_m, n_k, spec.draws), np.nan, dtype=np.float32)
    for i, t in enumerate(p.origins):
        if str(t) in done:
            samples[i] = done[str(t)]
    outcome = np.broadcast_to(p.outcomes[:, :, None, None], (n_o, n_h, n_m, n_k))
    ok = np.isfinite(samples).all(axis=-1) & np.isfinite(outcome)
    pit = np.full((n_o, n_h, n_m, n_k), np.nan)
    crps = np.full((n_o, n_h, n_m, n_k), np.nan)
    logs = np.full((n_o, n_h, n_m, n_k), np.nan)
    rows: list[dict[str, Any]] = []
    diffs: list[dict[str, Any]] = []
    hist_rows: list[dict[str, Any]] = []
    per: dict[tuple[int, int, int], S.PointScores] = {}
    for j, h in enumerate(spec.horizons):
        for k, kind in enumerate(KINDS):
            for m, name in enumerate(spec.models):
                sel = ok[:, j, m, k]
                if not sel.any():
                    continue
                sc = S.score_all(samples[sel, j, m, k].astype(float), p.outcomes[sel, j])
                per[(j, m, k)] = sc
                pit[sel, j, m, k] = sc.pit
                crps[sel, j, m, k] = sc.crps
                logs[sel, j, m, k] = sc.log_score
                counts, _ = np.histogram(sc.pit, bins=PIT_EDGES)
                hist_rows.extend(
                    {"model": name, "horizon": h, "kind": kind, "bin_lo": lo, "bin_hi": hi, "n": c}
                    for lo, hi, c in zip(PIT_EDGES[:-1], PIT_EDGES[1:], counts, strict=True)
                )
                rows.append(
                    {
                        "model": name,
                        "horizon": h,
                        "kind": kind,
                        "n": int(sel.sum()),
                        "log_score": float(sc.log_score.mean()),
                        "crps": float(sc.crps.mean()),
                        "cover50": float(sc.cover50.mean()),
                        "cover90": float(sc.cover90.mean()),
                        "mean_error": float(sc.error_mean.mean()),
                        "median_error": float(np.median(sc.error_median)),
                    }
                )
            if REFERENCE not in spec.models:
                continue
            r = spec.models.index(REFERENCE)
            for m, name in enumerate(spec.models):
                if m == r:
                    continue
                sel = ok[:, j, m, k] & ok[:, j, r, 0]
                if sel.sum() < 2:
                    continue
                xm = samples[sel, j, m, k].astype(float)
                xr_ = samples[sel, j, r, 0].astype(float)
                y = p.outcomes[sel, j]
                for metric, fn in (("crps", S.crps), ("log_score", S.log_score)):
                    d = S.paired_difference(fn(xm, y), fn(xr_, y), h)
                    diffs.append(
                        {
                            "model": name,
                            "horizon": h,
                            "kind": kind,
                            "metric": metric,
                            "versus": REFERENCE,
                            "n": d.n,
                            "difference": d.mean,
                            "se": d.se,
                            "hac_lags": d.lags,
                            "first_origin": str(np.asarray(p.origins)[sel][0]),
                            "last_origin": str(np.asarray(p.origins)[sel][-1]),
                        }
                    )
    scores = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    differences = pd.DataFrame(diffs)
    quant = np.full((n_o, n_h, n_m, n_k, len(QUANTILES)), np.nan)
    mean = np.full(ok.shape, np.nan)
    have = np.isfinite(samples).all(axis=-1)  # forecasts made (outcome or not)
    if have.any():
        quant[have] = np.quantile(samples[have].astype(float), QUANTILES, axis=-1).T
        mean[have] = samples[have].astype(float).mean(axis=-1)
    dims = (ORIGIN, HORIZON, MODEL, KIND)
    ds = xr.Dataset(
        {
            "quantiles": ((*dims, D.QUANTILE), quant.astype(np.float32)),
            "mean": (dims, mean),
            "pit": (dims, pit),
            "crps": (dims, crps),
            "log_score": (dims, logs),
            "outcome": ((ORIGIN, HORIZON), p.outcomes),
        },
        coords={
            ORIGIN: [str(t) for t in p.origins],
            HORIZON: list(spec.horizons),
            MODEL: list(spec.models),
            KIND: list(KINDS),
            D.QUANTILE: QUANTILES,
        },
        attrs={
            "units": "cumulative relative return over h months, compounded %, small minus large",
            "point_in_time": int(p.point_in_time),
            "panel_note": (
                "not point-in-time: latest-vintage data, shifted by release lags; "
                "revisions are not replayed"
            ),
            "refit_every": spec.refit_every,
            "draws": spec.draws,
            "seed": spec.seed,
            "failed_origins": ",".join(sorted(failures)),
            "synthetic": int(p.synthetic),
            # what the regime model was (hashed without sampler settings): the scenario
            # report repeats this verdict only for a model with the same identity
            "model_identity": model_identity,
        },
    )
    return BacktestResult(
        ds,
        scores,
        differences,
        verdict(differences),
        pd.DataFrame(hist_rows, columns=["model", "horizon", "kind", "bin_lo", "bin_hi", "n"]),
        failures,
    )


def _write(result: BacktestResult, out: Path) -> None:
    """``out`` (``reports/NAME/backtest``) with the tables, ``forecasts.nc`` and
    ``index.html``, swapped in whole: a reader never sees a half-written backtest."""
    from regime.backtest.report import render_backtest  # the report imports this module

    html = render_backtest(result, name=out.parent.name)
    with atomic_directory(out) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result.forecasts.to_netcdf(tmp / FORECASTS_FILE, engine="h5netcdf")
        result.scores.to_csv(tmp / "scores.csv", index=False)
        result.differences.to_csv(tmp / DIFFERENCES_FILE, index=False)
        result.pit_histogram.to_csv(tmp / "pit_histogram.csv", index=False)
        (tmp / "verdict.txt").write_text(result.verdict + "\n", encoding="utf-8")
        (tmp / REPORT_FILE).write_text(html, encoding="utf-8")
        if result.failures:
            pd.Series(result.failures, name="error").rename_axis("origin").to_csv(
                tmp / "failures.csv"
            )
