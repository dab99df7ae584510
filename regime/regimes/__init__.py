"""Regimes: reference filters and the regime models' own NumPy simulation.

Pure NumPy / scikit-learn (numba for hot loops); no PyMC. ``hamilton`` and
``var_reference`` are the references every faster likelihood in ``regime.bayes`` is
tested against; ``conditional`` is the regime-switching VAR's conditional forecasting
(the model calls it; the scenario engine calls the model).
"""

from regime.regimes.hamilton import HamiltonResult, ergodic_probabilities, hamilton_filter

__all__ = ["HamiltonResult", "ergodic_probabilities", "hamilton_filter"]
