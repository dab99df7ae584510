"""The regime model in the backtest: refit, filter forward, both forecast kinds (slow: fits)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from regime.backtest import engine as E
from regime.config import Config
from tests.backtest.test_engine import _after

pytestmark = pytest.mark.slow

SPEC = E.BacktestSpec(
    start="2000-01",
    end="2000-02",
    refit_every=2,
    horizons=(1, 3, 12),
    models=("constant", "model"),
    draws=60,
    seed=3,
)


def _cfg(kind: str = "markov") -> Config:
    """Few MAP starts; the univariate Markov model unless ``kind`` says otherwise (the
    compiled-model cache and the June effect are that model's)."""
    cfg = Config()
    return cfg.model_copy(
        update={"model": cfg.model.model_copy(update={"n_starts": 2, "kind": kind})}
    )


@pytest.mark.parametrize("kind", ["var", "markov"])
def test_model_block_is_unchanged_by_values_after_its_last_origin(kind: str) -> None:
    from regime.pipeline import synthetic_series

    cfg, block = _cfg(kind), [pd.Period("2000-01", freq="M"), pd.Period("2000-02", freq="M")]
    series = synthetic_series()
    results = []
    for data in (series, _after(series, block[-1])):
        p = E.plan(data, cfg, SPEC)
        payload = E.Payload(data, cfg, SPEC, p.realised_macro, p.last_month)
        results.append(E.run_block(payload, block))
    m, unc = SPEC.models.index("model"), E.KINDS.index("unconditional")
    for origin in map(str, block):
        a, b = results[0][origin], results[1][origin]
        assert np.isfinite(a[:, m]).all()  # both kinds at every horizon
        np.testing.assert_array_equal(a[:, :, unc], b[:, :, unc])
    # the second origin is forecast from the same fit with the filter run forward
    first, second = results[0]["2000-01"], results[0]["2000-02"]
    assert not np.allclose(first[:, m, unc], second[:, m, unc])


def test_blocks_on_one_worker_compile_the_model_once() -> None:
    """Two refit blocks share the worker's model cache: one build, then data swapped in;
    the second block's forecasts are those of a newly built model (so the numbers still
    do not depend on which worker ran which block)."""
    from regime.bayes.switching import ModelCache
    from regime.pipeline import synthetic_series

    cfg, series = _cfg(), synthetic_series()
    spec = dataclasses.replace(SPEC, refit_every=1, horizons=(1,), models=("model",))
    p = E.plan(series, cfg, spec)
    payload = E.Payload(series, cfg, spec, p.realised_macro, p.last_month)
    first, second = ([t] for t in p.origins)
    cache = ModelCache()
    E.run_block(payload, first, cache)
    reused = E.run_block(payload, second, cache)
    assert (cache.builds, cache.reuses) == (1, 1)
    fresh = E.run_block(payload, second, ModelCache())
    t = str(second[0])
    assert np.isfinite(reused[t]).all()
    np.testing.assert_array_equal(reused[t], fresh[t])


def test_a_fit_before_the_first_reconstitution_samples() -> None:
    """Before 1989 the June indicator is all zero, so the June effect meets only its prior;
    from the initial point (the single MAP start) its gradient is exactly zero, where
    nutpie refused to start ("bad initial gradient") and the backtest block failed."""
    from regime.pipeline import synthetic_series

    cfg = _cfg()
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"n_starts": 1})})
    spec = dataclasses.replace(SPEC, start="1985-01", end="1985-01", models=("model",))
    series = synthetic_series()
    p = E.plan(series, cfg, spec)
    payload = E.Payload(series, cfg, spec, p.realised_macro, p.last_month)
    panel = E.as_of_panel(payload, p.origins[0])
    assert panel.frame["recon"].sum() == 0
    fitted = E._fit(panel, cfg, spec, p.origins[0])
    assert np.isfinite(fitted.idata.posterior["gamma"].to_numpy()).all()
