"""Dask clients for the backtest, and the worker plugin that separates PyTensor caches.

Kept free of PyTensor/PyMC imports: the plugin is unpickled on a fresh worker
and must set ``PYTENSOR_FLAGS`` before anything imports PyTensor there.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin

from regime.errors import BadInputError, SourceUnavailableError

log = logging.getLogger(__name__)

SCHEDULER_TIMEOUT_S = 10  # how long to wait for --scheduler before giving up


def with_compiledir(flags: str, directory: Path) -> str:
    """``PYTENSOR_FLAGS`` with its ``compiledir`` entry replaced by ``directory``."""
    kept = [f for f in flags.split(",") if f.strip() and not f.strip().startswith("compiledir=")]
    return ",".join([*kept, f"compiledir={directory}"])


def compile_base(environ: dict[str, str] | None = None) -> Path:
    """Parent of the per-worker compile folders: the caller's ``compiledir``, else a temp dir."""
    env = os.environ if environ is None else environ
    for part in env.get("PYTENSOR_FLAGS", "").split(","):
        if part.strip().startswith("compiledir="):
            return Path(part.split("=", 1)[1])
    return Path(tempfile.gettempdir()) / "regime-pytensor"


class CompileDirPlugin(WorkerPlugin):
    """Each worker compiles in its own folder ``BASE/worker-NAME`` (set at worker start)
    and keeps its compiled models in ``models`` (see :func:`worker_models`).

    A worker that imported PyTensor before the plugin ran (a long-lived remote
    worker) keeps its folder; a warning says so.
    """

    name = "regime-pytensor-compiledir"

    def __init__(self, base: str) -> None:
        self.base = base
        # the worker's ModelCaches, one per thread (a cache is not thread-safe, and a worker
        # started by `dask worker` runs a thread per core), each made by its thread's first fit
        self.models: dict[int, Any] = {}

    def setup(self, worker: Any) -> None:
        label = re.sub(r"[^A-Za-z0-9_.-]", "_", str(worker.name))
        folder = Path(self.base) / f"worker-{label}"
        folder.mkdir(parents=True, exist_ok=True)
        if "pytensor" in sys.modules:
            log.warning("Worker %s imported PyTensor already; its compile folder stays.", label)
        flags = with_compiledir(os.environ.get("PYTENSOR_FLAGS", ""), folder)
        os.environ["PYTENSOR_FLAGS"] = flags


def worker_models() -> Any:
    """The :class:`~regime.bayes.switching.ModelCache` of the Dask worker running the
    calling task, kept by its :class:`CompileDirPlugin` for the worker's lifetime
    (the model structure compiles once per worker, its data is swapped for every
    refit); a new cache outside a worker or on a worker without the plugin."""
    from regime.bayes.switching import ModelCache

    try:
        from distributed import get_worker

        plugin = get_worker().plugins.get(CompileDirPlugin.name)
    except ValueError:  # not inside a Dask task
        plugin = None
    if not isinstance(plugin, CompileDirPlugin):
        return ModelCache()
    return plugin.models.setdefault(threading.get_ident(), ModelCache())


@contextmanager
def dask_client(workers: int = 1, scheduler: str | None = None) -> Iterator[Any]:
    """A client on a new ``LocalCluster`` (processes, one thread each) or on ``scheduler``."""
    from distributed import Client

    plugin = CompileDirPlugin(str(compile_base()))
    if scheduler:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SourceUnavailableError(
                f"--scheduler {scheduler} cannot be reached ({type(exc).__name__})."
            ) from None
        try:
            client.register_plugin(plugin)
            yield client
        finally:
            client.close()
        return
    if workers < 1:
        raise BadInputError(f"--workers must be at least 1, got {workers}.")
    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.register_plugin(plugin)
        yield client


def local_cluster(workers: int, *, processes: bool = True) -> Any:
    """A ``LocalCluster`` of ``workers`` single-threaded workers, without a dashboard.

    The scheduler's HTTP endpoints (metrics, health) bind a free port rather than
    8787, which another cluster on the machine may hold.
    """
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
        silence_logs=logging.ERROR,
    )
