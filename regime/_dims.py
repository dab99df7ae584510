"""One vocabulary: dimension, coordinate and column names used across the package."""

from __future__ import annotations

# xarray / ArviZ dimensions
MONTH = "month"
SERIES = "series"
REGIME = "regime"
REGIME_TO = "regime_to"
CHAIN = "chain"
DRAW = "draw"
SAMPLE = "sample"
SCENARIO = "scenario"
EXOG = "exog"
TVTP = "tvtp"
QUANTILE = "quantile"
VARIABLE = "variable"  # a VAR's variables; a scenario's macro variables (fedfunds, ...)

# panel columns (units in the comment; "pp" = percentage points)
FEDFUNDS = "fedfunds"  # effective fed funds rate, monthly average, %
FEDFUNDS_CHG6 = "fedfunds_chg6"  # 6-month change, pp
FEDFUNDS_CHG12 = "fedfunds_chg12"  # 12-month change, pp
CPI = "cpi"  # headline CPI index as known in the row's month (release-lagged)
CORE = "core"  # core price index as known in the row's month (optional)
CPI_YOY = "cpi_yoy"  # headline CPI, year-over-year, %
CPI_3M = "cpi_3m_ann"  # headline CPI, 3-month change annualised, %
CORE_YOY = "core_yoy"  # core inflation YoY, % (optional)
CORE_3M = "core_3m_ann"  # core inflation 3-month annualised, % (optional)
USD = "usd"  # broad dollar index (spliced), level in DTWEXBGS units
USD_YOY = "usd_yoy"  # broad dollar YoY change, %
REL_RETURN = "rel_return"  # small-cap minus large-cap return, % per month
RECON = "recon"  # 1.0 in reconstitution months, else 0.0

POLICY = "policy"  # easing / holding / tightening
INFLATION = "inflation"  # high / low
DOLLAR = "dollar"  # strong / weak
LABEL = "label"  # "policy|inflation|dollar"

MACRO_FEATURES = (FEDFUNDS, FEDFUNDS_CHG6, FEDFUNDS_CHG12, CPI_YOY, CPI_3M, USD_YOY)
# The macro state, one feature each for policy, inflation and the dollar: the inputs of
# the rule-based labels, the default TVTP features, and the features a model falls back
# to when its spec names none (GMM labels, the backtest's predictive regression).
STATE_FEATURES = (FEDFUNDS_CHG6, CPI_YOY, USD_YOY)
# A scenario's path variables (user names, see regime.scenarios.spec) -> their panel
# level columns.
SCENARIO_LEVELS = {"fedfunds": FEDFUNDS, "inflation": CPI_YOY, "dollar": USD}
