"""Issue 10 item 2: concurrent imports of one series serialise; nothing is lost."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from regime.data.cache import Cache
from regime.data.csvimport import read_file
from regime.pipeline import import_series

ROUNDS = 20

WORKER = """
import sys, time
from pathlib import Path
from regime.data.cache import Cache
from regime.data.csvimport import read_file
from regime.pipeline import import_series

me, file, root, rounds = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
parsed = read_file(file)
for r in range(rounds):
    # a barrier per round, so both processes hit the same cache at the same moment
    (root / f"ready.{r}.{me}").touch()
    deadline = time.monotonic() + 60
    while len(list(root.glob(f"ready.{r}.*"))) < 2:
        if time.monotonic() > deadline:
            sys.exit(f"round {r}: the other process never arrived (it failed)")
        time.sleep(0.001)
    import_series(Cache(root / f"cache{r}"), parsed)
"""


def fedfunds_files(tmp_path: Path) -> tuple[Path, Path]:
    """1954-2005 history and a 2000-2026 file that agree on their overlap."""
    months = pd.period_range("1954-07", "2026-06", freq="M")
    rng = np.random.default_rng(7)
    values = np.round(np.abs(np.cumsum(rng.normal(0, 0.3, len(months)))) + 0.05, 2)
    frame = pd.DataFrame({"DATE": months.to_timestamp().strftime("%Y-%m-%d"), "FEDFUNDS": values})
    old = tmp_path / "FEDFUNDS_1954-2005.csv"
    new = tmp_path / "FEDFUNDS_2000-2026.csv"
    frame[months <= pd.Period("2005-12", "M")].to_csv(old, index=False)
    frame[months >= pd.Period("2000-01", "M")].to_csv(new, index=False)
    return old, new


def test_two_processes_importing_one_series_equal_a_sequential_import(tmp_path: Path) -> None:
    old, new = fedfunds_files(tmp_path)
    expected = import_series(Cache(tmp_path / "sequential"), [*read_file(old), *read_file(new)])
    root = tmp_path / "race"
    root.mkdir()
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, me, str(f), str(root), str(ROUNDS)])
        for me, f in (("a", old), ("b", new))
    ]
    try:
        codes = [p.wait(timeout=240) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert codes == [0, 0]
    elapsed = time.perf_counter() - t0
    for r in range(ROUNDS):
        got = Cache(root / f"cache{r}").get("FEDFUNDS").values
        pd.testing.assert_series_equal(got, expected[0].values, obj=f"round {r}")
    assert elapsed < 300
