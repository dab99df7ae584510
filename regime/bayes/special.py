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
1/x^2 with Bernoulli-number coefficients (truncation error below 1e-17 from 10 on).
Checked against ``scipy.special.psi`` in ``tests/bayes/test_special.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.scalar import numba_funcify_ScalarOp, scalar_op_cache_key
from pytensor.scalar.math import Psi

# B_2k / (2k) for k = 1..7: psi(x) ~ log x - 1/(2x) - sum_k B_2k / (2k x^2k)
_ASYMPTOTIC = np.array(
    [1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12], dtype=np.float64
)
_SHIFT_TO = 10.0  # the recurrence moves x up to here before the series


@numba.njit(cache=True)
def digamma(x: float) -> float:
    """psi(x) = d/dx log Gamma(x) for a float64 ``x`` (nan at the poles 0, -1, -2, ...,
    as SciPy's is for negative integers; -inf/+inf at -0.0/+0.0 as in SciPy)."""
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
    while x < _SHIFT_TO:
        out -= 1.0 / x
        x += 1.0
    z = 1.0 / (x * x)
    series = 0.0
    for c in _ASYMPTOTIC[::-1]:
        series = series * z + c
    return out + math.log(x) - 0.5 / x - z * series


def _funcify_psi(op: Any, node: Any, **kwargs: Any) -> tuple[Any, str | None]:
    if any(i.type.dtype != "float64" for i in node.inputs) or node.outputs[0].type.dtype != (
        "float64"
    ):
        return numba_funcify_ScalarOp(op, node=node, **kwargs)  # type: ignore[no-any-return]
    return digamma, scalar_op_cache_key(op, implementation="regime.digamma", cache_version=1)


def register() -> None:
    """Use :func:`digamma` for PyTensor's ``Psi`` in NUMBA mode (idempotent)."""
    numba_basic.register_funcify_and_cache_key(Psi)(_funcify_psi)
