"""regime: macro-regime scenario analysis of small-cap relative returns.

Data flows one way: ``data`` (sources, cache) -> ``features`` (monthly panel)
-> ``bayes`` (PyMC models) -> ``scenarios`` + ``flows`` -> ``reports``.

The modelling API is imported lazily so that ``regime data ...`` starts fast:
``regime.MarkovSwitching``, ``regime.ObservedRegimes``, ``regime.hamilton_filter``,
``regime.load_model``, ``regime.fit``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# Numba's LLVM optimisation level for the compilations of this process (numba's default
# is 3); a user's own NUMBA_OPT wins. Level 2 compiles the models' log densities a fifth
# faster and the code runs as fast: on the K=3, T=800 model benchmark with empty caches,
# 46 s instead of 59 s of compilation, 67 against 69 us per log density and gradient
# evaluation (level 1: 45 s, but 74 us). Numba reads it when it first compiles.
if "NUMBA_OPT" not in os.environ:
    os.environ["NUMBA_OPT"] = "2"
    if "numba" in sys.modules:  # imported before us (PyMC imports it): its live setting
        _config = sys.modules["numba"].config
        _config.OPT = type(_config.OPT)(2)

from regime.config import Config, load_config

__version__ = "0.1.0"

_LAZY = {
    "MarkovSwitching": ("regime.bayes.switching", "MarkovSwitching"),
    "MarkovSwitchingVAR": ("regime.bayes.var", "MarkovSwitchingVAR"),
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
