"""Walk-forward backtest: forecasts made with the data known at each origin, scored later.

Layers: :mod:`scores` and :mod:`baselines` are pure NumPy/SciPy (plus
``scoringrules``); :mod:`engine` builds as-of panels, runs origins as
``dask.distributed`` tasks and writes ``reports/NAME/backtest``; :mod:`verdict`
states the result in a sentence (pandas only, also read by the scenario
report); :mod:`report` renders ``index.html`` from the results; :mod:`cli`
registers ``regime backtest`` on the Typer app. Nothing here imports the CLI.

The model names and default horizons live here, so the CLI and the reports
can use them without importing the engine (``scoringrules`` takes seconds to import).
"""

BASELINES = ("constant", "bootstrap", "regression")
REFERENCE = "constant"  # the baseline every model is compared with
REGIME_MODEL = "model"  # the configured regime model (``model.kind``): what drives scenarios
MODELS = (*BASELINES, REGIME_MODEL)
DEFAULT_HORIZONS = (1, 3, 12)
FOLDER = "backtest"  # reports/NAME/backtest holds the latest backtest of NAME
FORECASTS_FILE = "forecasts.nc"
DIFFERENCES_FILE = "differences.csv"
REPORT_FILE = "index.html"
