"""Data layer: sources (FRED, Ken French, files, synthetic sample) and the cache.

May import: pandas, numpy, requests, pandas-datareader, ``regime.config``,
``regime.errors``. Never imports features, models or the CLI. HTTP session,
cache directory and clock are parameters, never module globals.
"""

from regime.data.base import SeriesData, SeriesMeta
from regime.data.cache import Cache, default_cache_dir
from regime.data.pull import pull

__all__ = ["Cache", "SeriesData", "SeriesMeta", "default_cache_dir", "pull"]
