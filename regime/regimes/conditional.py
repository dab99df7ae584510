"""Conditional (scenario) forecasts of the regime-switching VAR; reverse stress.

Pure NumPy; knows nothing of PyMC. A model hands over :class:`VARDraws` (one
posterior draw per sample, in the variables' units) and gets
:class:`ConditionalForecast` back.

Semantics. A :class:`Constraint` fixes one variable at some forecast months
``h = 1..H`` (month 0 is the last observed month):

- ``kind="cumulative"`` (default): the sum of the variable's monthly values over
  months 1..h, i.e. its path *relative to the last observed month* (a Fed funds
  path in pp above today's level, a dollar path in % log change, a cumulative
  relative return as the sum of monthly % returns);
- ``kind="change"``: the month-h value itself;
- hard (``sd=None``): equality; soft: ``value = path + e``, ``e ~ N(0, sd^2)``;
- :meth:`Constraint.hold` freezes a variable (cumulative 0 in every month).

Every variable that is not named is drawn from its conditional distribution.

Method. For one posterior draw theta and one regime path s_1..s_H the future
X = (x_1..x_H) is jointly Gaussian, X = mu(s) + M(s) eps, and the constraints
are linear, C X + e = v. The regime path is inferred by sequential Monte Carlo
over (theta, s): particle i carries posterior draw theta_i and its regime
path; month h's regime is drawn from Pr[s_h = k | s_{h-1}] x p(v_h | v_<h, s_<h,
s_h = k, theta_i) (the fully adapted proposal; the predictive density comes
from a Kalman filter on the state (x_h..x_{h-p+1}, cumulative sums)), and the
particle's weight is multiplied by the sum over k. Particles are resampled
(systematic) when the effective sample size falls below half. Because theta is
part of the particle, the constraints also reweight the parameter draws, as in
Waggoner and Zha (1999). Given (theta_i, s_i) the paths are drawn exactly from
the Gaussian conditional by Matheron's rule, X* = X + M M'C' (C M M'C' + D)^-1
(v - C X - e), with X, e drawn from their priors (hard rows: D = 0).

The effective sample size of each month's incremental weights is reported
(``ess``); a low minimum is itself a plausibility warning: the scenario needs
paths the model rarely produces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numba
import numpy as np
import pandas as pd
from scipy import special, stats

from regime.errors import BadInputError

PLAUSIBLE_Z = 8.0  # a hard value this many baseline sds from the baseline median is refused
LOW_ESS_SHARE = 0.1  # ESS below this share of the samples: plausibility warning
RESAMPLE_SHARE = 0.5  # resample when the ESS falls below this share
_RANK_TOL = 1e-9  # relative singular-value tolerance of the hard-constraint system
# Reverse stress. The horizon is capped because each sample carries its (H n) x (H n)
# impulse matrix: at 36 months, 4 variables and 4000 samples that is 0.66 GB per copy,
# and beyond about three years a VAR forecast is close to its unconditional mean anyway.
MAX_STRESS_HORIZON = 36  # months
STRESS_SAMPLES = 4000  # baseline samples (posterior draws, with replacement if fewer)
STRESS_TOP = 5  # regime sequences reported


@dataclass(frozen=True)
class Constraint:
    """One variable fixed over some forecast months (see module docstring).

    ``months`` are 1-based forecast months; ``values`` in the variable's units
    (cumulative: relative to the last observed month); ``sd`` None for hard,
    else one sd (> 0) per month in the same units.
    """

    variable: str
    months: tuple[int, ...]
    values: tuple[float, ...]
    sd: tuple[float, ...] | None = None
    kind: Literal["cumulative", "change"] = "cumulative"

    @classmethod
    def path(
        cls,
        variable: str,
        values: list[float] | np.ndarray,
        sd: float | list[float] | np.ndarray | None = None,
        kind: Literal["cumulative", "change"] = "cumulative",
    ) -> Constraint:
        """Months 1..len(values); ``sd`` a scalar or one per month (None: hard)."""
        v = tuple(float(a) for a in np.ravel(values))
        months = tuple(range(1, len(v) + 1))
        s = None if sd is None else tuple(float(a) for a in np.broadcast_to(sd, (len(v),)))
        return cls(variable, months, v, s, kind)

    @classmethod
    def hold(cls, variable: str, horizon: int) -> Constraint:
        """Freeze ``variable`` at its last observed level (cumulative change 0)."""
        return cls(variable, tuple(range(1, horizon + 1)), (0.0,) * horizon)

    @property
    def hard(self) -> bool:
        return self.sd is None


@dataclass(frozen=True)
class VARDraws:
    """Posterior draws of a VAR for forecasting, one per sample, variables' units.

    ``const`` (N, K, n); ``coef`` (N, K, p, n, n) with ``coef[..., l, i, j]`` the
    effect of variable j at lag l+1 in equation i; ``chol`` (N, K, n, n) Cholesky
    factors of the residual covariances; ``transition`` (N, H, K, K) with
    ``transition[:, h-1, i, j] = Pr[S_h = j | S_{h-1} = i]``; ``initial`` (N, K)
    ``Pr[S_0 | data]`` (filtered, last observed month); ``history`` (p, n) the
    last p observations, most recent first.
    """

    names: tuple[str, ...]
    const: np.ndarray
    coef: np.ndarray
    chol: np.ndarray
    transition: np.ndarray
    initial: np.ndarray
    history: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.const.shape[0])

    @property
    def k_regimes(self) -> int:
        return int(self.const.shape[1])

    @property
    def n_vars(self) -> int:
        return int(self.const.shape[2])

    @property
    def order(self) -> int:
        return int(self.coef.shape[2])


@dataclass(frozen=True)
class ConditionalForecast:
    """Forecast samples: ``paths`` (N, H, n) monthly values in the variables' units,
    ``regimes`` (N, H); ``ess`` (H,) effective sample size of each month's
    incremental weights (N where nothing is constrained); ``log_evidence`` the
    log predictive density of the constraint values (0 without constraints);
    ``n_unique`` distinct posterior draws among the samples."""

    names: tuple[str, ...]
    paths: np.ndarray
    regimes: np.ndarray
    ess: np.ndarray
    log_evidence: float
    n_unique: int
    k_regimes: int
    constraints: tuple[Constraint, ...] = field(default=())

    @property
    def n_samples(self) -> int:
        return int(self.paths.shape[0])

    @property
    def horizon(self) -> int:
        return int(self.paths.shape[1])

    @property
    def cumulative(self) -> np.ndarray:
        """(N, H, n) paths relative to the last observed month (running sums)."""
        return np.asarray(np.cumsum(self.paths, axis=1))

    @property
    def ess_min(self) -> float:
        return float(self.ess.min()) if self.ess.size else float(self.n_samples)

    @property
    def low_ess(self) -> bool:
        """True when the scenario is implausible under the model (ESS share < 10%)."""
        return self.ess_min < LOW_ESS_SHARE * self.n_samples

    def regime_probabilities(self) -> np.ndarray:
        """(H, K) share of samples in each regime per forecast month."""
        return np.stack([(self.regimes == k).mean(axis=0) for k in range(self.k_regimes)], 1)

    def to_dataset(self) -> Any:
        """``xarray.Dataset`` with ``value`` and ``cumulative`` (sample, month, variable),
        ``regime`` (sample, month) and ``ess`` (month); months 1..H."""
        import xarray as xr

        coords = {
            "sample": np.arange(self.n_samples),
            "month": np.arange(1, self.horizon + 1),
            "variable": list(self.names),
        }
        dims3 = ("sample", "month", "variable")
        return xr.Dataset(
            {
                "value": (dims3, self.paths),
                "cumulative": (dims3, self.cumulative),
                "regime": (("sample", "month"), self.regimes),
                "ess": (("month",), self.ess),
            },
            coords=coords,
            attrs={"log_evidence": self.log_evidence, "n_unique": self.n_unique},
        )

    def variable(self, name: str, cumulative: bool = True) -> np.ndarray:
        """(N, H) samples of one variable."""
        j = self.names.index(name)
        return (self.cumulative if cumulative else self.paths)[:, :, j]


@dataclass(frozen=True)
class StressResult:
    """Reverse stress: ``probability`` Pr[cumulative variable <= -loss by month H]
    under the baseline (Rao-Blackwellized: mean over baseline samples of the Gaussian
    tail given each sample's parameters and regime path), ``probability_se`` its Monte
    Carlo standard error (sd of those tails / sqrt(N)), ``probability_mc`` the plain
    share of baseline samples, ``forecast`` the paths conditional on reaching exactly
    -loss, ``sequences`` the most frequent regime sequences behind it (``regimes``: one
    digit per month 1..H; ``share`` of samples; one column per variable: its median
    cumulative change by month H among the samples with that sequence), ``macro_paths``
    median and 5%/95% cumulative paths (``variable``, ``month``, ``q05``, ``median``,
    ``q95``). Cumulative values are sums of monthly values, in the variables' units."""

    variable: str
    loss: float
    horizon: int
    probability: float
    probability_se: float
    probability_mc: float
    forecast: ConditionalForecast
    sequences: pd.DataFrame
    macro_paths: pd.DataFrame

    @property
    def n_samples(self) -> int:
        """Baseline samples behind the probabilities (and conditional samples)."""
        return self.forecast.n_samples

    def to_frame(self) -> pd.DataFrame:
        """Everything in one long table: columns ``quantity``, ``variable``, ``month``,
        ``regimes``, ``value``.

        ``quantity`` is ``loss``, ``horizon``, ``probability``, ``probability_se``,
        ``probability_mc`` or ``samples`` (one row each, ``variable`` the stressed
        one); ``q05``, ``median`` or ``q95`` (per variable and month 1..H: the
        cumulative path behind the loss); ``share`` (per regime sequence) and
        ``sequence_median`` (per sequence and variable, month H). ``regimes`` spells
        a sequence with spaces (``0 0 1``), so that spreadsheets and CSV readers keep
        it as text (a leading 0 would be lost from ``001`` read as a number).
        """
        head = {
            "loss": self.loss,
            "horizon": self.horizon,
            "probability": self.probability,
            "probability_se": self.probability_se,
            "probability_mc": self.probability_mc,
            "samples": self.n_samples,
        }
        rows: list[dict[str, Any]] = [
            {"quantity": q, "variable": self.variable, "value": v} for q, v in head.items()
        ]
        paths = self.macro_paths.melt(
            id_vars=["variable", "month"], var_name="quantity", value_name="value"
        )
        names = list(self.forecast.names)
        for _, r in self.sequences.iterrows():
            seq = " ".join(r["regimes"])
            rows.append({"quantity": "share", "regimes": seq, "value": r["share"]})
            rows.extend(
                {
                    "quantity": "sequence_median",
                    "variable": v,
                    "month": self.horizon,
                    "regimes": seq,
                    "value": r[v],
                }
                for v in names
            )
        out = pd.concat([pd.DataFrame(rows), paths], ignore_index=True)
        out["month"] = out["month"].astype("Int64")
        return out[["quantity", "variable", "month", "regimes", "value"]]


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class _Rows:
    """Constraint rows over the stacked X (H n): ``c`` (m, H n), month, variable index,
    kind (0 change, 1 cumulative), value, noise variance (0 hard)."""

    c: np.ndarray
    month: np.ndarray
    var: np.ndarray
    cum: np.ndarray
    value: np.ndarray
    noise: np.ndarray
    hard: np.ndarray

    @property
    def m(self) -> int:
        return int(self.value.shape[0])


def _rows(constraints: list[Constraint], names: tuple[str, ...], horizon: int) -> _Rows:
    n = len(names)
    month, var, cum, value, noise, hard = [], [], [], [], [], []
    for con in constraints:
        if con.variable not in names:
            raise BadInputError(
                f"The scenario constrains {con.variable!r}, which the model does not have "
                f"(variables: {', '.join(names)})."
            )
        if len(con.months) != len(con.values):
            raise BadInputError(
                f"Constraint on {con.variable!r} has months and values of different lengths."
            )
        sds = con.sd if con.sd is not None else (0.0,) * len(con.values)
        if len(sds) != len(con.values):
            raise BadInputError(f"Constraint on {con.variable!r} needs one sd per month.")
        for h, v, s in zip(con.months, con.values, sds, strict=True):
            if not 1 <= int(h) <= horizon:
                raise BadInputError(
                    f"Constraint on {con.variable!r} names month {h}, "
                    f"outside the horizon 1..{horizon}."
                )
            if not np.isfinite(v):
                raise BadInputError(
                    f"Constraint on {con.variable!r} has a non-finite value in month {h}."
                )
            if con.sd is not None and not (np.isfinite(s) and s > 0):
                raise BadInputError(
                    f"Soft constraint on {con.variable!r} has sd {s:g} in month {h}; "
                    "a soft sd must be positive."
                )
            month.append(int(h))
            var.append(names.index(con.variable))
            cum.append(con.kind == "cumulative")
            value.append(float(v))
            noise.append(float(s) ** 2)
            hard.append(con.sd is None)
    m = len(value)
    c = np.zeros((m, horizon * n))
    for r in range(m):
        h, j = month[r], var[r]
        if cum[r]:
            c[r, j : (h - 1) * n + j + 1 : n] = 1.0
        else:
            c[r, (h - 1) * n + j] = 1.0
    rows = _Rows(
        c,
        np.asarray(month, int),
        np.asarray(var, int),
        np.asarray(cum, bool),
        np.asarray(value),
        np.asarray(noise),
        np.asarray(hard, bool),
    )
    return _independent_hard(rows, names)


def _independent_hard(rows: _Rows, names: tuple[str, ...]) -> _Rows:
    """Refuse contradictory hard constraints; drop redundant (implied) hard rows."""
    hard = np.flatnonzero(rows.hard)
    if hard.size < 2:
        return rows
    keep: list[int] = []
    for r in hard:
        trial = rows.c[np.array([*keep, int(r)], dtype=np.int64)]
        sv = np.linalg.svd(trial, compute_uv=False)
        if sv.min() > _RANK_TOL * sv.max():
            keep.append(int(r))
            continue
        base = rows.c[keep]
        coeffs, *_ = np.linalg.lstsq(base.T, rows.c[r], rcond=None)
        implied = float(coeffs @ rows.value[keep])
        if abs(implied - rows.value[r]) > 1e-8 * (1.0 + abs(implied)):
            raise BadInputError(
                f"Hard constraints contradict each other: {names[rows.var[r]]!r} in month "
                f"{rows.month[r]} is set to {rows.value[r]:g} but the other hard paths "
                f"imply {implied:g}."
            )
    drop = set(hard.tolist()) - set(keep)
    sel = np.array([i for i in range(rows.m) if i not in drop], dtype=int)
    return _Rows(
        *(getattr(rows, f)[sel] for f in ("c", "month", "var", "cum", "value", "noise", "hard"))
    )


# --------------------------------------------------------------------------- simulation


def _select(draws: VARDraws, idx: np.ndarray, regimes: np.ndarray) -> tuple[np.ndarray, ...]:
    """Parameters along each sample's regime path: c (N,H,n), A (N,H,p,n,n), L (N,H,n,n)."""
    rows = idx[:, None]
    return draws.const[rows, regimes], draws.coef[rows, regimes], draws.chol[rows, regimes]


def _propagate(
    c: np.ndarray, a: np.ndarray, lc: np.ndarray, history: np.ndarray | None, eps: np.ndarray
) -> np.ndarray:
    """x_h = c_h + sum_l A_{h,l} x_{h-l} + L_h eps_h for h = 1..H: (N, H, n).

    ``history`` (p, n) most recent first, or None for zero history (impulse responses).
    """
    n_s, horizon, n = c.shape
    p = a.shape[2]
    x = np.zeros((n_s, horizon, n))
    for h in range(horizon):
        acc = c[:, h] + np.einsum("sij,sj->si", lc[:, h], eps[:, h])
        for lag in range(1, p + 1):
            if h - lag >= 0:
                prev = x[:, h - lag]
            elif history is not None:
                prev = np.broadcast_to(history[lag - h - 1], (n_s, n))
            else:
                continue
            acc = acc + np.einsum("sij,sj->si", a[:, h, lag - 1], prev)
        x[:, h] = acc
    return x


def _impulse(a: np.ndarray, lc: np.ndarray) -> np.ndarray:
    """M (N, H n, H n): d x_h / d eps_tau along each sample's regime path."""
    n_s, horizon, n = lc.shape[:3]
    p = a.shape[2]
    m = np.zeros((n_s, horizon, n, horizon * n))
    for h in range(horizon):
        m[:, h, :, h * n : (h + 1) * n] = lc[:, h]
        w = h * n  # shocks after month h do not move x_h
        for lag in range(1, min(p, h) + 1):
            m[:, h, :, :w] += a[:, h, lag - 1] @ m[:, h - lag, :, :w]
    return m.reshape(n_s, horizon * n, horizon * n)


def _rows_times(rows: _Rows, mm: np.ndarray, horizon: int, n: int) -> np.ndarray:
    """C @ M for constraint rows that select a month's value or a running sum: (N, m, Hn)."""
    m4 = mm.reshape(mm.shape[0], horizon, n, -1)
    out = np.empty((mm.shape[0], rows.m, mm.shape[-1]))
    csum = np.cumsum(m4, axis=1) if rows.cum.any() else m4
    for r in range(rows.m):
        src = csum if rows.cum[r] else m4
        out[:, r] = src[:, rows.month[r] - 1, rows.var[r]]
    return out


def _sample_regimes(
    draws: VARDraws, idx: np.ndarray, horizon: int, rng: np.random.Generator
) -> np.ndarray:
    n_s = idx.shape[0]
    out = np.empty((n_s, horizon), dtype=np.int64)
    s = _categorical(draws.initial[idx], rng)
    for h in range(horizon):
        s = _categorical(draws.transition[idx, h, s], rng)
        out[:, h] = s
    return out


def _categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), probs.shape[1] - 1)


def _systematic(w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = w.shape[0]
    pos = (np.arange(n) + rng.random()) / n
    return np.minimum(np.searchsorted(np.cumsum(w / w.sum()), pos), n - 1)


def _kalman_system(draws: VARDraws) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """State (x_h, .., x_{h-p+1}, cum_h), d = n (p + 1): F (N,K,d,d), g (N,K,d), Q (N,K,d,d)."""
    n_s, k, n = draws.const.shape
    p = draws.order
    d = n * (p + 1)
    f = np.zeros((n_s, k, d, d))
    a_row = np.concatenate([draws.coef[:, :, lag] for lag in range(p)], axis=-1)  # (N,K,n,np)
    f[:, :, :n, : n * p] = a_row
    for lag in range(1, p):
        f[:, :, lag * n : (lag + 1) * n, (lag - 1) * n : lag * n] = np.eye(n)
    f[:, :, n * p :, : n * p] = a_row
    f[:, :, n * p :, n * p :] = np.eye(n)
    g = np.zeros((n_s, k, d))
    g[:, :, :n] = draws.const
    g[:, :, n * p :] = draws.const
    sig = draws.chol @ np.swapaxes(draws.chol, -1, -2)
    q = np.zeros((n_s, k, d, d))
    for bi in (slice(0, n), slice(n * p, d)):
        for bj in (slice(0, n), slice(n * p, d)):
            q[:, :, bi, bj] = sig
    return f, g, q


def _smc_regimes(
    draws: VARDraws, rows: _Rows, horizon: int, idx: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Regime paths (N, H) and posterior-draw indices (N,) given the constraints;
    per-month ESS (H,) and the log evidence."""
    n_s, n, p = idx.shape[0], draws.n_vars, draws.order
    d = n * (p + 1)
    f_all, g_all, q_all = _kalman_system(draws)
    mean = np.zeros((n_s, d))
    mean[:, : n * p] = np.ravel(draws.history[:p])
    cov = np.zeros((n_s, d, d))
    # state index of each constraint row: x_h[j] (change) or cum_h[j] (cumulative)
    state_pos = np.where(rows.cum, n * p, 0) + rows.var
    last = int(rows.month.max()) if rows.m else 0
    s_prev = _categorical(draws.initial[idx], rng)
    paths = np.empty((n_s, horizon), dtype=np.int64)
    ess = np.full(horizon, float(n_s))
    logw = np.zeros(n_s)
    log_ev = 0.0
    for h in range(1, horizon + 1):
        prior = draws.transition[idx, h - 1, s_prev]  # (N, K)
        if h > last:
            s_prev = _categorical(prior, rng)
            paths[:, h - 1] = s_prev
            continue
        sel = rows.month == h
        if not sel.any():  # no constraint this month: regime from the prior, propagate it
            k_new = _categorical(prior, rng)
            f, g, q = f_all[idx, k_new], g_all[idx, k_new], q_all[idx, k_new]
            mean = np.einsum("sij,sj->si", f, mean) + g
            cov = f @ cov @ np.swapaxes(f, -1, -2) + q
            s_prev = k_new
            paths[:, h - 1] = s_prev
            continue
        pos = np.ascontiguousarray(state_pos[sel])
        v, dn = np.ascontiguousarray(rows.value[sel]), np.ascontiguousarray(rows.noise[sel])
        k_new, inc, mean, cov = _kalman_smc_step(
            f_all,
            g_all,
            q_all,
            idx,
            mean,
            cov,
            np.ascontiguousarray(prior),
            pos,
            v,
            dn,
            rng.random(n_s),
        )
        s_prev = k_new
        paths[:, h - 1] = s_prev
        wn = np.exp(logw - special.logsumexp(logw))
        log_ev += float(special.logsumexp(np.log(np.maximum(wn, 1e-300)) + inc))
        logw = logw + inc
        w = np.exp(logw - logw.max())
        ess[h - 1] = _ess(np.exp(inc - inc.max()) * wn)
        if _ess(w) < RESAMPLE_SHARE * n_s or h == last:
            pick = _systematic(w, rng)
            idx, mean, cov, s_prev = idx[pick], mean[pick], cov[pick], s_prev[pick]
            paths = paths[pick]
            logw = np.zeros(n_s)
    return paths, idx, ess, log_ev


@numba.njit(cache=True)
def _kalman_smc_step(
    f_all: np.ndarray,
    g_all: np.ndarray,
    q_all: np.ndarray,
    idx: np.ndarray,
    mean: np.ndarray,
    cov: np.ndarray,
    prior: np.ndarray,
    pos: np.ndarray,
    v: np.ndarray,
    dn: np.ndarray,
    u: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One fully adapted SMC month for every particle (Kalman predict + update).

    For particle i with draw ``idx[i]``, state mean (d,) and cov (d, d): predict under
    each regime k, evaluate log N(v; mean_k[pos], P_k[pos, pos] + diag(dn)), draw k
    with probability proportional to prior[i, k] x density (using ``u[i]``), update.
    Returns the regimes (N,), log incremental weights (N,), updated means and covs.
    """
    n_s, d = mean.shape
    k_reg = f_all.shape[1]
    m = pos.shape[0]
    k_new = np.empty(n_s, dtype=np.int64)
    inc = np.empty(n_s)
    mean_out = np.empty_like(mean)
    cov_out = np.empty_like(cov)
    mps = np.empty((k_reg, d))
    pps = np.empty((k_reg, d, d))
    lw = np.empty(k_reg)
    tmp = np.empty((d, d))
    log2pi = np.log(2.0 * np.pi)
    for i in range(n_s):
        j = idx[i]
        for r in range(k_reg):
            f = f_all[j, r]
            for a in range(d):
                acc = g_all[j, r, a]
                for b in range(d):
                    acc += f[a, b] * mean[i, b]
                mps[r, a] = acc
            for a in range(d):  # tmp = F P
                for b in range(d):
                    acc = 0.0
                    for c in range(d):
                        acc += f[a, c] * cov[i, c, b]
                    tmp[a, b] = acc
            for a in range(d):  # P_pred = F P F' + Q
                for b in range(d):
                    acc = q_all[j, r, a, b]
                    for c in range(d):
                        acc += tmp[a, c] * f[b, c]
                    pps[r, a, b] = acc
            if prior[i, r] <= 0.0:
                lw[r] = -np.inf
                continue
            s_mat = np.empty((m, m))
            innov = np.empty(m)
            for a in range(m):
                innov[a] = v[a] - mps[r, pos[a]]
                for b in range(m):
                    s_mat[a, b] = pps[r, pos[a], pos[b]]
                s_mat[a, a] += dn[a]
            chol = np.linalg.cholesky(s_mat)
            ll = -0.5 * m * log2pi
            sol = np.empty(m)
            for a in range(m):
                acc = innov[a]
                for b in range(a):
                    acc -= chol[a, b] * sol[b]
                sol[a] = acc / chol[a, a]
                ll += -0.5 * sol[a] * sol[a] - np.log(chol[a, a])
            lw[r] = np.log(prior[i, r]) + ll
        mx = lw.max()
        tot = 0.0
        for r in range(k_reg):
            tot += np.exp(lw[r] - mx)
        inc[i] = mx + np.log(tot)
        c_k = k_reg - 1
        acc = 0.0
        for r in range(k_reg):
            acc += np.exp(lw[r] - mx) / tot
            if u[i] < acc:
                c_k = r
                break
        k_new[i] = c_k
        # update with the drawn regime: gain = P[:, pos] S^-1
        pp = pps[c_k]
        s_mat = np.empty((m, m))
        innov = np.empty(m)
        for a in range(m):
            innov[a] = v[a] - mps[c_k, pos[a]]
            for b in range(m):
                s_mat[a, b] = pp[pos[a], pos[b]]
            s_mat[a, a] += dn[a]
        ph = np.empty((m, d))
        for a in range(m):
            for b in range(d):
                ph[a, b] = pp[pos[a], b]
        sinv_ph = np.linalg.solve(s_mat, ph)  # (m, d) = S^-1 P[pos, :]
        for a in range(d):
            acc = mps[c_k, a]
            for b in range(m):
                acc += sinv_ph[b, a] * innov[b]
            mean_out[i, a] = acc
        for a in range(d):
            for b in range(a, d):
                acc = pp[a, b]
                for c in range(m):
                    acc -= ph[c, a] * sinv_ph[c, b]
                cov_out[i, a, b] = acc
                cov_out[i, b, a] = acc
    return k_new, inc, mean_out, cov_out


def _ess(w: np.ndarray) -> float:
    s = w.sum()
    return float(s * s / (w * w).sum()) if s > 0 else 0.0


def conditional_forecast(
    draws: VARDraws,
    constraints: list[Constraint],
    horizon: int,
    *,
    seed: int = 0,
) -> ConditionalForecast:
    """Paths of every variable over months 1..``horizon`` given ``constraints``.

    Returns N = ``draws.n_samples`` equally weighted samples (see module
    docstring for the method). The random numbers are drawn in a fixed order
    from ``seed``, so two calls with the same draws and seed share their
    shocks (common random numbers for scenario-vs-baseline differences).
    Raises :class:`BadInputError` for a constraint on an unknown variable, a
    soft sd <= 0, contradictory hard constraints or a hard value outside the
    plausible range (more than ``PLAUSIBLE_Z`` baseline sds from the baseline
    median).
    """
    if horizon < 1:
        raise BadInputError(f"The horizon must be at least 1 month; got {horizon}.")
    if draws.transition.shape[1] < horizon:
        raise BadInputError(f"The draws cover {draws.transition.shape[1]} months, not {horizon}.")
    rows = _rows(list(constraints), draws.names, horizon)
    n_s, n = draws.n_samples, draws.n_vars
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal((n_s, horizon, n))  # drawn first: common random numbers
    eta_draw = rng.standard_normal((n_s, rows.m))
    idx0 = np.arange(n_s)
    if rows.hard.any():
        _check_plausible(draws, rows, horizon, seed)
    if rows.m:
        regimes, idx, ess, log_ev = _smc_regimes(draws, rows, horizon, idx0, rng)
    else:
        regimes = _sample_regimes(draws, idx0, horizon, rng)
        idx, ess, log_ev = idx0, np.full(horizon, float(n_s)), 0.0
    c, a, lc = _select(draws, idx, regimes)
    x = _propagate(c, a, lc, draws.history, eps)
    if rows.m:
        mm = _impulse(a, lc)
        cm = _rows_times(rows, mm, horizon, n)  # C M: (N, m, Hn)
        s_cov = cm @ cm.transpose(0, 2, 1) + np.diag(rows.noise)
        e = eta_draw * np.sqrt(rows.noise)
        resid = rows.value - x.reshape(n_s, -1) @ rows.c.T - e
        w = np.linalg.solve(s_cov, resid[..., None])[..., 0]
        adj = np.einsum("sij,sj->si", mm, np.einsum("smj,sm->sj", cm, w))
        x = x + adj.reshape(n_s, horizon, n)
    return ConditionalForecast(
        names=draws.names,
        paths=x,
        regimes=regimes,
        ess=ess,
        log_evidence=log_ev,
        n_unique=int(np.unique(idx).size),
        k_regimes=draws.k_regimes,
        constraints=tuple(constraints),
    )


def _check_plausible(draws: VARDraws, rows: _Rows, horizon: int, seed: int) -> None:
    """Refuse a hard value further than PLAUSIBLE_Z baseline sds from the baseline median."""
    rng = np.random.default_rng(seed + 104729)
    n_s = min(draws.n_samples, 2000)
    idx = np.arange(n_s)
    reg = _sample_regimes(draws, idx, horizon, rng)
    c, a, lc = _select(draws, idx, reg)
    x = _propagate(c, a, lc, draws.history, rng.standard_normal((n_s, horizon, draws.n_vars)))
    vals = x.reshape(n_s, -1) @ rows.c.T  # (n_s, m)
    med = np.median(vals, axis=0)
    sd = vals.std(axis=0)
    for r in np.flatnonzero(rows.hard):
        if abs(rows.value[r] - med[r]) > PLAUSIBLE_Z * sd[r]:
            lo, hi = med[r] - PLAUSIBLE_Z * sd[r], med[r] + PLAUSIBLE_Z * sd[r]
            what = "cumulative change" if rows.cum[r] else "value"
            raise BadInputError(
                f"The hard {what} {rows.value[r]:g} of {draws.names[rows.var[r]]!r} in month "
                f"{rows.month[r]} is outside the plausible range {lo:.3g}..{hi:.3g} "
                f"({PLAUSIBLE_Z:g} sds around the baseline median)."
            )


def path_moments(
    draws: VARDraws, idx: np.ndarray, regimes: np.ndarray, row: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of the linear functional ``row`` (H n,) of X given each sample's
    parameters and regime path: (N,), (N,)."""
    c, a, lc = _select(draws, idx, regimes)
    horizon, n = regimes.shape[1], draws.n_vars
    mu = _propagate(c, a, lc, draws.history, np.zeros((idx.shape[0], horizon, n)))
    mm = _impulse(a, lc)
    cm = row @ mm  # (N, Hn)
    return mu.reshape(idx.shape[0], -1) @ row, np.sqrt((cm**2).sum(-1))


def check_stress(loss: float, horizon: int, *, top: int = 1, n_samples: int = 1) -> None:
    """Refuse a stress loss that is not a positive number, a horizon outside
    1..``MAX_STRESS_HORIZON`` months, and fewer than one sequence or sample."""
    if not (np.isfinite(loss) and loss > 0):
        raise BadInputError(f"The stress loss must be a positive number; got {loss:g}.")
    if not 1 <= horizon <= MAX_STRESS_HORIZON:
        raise BadInputError(
            f"The stress horizon must be 1..{MAX_STRESS_HORIZON} months; got {horizon}."
        )
    if top < 1:
        raise BadInputError(f"The number of regime sequences must be at least 1; got {top}.")
    if n_samples < 1:
        raise BadInputError(f"The number of stress samples must be at least 1; got {n_samples}.")


def reverse_stress(
    draws: VARDraws,
    loss: float,
    horizon: int,
    *,
    variable: str = "rel_return",
    seed: int = 0,
    top: int = STRESS_TOP,
) -> StressResult:
    """The macro paths and regimes behind ``variable`` summing to ``-loss`` by ``horizon``.

    ``loss`` is positive, in the variable's units (relative return: % points, the
    sum of monthly % returns). Raises :class:`BadInputError` for arguments
    :func:`check_stress` refuses and when no baseline sample reaches the loss.
    """
    if variable not in draws.names:
        raise BadInputError(f"The model has no variable {variable!r} to stress.")
    check_stress(loss, horizon, top=top)
    base = conditional_forecast(draws, [], horizon, seed=seed)
    j = draws.names.index(variable)
    cum = base.cumulative[:, -1, j]
    hits = cum <= -loss
    if not hits.any():
        raise BadInputError(
            f"No baseline sample of {base.n_samples} reaches a loss of {loss:g} in {variable!r} "
            f"by month {horizon} (worst: {-cum.min():.3g})."
        )
    row = np.zeros(horizon * draws.n_vars)
    row[j :: draws.n_vars] = 1.0
    mu, sd = path_moments(draws, np.arange(base.n_samples), base.regimes, row)
    tail = stats.norm.cdf((-loss - mu) / sd)
    cons = Constraint(variable, (horizon,), (-float(loss),))
    fc = conditional_forecast(draws, [cons], horizon, seed=seed)
    labels = pd.Series(["".join(map(str, r)) for r in fc.regimes])
    seqs = labels.value_counts(normalize=True).head(top)
    end = pd.DataFrame(fc.cumulative[:, -1, :], columns=list(draws.names))
    medians = end.groupby(labels.to_numpy()).median().loc[seqs.index]
    sequences = pd.concat(
        [seqs.rename("share").rename_axis("regimes"), medians.rename_axis("regimes")], axis=1
    ).reset_index()
    cumul = fc.cumulative
    recs = []
    for i, name in enumerate(draws.names):
        q = np.quantile(cumul[:, :, i], [0.05, 0.5, 0.95], axis=0)
        for h in range(horizon):
            recs.append(
                {
                    "variable": name,
                    "month": h + 1,
                    "q05": q[0, h],
                    "median": q[1, h],
                    "q95": q[2, h],
                }
            )
    return StressResult(
        variable=variable,
        loss=float(loss),
        horizon=horizon,
        probability=float(tail.mean()),
        probability_se=float(tail.std(ddof=1) / np.sqrt(tail.size)) if tail.size > 1 else np.nan,
        probability_mc=float(hits.mean()),
        forecast=fc,
        sequences=sequences,
        macro_paths=pd.DataFrame(recs),
    )
