"""A compiled model (Markov, VAR) reused for new data: no second compile, the same draws.

The structure is the K=3 model of :mod:`tests.bayes.test_parallel`, so the
compile cache on disk is shared with those tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import pytest

from regime.bayes.switching import MarkovSwitching, ModelCache
from tests.bayes.test_parallel import k3_data

STRUCTURE: dict[str, Any] = {"k_regimes": 3, "switching_variance": True, "order_by": "sigma"}
TINY = {"draws": 50, "tune": 50, "chains": 1, "n_starts": 2, "random_seed": 5}


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts compilations of a model's log density and gradient (the costly step)."""
    calls: list[int] = []
    real = pm.Model.logp_dlogp_function

    def counted(self: pm.Model, *a: Any, **k: Any) -> Any:
        calls.append(1)
        return real(self, *a, **k)

    monkeypatch.setattr(pm.Model, "logp_dlogp_function", counted)
    return calls


def test_second_fit_of_a_structure_swaps_data_into_the_compiled_model(
    compiles: list[int],
) -> None:
    cache = ModelCache()
    first = MarkovSwitching(k3_data(42, 500), **STRUCTURE)
    other = MarkovSwitching(k3_data(7, 400), **STRUCTURE)  # other data, other length
    first.fit(models=cache, progressbar=False, **TINY)
    reused = other.fit(models=cache, progressbar=False, **TINY)
    assert (cache.builds, cache.reuses, len(compiles)) == (1, 1, 1)
    fresh = other.fit(models=ModelCache(), progressbar=False, **TINY)  # compiled again
    assert len(compiles) == 2
    # same graph, same data, same initial point: the fit a new model gives, exactly
    assert reused.info["map_logp"] == fresh.info["map_logp"]
    for name in ("mu", "sigma", "p"):
        np.testing.assert_array_equal(
            reused.idata.posterior[name].to_numpy(), fresh.idata.posterior[name].to_numpy()
        )
    assert reused.nobs == 400


def test_fits_from_the_main_thread_share_the_process_cache() -> None:
    """The default: a session's second fit of a structure reuses its model; a fit from
    another thread gets none (the cache is not thread-safe)."""
    import threading

    from regime.bayes.switching import process_models

    cache = process_models()
    assert cache is not None and cache is process_models()
    before = (cache.builds, cache.reuses)
    MarkovSwitching(k3_data(3, 300), **STRUCTURE).fit(progressbar=False, **TINY)
    MarkovSwitching(k3_data(4, 300), **STRUCTURE).fit(progressbar=False, **TINY)
    assert cache.reuses >= before[1] + 1
    assert cache.builds <= before[0] + 1
    seen: list[object] = []
    t = threading.Thread(target=lambda: seen.append(process_models()))
    t.start()
    t.join()
    assert seen == [None]


def test_var_refit_on_other_data_reuses_the_compiled_model(compiles: list[int]) -> None:
    """The same for the VAR, whose prior constants derived from the data (Minnesota
    sds, AR(1) residual sds) are shared variables too: the structure of
    :mod:`tests.models.test_compare_var`, so the disk cache is shared with it."""
    from regime.bayes.var import MarkovSwitchingVAR
    from regime.config import Config, ModelSpec
    from regime.data.sample import simulate_sample
    from regime.features.panel import build_panel
    from regime.models.api import var_inputs

    cfg = Config()
    spec = ModelSpec(kind="var", k_regimes=2, tvtp_features=())

    def endog(seed: int, nobs: int) -> Any:
        panel = build_panel(simulate_sample(seed=seed)[0], cfg.features, cfg.data)
        return var_inputs(panel, spec)[0].iloc[-nobs:]

    tiny = {"draws": 40, "tune": 40, "chains": 1, "n_starts": 2, "random_seed": 3, "cores": 1}
    cache = ModelCache()
    MarkovSwitchingVAR(endog(11, 500), k_regimes=2).fit(models=cache, progressbar=False, **tiny)
    other = MarkovSwitchingVAR(endog(12, 300), k_regimes=2)
    reused = other.fit(models=cache, progressbar=False, **tiny)
    assert (cache.builds, cache.reuses, len(compiles)) == (1, 1, 1)
    fresh = other.fit(models=ModelCache(), progressbar=False, **tiny)
    assert len(compiles) == 2
    assert reused.info["map_logp"] == fresh.info["map_logp"]
    for name in ("c_z", "A_z", "L_z", "p"):
        np.testing.assert_array_equal(
            reused.idata.posterior[name].to_numpy(), fresh.idata.posterior[name].to_numpy()
        )
    assert reused.data.nobs == 299  # one presample month for the lag
