"""Markov-switching regression with optional time-varying transition probabilities.

Model (``k`` regimes, ``S_t`` latent, months ``t = 0..T-1``)::

    y_t | S_t = k  ~  Normal or Student-t( mu_k + x_t' beta_k + gamma_k r_t,  sigma_k )
    Pr[S_t = j | S_{t-1} = i] = p_ij = softmax_j( a_ij )            (constant; a_ii = 0)
                              = softmax_j( a_ij + b_ij' z_{t-1} )   (TVTP; a_ii = b_ii = 0)
    Pr[S_0] = ergodic distribution of the first transition matrix

``x`` is ``exog`` (switching or not), ``z`` the standardized ``exog_tvtp`` (the
standardization is stored with the model and reused by scenarios), ``r`` the
reconstitution-month indicator. Regimes are identified by ordering ``mu`` or
``sigma`` (``order_by``): regime 0 is the lowest.

Unlike statsmodels, ``exog_tvtp`` row ``t - 1`` drives the move into month ``t``
(no look-ahead): to reproduce a statsmodels TVTP model, pass its exog_tvtp
shifted one row earlier.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.transforms import ordered

from regime import _dims as D
from regime.bayes.hmm import ergodic_op, hmm_loglike
from regime.bayes.priors import resolve_priors
from regime.config import stable_hash
from regime.errors import BadInputError

MIN_NOBS = 24


@dataclass(frozen=True)
class MarkovData:
    """Validated arrays of a Markov-switching model (NumPy, float64)."""

    endog: np.ndarray  # (T,)
    index: pd.Index
    exog: np.ndarray  # (T, n_exog), may have 0 columns
    exog_names: tuple[str, ...]
    tvtp: np.ndarray  # (T, n_tvtp) standardized, may have 0 columns
    tvtp_names: tuple[str, ...]
    tvtp_mean: np.ndarray
    tvtp_sd: np.ndarray
    recon: np.ndarray  # (T,) 0/1

    @property
    def nobs(self) -> int:
        return int(self.endog.shape[0])


@dataclass(frozen=True)
class MarkovSpec:
    """Structure of a Markov-switching model (what is saved with a fit)."""

    k_regimes: int = 2
    switching_variance: bool = False
    switching_exog: bool = True
    emission: Literal["normal", "studentt"] = "normal"
    order_by: Literal["mean", "sigma"] = "mean"
    recon_effect: Literal["none", "shared", "switching"] = "none"
    priors: dict[str, dict[str, float]] = field(default_factory=dict)
    # (centre, scale) that the data-scaled priors use in place of the sample mean and sd
    # of endog; None (the default) takes them from the data. Simulation-based calibration
    # fixes them, so that the prior it draws truths from does not depend on the data.
    prior_reference: tuple[float, float] | None = None


def _frame(x: Any, n: int, what: str, prefix: str) -> tuple[np.ndarray, tuple[str, ...]]:
    if x is None:
        return np.zeros((n, 0)), ()
    if isinstance(x, pd.Series):
        x = x.to_frame()
    if isinstance(x, pd.DataFrame):
        names = tuple(str(c) for c in x.columns)
        arr = x.to_numpy(dtype=float)
    else:
        arr = np.asarray(x, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        names = tuple(f"{prefix}{i}" for i in range(arr.shape[1]))
    if arr.shape[0] != n:
        raise BadInputError(f"{what} has {arr.shape[0]} rows but endog has {n}.")
    if not np.isfinite(arr).all():
        raise BadInputError(f"{what} has missing or non-finite values.")
    return arr, names


def prepare_data(
    endog: Any,
    exog: Any = None,
    exog_tvtp: Any = None,
    recon: Any = None,
    tvtp_standardization: tuple[np.ndarray, np.ndarray] | None = None,
) -> MarkovData:
    """Validate and standardize inputs (one sentence per problem)."""
    if isinstance(endog, pd.Series):
        index = endog.index
        y = endog.to_numpy(dtype=float)
    else:
        y = np.asarray(endog, dtype=float)
        if y.ndim != 1:
            raise BadInputError(f"endog must be one-dimensional; got shape {y.shape}.")
        index = pd.RangeIndex(len(y))
    if not np.isfinite(y).all():
        bad = int((~np.isfinite(y)).sum())
        raise BadInputError(f"endog has {bad} missing or non-finite value(s); drop or fill them.")
    if len(y) < MIN_NOBS:
        raise BadInputError(f"endog has {len(y)} observations; at least {MIN_NOBS} are needed.")
    if np.std(y) == 0:
        raise BadInputError("endog is constant; there is nothing to switch.")
    x, xnames = _frame(exog, len(y), "exog", "x")
    z, znames = _frame(exog_tvtp, len(y), "exog_tvtp", "z")
    if tvtp_standardization is None:
        zm = z.mean(axis=0) if z.shape[1] else np.zeros(0)
        zs = z.std(axis=0) if z.shape[1] else np.zeros(0)
        if z.shape[1] and (zs == 0).any():
            raise BadInputError(f"exog_tvtp column {znames[int(np.argmin(zs))]!r} is constant.")
    else:
        zm, zs = tvtp_standardization
    r = np.zeros(len(y)) if recon is None else np.asarray(recon, dtype=float).reshape(-1)
    if r.shape[0] != len(y):
        raise BadInputError(f"recon has {r.shape[0]} rows but endog has {len(y)}.")
    return MarkovData(
        endog=y,
        index=index,
        exog=x,
        exog_names=xnames,
        tvtp=(z - zm) / np.where(zs == 0, 1.0, zs) if z.shape[1] else z,
        tvtp_names=znames,
        tvtp_mean=zm,
        tvtp_sd=zs,
        recon=r,
    )


def coords(data: MarkovData, k: int) -> dict[str, Any]:
    return {
        D.REGIME: list(range(k)),
        D.REGIME_TO: list(range(k)),
        D.EXOG: list(data.exog_names),
        D.TVTP: list(data.tvtp_names),
        D.MONTH: [str(i) for i in data.index],
    }


def build_model(data: MarkovData, spec: MarkovSpec, *, likelihood: str = "op") -> pm.Model:
    """The PyMC model; keeps no state between calls.

    ``likelihood="scan"`` swaps the custom Op for the ``pytensor.scan`` version:
    the naive baseline of the benchmark, not for use.
    """
    k = spec.k_regimes
    if k < 2:
        raise BadInputError(f"k_regimes must be at least 2; got {k}.")
    pri = resolve_priors(spec.priors)
    ref = data_constants(data, spec)
    n_x, n_z = data.exog.shape[1], data.tvtp.shape[1]
    with pm.Model(coords=coords(data, k)) as model:
        # Data, and the constants the priors derive from them, enter as shared variables,
        # not constants: the compiled graph (and its on-disk numba cache, whose key
        # includes every constant) is then the same for every dataset of this model
        # structure. A hold-out fit, a backtest refit or a fit on other data loads the
        # compiled code instead of compiling it again (tens of CPU-seconds per structure).
        y_data = pm.Data("y", data.endog)
        x_data = pm.Data("exog", data.exog) if n_x else None
        z_data = pm.Data("tvtp", data.tvtp) if n_z else None
        r_data = pm.Data("recon", data.recon) if spec.recon_effect != "none" else None
        ybar = pm.Data(PRIOR_CENTRE, ref[PRIOR_CENTRE])
        s_y = pm.Data(PRIOR_SCALE, ref[PRIOR_SCALE])
        # the initial point, around which the multi-start mode search jitters its starts, is
        # the one-regime OLS fit: intercepts spread by +-1 residual sd, slopes at OLS. With a
        # lagged regressor the slopes are far from the prior's 0, and starts drawn around 0
        # reached the main mode of Stata's Fed funds example in 1 start of 10-20.
        init = initial_values(data, spec)
        mu_kw: dict[str, Any] = {"initval": init["mu"]}
        if spec.order_by == "mean":
            mu_kw["transform"] = ordered
        mu = pm.Normal(
            "mu", ybar + pri["mu"]["loc"] * s_y, pri["mu"]["scale"] * s_y, dims=D.REGIME, **mu_kw
        )
        ls_loc = pt.log(s_y) + pri["log_sigma"]["loc"]
        if spec.switching_variance:
            ls_kw: dict[str, Any] = {"initval": init["log_sigma"]}
            if spec.order_by == "sigma":
                ls_kw["transform"] = ordered
            log_sigma = pm.Normal(
                "log_sigma", ls_loc, pri["log_sigma"]["scale"], dims=D.REGIME, **ls_kw
            )
            sigma = pm.Deterministic("sigma", pt.exp(log_sigma), dims=D.REGIME)
            sigma_k = sigma
        else:
            if spec.order_by == "sigma":
                raise BadInputError("order_by='sigma' needs switching_variance=True.")
            log_sigma = pm.Normal(
                "log_sigma", ls_loc, pri["log_sigma"]["scale"], initval=init["log_sigma"]
            )
            sigma = pm.Deterministic("sigma", pt.exp(log_sigma))
            sigma_k = pt.repeat(sigma, k)
        if spec.order_by == "mean":
            gap_unit = pm.Data(GAP_UNIT, ref[GAP_UNIT])
            _repel("mu_repulsion", pt.diff(mu) / gap_unit, pri["mu_gap"]["scale"])
        else:
            _repel("log_sigma_repulsion", pt.diff(log_sigma), pri["log_sigma_gap"]["scale"])
        mean = pt.shape_padleft(mu)  # (1, k)
        if n_x:
            scale = pri["beta"]["scale"] * s_y / pm.Data(EXOG_SCALE, ref[EXOG_SCALE])
            if spec.switching_exog:
                beta = pm.Normal(
                    "beta",
                    0.0,
                    pt.broadcast_to(scale, (k, n_x)),
                    dims=(D.REGIME, D.EXOG),
                    initval=init["beta"],
                )
                mean = mean + pt.dot(x_data, beta.T)
            else:
                beta = pm.Normal("beta", 0.0, scale, dims=D.EXOG, initval=init["beta"])
                mean = mean + pt.shape_padright(pt.dot(x_data, beta))
        if spec.recon_effect == "shared":
            gamma = pm.Normal("gamma", 0.0, pri["gamma"]["scale"] * s_y)
            mean = mean + pt.shape_padright(r_data * gamma)
        elif spec.recon_effect == "switching":
            gamma = pm.Normal("gamma", 0.0, pri["gamma"]["scale"] * s_y, dims=D.REGIME)
            mean = mean + pt.outer(r_data, gamma)
        yy = pt.shape_padright(y_data)
        if spec.emission == "studentt":
            nu = pm.Gamma("nu", pri["nu"]["alpha"], pri["nu"]["beta"])
            log_emission = pm.logp(pm.StudentT.dist(nu=nu, mu=mean, sigma=sigma_k), yy)
        else:
            log_emission = pm.logp(pm.Normal.dist(mu=mean, sigma=sigma_k), yy)
        if n_z:
            transition, typical = _tvtp_transitions(z_data, n_z, k, pri)
            first = transition[0]
        else:
            transition = constant_transitions(k, pri)
            first = typical = transition
        _occupy("occupancy", ergodic(typical, k), pri["occupancy"]["alpha"])
        initial = ergodic(first, k)
        if likelihood == "scan":
            from regime.bayes.hmm import scan_loglike

            pm.Potential("loglike", scan_loglike(log_emission, transition, initial))
        else:
            pm.Potential("loglike", hmm_loglike(log_emission, transition, initial))
    return model


def initial_values(data: MarkovData, spec: MarkovSpec) -> dict[str, np.ndarray]:
    """Initial values of ``mu``, ``log_sigma`` and ``beta`` (when there is exog) from the
    one-regime OLS fit (:func:`ols_fit`): intercepts spread by +-1 residual sd, log sds at
    the log residual sd (spread by +-0.5 when ordered by sigma), slopes at OLS."""
    k, n_x = spec.k_regimes, data.exog.shape[1]
    c0, b0, s_e = ols_fit(data)
    out = {"mu": c0 + np.linspace(-s_e, s_e, k)}
    if not spec.switching_variance:
        out["log_sigma"] = np.asarray(np.log(s_e))
    elif spec.order_by == "sigma":
        out["log_sigma"] = np.log(s_e) + np.linspace(-0.5, 0.5, k)
    else:
        out["log_sigma"] = np.full(k, np.log(s_e))
    if n_x:
        out["beta"] = np.broadcast_to(b0, (k, n_x)).copy() if spec.switching_exog else b0
    return out


def structure_key(data: MarkovData, spec: MarkovSpec) -> str:
    """What fixes the graph of :func:`build_model`: the spec and the exog and TVTP columns.

    Two models with the same key differ only in their shared variables and initial
    values, which :func:`swap_data` replaces.
    """
    return stable_hash({"spec": asdict(spec), "exog": data.exog_names, "tvtp": data.tvtp_names})


def swap_data(model: pm.Model, data: MarkovData, spec: MarkovSpec) -> None:
    """Give ``model`` (built by :func:`build_model` for the same :func:`structure_key`)
    the data ``data``: its shared variables, initial values and month coordinate.

    Compiled functions of the model that bound the old arrays must be rebound
    (:func:`regime.bayes.fit.rebind`); nothing needs compiling again.
    """
    values = {
        "y": data.endog,
        "exog": data.exog,
        "tvtp": data.tvtp,
        "recon": data.recon,
        **data_constants(data, spec),
    }
    names = [v.name for v in model.data_vars]
    missing = [n for n in names if n not in values]
    if missing:  # a shared variable added to build_model must be swapped here too
        raise RuntimeError(f"swap_data does not know the model's data {missing}")
    pm.set_data({n: values[n] for n in names}, model=model)
    for name, value in initial_values(data, spec).items():
        model.set_initval(model[name], value)
    model.set_dim(D.MONTH, data.nobs, coord_values=[str(i) for i in data.index])


def _repel(name: str, gaps: Any, scale: float) -> None:
    """Repulsion between neighbouring ordered regimes: log(1 - exp(-(gap / scale)^2)).

    Multiplies the ordered prior by a factor that is 0 when two regimes coincide,
    0.63 at ``scale`` apart and 0.98 at twice that. A K-regime model in which two regimes
    merge is a (K-1)-regime model; without this factor such merged modes draw chains
    into a funnel (the ordered transform's log-gap runs to minus infinity) and
    bimodal posteriors. ``scale = 0`` switches it off.
    """
    if scale > 0:
        pm.Potential(name, pt.sum(pt.log1mexp(-((gaps / scale) ** 2))))


def _occupy(name: str, shares: Any, alpha: float) -> None:
    """Dirichlet(alpha, ..., alpha) density on the long-run regime shares (up to a constant).

    With ``alpha > 1`` it is zero when a regime is never visited. Without it a
    regime can empty out: its share goes to zero and its mean and sd drift over
    their priors, another funnel for NUTS. ``alpha = 1`` switches it off.
    """
    if alpha != 1.0:
        pm.Potential(name, (alpha - 1.0) * pt.sum(pt.log(shares)))


# Names of the shared variables that carry the data-derived constants of the priors
PRIOR_CENTRE = "prior_centre"  # ybar: centre of the mu prior
PRIOR_SCALE = "prior_scale"  # s_y: scale of the mu, log_sigma, beta and gamma priors
GAP_UNIT = "gap_unit"  # s_e: unit of the repulsion between ordered means
EXOG_SCALE = "exog_scale"  # s_x: sd of each exog column (1 where constant)


def data_constants(data: MarkovData, spec: MarkovSpec) -> dict[str, Any]:
    """Every constant :func:`build_model` derives from the data, by shared-variable name:
    ``ybar`` and ``s_y`` (:func:`prior_reference`), ``s_e`` (:func:`residual_scale`) and
    the exog sds ``s_x``. They enter the model as data, not as graph constants."""
    ybar, s_y = prior_reference(data, spec)
    sx = data.exog.std(axis=0)
    return {
        PRIOR_CENTRE: ybar,
        PRIOR_SCALE: s_y,
        GAP_UNIT: residual_scale(data, spec),
        EXOG_SCALE: np.where(sx > 0, sx, 1.0),
    }


def prior_reference(data: MarkovData, spec: MarkovSpec) -> tuple[float, float]:
    """(centre, scale) of the data-scaled priors: ``spec.prior_reference`` or the
    sample mean and sd of ``endog`` (same units as ``endog``)."""
    if spec.prior_reference is not None:
        centre, scale = spec.prior_reference
        return float(centre), float(scale)
    return float(data.endog.mean()), float(data.endog.std())


def residual_scale(data: MarkovData, spec: MarkovSpec) -> float:
    """Sd of ``endog`` left after an OLS fit on a constant and ``exog`` (the sample sd
    without exog; the reference scale when ``spec.prior_reference`` is set).

    The unit of the repulsion between regime means: two intercepts are close or far
    relative to the noise around the regression, not relative to the spread that the
    regressors explain (a lagged rate explains ~95% of the Fed funds variance).
    """
    if spec.prior_reference is not None or not data.exog.shape[1]:
        return prior_reference(data, spec)[1]
    return ols_fit(data)[2]


def ols_fit(data: MarkovData) -> tuple[float, np.ndarray, float]:
    """(intercept, exog coefficients, residual sd) of the one-regime OLS fit of endog.

    The residual sd is floored at 1e-6 of the sample sd (exog that explain endog exactly
    would otherwise give a zero unit and a log of zero in the initial point).
    """
    x = np.column_stack([np.ones(data.nobs), data.exog])
    coef = np.linalg.lstsq(x, data.endog, rcond=None)[0]
    resid_sd = max(float(np.std(data.endog - x @ coef)), 1e-6 * float(np.std(data.endog)))
    return float(coef[0]), np.asarray(coef[1:]), resid_sd


# Free variables of the switching logits (sampler coordinates, see _switch_logits)
LEAVE, SPLIT = "a_leave", "a_split"


def _switch_logits(k: int, pri: dict[str, dict[str, float]]) -> Any:
    """(k, k) logits ``a_ij`` of moving i -> j against staying: 0 on the diagonal, iid
    Normal(loc, scale) (the ``a`` prior) off it, sampled as each row's exit rate and split.

    The sampler's coordinates for row i are ``a_leave[i] = log sum_{j != i} exp(a_ij)``,
    the log-odds of leaving i, and (K > 2) ``a_split[i]``, the K-2 log-ratios of where a
    move out of i goes, against the first other regime:
    ``a_ij = a_leave_i + log_softmax([0, a_split_i])_j``. The map has Jacobian 1.

    Why: given a regime path, row i's likelihood factorises into leaving against staying
    (``a_leave`` alone) and the destinations of the moves (``a_split`` alone), so these
    coordinates are nearly independent a posteriori. In the ``a_ij`` coordinates, the
    logits of a rarely taken and of a common exit move together, and NUTS mixed slowly
    along them: on the K=3, T=800 model benchmark the rare transitions' min bulk ESS was
    730-990 of 2000 draws over seeds 1-4, and 1020-1730 in these coordinates.

    The prior is unchanged: the free variables carry stand-in Normal densities, which the
    ``a_prior`` potential replaces by the iid Normal density of the ``a_ij``. At K=2,
    ``a_leave`` is the single logit and carries the prior itself.
    """
    off = ~np.eye(k, dtype=bool)
    loc, scale = pri["a"]["loc"], pri["a"]["scale"]
    if k == 2:
        leave = pm.Normal(LEAVE, loc, scale, shape=k)
        return pt.zeros((k, k))[off].set(leave)
    # stand-ins centred where the Normal(loc, scale) logits put the exit rate and split,
    # so the initial point is a_ij = loc, as at K=2
    leave_d = pm.Normal.dist(loc + np.log(k - 1), scale)
    split_d = pm.Normal.dist(0.0, scale * np.sqrt(2.0))
    leave = pm.Normal(LEAVE, loc + np.log(k - 1), scale, shape=k)
    split = pm.Normal(SPLIT, 0.0, scale * np.sqrt(2.0), shape=(k, k - 2))
    share = pt.concatenate([pt.zeros((k, 1)), split], axis=1)
    share = share - pt.logsumexp(share, axis=1, keepdims=True)
    a_off = (leave[:, None] + share).ravel()
    pm.Potential(
        "a_prior",
        pt.sum(pm.logp(pm.Normal.dist(loc, scale), a_off))
        - pt.sum(pm.logp(leave_d, leave))
        - pt.sum(pm.logp(split_d, split)),
    )
    return pt.zeros((k, k))[off].set(a_off)


def leave_split(a: np.ndarray) -> dict[str, np.ndarray]:
    """The sampler's coordinates (``a_leave``, ``a_split``) of logits ``a`` (..., k, k)."""
    k = a.shape[-1]
    off = ~np.eye(k, dtype=bool)
    a_off = a[..., off].reshape(*a.shape[:-2], k, k - 1)
    out = {LEAVE: np.logaddexp.reduce(a_off, axis=-1)}
    if k > 2:
        out[SPLIT] = a_off[..., 1:] - a_off[..., :1]
    return out


def constant_transitions(k: int, pri: dict[str, dict[str, float]]) -> Any:
    """(k, k) transition matrix ``p = softmax_j(a_ij)``, ``a_ii = 0``, the logits under the
    ``a`` prior (the constant-transition case of every regime model)."""
    return pm.Deterministic(
        "p", pt.special.softmax(_switch_logits(k, pri), axis=-1), dims=(D.REGIME, D.REGIME_TO)
    )


def _tvtp_transitions(
    tvtp: Any, n_z: int, k: int, pri: dict[str, dict[str, float]]
) -> tuple[Any, Any]:
    """(T-1, k, k) transition matrices from z_0..z_{T-2}, diagonal logits fixed at 0,
    and the (k, k) matrix at average features (z = 0)."""
    off = ~np.eye(k, dtype=bool)
    a = pm.Deterministic("a", _switch_logits(k, pri), dims=(D.REGIME, D.REGIME_TO))
    b_free = pm.Normal("b_free", 0.0, pri["b"]["scale"], shape=(k * (k - 1), n_z))
    b = pm.Deterministic(
        "b", pt.zeros((k, k, n_z))[off].set(b_free), dims=(D.REGIME, D.REGIME_TO, D.TVTP)
    )
    z = tvtp[:-1]  # (T-1, n_z)
    logits = a[None, :, :] + pt.tensordot(z, b, axes=[[1], [2]])  # (T-1, k, k)
    return pt.special.softmax(logits, axis=-1), pt.special.softmax(a, axis=-1)


def ergodic(p: Any, k: int) -> Any:
    """Stationary distribution of a row-stochastic (k, k) tensor (one Op with an analytic
    gradient: :class:`regime.bayes.hmm.Ergodic`)."""
    return ergodic_op(p)


# --------------------------------------------------------------------------- NumPy side


def transition_numpy(post: dict[str, np.ndarray], tvtp: np.ndarray, k: int) -> np.ndarray:
    """Transition matrices per draw: (S, 1, k, k) constant or (S, T-1, k, k) TVTP.

    ``post`` holds stacked draws (draw axis first) of ``p`` or ``a``/``b``;
    ``tvtp`` is the standardized (T, n_z) feature matrix.
    """
    if "p" in post:
        return np.asarray(post["p"])[:, None, :, :]
    a, b = np.asarray(post["a"]), np.asarray(post["b"])
    logits = a[:, None] + np.einsum("tz,sijz->stij", tvtp[:-1], b)
    logits -= logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


def emission_numpy(
    post: dict[str, np.ndarray], data: MarkovData, spec: MarkovSpec, endog: np.ndarray | None = None
) -> np.ndarray:
    """``log p(y_t | S_t = k)`` per draw: (S, T, k)."""
    from scipy import stats

    y = data.endog if endog is None else endog
    k = spec.k_regimes
    mu = np.asarray(post["mu"])  # (S, k)
    mean = np.broadcast_to(mu[:, None, :], (mu.shape[0], len(y), k)).copy()
    if data.exog.shape[1]:
        beta = np.asarray(post["beta"])
        if spec.switching_exog:
            mean += np.einsum("tx,skx->stk", data.exog, beta)
        else:
            mean += np.einsum("tx,sx->st", data.exog, beta)[:, :, None]
    if spec.recon_effect == "shared":
        mean += data.recon[None, :, None] * np.asarray(post["gamma"])[:, None, None]
    elif spec.recon_effect == "switching":
        mean += data.recon[None, :, None] * np.asarray(post["gamma"])[:, None, :]
    sigma = np.asarray(post["sigma"])
    sigma = sigma[:, None, :] if sigma.ndim == 2 else sigma[:, None, None]
    if spec.emission == "studentt":
        nu = np.asarray(post["nu"])[:, None, None]
        return np.asarray(stats.t.logpdf(y[None, :, None], nu, loc=mean, scale=sigma))
    z = (y[None, :, None] - mean) / sigma
    return np.asarray(-0.5 * z**2 - np.log(sigma) - 0.5 * np.log(2 * np.pi))


def initial_numpy(trans: np.ndarray) -> np.ndarray:
    """Ergodic distribution of each draw's first transition matrix: (S, k)."""
    p0 = trans[:, 0]
    k = p0.shape[-1]
    a = np.eye(k)[None] - np.swapaxes(p0, 1, 2) + 1.0
    return np.asarray(np.linalg.solve(a, np.ones((p0.shape[0], k, 1)))[..., 0])
