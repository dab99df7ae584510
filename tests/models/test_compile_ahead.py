"""Compiling ahead (an idle hold-out worker compiles what the main process needs next):
the stand-in results run through the post-processing and every built-in scenario."""

from __future__ import annotations

import logging

import pytest

from regime import pipeline
from regime.config import Config, ModelSpec
from regime.models.api import compile_ahead


def test_stand_in_results_run_every_scenario(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = Config()
    panel = pipeline.panel_for(cfg, pipeline.synthetic_series())
    res = compile_ahead(panel, cfg.model)
    assert res.kind == "var" and res.panel is panel
    post = res.idata.posterior
    assert post.sizes["chain"] == 1 and post.sizes["draw"] == 2
    assert post["regime_path"].shape[-1] == res.data.nobs
    with caplog.at_level(logging.INFO, logger="regime.pipeline"):
        pipeline.compile_ahead(cfg, panel)
    assert "compiling ahead skipped" not in caplog.text
    # a failure is only a lost speed-up, and says so
    import regime.scenarios

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(regime.scenarios, "run", boom)
    with caplog.at_level(logging.INFO, logger="regime.pipeline"):
        pipeline.compile_ahead(cfg, panel)
    assert "compiling ahead skipped: boom" in caplog.text
    # the other kinds compile little after their log density: nothing to do
    assert compile_ahead(panel, ModelSpec(kind="markov")) is None
