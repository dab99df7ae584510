"""Walk-forward backtest: forecasts made with the data known at each origin, scored later.

Layers: :mod:`scores` and :mod:`baselines` are pure NumPy/SciPy (plus
``scoringrules``); :mod:`engine` builds as-of panels, runs origins as
``dask.distributed`` tasks and writes ``reports/NAME/backtest``; :mod:`cli`
registers ``regime backtest`` on the Typer app. Nothing here imports the CLI.

The model names and default horizons live here, so the CLI can show them
without importing the engine (``scoringrules`` takes seconds to import).
"""

BASELINES = ("constant", "bootstrap", "regression")
MODELS = (*BASELINES, "model")
DEFAULT_HORIZONS = (1, 3, 12)
