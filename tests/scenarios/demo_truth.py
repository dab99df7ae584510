"""The demo simulator's own scenario answers, by brute force (no model code).

From the simulator's true state at the end of the demo sample
(:func:`regime.data.sample.simulate_state`), :func:`simulate_futures` draws many
12-month futures with :func:`regime.data.sample.simulate_paths`. A scenario names
macro level paths; :func:`scenario_targets` turns them into the level paths the
scenario engine itself uses (:func:`regime.scenarios.paths.central_path`, on the
demo panel's history, so replays use the panel's windows) and summarises each named
variable by its cumulative change from the last month at :data:`CHECKPOINTS`
(fedfunds pp, inflation = CPI YoY pp, dollar 100 x log change %). Unnamed variables
stay free, as in the VAR's conditional forecast.

:func:`conditional_diff` estimates E[12-month cumulative relative return | the
named summaries = the scenario's] minus the unconditional mean (the baseline) by
kernel regression on the simulated futures: a Gaussian product kernel with
bandwidth ``bandwidth`` x each summary's sd, local-linear (the intercept of a
kernel-weighted least squares on the summaries' distance to the target, which
removes the first-order bias a local mean has where the futures' density slopes),
with its Monte Carlo error from batch means over the simulation chunks and the
weights' Kish effective sample size.

The 12-month return is compounded, as the engine's ``cumulative`` is
(``100 * (prod(1 + r/100) - 1)``). Its conditional mean given the macro and regime
path is Rao-Blackwellised: the relative return's shock enters no other equation
and is independent across months, so E[prod(1 + r_t/100) | macro, regimes] =
prod(1 + m_t/100) with m_t the return equation's mean (regime constant, lagged
macro changes, June effect). The realised return is kept to check that identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from regime.data.sample import (
    HISTORY,
    SampleParams,
    SampleState,
    june_effects,
    relative_return_mean,
    simulate_paths,
    simulate_state,
)
from regime.scenarios.paths import central_path, history_user_units
from regime.scenarios.spec import PATH_VARIABLES, ScenarioSpec

HORIZON = 12  # months: the built-in scenarios' horizon and the summary's DECISION_MONTH
CHECKPOINTS = (3, 6, 9, 11, 12)  # months whose cumulative macro changes are stored
N_CHUNKS = 10
CHUNK = 200_000  # paths per chunk: ~0.45 GB of simulator arrays at a time


@dataclass(frozen=True)
class Futures:
    """Simulated futures: per path the named-variable summaries and 12-month returns.

    ``summaries[var]`` (N, len(CHECKPOINTS)): cumulative change from the last month;
    ``mean_cum`` (N,): Rao-Blackwellised 12-month compounded relative return, %;
    ``mean_cum_no_june`` the same without the June effect; ``raw_cum`` the realised
    one; ``chunk`` (N,) the simulation chunk of each path (for batch means).
    """

    summaries: dict[str, np.ndarray]
    mean_cum: np.ndarray
    mean_cum_no_june: np.ndarray
    raw_cum: np.ndarray
    regime_sum: np.ndarray
    n_easing: np.ndarray
    lag_sums: np.ndarray
    chunk: np.ndarray


@dataclass(frozen=True)
class Estimate:
    """A scenario-minus-baseline difference of the 12-month cumulative return, pp."""

    diff: float
    se: float  # Monte Carlo standard error (batch means over chunks)
    ess: float  # Kish effective sample size of the kernel weights (all chunks)
    diff_nw: float  # the local-mean (Nadaraya-Watson) estimate, for the bias check


def _compound(r: np.ndarray) -> np.ndarray:
    return np.asarray(100.0 * (np.prod(1.0 + r / 100.0, axis=1) - 1.0))


def _summaries(st: SampleState) -> dict[str, np.ndarray]:
    last = HISTORY - 1
    at = [last + h for h in CHECKPOINTS]
    yoy = st.cpi_yoy
    return {
        "fedfunds": st.fed[:, at] - st.fed[:, [last]],
        "inflation": yoy[:, at] - yoy[:, [last]],
        "dollar": st.usd[:, at] - st.usd[:, [last]],  # usd is 100 x log index
    }


def _return_means(st: SampleState, months: pd.PeriodIndex, p: SampleParams) -> np.ndarray:
    """(N, H) the return equation's mean m_t given the macro and regime paths, % per month."""
    t = np.arange(HISTORY, HISTORY + len(months))
    return relative_return_mean(
        p,
        st.regime[:, t],
        st.d_fed[:, t - 1],
        st.d_cpi[:, t - 1],
        st.d_usd[:, t - 1],
        june_effects(months, p),
    )


def simulate_futures(seed: int, n_chunks: int = N_CHUNKS, chunk: int = CHUNK) -> Futures:
    """``n_chunks * chunk`` futures from the demo's true final state (default seed)."""
    p = SampleParams()
    start = simulate_state().tail()
    months = pd.period_range(start.months[-1] + 1, periods=HORIZON, freq="M")
    june = june_effects(months, p)
    rng = np.random.default_rng(seed)
    parts: list[dict[str, np.ndarray]] = []
    for c in range(n_chunks):
        st = simulate_paths(rng, start, months, p, n_paths=chunk)
        m = _return_means(st, months, p)
        part = {f"s_{k}": v for k, v in _summaries(st).items()}
        part["mean_cum"] = _compound(m)
        part["mean_cum_no_june"] = _compound(m - june)
        part["raw_cum"] = _compound(st.rel[:, HISTORY:])
        part["regime_sum"] = np.asarray(p.c_rel)[st.regime[:, HISTORY:]].sum(axis=1)
        part["n_easing"] = (st.regime[:, HISTORY:] == 0).sum(axis=1)
        lag = slice(HISTORY - 1, HISTORY - 1 + HORIZON)
        part["lag_sums"] = np.column_stack(
            [
                st.d_fed[:, lag].sum(axis=1),
                st.d_cpi[:, lag].sum(axis=1),
                st.d_usd[:, lag].sum(axis=1),
            ]
        )
        part["chunk"] = np.full(chunk, c)
        parts.append(part)
        del st, m
    cat = {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}
    return Futures(
        summaries={v: cat[f"s_{v}"] for v in PATH_VARIABLES},
        mean_cum=cat["mean_cum"],
        mean_cum_no_june=cat["mean_cum_no_june"],
        raw_cum=cat["raw_cum"],
        regime_sum=cat["regime_sum"],
        n_easing=cat["n_easing"],
        lag_sums=cat["lag_sums"],
        chunk=cat["chunk"],
    )


def additive_return(
    fut: Futures, c_rel: tuple[float, float], rel_on: tuple[float, float, float]
) -> np.ndarray:
    """(N,) the 12-month *summed* mean return under other return-equation parameters
    (no June effect): to see what the sample's own estimates of them imply."""
    n0 = fut.n_easing
    return np.asarray(c_rel[0] * n0 + c_rel[1] * (HORIZON - n0) + fut.lag_sums @ np.asarray(rel_on))


def scenario_targets(spec: ScenarioSpec, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The named variables' cumulative changes at :data:`CHECKPOINTS` along the level
    paths the engine builds (same units as :attr:`Futures.summaries`); {} = baseline."""
    if spec.baseline:
        return {}
    hist = history_user_units(frame)
    out = {}
    for v in PATH_VARIABLES:
        if v not in spec.paths.model_fields_set:  # unnamed: free, as in the engine
            continue
        last = float(hist[v].iloc[-1])
        level = central_path(v, getattr(spec.paths, v), last, hist[v], spec.horizon)
        at = level[[h - 1 for h in CHECKPOINTS]]
        out[v] = 100.0 * np.log(at / last) if v == "dollar" else at - last
    return out


def _fit(w: np.ndarray, x: np.ndarray, y: np.ndarray, local_linear: bool) -> np.ndarray:
    """(m,) the kernel regression's values at the target (x = summaries minus target,
    y (n, m) one column per quantity)."""
    if not local_linear:
        return np.asarray(w @ y / w.sum())
    a = np.column_stack([np.ones(len(y)), x])
    aw = a * w[:, None]
    beta = np.linalg.lstsq(aw.T @ a, aw.T @ y, rcond=None)[0]
    return np.asarray(beta[0])


def conditional_diffs(
    fut: Futures,
    target: dict[str, np.ndarray],
    bandwidth: float,
    checkpoints: tuple[int, ...],
    ys: dict[str, np.ndarray],
) -> dict[str, Estimate]:
    """E[y | named summaries at ``checkpoints`` = target] - E[y] for each (N,) ``ys``."""
    names = list(ys)
    y = np.column_stack([ys[k] for k in names]).astype(float)
    if not target:
        return {k: Estimate(0.0, 0.0, float(len(y)), 0.0) for k in names}
    j = [CHECKPOINTS.index(h) for h in checkpoints]
    x = np.column_stack([fut.summaries[v][:, j] - target[v][j] for v in target])
    sd = np.column_stack([fut.summaries[v][:, j] for v in target]).std(axis=0)
    logw = -0.5 * ((x / (bandwidth * sd)) ** 2).sum(axis=1)
    w = np.exp(logw - logw.max())
    ess = float(w.sum() ** 2 / (w**2).sum())
    keep = w > 1e-12  # the rest weighs nothing at float precision
    w, xs, yk, chunk = w[keep], (x / sd)[keep], y[keep], fut.chunk[keep]
    mean = y.mean(axis=0)
    pooled = _fit(w, xs, yk, True) - mean
    nw = _fit(w, xs, yk, False) - mean
    per_chunk = np.array(
        [
            _fit(w[chunk == c], xs[chunk == c], yk[chunk == c], True)
            - y[fut.chunk == c].mean(axis=0)
            for c in np.unique(fut.chunk)
        ]
    )
    se = per_chunk.std(axis=0, ddof=1) / np.sqrt(len(per_chunk))
    return {
        k: Estimate(float(pooled[i]), float(se[i]), ess, float(nw[i])) for i, k in enumerate(names)
    }


def conditional_diff(
    fut: Futures,
    target: dict[str, np.ndarray],
    bandwidth: float,
    checkpoints: tuple[int, ...] = (3, 6, 12),
    y: np.ndarray | None = None,
) -> Estimate:
    """E[12-month return (or ``y``) | named summaries at ``checkpoints`` = target] minus
    its unconditional mean, pp."""
    y = fut.mean_cum if y is None else y
    return conditional_diffs(fut, target, bandwidth, checkpoints, {"y": y})["y"]


def return_equation_cov(frame: pd.DataFrame, regimes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS of the demo panel's relative return on the true regime dummies and the lagged
    macro changes: the return equation's parameters (c_easing, c_tightening, b_fed,
    b_cpi, b_usd) as this one sample can estimate them, and their covariance.

    ``regimes`` is the true regime path of the panel's months
    (:func:`regime.data.sample.simulate_sample`).
    """
    lev = frame[["fedfunds", "cpi_yoy", "usd"]].to_numpy(dtype=float, copy=True)
    lev[:, 2] = 100.0 * np.log(lev[:, 2])
    changes = np.diff(lev, axis=0)  # month t: change from t-1 (pp, pp, %)
    y = frame["rel_return"].to_numpy(dtype=float)[2:]
    reg = regimes[-len(frame) :][2:]
    a = np.column_stack([reg == 0, reg == 1, changes[:-1]]).astype(float)
    ok = np.isfinite(a).all(axis=1) & np.isfinite(y)
    a, y = a[ok], y[ok]
    theta = np.linalg.lstsq(a, y, rcond=None)[0]
    resid = y - a @ theta
    cov = resid @ resid / (len(y) - a.shape[1]) * np.linalg.inv(a.T @ a)
    return theta, cov


def estimation_sd(
    fut: Futures,
    target: dict[str, np.ndarray],
    cov: np.ndarray,
    bandwidth: float,
    checkpoints: tuple[int, ...],
) -> float:
    """Sd of a scenario's difference due to estimating the return equation from one sample.

    The (summed) difference is linear in the return equation's parameters, diff = g'theta
    with g the conditional-minus-unconditional mean of (easing months, tightening
    months, summed lagged changes); its sd is sqrt(g' cov g). A lower bound on the
    model's estimation error: the regime dynamics are estimated too.
    """
    feats = np.column_stack([fut.n_easing, HORIZON - fut.n_easing, fut.lag_sums]).astype(float)
    est = conditional_diffs(
        fut, target, bandwidth, checkpoints, {str(j): feats[:, j] for j in range(5)}
    )
    g = np.array([est[str(j)].diff for j in range(5)])
    return float(np.sqrt(g @ cov @ g))
