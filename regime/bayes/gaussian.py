"""Multivariate normal log densities from Cholesky factors: numba kernels and PyTensor Ops.

:func:`mvn_chol_logpdf` takes residuals ``resid`` (T, K, n) and lower Cholesky
factors ``chol`` (K, n, n) and gives the (T, K) matrix

    log N(resid[t, k] | 0, L_k L_k') = -u'u / 2 - sum_i log L_k[i, i] - n log(2 pi) / 2,
    u = L_k^{-1} resid[t, k],

the regime-switching VAR's emission densities. Its gradient is one more Op,
:class:`MvnCholLogpGrad`, which takes the output gradient ``g`` (T, K) and returns

- d/d resid[t, k] = -g[t, k] v,   v = L_k^{-T} u = Sigma_k^{-1} resid[t, k]
- d/d L_k = sum_t g[t, k] (tril(v u') - diag(1 / L_k[i, i]))

(with ``u``, ``v`` of month t and regime k). Written out by hand, the forward
substitution of every month was hundreds of small PyTensor nodes in the log
density and its gradient, which numba compiled one by one: on the default VAR
(n = 4, K = 2) the graph had 441 nodes and took 88 CPU-s to compile with empty
caches. Both Ops have a numba implementation (nutpie, the numba backend) and a
Python ``perform`` calling the same compiled kernel.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytensor.tensor as pt
from numpy.typing import NDArray
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

from regime.bayes.hmm import kernel_version

Array = NDArray[np.float64]

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


@numba.njit(cache=True, error_model="numpy")
def _solve_lower(chol: Array, b: Array, out: Array) -> None:
    n = b.shape[0]
    for i in range(n):
        acc = b[i]
        for j in range(i):
            acc -= chol[i, j] * out[j]
        out[i] = acc / chol[i, i]


@numba.njit(cache=True, error_model="numpy")
def mvn_chol_logp_kernel(resid: Array, chol: Array) -> Array:
    """(T, K) log densities (see module docstring)."""
    nobs, k, n = resid.shape
    out = np.empty((nobs, k))
    u = np.empty(n)
    for r in range(k):
        logdet = 0.0
        for i in range(n):
            logdet += np.log(chol[r, i, i])
        const = -logdet - n * _HALF_LOG_2PI
        for t in range(nobs):
            _solve_lower(chol[r], resid[t, r], u)
            quad = 0.0
            for i in range(n):
                quad += u[i] * u[i]
            out[t, r] = const - 0.5 * quad
    return out


@numba.njit(cache=True, error_model="numpy")
def mvn_chol_logp_grad_kernel(resid: Array, chol: Array, g: Array) -> tuple[Array, Array]:
    """Gradients of ``sum(g * logp)`` with respect to ``resid`` and ``chol``."""
    nobs, k, n = resid.shape
    d_resid = np.empty((nobs, k, n))
    d_chol = np.zeros((k, n, n))
    u = np.empty(n)
    v = np.empty(n)
    for r in range(k):
        lr = chol[r]
        g_sum = 0.0
        for t in range(nobs):
            gt = g[t, r]
            g_sum += gt
            _solve_lower(lr, resid[t, r], u)
            # v = L^{-T} u: back substitution with the transpose
            for i in range(n - 1, -1, -1):
                acc = u[i]
                for j in range(i + 1, n):
                    acc -= lr[j, i] * v[j]
                v[i] = acc / lr[i, i]
            for i in range(n):
                d_resid[t, r, i] = -gt * v[i]
                for j in range(i + 1):
                    d_chol[r, i, j] += gt * v[i] * u[j]
        for i in range(n):
            d_chol[r, i, i] -= g_sum / lr[i, i]
    return d_resid, d_chol


def _check(resid: Any, chol: Any) -> tuple[Any, Any]:
    resid = pt.as_tensor_variable(resid).astype("float64")
    chol = pt.as_tensor_variable(chol).astype("float64")
    if resid.ndim != 3 or chol.ndim != 3:
        raise TypeError("mvn_chol_logpdf needs resid (T, K, n) and chol (K, n, n)")
    return resid, chol


class MvnCholLogp(Op):
    """(T, K) multivariate normal log densities (see module docstring)."""

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # type: ignore[override]
        resid, chol = _check(*inputs)
        return Apply(self, [resid, chol], [pt.dmatrix()])

    def perform(self, node: Apply, inputs: Any, output_storage: Any) -> None:
        resid, chol = (np.ascontiguousarray(a) for a in inputs)
        output_storage[0][0] = mvn_chol_logp_kernel(resid, chol)

    def grad(self, inputs: Any, output_grads: Any) -> list[Any]:
        d_resid, d_chol = mvn_chol_logp_grad(inputs[0], inputs[1], output_grads[0])
        return [d_resid, d_chol]

    def infer_shape(self, fgraph: Any, node: Apply, shapes: list[Any]) -> list[Any]:
        return [(shapes[0][0], shapes[0][1])]


class MvnCholLogpGrad(Op):
    """The gradients of :class:`MvnCholLogp` given its output gradient ``g`` (T, K)."""

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # type: ignore[override]
        resid, chol = _check(inputs[0], inputs[1])
        g = pt.as_tensor_variable(inputs[2]).astype("float64")
        return Apply(self, [resid, chol, g], [resid.type(), chol.type()])

    def perform(self, node: Apply, inputs: Any, output_storage: Any) -> None:
        resid, chol, g = (np.ascontiguousarray(a) for a in inputs)
        d_resid, d_chol = mvn_chol_logp_grad_kernel(resid, chol, g)
        output_storage[0][0] = d_resid
        output_storage[1][0] = d_chol

    def infer_shape(self, fgraph: Any, node: Apply, shapes: list[Any]) -> list[Any]:
        return [shapes[0], shapes[1]]


mvn_chol_logpdf_op = MvnCholLogp()
mvn_chol_logp_grad_op = MvnCholLogpGrad()


def mvn_chol_logpdf(resid: Any, chol: Any) -> Any:
    """(T, K) log densities of ``resid`` (T, K, n) under N(0, chol[k] chol[k]')."""
    return mvn_chol_logpdf_op(resid, chol)


def mvn_chol_logp_grad(resid: Any, chol: Any, g: Any) -> tuple[Any, Any]:
    out = mvn_chol_logp_grad_op(resid, chol, g)
    return out[0], out[1]  # type: ignore[index]


@register_funcify_default_op_cache_key(MvnCholLogp)
def _numba_funcify_mvn(op: MvnCholLogp, node: Apply, **kwargs: Any) -> Any:
    @numba_basic.numba_njit
    def logp(resid: Array, chol: Array) -> Array:
        return mvn_chol_logp_kernel(np.ascontiguousarray(resid), np.ascontiguousarray(chol))

    return logp, kernel_version(_solve_lower, mvn_chol_logp_kernel, _numba_funcify_mvn)


@register_funcify_default_op_cache_key(MvnCholLogpGrad)
def _numba_funcify_mvn_grad(op: MvnCholLogpGrad, node: Apply, **kwargs: Any) -> Any:
    @numba_basic.numba_njit
    def grad(resid: Array, chol: Array, g: Array) -> Any:
        return mvn_chol_logp_grad_kernel(
            np.ascontiguousarray(resid), np.ascontiguousarray(chol), np.ascontiguousarray(g)
        )

    return grad, kernel_version(_solve_lower, mvn_chol_logp_grad_kernel, _numba_funcify_mvn_grad)
