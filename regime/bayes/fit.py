"""Fitting: multi-start MAP from one compiled function, then NUTS from the best mode.

nutpie (numba backend, low-rank modified mass matrix) by default; PyMC's NUTS
as the fallback. All chains start at the best mode, so label switching across
chains cannot come from the initialisation; a chain-agreement check still runs
on the draws.

The MAP search and the sampler share two NUMBA-mode functions compiled once
per model (:func:`compile_model`). Each nutpie chain is its own
``nutpie.sample`` call with its own seed; the chains run one per core in forked
processes (:mod:`regime.bayes.parallel` says why processes), with draws
identical to running them one after another.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import pymc as pm
from numba.core.errors import NumbaPerformanceWarning
from pymc.blocking import DictToArrayBijection, RaveledVars
from scipy import optimize

from regime.bayes import special
from regime.bayes.parallel import available_cores, run_tasks
from regime.config import N_STARTS
from regime.progress import ProgressFn, Throttle, reporting

log = logging.getLogger(__name__)

special.register()  # a digamma numba can cache: Student-t graphs load instead of compiling

Sampler = Literal["nutpie", "pymc"]

# progress step of the mode search; its first report follows the model's compilation
MAP_STEP = "MAP search"


@dataclass(frozen=True)
class MapResult:
    point: dict[str, np.ndarray]  # constrained values of the free random variables
    logp: float
    logps: list[float]  # per start (nan when a start failed)
    seconds: float
    raveled: np.ndarray | None = None  # the mode in the sampler's unconstrained space


@dataclass(frozen=True)
class _Compiled:
    """The two NUMBA-mode functions a fit needs, compiled once per model object.

    ``logp_dlogp(x)`` -> (log density, gradient) at the raveled unconstrained point;
    ``values(*value_vars)`` -> every entry of ``model.unobserved_value_vars`` (free
    variables constrained, deterministics), in ``names`` order. The MAP search and
    the sampler share them (compiling each twice cost about a second per warm fit).
    """

    logp_dlogp: Callable[[np.ndarray], tuple[Any, Any]]
    values: Callable[..., Any]
    names: list[str]
    info: Any  # point_map_info of the raveled vector
    initial_point: dict[str, np.ndarray]  # model.initial_point() (compiles a function per call)
    grad_fn: Any  # the PyTensor functions behind ``logp_dlogp`` and ``values`` (for rebind)
    values_fn: Any


_COMPILED: weakref.WeakKeyDictionary[pm.Model, _Compiled] = weakref.WeakKeyDictionary()


def compile_model(model: pm.Model) -> None:
    """Compile the functions :func:`multistart_map` and :func:`sample_posterior` share
    (optional: they compile on first use; this lets a caller time the step)."""
    _compiled(model)


def _compiled(model: pm.Model) -> _Compiled:
    """Compile (or fetch) the model's functions, in the calling thread.

    PyTensor's configuration is process-global and compiling from nutpie's worker
    threads races on it (it leaked NUMBA mode into the process); the compiled numba
    functions themselves are thread-safe. Both are cached on disk by PyTensor and
    numba, keyed by the graph, so a second process loads rather than compiles them.

    Cost (demo models, T ~600, 2 cores; profiled for issue 13): with empty caches one
    Markov structure costs 50 (K=2 constant) to 75 (K=2 TVTP) CPU-s, over 90% of it
    the log density and gradient, the rest ``values``; warm, 2 CPU-s. PyTensor caches
    each operation's numba code on disk as well as the whole graph, so a structure
    compiled after a related one costs far less (K=3 constant after K=2 constant: 19
    CPU-s): compiling related structures at the same time duplicates the work. The
    graph's cache key includes every constant, hence data and data-derived prior
    constants enter the models as shared variables (:func:`regime.bayes.markov.build_model`).
    """
    hit = _COMPILED.get(model)
    if hit is not None:
        return hit
    ip = model.initial_point()
    x0 = DictToArrayBijection.map(ip)
    with warnings.catch_warnings():
        # numba's hint that np.dot on a transposed (non-contiguous) matrix could be faster
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        grad_fn = model.logp_dlogp_function(initial_point=ip, ravel_inputs=True, mode="NUMBA")
        grad_fn.set_extra_values({})
        jit = _jitted(grad_fn)
        jit(x0.data)  # compile now, not in a worker thread or child process
        values, values_fn, names = _values_function(model, ip)
    out = _Compiled(jit, values, names, x0.point_map_info, ip, grad_fn, values_fn)
    _COMPILED[model] = out
    return out


def _values_function(model: pm.Model, ip: dict[str, np.ndarray]) -> tuple[Any, Any, list[str]]:
    """The NUMBA-mode function from the value variables to every unobserved variable
    (constrained, deterministics), compiled and called once; with its PyTensor function
    and the output names."""
    outs = model.unobserved_value_vars
    values_fn = model.compile_fn(
        outs, inputs=model.value_vars, on_unused_input="ignore", point_fn=False, mode="NUMBA"
    )
    values = _jitted_multi(values_fn)
    values(*[ip[v.name] for v in model.value_vars])
    return values, values_fn, [v.name for v in outs]


def initial_values(model: pm.Model) -> dict[str, np.ndarray]:
    """Every unobserved variable at the model's initial point, through the NUMBA-mode
    function :func:`_compiled` compiles too: calling this first (e.g. in an idle process
    while another compiles the log density) leaves that function in the disk cache."""
    ip = model.initial_point()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        values, _, names = _values_function(model, ip)
    out = values(*[ip[v.name] for v in model.value_vars])
    return {n: np.asarray(v) for n, v in zip(names, out, strict=True)}


def rebind(model: pm.Model) -> None:
    """After the model's shared variables or initial values were replaced (new data,
    :func:`regime.bayes.markov.swap_data`): its compiled functions read the new arrays
    and start from the new initial point. Nothing is compiled (a model never compiled
    is left alone: it compiles on first use)."""
    comp = _COMPILED.get(model)
    if comp is None:
        return
    _COMPILED[model] = replace(
        comp,
        logp_dlogp=_jitted(comp.grad_fn),
        values=_jitted_multi(comp.values_fn),
        initial_point=model.initial_point(),
    )


class ModelCache:
    """Models by structure: each built and compiled once, then given new data.

    A backtest worker fits one model structure at many origins, a study fits one
    structure to many datasets. The first fit of a structure builds and compiles it;
    later fits swap their data into the same model (e.g.
    :func:`regime.bayes.markov.swap_data`) and rebind its compiled functions
    (:func:`rebind`) instead of building and compiling again. Same graph, same data,
    same initial point: the fit is the one a new model gives. ``builds`` and
    ``reuses`` count the two paths. One per worker (its single thread); not
    thread-safe.
    """

    def __init__(self) -> None:
        self._models: dict[str, Any] = {}
        self.builds = 0
        self.reuses = 0

    def get(self, key: str, build: Callable[[], Any], swap: Callable[[Any], None]) -> Any:
        """The model of structure ``key``: ``build()`` the first time, else the cached
        model after ``swap(model)`` gave it the new data."""
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = build()
            self.builds += 1
            return model
        swap(model)
        rebind(model)
        self.reuses += 1
        return model


_PROCESS_MODELS = ModelCache()


def process_models() -> ModelCache | None:
    """This process's :class:`ModelCache` for fits from its main thread (``None`` in other
    threads: the cache is not thread-safe, and a fit holds its model until it returns).

    Building and compiling a structure again costs seconds even with PyTensor's and
    numba's disk caches warm (graph rewrites, loading the compiled code: 1-2 s for a
    Markov model, about 6 s for the default VAR); a fit whose structure this process has
    seen swaps its data into the model instead. Results keep no reference to the model,
    so a later fit cannot change an earlier result.
    """
    if threading.current_thread() is threading.main_thread():
        return _PROCESS_MODELS
    return None


def multistart_map(
    model: pm.Model,
    n_starts: int = N_STARTS,
    random_seed: int = 0,
    jitter: float = 1.5,
    *,
    workers: int | None = None,
    progress: ProgressFn | None = None,
    maxiter: int = 3000,
) -> MapResult:
    """Maximise the joint log density from ``n_starts`` points (one compiled function).

    Start 0 is the model's initial point; the others add N(0, jitter) noise in
    the unconstrained space. Optimiser: L-BFGS-B with the analytic gradient.

    Cost: the search shares its compiled function with the sampler, runs with one
    BLAS thread (:mod:`regime.bayes.parallel`) and each start takes about 60
    gradient evaluations, so 16 starts cost about 0.1 s on the K=3, T=800
    benchmark: a few percent of the fit, down from about a quarter (1.5 s, of
    which 1 s compiled functions the sampler compiled again and the rest was
    OpenBLAS threads spinning). On that benchmark a quarter of the jittered starts
    end in modes 20-220 log units below the best. ``workers`` > 1 runs the starts in
    forked processes (same result); the default is 1, as a fork's copy-on-write
    costs more than the starts themselves. ``maxiter`` caps the L-BFGS iterations of
    each start.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(random_seed)
    comp = _compiled(model)
    ip = comp.initial_point  # no random initvals in our models: the same for any seed
    x0 = DictToArrayBijection.map(ip)
    jit = comp.logp_dlogp

    def neg(x: np.ndarray) -> tuple[float, np.ndarray]:
        lp, g = jit(x)
        if not np.isfinite(lp):
            return 1e300, np.zeros_like(x)
        return -float(lp), -np.asarray(g, dtype=float)

    starts = [
        x0.data + (rng.normal(0.0, jitter, size=x0.data.shape) if s else 0.0)
        for s in range(n_starts)
    ]

    def optimise(idx: list[int]) -> Callable[[Callable[[int], None]], list[tuple[float, Any]]]:
        def task(done: Callable[[int], None]) -> list[tuple[float, Any]]:
            out = []
            for n, s in enumerate(idx):
                with np.errstate(all="ignore"):
                    res = optimize.minimize(
                        neg, starts[s], jac=True, method="L-BFGS-B", options={"maxiter": maxiter}
                    )
                f = float(res.fun) if np.isfinite(res.fun) and res.fun < 1e299 else np.nan
                out.append((f, np.asarray(res.x)))
                done(n + 1)
            return out

        return task

    n_workers = max(1, min(workers or 1, n_starts))
    chunks = [list(range(w, n_starts, n_workers)) for w in range(n_workers)]
    tick = Throttle(progress, MAP_STEP, n_starts)
    tick(0)
    found = run_tasks([optimise(c) for c in chunks], n_workers, on_progress=tick)
    by_start: dict[int, tuple[float, Any]] = {}
    for c, part in zip(chunks, found, strict=True):
        by_start.update(zip(c, part, strict=True))
    best_x, best_f, logps = None, np.inf, []
    for s in range(n_starts):
        f, x = by_start[s]
        logps.append(-f)
        if np.isfinite(f) and f < best_f:
            best_f, best_x = f, x
    tick(n_starts)
    if best_x is None:
        raise RuntimeError("every MAP start failed to find a finite log density")
    point = DictToArrayBijection.rmap(RaveledVars(best_x, x0.point_map_info))
    # untransformed values of the free variables, as pm.find_MAP derives them
    values = comp.values(*[point[v.name] for v in model.value_vars])
    by_name = {n: np.asarray(x) for n, x in zip(comp.names, values, strict=True)}
    constrained = {rv.name: by_name[rv.name] for rv in model.free_RVs}
    return MapResult(constrained, -best_f, logps, time.perf_counter() - t0, np.asarray(best_x))


def sample_posterior(
    model: pm.Model,
    start: dict[str, np.ndarray],
    *,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int,
    sampler: Sampler = "nutpie",
    progressbar: bool = True,
    var_names: list[str] | None = None,
    start_raveled: np.ndarray | None = None,
    target_accept: float = 0.9,
    cores: int | None = None,
    progress: ProgressFn | None = None,
) -> Any:
    """NUTS draws starting every chain at ``start`` (constrained values; ``start_raveled``
    is the same point in the unconstrained space, when the caller has it).

    ``target_accept`` 0.9 rather than the usual 0.8: regime models have curved
    ridges where a regime is rarely visited, and the smaller steps remove the
    occasional divergence there (recovery study: 21/21 fits pass the gates at 0.9,
    19/21 at 0.85).

    With nutpie, chain ``c`` is one ``nutpie.sample`` call with its own seed,
    run on ``cores`` cores (default: all available, at most ``chains``) in
    forked processes (see :mod:`regime.bayes.parallel` for why processes); the
    draws are the same for any ``cores``. Progress goes to ``progress`` or, with
    ``progressbar``, to a bar on stderr.
    """
    n_cores = max(1, min(chains, cores or available_cores()))
    if sampler == "nutpie":
        try:
            import nutpie  # noqa: F401
        except ImportError:  # pragma: no cover - nutpie is a dependency
            log.warning("nutpie is not installed; falling back to PyMC's NUTS.")
        else:
            with reporting(progressbar, progress) as report:
                return _sample_nutpie(
                    model,
                    start,
                    draws=draws,
                    tune=tune,
                    chains=chains,
                    random_seed=random_seed,
                    var_names=var_names,
                    start_raveled=start_raveled,
                    target_accept=target_accept,
                    cores=n_cores,
                    progress=report,
                )
    with model, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pymc's own convergence chatter
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=n_cores,
            random_seed=random_seed,
            initvals=dict(start),
            target_accept=target_accept,
            progressbar=progressbar,
            compute_convergence_checks=False,
            var_names=var_names,
        )


def chain_seeds(random_seed: int, chains: int) -> list[int]:
    """One nutpie seed per chain, derived from ``random_seed``."""
    state = np.random.SeedSequence(random_seed).generate_state(chains, dtype=np.uint32)
    return [int(s) for s in state]


def _sample_nutpie(
    model: pm.Model,
    start: dict[str, np.ndarray],
    *,
    draws: int,
    tune: int,
    chains: int,
    random_seed: int,
    var_names: list[str] | None,
    start_raveled: np.ndarray | None,
    target_accept: float,
    cores: int,
    progress: ProgressFn | None,
) -> Any:
    import arviz as az
    import nutpie
    import xarray as xr

    seeds = chain_seeds(random_seed, chains)
    per_chain = tune + draws
    # nutpie expands every draw, warm-up included: counting expansions is the progress
    on_draw: list[Callable[[], None]] = [lambda: None]
    compiled = nutpie_model(
        model, start, var_names, x_start=start_raveled, on_draw=lambda: on_draw[0]()
    )

    def chain(c: int) -> Callable[[Callable[[int], None]], Any]:
        def task(done: Callable[[int], None]) -> Any:
            n = [0]

            def drew() -> None:
                n[0] += 1
                done(n[0])

            on_draw[0] = drew
            idata = nutpie.sample(
                compiled,
                draws=draws,
                tune=tune,
                chains=1,
                cores=1,
                seed=seeds[c],
                progress_bar=False,
                save_warmup=False,
                low_rank_modified_mass_matrix=True,
                target_accept=target_accept,
            )
            done(per_chain)
            return idata

        return task

    tick = Throttle(progress, "sampling", chains * per_chain)
    tick(0)
    traces = run_tasks([chain(c) for c in range(chains)], cores, on_progress=tick)
    tick(chains * per_chain)
    if chains == 1:
        return traces[0]
    groups = {
        g: xr.concat([tr[g] for tr in traces], dim="chain").assign_coords(chain=np.arange(chains))
        for g in traces[0].groups()
    }
    return az.InferenceData(**groups)


def nutpie_model(
    model: pm.Model,
    start: dict[str, np.ndarray],
    var_names: list[str] | None = None,
    x_start: np.ndarray | None = None,
    *,
    on_draw: Callable[[], None] | None = None,
) -> Any:
    """A nutpie model over PyTensor functions compiled in NUMBA mode.

    ``nutpie.compile_pymc_model`` re-JITs the whole graph into one numba cfunc on
    every call (tens of seconds, never cached); PyTensor's NUMBA-mode functions
    are cached on disk, so a warm fit compiles in about a second. nutpie's
    sampler calls them through its Python-function interface. ``on_draw()``,
    when given, is called for every draw expanded (warm-up included).
    """
    from nutpie.compiled_pyfunc import from_pyfunc

    comp = _compiled(model)
    ip = comp.initial_point
    if x_start is not None:
        x0 = RaveledVars(np.asarray(x_start, dtype=float), comp.info)
    else:
        transformed = _transformed_point(model, start)
        x0 = DictToArrayBijection.map({k: transformed.get(k, ip[k]) for k in ip})
    x0 = RaveledVars(off_flat_gradient(comp.logp_dlogp, x0.data), x0.point_map_info)
    names = var_names or [rv.name for rv in model.free_RVs]
    missing = [n for n in names if n not in comp.names]
    if missing:
        raise ValueError(f"nutpie_model: no such free variable or deterministic: {missing}")
    pick = [comp.names.index(n) for n in names]
    values = comp.values
    shapes = [
        tuple(np.shape(v)) for v in _select(values(*[ip[v.name] for v in model.value_vars]), pick)
    ]
    jit = comp.logp_dlogp
    info = x0.point_map_info
    drew = on_draw or (lambda: None)

    def make_logp_fn() -> Any:
        def logp(x: np.ndarray, **_: Any) -> tuple[float, np.ndarray]:
            lp, g = jit(x)
            return float(lp), np.asarray(g, dtype="float64", order="C")

        return logp

    def make_expand_fn(seed1: int, seed2: int, chain: int) -> Any:
        def run(x: np.ndarray, **_: Any) -> dict[str, np.ndarray]:
            drew()
            point = DictToArrayBijection.rmap(RaveledVars(x, info))
            vals = _select(values(*[point[v.name] for v in model.value_vars]), pick)
            return {
                n: np.asarray(v, dtype="float64", order="C").reshape(sh)
                for n, v, sh in zip(names, vals, shapes, strict=True)
            }

        return run

    dims = {n: tuple(model.named_vars_to_dims.get(n, ())) for n in names}
    coords = {d: pd.Index(model.coords[d]) for dd in dims.values() for d in dd}
    return from_pyfunc(
        ndim=len(x0.data),
        make_logp_fn=make_logp_fn,
        make_expand_fn=make_expand_fn,
        expanded_dtypes=[np.dtype("float64")] * len(names),
        expanded_shapes=shapes,
        expanded_names=names,
        coords=coords,
        dims={n: d for n, d in dims.items() if d},
        make_initial_point_fn=lambda seed: x0.data.copy(),
    )


# how far a start moves along a coordinate whose gradient is exactly zero (unconstrained
# units: far below any posterior sd, far above rounding)
FLAT_STEP = 1e-6


def off_flat_gradient(
    logp_dlogp: Callable[[np.ndarray], tuple[Any, Any]], x: np.ndarray
) -> np.ndarray:
    """``x``, moved by :data:`FLAT_STEP` along every coordinate where the gradient is
    exactly zero; otherwise ``x`` itself (so other fits keep their draws).

    nutpie refuses such a start ("bad initial gradient": its mass matrix starts
    from the gradient). It happens at a mode where a parameter only meets its
    prior at the prior's centre: the June effect ``gamma`` of a fit on months
    before the first reconstitution (1989), whose indicator is all zero, when
    the best MAP start is the initial point (gamma = 0, where the gradient
    vanishes and the optimiser never moves it).
    """
    _, grad = logp_dlogp(x)
    flat = np.asarray(grad) == 0
    if not flat.any():
        return x
    return np.asarray(x + np.where(flat, FLAT_STEP, 0.0))


def _select(values: Any, pick: list[int]) -> list[Any]:
    vals = values if isinstance(values, list | tuple) else [values]
    return [vals[i] for i in pick]


def _jitted(fn: Any) -> Callable[[np.ndarray], tuple[Any, Any]]:
    """The numba function behind a PyTensor NUMBA-mode function, data bound.

    Calling it directly skips PyTensor's Python dispatch (~4x faster per
    evaluation); falls back to the PyTensor function when the layout differs.
    """
    pf = getattr(fn, "_pytensor_function", None)
    jit = getattr(getattr(pf, "vm", None), "jit_fn", None)
    if pf is None or jit is None:
        return lambda x: fn(x)  # type: ignore[no-any-return]
    data = [s.data for s in pf.input_storage[1:]]
    return lambda x: jit(x, *data)  # type: ignore[no-any-return]


def _jitted_multi(fn: Any) -> Callable[..., Any]:
    """Like :func:`_jitted` for a PyTensor function of several inputs (thread-safe path)."""
    jit = getattr(getattr(fn, "vm", None), "jit_fn", None)
    n_in = len(fn.maker.fgraph.inputs) if hasattr(fn, "maker") else 0
    if jit is None:
        lock = threading.Lock()

        def locked(*args: Any) -> Any:
            with lock:
                return fn(*args)

        return locked
    n_explicit = len([i for i in fn.maker.inputs if not getattr(i, "implicit", False)])
    data = [s.data for s in fn.input_storage[n_explicit:n_in]]
    return lambda *args: jit(*args, *data)


def _transformed_point(model: pm.Model, start: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Constrained values of free variables -> values of their (transformed) value variables."""
    import pytensor.tensor as pt

    out = {}
    for rv in model.free_RVs:
        value = model.rvs_to_values[rv]
        v = np.asarray(start[rv.name], dtype=float)
        tr = model.rvs_to_transforms.get(rv)
        if tr is not None:
            v = np.asarray(tr.forward(pt.as_tensor(v), *rv.owner.inputs).eval())
        out[value.name] = v
    return out
