"""Bayesian regime models (PyMC): Markov switching with TVTP, observed regimes, the
regime-switching VAR. Every fitted kind implements :class:`regime.bayes.protocol.ScenarioModel`
(``kind``, ``simulate``, save/load hooks), which the scenario engine calls.

Models only: they take arrays and frames, not panels, configs or folders (the adapters
that do are in :mod:`regime.models`). May import: numpy, numba, pytensor, pymc, arviz,
xarray, ``regime.regimes``, from ``regime.config`` only shared constants, and the
panel's rule labels (``regime.features.panel.rule_labels``, the observed-regime model's
labels for new months). Never imports the data sources, scenarios, reports or the CLI.
"""
