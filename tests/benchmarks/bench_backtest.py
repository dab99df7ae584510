"""Walk-forward backtest benchmark on the real snapshots: 1 vs 2 workers, same run.

Run: ``python -m tests.benchmarks.bench_backtest [--models ...] [--kind KIND] [--out FILE]``
(``--kind markov`` for the univariate regime model; default: the configured model).
Origins 2000-01 to the last usable month, annual refits, horizons 1/3/12.
Targets (issue 12): 2 workers at least 1.7x faster than 1; total at most 10
minutes on 2 cores for the univariate models. Per-block and per-origin costs
are the 1-worker wall time divided by the number of blocks and origins.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from regime.backtest.engine import BASELINES, BacktestSpec, run_backtest
from regime.config import Config
from regime.data.cache import Cache
from regime.data.csvimport import read_file
from regime.pipeline import import_series
from tests.benchmarks._common import write_json
from tests.conftest import raw_data_dir
from tests.test_realdata import PANEL_FILES

SPEC = BacktestSpec(start="2000-01", refit_every=12, horizons=(1, 3, 12), draws=500, seed=0)
SPEEDUP_TARGET = 1.7
TOTAL_TARGET_S = 600.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=",".join(BASELINES))
    ap.add_argument("--kind", default=None, help="regime model kind (default: the config's)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    cfg = Config()
    if args.kind is not None:
        cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"kind": args.kind})})
    raw = raw_data_dir()
    if raw is None:
        raise SystemExit("real data folder ../shared/data/raw is absent")
    spec = BacktestSpec(**{**SPEC.__dict__, "models": tuple(args.models.split(","))})
    with tempfile.TemporaryDirectory() as tmp:
        parsed = [s for f in PANEL_FILES for s in read_file(raw / f)]
        series = {s.meta.series_id: s for s in import_series(Cache(Path(tmp) / "c"), parsed)}
        times, result = {}, None
        for workers in (1, 2):
            t0 = time.perf_counter()
            result = run_backtest(
                series, cfg, spec, Path(tmp) / f"w{workers}" / "backtest", workers=workers
            )
            times[workers] = time.perf_counter() - t0
    assert result is not None
    n_origins = result.forecasts.sizes["origin"]
    n_blocks = -(-n_origins // spec.refit_every)
    write_json(
        "backtest",
        {
            "models": list(spec.models),
            "model_kind": cfg.model.kind,
            "origins": n_origins,
            "blocks": n_blocks,
            "draws": spec.draws,
            "wall_s_1_worker": times[1],
            "wall_s_2_workers": times[2],
            "speedup": times[1] / times[2],
            "speedup_target": SPEEDUP_TARGET,
            "per_block_s": times[1] / n_blocks,
            "per_origin_s": times[1] / n_origins,
            "total_target_s": TOTAL_TARGET_S,
            "verdict": result.verdict,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
