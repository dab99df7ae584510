"""Shared fixtures: seeded rng, temporary cache, real-data folder (skips when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from regime.data.cache import Cache

REPO = Path(__file__).resolve().parents[1]
RAW_ENV = "REGIME_RAW_DATA"


def raw_data_dir() -> Path | None:
    """``$REGIME_RAW_DATA`` or ``../shared/data/raw`` beside the checkout, if present."""
    candidates = [os.environ.get(RAW_ENV), REPO.parent / "shared" / "data" / "raw"]
    for c in candidates:
        if c and Path(c).is_dir() and any(Path(c).glob("*.csv")):
            return Path(c)
    return None


@pytest.fixture
def raw_dir() -> Path:
    d = raw_data_dir()
    if d is None:
        pytest.skip("real data folder ../shared/data/raw is absent")
    return d


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


@pytest.fixture(autouse=True)
def _no_user_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never see the developer's key or cache directory."""
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    monkeypatch.setenv("REGIME_CACHE_DIR", str(tmp_path / "env-cache"))
