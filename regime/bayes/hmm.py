"""Marginal likelihood of a hidden Markov chain: numba kernels and a PyTensor Op.

:class:`HMMLogLike` takes ``log_emission`` (nobs, k), ``transition`` (m, k, k)
with ``m = 1`` (constant) or ``m = nobs - 1`` (time-varying; element ``t - 1``
moves month ``t - 1`` to month ``t``, rows sum to one) and ``initial`` (k,). Its
first output is ``log p(y_1..y_T)``; the others are the analytic gradients from
one scaled forward-backward pass:

- d/d log_emission[t, k] = Pr[S_t = k | Y]                   (smoothed probability)
- d/d transition[t-1, i, j] = a_{t-1}(i) b_t(j) beta_t(j) / c_t (summed over t if m = 1)
- d/d initial[k] = b_0(k) beta_0(k) / c_0

with ``a`` the filtered probabilities, ``c_t`` the one-step predictive
densities and ``beta`` the scaled backward variables. Emission densities and the
TVTP softmax stay ordinary PyTensor, so autodiff reaches their parameters
through these gradients. Each row of ``log_emission`` is shifted by its maximum
before exponentiating, so nothing underflows however long the series.

The Op has a numba implementation (used by nutpie and the numba backend) and a
Python ``perform`` calling the same compiled kernel (C/Python backends).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from typing import Any

import numba
import numpy as np
import pytensor.tensor as pt
from numpy.typing import NDArray
from pytensor.graph.basic import Apply
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

Array = NDArray[np.float64]


@numba.njit(cache=True, error_model="numpy")
def forward_backward(
    log_emission: Array, transition: Array, initial: Array
) -> tuple[float, Array, Array, Array]:
    """Log-likelihood and its gradients (see module docstring)."""
    nobs, k = log_emission.shape
    m = transition.shape[0]
    alpha = np.empty((nobs, k))
    b = np.empty((nobs, k))
    c = np.empty(nobs)
    loglike = 0.0
    pred = np.empty(k)
    for t in range(nobs):
        shift = log_emission[t, 0]
        for j in range(1, k):
            if log_emission[t, j] > shift:
                shift = log_emission[t, j]
        if t == 0:
            for j in range(k):
                pred[j] = initial[j]
        else:
            p = transition[t - 1] if m > 1 else transition[0]
            for j in range(k):
                acc = 0.0
                for i in range(k):
                    acc += alpha[t - 1, i] * p[i, j]
                pred[j] = acc
        total = 0.0
        for j in range(k):
            b[t, j] = np.exp(log_emission[t, j] - shift)
            alpha[t, j] = pred[j] * b[t, j]
            total += alpha[t, j]
        if not total > 0.0:  # impossible under these parameters (or NaN): reject the point
            return -np.inf, np.zeros((nobs, k)), np.zeros((m, k, k)), np.zeros(k)
        c[t] = total
        for j in range(k):
            alpha[t, j] /= total
        loglike += np.log(total) + shift
    d_logb = np.empty((nobs, k))
    d_p = np.zeros((m, k, k))
    d_init = np.empty(k)
    beta = np.ones(k)
    w = np.empty(k)
    for t in range(nobs - 1, 0, -1):
        for j in range(k):
            d_logb[t, j] = alpha[t, j] * beta[j]
            w[j] = b[t, j] * beta[j] / c[t]
        idx = t - 1 if m > 1 else 0
        p = transition[idx]
        for i in range(k):
            acc = 0.0
            for j in range(k):
                d_p[idx, i, j] += alpha[t - 1, i] * w[j]
                acc += p[i, j] * w[j]
            beta[i] = acc
    for j in range(k):
        d_logb[0, j] = alpha[0, j] * beta[j]
        d_init[j] = b[0, j] * beta[j] / c[0]
    return loglike, d_logb, d_p, d_init


@numba.njit(cache=True, error_model="numpy")
def filter_smooth_sample(
    log_emission: Array, transition: Array, initial: Array, uniforms: Array
) -> tuple[Array, Array, NDArray[np.int8], Array]:
    """Filtered and smoothed probabilities, a sampled regime path (FFBS), and
    ``log p(y_t | y_<t)`` per month, for one parameter draw.

    ``uniforms`` (nobs,) are U(0, 1) draws consumed by backward sampling.
    """
    nobs, k = log_emission.shape
    m = transition.shape[0]
    filt = np.empty((nobs, k))
    pred = np.empty((nobs, k))
    ll_t = np.empty(nobs)
    for t in range(nobs):
        shift = log_emission[t].max()
        for j in range(k):
            if t == 0:
                pred[t, j] = initial[j]
            else:
                p = transition[t - 1] if m > 1 else transition[0]
                acc = 0.0
                for i in range(k):
                    acc += filt[t - 1, i] * p[i, j]
                pred[t, j] = acc
        total = 0.0
        for j in range(k):
            filt[t, j] = pred[t, j] * np.exp(log_emission[t, j] - shift)
            total += filt[t, j]
        for j in range(k):
            filt[t, j] /= total
        ll_t[t] = np.log(total) + shift
    smooth = np.empty((nobs, k))
    smooth[nobs - 1] = filt[nobs - 1]
    for t in range(nobs - 2, -1, -1):
        p = transition[t] if m > 1 else transition[0]
        for i in range(k):
            acc = 0.0
            for j in range(k):
                if pred[t + 1, j] > 0:
                    acc += p[i, j] * smooth[t + 1, j] / pred[t + 1, j]
            smooth[t, i] = filt[t, i] * acc
    path = np.empty(nobs, dtype=np.int8)
    path[nobs - 1] = _draw(filt[nobs - 1], uniforms[nobs - 1])
    weights = np.empty(k)
    for t in range(nobs - 2, -1, -1):
        p = transition[t] if m > 1 else transition[0]
        nxt = path[t + 1]
        for i in range(k):
            weights[i] = filt[t, i] * p[i, nxt]
        weights /= weights.sum()
        path[t] = _draw(weights, uniforms[t])
    return filt, smooth, path, ll_t


@numba.njit(cache=True)
def _draw(probs: Array, u: float) -> int:
    acc = 0.0
    for i in range(probs.shape[0]):
        acc += probs[i]
        if u < acc:
            return i
    return probs.shape[0] - 1


class HMMLogLike(Op):
    """``log p(y)`` of a hidden Markov chain with analytic gradients (see module)."""

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # type: ignore[override]
        log_emission, transition, initial = inputs
        log_emission = pt.as_tensor_variable(log_emission).astype("float64")
        transition = pt.as_tensor_variable(transition).astype("float64")
        initial = pt.as_tensor_variable(initial).astype("float64")
        if log_emission.ndim != 2 or transition.ndim != 3 or initial.ndim != 1:
            raise TypeError("HMMLogLike needs log_emission (T,K), transition (M,K,K), initial (K,)")
        outputs = [pt.dscalar(), log_emission.type(), transition.type(), initial.type()]
        return Apply(self, [log_emission, transition, initial], outputs)

    def perform(self, node: Apply, inputs: Any, output_storage: Any) -> None:
        ll, d_logb, d_p, d_init = forward_backward(
            np.ascontiguousarray(inputs[0]),
            np.ascontiguousarray(inputs[1]),
            np.ascontiguousarray(inputs[2]),
        )
        output_storage[0][0] = np.asarray(ll, dtype=np.float64)
        output_storage[1][0] = d_logb
        output_storage[2][0] = d_p
        output_storage[3][0] = d_init

    def grad(self, inputs: Any, output_grads: Any) -> list[Any]:
        _, d_logb, d_p, d_init = self(*inputs)  # type: ignore[misc]
        g = output_grads[0]
        return [g * d_logb, g * d_p, g * d_init]

    def infer_shape(self, fgraph: Any, node: Apply, shapes: list[Any]) -> list[Any]:
        return [(), shapes[0], shapes[1], shapes[2]]


hmm_loglike_op = HMMLogLike()


@functools.cache
def kernel_version(*functions: Any) -> int:
    """The key PyTensor caches an Op's compiled numba graph under, from the source of the
    functions given (kernels and the Op's numba wrapper), so that an edited one is never
    served from a stale disk cache; from their bytecode where no source is installed."""
    digest = hashlib.sha256()
    for fn in functions:
        fn = getattr(fn, "py_func", fn)
        try:
            digest.update(inspect.getsource(fn).encode())
        except (OSError, TypeError):
            digest.update(fn.__code__.co_code)
    return int(digest.hexdigest()[:12], 16)


def hmm_loglike(log_emission: Any, transition: Any, initial: Any) -> Any:
    """``log p(y)`` as a PyTensor scalar; ``transition`` (k, k) or (nobs-1, k, k)."""
    transition = pt.as_tensor_variable(transition)
    if transition.ndim == 2:
        transition = pt.shape_padleft(transition)
    return hmm_loglike_op(log_emission, transition, initial)[0]  # type: ignore[index]


@register_funcify_default_op_cache_key(HMMLogLike)
def _numba_funcify_hmm(op: HMMLogLike, node: Apply, **kwargs: Any) -> Any:
    @numba_basic.numba_njit
    def hmm(log_emission: Array, transition: Array, initial: Array) -> Any:
        ll, d_logb, d_p, d_init = forward_backward(
            np.ascontiguousarray(log_emission),
            np.ascontiguousarray(transition),
            np.ascontiguousarray(initial),
        )
        return np.array(ll, dtype=np.float64), d_logb, d_p, d_init

    return hmm, kernel_version(forward_backward, _numba_funcify_hmm)


def scan_loglike(log_emission: Any, transition: Any, initial: Any) -> Any:
    """Baseline only (benchmarks): the same likelihood as a ``pytensor.scan`` of the
    scaled (normalised) forward recursion, differentiated by PyTensor's autodiff.

    Each row of ``log_emission`` is shifted by its maximum outside the scan; a
    bare ``logsumexp`` inside the scan would give NaN gradients on long series.
    """
    import pytensor

    log_emission = pt.as_tensor_variable(log_emission)
    transition = pt.as_tensor_variable(transition)
    shift = pt.max(log_emission, axis=1)
    b = pt.exp(log_emission - shift[:, None])

    a0 = initial * b[0]
    c0 = pt.sum(a0)

    def advance(b_t: Any, p: Any, alpha: Any, ll: Any) -> Any:
        a = pt.dot(alpha, p) * b_t
        c = pt.sum(a)
        return a / c, ll + pt.log(c)

    # scan passes sequences, then recurrent states, then non-sequences
    constant = transition.ndim == 2
    _, lls = pytensor.scan(
        (lambda b_t, alpha, ll, p: advance(b_t, p, alpha, ll)) if constant else advance,
        sequences=[b[1:]] if constant else [b[1:], transition],
        outputs_info=[a0 / c0, pt.log(c0)],
        non_sequences=[transition] if constant else [],
        return_updates=False,
    )
    return lls[-1] + pt.sum(shift)


# ------------------------------------------------------------------ ergodic distribution


@numba.njit(cache=True, error_model="numpy")
def _solve_small(a: Array, b: Array) -> Array:
    """x with a x = b, Gaussian elimination with partial pivoting (k is 2-3)."""
    k = b.shape[0]
    m = a.copy()
    x = b.copy()
    for c in range(k):
        piv = c
        for r in range(c + 1, k):
            if abs(m[r, c]) > abs(m[piv, c]):
                piv = r
        if piv != c:
            for j in range(k):
                m[c, j], m[piv, j] = m[piv, j], m[c, j]
            x[c], x[piv] = x[piv], x[c]
        for r in range(c + 1, k):
            f = m[r, c] / m[c, c]
            for j in range(c, k):
                m[r, j] -= f * m[c, j]
            x[r] -= f * x[c]
    for c in range(k - 1, -1, -1):
        acc = x[c]
        for j in range(c + 1, k):
            acc -= m[c, j] * x[j]
        x[c] = acc / m[c, c]
    return x


@numba.njit(cache=True, error_model="numpy")
def ergodic_kernel(p: Array) -> Array:
    """Stationary distribution pi of a row-stochastic (k, k) ``p``: (I - p' + 1 1') pi = 1."""
    k = p.shape[0]
    a = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            a[i, j] = (1.0 if i == j else 0.0) - p[j, i] + 1.0
    return _solve_small(a, np.ones(k))


@numba.njit(cache=True, error_model="numpy")
def ergodic_grad_kernel(p: Array, g: Array) -> Array:
    """d (g . pi) / d p = outer(pi, w) with (I - p' + 1 1')' w = g."""
    k = p.shape[0]
    pi = ergodic_kernel(p)
    at = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            at[i, j] = (1.0 if i == j else 0.0) - p[i, j] + 1.0
    w = _solve_small(at, g)
    out = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            out[i, j] = pi[i] * w[j]
    return out


class Ergodic(Op):
    """Stationary distribution of a (k, k) transition matrix, with its analytic gradient
    (:class:`ErgodicGrad`). One node each instead of PyTensor's LU factorisation, solve
    and their gradients (a dozen nodes, several of them LAPACK calls numba compiles
    slowly)."""

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # type: ignore[override]
        p = pt.as_tensor_variable(inputs[0]).astype("float64")
        if p.ndim != 2:
            raise TypeError("Ergodic needs a (k, k) transition matrix")
        return Apply(self, [p], [pt.dvector()])

    def perform(self, node: Apply, inputs: Any, output_storage: Any) -> None:
        output_storage[0][0] = ergodic_kernel(np.ascontiguousarray(inputs[0]))

    def grad(self, inputs: Any, output_grads: Any) -> list[Any]:
        return [ergodic_grad_op(inputs[0], output_grads[0])]

    def infer_shape(self, fgraph: Any, node: Apply, shapes: list[Any]) -> list[Any]:
        return [(shapes[0][0],)]


class ErgodicGrad(Op):
    """The gradient of :class:`Ergodic` given its output gradient."""

    __props__ = ()

    def make_node(self, *inputs: Any) -> Apply:  # type: ignore[override]
        p = pt.as_tensor_variable(inputs[0]).astype("float64")
        g = pt.as_tensor_variable(inputs[1]).astype("float64")
        return Apply(self, [p, g], [p.type()])

    def perform(self, node: Apply, inputs: Any, output_storage: Any) -> None:
        p, g = (np.ascontiguousarray(a) for a in inputs)
        output_storage[0][0] = ergodic_grad_kernel(p, g)

    def infer_shape(self, fgraph: Any, node: Apply, shapes: list[Any]) -> list[Any]:
        return [shapes[0]]


ergodic_op = Ergodic()
ergodic_grad_op = ErgodicGrad()


@register_funcify_default_op_cache_key(Ergodic)
def _numba_funcify_ergodic(op: Ergodic, node: Apply, **kwargs: Any) -> Any:
    @numba_basic.numba_njit
    def ergodic(p: Array) -> Array:
        return ergodic_kernel(np.ascontiguousarray(p))

    return ergodic, kernel_version(_solve_small, ergodic_kernel, _numba_funcify_ergodic)


@register_funcify_default_op_cache_key(ErgodicGrad)
def _numba_funcify_ergodic_grad(op: ErgodicGrad, node: Apply, **kwargs: Any) -> Any:
    @numba_basic.numba_njit
    def ergodic_grad(p: Array, g: Array) -> Array:
        return ergodic_grad_kernel(np.ascontiguousarray(p), np.ascontiguousarray(g))

    return ergodic_grad, kernel_version(
        _solve_small, ergodic_kernel, ergodic_grad_kernel, _numba_funcify_ergodic_grad
    )
