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

:func:`conditional_diffs` estimates E[12-month cumulative relative return | the
named summaries = the scenario's] minus the unconditional mean (the baseline) by
kernel regression on the simulated futures (several quantities at once): a
Gaussian product kernel with bandwidth ``bandwidth`` x each summary's sd,
local-linear (the intercept of a kernel-weighted least squares on the summaries'
distance to the target, which removes the first-order bias a local mean has where
the futures' density slopes), with its Monte Carlo error from batch means over the
simulation chunks and the weights' Kish effective sample size.

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
    chunk: np.ndarray


@dataclass(frozen=True)
class Estimate:
    """A scenario-minus-baseline difference of the 12-month cumulative return, pp."""

    diff: float
    se: float  # Monte Carlo standard error (batch means over chunks)
    ess: float  # Kish effective sample size of the kernel weights (all chunks)


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
        part["chunk"] = np.full(chunk, c)
        parts.append(part)
        del st, m
    cat = {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}
    return Futures(
        summaries={v: cat[f"s_{v}"] for v in PATH_VARIABLES},
        mean_cum=cat["mean_cum"],
        mean_cum_no_june=cat["mean_cum_no_june"],
        raw_cum=cat["raw_cum"],
        chunk=cat["chunk"],
    )


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


def _fit(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(m,) the local-linear kernel regression's values at the target (x = summaries
    minus target, y (n, m) one column per quantity)."""
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
        return {k: Estimate(0.0, 0.0, float(len(y))) for k in names}
    j = [CHECKPOINTS.index(h) for h in checkpoints]
    x = np.column_stack([fut.summaries[v][:, j] - target[v][j] for v in target])
    sd = np.column_stack([fut.summaries[v][:, j] for v in target]).std(axis=0)
    logw = -0.5 * ((x / (bandwidth * sd)) ** 2).sum(axis=1)
    w = np.exp(logw - logw.max())
    ess = float(w.sum() ** 2 / (w**2).sum())
    keep = w > 1e-12  # the rest weighs nothing at float precision
    w, xs, yk, chunk = w[keep], (x / sd)[keep], y[keep], fut.chunk[keep]
    mean = y.mean(axis=0)
    pooled = _fit(w, xs, yk) - mean
    per_chunk = np.array(
        [
            _fit(w[chunk == c], xs[chunk == c], yk[chunk == c]) - y[fut.chunk == c].mean(axis=0)
            for c in np.unique(fut.chunk)
        ]
    )
    se = per_chunk.std(axis=0, ddof=1) / np.sqrt(len(per_chunk))
    return {k: Estimate(float(pooled[i]), float(se[i]), ess) for i, k in enumerate(names)}
