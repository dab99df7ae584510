"""What importing regime does to the process: numba's optimisation level, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import pymc, regime, numba; print(int(numba.config.OPT))"


@pytest.mark.parametrize(("user", "want"), [(None, 2), ("3", 3), ("1", 1)])
def test_numba_opt_level_is_2_unless_the_user_sets_one(user: str | None, want: int) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_OPT"}
    if user is not None:
        env["NUMBA_OPT"] = user
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert int(out.stdout.strip().splitlines()[-1]) == want


def test_public_names_resolve() -> None:
    """The top-level names (imported lazily) are the library's classes and functions."""
    import regime
    from regime.bayes.switching import MarkovSwitching
    from regime.bayes.var import MarkovSwitchingVAR

    assert regime.MarkovSwitchingVAR is MarkovSwitchingVAR
    assert regime.MarkovSwitching is MarkovSwitching
    for name in regime.__all__:
        assert getattr(regime, name) is not None, name
