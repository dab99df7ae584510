"""From a validated config and a feature panel to a fitted model (what ``regime fit`` runs)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from regime import _dims as D
from regime.bayes.observed import GmmClassifier, ObservedRegimes, ObservedResults, fit_gmm
from regime.bayes.switching import MarkovSwitching, MarkovSwitchingResults, ModelCache
from regime.bayes.var import MarkovSwitchingVAR, MarkovSwitchingVARResults, macro_block
from regime.config import ModelSpec
from regime.errors import BadInputError
from regime.features.panel import Panel
from regime.progress import ProgressFn

log = logging.getLogger(__name__)

FittedModel = MarkovSwitchingResults | ObservedResults | MarkovSwitchingVARResults


@dataclass(frozen=True)
class ModelInputs:
    frame: pd.DataFrame  # the rows the model sees (complete, consecutive months)
    endog: pd.Series
    exog: pd.DataFrame | None
    exog_tvtp: pd.DataFrame | None
    recon: pd.Series
    labels: pd.Series | None
    classifier: GmmClassifier | None


def model_inputs(panel: Panel, spec: ModelSpec, seed: int = 0) -> ModelInputs:
    """Select the model's columns from the panel (first complete month onwards)."""
    cols = [D.REL_RETURN, *spec.tvtp_features, *spec.exog]
    if spec.kind == "observed" and spec.observed_labels == "rules":
        cols.append(D.LABEL)
    unknown = [c for c in cols if c not in panel.frame.columns]
    if unknown:
        raise BadInputError(
            f"model key refers to panel column {unknown[0]!r}, which does not exist; "
            f"available: {', '.join(map(str, panel.frame.columns))}."
        )
    frame = panel.model_frame(list(dict.fromkeys(cols)))
    for key, names in (("model.tvtp_features", spec.tvtp_features), ("model.exog", spec.exog)):
        for c in names:
            bad = frame.index[~np.isfinite(frame[c].to_numpy(dtype=float))]
            if len(bad):
                raise BadInputError(
                    f"{key} column {c!r} has a non-finite value at {bad[0]}; "
                    "check the input series of that month."
                )
    frame = frame.assign(**{D.RECON: panel.frame.loc[frame.index, D.RECON]})
    exog = None
    if spec.exog:
        # month t's return is explained by the features of month t-1, known at its end: a
        # scenario sets them from its macro paths the same way (no look-ahead either side)
        exog = frame[list(spec.exog)].shift(1).iloc[1:]
        frame = frame.iloc[1:]
    endog = frame[D.REL_RETURN].rename(D.REL_RETURN)
    labels, classifier = None, None
    if spec.kind == "observed":
        if spec.observed_labels == "rules":
            labels = frame[D.LABEL]
        else:
            feats = list(spec.tvtp_features or D.STATE_FEATURES)
            classifier = fit_gmm(frame, feats, seed=seed)
            labels = pd.Series(classifier.predict(frame), index=frame.index).map(
                lambda k: f"cluster{k}"
            )
    return ModelInputs(
        frame=frame,
        endog=endog,
        exog=exog,
        exog_tvtp=frame[list(spec.tvtp_features)] if spec.tvtp_features else None,
        recon=frame[D.RECON],
        labels=labels,
        classifier=classifier,
    )


def var_inputs(panel: Panel, spec: ModelSpec) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The VAR's variables (:func:`regime.bayes.var.macro_block`) and its transition
    features, from the first month where all are defined onwards."""
    feats = list(spec.tvtp_features)
    unknown = [c for c in feats if c not in panel.frame.columns]
    if unknown:
        raise BadInputError(
            f"model.tvtp_features refers to panel column {unknown[0]!r}, which does not exist; "
            f"available: {', '.join(map(str, panel.frame.columns))}."
        )
    block = macro_block(panel.frame)
    both = block.join(panel.frame[feats])
    both = both.loc[both.notna().all(axis=1).idxmax() :]
    if both.isna().any().any():
        bad = both.index[both.isna().any(axis=1)][0]
        raise BadInputError(f"The VAR's transition features have a gap in {bad}; fill the panel.")
    return both[list(block.columns)], both[feats] if feats else None


def _var_model(panel: Panel, spec: ModelSpec) -> MarkovSwitchingVAR:
    endog, tvtp = var_inputs(panel, spec)
    return MarkovSwitchingVAR(
        endog,
        k_regimes=spec.k_regimes,
        order=spec.order,
        exog_tvtp=tvtp,
        switching_coefs=spec.switching_coefs,
        priors=dict(spec.priors),
    )


def compile_ahead(panel: Panel, spec: ModelSpec) -> Any:
    """For the VAR: :func:`regime.bayes.var.compile_ahead` on this panel (stand-in
    results with ``panel`` set, to run scenarios on once); ``None`` for the other kinds,
    whose post-processing compiles little."""
    if spec.kind != "var":
        return None
    from regime.bayes.var import compile_ahead as var_compile_ahead

    res = var_compile_ahead(_var_model(panel, spec))
    res.panel = panel
    return res


def fit_spec(
    panel: Panel,
    spec: ModelSpec,
    *,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    seed: int | None = None,
    progressbar: bool = True,
    progress: ProgressFn | None = None,
    models: ModelCache | None = None,
) -> FittedModel:
    """Fit the model the spec describes on the panel (``progress``: see :mod:`regime.progress`).

    ``models``: a cache of compiled models to reuse (a backtest worker's,
    :class:`regime.bayes.fit.ModelCache`) for the Markov model and the VAR; the other
    kinds build their model.
    """
    seed = spec.seed if seed is None else seed
    kw: dict[str, Any] = {
        "draws": draws or spec.draws,
        "tune": tune or spec.tune,
        "chains": chains or spec.chains,
        "random_seed": seed,
        "sampler": spec.sampler,
        "target_accept": spec.target_accept,
        "progressbar": progressbar,
        "progress": progress,
    }
    if spec.kind == "var":
        return _var_model(panel, spec).fit(n_starts=spec.n_starts, models=models, **kw)
    inputs = model_inputs(panel, spec, seed)
    if spec.kind == "observed":
        assert inputs.labels is not None
        obs = ObservedRegimes(
            inputs.endog,
            inputs.labels,
            recon=inputs.recon,
            recon_effect=spec.recon_effect,
            priors=dict(spec.priors),
            classifier=inputs.classifier,
        )
        return obs.fit(**kw)
    mod = MarkovSwitching(
        inputs.endog,
        k_regimes=spec.k_regimes,
        exog=inputs.exog,
        exog_tvtp=inputs.exog_tvtp,
        switching_variance=spec.switching_variance,
        switching_exog=spec.switching_exog,
        emission=spec.emission,
        order_by=spec.order_by,
        priors=dict(spec.priors),
        recon=inputs.recon if spec.recon_effect != "none" else None,
        recon_effect=spec.recon_effect,
    )
    return mod.fit(n_starts=spec.n_starts, models=models, **kw)
