"""``reports/NAME/backtest/index.html``: table, verdict, figures, escaping, permissions.

Fast: no data and no Dask; the engine's own assembly scores hand-made forecast
samples (a Plan with known outcomes), then the folder is written as a run would.
"""

from __future__ import annotations

import base64
import os
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from regime.backtest import REFERENCE, REGIME_MODEL
from regime.backtest import engine as E
from regime.backtest.report import render_backtest
from regime.backtest.verdict import judge

HOSTILE = '<script>alert("x")</script>'
N_ORIGINS = 36
HORIZONS = (1, 3)
DRAWS = 80


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: dict[str, str] = {}
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        if tag == "img":
            self.images[str(d.get("id"))] = str(d.get("src"))
        self.scripts += tag == "script"


def tiny_result(
    *,
    models: tuple[str, ...] = (REFERENCE, HOSTILE, REGIME_MODEL),
    regime_bias: float = 0.0,
    identity: str = "abc",
) -> E.BacktestResult:
    """Scored forecasts of known quality: the outcomes are N(0, 3^2) per horizon month;
    the constant baseline is too wide (sd 8), the hostile-named baseline too narrow,
    and the regime model right (shifted by ``regime_bias`` %) with conditional forecasts.
    ``identity`` stands for the regime model's :meth:`ModelSpec.identity`."""
    rng = np.random.default_rng(12)
    origins = list(pd.period_range("2001-01", periods=N_ORIGINS, freq="M"))
    spec = E.BacktestSpec(start="2001-01", horizons=HORIZONS, models=models, draws=DRAWS)
    outcomes = rng.normal(0.0, 3.0, (N_ORIGINS, len(HORIZONS))) * np.sqrt(HORIZONS)
    outcomes[-1, 1] = np.nan  # the last 3-month outcome is after the data
    plan = E.Plan(
        spec=spec,
        origins=origins,
        blocks=[origins],
        outcomes=outcomes,
        realised_macro={},
        last_month=origins[-1] + 1,
        data_hash="test",
        synthetic=True,
    )
    sd = {REFERENCE: 8.0, HOSTILE: 1.0, REGIME_MODEL: 3.0}
    done = {}
    for t in origins:
        arr = np.full((len(HORIZONS), len(models), len(E.KINDS), DRAWS), np.nan, np.float32)
        for j, h in enumerate(HORIZONS):
            scale = np.sqrt(h)
            for m, name in enumerate(models):
                kinds = E.KINDS if name == REGIME_MODEL else E.KINDS[:1]
                shift = regime_bias if name == REGIME_MODEL else 0.0
                for k, _ in enumerate(kinds):
                    arr[j, m, k] = rng.normal(shift * scale, sd.get(name, 3.0) * scale, DRAWS)
        done[str(t)] = arr
    return E._assemble(plan, done, {}, model_identity=identity)


@pytest.fixture(scope="module")
def result() -> E.BacktestResult:
    return tiny_result()


def test_page_has_verdict_table_figures_and_labels(result: E.BacktestResult) -> None:
    html = render_backtest(result, name="demo", now=lambda: "NOW")
    verdict = judge(result.differences)
    assert verdict is not None and verdict.model == REGIME_MODEL and not verdict.loses
    assert html.index(escape(result.verdict)) < html.index('id="score-table"')  # at the top
    assert "not point-in-time" in html and "revisions are not replayed" in html
    assert 'id="synthetic-banner"' in html
    parser = _Images()
    parser.feed(html)
    for fig in ("fig-cumulative", "fig-pit", "fig-coverage", "fig-fan"):
        src = parser.images[fig]
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert "http://" not in html and "https://" not in html  # self-contained
    # every scored row is in the table, with its CRPS to three decimals
    for _, row in result.scores.iterrows():
        assert f"<td>{row['crps']:.3f}</td>" in html
    for col in ("model", "horizon", "kind", "n", "log_score", "crps", "cover50", "cover90"):
        assert f">{col}</th>" in html
    # a verdict sentence per horizon and kind of the regime model
    assert html.count("the regime model&#39;s conditional forecasts") >= len(HORIZONS)


def test_names_and_labels_are_escaped(result: E.BacktestResult) -> None:
    html = render_backtest(result, name=HOSTILE, now=lambda: "NOW")
    parser = _Images()
    parser.feed(html)
    assert parser.scripts == 0 and HOSTILE not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_regime_model_losing_says_so(tmp_path: Path) -> None:
    losing = tiny_result(regime_bias=6.0)
    verdict = judge(losing.differences)
    assert verdict is not None and verdict.loses
    assert "lose to the constant baseline" in losing.verdict
    assert escape(losing.verdict) in render_backtest(losing, name="demo")


def test_baselines_only_page(tmp_path: Path) -> None:
    res = tiny_result(models=(REFERENCE, "bootstrap"))
    html = render_backtest(res, name="demo")
    assert "the bootstrap baseline" in res.verdict and escape(res.verdict) in html
    assert 'id="fig-fan"' in html and "Forecasts against what happened: bootstrap" in html


def test_run_writes_index_html_with_umask_permissions(
    result: E.BacktestResult, tmp_path: Path
) -> None:
    out = tmp_path / "reports" / HOSTILE / "backtest"
    old = os.umask(0o022)
    try:
        E._write(result, out)
    finally:
        os.umask(old)
    page = out / "index.html"
    assert out.stat().st_mode & 0o777 == 0o755
    for f in out.iterdir():
        assert f.stat().st_mode & 0o777 == 0o644, f.name
    html = page.read_text(encoding="utf-8")
    assert escape(result.verdict) in html and HOSTILE not in html
    assert (out / "verdict.txt").read_text(encoding="utf-8").strip() == result.verdict
    old = os.umask(0o077)
    try:
        E._write(result, out)
    finally:
        os.umask(old)
    assert page.stat().st_mode & 0o777 == 0o600
    assert out.stat().st_mode & 0o777 == 0o700


def test_page_of_a_run_where_every_task_failed() -> None:
    origins = list(pd.period_range("2001-01", periods=5, freq="M"))
    spec = E.BacktestSpec(start="2001-01", horizons=(1,), models=(REFERENCE, REGIME_MODEL))
    plan = E.Plan(
        spec=spec,
        origins=origins,
        blocks=[origins],
        outcomes=np.zeros((len(origins), 1)),
        realised_macro={},
        last_month=origins[-1] + 1,
        data_hash="test",
    )
    html = render_backtest(E._assemble(plan, {}, {"2001-01": "boom"}), name="demo")
    assert "No paired comparison with the constant baseline could be scored." in html
    assert "1 task(s) failed (first origin of each: 2001-01)" in html
    assert "<img" not in html and "made no forecast to show" in html
