"""Report and pipeline: HTML parses, figures present, numbers match, banner, bad input."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from regime.cli import main
from regime.config import Config, ModelSpec, ReportSpec
from regime.pipeline import make_report, run_all

FIGURES = (
    "fig-fan",
    "fig-macro",
    "fig-horizon-regimes",
    "fig-regimes",
    "fig-params",
    "fig-tvtp",
    "fig-flows",
)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: dict[str, dict[str, str | None]] = {}
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        d = dict(attrs)
        if d.get("id"):
            self.ids[str(d["id"])] = d


def small_config(tmp: Path) -> Config:
    return Config(
        model=ModelSpec(draws=200, tune=200, chains=2, n_starts=4, holdout_years=0),
        report=ReportSpec(out_dir=tmp / "reports", models_dir=tmp / "models"),
    )


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, Path]:
    tmp = tmp_path_factory.mktemp("run")
    cfg = small_config(tmp)
    path = run_all(cfg, "t", synthetic=True, compare=False, samples=400)
    return cfg, path


def test_report_html_figures_and_numbers(demo_report: tuple[Config, Path]) -> None:
    _cfg, path = demo_report
    html = path.read_text()
    parser = _Collector()
    parser.feed(html)
    for fig in FIGURES:
        src = parser.ids[fig]["src"] or ""
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert "http://" not in html and "https://" not in html.replace(
        "https://api.stlouisfed.org", ""
    )  # self-contained: nothing to fetch
    # the summary table equals the CSV and the scenario dataset
    csv = pd.read_csv(path.parent / "summary.csv", index_col=0)
    ds = xr.load_dataset(path.parent / "scenarios" / "scenarios.nc", engine="h5netcdf")
    for name, row in csv.iterrows():
        cum = ds["cumulative"].sel(scenario=name).values[:, 11]
        assert row["median_12m"] == pytest.approx(float(np.median(cum)), rel=1e-6)
        assert row["p_outperform"] == pytest.approx(
            float((ds["cumulative"].sel(scenario=name).values[:, -1] > 0).mean())
        )
        cell = f'<td class="l">{name}</td>'
        assert cell in html
        after = html.split(cell, 1)[1]
        first = re.search(r"<td>([-0-9.]+)</td>", after)
        assert first is not None and float(first.group(1)) == round(row["median_3m"], 2)
    # paired differences against the baseline, from the dataset directly
    base = ds.attrs["baseline"]
    assert base == "baseline" and csv["baseline"].tolist() == list(csv.index == base)
    ref = ds["cumulative"].sel(scenario=base).values.astype(float)[:, 11]
    for name, row in csv.iterrows():
        d = ds["cumulative"].sel(scenario=name).values.astype(float)[:, 11] - ref
        assert row["diff_median_12m"] == pytest.approx(float(np.median(d)), abs=1e-9)
        p_beats = float((d > 0).mean() + (d == 0).mean() / 2)  # a tie is half a win
        assert row["p_beats_baseline_12m"] == pytest.approx(p_beats)
        cells = (  # the report rounds with pandas (numpy) to two decimals
            '<td colspan="2">baseline</td>'
            if name == base
            else f"<td>{np.round(row['diff_median_12m'], 2):+.2f}</td>"
            f"<td>{np.round(row['p_beats_baseline_12m'], 2)}</td>"
        )
        assert cells in html.split(f'<td class="l">{name}</td>', 1)[1].split("</tr>", 1)[0]
    assert html.count('id="synthetic-banner"') == 1


def test_report_without_baseline_says_so(demo_report: tuple[Config, Path], tmp_path: Path) -> None:
    from regime.models.io import load_model
    from regime.pipeline import model_folder
    from regime.reports.render import load_scenarios, render_report

    cfg, path = demo_report
    ds = load_scenarios(path.parent / "scenarios")
    ds.attrs["baseline"] = ""  # as for scenario files without `baseline: true`
    html = render_report(load_model(model_folder(cfg, "t")), ds, tmp_path).read_text()
    assert "there is no baseline to compare against" in html
    assert "P(beats baseline)" not in html
    csv = pd.read_csv(tmp_path / "summary.csv", index_col=0)
    assert csv["p_beats_baseline_12m"].isna().all() and not csv["baseline"].any()


def test_report_shows_the_macro_side_of_each_scenario(demo_report: tuple[Config, Path]) -> None:
    """Macro fans, regimes over the horizon and the scenario list; the default model
    (the VAR) also describes its regimes, named in words (table and regimes.csv)."""
    _cfg, path = demo_report
    html = path.read_text()
    parser = _Collector()
    parser.feed(html)
    for section in ("macro", "horizon-regimes", "descriptions", "descriptions-list"):
        assert section in parser.ids, section
    ds = xr.load_dataset(path.parent / "scenarios" / "scenarios.nc", engine="h5netcdf")
    assert ds["macro_fan"].dims == ("scenario", "variable", "quantile", "month")
    listed = html.split('id="descriptions-list"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r"<li><b>([^<]+)</b>", listed) == [str(n) for n in ds.scenario.values]
    assert "Fed cuts 75 bp over 6 months" in listed
    table = html.split('id="regime-table"', 1)[1].split("</table>", 1)[0]
    names = pd.read_csv(path.parent / "regimes.csv", index_col=0)["name"]
    assert '<td class="l">name</td>' in table
    for name in names:
        assert f"<td>{name}</td>" in table
        assert re.search(r"easing|tightening|Fed on hold|Fed moves both ways", name), name


def test_report_escapes_scenario_descriptions(
    demo_report: tuple[Config, Path], tmp_path: Path
) -> None:
    from regime.models.io import load_model
    from regime.pipeline import model_folder
    from regime.reports.render import load_scenarios, render_report

    cfg, path = demo_report
    ds = load_scenarios(path.parent / "scenarios")
    first, second = (str(n) for n in ds.scenario.values[:2])
    ds.attrs["descriptions"] = (
        f"{first}: <script>alert('x')</script> & <b>bold</b>\n{second}: two\nlines"
    )
    html = render_report(load_model(model_folder(cfg, "t")), ds, tmp_path).read_text()
    assert "<script" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert f"<li><b>{second}</b>: two lines</li>" in html  # a continued line stays its own


def test_report_of_scenarios_saved_without_macro_fans(
    demo_report: tuple[Config, Path], tmp_path: Path
) -> None:
    from regime.models.io import load_model
    from regime.pipeline import model_folder
    from regime.reports.render import load_scenarios, render_report

    cfg, path = demo_report
    ds = load_scenarios(path.parent / "scenarios")
    old = ds.drop_vars(["macro_fan", "macro_source", "macro_named"])
    html = render_report(load_model(model_folder(cfg, "t")), old, tmp_path).read_text()
    assert 'id="fig-macro"' not in html and "saved without their macro fans" in html
    assert 'id="fig-horizon-regimes"' in html


def test_var_report_describes_its_regimes(tmp_path: Path) -> None:
    """The VAR's regime description is a table (one column per regime) and regimes.csv."""
    from regime.data.sample import simulate_sample
    from regime.features.panel import build_panel
    from regime.models.io import load_model, save_model
    from regime.reports.render import render_report
    from regime.scenarios import run
    from regime.scenarios.spec import builtin_scenarios
    from tests.scenarios.test_protocol import known_var

    cfg = Config()
    panel = build_panel(simulate_sample(seed=11)[0], cfg.features, cfg.data)
    model = load_model(save_model(known_var(panel), tmp_path / "models" / "v", panel=panel))
    ds = run(model, builtin_scenarios(), n_samples=100, seed=1)
    html = render_report(model, ds, tmp_path / "r").read_text()
    parser = _Collector()
    parser.feed(html)
    for fig in ("fig-macro", "fig-horizon-regimes"):
        assert parser.ids[fig]["src"].startswith("data:image/png;base64,")  # type: ignore[union-attr]
    desc = model.describe_regimes()
    csv = pd.read_csv(tmp_path / "r" / "regimes.csv", index_col=0)
    assert list(csv.columns) == list(desc.columns) and len(csv) == model.k_regimes == 2
    table = html.split('id="regime-table"', 1)[1].split("</table>", 1)[0]
    assert "<th>regime 0</th><th>regime 1</th>" in table
    for q in ("mean_rel_return", "sd_rel_return", "expected_duration_months", "share"):
        cells = "".join(f"<td>{v:.3g}</td>" for v in desc[q])
        assert f'<td class="l">{q}</td>{cells}</tr>' in table, q
    assert f"<td>{desc.loc[0, 'months_dominated']}</td>" in table
    assert "model draws it given the named variables" in html


def test_report_rebuilds_in_a_fresh_process(
    demo_report: tuple[Config, Path], tmp_path: Path
) -> None:
    import subprocess
    import sys

    cfg, path = demo_report
    before = path.stat().st_mtime_ns
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(
        f"report: {{out_dir: {cfg.report.out_dir}, models_dir: {cfg.report.models_dir}}}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "regime", "report", "t", "--config", str(cfg_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert path.stat().st_mtime_ns > before


def test_report_bad_inputs(
    demo_report: tuple[Config, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, _path = demo_report
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(
        f"report: {{out_dir: {cfg.report.out_dir}, models_dir: {cfg.report.models_dir}}}\n"
    )
    assert main(["report", "nope", "--config", str(cfg_file)]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nhorizont: 12\n")
    assert main(["scenario", "t", "--config", str(cfg_file), "--scenarios", str(bad)]) == 2
    assert "did you mean 'horizon'" in capsys.readouterr().err
    # an output directory that cannot be created (a file is in the way): one sentence,
    # exit 2, nothing written
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    cfg_file.write_text(
        f"report: {{out_dir: {blocker / 'out'}, models_dir: {cfg.report.models_dir}}}\n"
    )
    assert main(["scenario", "t", "--config", str(cfg_file)]) == 2
    err = capsys.readouterr().err
    assert "cannot be created" in err and "Traceback" not in err
    assert blocker.read_text() == "not a directory"


def test_incompatible_model_folder(demo_report: tuple[Config, Path], tmp_path: Path) -> None:
    import json
    import shutil

    cfg, _ = demo_report
    broken = tmp_path / "models" / "old"
    shutil.copytree(cfg.report.models_dir / "t", broken)
    doc = json.loads((broken / "model.json").read_text())
    doc["format"] = 0
    (broken / "model.json").write_text(json.dumps(doc))
    c = Config(report=ReportSpec(out_dir=tmp_path / "r", models_dir=tmp_path / "models"))
    from regime.errors import BadInputError

    with pytest.raises(BadInputError, match="format 0"):
        make_report(c, "old")
    assert not (tmp_path / "r" / "old" / "index.html").exists()


@pytest.mark.realdata
def test_pipeline_on_real_data(raw_dir: Path, tmp_path: Path) -> None:
    from tests.test_realdata import PANEL_FILES

    cfg = small_config(tmp_path)
    cache = tmp_path / "cache"
    assert (
        main(
            ["data", "import", *[str(raw_dir / f) for f in PANEL_FILES], "--cache-dir", str(cache)]
        )
        == 0
    )
    path = run_all(cfg, "real", offline=True, compare=False, samples=300, cache_dir=cache)
    html = path.read_text()
    assert "synthetic-banner" not in html
    for sid in ("FEDFUNDS", "CPIAUCSL", "TWEXBMTH", "DTWEXBGS", "F-F_Research_Data_Factors:SMB"):
        assert f">{sid}</td>" in html
    assert ">2026-05</td>" in html  # FEDFUNDS' last month
    assert ">2025-11</td>" in html  # SMB's last month
    # the default VAR's regimes, named from their measured characteristics
    described = pd.read_csv(path.parent / "regimes.csv", index_col=0)
    table = html.split('id="regime-table"', 1)[1].split("</table>", 1)[0]
    assert len(described) == cfg.model.k_regimes
    for k, row in described.iterrows():
        print(f"\nreal-data regime {k}: {row['name']} (share {row['share']:.2f})")
        assert f"<td>{row['name']}</td>" in table
        assert f"<td>{row['mean_rel_return']:.3g}</td>" in table


# --------------------------------------------------------------------------- backtest block


def _own_report_folder(cfg: Config, tmp: Path) -> Config:
    """The demo model with a report folder of its own (its scenarios copied, not rerun)."""
    import shutil

    shutil.copytree(cfg.report.out_dir / "t" / "scenarios", tmp / "r" / "t" / "scenarios")
    return Config(report=ReportSpec(out_dir=tmp / "r", models_dir=cfg.report.models_dir))


@pytest.mark.parametrize(
    ("bias", "same_model", "warned"),
    [(0.0, True, False), (6.0, True, True), (6.0, False, False)],
    ids=["model-beats-constant", "model-loses", "backtest-of-another-model"],
)
def test_report_links_the_backtest_and_warns_when_the_model_loses(
    demo_report: tuple[Config, Path], tmp_path: Path, bias: float, same_model: bool, warned: bool
) -> None:
    from markupsafe import escape

    from regime.backtest import engine as E
    from regime.config import model_identity
    from regime.models.io import read_meta
    from tests.backtest.test_report import tiny_result

    cfg, _ = demo_report
    c = _own_report_folder(cfg, tmp_path)
    identity = model_identity(read_meta(cfg.report.models_dir / "t")["config"]["model"])
    assert identity == cfg.model.identity()  # what `regime backtest` stores for this config
    result = tiny_result(regime_bias=bias, identity=identity if same_model else "other")
    E._write(result, c.report.out_dir / "t" / "backtest")
    html = make_report(c, "t").read_text()
    parser = _Collector()
    parser.feed(html)
    assert parser.ids["backtest-link"]["href"] == "backtest/index.html"
    assert escape(result.verdict) in html
    assert ("backtest-warning" in parser.ids) is warned
    assert html.index('id="backtest"') < html.index('id="summary-table"')  # at the top
    if warned:
        assert "loses to the constant baseline in the latest backtest" in html
        assert html.index('id="backtest-warning"') < html.index('id="summary"')
    else:
        assert "loses to the constant baseline" not in html
    assert ("configured differently" in html) is not same_model


def test_report_without_a_backtest_has_no_block(
    demo_report: tuple[Config, Path], tmp_path: Path
) -> None:
    cfg, _ = demo_report
    html = make_report(_own_report_folder(cfg, tmp_path), "t").read_text()
    assert 'id="backtest' not in html
