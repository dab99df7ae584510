"""Public Markov-switching API (statsmodels-flavoured): ``MarkovSwitching`` and its results."""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import asdict
from functools import cached_property
from typing import Any, Literal

import numba
import numpy as np
import pandas as pd
import xarray as xr

from regime import _dims as D
from regime.bayes.diagnostics import Diagnostics, diagnose, summary_table
from regime.bayes.fit import (
    MapResult,
    ModelCache,
    Sampler,
    compile_model,
    multistart_map,
    process_models,
    sample_posterior,
)
from regime.bayes.hmm import filter_smooth_sample
from regime.bayes.markov import (
    MarkovData,
    MarkovSpec,
    build_model,
    emission_numpy,
    initial_numpy,
    leave_split,
    prepare_data,
    structure_key,
    swap_data,
    transition_numpy,
)
from regime.bayes.priors import resolve_priors
from regime.bayes.protocol import (
    ScenarioInputs,
    Simulation,
    columns,
    data_fingerprint,
    period_index,
)
from regime.config import N_STARTS
from regime.errors import BadInputError
from regime.progress import ProgressFn, Throttle, reporting

log = logging.getLogger(__name__)

CHUNK = 256  # posterior draws processed together in the NumPy post-processing


class MarkovSwitching:
    """Bayesian Markov-switching regression (see :mod:`regime.bayes.markov`).

    Parameters mirror statsmodels' ``MarkovRegression``: ``k_regimes``,
    ``exog``, ``exog_tvtp``, ``switching_variance``, ``switching_exog``; plus
    ``emission`` ("normal" or "studentt"), ``order_by`` ("mean" or "sigma",
    which identifies the regimes: regime 0 is the lowest), ``priors``
    (overrides of :data:`regime.bayes.priors.DEFAULT_PRIORS`), ``recon`` (0/1
    reconstitution-month indicator) and ``recon_effect``. ``prior_reference``
    (centre, scale) replaces the sample mean and sd of ``endog`` in the data-scaled
    priors (simulation-based calibration needs priors that do not depend on the data).
    """

    def __init__(
        self,
        endog: Any,
        k_regimes: int = 2,
        exog: Any = None,
        exog_tvtp: Any = None,
        switching_variance: bool = False,
        switching_exog: bool = True,
        emission: Literal["normal", "studentt"] = "normal",
        order_by: Literal["mean", "sigma"] = "mean",
        priors: dict[str, dict[str, float]] | None = None,
        recon: Any = None,
        recon_effect: Literal["none", "shared", "switching"] = "none",
        prior_reference: tuple[float, float] | None = None,
    ) -> None:
        if int(k_regimes) < 2:
            raise BadInputError(f"k_regimes must be at least 2; got {k_regimes}.")
        if emission not in ("normal", "studentt"):
            raise BadInputError(f"emission must be 'normal' or 'studentt'; got {emission!r}.")
        if order_by not in ("mean", "sigma"):
            raise BadInputError(f"order_by must be 'mean' or 'sigma'; got {order_by!r}.")
        if order_by == "sigma" and not switching_variance:
            raise BadInputError("order_by='sigma' needs switching_variance=True.")
        if recon_effect != "none" and recon is None:
            raise BadInputError(f"recon_effect={recon_effect!r} needs the recon indicator.")
        self.data = prepare_data(endog, exog, exog_tvtp, recon)
        self.spec = MarkovSpec(
            k_regimes=int(k_regimes),
            switching_variance=bool(switching_variance),
            switching_exog=bool(switching_exog),
            emission=emission,
            order_by=order_by,
            recon_effect=recon_effect,
            priors=dict(priors or {}),
            prior_reference=(
                None
                if prior_reference is None
                else (float(prior_reference[0]), float(prior_reference[1]))
            ),
        )
        from regime.bayes.priors import resolve_priors

        resolve_priors(self.spec.priors)  # fail now on unknown prior keys

    @property
    def k_regimes(self) -> int:
        return self.spec.k_regimes

    @property
    def nobs(self) -> int:
        return self.data.nobs

    def build_model(self, models: ModelCache | None = None) -> Any:
        """A new PyMC model, or ``models``' model of this structure given this data."""
        if models is None:
            return build_model(self.data, self.spec)
        return models.get(
            structure_key(self.data, self.spec),
            lambda: build_model(self.data, self.spec),
            lambda model: swap_data(model, self.data, self.spec),
        )

    def fit(
        self,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        random_seed: int = 0,
        *,
        sampler: Sampler = "nutpie",
        n_starts: int = N_STARTS,
        progressbar: bool = True,
        target_accept: float = 0.9,
        cores: int | None = None,
        progress: ProgressFn | None = None,
        models: ModelCache | None = None,
    ) -> MarkovSwitchingResults:
        """Posterior by NUTS from the best of ``n_starts`` MAP optimisations.

        Chains run in parallel on ``cores`` cores (default: all available, see
        :func:`regime.bayes.fit.sample_posterior`); the draws do not depend on
        ``cores``. ``progress(step, done, total)`` receives the progress of the
        MAP search, the sampling and the regime-path post-processing; without it,
        ``progressbar`` draws a bar on stderr. ``models`` (e.g. a backtest worker's
        :class:`ModelCache`) reuses a compiled model of this structure, with the
        same draws as a new one; by default a fit from the main thread uses the
        process's own cache (:func:`process_models`), so a second fit of a structure
        in a session (a notebook, a study of many fits) skips building and compiling.
        """
        t0 = time.perf_counter()
        with reporting(progressbar, progress) as report:
            model = self.build_model(models if models is not None else process_models())
            compile_model(model)
            t_compile = time.perf_counter()
            mode: MapResult = multistart_map(
                model, n_starts=n_starts, random_seed=random_seed, progress=report
            )
            t_map = time.perf_counter()
            idata = sample_posterior(
                model,
                mode.point,
                draws=draws,
                tune=tune,
                chains=chains,
                random_seed=random_seed,
                sampler=sampler,
                progressbar=False,
                var_names=[*public_names(self.data, self.spec), "log_sigma"],
                start_raveled=mode.raveled,
                target_accept=target_accept,
                cores=cores,
                progress=report,
            )
            t_sample = time.perf_counter()
            add_regime_draws(idata, self.data, self.spec, random_seed, progress=report)
            sensitivity = prior_sensitivity_rows(model, idata, self.data, self.spec, random_seed)
        info = {
            "sampler": sampler,
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "target_accept": target_accept,
            "random_seed": random_seed,
            "n_starts": n_starts,
            "map_logp": mode.logp,
            "map_logps": mode.logps,
            "cores": cores,
            "seconds_build_compile": t_compile - t0,
            "seconds_map": t_map - t_compile,
            "seconds_sampling": t_sample - t_map,
            "seconds_postprocess": time.perf_counter() - t_sample,
            "seconds_total": time.perf_counter() - t0,
            "prior_sensitivity": sensitivity,
        }
        return MarkovSwitchingResults(idata, self.data, self.spec, info)


EXOG_LAG = 1  # see MarkovSwitchingResults.exog_lag


def public_names(data: MarkovData, spec: MarkovSpec) -> list[str]:
    names = ["mu", "sigma"]
    if data.exog.shape[1]:
        names.append("beta")
    names += ["a", "b"] if data.tvtp.shape[1] else ["p"]
    if spec.emission == "studentt":
        names.append("nu")
    if spec.recon_effect != "none":
        names.append("gamma")
    return names


def prior_sensitivity_rows(
    model: Any, idata: Any, data: MarkovData, spec: MarkovSpec, random_seed: int
) -> list[dict[str, Any]]:
    """:func:`regime.bayes.sensitivity.prior_sensitivity` for this model's parameters."""
    import pymc as pm

    from regime.bayes.sensitivity import PRIOR_MODE, prior_sensitivity

    names = public_names(data, spec)
    post = stacked(idata, [*names, "log_sigma"])
    k = spec.k_regimes
    off = ~np.eye(k, dtype=bool)
    if "a" in post:
        logits = post["a"]
    else:  # constant transitions: a_ij = log(p_ij / p_ii)
        logp = np.log(post["p"])
        logits = logp - np.einsum("skk->sk", logp)[:, :, None]
    free: dict[str, np.ndarray] = {
        n: post[n] for n in ("mu", "log_sigma", "beta", "nu", "gamma") if n in post
    }
    free |= leave_split(logits)
    if "b" in post:
        free["b_free"] = post["b"][:, off]
    draws = pm.draw([model[n] for n in names], draws=2000, random_seed=random_seed, mode=PRIOR_MODE)
    prior = {n: np.asarray(d) for n, d in zip(names, draws, strict=True)}
    # the logits' prior is set by a potential, which pm.draw does not see: draw it here
    pri = resolve_priors(spec.priors)["a"]
    a = np.zeros((2000, k, k))
    rng = np.random.default_rng(random_seed)
    a[:, off] = rng.normal(pri["loc"], pri["scale"], (2000, off.sum()))
    if "a" in prior:
        prior["a"] = a
    if "p" in prior:
        prior["p"] = np.exp(a - np.logaddexp.reduce(a, axis=-1, keepdims=True))
    ordered = "mu" if spec.order_by == "mean" else "sigma"
    if prior[ordered].ndim == 2:  # the ordered transform's prior is that of sorted draws
        prior[ordered] = np.sort(prior[ordered], axis=1)
    n = next(iter(post.values())).shape[0]
    public = {nm: post[nm].reshape(n, -1) for nm in names}
    return prior_sensitivity(
        model, free, public, {nm: v.reshape(v.shape[0], -1) for nm, v in prior.items()}
    )


def stacked(idata: Any, names: list[str]) -> dict[str, np.ndarray]:
    """Posterior arrays with (chain, draw) flattened to one leading axis."""
    post = idata.posterior
    out = {}
    for n in names:
        if n in post:
            v = post[n].values
            out[n] = v.reshape(-1, *v.shape[2:])
    return out


@numba.njit(cache=True)
def _ffbs_many(
    logb: np.ndarray, trans: np.ndarray, init: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    s, t, k = logb.shape
    filt_sum = np.zeros((t, k))
    smooth_sum = np.zeros((t, k))
    paths = np.empty((s, t), dtype=np.int8)
    ll = np.empty((s, t))
    last = np.empty((s, k))
    for i in range(s):
        f, sm, path, ll_t = filter_smooth_sample(logb[i], trans[i], init[i], u[i])
        filt_sum += f
        smooth_sum += sm
        paths[i] = path
        ll[i] = ll_t
        last[i] = f[t - 1]
    return filt_sum, smooth_sum, paths, ll, last


@numba.njit(cache=True)
def simulate_regimes(start: np.ndarray, trans: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Regime paths (S, H) int8.

    ``start`` (S, K) is Pr[S_T] per sample; ``trans`` (S or 1, H or 1, K, K)
    the row-stochastic matrix moving month h-1 to h; ``u`` (S, H + 1) uniforms.
    """
    n, k = start.shape
    horizon = u.shape[1] - 1
    out = np.empty((n, horizon), dtype=np.int8)
    ts, th = trans.shape[0], trans.shape[1]
    for i in range(n):
        acc = 0.0
        state = k - 1
        for j in range(k):
            acc += start[i, j]
            if u[i, 0] < acc:
                state = j
                break
        si = i if ts > 1 else 0
        for h in range(horizon):
            p = trans[si, h if th > 1 else 0]
            acc = 0.0
            nxt = k - 1
            for j in range(k):
                acc += p[state, j]
                if u[i, h + 1] < acc:
                    nxt = j
                    break
            state = nxt
            out[i, h] = state
    return out


def regime_draws(
    idata: Any,
    data: MarkovData,
    spec: MarkovSpec,
    random_seed: int,
    endog: np.ndarray | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, np.ndarray]:
    """Per-draw forward filtering / backward sampling (NumPy + numba)."""
    names = public_names(data, spec)
    post = stacked(idata, names)
    n = next(iter(post.values())).shape[0]
    y = data.endog if endog is None else endog
    k = spec.k_regimes
    rng = np.random.default_rng(random_seed + 7919)
    filt = np.zeros((len(y), k))
    smooth = np.zeros((len(y), k))
    paths = np.empty((n, len(y)), dtype=np.int8)
    ll = np.empty((n, len(y)))
    last = np.empty((n, k))
    tick = Throttle(progress, "regime paths", n)
    tick(0)
    for lo in range(0, n, CHUNK):
        part = {key: v[lo : lo + CHUNK] for key, v in post.items()}
        trans = np.ascontiguousarray(transition_numpy(part, data.tvtp, k))
        logb = np.ascontiguousarray(emission_numpy(part, data, spec, endog=y))
        init = np.ascontiguousarray(initial_numpy(trans))
        u = rng.random((logb.shape[0], len(y)))
        fs, ss, pth, llc, lst = _ffbs_many(logb, trans, init, u)
        filt += fs
        smooth += ss
        paths[lo : lo + CHUNK] = pth
        ll[lo : lo + CHUNK] = llc
        last[lo : lo + CHUNK] = lst
        tick(min(n, lo + CHUNK))
    return {
        "filtered": filt / n,
        "smoothed": smooth / n,
        "paths": paths,
        "loglike": ll,
        "filtered_last": last,
    }


def add_regime_draws(
    idata: Any,
    data: MarkovData,
    spec: MarkovSpec,
    random_seed: int,
    progress: ProgressFn | None = None,
) -> None:
    """Store regime paths, filtered/smoothed probabilities and pointwise log-likelihood."""
    out = regime_draws(idata, data, spec, random_seed, progress=progress)
    chains = idata.posterior.sizes["chain"]
    draws = idata.posterior.sizes["draw"]
    months = [str(i) for i in data.index]
    k = spec.k_regimes
    cd = {"chain": idata.posterior["chain"].values, "draw": idata.posterior["draw"].values}
    idata.posterior["regime_path"] = xr.DataArray(
        out["paths"].reshape(chains, draws, -1),
        dims=("chain", "draw", D.MONTH),
        coords={**cd, D.MONTH: months},
    )
    idata.posterior["filtered_last"] = xr.DataArray(
        out["filtered_last"].reshape(chains, draws, k),
        dims=("chain", "draw", D.REGIME),
        coords={**cd, D.REGIME: list(range(k))},
    )
    ll = xr.Dataset(
        {
            "y": xr.DataArray(
                out["loglike"].reshape(chains, draws, -1),
                dims=("chain", "draw", D.MONTH),
                coords={**cd, D.MONTH: months},
            )
        }
    )
    obs = xr.Dataset({"y": xr.DataArray(data.endog, dims=(D.MONTH,), coords={D.MONTH: months})})
    const = xr.Dataset(
        {
            "exog_data": xr.DataArray(
                data.exog,
                dims=(D.MONTH, D.EXOG),
                coords={D.MONTH: months, D.EXOG: list(data.exog_names)},
            ),
            "tvtp_data": xr.DataArray(
                data.tvtp,
                dims=(D.MONTH, D.TVTP),
                coords={D.MONTH: months, D.TVTP: list(data.tvtp_names)},
            ),
            "tvtp_mean": xr.DataArray(data.tvtp_mean, dims=(D.TVTP,)),
            "tvtp_sd": xr.DataArray(data.tvtp_sd, dims=(D.TVTP,)),
            "recon": xr.DataArray(data.recon, dims=(D.MONTH,), coords={D.MONTH: months}),
            "filtered_probabilities": xr.DataArray(
                out["filtered"],
                dims=(D.MONTH, D.REGIME),
                coords={D.MONTH: months, D.REGIME: list(range(k))},
            ),
            "smoothed_probabilities": xr.DataArray(
                out["smoothed"],
                dims=(D.MONTH, D.REGIME),
                coords={D.MONTH: months, D.REGIME: list(range(k))},
            ),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name, ds in (("log_likelihood", ll), ("observed_data", obs), ("constant_data", const)):
            if name in idata.groups():
                del idata[name]
            idata.add_groups({name: ds})


class MarkovSwitchingResults:
    """Posterior of a Markov-switching model.

    Attributes
    ----------
    idata : arviz.InferenceData
        ``posterior`` (parameters, ``regime_path``, ``filtered_last``),
        ``sample_stats``, ``observed_data``, ``log_likelihood`` (``y``: the
        one-step predictive log density of each month per draw), ``constant_data``
        (exog, standardized tvtp features and their mean/sd, recon, posterior-mean
        filtered and smoothed probabilities).
    """

    kind = "markov"
    # months between a regressor's value and the return it explains: the pipeline fits
    # month t's return on month t-1's features (regime.models.api.model_inputs)
    exog_lag = EXOG_LAG

    def __init__(
        self, idata: Any, data: MarkovData, spec: MarkovSpec, info: dict[str, Any] | None = None
    ) -> None:
        self.idata = idata
        self.data = data
        self.spec = spec
        self.info = info or {}
        self.meta: dict[str, Any] | None = None  # model.json, when loaded from a folder
        self.folder: Any = None
        self.panel: Any = None  # the feature panel, when loaded from a folder

    @property
    def k_regimes(self) -> int:
        return self.spec.k_regimes

    @property
    def has_tvtp(self) -> bool:
        return bool(self.data.tvtp.shape[1])

    @property
    def param_names(self) -> list[str]:
        return public_names(self.data, self.spec)

    def summary(self, hdi_prob: float = 0.90) -> pd.DataFrame:
        return summary_table(self.idata, self.param_names, hdi_prob)

    def _probs(self, name: str) -> pd.DataFrame:
        arr = self.idata.constant_data[name].values
        return pd.DataFrame(arr, index=self.data.index, columns=range(self.k_regimes))

    @property
    def smoothed_probabilities(self) -> pd.DataFrame:
        """Posterior mean of Pr[S_t = k | Y_1..Y_T] (nobs x k_regimes)."""
        return self._probs("smoothed_probabilities")

    @property
    def filtered_probabilities(self) -> pd.DataFrame:
        """Posterior mean of Pr[S_t = k | Y_1..Y_t] (nobs x k_regimes)."""
        return self._probs("filtered_probabilities")

    @property
    def expected_durations(self) -> pd.Series:
        """Posterior mean of 1 / (1 - p_kk), months; TVTP models at average features (z = 0)."""
        post = stacked(self.idata, ["p", "a"])
        if "p" in post:
            stay = np.einsum("skk->sk", post["p"])
        else:
            a = post["a"]
            e = np.exp(a - a.max(axis=-1, keepdims=True))
            p = e / e.sum(axis=-1, keepdims=True)
            stay = np.einsum("skk->sk", p)
        return pd.Series(
            (1.0 / (1.0 - stay)).mean(axis=0),
            index=range(self.k_regimes),
            name="expected_duration_months",
        )

    def posterior_predictive(self, n_draws: int = 200, seed: int = 0) -> np.ndarray:
        """Replicated series (n_draws, nobs): emissions along the sampled regime paths.

        Each replicate uses one posterior draw's parameters and its FFBS regime
        path, so it answers "could this model have produced the observed months?"
        """
        rng = np.random.default_rng(seed)
        post = stacked(self.idata, [*self.param_names, "regime_path"])
        idx = rng.choice(post["mu"].shape[0], size=n_draws, replace=False)
        part = {k: v[idx] for k, v in post.items()}
        path = part["regime_path"].astype(int)
        rows = np.arange(n_draws)[:, None]
        mu_t = part["mu"][rows, path]
        if self.data.exog.shape[1]:
            beta = part["beta"]
            xb = (
                np.einsum("tx,skx->stk", self.data.exog, beta)[rows, np.arange(self.nobs), path]
                if self.spec.switching_exog
                else np.einsum("tx,sx->st", self.data.exog, beta)
            )
            mu_t = mu_t + xb
        if self.spec.recon_effect == "shared":
            mu_t = mu_t + part["gamma"][:, None] * self.data.recon
        elif self.spec.recon_effect == "switching":
            mu_t = mu_t + part["gamma"][rows, path] * self.data.recon
        sig = part["sigma"]
        sig_t = sig[rows, path] if sig.ndim == 2 else np.repeat(sig[:, None], self.nobs, 1)
        eps = (
            rng.standard_t(part["nu"][:, None], size=mu_t.shape)
            if "nu" in part
            else rng.standard_normal(mu_t.shape)
        )
        return np.asarray(mu_t + sig_t * eps)

    @property
    def nobs(self) -> int:
        return self.data.nobs

    @property
    def prior_sensitivity(self) -> pd.DataFrame:
        """Per parameter family: prior and posterior sd, contraction (posterior sd / prior
        sd) and the largest move of a posterior mean, in posterior sds, when the prior is
        half or twice as strong (see :mod:`regime.bayes.sensitivity`)."""
        return pd.DataFrame(self.info.get("prior_sensitivity", [])).set_index("family")

    @cached_property
    def diagnostics(self) -> Diagnostics:
        identified = ["mu", "sigma"] + (["p"] if not self.has_tvtp else ["a"])
        return diagnose(self.idata, self.param_names, identified)

    def spec_dict(self) -> dict[str, Any]:
        return asdict(self.spec)

    # ------------------------------------------------------------------ model protocol

    @property
    def scenario_features(self) -> tuple[str, ...]:
        """The TVTP features and the exog regressors, which a scenario's macro paths drive."""
        return tuple(dict.fromkeys((*self.data.tvtp_names, *self.data.exog_names)))

    @property
    def uses_macro_paths(self) -> bool:
        """TVTP and exog regressors move with the macro paths; a model with neither
        (constant transitions, intercepts only) ignores them."""
        return self.has_tvtp or bool(self.data.exog.shape[1])

    def simulate(
        self, inputs: ScenarioInputs, draws: np.ndarray, rng: np.random.Generator
    ) -> Simulation:
        """Regime paths and emissions over the scenario's horizon (the model protocol).

        Each sample starts from the filtered regime distribution of its posterior draw
        at the last month (``inputs.start``: the posterior-mean filtered probabilities
        of that month), moves with the TVTP matrices driven by the scenario's features
        (z_{h-1} drives the move into month h; constant matrices without TVTP) and
        draws the regime's emission. ``rng`` draws H + 1 uniforms, then H shocks, per
        sample, so samples stay paired across scenarios.

        Exog regressors are features of the previous month, as the pipeline fits them
        (:func:`regime.models.api.model_inputs`): month h's mean uses the scenario's
        features of month h-1 (month 1: the last observed month).
        """
        data, spec = self.data, self.spec
        if data.exog.shape[1] and self.exog_lag != EXOG_LAG:
            raise BadInputError(
                "This model was fitted on same-month exog regressors, whose future values a "
                "scenario does not set; refit it with `regime fit` (regressors now enter "
                "one month later)."
            )
        names = [
            n
            for n in ("mu", "sigma", "beta", "p", "a", "b", "nu", "filtered_last")
            if n in self.idata.posterior
        ]
        post = {k: v[draws] for k, v in stacked(self.idata, names).items()}
        n, k = len(draws), spec.k_regimes
        if inputs.start is None:
            start = post["filtered_last"]
        else:
            fp = self.filtered_probabilities
            probs = fp.to_numpy()[fp.index.get_loc(inputs.start)]
            start = np.broadcast_to(probs, (n, k))
        if "p" in post:
            trans = post["p"][:, None, :, :]
        else:
            z_now = inputs.history.iloc[-1][list(data.tvtp_names)].to_numpy(float)
            feats = inputs.features
            z_all = np.concatenate(
                [np.broadcast_to(z_now, (feats.shape[0], 1, len(z_now))), feats[:, :-1, :]],
                axis=1,
            )  # z_{h-1} drives the move into month h
            z_all = (z_all - data.tvtp_mean) / data.tvtp_sd
            if z_all.shape[0] == 1:  # one hard path shared by every sample
                slopes = np.einsum("hz,sijz->shij", z_all[0], post["b"])
            else:  # soft or bootstrapped paths: sample s follows its own path
                slopes = np.einsum("shz,sijz->shij", z_all, post["b"])
            logits = post["a"][:, None] + slopes
            logits -= logits.max(axis=-1, keepdims=True)
            e = np.exp(logits)
            trans = e / e.sum(axis=-1, keepdims=True)
        horizon = len(inputs.months)
        u = rng.random((n, horizon + 1))
        regimes = simulate_regimes(np.ascontiguousarray(start), np.ascontiguousarray(trans), u)
        eps = (
            rng.standard_t(post["nu"][:, None], size=(n, horizon))
            if "nu" in post
            else rng.standard_normal((n, horizon))
        )
        rows = np.arange(n)[:, None]
        sigma = (
            post["sigma"] if post["sigma"].ndim == 2 else np.repeat(post["sigma"][:, None], k, 1)
        )
        mean = post["mu"][rows, regimes]
        if data.exog.shape[1]:
            mean = mean + self._exog_effect(inputs, post["beta"], regimes)
        returns = mean + sigma[rows, regimes] * eps
        return Simulation(regimes, returns)

    def _exog_effect(
        self, inputs: ScenarioInputs, beta: np.ndarray, regimes: np.ndarray
    ) -> np.ndarray:
        """(n, H) x_{h-1}' beta (of the sample's regime when the exog effects switch)."""
        names = list(self.data.exog_names)
        missing = [c for c in names if c not in inputs.feature_names]
        if missing:
            raise BadInputError(
                f"The scenario does not set the model's exog regressor {missing[0]!r}; "
                "only features derived from the macro paths can be regressors."
            )
        cols = [inputs.feature_names.index(c) for c in names]
        x_now = inputs.history.iloc[-1][names].to_numpy(float)
        feats = inputs.features[:, :, cols]
        x = np.concatenate(
            [np.broadcast_to(x_now, (feats.shape[0], 1, len(names))), feats[:, :-1, :]], axis=1
        )  # (1 or n, H, n_x): x_{h-1} for month h
        n = regimes.shape[0]
        x = np.broadcast_to(x, (n, *x.shape[1:]))
        if self.spec.switching_exog:  # beta (n, k, n_x)
            b = beta[np.arange(n)[:, None], regimes]  # (n, H, n_x)
            return np.asarray(np.einsum("shx,shx->sh", x, b))
        return np.asarray(np.einsum("shx,sx->sh", x, beta))

    def layout(self) -> tuple[dict[str, Any], dict[str, Any], str]:
        """(spec, layout, data fingerprint) stored in ``model.json`` (save hook)."""
        d = self.data
        layout = {
            "index": [str(i) for i in d.index],
            "exog_names": list(d.exog_names),
            "exog_lag": self.exog_lag,
            "tvtp_names": list(d.tvtp_names),
            "tvtp_mean": d.tvtp_mean.tolist(),
            "tvtp_sd": d.tvtp_sd.tolist(),
        }
        return self.spec_dict(), layout, data_fingerprint(d.endog, d.exog, d.tvtp, d.recon)

    @classmethod
    def from_layout(cls, idata: Any, doc: dict[str, Any], source: str) -> MarkovSwitchingResults:
        """The results rebuilt from the posterior and ``model.json`` (load hook); ``source``
        names the folder in errors."""
        layout = doc["layout"]
        _check_standardisation(source, layout)
        y = idata.observed_data["y"].values
        cd = idata.constant_data
        data = MarkovData(
            endog=y,
            index=period_index(layout["index"]),
            exog=columns(cd, "exog_data", len(y), len(layout["exog_names"])),
            exog_names=tuple(layout["exog_names"]),
            tvtp=columns(cd, "tvtp_data", len(y), len(layout["tvtp_names"])),
            tvtp_names=tuple(layout["tvtp_names"]),
            tvtp_mean=np.asarray(layout["tvtp_mean"], dtype=float),
            tvtp_sd=np.asarray(layout["tvtp_sd"], dtype=float),
            recon=cd["recon"].values,
        )
        res = cls(idata, data, MarkovSpec(**doc["spec"]), doc.get("info"))
        # folders saved before the regressors were lagged store no exog_lag: same-month exog
        res.exog_lag = int(layout.get("exog_lag", 0 if layout["exog_names"] else EXOG_LAG))
        return res


def _check_standardisation(source: str, layout: dict[str, Any]) -> None:
    n = len(layout["tvtp_names"])
    for key in ("tvtp_mean", "tvtp_sd"):
        v = np.asarray(layout[key], dtype=float)
        if v.shape != (n,) or not np.all(np.isfinite(v)):
            raise BadInputError(
                f"Model folder {source} stores a TVTP standardisation layout.{key} of "
                f"shape {v.shape} for {n} feature(s); refit it with `regime fit`."
            )
    if np.any(np.asarray(layout["tvtp_sd"], dtype=float) <= 0):
        raise BadInputError(
            f"Model folder {source} stores a non-positive layout.tvtp_sd; refit it with "
            "`regime fit`."
        )
