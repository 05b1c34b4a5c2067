"""Risk files: the disruptions, export controls and demand levels a Monte Carlo run draws from.

A risk file names a base scenario and says, per country x stage, how often capacity is lost, how
much and for how long; how strongly disruptions move together (a Gaussian copula whose
correlations come from shared countries and bloc memberships); how often China restricts exports;
and how uncertain demand is. Every model is frozen and refuses unknown keys, like scenarios.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from raremap.scenario.spec import Periods
from raremap.vocabulary import Stage

Probability = Annotated[float, Field(ge=0, le=1)]
Positive = Annotated[float, Field(gt=0)]
ALL = "all"


class Frozen(BaseModel):
    """Base of every risk model: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_discrete(values: tuple[float, ...], probabilities: tuple[float, ...]) -> None:
    """A discrete distribution: one probability per value, summing to one."""
    if len(values) != len(probabilities):
        raise ValueError(f"{len(values)} values but {len(probabilities)} probabilities; give one probability per value")
    if abs(sum(probabilities) - 1.0) > 1e-9:
        raise ValueError(f"probabilities sum to {sum(probabilities):.6g}; make them sum to 1")


class Severity(Frozen):
    """Share of capacity (or of exports) lost while an event lasts: a beta distribution or a discrete list."""

    distribution: Literal["beta", "discrete"] = "beta"
    alpha: Positive = 2.0
    beta: Positive = 3.0
    values: tuple[Probability, ...] = ()
    probabilities: tuple[Probability, ...] = ()

    @model_validator(mode="after")
    def _discrete_complete(self) -> Severity:
        if self.distribution == "discrete":
            if not self.values:
                raise ValueError("a discrete severity needs values (shares lost) and their probabilities")
            _check_discrete(self.values, self.probabilities)
        return self

    def mean(self) -> float:
        if self.distribution == "beta":
            return self.alpha / (self.alpha + self.beta)
        return float(sum(value * weight for value, weight in zip(self.values, self.probabilities, strict=True)))


class Duration(Frozen):
    """Whole years an event lasts: geometric with the given mean (at least one year), or a discrete list."""

    distribution: Literal["geometric", "discrete"] = "geometric"
    mean_years: Annotated[float, Field(ge=1, le=50)] = 1.5
    values: tuple[Annotated[int, Field(ge=1, le=50)], ...] = ()
    probabilities: tuple[Probability, ...] = ()

    @model_validator(mode="after")
    def _discrete_complete(self) -> Duration:
        if self.distribution == "discrete":
            if not self.values:
                raise ValueError("a discrete duration needs values (years) and their probabilities")
            _check_discrete(tuple(float(value) for value in self.values), self.probabilities)
        return self

    def mean(self) -> float:
        if self.distribution == "geometric":
            return self.mean_years
        return float(sum(value * weight for value, weight in zip(self.values, self.probabilities, strict=True)))


class ProbabilityMapping(Frozen):
    """How a WGI political-stability score becomes an annual probability of a disruption.

    ``p = minimum + (maximum - minimum) / (1 + exp(steepness * (score - midpoint)))``: a logistic
    curve that falls from `maximum` (very unstable, score -2.5) to `minimum` (very stable, +2.5).
    """

    minimum: Probability = 0.01
    maximum: Probability = 0.25
    midpoint: float = -1.0
    steepness: Positive = 1.5

    @model_validator(mode="after")
    def _ordered(self) -> ProbabilityMapping:
        if self.maximum < self.minimum:
            raise ValueError(f"maximum {self.maximum} is below minimum {self.minimum}; swap them")
        return self


class Processes(Frozen):
    """Which country x stage disruption processes exist when not listed one by one."""

    from_capacity: bool = True
    minimum_world_share: Probability = 0.01
    countries: tuple[str, ...] = (ALL,)
    stages: tuple[Stage, ...] = get_args(Stage)


class ProcessOverride(Frozen):
    """Settings for one country (x stage) process, replacing the derived defaults."""

    country: str
    stage: Literal["mining", "separation", "metal", "magnet", "all"] = "all"
    annual_probability: Probability | None = None
    severity: Severity | None = None
    duration: Duration | None = None


class CorrelationPair(Frozen):
    """An explicit latent correlation between two processes (`COUNTRY/stage` or `export_control`)."""

    first: str
    second: str
    value: Annotated[float, Field(ge=-1, le=1)]


class Correlation(Frozen):
    """Gaussian-copula correlations: within a country, between members of a shared bloc, or given pairs."""

    same_country: Annotated[float, Field(ge=-1, le=1)] = 0.5
    shared_bloc: Annotated[float, Field(ge=-1, le=1)] = 0.2
    blocs: tuple[str, ...] = ("BRICS", "EU", "G7", "MSP", "QUAD", "SCO")
    pairs: tuple[CorrelationPair, ...] = ()


class ExportControlProcess(Frozen):
    """China's export controls as a process: how often, on what, how much of its exports withheld, how long.

    `annual_probability` left empty means: the share of years since `history_from` in which the
    policies table records a new Chinese export quota, licensing or ban.
    """

    enabled: bool = True
    exporter: str = "CHN"
    stages: tuple[Literal["separation", "metal", "magnet"], ...] = Field(default=("separation", "metal", "magnet"), min_length=1)
    elements: tuple[str, ...] = (ALL,)
    destinations: tuple[str, ...] = (ALL,)
    annual_probability: Probability | None = None
    history_from: Annotated[int, Field(ge=1990, le=2100)] = 2010
    severity: Severity = Severity(alpha=2.0, beta=2.0)
    duration: Duration = Duration(mean_years=1.5)


class DemandUncertainty(Frozen):
    """A multiplier on every country's demand over the horizon, drawn once per draw from a few levels."""

    levels: tuple[Annotated[float, Field(gt=0, le=10)], ...] = (1.0,)
    probabilities: tuple[Probability, ...] = (1.0,)

    @model_validator(mode="after")
    def _matched(self) -> DemandUncertainty:
        _check_discrete(self.levels, self.probabilities)
        return self


class RiskModel(Frozen):
    """One risk file: the base scenario and the uncertainties a Monte Carlo run draws.

    `periods` replaces the base scenario's periods (the first is the calibrated base year);
    `horizon_start` is the first year the draws disrupt and the outcomes cover (default: the first
    period after the base year), so the years before it stay as the base scenario has them.
    """

    name: str
    description: str = ""
    base: str = "baseline"
    periods: Periods | None = None
    horizon_start: Annotated[int, Field(ge=1990, le=2100)] | None = None
    importer: str | None = None
    probability_mapping: ProbabilityMapping = ProbabilityMapping()
    processes: Processes = Processes()
    overrides: tuple[ProcessOverride, ...] = ()
    default_severity: Severity = Severity()
    default_duration: Duration = Duration()
    correlation: Correlation = Correlation()
    export_control: ExportControlProcess = ExportControlProcess()
    demand: DemandUncertainty = DemandUncertainty()
    severity_step: Annotated[float, Field(ge=0.005, le=1)] = 0.1
    draws: Annotated[int, Field(gt=0)] = 1000
    seed: Annotated[int, Field(ge=0)] = 0
