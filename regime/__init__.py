"""regime: macro-regime scenario analysis of small-cap relative returns.

Data flows one way: ``data`` (sources, cache) -> ``features`` (monthly panel)
-> ``bayes`` (PyMC models) -> ``scenarios`` + ``flows`` -> ``reports``.

The modelling API is imported lazily so that ``regime data ...`` starts fast:
``regime.MarkovSwitching``, ``regime.ObservedRegimes``, ``regime.hamilton_filter``,
``regime.load_model``, ``regime.fit``.
"""

from __future__ import annotations

from typing import Any

from regime.config import Config, load_config

__version__ = "0.1.0"

_LAZY = {
    "MarkovSwitching": ("regime.bayes.switching", "MarkovSwitching"),
    "ObservedRegimes": ("regime.bayes.observed", "ObservedRegimes"),
    "hamilton_filter": ("regime.regimes.hamilton", "hamilton_filter"),
    "load_model": ("regime.models.io", "load_model"),
    "fit": ("regime.models.api", "fit_spec"),
}

__all__ = ["Config", "__version__", "load_config", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'regime' has no attribute {name!r}")
