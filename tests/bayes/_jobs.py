"""Fits for the slow statistical studies (recovery, SBC), run in worker processes.

Each worker is a fresh ``spawn`` process with its own PyTensor compile directory
(compilation is not safe to share across processes); this module imports nothing
heavy at import time, so the initializer runs before PyTensor reads its flags.

Truths are drawn here in NumPy, independently of the model code: from the default
priors as ``regime/bayes/priors.py`` documents them (``draw_prior``), so a model whose
prior differs from its documentation shows up as miscalibration.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np


def _init_worker(root: str) -> None:
    os.environ["PYTENSOR_FLAGS"] = f"compiledir={root}/worker-{os.getpid()}"


def run_jobs(fn: Callable[..., dict[str, Any]], jobs: Iterable[dict[str, Any]]) -> list[Any]:
    """``[fn(**job) for job in jobs]`` on one worker process per core (order kept)."""
    jobs = list(jobs)
    workers = max(1, min(os.cpu_count() or 1, len(jobs)))
    root = tempfile.mkdtemp(prefix="regime-jobs-")
    with ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(root,)
    ) as pool:
        futures = [pool.submit(fn, **job) for job in jobs]
        return [f.result() for f in futures]


# ----------------------------------------------------------------------------- truths


def _log_repulsion(gaps: np.ndarray, scale: float) -> float:
    if scale <= 0:
        return 0.0
    return float(np.sum(np.log1p(-np.exp(-((gaps / scale) ** 2)))))


def transition_from_logits(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return np.asarray(e / e.sum(axis=-1, keepdims=True))


def ergodic(p: np.ndarray) -> np.ndarray:
    k = p.shape[0]
    return np.asarray(np.linalg.solve(np.eye(k) - p.T + np.ones((k, k)), np.ones(k)))


def draw_prior(
    rng: np.random.Generator, k: int, n_z: int, order_by: str, centre: float, scale: float
) -> dict[str, np.ndarray]:
    """One draw from the default prior (switching variance), potentials by rejection.

    The ordered transform restricts iid draws to the sorted region, so sorting iid
    draws samples it exactly; the repulsion (<= 1) and occupancy (<= its value at equal
    shares) factors are applied by accepting with probability factor / bound.
    """
    from regime.bayes.priors import DEFAULT_PRIORS as P

    off = ~np.eye(k, dtype=bool)
    alpha = P["occupancy"]["alpha"]
    log_bound = (alpha - 1.0) * k * np.log(1.0 / k)
    while True:
        mu = rng.normal(centre + P["mu"]["loc"] * scale, P["mu"]["scale"] * scale, k)
        log_sigma = rng.normal(np.log(scale) + P["log_sigma"]["loc"], P["log_sigma"]["scale"], k)
        if order_by == "mean":
            mu = np.sort(mu)
            log_rep = _log_repulsion(np.diff(mu) / scale, P["mu_gap"]["scale"])
        else:
            log_sigma = np.sort(log_sigma)
            log_rep = _log_repulsion(np.diff(log_sigma), P["log_sigma_gap"]["scale"])
        a = np.zeros((k, k))
        a[off] = rng.normal(P["a"]["loc"], P["a"]["scale"], k * (k - 1))
        b = np.zeros((k, k, n_z))
        b[off] = rng.normal(0.0, P["b"]["scale"], (k * (k - 1), n_z))
        shares = ergodic(transition_from_logits(a))
        log_occ = (alpha - 1.0) * float(np.sum(np.log(shares))) - log_bound
        if np.log(rng.random()) < log_rep + log_occ:
            return {"mu": mu, "sigma": np.exp(log_sigma), "a": a, "b": b}


def simulate_path(
    rng: np.random.Generator, truth: dict[str, np.ndarray], z: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Regime path and y: S_0 from the ergodic law at z_0's transition matrix (as the
    model assumes), then S_t | S_{t-1} from softmax(a + b z_{t-1})."""
    a, b, mu, sigma = truth["a"], truth["b"], truth["mu"], truth["sigma"]
    n, k = z.shape[0], a.shape[0]
    s = np.empty(n, dtype=int)
    s[0] = rng.choice(k, p=ergodic(transition_from_logits(a + b @ z[0])))
    for t in range(1, n):
        s[t] = rng.choice(k, p=transition_from_logits(a[s[t - 1]] + b[s[t - 1]] @ z[t - 1]))
    return s, mu[s] + sigma[s] * rng.standard_normal(n)


def features(rng: np.random.Generator, n: int, n_z: int) -> np.ndarray:
    """Persistent standardized features (AR(1), phi 0.9), like macro levels."""
    z = np.zeros((n, n_z))
    e = rng.standard_normal((n, n_z))
    for t in range(1, n):
        z[t] = 0.9 * z[t - 1] + np.sqrt(1 - 0.81) * e[t]
    return np.asarray((z - z.mean(axis=0)) / z.std(axis=0))


def scalar_truths(truth: dict[str, np.ndarray], tvtp: bool, names: tuple[str, ...]) -> dict:
    """Truth as summary-table labels (``mu[0]``, ``p[0,1]``, ``b[0,1,z0]``)."""
    k = truth["mu"].shape[0]
    out = {f"mu[{i}]": float(truth["mu"][i]) for i in range(k)}
    out |= {f"sigma[{i}]": float(truth["sigma"][i]) for i in range(k)}
    if tvtp:
        for i, j in zip(*np.nonzero(~np.eye(k, dtype=bool)), strict=True):
            out[f"a[{i},{j}]"] = float(truth["a"][i, j])
            for m, zn in enumerate(names):
                out[f"b[{i},{j},{zn}]"] = float(truth["b"][i, j, m])
    else:
        p = transition_from_logits(truth["a"])
        out |= {f"p[{i},{j}]": float(p[i, j]) for i in range(k) for j in range(k) if i != j}
    return out


# ----------------------------------------------------------------------------- fits


def fit_and_summarise(
    y: np.ndarray,
    z: np.ndarray | None,
    k: int,
    order_by: str,
    seed: int,
    draws: int,
    chains: int,
    reference: tuple[float, float] | None = None,
    keep_draws: int = 0,
) -> dict[str, Any]:
    """Fit; return the summary, the gates and (optionally) ``keep_draws`` thinned draws."""
    import pandas as pd

    from regime.bayes.switching import MarkovSwitching

    zf = None if z is None else pd.DataFrame(z, columns=[f"z{m}" for m in range(z.shape[1])])
    mod = MarkovSwitching(
        pd.Series(y),
        k_regimes=k,
        exog_tvtp=zf,
        switching_variance=True,
        order_by=order_by,
        prior_reference=reference,
    )
    res = mod.fit(
        draws=draws,
        tune=draws,
        chains=chains,
        random_seed=seed,
        progressbar=False,
        cores=1,  # one process per fit: the study runs fits side by side
    )
    summ = res.summary(hdi_prob=0.90)
    out: dict[str, Any] = {
        "summary": summ[["mean", "sd", "hdi_5%", "hdi_95%"]].to_dict("index"),
        "diagnostics": res.diagnostics.to_dict(),
        "warnings": res.diagnostics.warnings(),
    }
    if keep_draws:
        post = res.idata.posterior
        n = post.sizes["chain"] * post.sizes["draw"]
        idx = np.linspace(0, n - 1, keep_draws).round().astype(int)
        thinned = {}
        for name in res.param_names:
            v = post[name].stack(sample=("chain", "draw")).transpose("sample", ...)
            arr = v.values.reshape(n, -1)[idx]
            dims = v.dims[1:]
            for col, combo in enumerate(np.ndindex(*v.shape[1:])):
                parts = [str(v.coords[d].values[c]) for d, c in zip(dims, combo, strict=True)]
                label = f"{name}[{','.join(parts)}]" if parts else name
                thinned[label] = arr[:, col].tolist()
        out["draws"] = thinned
    return out
