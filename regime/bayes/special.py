"""The digamma function for PyTensor's numba backend, in a form numba can cache.

PyTensor compiles its ``Psi`` (digamma) op through a pointer to SciPy's compiled
function, which numba cannot cache; one such op makes the whole compiled graph
uncacheable (``numba_funcify_FunctionGraph``). Every Student-t model differentiates
``gammaln`` in its degrees of freedom, so each warm run compiled the log density of
the observed-regime model and of the constant-mean baseline again: 3-4 s of LLVM
each. Registering this implementation for ``Psi`` makes those graphs load from the
disk cache like the others.

The algorithm is the textbook one: the reflection formula for negative arguments,
the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic series in
1/x^2 with Bernoulli-number coefficients to x^-14 (the first term left out is 4.4e-17 at
x = 10). Checked against ``scipy.special.psi`` in ``tests/bayes/test_special.py``.

PyTensor's cache locator looks at the key, not the source: the key carries
:func:`regime.bayes.hmm.kernel_version` of this function (coefficients included), as the
model's own Ops do, so an edit cannot leave a stale digamma inside cached graphs.
"""

from __future__ import annotations

import math
from typing import Any

import numba
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.scalar import scalar_op_cache_key
from pytensor.scalar.math import Psi

from regime.bayes.hmm import kernel_version


@numba.njit(cache=True)
def digamma(x: float) -> float:
    """psi(x) = d/dx log Gamma(x) for a float64 ``x``, with SciPy's values at the poles:
    -inf at +0.0, +inf at -0.0, nan at the negative integers."""
    if math.isnan(x) or x == math.inf:
        return x
    if x == -math.inf:
        return math.nan
    if x == 0.0:
        return -math.copysign(math.inf, x)
    out = 0.0
    if x < 0.0:
        if x == math.floor(x):
            return math.nan
        # psi(1 - x) - psi(x) = pi / tan(pi x); tan has period pi, and x - round(x) is
        # exact, so tan sees |r| <= 1/2 without rounding
        r = x - round(x)
        out = -math.pi / math.tan(math.pi * r)
        x = 1.0 - x
    while x < 10.0:  # the recurrence, up to where the series needs only 7 terms
        out -= 1.0 / x
        x += 1.0
    # psi(x) ~ log x - 1/(2x) - sum_k B_2k / (2k x^2k), k = 1..7, in Horner form
    z = 1.0 / (x * x)
    series = (1 / 12) + z * (
        (-1 / 120)
        + z * ((1 / 252) + z * ((-1 / 240) + z * ((1 / 132) + z * ((-691 / 32760) + z * (1 / 12)))))
    )
    return out + math.log(x) - 0.5 / x - z * series


_PYTENSOR_PSI: Any = None  # what PyTensor dispatched Psi to before register()


def _funcify_psi(op: Any, node: Any, **kwargs: Any) -> tuple[Any, str | None]:
    dtypes = [v.type.dtype for v in (*node.inputs, *node.outputs)]
    if any(d != "float64" for d in dtypes):  # float32 or integer inputs: PyTensor's own
        return _PYTENSOR_PSI(op, node=node, **kwargs)  # type: ignore[no-any-return]
    key = scalar_op_cache_key(op, implementation="regime.digamma", src=kernel_version(digamma))
    return digamma, key


def register() -> None:
    """Use :func:`digamma` for PyTensor's ``Psi`` in NUMBA mode on float64 (idempotent)."""
    global _PYTENSOR_PSI
    current = numba_basic.numba_funcify_and_cache_key.dispatch(Psi)
    if current is not _funcify_psi:
        _PYTENSOR_PSI = current
        numba_basic.register_funcify_and_cache_key(Psi)(_funcify_psi)
