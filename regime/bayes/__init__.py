"""Bayesian regime models (PyMC): Markov switching with TVTP, observed regimes, the
regime-switching VAR. Every fitted kind implements :class:`regime.bayes.protocol.ScenarioModel`
(``kind``, ``simulate``, save/load hooks), which the scenario engine calls.

May import: numpy, numba, pytensor, pymc, arviz, xarray, ``regime.regimes``,
``regime.config``, ``regime.features`` (the panel's transforms and labels). Never
imports the scenarios, the CLI, reports or the data sources.
"""
