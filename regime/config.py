"""Validated configuration (pydantic specs) and ``load_config``.

Every YAML file passes through these models with ``extra="forbid"``: an unknown
key is named with a "did you mean" hint and all problems are reported in one
message. Inside the package, code trusts the validated spec.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import typing
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from regime import _dims as D
from regime.errors import BadInputError
from regime.flows.calendar import RECON_FIRST_YEAR, SEMIANNUAL_FROM

# Starts of the multi-start mode search (regime.bayes.fit.multistart_map). Each costs
# ~60 gradient evaluations (16 take ~0.1 s on the K=3, T=800 benchmark), so robustness
# is cheap: on Stata's Fed funds example with a lagged regressor, 1 start in 16 to 3 in 8
# reaches the main mode, depending on the seed.
N_STARTS = 32
# Hold-out comparison candidates (regime.models.compare.candidates): "full" adds the four
# univariate Markov models to the observed-regime model and the configured VAR
Comparison = Literal["full", "baselines"]


class Spec(BaseModel):
    """Base: unknown keys are errors, specs are immutable once validated."""

    # NaN and infinity are never meaningful settings (`change: .nan` is a typo)
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SeriesSpec(Spec):
    """One input series and how it enters the panel."""

    id: str = Field(description="FRED series id, Ken French dataset name, or imported id")
    source: Literal["fred", "french", "file"] = "fred"
    release_lag_months: int = Field(
        0, ge=0, le=12, description="months after the reference month until publication"
    )
    fill: Literal["none", "interpolate"] = Field(
        "none", description="policy for missing months: none (report) or interpolate (logged)"
    )


class FredSpec(Spec):
    """FRED access: official API when a key is set, keyless CSV otherwise."""

    api_key: SecretStr | None = Field(None, description="else FRED_API_KEY from the environment")
    as_of: date | None = Field(None, description="point-in-time (ALFRED) vintage date")
    requests_per_second: float = Field(2.0, gt=0, le=2.0)
    max_retries: int = Field(5, ge=0, le=10)
    backoff_seconds: float = Field(1.0, ge=0)
    timeout_seconds: float = Field(30.0, gt=0)


class DataSpec(Spec):
    cache_dir: Path | None = Field(None, description="else REGIME_CACHE_DIR, else user cache dir")
    start: str = Field("1973-01", description="first month kept (YYYY-MM)")
    series: tuple[SeriesSpec, ...] = (
        SeriesSpec(id="FEDFUNDS"),
        SeriesSpec(id="CPIAUCSL", release_lag_months=1, fill="interpolate"),
        SeriesSpec(id="TWEXBMTH"),
        SeriesSpec(id="DTWEXBGS"),
        SeriesSpec(id="F-F_Research_Data_Factors", source="french"),
    )
    fred: FredSpec = FredSpec()

    @field_validator("start")
    @classmethod
    def _month(cls, v: str) -> str:
        try:
            date.fromisoformat(f"{v}-01")
        except ValueError as exc:
            raise ValueError(f"expected YYYY-MM, got {v!r}") from exc
        return v

    def lag(self, series_id: str) -> int:
        for s in self.series:
            if s.id == series_id:
                return s.release_lag_months
        return 0

    def fill(self, series_id: str) -> str:
        for s in self.series:
            if s.id == series_id:
                return s.fill
        return "none"


class RelativeReturnSpec(Spec):
    """How the small-cap relative return (% per month) is built."""

    kind: Literal["smb", "decile_spread", "prices"] = "smb"
    small: str | None = Field(None, description="price series id of the small-cap leg (prices)")
    large: str | None = Field(None, description="price series id of the large-cap leg (prices)")


class RegimeRuleSpec(Spec):
    """Thresholds of the rule-based regime labels."""

    easing_below_pp: float = Field(-0.25, description="6-month Fed funds change at or below")
    tightening_above_pp: float = Field(0.25, description="6-month Fed funds change at or above")
    inflation_high_above_pct: float = Field(3.0, description="CPI YoY at or above is 'high'")
    dollar_strong_above_pct: float = Field(0.0, description="dollar YoY above is 'strong'")


class FeatureSpec(Spec):
    policy_rate: str = "FEDFUNDS"
    inflation: str = "CPIAUCSL"
    core_inflation: str | None = Field(None, description="e.g. CPILFESL or PCEPILFE")
    dollar: tuple[str, ...] = Field(
        ("TWEXBMTH", "DTWEXBGS"), description="oldest first; spliced on log changes"
    )
    factors: str = "F-F_Research_Data_Factors"
    size_portfolios: str = "Portfolios_Formed_on_ME"
    relative_return: RelativeReturnSpec = RelativeReturnSpec()
    regimes: RegimeRuleSpec = RegimeRuleSpec()
    recon_first_year: int = Field(
        RECON_FIRST_YEAR, description="first June reconstitution in the window"
    )
    semiannual_from: str = Field(
        f"{SEMIANNUAL_FROM:%Y-%m}", description="first December reconstitution (YYYY-MM)"
    )


# Lags p of the regime-switching VAR (regime.bayes.var) accepted by model.order.
VAR_MAX_LAGS = 3
# Regimes of the VAR accepted by model.k_regimes with model.kind var.
VAR_MAX_REGIMES = 4


class ModelSpec(Spec):
    """The model ``regime fit`` fits.

    ``kind``: ``markov`` (univariate Markov switching of the relative return),
    ``observed`` (observed-regime baseline) or ``var`` (regime-switching VAR of the
    macro changes and the relative return, :mod:`regime.bayes.var`; it uses
    ``k_regimes``, ``tvtp_features`` as its transition features, ``order`` and
    ``switching_coefs``; its variables are the panel's macro block, so ``exog`` is
    refused).
    """

    kind: Literal["markov", "observed", "var"] = "var"
    k_regimes: int = Field(2, ge=2, le=6)
    order: int = Field(1, ge=1, le=VAR_MAX_LAGS, description="VAR lags p (kind var)")
    switching_coefs: bool = Field(False, description="VAR lag coefficients per regime (kind var)")
    tvtp_features: tuple[str, ...] = D.STATE_FEATURES
    exog: tuple[str, ...] = ()
    switching_variance: bool = True
    switching_exog: bool = True
    emission: Literal["normal", "studentt"] = "normal"
    order_by: Literal["mean", "sigma"] = "sigma"
    recon_effect: Literal["none", "shared", "switching"] = "shared"
    observed_labels: Literal["rules", "gmm"] = "rules"
    priors: dict[str, dict[str, float]] = Field(default_factory=dict)
    draws: int = Field(1000, ge=50)
    tune: int = Field(1000, ge=50)
    chains: int = Field(2, ge=1)
    seed: int = 0
    n_starts: int = Field(N_STARTS, ge=1)
    sampler: Literal["nutpie", "pymc"] = "nutpie"
    target_accept: float = Field(0.9, gt=0.5, lt=1.0)
    holdout_years: int = Field(5, ge=0)
    allow_unconverged: bool = False

    def identity(self) -> str:
        """Hash of what the model is, not of how it is sampled (see :func:`model_identity`)."""
        return model_identity(self.model_dump(mode="json"))

    @model_validator(mode="after")
    def _var_fits(self) -> ModelSpec:
        if self.kind == "var":
            if self.exog:
                raise ValueError(
                    "model.kind var takes no exog (its variables are the macro block); "
                    "remove model.exog"
                )
            if self.k_regimes > VAR_MAX_REGIMES:
                raise ValueError(f"model.kind var allows k_regimes up to {VAR_MAX_REGIMES}")
        return self


# ModelSpec fields that set how a model is sampled, started or checked, not what it is
SAMPLER_FIELDS = frozenset(
    {
        "draws",
        "tune",
        "chains",
        "seed",
        "n_starts",
        "sampler",
        "target_accept",
        "holdout_years",
        "allow_unconverged",
    }
)


def model_identity(model: Mapping[str, Any]) -> str:
    """Stable hash of a ``ModelSpec`` dump (e.g. a saved ``model.json`` config) without
    ``SAMPLER_FIELDS``: two fits with equal identities are the same model, perhaps
    sampled differently (the backtest fits with ``--draws``)."""
    return stable_hash({k: v for k, v in model.items() if k not in SAMPLER_FIELDS})


class ReportSpec(Spec):
    out_dir: Path = Path("reports")
    models_dir: Path = Path("models")


class Config(Spec):
    data: DataSpec = DataSpec()
    features: FeatureSpec = FeatureSpec()
    model: ModelSpec = ModelSpec()
    report: ReportSpec = ReportSpec()

    def spec_hash(self) -> str:
        """Stable hash of the whole configuration (secrets excluded)."""
        return stable_hash(self.model_dump(mode="json", exclude={"data": {"fred": {"api_key"}}}))


def stable_hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- errors


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes reachable from an annotation (through Optional, tuple, dict...)."""
    origin = typing.get_origin(annotation)
    if origin is None:
        return [annotation]
    out: list[Any] = []
    for arg in typing.get_args(annotation):
        if arg is not Ellipsis and arg is not type(None):
            out.extend(_unwrap(arg))
    return out


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model found at ``loc`` below ``model``."""
    current: list[Any] = [model]
    for part in loc:
        if isinstance(part, int):
            continue
        nxt: list[Any] = []
        for m in current:
            if isinstance(m, type) and issubclass(m, BaseModel) and part in m.model_fields:
                nxt.extend(_unwrap(m.model_fields[part].annotation))
        current = nxt
    names: list[str] = []
    for m in current:
        if isinstance(m, type) and issubclass(m, BaseModel):
            names.extend(m.model_fields)
    return names


def format_validation_error(exc: ValidationError, model: type[BaseModel], source: str) -> str:
    """All problems of ``exc`` in one message, unknown keys with a "did you mean" hint."""
    parts = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            known = _fields_at(model, loc[:-1])
            hint = difflib.get_close_matches(key, known, n=1)
            msg = f"unknown key '{where}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
        else:
            msg = f"'{where}': {err['msg']}"
        parts.append(msg)
    return f"{source} is invalid: " + "; ".join(parts) + "."


def validate(model: type[Spec], raw: Any, source: str) -> Any:
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        raise BadInputError(format_validation_error(exc, model, source)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader that rejects a key given twice in one mapping (YAML would keep the last)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicated key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _unique_mapping,  # type: ignore[arg-type]
)


def read_yaml(path: Path, what: str = "Config file") -> Any:
    """Parse a YAML file safely; ``what`` names it in errors ("Config file", "Scenario file")."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise BadInputError(f"{what} {path} does not exist.") from None
    except IsADirectoryError:
        raise BadInputError(f"{what} {path} is a directory, not a YAML file.") from None
    except OSError as exc:
        raise BadInputError(f"{what} {path} cannot be read: {exc.strerror}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BadInputError(
            f"{what} {path} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}); "
            "save it as UTF-8."
        ) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        detail = f" ({problem})" if problem and "duplicated key" in str(problem) else ""
        raise BadInputError(f"{what} {path} is not valid YAML{where}{detail}.") from None


def load_config(path: Path | str | None = None) -> Config:
    """Load and validate a config file; ``None`` gives the built-in defaults."""
    if path is None:
        return Config()
    raw = read_yaml(Path(path))
    if raw is not None and not isinstance(raw, dict):
        raise BadInputError(f"Config file {path} must hold a mapping at the top level.")
    cfg: Config = validate(Config, raw, f"Config file {path}")
    return cfg
