"""Bayesian regime models (PyMC): Markov switching with TVTP, observed regimes.

May import: numpy, numba, pytensor, pymc, arviz, xarray, ``regime.regimes``,
``regime.config``. Never imports the CLI, reports or the data sources.
"""
