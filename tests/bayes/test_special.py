"""The cacheable digamma against SciPy, and compiled graphs whose disk-cache key is
the same in every process (else each warm run compiles them again)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special as sp

import regime.bayes.fit  # noqa: F401  (registers the digamma)
from regime.bayes.special import digamma


def test_digamma_matches_scipy() -> None:
    positive = np.concatenate(
        [np.geomspace(1e-10, 1e12, 4001), np.linspace(0.01, 40.0, 4001), np.arange(1.0, 30.0)]
    )
    got = np.array([digamma(x) for x in positive])
    want = sp.psi(positive)
    np.testing.assert_allclose(got, want, rtol=4e-15, atol=4e-15)
    # negative non-integers (the reflection formula): ill-conditioned next to the poles,
    # where SciPy's own value carries the same relative error
    negative = -np.linspace(1e-6, 30.0, 6007)
    negative = negative[negative != np.round(negative)]
    got = np.array([digamma(x) for x in negative])
    want = sp.psi(negative)
    dist = np.abs(negative - np.round(negative))  # to the nearest pole
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-13 / dist.min())
    np.testing.assert_allclose(got, want, rtol=1e-11)


@pytest.mark.parametrize(
    "x", [0.0, -0.0, -1.0, -7.0, np.inf, -np.inf, np.nan, 1.0, 1.4616321449683623]
)
def test_digamma_special_values(x: float) -> None:
    np.testing.assert_allclose(digamma(x), sp.psi(x), rtol=1e-15, atol=1e-15, equal_nan=True)


def test_numba_mode_uses_it_and_caches_student_t_gradients() -> None:
    """The gradient of a Student-t log density in its degrees of freedom needs digamma:
    in NUMBA mode it equals the C backend's, and the compiled graph has a cache key."""
    from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key

    nu, y = pt.dscalar("nu"), pt.dvector("y")
    logp = pt.sum(
        pt.gammaln((nu + 1) / 2) - pt.gammaln(nu / 2) - (nu + 1) / 2 * pt.log1p(y**2 / nu)
    )
    outs = [logp, pt.grad(logp, nu), pt.psi(nu)]
    f_numba = pytensor.function([nu, y], outs, mode="NUMBA")
    f_ref = pytensor.function([nu, y], outs, mode="FAST_COMPILE")
    data = np.random.default_rng(0).standard_t(4.0, size=50)
    for v in (0.3, 2.0, 7.5, 150.0):
        np.testing.assert_allclose(f_numba(v, data), f_ref(v, data), rtol=1e-12)
    _, key = numba_funcify_and_cache_key(f_numba.maker.fgraph)
    assert key is not None


_GRAPH_KEYS = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np, pandas as pd
    from pytensor.link.numba.dispatch.basic import numba_funcify_and_cache_key
    import regime.bayes.fit
    from regime.bayes.observed import ObservedRegimes
    from regime.bayes.var import MarkovSwitchingVAR

    rng = np.random.default_rng(0)
    idx = pd.period_range("1990-01", periods=240, freq="M")
    y = pd.Series(rng.standard_t(5.0, size=240), index=idx)
    labels = np.where(np.arange(240) % 7 < 3, "easing", "tightening")
    endog = pd.DataFrame(rng.normal(size=(240, 3)), index=idx, columns=["a", "b", "rel_return"])
    models = {
        "observed": ObservedRegimes(y, labels).build_model(),
        "var": MarkovSwitchingVAR(endog, k_regimes=2).build_model(),
    }
    keys = {}
    for name, model in models.items():
        fn = model.logp_dlogp_function(ravel_inputs=True, mode="NUMBA")
        keys[name] = numba_funcify_and_cache_key(fn._pytensor_function.maker.fgraph)[1]
    print(json.dumps(keys))
    """
)


def test_graph_keys_are_the_same_in_every_process() -> None:
    """Two processes with different hash seeds build the same models: their compiled
    graphs must have the same (non-empty) cache key, or a warm run misses the cache.
    An observed-regime model with its data as shared variables failed this (PyTensor
    ordered the inputs of its runtime broadcast checks differently per process)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _GRAPH_KEYS],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    try:
        outs = [p.communicate(timeout=600)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert all(p.returncode == 0 for p in procs)
    first, second = (json.loads(o.strip().splitlines()[-1]) for o in outs)
    assert first == second
    assert all(first.values())
