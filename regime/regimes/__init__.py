"""Regimes: the NumPy reference Hamilton filter/smoother, rule labels, clustering.

Pure NumPy / scikit-learn; no PyMC. ``hamilton`` is the reference every faster
likelihood in ``regime.bayes`` is tested against.
"""

from regime.regimes.hamilton import HamiltonResult, ergodic_probabilities, hamilton_filter

__all__ = ["HamiltonResult", "ergodic_probabilities", "hamilton_filter"]
