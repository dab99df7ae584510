"""Observed-regime hierarchical model (baseline).

Regimes are labels known each month: the panel's rule-based labels or
scikit-learn ``GaussianMixture`` clusters of standardized features (K chosen by
BIC, clusters ordered by their mean of the first feature)::

    y_t ~ Student-t(nu, mu[r_t] + gamma * recon_t, sigma[r_t])
    mu_r = mu0 + tau * eps_r,            eps_r ~ N(0, 1)      (partial pooling)
    log sigma_r = ls0 + tau_s * eta_r,   eta_r ~ N(0, 1)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy import stats

from regime import _dims as D
from regime.bayes.diagnostics import Diagnostics, diagnose, summary_table
from regime.bayes.fit import Sampler, multistart_map, sample_posterior
from regime.bayes.protocol import (
    ScenarioInputs,
    Simulation,
    data_fingerprint,
    period_index,
)
from regime.errors import BadInputError
from regime.progress import ProgressFn

MIN_MONTHS_PER_LABEL = 3


@dataclass(frozen=True)
class GmmClassifier:
    """A fitted Gaussian mixture stored as plain arrays (so it can be saved as JSON)."""

    features: tuple[str, ...]
    center: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    bic: dict[int, float] = field(default_factory=dict)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        z = (frame[list(self.features)].to_numpy(dtype=float) - self.center) / self.scale
        logp = np.column_stack(
            [
                np.log(w) + stats.multivariate_normal(m, c, allow_singular=True).logpdf(z)
                for w, m, c in zip(self.weights, self.means, self.covariances, strict=True)
            ]
        )
        return np.asarray(np.argmax(logp, axis=1))

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.__dict__.items()
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GmmClassifier:
        arr = {k: np.asarray(v) for k, v in d.items() if k not in ("features", "bic")}
        return cls(
            features=tuple(d["features"]), bic={int(k): v for k, v in d["bic"].items()}, **arr
        )


def fit_gmm(
    frame: pd.DataFrame, features: list[str], k_max: int = 6, seed: int = 0
) -> GmmClassifier:
    """GaussianMixture on standardized features, K in 1..k_max by BIC, deterministic order."""
    from sklearn.mixture import GaussianMixture

    x = frame[features].to_numpy(dtype=float)
    center, scale = x.mean(axis=0), x.std(axis=0)
    z = (x - center) / np.where(scale > 0, scale, 1.0)
    fits = {}
    for k in range(1, k_max + 1):
        g = GaussianMixture(k, covariance_type="full", n_init=4, random_state=seed).fit(z)
        fits[k] = (g.bic(z), g)
    best_k = min(fits, key=lambda k: fits[k][0])
    g = fits[best_k][1]
    order = np.lexsort(g.means_.T[::-1])  # by first feature, ties by the next
    return GmmClassifier(
        features=tuple(features),
        center=center,
        scale=np.where(scale > 0, scale, 1.0),
        weights=g.weights_[order],
        means=g.means_[order],
        covariances=g.covariances_[order],
        bic={k: float(v[0]) for k, v in fits.items()},
    )


class ObservedRegimes:
    """Student-t returns with partially pooled regime means and scales."""

    def __init__(
        self,
        endog: pd.Series,
        labels: Any,
        recon: Any = None,
        recon_effect: str = "none",
        priors: dict[str, dict[str, float]] | None = None,
        classifier: GmmClassifier | None = None,
    ) -> None:
        y = endog.to_numpy(dtype=float)
        lab = pd.Series(np.asarray(labels), index=endog.index).astype(str)
        if len(lab) != len(y):
            raise BadInputError(f"labels have {len(lab)} rows but endog has {len(y)}.")
        if not np.isfinite(y).all():
            raise BadInputError("endog has missing or non-finite values.")
        if lab.isin(["None", "nan"]).any():
            raise BadInputError("regime labels are undefined in some months.")
        self.endog = endog
        self.names = sorted(lab.unique())
        self.codes = lab.map({n: i for i, n in enumerate(self.names)}).to_numpy()
        counts = np.bincount(self.codes, minlength=len(self.names))
        self.recon = np.zeros(len(y)) if recon is None else np.asarray(recon, dtype=float)
        self.recon_effect = recon_effect
        self.priors = priors or {}
        self.classifier = classifier
        self.counts = dict(zip(self.names, counts.tolist(), strict=True))

    def build_model(self) -> pm.Model:
        y = self.endog.to_numpy(dtype=float)
        ybar, s_y = float(y.mean()), float(y.std())
        coords = {D.REGIME: self.names}
        with pm.Model(coords=coords) as model:
            mu0 = pm.Normal("mu0", ybar, 2 * s_y)
            tau = pm.HalfNormal("tau", s_y)
            eps = pm.Normal("eps", 0, 1, dims=D.REGIME)
            mu = pm.Deterministic("mu", mu0 + tau * eps, dims=D.REGIME)
            ls0 = pm.Normal("ls0", np.log(s_y), 1.0)
            tau_s = pm.HalfNormal("tau_s", 0.5)
            eta = pm.Normal("eta", 0, 1, dims=D.REGIME)
            sigma = pm.Deterministic("sigma", pt.exp(ls0 + tau_s * eta), dims=D.REGIME)
            nu = pm.Gamma("nu", 2.0, 0.1)
            mean = mu[self.codes]
            if self.recon_effect != "none":
                gamma = pm.Normal("gamma", 0, s_y)
                mean = mean + gamma * self.recon
            pm.StudentT("y", nu=nu, mu=mean, sigma=sigma[self.codes], observed=y)
        return model

    def fit(
        self,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 2,
        random_seed: int = 0,
        *,
        sampler: Sampler = "nutpie",
        progressbar: bool = True,
        n_starts: int = 4,
        target_accept: float = 0.9,
        cores: int | None = None,
        progress: ProgressFn | None = None,
    ) -> ObservedResults:
        t0 = time.perf_counter()
        model = self.build_model()
        start = multistart_map(model, n_starts=n_starts, random_seed=random_seed, progress=progress)
        names = ["mu0", "tau", "mu", "ls0", "tau_s", "sigma", "nu", "eps", "eta"] + (
            ["gamma"] if self.recon_effect != "none" else []
        )
        idata = sample_posterior(
            model,
            start.point,
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=random_seed,
            sampler=sampler,
            progressbar=progressbar,
            var_names=names,
            start_raveled=start.raveled,
            target_accept=target_accept,
            cores=cores,
            progress=progress,
        )
        months = [str(i) for i in self.endog.index]
        groups = {
            "observed_data": xr.Dataset(
                {
                    "y": xr.DataArray(
                        self.endog.to_numpy(dtype=float), dims=(D.MONTH,), coords={D.MONTH: months}
                    )
                }
            ),
            "constant_data": xr.Dataset(
                {
                    "regime_code": xr.DataArray(
                        self.codes, dims=(D.MONTH,), coords={D.MONTH: months}
                    ),
                    "recon": xr.DataArray(self.recon, dims=(D.MONTH,), coords={D.MONTH: months}),
                }
            ),
        }
        for name, ds in groups.items():
            if name in idata.groups():
                del idata[name]
            idata.add_groups({name: ds})
        info = {
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "random_seed": random_seed,
            "sampler": sampler,
            "seconds_total": time.perf_counter() - t0,
        }
        return ObservedResults(idata, self, info)


class ObservedResults:
    """Posterior of an observed-regime model (``.idata``, ``.spec``, ``.data``)."""

    kind = "observed"

    def __init__(self, idata: Any, model: ObservedRegimes, info: dict[str, Any]) -> None:
        self.idata = idata
        self.model = model
        self.info = info
        self.meta: dict[str, Any] | None = None  # model.json, when loaded from a folder
        self.folder: Any = None
        self.panel: Any = None  # the feature panel, when loaded from a folder

    @property
    def spec(self) -> dict[str, Any]:
        return {
            "labels": self.model.names,
            "recon_effect": self.model.recon_effect,
            "priors": self.model.priors,
        }

    @property
    def data(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "y": self.model.endog,
                "regime": np.asarray(self.model.names)[self.model.codes],
                "recon": self.model.recon,
            },
            index=self.model.endog.index,
        )

    @property
    def param_names(self) -> list[str]:
        return ["mu0", "tau", "mu", "ls0", "tau_s", "sigma", "nu"] + (
            ["gamma"] if self.model.recon_effect != "none" else []
        )

    def summary(self, hdi_prob: float = 0.90) -> pd.DataFrame:
        return summary_table(self.idata, self.param_names, hdi_prob)

    @property
    def diagnostics(self) -> Diagnostics:
        return diagnose(self.idata, self.param_names, ["mu", "sigma"])

    # ------------------------------------------------------------------ model protocol

    @property
    def scenario_features(self) -> tuple[str, ...]:
        """The features that label a month: the classifier's, else the rule features."""
        clf = self.model.classifier
        return tuple(clf.features) if clf is not None else D.STATE_FEATURES

    @property
    def uses_macro_paths(self) -> bool:
        return True

    def simulate(
        self, inputs: ScenarioInputs, draws: np.ndarray, rng: np.random.Generator
    ) -> Simulation:
        """Regimes labelled from the scenario's features, Student-t returns (model protocol).

        Each month's label follows from the scenario's features through the same rules
        (``inputs.feature_spec``) or the stored classifier; a label never seen in training
        draws a new regime from the hierarchical population. ``rng`` draws the H shocks
        per sample first (the same count in every scenario: common random numbers), then
        the population draws, only for scenarios with unseen labels.
        """
        from regime.bayes.switching import stacked
        from regime.features.panel import rule_labels

        post = {
            k: v[draws]
            for k, v in stacked(
                self.idata, ["mu", "sigma", "nu", "mu0", "tau", "ls0", "tau_s"]
            ).items()
        }
        n, horizon = len(draws), len(inputs.months)
        names = list(self.model.names)
        clf = self.model.classifier
        codes = np.empty((inputs.features.shape[0], horizon), dtype=np.int64)
        for i in range(inputs.features.shape[0]):
            frame = pd.DataFrame(inputs.features[i], columns=list(inputs.feature_names))
            if clf is not None:
                labels = [f"cluster{c}" for c in clf.predict(frame)]
            else:
                labels = list(rule_labels(frame, inputs.feature_spec)[D.LABEL])
            codes[i] = [names.index(lab) if lab in names else -1 for lab in labels]
        codes = np.broadcast_to(codes, (n, horizon))
        eps = rng.standard_t(post["nu"][:, None], size=(n, horizon))
        rows = np.arange(n)[:, None]
        mu = post["mu"][rows, np.maximum(codes, 0)]
        sig = post["sigma"][rows, np.maximum(codes, 0)]
        new = codes < 0  # unseen label: a new regime from the population
        if new.any():
            mu_new = post["mu0"][:, None] + post["tau"][:, None] * rng.standard_normal((n, horizon))
            sig_new = np.exp(
                post["ls0"][:, None] + post["tau_s"][:, None] * rng.standard_normal((n, horizon))
            )
            mu, sig = np.where(new, mu_new, mu), np.where(new, sig_new, sig)
        return Simulation(np.asarray(codes, dtype=np.int8), mu + sig * eps)

    def layout(self) -> tuple[dict[str, Any], dict[str, Any], str]:
        """(spec, layout, data fingerprint) stored in ``model.json`` (save hook)."""
        m = self.model
        layout = {
            "index": [str(i) for i in m.endog.index],
            "labels": m.names,
            "classifier": m.classifier.to_dict() if m.classifier is not None else None,
        }
        return self.spec, layout, data_fingerprint(m.endog.to_numpy(), m.codes, m.recon)

    @classmethod
    def from_layout(cls, idata: Any, doc: dict[str, Any], source: str) -> ObservedResults:
        """The results rebuilt from the posterior and ``model.json`` (load hook)."""
        layout = doc["layout"]
        y = idata.observed_data["y"].values
        codes = idata.constant_data["regime_code"].values
        labels = np.asarray(layout["labels"])[codes]
        clf = GmmClassifier.from_dict(layout["classifier"]) if layout["classifier"] else None
        model = ObservedRegimes(
            pd.Series(y, index=period_index(layout["index"])),
            labels,
            recon=idata.constant_data["recon"].values,
            recon_effect=doc["spec"]["recon_effect"],
            priors=doc["spec"].get("priors"),
            classifier=clf,
        )
        return cls(idata, model, doc.get("info") or {})
