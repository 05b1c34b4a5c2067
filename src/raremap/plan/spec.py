"""Plan files: what the importer may commit to, its budget and its appetite for risk.

Every model is frozen and refuses unknown keys, like scenario and risk files. A number left empty
(``null``) is filled from the dataset's tables when the plan is resolved (``raremap.plan.options``),
so a plan file states only what it wants to change; every fallback is listed in docs/plan.md.

Goods are named as in scenarios: an element (``Nd``, ``Dy``), a magnet type (``NdFeB N42 standard``),
or a family that stands for the importer's own mix: ``NdFeB`` (its magnet types, in the shares its
buyers use them) and ``NdPr`` (Nd and Pr in the shares its magnets hold them).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from raremap.vocabulary import Stage

Share = Annotated[float, Field(ge=0, le=1)]
Cap = Annotated[float, Field(gt=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
Year = Annotated[int, Field(ge=1990, le=2100)]
Years = Annotated[int, Field(ge=0, le=30)]
TradedStage = Literal["separation", "metal", "magnet"]
FAMILIES = ("NdFeB", "SmCo", "NdPr")
"""Goods that stand for the importer's own mix: magnet families (its magnet types) and NdPr (Nd and Pr)."""


class Frozen(BaseModel):
    """Base of every plan model: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Horizon(Frozen):
    """The years planned: commitments start in one of them; results are reported over them."""

    start: Year = 2027
    end: Year = 2035

    @model_validator(mode="after")
    def _ordered(self) -> Horizon:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; give an end year at or after start")
        return self

    def years(self) -> list[int]:
        return list(range(self.start, self.end + 1))


class RiskAversion(Frozen):
    """Weight of the CVaR of the importer's supply cost in the objective (lambda) and the CVaR level (alpha)."""

    weight: NonNegative = Field(1.0, alias="lambda")
    alpha: Annotated[float, Field(ge=0, lt=1)] = 0.9


class Offtake(Frozen):
    """A term contract with a partner for up to `maximum_t` t/yr of one good at one stage.

    In the market the contract is a term contract on the edge partner -> importer (the supply
    chain's ``contract`` array): the partner delivers it unless breaking it is worth more than its
    breach cost. `reservation` is the share of the good's base-year price paid each year per
    contracted tonne (the price of the option, delivered or not); deliveries are paid at the market
    price. A joint venture also pays `capex_usd_per_tpa` for capacity at the partner, which the
    market gains `lead_time_years` after signing.
    """

    name: str
    kind: Literal["offtake", "joint_venture"] = "offtake"
    partner: str
    stage: TradedStage
    good: str = "NdFeB"
    maximum_t: Positive
    minimum_t: NonNegative = 0.0
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
    """A domestic plant: capacity up to `maximum_t` t/yr at one stage, in the importer's market once built.

    Empty costs and times come from the costs and lead_times tables (the importer's row, else the
    world's). The plant runs at the market's operating cost for its stage, like every plant there.
    `delay_probability` and `delay_years_max` describe how its lead time may slip (clearances,
    community opposition near coastal sands). Mining is monazite: its thorium (the importer's
    ThO2 per REO) is limited by `thorium_limit_t`.
    """

    name: str
    stage: Stage
    maximum_t: Positive
    minimum_t: NonNegative = 0.0
    capex_usd_per_tpa: NonNegative | None = None
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


class TechnologyPartnership(Frozen):
    """Know-how from a partner that, once signed, shortens the lead time and cuts the capex of some builds.

    A partnership is signed or not: the planner solves with and without each and keeps the better.
    """

    name: str
    partner: str
    targets: tuple[str, ...] = Field(min_length=1)
    lead_time_cut_years: Years = 1
    capex_cut: Share = 0.1
    cost_usd: NonNegative = 0.0


class Stockpile(Frozen):
    """A strategic stock of one good at one stage, bought at the horizon's start, held by the importer.

    It is released to the importer's own buyers (never exported) when the importer's price is above
    `release_price_multiple` x the good's base-year price, at most `max_release_share_per_year` of
    its size a year. Holding costs the market's holding cost of the good.
    """

    good: str
    stage: TradedStage
    maximum_t: Positive
    minimum_t: NonNegative = 0.0
    price_usd_per_kg: NonNegative | None = None
    release_price_multiple: NonNegative | None = None
    max_release_share_per_year: Annotated[float, Field(gt=0, le=1)] = 1.0

    @model_validator(mode="after")
    def _bounds(self) -> Stockpile:
        if self.minimum_t > self.maximum_t:
            raise ValueError(f"minimum_t {self.minimum_t} exceeds maximum_t {self.maximum_t}; lower the minimum")
        return self

    @property
    def name(self) -> str:
        return f"stockpile-{self.good}-{self.stage}"


class Caps(Frozen):
    """Largest share of the importer's need at a stage that contracts with one partner, or one bloc, may cover.

    The rule that stops a *new* over-reliance: it limits what the plan contracts, in every year, as a
    share of the importer's need of that stage's goods (magnets, or the metal or oxide its magnet
    demand holds). Reliance the importer already has (its imports from its usual suppliers) is
    measured in the result, not capped: capping it would leave demand unmet where no alternative
    exists yet.
    """

    partner: Cap = 0.4
    bloc: Cap = 0.4
    blocs: tuple[str, ...] = ("BRICS", "EU", "G7", "IPEF", "MSP", "QUAD", "SCO")


class ScenarioSource(Frozen):
    """Where the planner's scenarios come from: draws of a risk file by the risk engine's sampler."""

    risk_file: str = "default"
    count: Annotated[int, Field(ge=1, le=10_000)] = 16
    seed: Annotated[int, Field(ge=0)] = 0
    out_of_sample_seed: Annotated[int, Field(ge=0)] = 1
    out_of_sample_count: Annotated[int, Field(ge=0, le=10_000)] = 4


class Plan(Frozen):
    """One plan file: the importer, horizon, budget, risk aversion, candidate options and caps.

    `keep_at_home` lists the stages whose domestic output the importer keeps for its own buyers (an
    export ban on those goods from the importer): without it, a plant's output goes to whoever pays
    most, which in a world-wide shortage is rarely the importer's own industry.
    """

    name: str
    description: str = ""
    importer: str = "IND"
    base_scenario: str = "baseline"
    horizon: Horizon = Horizon()
    budget_usd_million: NonNegative = 3000.0
    discount_rate: Annotated[float, Field(ge=0, le=0.5)] = 0.08
    risk: RiskAversion = RiskAversion.model_validate({})
    scenarios: ScenarioSource = ScenarioSource()
    partners_from_table: bool = True
    keep_at_home: tuple[TradedStage, ...] = ()
    offtakes: tuple[Offtake, ...] = ()
    domestic: tuple[DomesticBuild, ...] = ()
    technology: tuple[TechnologyPartnership, ...] = ()
    stockpiles: tuple[Stockpile, ...] = ()
    caps: Caps = Caps()

    @model_validator(mode="after")
    def _unique_names(self) -> Plan:
        names = [*(item.name for item in self.offtakes), *(item.name for item in self.domestic),
                 *(item.name for item in self.technology), *(item.name for item in self.stockpiles)]
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
