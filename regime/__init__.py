"""regime: macro-regime scenario analysis of small-cap relative returns.

Data flows one way: ``data`` (sources, cache) -> ``features`` (monthly panel)
-> ``bayes`` (PyMC models) -> ``scenarios`` + ``flows`` -> ``reports``.
"""

from regime.config import Config, load_config

__version__ = "0.1.0"

__all__ = ["Config", "__version__", "load_config"]
