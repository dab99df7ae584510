"""Data-layer benchmark: import all real files, cached pull, panel build.

Run: ``python -m tests.benchmarks.bench_data [--out FILE]``. Needs the real
data folder (``$REGIME_RAW_DATA`` or ``../shared/data/raw``); exits 0 with a
"skipped" record when it is absent. Baselines measured in the same run: plain
``pandas.read_csv`` of the same files (the floor for parsing) and of the cache
files (the floor for a cached pull). Target: cached pull + panel < 1 s.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

from regime.config import Config
from regime.data.cache import Cache
from regime.data.csvimport import read_file
from regime.data.pull import pull
from regime.features.panel import build_panel
from regime.pipeline import import_series
from tests.benchmarks._common import best_of, write_json
from tests.conftest import raw_data_dir

TARGET_PULL_PLUS_PANEL_S = 1.0


def main(out: Path | None = None) -> dict[str, object]:
    raw = raw_data_dir()
    if raw is None:
        write_json("data", {"skipped": "real data folder absent"}, out)
        return {}
    files = sorted(raw.glob("*.csv"))
    cfg = Config()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Cache(Path(tmp))

        def do_import() -> None:
            import_series(cache, [s for f in files for s in read_file(f)], replace=True)

        t_import = best_of(do_import, repeat=3)
        t_import_floor = best_of(lambda: [pd.read_csv(f) for f in files], repeat=3)

        def cached_pull() -> dict[str, object]:
            return pull(cfg.data, cache, offline=True)  # type: ignore[return-value]

        series = pull(cfg.data, cache, offline=True)
        t_pull = best_of(cached_pull)
        cache_files = [
            p
            for p in Path(tmp).glob("*.csv")
            if p.stem in {"FEDFUNDS", "CPIAUCSL", "TWEXBMTH", "DTWEXBGS"}
            or p.stem.startswith("F-F_Research_Data_Factors")
        ]
        t_pull_floor = best_of(lambda: [pd.read_csv(f) for f in cache_files])
        t_panel = best_of(lambda: build_panel(series, cfg.features, cfg.data))
    total = t_pull + t_panel
    result = {
        "files": len(files),
        "import_all_files_s": t_import,
        "import_baseline_read_csv_s": t_import_floor,
        "import_ratio_vs_read_csv": t_import / t_import_floor,
        "cached_pull_s": t_pull,
        "cached_pull_baseline_read_csv_s": t_pull_floor,
        "cached_pull_ratio_vs_read_csv": t_pull / t_pull_floor,
        "panel_build_s": t_panel,
        "cached_pull_plus_panel_s": total,
        "target_s": TARGET_PULL_PLUS_PANEL_S,
        "meets_target": total < TARGET_PULL_PLUS_PANEL_S,
    }
    write_json("data", result, out)
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=None)
    res = main(ap.parse_args().out)
    raise SystemExit(0 if not res or res["meets_target"] else 1)
