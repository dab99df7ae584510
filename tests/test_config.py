"""Config validation: unknown keys with hints, all errors in one message, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from regime.cli import main
from regime.config import Config, ModelSpec, load_config
from regime.errors import BadInputError

REPO = Path(__file__).resolve().parents[1]


def test_default_yaml_equals_builtin_defaults() -> None:
    assert load_config(REPO / "configs" / "default.yaml") == Config()


def test_unknown_key_has_did_you_mean(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("data:\n  strat: '1980-01'\nmodel:\n  k_regime: 3\n")
    with pytest.raises(BadInputError) as exc:
        load_config(f)
    msg = str(exc.value)
    assert "unknown key 'data.strat' (did you mean 'start'?)" in msg
    assert "unknown key 'model.k_regime' (did you mean 'k_regimes'?)" in msg  # all in one
    assert str(f) in msg and "\n" not in msg


def test_nested_list_items_are_checked(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("data:\n  series:\n    - {id: FEDFUNDS, release_lag: 1}\n")
    with pytest.raises(BadInputError, match="did you mean 'release_lag_months'"):
        load_config(f)


def test_bad_values_and_yaml(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("model:\n  k_regimes: 1\ndata:\n  start: 1980\n")
    with pytest.raises(BadInputError, match="data.start.*model.k_regimes"):
        load_config(f)
    f.write_text("data: [unclosed\n")
    with pytest.raises(BadInputError, match="not valid YAML"):
        load_config(f)


def test_cli_exit_code_2_on_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("dataa: {}\n")
    rc = main(["data", "show", "--config", str(f)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "did you mean 'data'" in err
    assert "Traceback" not in err


def test_api_key_never_in_spec_hash_inputs() -> None:
    c = Config.model_validate({"data": {"fred": {"api_key": "s3cr3t-key-value"}}})
    assert "s3cr3t" not in repr(c)
    assert c.spec_hash() == Config().spec_hash()


def test_model_identity_ignores_sampler_settings() -> None:
    base = ModelSpec().identity()
    assert ModelSpec(draws=200, tune=100, chains=4, seed=3, holdout_years=0).identity() == base
    assert ModelSpec(k_regimes=3).identity() != base
    assert ModelSpec(tvtp_features=()).identity() != base
