"""Helpers shared by the benchmarks: timing, the machine's parallel capacity, JSON output."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def best_of(fn: Callable[[], Any], repeat: int = 5) -> float:
    """Best wall time of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def write_json(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    payload = {
        "benchmark": name,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "processor_count": os.cpu_count(),
        **payload,
    }
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=float))
    print(json.dumps(payload, indent=2, default=float))
    return path


def _spin(n: int = 5_000_000) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def parallel_capacity(repeat: int = 3) -> float:
    """What 2 processes gain over 1 on this machine right now: a pure-Python
    CPU-bound control, two units of work serially vs in two forked processes.
    About 2 on an idle 2-core machine, about 1 when other jobs hold a core. It
    bounds what parallel work in the same run can gain (the model benchmark's two
    chains, the demo's concurrent fits)."""
    ctx = mp.get_context("fork")
    ratios = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        _spin()
        _spin()
        serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        procs = [ctx.Process(target=_spin) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        ratios.append(serial / (time.perf_counter() - t0))
    return float(statistics.median(ratios))
