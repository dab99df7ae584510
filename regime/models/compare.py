"""Out-of-sample comparison: one-step-ahead log predictive density on held-out years.

Each candidate is fitted on the months before the hold-out window; its
parameters are then fixed and the one-step-ahead predictive density of every
held-out month is computed from the posterior draws (for Markov models through
the forward filter run over the whole sample, so the regime distribution is
updated with each new month):

    lpd_t = log mean_s p(y_t | y_<t, theta_s)

Candidates (:func:`candidates`): the observed-regime model, the configured VAR when the
config uses one (scored on the relative return), and with ``comparison="full"`` (the
default; ``regime demo`` uses ``"baselines"``) the Markov models K=2 and K=3 with
constant and TVTP transitions; all against a constant-mean Student-t baseline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from regime.bayes.markov import prepare_data
from regime.bayes.observed import ObservedRegimes
from regime.bayes.parallel import available_cores, run_tasks
from regime.bayes.switching import MarkovSwitching, public_names, regime_draws, stacked
from regime.config import Comparison, ModelSpec
from regime.errors import BadInputError
from regime.features.panel import Panel
from regime.models.api import model_inputs
from regime.progress import ProgressFn, Throttle

log = logging.getLogger(__name__)


def _lpd(draws_ll: np.ndarray) -> np.ndarray:
    """(S, H) log densities -> (H,) log of the posterior-mean density."""
    return np.asarray(logsumexp(draws_ll, axis=0) - np.log(draws_ll.shape[0]))


def candidates(spec: ModelSpec, comparison: Comparison = "full") -> dict[str, ModelSpec]:
    """The regime candidates (the constant-mean baseline is always scored besides them).

    ``"full"``: the univariate Markov models (K=2 and 3, constant and TVTP transitions),
    the observed-regime model, and the configured VAR when the config uses one.
    ``"baselines"``: the observed-regime model, and the configured VAR when the config
    uses one (``regime demo``'s default: the four Markov structures are most of a cold
    first run's compilation, about 150 CPU-s, and the demo's model is the VAR).
    """
    base = replace_spec(spec, kind="markov", recon_effect="none", exog=())
    cands = {}
    if comparison == "full":
        cands = {
            "markov K=2 constant": replace_spec(base, k_regimes=2, tvtp_features=()),
            "markov K=2 TVTP": replace_spec(base, k_regimes=2),
            "markov K=3 constant": replace_spec(base, k_regimes=3, tvtp_features=()),
            "markov K=3 TVTP": replace_spec(base, k_regimes=3),
        }
    cands["observed regimes"] = replace_spec(base, kind="observed", observed_labels="rules")
    if spec.kind == "var":
        cands[f"VAR({spec.order}) K={spec.k_regimes}"] = spec
    return cands


def replace_spec(spec: ModelSpec, **changes: Any) -> ModelSpec:
    return spec.model_copy(update=changes)


# Fewest months left to fit on once the hold-out years are removed
MIN_TRAIN_MONTHS = 60


def holdout_comparison(
    panel: Panel,
    spec: ModelSpec,
    *,
    holdout_years: int | None = None,
    draws: int = 300,
    tune: int = 300,
    chains: int = 2,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    steps: ProgressFn | None = None,
    workers: int | None = None,
    comparison: Comparison = "full",
    part: Part = "all",
) -> pd.DataFrame:
    """Table of held-out log predictive density per model (higher is better).

    The candidates are fitted ``workers`` at a time (default: one per available
    core) in forked processes, each sampling its chains one after another: a
    cold first run then compiles two model structures at once, and the table is
    the same for any ``workers``. ``progress(message)`` hears which candidates
    are fitted; ``steps("hold-out comparison", done, total)`` counts those done.

    ``part`` picks the fits: ``"all"``, or the two parts a caller fitting the main model
    at the same time runs apart (:func:`comparison_parts`), whose tables
    :func:`merge_comparisons` joins: ``"early"`` (the baseline, the observed-regime
    model and candidates of another kind than ``spec.kind``), started with the main
    fit, and ``"late"`` (the candidates of the main model's kind), started from the
    main process once its model is compiled. PyTensor caches each compiled operation on
    disk, so compiling a related structure at the same time as the main fit does the
    same work twice, and a late fit forked from the main process finds the main model
    compiled in memory (:class:`regime.bayes.fit.ModelCache`). Measured on the demo with
    empty caches: the default VAR's hold-out refit costs 88 CPU-s compiled alongside the
    main fit, 5-6 s loaded from the disk cache after it, nothing forked from it; Markov
    K=2 constant and K=2 TVTP cost 53 and 76 CPU-s alongside the main Markov model,
    18 and 30 CPU-s after it. Markov and VAR structures share little.
    """
    years = spec.holdout_years if holdout_years is None else holdout_years
    if years <= 0:
        raise BadInputError("model.holdout_years must be positive for a hold-out comparison.")
    early, late = comparison_parts(spec, comparison)
    todo = {"all": early + late, "early": early, "late": late}[part]
    if not todo:
        return comparison_table([])
    n_workers = max(1, min(workers or available_cores(), len(todo)))
    cores = 1 if n_workers > 1 else None

    def task(cand: ModelSpec | None) -> Callable[[Callable[[int], None]], Any]:
        def run(done: Callable[[int], None]) -> Any:
            try:
                out: Any = _holdout_lpd(
                    panel,
                    cand or spec,
                    years,
                    draws,
                    tune,
                    chains,
                    seed,
                    baseline=cand is None,
                    cores=cores,
                )
            except BadInputError as exc:
                out = str(exc)
            done(1)
            return out

        return run

    if progress is not None:
        at_once = f", {n_workers} at a time" if n_workers > 1 else ""
        progress(f"{len(todo)} fits{at_once}: {', '.join(name for name, _ in todo)}")
    tick = Throttle(steps, "hold-out comparison", len(todo))
    tick(0)
    found = run_tasks([task(cand) for _, cand in todo], n_workers, on_progress=tick)
    rows = []
    for (name, _), out in zip(todo, found, strict=True):
        if isinstance(out, str):
            log.warning("comparison: %s skipped (%s)", name, out)
            continue
        lpd, n = out
        rows.append(
            {
                "model": name,
                "holdout_months": n,
                "lpd": float(lpd.sum()),
                "lpd_per_month": float(lpd.mean()),
            }
        )
    tick(len(todo))
    return comparison_table(rows)


BASELINE = "constant-mean Student-t"
Part = Literal["all", "early", "late"]


def comparison_parts(
    spec: ModelSpec, comparison: Comparison = "full"
) -> tuple[list[tuple[str, ModelSpec | None]], list[tuple[str, ModelSpec | None]]]:
    """(early, late) fits of :func:`holdout_comparison` by name (``None``: the baseline);
    late are the candidates of the main model's kind (see ``part`` there)."""
    cands = candidates(spec, comparison)
    early: list[tuple[str, ModelSpec | None]] = [
        *((n, c) for n, c in cands.items() if c.kind != spec.kind and c.kind != "markov"),
        (BASELINE, None),
        *((n, c) for n, c in cands.items() if c.kind != spec.kind and c.kind == "markov"),
    ]
    late: list[tuple[str, ModelSpec | None]] = [
        (n, c) for n, c in cands.items() if c.kind == spec.kind
    ]
    return early, late


def comparison_table(rows: Sequence[Mapping[Any, Any]]) -> pd.DataFrame:
    """The comparison table from rows of ``model``, ``holdout_months``, ``lpd`` and
    ``lpd_per_month``: ``vs_baseline`` added, best first."""
    columns = ["model", "holdout_months", "lpd", "lpd_per_month"]
    table = pd.DataFrame(list(rows), columns=columns).set_index("model")
    base = (
        float(table.loc[BASELINE, "lpd"])  # type: ignore[arg-type]
        if BASELINE in table.index
        else float("nan")
    )
    table["vs_baseline"] = table["lpd"].to_numpy(dtype=float) - base
    return table.sort_values("lpd", ascending=False)


def merge_comparisons(*tables: pd.DataFrame) -> pd.DataFrame:
    """One table from the parts' tables (``vs_baseline`` against the baseline in any)."""
    rows = pd.concat([t.drop(columns="vs_baseline") for t in tables]).reset_index()
    return comparison_table(rows.to_dict(orient="records"))


def _holdout_lpd(
    panel: Panel,
    spec: ModelSpec,
    years: int,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    baseline: bool,
    cores: int | None = None,
) -> tuple[np.ndarray, int]:
    n_hold = 12 * years
    fit_kw: dict[str, Any] = {
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "random_seed": seed,
        "target_accept": spec.target_accept,
        "progressbar": False,
        "cores": cores,
    }
    if spec.kind == "var" and not baseline:
        return _var_holdout_lpd(panel, spec, n_hold, fit_kw), n_hold
    inputs = model_inputs(panel, spec, seed)
    n = len(inputs.endog)
    if n - n_hold < MIN_TRAIN_MONTHS:
        raise BadInputError(f"only {n} months; too few to hold out {years} years")
    train = slice(0, n - n_hold)
    y = inputs.endog.to_numpy(dtype=float)
    if baseline:
        return _baseline_lpd(y, n - n_hold, fit_kw), n_hold
    if spec.kind == "observed":
        assert inputs.labels is not None
        labels = inputs.labels.to_numpy()
        obs = ObservedRegimes(inputs.endog.iloc[train], labels[train])
        res = obs.fit(**fit_kw)
        post = stacked(res.idata, ["mu", "sigma", "nu", "mu0", "tau", "ls0", "tau_s"])
        codes = []
        for lab in labels[n - n_hold :]:
            codes.append(obs.names.index(lab) if lab in obs.names else -1)
        s = post["mu"].shape[0]
        mean = np.empty((s, n_hold))
        sig = np.empty((s, n_hold))
        for h, c in enumerate(codes):
            if c >= 0:
                mean[:, h], sig[:, h] = post["mu"][:, c], post["sigma"][:, c]
            else:  # a label never seen in training: the population distribution
                mean[:, h], sig[:, h] = post["mu0"], np.exp(post["ls0"])
        from scipy import stats

        ll = stats.t.logpdf(y[None, n - n_hold :], post["nu"][:, None], mean, sig)
        return _lpd(ll), n_hold
    exog_tvtp = inputs.exog_tvtp
    mod = MarkovSwitching(
        inputs.endog.iloc[train],
        k_regimes=spec.k_regimes,
        exog_tvtp=exog_tvtp.iloc[train] if exog_tvtp is not None else None,
        switching_variance=spec.switching_variance,
        emission=spec.emission,
        order_by=spec.order_by,
        priors=dict(spec.priors),
    )
    idata = _markov_posterior(
        mod, n_starts=max(4, spec.n_starts // 2), sampler=spec.sampler, fit_kw=fit_kw
    )
    full = prepare_data(
        inputs.endog,
        None,
        exog_tvtp,
        None,
        tvtp_standardization=(mod.data.tvtp_mean, mod.data.tvtp_sd),
    )
    out = regime_draws(idata, full, mod.spec, seed)
    return _lpd(out["loglike"][:, n - n_hold :]), n_hold


def _var_holdout_lpd(panel: Panel, spec: ModelSpec, n_hold: int, fit_kw: dict[str, Any]) -> Any:
    """The VAR fitted before the hold-out window, its regimes filtered on every variable
    through it, scored on the relative return's one-step predictive density
    (:meth:`regime.bayes.var.MarkovSwitchingVARResults.predictive_logpdf`): the same
    months and variable as the univariate candidates."""
    from regime.bayes.var import MarkovSwitchingVAR
    from regime.models.api import var_inputs

    endog, tvtp = var_inputs(panel, spec)
    n = len(endog) - spec.order
    if n - n_hold < MIN_TRAIN_MONTHS:
        raise BadInputError(f"only {n} months; too few to hold out {n_hold // 12} years")
    train = slice(0, len(endog) - n_hold)
    var = MarkovSwitchingVAR(
        endog.iloc[train],
        k_regimes=spec.k_regimes,
        order=spec.order,
        exog_tvtp=tvtp.iloc[train] if tvtp is not None else None,
        switching_coefs=spec.switching_coefs,
        priors=dict(spec.priors),
    )
    res = var.fit(n_starts=max(4, spec.n_starts // 2), sampler=spec.sampler, **fit_kw)
    full = res.filtered_forward(endog, tvtp, random_seed=fit_kw["random_seed"])
    return _lpd(full.predictive_logpdf()[:, -n_hold:])


def _markov_posterior(
    mod: MarkovSwitching, *, n_starts: int, sampler: Any, fit_kw: dict[str, Any]
) -> Any:
    """The posterior draws of ``mod.fit`` (same mode search, same chains and seeds), without
    what the hold-out score does not read: the training months' regime paths and the prior
    sensitivity check. The latter compiles two more functions per model structure (the log
    prior and the prior draws, about 15 CPU-seconds of C compilation on a cold first run)."""
    from regime.bayes.fit import multistart_map, sample_posterior

    model = mod.build_model()
    seed = fit_kw["random_seed"]
    mode = multistart_map(model, n_starts=n_starts, random_seed=seed)
    return sample_posterior(
        model,
        mode.point,
        draws=fit_kw["draws"],
        tune=fit_kw["tune"],
        chains=fit_kw["chains"],
        random_seed=seed,
        sampler=sampler,
        progressbar=False,
        var_names=[*public_names(mod.data, mod.spec), "log_sigma"],
        start_raveled=mode.raveled,
        target_accept=fit_kw["target_accept"],
        cores=fit_kw["cores"],
    )


def _baseline_lpd(y: np.ndarray, n_train: int, fit_kw: dict[str, Any]) -> np.ndarray:
    import pymc as pm
    from scipy import stats

    from regime.bayes.fit import multistart_map, sample_posterior

    yt = y[:n_train]
    with pm.Model() as model:
        mu = pm.Normal("mu", yt.mean(), 2 * yt.std())
        sigma = pm.HalfNormal("sigma", 2 * yt.std())
        nu = pm.Gamma("nu", 2.0, 0.1)
        pm.StudentT("y", nu=nu, mu=mu, sigma=sigma, observed=yt)
    start = multistart_map(model, n_starts=2, random_seed=fit_kw["random_seed"])
    idata = sample_posterior(
        model,
        start.point,
        draws=fit_kw["draws"],
        tune=fit_kw["tune"],
        chains=fit_kw["chains"],
        random_seed=fit_kw["random_seed"],
        target_accept=fit_kw["target_accept"],
        progressbar=False,
        start_raveled=start.raveled,
        cores=fit_kw["cores"],
    )
    post = stacked(idata, ["mu", "sigma", "nu"])
    ll = stats.t.logpdf(
        y[None, n_train:], post["nu"][:, None], post["mu"][:, None], post["sigma"][:, None]
    )
    return _lpd(ll)
