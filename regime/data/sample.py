"""Deterministic synthetic demo sample (labelled synthetic everywhere).

``regime demo`` runs offline on series simulated here: a two-regime
**regime-switching VAR** of the monthly macro changes and the small-cap relative
return, whose regimes are driven by the macro levels. It is the family of the
default model (:class:`regime.bayes.var.MarkovSwitchingVAR`, K=2, TVTP on
``fedfunds_chg6``, ``cpi_yoy``, ``usd_yoy``), so the demo shows scenario
differences the model can really learn. Everything is simulated in *panel time*:
row t of the feature panel built from these series holds exactly the values
simulated for month t (the CPI series is written one month earlier, because the
panel moves CPI one month later for its release lag).

Regimes (k = 0 "easing", 1 "tightening"; the VAR's default order puts the lower
mean Fed funds change first). The transition out of regime k in month t is
logistic in the standardized levels of month t-1,
``z = (fedfunds_chg6 / 1.5, (cpi_yoy - 3.5) / 2, (usd_yoy - 2) / 6)``:
high inflation and a rising Fed rate make tightening likely, low inflation easing.

Equations for month t (lags from t-1; ``d`` = change of last month):

* Fed funds change (pp): ``c_fed[k] + 0.45 d_fed + 0.25 d_cpi_yoy
  - 0.02 (fed - 1 - cpi_yoy) + sd_fed[k] e``, the level floored at 0.05 %;
* inflation: monthly CPI inflation (annualised %) = trend + AR(1) noise. The trend
  drifts up in easing and down in tightening (+-0.09 a month); its own shock is
  small and its pull towards 3.5 % weak, so the regimes make the inflation cycles,
  as the VAR's regime means of the CPI YoY change say. ``cpi_yoy`` and its change
  are *derived* from the index, as in the data: a 12-month sum, which a VAR(1) only
  approximates (as it does on real data);
* dollar log change (%): ``c_usd[k] + 0.35 d_usd - 0.01 (log level gap) + sd_usd[k] e``;
* relative return (% per month): ``c_rel[k] - 0.9 d_fed - 0.6 d_cpi_yoy
  - 0.12 d_usd + sd_rel[k] e`` (+0.3 in June from 1989: the reconstitution month).

The small error-correction terms and the zero floor keep the levels in their
historical ranges; they are outside the VAR (a mild misspecification, like the
data's). The lag coefficients of the relative return are those of an OLS VAR(1)
on the real panel (rounded); the regime means of the relative return (+0.4 / -0.3)
are larger than the real data's, so the demo's scenarios differ visibly.

Calibration: real panel 1981-03..2025-11 (FRED FEDFUNDS, CPIAUCSL, TWEXBMTH +
DTWEXBGS, Ken French SMB) against the demo sample (seed ``SAMPLE_SEED``, same
months) and, in the last column, the mean +- sd over seeds 0-299 (same months);
``python -m regime.data.sample`` prints the demo's column.

==============================  ============  ============  =====================
statistic                       real          demo          seeds 0-299
==============================  ============  ============  =====================
Fed funds level mean / sd, %    4.87 / 3.94   4.61 / 2.64   4.46+-0.53 / 2.64+-0.29
CPI YoY mean / sd, %            3.10 / 1.96   3.54 / 1.84   3.52+-0.34 / 1.90+-0.18
Fed change sd, pp; lag-1 ac     0.33; 0.48    0.35; 0.56    0.37+-0.02; 0.60+-0.03
CPI YoY change sd, pp; ac       0.40; 0.43    0.38; 0.47    0.40+-0.02; 0.50+-0.05
dollar log change sd, %; ac     1.32; 0.40    1.28; 0.32    1.38+-0.05; 0.37+-0.04
relative return mean / sd, %    0.02 / 2.97   0.11 / 3.10   0.06+-0.12 / 2.98+-0.09
relative return lag-1 ac        -0.04         0.06          0.03+-0.05
share of months easing          -             0.50          0.50+-0.03
mean regime spell, months       -             22            22+-4
==============================  ============  ============  =====================

The simulator's Fed funds level is less dispersed than the real one (no 1980-81
peak near 19 %) and its monthly changes more persistent (lag-1 ac 0.60 against
0.48); the other statistics sit within two sds over seeds of the real values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from regime.data.base import SeriesData, SeriesMeta

SMB_ID = "F-F_Research_Data_Factors:SMB"
SAMPLE_SERIES = ("FEDFUNDS", "CPIAUCSL", "DTWEXBGS", SMB_ID)
# The first seed from 0 whose last month resembles late 2025 (Fed funds 3.9-4.4 %,
# CPI YoY 2.6-3.4 %, easing): 4.25 % and 3.4 %, easing for the last 11 months.
SAMPLE_SEED = 8
# first year with a June reconstitution effect (the Russell indexes' first reconstitution)
JUNE_FROM = 1989
HISTORY = 13  # months of history a forward simulation needs (12-month changes, one lag)


@dataclass(frozen=True)
class SampleParams:
    """Documented simulator parameters (units: % and pp per month unless stated).

    Tuples indexed by regime: (0 easing, 1 tightening).
    """

    # transitions: logit of leaving regime k = a_leave[k] + b_leave[k] . z
    a_leave: tuple[float, float] = (-3.0, -3.0)
    b_leave: tuple[tuple[float, float, float], tuple[float, float, float]] = (
        (0.4, 1.2, 0.0),  # easing -> tightening: rising rates, high inflation
        (-0.4, -1.2, 0.0),  # tightening -> easing: falling rates, low inflation
    )
    z_center: tuple[float, float, float] = (0.0, 3.5, 2.0)
    z_scale: tuple[float, float, float] = (1.5, 2.0, 6.0)
    # Fed funds
    c_fed: tuple[float, float] = (-0.12, 0.10)
    sd_fed: tuple[float, float] = (0.30, 0.22)
    fed_ar: float = 0.45
    fed_on_cpi: float = 0.25
    fed_ec: float = 0.02
    fed_target: tuple[float, float] = (1.0, 1.0)  # intercept, loading on cpi_yoy
    fed_floor: float = 0.05
    # inflation (annualised monthly CPI inflation = trend + noise)
    infl_mean: float = 3.5
    infl_trend_phi: float = 0.995
    infl_trend_sd: float = 0.10
    infl_trend_drift: tuple[float, float] = (0.09, -0.09)
    infl_noise_phi: float = 0.45
    infl_noise_sd: float = 2.8
    # dollar (100 x log index)
    c_usd: tuple[float, float] = (-0.15, 0.25)
    sd_usd: tuple[float, float] = (1.35, 1.15)
    usd_ar: float = 0.35
    usd_ec: float = 0.01
    usd_center: float = 100.0 * np.log(100.0)
    fed_usd_corr: float = 0.1  # within-regime correlation of the Fed and dollar shocks
    # relative return
    c_rel: tuple[float, float] = (0.40, -0.30)
    sd_rel: tuple[float, float] = (3.2, 2.6)
    rel_on: tuple[float, float, float] = (-0.9, -0.6, -0.12)  # lagged d_fed, d_cpi_yoy, d_usd
    june_effect: float = 0.3


@dataclass
class SampleState:
    """Paths of the simulator, arrays (paths, months) in panel time.

    ``fed`` (%), ``infl`` (annualised monthly CPI inflation, %), ``trend``,
    ``noise`` (its two parts), ``logcpi`` (log index), ``usd`` (100 x log
    index), ``d_fed``/``d_cpi``/``d_usd`` (the VAR's changes: pp, pp, %),
    ``rel`` (% per month) and ``regime``.
    """

    fed: np.ndarray
    infl: np.ndarray
    trend: np.ndarray
    noise: np.ndarray
    logcpi: np.ndarray
    usd: np.ndarray
    d_fed: np.ndarray
    d_cpi: np.ndarray
    d_usd: np.ndarray
    rel: np.ndarray
    regime: np.ndarray
    months: pd.PeriodIndex = field(default_factory=lambda: pd.PeriodIndex([], freq="M"))

    @property
    def cpi_yoy(self) -> np.ndarray:
        """YoY CPI inflation, % (NaN in the first 12 months)."""
        out = np.full_like(self.logcpi, np.nan)
        out[:, 12:] = 100.0 * np.expm1(self.logcpi[:, 12:] - self.logcpi[:, :-12])
        return out

    def tail(self, months: int = HISTORY) -> SampleState:
        """The last ``months`` months (a forward simulation's start)."""
        arrays = {k: v[:, -months:] for k, v in self._arrays().items()}
        return SampleState(**arrays, months=self.months[-months:])

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            k: getattr(self, k)
            for k in (
                "fed", "infl", "trend", "noise", "logcpi", "usd",
                "d_fed", "d_cpi", "d_usd", "rel", "regime",
            )
        }  # fmt: skip


def _initial(n_paths: int, p: SampleParams) -> SampleState:
    """A flat start (13 months at the long-run levels, regime 0); burnt in by the caller."""
    shape = (n_paths, HISTORY)
    infl = np.full(shape, p.infl_mean)
    logcpi = np.log(30.0) + np.cumsum(infl / 1200.0, axis=1)
    return SampleState(
        fed=np.full(shape, p.fed_target[0] + p.fed_target[1] * p.infl_mean),
        infl=infl,
        trend=np.full(shape, p.infl_mean),
        noise=np.zeros(shape),
        logcpi=logcpi,
        usd=np.full(shape, p.usd_center),
        d_fed=np.zeros(shape),
        d_cpi=np.zeros(shape),
        d_usd=np.zeros(shape),
        rel=np.zeros(shape),
        regime=np.zeros(shape, dtype=int),
    )


def june_effects(months: pd.PeriodIndex, params: SampleParams | None = None) -> np.ndarray:
    """The June (reconstitution) effect of each month, % (0 outside June and before 1989)."""
    p = params or SampleParams()
    return np.array(
        [p.june_effect if m.month == 6 and m.year >= JUNE_FROM else 0.0 for m in months]
    )


def relative_return_mean(
    p: SampleParams,
    regime: np.ndarray,
    d_fed: np.ndarray,
    d_cpi: np.ndarray,
    d_usd: np.ndarray,
    june: float | np.ndarray,
) -> np.ndarray:
    """The relative return's mean given the regime and last month's changes (the
    simulator's return equation without its shock), % per month."""
    return np.asarray(
        np.asarray(p.c_rel)[regime]
        + p.rel_on[0] * d_fed
        + p.rel_on[1] * d_cpi
        + p.rel_on[2] * d_usd
        + june
    )


def simulate_paths(
    rng: np.random.Generator,
    start: SampleState,
    months: pd.PeriodIndex,
    params: SampleParams | None = None,
    n_paths: int | None = None,
) -> SampleState:
    """Simulate ``months`` forward from the last ``HISTORY`` months of ``start``.

    ``start`` holds one path (broadcast to ``n_paths``) or ``n_paths`` paths. The
    result holds the history followed by the new months (panel time), so that
    its :attr:`SampleState.cpi_yoy` and 6- and 12-month changes are defined.
    """
    p = params or SampleParams()
    hist = start.tail()
    m = hist.fed.shape[0] if n_paths is None else n_paths
    h = len(months)
    total = HISTORY + h

    def grow(a: np.ndarray, dtype: type = float) -> np.ndarray:
        out: np.ndarray = np.zeros((m, total), dtype=dtype)
        out[:, :HISTORY] = np.broadcast_to(a, (m, HISTORY))
        return out

    s = {k: grow(v, int if k == "regime" else float) for k, v in hist._arrays().items()}
    fed, infl, trend, noise, logcpi, usd = (
        s[k] for k in ("fed", "infl", "trend", "noise", "logcpi", "usd")
    )
    d_fed, d_cpi, d_usd, rel, reg = (s[k] for k in ("d_fed", "d_cpi", "d_usd", "rel", "regime"))
    a_leave = np.asarray(p.a_leave)
    b_leave = np.asarray(p.b_leave)
    zc, zs = np.asarray(p.z_center), np.asarray(p.z_scale)
    c_fed, sd_fed = np.asarray(p.c_fed), np.asarray(p.sd_fed)
    c_usd, sd_usd = np.asarray(p.c_usd), np.asarray(p.sd_usd)
    sd_rel = np.asarray(p.sd_rel)
    drift = np.asarray(p.infl_trend_drift)
    rho = p.fed_usd_corr
    june = june_effects(months, p)
    for t in range(HISTORY, total):
        u = t - 1
        cpi_yoy = 100.0 * np.expm1(logcpi[:, u] - logcpi[:, u - 12])
        usd_yoy = 100.0 * np.expm1((usd[:, u] - usd[:, u - 12]) / 100.0)
        z = (np.stack([fed[:, u] - fed[:, u - 6], cpi_yoy, usd_yoy], axis=1) - zc) / zs
        k0 = reg[:, u]
        leave = 1.0 / (1.0 + np.exp(-(a_leave[k0] + np.einsum("ij,ij->i", b_leave[k0], z))))
        k = np.where(rng.random(m) < leave, 1 - k0, k0)
        reg[:, t] = k
        e = rng.standard_normal((m, 5))
        # inflation: trend and noise, the index, and the YoY change it implies
        trend[:, t] = (
            p.infl_mean
            + p.infl_trend_phi * (trend[:, u] - p.infl_mean)
            + drift[k]
            + p.infl_trend_sd * e[:, 0]
        )
        noise[:, t] = p.infl_noise_phi * noise[:, u] + p.infl_noise_sd * e[:, 1]
        infl[:, t] = trend[:, t] + noise[:, t]
        logcpi[:, t] = logcpi[:, u] + infl[:, t] / 1200.0
        d_cpi[:, t] = 100.0 * np.expm1(logcpi[:, t] - logcpi[:, t - 12]) - cpi_yoy
        # Fed funds: regime drift, persistence, response to inflation, pull to a target
        gap = fed[:, u] - (p.fed_target[0] + p.fed_target[1] * cpi_yoy)
        want = (
            c_fed[k]
            + p.fed_ar * d_fed[:, u]
            + p.fed_on_cpi * d_cpi[:, u]
            - p.fed_ec * gap
            + sd_fed[k] * e[:, 2]
        )
        fed[:, t] = np.maximum(fed[:, u] + want, p.fed_floor)
        d_fed[:, t] = fed[:, t] - fed[:, u]
        # dollar: its shock correlated with the Fed's
        e_usd = rho * e[:, 2] + np.sqrt(1.0 - rho**2) * e[:, 3]
        d_usd[:, t] = (
            c_usd[k]
            + p.usd_ar * d_usd[:, u]
            - p.usd_ec * (usd[:, u] - p.usd_center)
            + sd_usd[k] * e_usd
        )
        usd[:, t] = usd[:, u] + d_usd[:, t]
        rel[:, t] = (
            relative_return_mean(p, k, d_fed[:, u], d_cpi[:, u], d_usd[:, u], june[t - HISTORY])
            + sd_rel[k] * e[:, 4]
        )
    hist_months = pd.period_range(end=months[0] - 1, periods=HISTORY, freq="M")
    return SampleState(**s, months=pd.PeriodIndex(hist_months.append(months)))


def simulate_state(
    start: str = "1973-01",
    end: str = "2025-12",
    seed: int = SAMPLE_SEED,
    params: SampleParams | None = None,
    burn: int = 240,
) -> SampleState:
    """One path over ``start..end`` (panel time) after ``burn`` months from a flat start."""
    p = params or SampleParams()
    rng = np.random.default_rng(seed)
    months = pd.period_range(start, end, freq="M")
    pre = pd.period_range(end=months[0] - 1, periods=burn, freq="M")
    warm = simulate_paths(rng, _initial(1, p), pre, p)
    path = simulate_paths(rng, warm, months, p)
    return path.tail(len(months))


def simulate_sample(
    start: str = "1973-01",
    end: str = "2025-12",
    seed: int = SAMPLE_SEED,
    params: SampleParams | None = None,
) -> tuple[dict[str, SeriesData], np.ndarray]:
    """Simulate the demo series; also returns the true regime path (0 easing, 1 tightening)."""
    st = simulate_state(start, end, seed, params)
    months = st.months
    raw = {
        "FEDFUNDS": (months, np.round(st.fed[0], 2), "Percent"),
        # written at its reference month: the panel moves it one month later
        "CPIAUCSL": (months - 1, np.round(np.exp(st.logcpi[0]), 3), "Index"),
        "DTWEXBGS": (months, np.round(np.exp(st.usd[0] / 100.0), 4), "Index"),
        SMB_ID: (months, np.round(st.rel[0], 2), "percent per month"),
    }
    out = {}
    for sid, (index, vals, units) in raw.items():
        meta = SeriesMeta(
            series_id=sid,
            source="synthetic",
            frequency="M",
            units=units,
            title=f"SYNTHETIC {sid} (regime.data.sample, seed {seed})",
            fetched_at="",
            origin=f"regime.data.sample.simulate_sample(seed={seed})",
            synthetic=True,
        )
        out[sid] = SeriesData(pd.Series(vals, index=index, name=sid), meta).finalized()
    return out, st.regime[0].copy()


def calibration(st: SampleState) -> dict[str, float]:
    """The statistics of the module docstring's table, for one path."""
    f = pd.DataFrame(
        {
            "fed": st.fed[0],
            "cpi_yoy": st.cpi_yoy[0],
            "d_fed": st.d_fed[0],
            "d_cpi": st.d_cpi[0],
            "d_usd": st.d_usd[0],
            "rel": st.rel[0],
        }
    ).iloc[13:]
    out = {}
    for c in f:
        out[f"{c} mean"] = float(f[c].mean())
        out[f"{c} sd"] = float(f[c].std())
        out[f"{c} ac1"] = float(f[c].autocorr())
    out["share easing"] = float((st.regime[0] == 0).mean())
    switches = int((np.diff(st.regime[0]) != 0).sum())
    out["mean regime duration, months"] = len(st.regime[0]) / max(switches, 1)
    return out


if __name__ == "__main__":  # pragma: no cover - prints the calibration column
    full = simulate_state()
    first = int(np.flatnonzero(full.months == pd.Period("1981-03"))[0]) - HISTORY
    part = SampleState(
        **{k: v[:, first:-1] for k, v in full._arrays().items()}, months=full.months[first:-1]
    )
    stats = calibration(part)
    for key, value in stats.items():
        print(f"{key:32s} {value:8.3f}")
