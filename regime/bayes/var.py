"""Bayesian regime-switching VAR (``K = 1``: a plain Bayesian VAR).

Model (``n`` variables, ``p`` lags, ``K`` regimes, months ``t`` of the estimation
sample, which starts ``p`` months after the first row)::

    x_t | S_t = k  ~  Normal( c_k + sum_{l=1..p} A_{l(,k)} x_{t-l},  Sigma_k )
    Sigma_k = L_k L_k',  L_k from LKJCholeskyCov (regime-specific sds and correlations)
    Pr[S_t = j | S_{t-1} = i] = p_ij  or  softmax_j( a_ij + b_ij' z_{t-1} )  (TVTP)
    Pr[S_0] = ergodic distribution of the first transition matrix

Units are the variables' own (default: change of Fed funds in pp, change of CPI
YoY inflation in pp, dollar log change in %, relative return in % per month,
all monthly). The sampler works on internally standardized series
(``(x - mean) / sd``); the priors (``VAR_DEFAULT_PRIORS`` in
:mod:`regime.bayes.priors`) are in those sds, and every reported parameter
(``const``, ``coef``, ``cov``, ``resid_sd``, ``corr``) is back in the variables' units.

Regimes are identified by ordering the (standardized) intercept of one
variable, ``order_by`` (default the first): regime 0 has the lowest, e.g. the
largest average Fed funds cut ("easing"). The likelihood marginalizes the regimes
with the forward-backward Op of :mod:`regime.bayes.hmm` on the (T, K) matrix of
multivariate normal log densities.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numba
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pymc.distributions.transforms import ordered
from scipy.special import logsumexp

from regime import _dims as D
from regime.bayes.diagnostics import Diagnostics, diagnose, summary_table
from regime.bayes.fit import (
    ModelCache,
    Sampler,
    initial_values,
    multistart_map,
    process_models,
    sample_posterior,
)
from regime.bayes.gaussian import mvn_chol_logpdf
from regime.bayes.hmm import filter_smooth_sample, hmm_loglike
from regime.bayes.markov import (
    _occupy,
    _repel,
    _tvtp_transitions,
    constant_transitions,
    ergodic,
    transition_numpy,
)
from regime.bayes.parallel import available_cores
from regime.bayes.priors import resolve_var_priors
from regime.bayes.protocol import ScenarioInputs, Simulation, data_fingerprint
from regime.config import VAR_MAX_LAGS as MAX_LAGS
from regime.config import VAR_MAX_REGIMES, stable_hash
from regime.errors import BadInputError
from regime.progress import ProgressFn
from regime.regimes.var_reference import lag_matrix

if TYPE_CHECKING:
    from regime.regimes.conditional import (
        ConditionalForecast,
        Constraint,
        StressResult,
        VARDraws,
    )

log = logging.getLogger(__name__)

VARIABLE = D.VARIABLE  # dimension: the VAR's variables
EQUATION = "equation"  # dimension: the equation of a coefficient (same labels as VARIABLE)
LAG = "lag"  # dimension: lag 1..p

FEDFUNDS_CHG = "fedfunds_chg"  # monthly change of the effective Fed funds rate, pp
CPI_YOY_CHG = "cpi_yoy_chg"  # monthly change of CPI YoY inflation, pp (release-lagged)
USD_LOGCHG = "usd_logchg"  # 100 x monthly log change of the broad dollar index, %
DEFAULT_VARIABLES = (FEDFUNDS_CHG, CPI_YOY_CHG, USD_LOGCHG, D.REL_RETURN)
LEVEL_COLUMNS = (D.FEDFUNDS, D.CPI_YOY, D.USD)  # the panel levels macro_changes transforms
# a scenario's path variable (regime.scenarios.spec) -> the VAR variable it constrains
SCENARIO_VARIABLES = {"fedfunds": FEDFUNDS_CHG, "inflation": CPI_YOY_CHG, "dollar": USD_LOGCHG}
MIN_NOBS = 36
DOMINANT = 0.5  # a month is "dominated" by a regime whose smoothed probability exceeds this
# Words for a regime's measured characteristics (describe_regimes' "name"), per month:
FED_HOLD_SD = 0.1  # Fed funds change sd below this (pp): "Fed on hold"
FED_MOVE = 0.02  # mean Fed funds change beyond +-this (pp): "easing" / "tightening"
INFLATION_MOVE = 0.03  # mean CPI YoY change beyond +-this (pp): "inflation rising/falling"
REL_MOVE = 0.1  # mean relative return beyond +-this (%): "small caps lead/lag"
VOLATILE_RATIO = 1.15  # relative-return sd this many times the others': "volatile"/"calm"


def macro_block(frame: pd.DataFrame) -> pd.DataFrame:
    """The default VAR variables from a feature panel's frame (rows: monthly periods).

    ``fedfunds_chg`` = diff of ``fedfunds`` (pp), ``cpi_yoy_chg`` = diff of
    ``cpi_yoy`` (pp), ``usd_logchg`` = 100 x diff of log ``usd`` (%), and
    ``rel_return`` (% per month) as the panel gives it (release lags already in
    the panel). Rows where any is undefined are dropped at the start only.
    """
    need = [D.FEDFUNDS, D.CPI_YOY, D.USD, D.REL_RETURN]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise BadInputError(f"The panel has no column {missing[0]!r} needed by the VAR.")
    out = macro_changes(frame).assign(**{D.REL_RETURN: frame[D.REL_RETURN]})
    ok = out.notna().all(axis=1)
    if not ok.any():
        raise BadInputError("The panel has no month where all VAR variables are defined.")
    out = out.loc[ok.idxmax() :]
    if out.isna().any().any():
        bad = out.index[out.isna().any(axis=1)][0]
        raise BadInputError(f"The VAR variables have a gap in {bad}; fill or trim the panel.")
    return out


def macro_changes(levels: pd.DataFrame) -> pd.DataFrame:
    """Monthly changes of the macro levels, the VAR's units (rows: months, NaN first).

    ``levels`` holds ``fedfunds`` (%), ``cpi_yoy`` (%) and ``usd`` (index); the result
    ``fedfunds_chg`` (pp), ``cpi_yoy_chg`` (pp) and ``usd_logchg`` (100 x log change,
    %). Training (:func:`macro_block`) and scenarios (:meth:`MarkovSwitchingVARResults.
    simulate`, on the last observed month followed by a scenario's level path) share it.
    """
    return pd.DataFrame(
        {
            FEDFUNDS_CHG: levels[D.FEDFUNDS].diff(),
            CPI_YOY_CHG: levels[D.CPI_YOY].diff(),
            USD_LOGCHG: 100.0 * np.log(levels[D.USD]).diff(),
        },
        index=levels.index,
    )


def levels_from_changes(
    last: pd.Series, cumulative: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Inverse of :func:`macro_changes` summed over months 1..h: level paths (N, H) from
    the last observed levels and the cumulative changes of the VAR variables present."""
    out: dict[str, np.ndarray] = {}
    if FEDFUNDS_CHG in cumulative:
        out[D.FEDFUNDS] = float(last[D.FEDFUNDS]) + cumulative[FEDFUNDS_CHG]
    if CPI_YOY_CHG in cumulative:
        out[D.CPI_YOY] = float(last[D.CPI_YOY]) + cumulative[CPI_YOY_CHG]
    if USD_LOGCHG in cumulative:
        out[D.USD] = float(last[D.USD]) * np.exp(cumulative[USD_LOGCHG] / 100.0)
    return out


@dataclass(frozen=True)
class VARData:
    """Validated arrays of a VAR (NumPy, float64; rows are months).

    ``x`` (T + p, n) raw values including the ``p`` presample rows; ``mean``/``sd``
    (n,) the standardization; ``ar1_sd`` (n,) AR(1) residual sds of the
    standardized series; ``tvtp`` (T, n_z) standardized features aligned with
    the estimation months (row t drives the move into month t + 1).
    """

    x: np.ndarray
    index: pd.Index  # the T estimation months
    names: tuple[str, ...]
    p: int
    mean: np.ndarray
    sd: np.ndarray
    ar1_sd: np.ndarray
    tvtp: np.ndarray
    tvtp_names: tuple[str, ...]
    tvtp_mean: np.ndarray
    tvtp_sd: np.ndarray

    @property
    def nobs(self) -> int:
        return int(self.x.shape[0] - self.p)

    @property
    def n_vars(self) -> int:
        return int(self.x.shape[1])

    @property
    def endog(self) -> np.ndarray:
        """(T, n) raw x_t of the estimation months."""
        return np.asarray(self.x[self.p :])

    @property
    def lagged(self) -> np.ndarray:
        """(T, n p) raw lags: column ``l n + j`` is x_{t-l-1, j}."""
        return lag_matrix(self.x, self.p)

    @property
    def z(self) -> np.ndarray:
        """(T + p, n) standardized x."""
        return np.asarray((self.x - self.mean) / self.sd)

    @property
    def history(self) -> np.ndarray:
        """(p, n) the last p raw observations, most recent first: x_T, x_{T-1}, ..."""
        return np.asarray(self.x[::-1][: self.p])


def prepare_var_data(
    endog: Any,
    order: int = 1,
    exog_tvtp: Any = None,
    tvtp_standardization: tuple[np.ndarray, np.ndarray] | None = None,
) -> VARData:
    """Validate a (months x variables) frame and build the VAR arrays."""
    if not isinstance(endog, pd.DataFrame):
        arr = np.asarray(endog, dtype=float)
        if arr.ndim != 2:
            raise BadInputError(f"endog must be a (months x variables) table; got {arr.shape}.")
        endog = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
    names = tuple(str(c) for c in endog.columns)
    if len(names) < 2:
        raise BadInputError(f"A VAR needs at least 2 variables; got {len(names)}.")
    if len(set(names)) != len(names):
        raise BadInputError(f"endog has duplicate column names: {names}.")
    x = endog.to_numpy(dtype=float)
    if not np.isfinite(x).all():
        raise BadInputError("endog has missing or non-finite values; drop or fill them.")
    if not 1 <= int(order) <= MAX_LAGS:
        raise BadInputError(f"order (lags) must be 1..{MAX_LAGS}; got {order}.")
    p = int(order)
    if x.shape[0] - p < MIN_NOBS:
        raise BadInputError(f"endog has {x.shape[0]} months; at least {MIN_NOBS + p} are needed.")
    sd = x.std(axis=0)
    if (sd == 0).any():
        raise BadInputError(f"endog column {names[int(np.argmin(sd))]!r} is constant.")
    mean = x.mean(axis=0)
    zs = (x - mean) / sd
    ar1 = np.empty(len(names))
    for j in range(len(names)):
        b = np.linalg.lstsq(np.c_[np.ones(len(zs) - 1), zs[:-1, j]], zs[1:, j], rcond=None)[0]
        ar1[j] = np.std(zs[1:, j] - b[0] - b[1] * zs[:-1, j])
    if exog_tvtp is None:
        tv = np.zeros((x.shape[0], 0))
        tnames: tuple[str, ...] = ()
    else:
        tdf = exog_tvtp.to_frame() if isinstance(exog_tvtp, pd.Series) else exog_tvtp
        if isinstance(tdf, pd.DataFrame):
            tnames = tuple(str(c) for c in tdf.columns)
            tv = tdf.to_numpy(dtype=float)
        else:
            tv = np.asarray(tdf, dtype=float).reshape(x.shape[0], -1)
            tnames = tuple(f"z{i}" for i in range(tv.shape[1]))
        if tv.shape[0] != x.shape[0]:
            raise BadInputError(f"exog_tvtp has {tv.shape[0]} rows but endog has {x.shape[0]}.")
        if not np.isfinite(tv).all():
            raise BadInputError("exog_tvtp has missing or non-finite values.")
    tv = tv[p:]
    if tvtp_standardization is None:
        zm = tv.mean(axis=0)
        zsd = tv.std(axis=0)
        if tv.shape[1] and (zsd == 0).any():
            raise BadInputError(f"exog_tvtp column {tnames[int(np.argmin(zsd))]!r} is constant.")
    else:
        zm, zsd = (np.asarray(a, dtype=float) for a in tvtp_standardization)
    return VARData(
        x=x,
        index=endog.index[p:],
        names=names,
        p=p,
        mean=mean,
        sd=sd,
        ar1_sd=ar1,
        tvtp=(tv - zm) / np.where(zsd == 0, 1.0, zsd) if tv.shape[1] else tv,
        tvtp_names=tnames,
        tvtp_mean=zm,
        tvtp_sd=zsd,
    )


@dataclass(frozen=True)
class VARSpec:
    """Structure of a regime-switching VAR (what is saved with a fit)."""

    k_regimes: int = 2
    order: int = 1
    switching_coefs: bool = False
    order_by: str = FEDFUNDS_CHG
    priors: dict[str, dict[str, float]] = field(default_factory=dict)


def minnesota_sd(data: VARData, pri: dict[str, dict[str, float]]) -> np.ndarray:
    """(p, n, n) prior sds of the standardized lag coefficients A_l[i, j].

    own lag: ``own / l^decay``; other variables: ``own * cross / l^decay * r_i / r_j``
    with ``r`` the AR(1) residual sds (Litterman).
    """
    m = pri["minnesota"]
    r = data.ar1_sd
    n, p = data.n_vars, data.p
    ratio = r[:, None] / r[None, :]
    base = np.where(np.eye(n, dtype=bool), 1.0, m["cross"] * ratio)
    decay = np.arange(1, p + 1, dtype=float) ** m["decay"]
    return np.asarray(m["own"] * base[None] / decay[:, None, None])


def var_coords(data: VARData, k: int) -> dict[str, Any]:
    return {
        D.REGIME: list(range(k)),
        D.REGIME_TO: list(range(k)),
        VARIABLE: list(data.names),
        EQUATION: list(data.names),
        LAG: list(range(1, data.p + 1)),
        D.TVTP: list(data.tvtp_names),
    }


# L-BFGS iterations per MAP start. Starts that reach the best mode converge within ~150;
# the rest crawl along ridges for up to ~1600 evaluations into modes 30-40 log units
# lower. 32 starts, 3 seeds: on the demo panel the same best mode with the same number
# of starts reaching it at 300 as at 3000, with 2.7-4.2x fewer evaluations; on the real
# panel within 0.05 log units of it (not fully converged, a sampler's start), 1.5-2x fewer.
MAP_MAXITER = 300
# Names of the shared variables that carry the data-derived constants of the priors
MINNESOTA_SD = "minnesota_sd"  # (p, n, n) prior sds of the lag coefficients
AR1_SD = "ar1_sd"  # (n,) AR(1) residual sds: the centres of the residual sd priors


def var_model_data(data: VARData, spec: VARSpec) -> dict[str, np.ndarray]:
    """Every array :func:`build_var_model` takes from the data, by shared-variable name."""
    zx = data.z
    out = {
        "y": zx[data.p :],
        "lags": lag_matrix(zx, data.p),
        MINNESOTA_SD: minnesota_sd(data, resolve_var_priors(spec.priors)),
        AR1_SD: data.ar1_sd,
    }
    if data.tvtp.shape[1] and spec.k_regimes > 1:
        out["tvtp"] = data.tvtp
    return out


def var_structure_key(data: VARData, spec: VARSpec) -> str:
    """What fixes the graph of :func:`build_var_model`: the spec, the variables and the
    TVTP columns. Two models with the same key differ only in their shared variables,
    which :func:`swap_var_data` replaces."""
    return "var:" + stable_hash(
        {"spec": asdict(spec), "names": data.names, "tvtp": data.tvtp_names}
    )


def swap_var_data(model: pm.Model, data: VARData, spec: VARSpec) -> None:
    """Give ``model`` (built by :func:`build_var_model` for the same
    :func:`var_structure_key`) the data ``data``. Its compiled functions must be rebound
    (:func:`regime.bayes.fit.rebind`); nothing needs compiling again. The initial point
    does not depend on the data (the model works on standardized series)."""
    values = var_model_data(data, spec)
    names = [v.name for v in model.data_vars]
    if sorted(names) != sorted(values):  # a shared variable added to the model must be here
        raise RuntimeError(f"swap_var_data: the model's data {names}, given {list(values)}")
    pm.set_data(values, model=model)


def _identity_packed(n: int) -> np.ndarray:
    """The identity matrix's Cholesky factor packed as ``LKJCholeskyCov`` packs it (rows of
    the lower triangle)."""
    out = np.zeros(n * (n + 1) // 2)
    out[np.cumsum(np.arange(1, n + 1)) - 1] = 1.0
    return out


def build_var_model(data: VARData, spec: VARSpec) -> pm.Model:
    """The PyMC model on the standardized series; keeps no state between calls.

    Free/deterministic variables (standardized units): ``c_z`` (K, n) intercepts,
    ``A_z`` (p, n, n) or (K, p, n, n) lag coefficients, ``L_z`` (K, n, n)
    Cholesky factors, ``p`` (K, K) or ``a``/``b`` (TVTP) transitions.
    """
    k, n, p = spec.k_regimes, data.n_vars, data.p
    pri = resolve_var_priors(spec.priors)
    j_ord = data.names.index(spec.order_by)
    n_z = data.tvtp.shape[1]
    s_c = pri["intercept"]["scale"]
    values = var_model_data(data, spec)
    with pm.Model(coords=var_coords(data, k)) as model:
        # The data and the prior constants derived from them enter as shared variables,
        # not graph constants, as in the Markov model: the compiled graph and its numba
        # disk cache are then the same for every dataset of this structure, so a
        # hold-out fit, a backtest refit or a study's next dataset loads instead of
        # compiling (:func:`swap_var_data`; the default VAR: 55 s cold, about 4 s loaded).
        y_data = pm.Data("y", values["y"])
        lag_data = pm.Data("lags", values["lags"])
        sd_a = pm.Data(MINNESOTA_SD, values[MINNESOTA_SD])
        log_ar1_sd = pt.log(pm.Data(AR1_SD, values[AR1_SD]))
        if k > 1:
            c_ord = pm.Normal(
                "intercept_order",
                0.0,
                s_c,
                shape=k,
                transform=ordered,
                initval=np.linspace(-0.5, 0.5, k),
            )
            c_rest = pm.Normal("intercept_rest", 0.0, s_c, shape=(k, n - 1))
            c = pt.concatenate([c_rest[:, :j_ord], c_ord[:, None], c_rest[:, j_ord:]], axis=1)
            _repel("intercept_repulsion", pt.diff(c_ord), pri["intercept_gap"]["scale"])
        else:
            c = pm.Normal("intercept", 0.0, s_c, shape=(1, n))
        c = pm.Deterministic("c_z", c, dims=(D.REGIME, VARIABLE))
        if spec.switching_coefs:
            a_z = pm.Normal("A_z", 0.0, sd_a, dims=(D.REGIME, LAG, EQUATION, VARIABLE))
            # (K, n p, n): row l n + j, column i
            a_flat = a_z.transpose(0, 1, 3, 2).reshape((k, n * p, n))
            mean = c[None, :, :] + pt.tensordot(lag_data, a_flat, axes=[[1], [1]])  # (T, K, n)
        else:
            a_z = pm.Normal("A_z", 0.0, sd_a, dims=(LAG, EQUATION, VARIABLE))
            a_flat = a_z.transpose(0, 2, 1).reshape((n * p, n))
            mean = c[None, :, :] + pt.dot(lag_data, a_flat)[:, None, :]
        chols = []
        for r in range(k):
            chol, _, _ = pm.LKJCholeskyCov(
                f"chol_{r}",
                n=n,
                eta=pri["lkj"]["eta"],
                sd_dist=pm.LogNormal.dist(log_ar1_sd, pri["resid_sd"]["scale"], shape=n),
                compute_corr=True,
                # PyMC's own support point (identity), given as a number: derived in the
                # initial-point function it draws the LKJ variable once, compiling its
                # inner graph (0.6 s of every fit's start)
                initval=_identity_packed(n),
            )
            chols.append(chol)
        chol_all = pm.Deterministic("L_z", pt.stack(chols), dims=(D.REGIME, EQUATION, VARIABLE))
        resid = y_data[:, None, :] - mean  # (T, K, n)
        # one Op for the (T, K) densities and one for their gradient (forward substitution
        # in numba): written out in PyTensor they were most of the graph's 441 nodes
        log_emission = mvn_chol_logpdf(resid, chol_all)  # (T, K)
        if k == 1:
            pm.Potential("loglike", pt.sum(log_emission))
            return model
        if n_z:
            z_data = pm.Data("tvtp", values["tvtp"])
            transition, typical = _tvtp_transitions(z_data, n_z, k, pri)
            first = transition[0]
        else:
            transition = constant_transitions(k, pri)
            first = typical = transition
        _occupy("occupancy", ergodic(typical, k), pri["occupancy"]["alpha"])
        pm.Potential("loglike", hmm_loglike(log_emission, transition, ergodic(first, k)))
    return model


# --------------------------------------------------------------------------- NumPy side


def raw_parameters(post: dict[str, np.ndarray], data: VARData, k: int) -> dict[str, np.ndarray]:
    """Standardized draws -> the variables' units, per draw (leading axis S).

    ``const`` (S, K, n), ``coef`` (S, K, p, n, n) (shared coefficients repeated
    over K), ``chol`` (S, K, n, n), ``cov`` (S, K, n, n), ``resid_sd`` (S, K, n),
    ``corr`` (S, K, n, n). With s = diag(sd) and m the means:
    A_l = s A~_l s^-1, c_k = m + s c~_k - sum_l A_l m, L_k = s L~_k.
    """
    sd, mu = data.sd, data.mean
    c_z = np.asarray(post["c_z"])
    a_z = np.asarray(post["A_z"])
    if a_z.ndim == 4:
        a_z = np.broadcast_to(a_z[:, None], (a_z.shape[0], k, *a_z.shape[1:]))
    coef = a_z * sd[:, None] / sd[None, :]
    const = mu + sd * c_z - np.einsum("skpij,j->ski", coef, mu)
    chol = np.asarray(post["L_z"]) * sd[:, None]
    cov = chol @ np.swapaxes(chol, -1, -2)
    rsd = np.sqrt(np.einsum("skii->ski", cov))
    corr = cov / (rsd[..., :, None] * rsd[..., None, :])
    return {
        "const": const,
        "coef": np.ascontiguousarray(coef),
        "chol": chol,
        "cov": cov,
        "resid_sd": rsd,
        "corr": corr,
    }


def conditional_mean(raw: dict[str, np.ndarray], data: VARData) -> np.ndarray:
    """(S, T, K, n) ``E[x_t | S_t = k, x_<t]`` in the variables' units."""
    n, p = data.n_vars, data.p
    coef = raw["coef"]  # (S, K, p, n, n)
    a_flat = np.swapaxes(coef, -1, -2).reshape(coef.shape[0], coef.shape[1], n * p, n)
    return np.asarray(raw["const"][:, None] + np.einsum("tm,skmi->stki", data.lagged, a_flat))


def log_emission_numpy(raw: dict[str, np.ndarray], data: VARData) -> np.ndarray:
    """(S, T, K) ``log p(x_t | S_t = k, x_<t)`` in the variables' units."""
    n = data.n_vars
    resid = data.endog[None, :, None, :] - conditional_mean(raw, data)  # (S, T, K, n)
    chol = raw["chol"]  # (S, K, n, n)
    lt = np.broadcast_to(chol[:, None], (*resid.shape, n))
    u = np.linalg.solve(lt, resid[..., None])[..., 0]
    logdet = np.log(np.einsum("skii->ski", chol)).sum(-1)
    return np.asarray(-0.5 * (u**2).sum(-1) - logdet[:, None, :] - 0.5 * n * np.log(2 * np.pi))


@numba.njit(cache=True)
def _ffbs_all(
    logb: np.ndarray, trans: np.ndarray, init: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    s, t, k = logb.shape
    smooth_sum = np.zeros((t, k))
    paths = np.empty((s, t), dtype=np.int8)
    ll = np.empty((s, t))
    last = np.empty((s, k))
    for i in range(s):
        f, sm, path, ll_t = filter_smooth_sample(logb[i], trans[i], init[i], u[i])
        smooth_sum += sm
        paths[i] = path
        ll[i] = ll_t
        last[i] = f[t - 1]
    return smooth_sum, paths, ll, last


def _ergodic_numpy(p0: np.ndarray) -> np.ndarray:
    k = p0.shape[-1]
    a = np.eye(k)[None] - np.swapaxes(p0, 1, 2) + 1.0
    return np.asarray(np.linalg.solve(a, np.ones((p0.shape[0], k, 1)))[..., 0])


class MarkovSwitchingVAR:
    """Bayesian regime-switching VAR (see module docstring).

    Parameters
    ----------
    endog : DataFrame (months x variables)
        The VAR's variables in their own units (see :func:`macro_block` for the
        defaults); any numeric columns work.
    k_regimes : int
        1 (plain Bayesian VAR), 2 or 3.
    order : int
        Lags p = 1..3.
    exog_tvtp : DataFrame, optional
        Transition features, same rows as ``endog``; standardized and lagged
        one month (row t drives the move into month t + 1).
    switching_coefs : bool
        Lag coefficients per regime (True) or shared (False).
    order_by : str
        Variable whose intercept orders the regimes (regime 0 lowest); default
        ``fedfunds_chg`` when present, else the first column.
    priors : dict
        Overrides of :data:`regime.bayes.priors.VAR_DEFAULT_PRIORS`.
    """

    kind = "var"

    def __init__(
        self,
        endog: Any,
        k_regimes: int = 2,
        order: int = 1,
        exog_tvtp: Any = None,
        switching_coefs: bool = False,
        order_by: str | None = None,
        priors: dict[str, dict[str, float]] | None = None,
    ) -> None:
        if not 1 <= int(k_regimes) <= VAR_MAX_REGIMES:
            raise BadInputError(f"k_regimes must be 1..{VAR_MAX_REGIMES}; got {k_regimes}.")
        self.data = prepare_var_data(endog, order, exog_tvtp)
        if int(k_regimes) == 1 and self.data.tvtp.shape[1]:
            raise BadInputError("exog_tvtp needs k_regimes of at least 2.")
        names = self.data.names
        if order_by is None:
            order_by = FEDFUNDS_CHG if FEDFUNDS_CHG in names else names[0]
        if order_by not in names:
            raise BadInputError(
                f"order_by {order_by!r} is not a VAR variable ({', '.join(names)})."
            )
        self.spec = VARSpec(
            k_regimes=int(k_regimes),
            order=int(order),
            switching_coefs=bool(switching_coefs),
            order_by=order_by,
            priors=dict(priors or {}),
        )
        resolve_var_priors(self.spec.priors)

    @property
    def k_regimes(self) -> int:
        return self.spec.k_regimes

    @property
    def nobs(self) -> int:
        return self.data.nobs

    def build_model(self, models: ModelCache | None = None) -> pm.Model:
        """A new PyMC model, or ``models``' model of this structure given this data."""
        if models is None:
            return build_var_model(self.data, self.spec)
        return models.get(
            var_structure_key(self.data, self.spec),
            lambda: build_var_model(self.data, self.spec),
            lambda model: swap_var_data(model, self.data, self.spec),
        )

    def fit(
        self,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        random_seed: int = 0,
        *,
        sampler: Sampler = "nutpie",
        n_starts: int = 8,
        progressbar: bool = True,
        target_accept: float = 0.9,
        cores: int | None = None,
        progress: ProgressFn | None = None,
        models: ModelCache | None = None,
    ) -> MarkovSwitchingVARResults:
        """Posterior by NUTS from the best of ``n_starts`` MAP optimisations
        (``progress``: see :mod:`regime.progress`; ``cores``: see
        :func:`regime.bayes.fit.sample_posterior`; ``models``: see
        :meth:`regime.bayes.switching.MarkovSwitching.fit`)."""
        t0 = time.perf_counter()
        model = self.build_model(models if models is not None else process_models())
        # the VAR's starts cost far more than the univariate model's, so they run on the
        # sampler's cores too (multistart_map's results do not depend on ``workers``):
        # 32 starts on the demo panel took 10.0 s on one core and 5.9 s on two before the
        # MAP_MAXITER cap, 2-3 s after it
        mode = multistart_map(
            model,
            n_starts=n_starts,
            random_seed=random_seed,
            workers=cores or available_cores(),
            progress=progress,
            maxiter=MAP_MAXITER,
        )
        t_map = time.perf_counter()
        names = sampled_names(self.data, self.spec)
        idata = sample_posterior(
            model,
            mode.point,
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            sampler=sampler,
            progressbar=progressbar,
            var_names=names,
            start_raveled=mode.raveled,
            target_accept=target_accept,
            cores=cores,
            progress=progress,
        )
        t_sample = time.perf_counter()
        info = {
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "random_seed": random_seed,
            "n_starts": n_starts,
            "map_logp": mode.logp,
            "seconds_map": t_map - t0,
            "seconds_sampling": t_sample - t_map,
        }
        res = MarkovSwitchingVARResults(idata, self.data, self.spec, info)
        res.add_derived(random_seed)
        res.info["seconds_total"] = time.perf_counter() - t0
        return res


def sampled_names(data: VARData, spec: VARSpec) -> list[str]:
    """The variables a fit keeps of the sampler's draws (standardized units)."""
    names = ["c_z", "A_z", "L_z"]
    if spec.k_regimes > 1:
        names += ["a", "b"] if data.tvtp.shape[1] else ["p"]
    return names


def compile_ahead(var: MarkovSwitchingVAR) -> MarkovSwitchingVARResults:
    """Compile, in this process, what a fit of ``var``'s structure needs besides its log
    density: the function from the sampler's space to every variable
    (:func:`regime.bayes.fit.initial_values`) and the regime-path kernels. Returns
    results whose two draws both sit at the model's initial point: a stand-in to run
    the scenario code once (its kernels compile too), not a posterior.

    An idle process runs this while another compiles the log density: numba's and
    PyTensor's disk caches then hand the other process what it would compile next
    (``regime demo`` with empty caches: about 15 s of compiling off its critical path).
    """
    model = build_var_model(var.data, var.spec)
    values = initial_values(model)
    names = sampled_names(var.data, var.spec)
    posterior = {
        n: xr.DataArray(
            np.repeat(values[n][None, None], 2, axis=1),
            dims=("chain", "draw", *(f"{n}_dim_{i}" for i in range(values[n].ndim))),
        )
        for n in names
    }
    import arviz as az

    idata = az.InferenceData(posterior=xr.Dataset(posterior))
    res = MarkovSwitchingVARResults(idata, var.data, var.spec, {"draws": 2, "chains": 1})
    res.add_derived(0)
    return res


def _stacked(idata: Any, names: list[str]) -> dict[str, np.ndarray]:
    post = idata.posterior
    out = {}
    for n in names:
        if n in post:
            v = post[n].values
            out[n] = v.reshape(-1, *v.shape[2:])
    return out


class MarkovSwitchingVARResults:
    """Posterior of a regime-switching VAR.

    ``idata.posterior`` holds the sampled standardized variables (``c_z``,
    ``A_z``, ``L_z``, transitions) and, in the variables' units, ``const``
    (regime, variable), ``coef`` (regime, lag, equation, variable; shared
    coefficients are repeated over regimes), ``resid_sd``, ``corr``, plus
    ``regime_path`` (month) and ``filtered_last`` (regime) from FFBS per draw.
    ``constant_data`` holds the posterior-mean smoothed probabilities.
    """

    kind = "var"

    def __init__(
        self, idata: Any, data: VARData, spec: VARSpec, info: dict[str, Any] | None = None
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
    def variables(self) -> tuple[str, ...]:
        return self.data.names

    @property
    def nobs(self) -> int:
        return self.data.nobs

    @property
    def has_tvtp(self) -> bool:
        return bool(self.data.tvtp.shape[1])

    @property
    def param_names(self) -> list[str]:
        names = ["const", "coef", "resid_sd"]
        if self.k_regimes > 1:
            names += ["a", "b"] if self.has_tvtp else ["p"]
        return names

    def _raw(self) -> dict[str, np.ndarray]:
        post = _stacked(self.idata, ["c_z", "A_z", "L_z"])
        return raw_parameters(post, self.data, self.k_regimes)

    def _transitions(self, part: dict[str, np.ndarray]) -> np.ndarray:
        """(S, 1 or T-1, K, K)."""
        k = self.k_regimes
        s = next(iter(part.values())).shape[0]
        if k == 1:
            return np.ones((s, 1, 1, 1))
        return transition_numpy(part, self.data.tvtp, k)

    def add_derived(self, random_seed: int = 0) -> None:
        """Store the parameters in the variables' units and the FFBS regime draws."""
        raw = self._raw()
        post = self.idata.posterior
        chains, draws = post.sizes["chain"], post.sizes["draw"]
        k, n, p = self.k_regimes, self.data.n_vars, self.data.p
        cd = {"chain": post["chain"].values, "draw": post["draw"].values}
        names = list(self.data.names)
        reg = list(range(k))

        def put(name: str, arr: np.ndarray, dims: tuple[str, ...], coords: dict[str, Any]) -> None:
            post[name] = xr.DataArray(
                arr.reshape(chains, draws, *arr.shape[1:]),
                dims=("chain", "draw", *dims),
                coords={**cd, **coords},
            )

        put("const", raw["const"], (D.REGIME, VARIABLE), {D.REGIME: reg, VARIABLE: names})
        coef = raw["coef"] if self.spec.switching_coefs else raw["coef"][:, 0]
        cdims: tuple[str, ...] = (LAG, EQUATION, VARIABLE)
        ccoords: dict[str, Any] = {LAG: list(range(1, p + 1)), EQUATION: names, VARIABLE: names}
        if self.spec.switching_coefs:
            cdims = (D.REGIME, *cdims)
            ccoords[D.REGIME] = reg
        put("coef", coef, cdims, ccoords)
        put("resid_sd", raw["resid_sd"], (D.REGIME, VARIABLE), {D.REGIME: reg, VARIABLE: names})
        put(
            "corr",
            raw["corr"],
            (D.REGIME, EQUATION, VARIABLE),
            {D.REGIME: reg, EQUATION: names, VARIABLE: names},
        )
        # regime draws
        tpost = _stacked(self.idata, ["p", "a", "b"])
        trans = np.ascontiguousarray(
            self._transitions(tpost) if tpost else np.ones((chains * draws, 1, 1, 1))
        )
        init = _ergodic_numpy(trans[:, 0]) if k > 1 else np.ones((trans.shape[0], 1))
        logb = np.ascontiguousarray(log_emission_numpy(raw, self.data))
        rng = np.random.default_rng(random_seed + 7919)
        u = rng.random(logb.shape[:2])
        smooth, paths, ll, last = _ffbs_all(logb, trans, np.ascontiguousarray(init), u)
        months = [str(i) for i in self.data.index]
        post["regime_path"] = xr.DataArray(
            paths.reshape(chains, draws, -1),
            dims=("chain", "draw", D.MONTH),
            coords={**cd, D.MONTH: months},
        )
        post["filtered_last"] = xr.DataArray(
            last.reshape(chains, draws, k),
            dims=("chain", "draw", D.REGIME),
            coords={**cd, D.REGIME: reg},
        )
        const = xr.Dataset(
            {
                "smoothed_probabilities": xr.DataArray(
                    smooth / smooth.sum(axis=1, keepdims=True),
                    dims=(D.MONTH, D.REGIME),
                    coords={D.MONTH: months, D.REGIME: reg},
                ),
            }
        )
        ll_ds = xr.Dataset(
            {
                "x": xr.DataArray(
                    ll.reshape(chains, draws, -1),
                    dims=("chain", "draw", D.MONTH),
                    coords={**cd, D.MONTH: months},
                )
            }
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for name, ds in (("constant_data", const), ("log_likelihood", ll_ds)):
                if name in self.idata.groups():
                    del self.idata[name]
                self.idata.add_groups({name: ds})
        _ = n

    def filtered_forward(
        self, endog: pd.DataFrame, exog_tvtp: pd.DataFrame | None = None, random_seed: int = 0
    ) -> MarkovSwitchingVARResults:
        """The same posterior, its regime filter run over ``endog``: the fit's months and
        the ones observed since (the backtest's step between refits).

        The parameters and the fit's standardization are kept; the regime draws
        (``regime_path``, ``filtered_last``), the smoothed probabilities and the
        forecast history are recomputed on the longer data. ``endog`` and ``exog_tvtp``
        come from the same panel columns as the fit's.
        """
        import copy

        import arviz as az

        if tuple(str(c) for c in endog.columns) != self.data.names:
            raise BadInputError(
                f"filtered_forward needs the variables {list(self.data.names)}; "
                f"got {list(endog.columns)}."
            )
        d = self.data
        fresh = prepare_var_data(
            endog, d.p, exog_tvtp, tvtp_standardization=(d.tvtp_mean, d.tvtp_sd)
        )
        data = replace(fresh, mean=d.mean, sd=d.sd, ar1_sd=d.ar1_sd)
        groups = {g: self.idata[g] for g in self.idata.groups()}
        # add_derived writes into it: without the fit's month axis, so the new regime paths
        # keep every month (assigned into the old axis they would be cut to the fit's months)
        groups["posterior"] = self.idata.posterior.drop_dims(D.MONTH, errors="ignore")
        idata = az.InferenceData(**groups)
        new = copy.copy(self)
        new.idata, new.data = idata, data
        new.add_derived(random_seed)
        return new

    def predictive_logpdf(self, variable: str = D.REL_RETURN) -> np.ndarray:
        """(S, T) ``log p(x_{t,j} | x_<t, theta_s)`` of one variable j for every draw s.

        The one-step-ahead predictive density of that variable given the past of all
        variables: the regimes are filtered on the whole vector up to t-1, and month t's
        density of x_j is the mixture over the predicted regimes of its Normal marginal.
        The VAR's counterpart of a univariate model's pointwise log-likelihood, so the
        hold-out comparison scores both on the same months and the same variable.
        """
        if variable not in self.data.names:
            raise BadInputError(f"The VAR has no variable {variable!r}.")
        j = self.data.names.index(variable)
        raw = self._raw()
        logb = log_emission_numpy(raw, self.data)  # (S, T, K) of the whole vector
        mean = conditional_mean(raw, self.data)[..., j]  # (S, T, K)
        sd = np.sqrt(raw["cov"][..., j, j])[:, None, :]  # (S, 1, K)
        z = (self.data.endog[None, :, j, None] - mean) / sd
        log_j = -0.5 * z**2 - np.log(sd) - 0.5 * np.log(2 * np.pi)
        k = self.k_regimes
        if k == 1:
            return np.asarray(log_j[..., 0])
        trans = self._transitions(_stacked(self.idata, ["p", "a", "b"]))  # (S, 1|T-1, K, K)
        pred = filt = _ergodic_numpy(trans[:, 0])  # (S, K): Pr[S_0]
        out = np.empty(logb.shape[:2])
        for t in range(logb.shape[1]):
            if t:
                pred = np.einsum("sk,skj->sj", filt, trans[:, min(t - 1, trans.shape[1] - 1)])
            with np.errstate(divide="ignore"):
                log_pred = np.log(pred)
            out[:, t] = logsumexp(log_pred + log_j[:, t], axis=1)
            joint = log_pred + logb[:, t]
            filt = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
        return out

    # ------------------------------------------------------------------ summaries

    def summary(self, hdi_prob: float = 0.90) -> pd.DataFrame:
        return summary_table(self.idata, self.param_names, hdi_prob)

    @cached_property
    def diagnostics(self) -> Diagnostics:
        identified = ["const", "resid_sd"]
        if self.k_regimes > 1:
            identified.append("a" if self.has_tvtp else "p")
        return diagnose(self.idata, self.param_names, identified)

    @property
    def smoothed_probabilities(self) -> pd.DataFrame:
        """Posterior mean of Pr[S_t = k | X_1..X_T] (nobs x k_regimes)."""
        arr = self.idata.constant_data["smoothed_probabilities"].values
        return pd.DataFrame(arr, index=self.data.index, columns=range(self.k_regimes))

    @property
    def expected_durations(self) -> pd.Series:
        """Posterior mean of 1 / (1 - p_kk), months (TVTP: at average features)."""
        k = self.k_regimes
        if k == 1:
            return pd.Series([np.inf], index=[0], name="expected_duration_months")
        post = _stacked(self.idata, ["p", "a"])
        if "p" in post:
            stay = np.einsum("skk->sk", post["p"])
        else:
            a = post["a"]
            e = np.exp(a - a.max(axis=-1, keepdims=True))
            stay = np.einsum("skk->sk", e / e.sum(axis=-1, keepdims=True))
        return pd.Series(
            (1.0 / (1.0 - stay)).mean(axis=0), index=range(k), name="expected_duration_months"
        )

    def describe_regimes(self) -> pd.DataFrame:
        """One row per regime, weighted by the smoothed probabilities over history.

        Columns: ``name`` (words for the numbers, :func:`regime_name`),
        ``mean_<var>`` (mean monthly change / return, the variable's units),
        ``sd_<var>``, ``corr_<a>_<b>`` (within-regime correlations of the variables),
        ``expected_duration_months``, ``share`` (of history), ``months_dominated``
        (count of months with probability > 0.5) and ``dominated`` (those months as
        ``start..end`` spans).
        """
        w = self.smoothed_probabilities.to_numpy()
        x = self.data.endog
        names = self.data.names
        dur = self.expected_durations
        rows = []
        for k in range(self.k_regimes):
            wk = w[:, k]
            tot = wk.sum()
            row: dict[str, Any] = {}
            if tot <= 0:
                rows.append(row)
                continue
            m = (wk[:, None] * x).sum(0) / tot
            cov = ((x - m) * wk[:, None]).T @ (x - m) / tot
            sd = np.sqrt(np.diag(cov))
            corr = cov / np.outer(sd, sd)
            for i, v in enumerate(names):
                row[f"mean_{v}"] = float(m[i])
            for i, v in enumerate(names):
                row[f"sd_{v}"] = float(sd[i])
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    row[f"corr_{names[i]}_{names[j]}"] = float(corr[i, j])
            for v, b in self._return_betas(k).items():
                row[f"beta_{v}"] = b
            row["expected_duration_months"] = float(dur.iloc[k])
            row["share"] = float(wk.mean())
            dom = wk > DOMINANT
            row["months_dominated"] = int(dom.sum())
            row["dominated"] = _spans(self.data.index, dom)
            rows.append(row)
        out = pd.DataFrame(rows, index=pd.Index(range(self.k_regimes), name=D.REGIME))
        out.insert(0, "name", [regime_name(out, k) for k in range(self.k_regimes)])
        return out

    def _return_betas(self, k: int) -> dict[str, float]:
        """Posterior mean of regime k's contemporaneous betas of ``rel_return`` on the other
        variables, Sigma_ym Sigma_mm^-1 (% per unit of each variable); {} without it."""
        names = self.data.names
        if D.REL_RETURN not in names:
            return {}
        j = names.index(D.REL_RETURN)
        rest = [i for i in range(len(names)) if i != j]
        cov = self._raw()["cov"][:, k]
        s_mm = cov[:, rest][:, :, rest]
        s_ym = cov[:, j, rest]
        beta = np.linalg.solve(s_mm, s_ym[..., None])[..., 0].mean(axis=0)
        return {names[i]: float(b) for i, b in zip(rest, beta, strict=True)}

    # ------------------------------------------------------------------ save / load

    def save(self, folder: Any) -> Path:
        """Write ``posterior.nc`` and ``var.json`` (spec, data, integrity hash) to ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {
            "kind": self.kind,
            "spec": self.spec_dict(),
            "data": _data_dict(self.data),
            "info": {k: v for k, v in self.info.items() if isinstance(v, (int, float, str))},
        }
        meta["hash"] = _digest(meta["spec"], meta["data"])
        self.idata.to_netcdf(str(folder / "posterior.nc"))
        (folder / "var.json").write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def load(cls, folder: Any) -> MarkovSwitchingVARResults:
        """Read a folder written by :meth:`save`; a changed spec or data raises."""
        import arviz as az

        folder = Path(folder)
        meta = json.loads((folder / "var.json").read_text())
        if meta.get("hash") != _digest(meta["spec"], meta["data"]):
            raise BadInputError(f"{folder / 'var.json'} does not match its integrity hash.")
        idata = az.from_netcdf(str(folder / "posterior.nc"))
        spec = VARSpec(**meta["spec"])
        return cls(idata, _data_from_dict(meta["data"]), spec, meta.get("info"))

    # ------------------------------------------------------------------ scenarios

    def draws(
        self,
        n_samples: int = 4000,
        seed: int = 0,
        tvtp_future: np.ndarray | None = None,
        horizon: int = 12,
    ) -> VARDraws:
        """Posterior draws for forecasting (see :class:`regime.regimes.conditional.VARDraws`).

        ``n_samples`` posterior draws picked at random (with replacement only when
        there are fewer draws). ``tvtp_future`` (horizon, n_z): the *raw* transition
        features, row h-1 for forecast month h-1 (row 0 = the last observed month),
        which drives the move into month h; default: the last observed row held.
        """
        s_all = self.idata.posterior.sizes["chain"] * self.idata.posterior.sizes["draw"]
        rng = np.random.default_rng(seed)
        idx = rng.choice(s_all, size=n_samples, replace=n_samples > s_all)
        z = None if tvtp_future is None else np.asarray(tvtp_future, dtype=float)[None]
        return self.draws_at(idx, horizon, z)

    def draws_at(self, idx: np.ndarray, horizon: int, tvtp_future: np.ndarray | None) -> VARDraws:
        """:class:`VARDraws` of the posterior draws ``idx`` (N,); ``tvtp_future`` (1 or N,
        horizon, n_z) raw transition features as in :meth:`draws`, one path per sample or
        one for all (``None``: the last observed row held)."""
        from regime.regimes.conditional import VARDraws

        raw = self._raw()
        tpost = _stacked(self.idata, ["p", "a", "b"])
        last = _stacked(self.idata, ["filtered_last"])["filtered_last"]
        n_samples = len(idx)
        k = self.k_regimes
        if k == 1:
            trans = np.ones((n_samples, horizon, 1, 1))
        elif "p" in tpost:
            trans = np.broadcast_to(tpost["p"][idx][:, None], (n_samples, horizon, k, k))
        else:
            if tvtp_future is None:
                z = np.repeat(self.data.tvtp[-1:], horizon, axis=0)[None]
            else:
                zf = np.asarray(tvtp_future, dtype=float).reshape(
                    -1, horizon, len(self.data.tvtp_names)
                )
                z = (zf - self.data.tvtp_mean) / self.data.tvtp_sd
            a, b = tpost["a"][idx], tpost["b"][idx]
            z = np.broadcast_to(z, (n_samples, *z.shape[1:]))
            logits = a[:, None] + np.einsum("shz,sijz->shij", z, b)
            logits -= logits.max(axis=-1, keepdims=True)
            e = np.exp(logits)
            trans = e / e.sum(axis=-1, keepdims=True)
        return VARDraws(
            names=self.data.names,
            const=raw["const"][idx],
            coef=raw["coef"][idx],
            chol=raw["chol"][idx],
            transition=np.ascontiguousarray(trans),
            initial=np.ascontiguousarray(last[idx]),
            history=self.data.history,
        )

    def forecast(
        self,
        constraints: list[Constraint] | tuple[Constraint, ...] = (),
        horizon: int = 12,
        n_samples: int = 4000,
        seed: int = 0,
        tvtp_future: np.ndarray | None = None,
    ) -> ConditionalForecast:
        """Forecast paths of every variable given ``constraints``.

        See :func:`regime.regimes.conditional.conditional_forecast`; with no
        constraints it is the unconditional (baseline) forecast. The same ``seed``
        gives common random numbers across scenarios.
        """
        from regime.regimes.conditional import conditional_forecast

        d = self.draws(n_samples, seed, tvtp_future, horizon)
        return conditional_forecast(d, list(constraints), horizon, seed=seed)

    # ------------------------------------------------------------------ model protocol

    @property
    def scenario_features(self) -> tuple[str, ...]:
        """The TVTP features (the scenario engine derives them from the macro paths)."""
        return tuple(self.data.tvtp_names)

    @property
    def uses_macro_paths(self) -> bool:
        return True

    def constraints(self, inputs: ScenarioInputs) -> list[Constraint]:
        """A scenario's named variables as constraints on the VAR's macro variables.

        Each named variable maps to its VAR variable (fedfunds -> ``fedfunds_chg``,
        inflation -> ``cpi_yoy_chg``, dollar -> ``usd_logchg``); its level path becomes
        the cumulative change from the last observed month through
        :func:`macro_changes` (the training transform). Hard paths are equalities, soft
        ones carry the path's monthly sd (the dollar's % of the level is taken as % log
        change), ``kind: hold`` freezes the variable. Unnamed variables get no
        constraint: they are drawn from their conditional distribution.
        """
        from regime.regimes.conditional import Constraint

        last = inputs.history.iloc[-1]
        horizon = len(inputs.months)
        out = []
        for var, path in inputs.named.items():
            col = D.SCENARIO_LEVELS[var]
            name = SCENARIO_VARIABLES[var]
            if path.hold:
                out.append(Constraint.hold(name, horizon))
                continue
            levels = pd.DataFrame({c: np.full(horizon + 1, float(last[c])) for c in LEVEL_COLUMNS})
            levels.loc[1:, col] = path.level
            cum = macro_changes(levels)[name].to_numpy()[1:].cumsum()
            out.append(Constraint.path(name, cum, path.sd))
        return out

    def simulate(
        self, inputs: ScenarioInputs, draws: np.ndarray, rng: np.random.Generator
    ) -> Simulation:
        """Conditional forecast of a scenario (the model protocol).

        The named variables become constraints (:meth:`constraints`); the regime path
        and every free variable are drawn given them by sequential Monte Carlo with
        exact Gaussian conditioning (:mod:`regime.regimes.conditional`). Returns the
        regimes, the ``rel_return`` variable (% per month), the macro level paths the
        forecast implies (named ones as given, free ones as drawn) and the SMC's
        minimum ESS; a low ESS (below ``LOW_ESS_SHARE`` of the samples) is logged as a
        plausibility warning. ``rng`` gives one seed for the forecast's fixed-order
        draws, so samples of scenarios without constraints pair exactly; the SMC's
        resampling pairs constrained scenarios only up to the resampled draws.
        """
        from regime.regimes.conditional import conditional_forecast

        if inputs.start is not None:
            raise BadInputError(
                f"The VAR forecasts from its last month only; scenario start {inputs.start} "
                "must be 'latest'."
            )
        if D.REL_RETURN not in self.data.names:
            raise BadInputError(
                f"The VAR has no {D.REL_RETURN!r} variable, so scenarios have no return to give."
            )
        horizon = len(inputs.months)
        z = None
        if self.has_tvtp:
            z_now = inputs.history.iloc[-1][list(self.data.tvtp_names)].to_numpy(float)
            feats = inputs.features
            z = np.concatenate(
                [np.broadcast_to(z_now, (feats.shape[0], 1, len(z_now))), feats[:, :-1, :]],
                axis=1,
            )  # z_{h-1} drives the move into month h
        d = self.draws_at(np.asarray(draws), horizon, z)
        cons = self.constraints(inputs)
        seed = int(rng.integers(2**63 - 1))
        fc = conditional_forecast(d, cons, horizon, seed=seed)
        if fc.low_ess:
            log.warning(
                "The scenario's macro paths are implausible under the VAR: the SMC's "
                "effective sample size fell to %.0f of %d samples.",
                fc.ess_min,
                fc.n_samples,
            )
        cum = {v: fc.variable(v) for v in self.data.names if v in SCENARIO_VARIABLES.values()}
        by_col = levels_from_changes(inputs.history.iloc[-1], cum)
        levels = {v: by_col[col] for v, col in D.SCENARIO_LEVELS.items() if col in by_col}
        return Simulation(
            regimes=fc.regimes.astype(np.int8),
            returns=fc.variable(D.REL_RETURN, cumulative=False),
            levels=levels,
            ess=fc.ess_min,
        )

    def layout(self) -> tuple[dict[str, Any], dict[str, Any], str]:
        """(spec, layout, data fingerprint) stored in ``model.json`` (save hook)."""
        d = self.data
        return self.spec_dict(), _data_dict(d), data_fingerprint(d.x, d.tvtp)

    @classmethod
    def from_layout(cls, idata: Any, doc: dict[str, Any], source: str) -> MarkovSwitchingVARResults:
        """The results rebuilt from the posterior and ``model.json`` (load hook)."""
        data = _data_from_dict(doc["layout"])
        return cls(idata, data, VARSpec(**doc["spec"]), doc.get("info"))

    def stress(
        self,
        loss: float,
        horizon: int = 12,
        variable: str = D.REL_RETURN,
        n_samples: int | None = None,
        seed: int = 0,
        top: int | None = None,
    ) -> StressResult:
        """Reverse stress: the macro paths and regimes behind a cumulative ``variable``
        of ``-loss`` (percent, summed monthly values) by month ``horizon``.

        ``n_samples`` baseline samples (``None``: ``STRESS_SAMPLES``) and the ``top``
        regime sequences (``None``: ``STRESS_TOP``), see
        :func:`regime.regimes.conditional.reverse_stress`; the arguments are checked
        (:func:`~regime.regimes.conditional.check_stress`) before any draw is made.
        """
        from regime.regimes.conditional import (
            STRESS_SAMPLES,
            STRESS_TOP,
            check_stress,
            reverse_stress,
        )

        n = STRESS_SAMPLES if n_samples is None else n_samples
        k = STRESS_TOP if top is None else top
        check_stress(loss, horizon, top=k, n_samples=n)
        d = self.draws(n, seed, None, horizon)
        return reverse_stress(d, loss, horizon, variable=variable, seed=seed, top=k)

    def spec_dict(self) -> dict[str, Any]:
        return asdict(self.spec)


def _data_dict(d: VARData) -> dict[str, Any]:
    return {
        "x": d.x.tolist(),
        "index": [str(i) for i in d.index],
        "names": list(d.names),
        "p": d.p,
        "tvtp": d.tvtp.tolist(),
        "tvtp_names": list(d.tvtp_names),
        "tvtp_mean": d.tvtp_mean.tolist(),
        "tvtp_sd": d.tvtp_sd.tolist(),
    }


def _data_from_dict(m: dict[str, Any]) -> VARData:
    idx: pd.Index
    try:
        idx = pd.PeriodIndex(m["index"], freq="M")
    except (ValueError, TypeError):
        idx = pd.Index(m["index"])
    x = np.asarray(m["x"], dtype=float)
    p = int(m["p"])
    tv = np.asarray(m["tvtp"], dtype=float).reshape(x.shape[0] - p, -1)
    mean, sd = np.asarray(m["tvtp_mean"], dtype=float), np.asarray(m["tvtp_sd"], dtype=float)
    d = prepare_var_data(pd.DataFrame(x, columns=m["names"]), p)
    fields = {
        **d.__dict__,
        "index": idx,
        "tvtp": tv,
        "tvtp_names": tuple(m["tvtp_names"]),
        "tvtp_mean": mean,
        "tvtp_sd": sd,
    }
    return VARData(**fields)


def _digest(spec: dict[str, Any], data: dict[str, Any]) -> str:
    blob = json.dumps({"spec": spec, "data": data}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def regime_name(described: pd.DataFrame, k: int) -> str:
    """Words for regime ``k``'s row of :meth:`MarkovSwitchingVARResults.describe_regimes`
    (thresholds: the module constants ``FED_*``, ``INFLATION_MOVE``, ``REL_MOVE``,
    ``VOLATILE_RATIO``), e.g. "easing, inflation rising, small caps lead, volatile"."""
    row = described.loc[k]
    words = []

    def get(col: str) -> float:
        try:
            v = float(row[col])  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError):
            return np.nan
        return v if np.isfinite(v) else np.nan

    fed, fed_sd = get(f"mean_{FEDFUNDS_CHG}"), get(f"sd_{FEDFUNDS_CHG}")
    if fed_sd < FED_HOLD_SD:
        words.append("Fed on hold")
    elif fed <= -FED_MOVE:
        words.append("easing")
    elif fed >= FED_MOVE:
        words.append("tightening")
    elif np.isfinite(fed):
        words.append("Fed moves both ways")
    infl = get(f"mean_{CPI_YOY_CHG}")
    if infl >= INFLATION_MOVE:
        words.append("inflation rising")
    elif infl <= -INFLATION_MOVE:
        words.append("inflation falling")
    rel = get(f"mean_{D.REL_RETURN}")
    if rel >= REL_MOVE:
        words.append("small caps lead")
    elif rel <= -REL_MOVE:
        words.append("small caps lag")
    col = f"sd_{D.REL_RETURN}"
    if col in described and len(described) > 1:
        sd = described[col].astype(float)
        others = sd.drop(index=k)
        if sd[k] >= VOLATILE_RATIO * others.max():
            words.append("volatile")
        elif sd[k] * VOLATILE_RATIO <= others.min():
            words.append("calm")
    return ", ".join(words) or f"regime {k}"


def _spans(index: pd.Index, mask: np.ndarray) -> str:
    """'1979-10..1982-06, 2008-09..2009-03' from a boolean mask over months."""
    out = []
    start = None
    labels = [str(i) for i in index]
    for t, on in enumerate(mask):
        if on and start is None:
            start = t
        if start is not None and (not on or t == len(mask) - 1):
            end = t if on else t - 1
            out.append(labels[start] if start == end else f"{labels[start]}..{labels[end]}")
            start = None
    return ", ".join(out)
