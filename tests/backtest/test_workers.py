"""Backtest workers: one compile folder and one model cache per worker, kept across tasks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from regime.backtest.workers import CompileDirPlugin, local_cluster, with_compiledir, worker_models


def _cache_of_this_worker() -> tuple[str, int]:
    from distributed import get_worker

    return get_worker().name, id(worker_models())


def test_each_worker_keeps_one_model_cache_and_compile_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client

    # in-process workers set the variable for this process; restored after the test
    monkeypatch.setenv("PYTENSOR_FLAGS", os.environ.get("PYTENSOR_FLAGS", ""))
    with local_cluster(2, processes=False) as cluster, Client(cluster) as client:
        client.register_plugin(CompileDirPlugin(str(tmp_path)))
        futures = [client.submit(_cache_of_this_worker, pure=False) for _ in range(8)]
        seen = client.gather(futures)
    by_worker: dict[str, set[int]] = {}
    for name, cache in seen:
        by_worker.setdefault(str(name), set()).add(cache)
    assert all(len(caches) == 1 for caches in by_worker.values())  # kept across tasks
    assert len({c for caches in by_worker.values() for c in caches}) == len(by_worker)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"worker-{n}" for n in sorted(by_worker)]
    # outside a worker there is nothing to keep it: a new cache each time
    assert worker_models() is not worker_models()


def test_compiledir_flag_is_replaced_not_added() -> None:
    flags = with_compiledir("floatX=float64,compiledir=/old", Path("/new"))
    assert flags == "floatX=float64,compiledir=/new"


def test_threads_of_one_worker_get_their_own_model_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """A `dask worker` runs a thread per core; a cache is not thread-safe, so each thread
    of a worker keeps its own (and keeps it across its tasks)."""
    import threading
    from types import SimpleNamespace

    import distributed

    plugin = CompileDirPlugin("/unused")
    fake = SimpleNamespace(plugins={CompileDirPlugin.name: plugin})
    monkeypatch.setattr(distributed, "get_worker", lambda: fake)
    mine = worker_models()
    assert worker_models() is mine
    other: list[object] = []
    t = threading.Thread(target=lambda: other.extend([worker_models(), worker_models()]))
    t.start()
    t.join()
    assert other[0] is other[1] and other[0] is not mine
