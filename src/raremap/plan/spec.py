"""Plan files: what the importer may commit to, its budget and its appetite for risk.

Every model is frozen and refuses unknown keys, like scenario and risk files. A number left empty
(``null``) is filled from the dataset's tables when the plan is resolved (``raremap.plan.inputs``),
so a plan file states only what it wants to change; every fallback is listed in docs/plan.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from raremap.scenario.spec import Periods
from raremap.vocabulary import Stage

Share = Annotated[float, Field(ge=0, le=1)]
Cap = Annotated[float, Field(gt=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Year = Annotated[int, Field(ge=1990, le=2100)]
Years = Annotated[int, Field(ge=0, le=30)]
BuildStage = Literal["mining", "separation", "metal", "magnet", "recycling"]


class Frozen(BaseModel):
    """Base of every plan model: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Horizon(Frozen):
    """The years planned, one-year periods (commitments start in one of them)."""

    start: Year = 2026
    end: Year = 2035

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; give an end year at or after start")
        return self

    def periods(self) -> Periods:
        return Periods(start=self.start, end=self.end, length=1)

    def years(self) -> list[int]:
        return list(range(self.start, self.end + 1))


class RiskAversion(Frozen):
    """Weight of the CVaR of shortfall cost in the objective (lambda) and the CVaR level (alpha)."""

    weight: NonNegative = Field(1.0, alias="lambda")
    alpha: Annotated[float, Field(ge=0, lt=1)] = 0.95


class Offtake(Frozen):
    """A contract with a partner for up to `maximum_t` t/yr of one stage's product.

    `premium` is the share above the market price paid per tonne delivered; `reservation` the share
    of the market price paid per tonne of contracted volume each year, delivered or not (what makes
    a contract a first-stage commitment). A joint venture also pays `capex_usd_per_tpa` up front and
    starts `lead_time_years` after it is signed.
    """

    name: str
    kind: Literal["offtake", "joint_venture"] = "offtake"
    partner: str
    stage: Stage
    elements: tuple[str, ...] = ("NdFeB",)
    maximum_t: Positive
    minimum_t: NonNegative = 0.0
    premium: NonNegative | None = None
    reservation: NonNegative | None = None
    capex_usd_per_tpa: NonNegative = 0.0
    lead_time_years: Years = 0
    earliest_start: Year | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Offtake:
        if self.minimum_t > self.maximum_t:
            raise ValueError(f"minimum_t {self.minimum_t} exceeds maximum_t {self.maximum_t}; lower the minimum")
        return self


class DomesticBuild(Frozen):
    """A domestic plant: capacity up to `maximum_t` t/yr (in units of at most `unit_t`), built once committed.

    Empty costs and times come from the costs and lead_times tables (see docs/plan.md). Recycling
    feeds `route` (metal by default). Mining is monazite: its thorium is limited by `thorium_limit_t`.
    `delay_probability` and `delay_years_max` describe the scenario uncertainty of the lead time
    (clearances, community opposition near coastal sands).
    """

    name: str
    stage: BuildStage
    route: Literal["separation", "metal"] = "metal"
    maximum_t: Positive
    minimum_t: NonNegative = 0.0
    unit_t: Positive | None = None
    capex_usd_per_tpa: NonNegative | None = None
    opex_usd_per_t: NonNegative | None = None
    lead_time_years: Years | None = None
    ramp_up_years: Years | None = None
    earliest_start: Year | None = None
    delay_probability: Share | None = None
    delay_years_max: Years | None = None
    thorium_limit_t: NonNegative | None = None

    @model_validator(mode="after")
    def _bounds(self) -> DomesticBuild:
        if self.minimum_t > self.maximum_t:
            raise ValueError(f"minimum_t {self.minimum_t} exceeds maximum_t {self.maximum_t}; lower the minimum")
        return self

    @property
    def product_stage(self) -> Stage:
        """The stage whose balance the plant's output enters (recycling enters its route)."""
        return self.route if self.stage == "recycling" else self.stage


class TechnologyPartnership(Frozen):
    """Know-how from a partner that, once signed, shortens the lead time and cuts the capex of some builds."""

    name: str
    partner: str
    targets: tuple[str, ...] = Field(min_length=1)
    lead_time_cut_years: Years = 1
    capex_cut: Share = 0.1
    cost_usd: NonNegative = 0.0


class Stockpile(Frozen):
    """A strategic stock of one element at one stage, bought at the start and drawn in any scenario."""

    element: str
    stage: Literal["separation", "metal", "magnet"]
    maximum_t: Positive
    minimum_t: NonNegative = 0.0
    price_usd_per_kg: NonNegative | None = None
    holding_cost_usd_per_kg_year: NonNegative = 0.5


class Caps(Frozen):
    """Largest share of any one partner and any one bloc in the importer's supply at each stage.

    Caps bind from `from_year` (default: horizon start + 4, the time to diversify; an assumption in
    docs/plan.md). `minimum_domestic_share` asks that domestic output be at least that share of
    supply at the listed stages from the same year.
    """

    partner: Cap = 0.4
    bloc: Cap = 0.4
    blocs: tuple[str, ...] = ("BRICS", "EU", "G7", "IPEF", "MSP", "QUAD", "SCO")
    from_year: Year | None = None
    minimum_domestic_share: Share | None = None
    domestic_stages: tuple[Stage, ...] = ("magnet",)


class ScenarioSource(Frozen):
    """Where the planner's scenarios come from: a risk file drawn by the risk engine's sampler."""

    risk_file: str = "default"
    count: Annotated[int, Field(ge=1, le=100_000)] = 100
    seed: Annotated[int, Field(ge=0)] = 0
    out_of_sample_seed: Annotated[int, Field(ge=0)] = 1
    out_of_sample_count: Annotated[int, Field(ge=1, le=100_000)] | None = None


class Plan(Frozen):
    """One plan file: the importer, horizon, budget, risk aversion, candidate options and caps."""

    name: str
    description: str = ""
    importer: str = "IND"
    horizon: Horizon = Horizon()
    budget_usd_million: NonNegative = 5000.0
    discount_rate: Annotated[float, Field(ge=0, le=0.5)] = 0.08
    risk: RiskAversion = RiskAversion.model_validate({})
    scenarios: ScenarioSource = ScenarioSource()
    shortfall_value_usd_per_kg: Positive | None = None
    partners_from_table: bool = True
    offtakes: tuple[Offtake, ...] = ()
    domestic: tuple[DomesticBuild, ...] = ()
    technology: tuple[TechnologyPartnership, ...] = ()
    stockpiles: tuple[Stockpile, ...] = ()
    caps: Caps = Caps()

    @model_validator(mode="after")
    def _unique_names(self) -> Plan:
        names = [*(item.name for item in self.offtakes), *(item.name for item in self.domestic),
                 *(item.name for item in self.technology)]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"option names {', '.join(repeated)} are used twice; give every option its own name")
        builds = {build.name for build in self.domestic}
        for partnership in self.technology:
            unknown = [target for target in partnership.targets if target not in builds]
            if unknown:
                raise ValueError(
                    f"technology {partnership.name!r} targets {', '.join(unknown)}, not domestic builds of this plan; "
                    f"use one of {', '.join(sorted(builds)) or '(none)'}"
                )
        return self
