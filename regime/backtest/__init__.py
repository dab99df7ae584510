"""Walk-forward backtest: forecasts made with the data known at each origin, scored later.

Layers: :mod:`scores` and :mod:`baselines` are pure NumPy/SciPy (plus
``scoringrules``); :mod:`engine` builds as-of panels, runs origins as
``dask.distributed`` tasks and writes ``reports/NAME/backtest``; :mod:`cli`
registers ``regime backtest`` on the Typer app. Nothing here imports the CLI.
"""
