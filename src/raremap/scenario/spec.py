"""Scenario files: what a shock or a policy changes, as frozen pydantic models that refuse unknown keys.

A scenario names its base (``base: baseline``); its own keys are deep-merged onto the base's
(mappings merge key by key, lists and values replace), and the merged document is validated once.
Names of countries, stages and elements are checked against the dataset in ``raremap.scenario.checks``.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from raremap.model.periods import PeriodGrid
from raremap.reading_guard import partial_date
from raremap.vocabulary import Stage

Share = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Year = Annotated[int, Field(ge=1990, le=2100)]
ALL = "all"


class Frozen(BaseModel):
    """Base of every scenario model: immutable, unknown keys refused, numbers finite, text bounded.

    NaN or infinity in a capacity or a quota would reach the solver as a meaningless bound, and a
    megabyte of text in a name would be copied into every stored run.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, str_max_length=10_000)


def as_date(value: object) -> object:
    """Accept a year (2025), a month ('2025-09') or a full date; a year means 1 January.

    Text must be a date that exists: '2026-13-01' and '2025-02-30' are refused with the reason.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= 9999:
            raise ValueError(f"{value} is not a year; write YYYY, YYYY-MM or YYYY-MM-DD")
        return datetime.date(value, 1, 1)
    if isinstance(value, str):
        return partial_date(value)
    return value


class SubAnnual(Frozen):
    """Years split into quarters or months, for shocks shorter than a year (e.g. 2025-2026 by quarter)."""

    start: Year
    end: Year
    parts_per_year: Literal[4, 12] = 4

    @model_validator(mode="after")
    def _ordered(self) -> SubAnnual:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; give an end year at or after start")
        return self


class Periods(Frozen):
    """The years simulated: start, end (inclusive), years per period, and a stretch split finer."""

    start: Year = 2024
    end: Year = 2035
    length: Annotated[int, Field(ge=1, le=10)] = 1
    sub_annual: SubAnnual | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Periods:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; give an end year at or after start")
        if self.sub_annual is not None:
            if self.length != 1:
                raise ValueError("sub_annual periods need length: 1 (years elsewhere); drop one of them")
            if self.sub_annual.start <= self.start:
                raise ValueError(
                    f"sub_annual.start {self.sub_annual.start} must come after the base year {self.start}, "
                    "which stays a whole year (the data are annual)"
                )
            if self.sub_annual.end > self.end:
                raise ValueError(f"sub_annual.end {self.sub_annual.end} is after end {self.end}; end it within the horizon")
        return self

    def years(self) -> list[int]:
        return list(range(self.start, self.end + 1, self.length))

    def grid(self) -> PeriodGrid:
        """The periods as a grid of starts and lengths in years."""
        if self.sub_annual is None:
            return PeriodGrid.yearly(self.years(), self.length)
        fine = self.sub_annual
        return PeriodGrid.mixed(self.start, self.end, fine.start, fine.end, fine.parts_per_year)


ProjectStatus = Literal["operating", "construction", "committed", "announced", "speculative"]


class Settings(Frozen):
    """How the bundled data become a supply chain; every default is stated in docs/simulation.md."""

    production_series: str = "main"
    capacity_headroom: Annotated[float, Field(ge=1, le=5)] = 1.1
    pipeline: tuple[ProjectStatus, ...] = ("operating", "construction")
    probability_weighted: bool = False
    investment: bool = True
    investment_response: bool = False
    end_of_life_recycling: bool = True
    sticky_trade: bool = True
    ndpr_pool: bool = True
    calibration: bool = True


class GrowthOverride(Frozen):
    """Replace a demand path's growth for one country x sector by a constant annual rate."""

    country: str
    sector: str
    annual_growth: Annotated[float, Field(ge=-0.5, le=1)]
    from_year: Year | None = None


class Demand(Frozen):
    """Which named demand path to follow, and growth overrides by sector (EV, wind, ...)."""

    path: str = "stated-policies"
    growth: tuple[GrowthOverride, ...] = ()


class ExportControl(Frozen):
    """A measure on the edges leaving `exporter`: a ban, a quota or a licence delay."""

    exporter: str
    stages: tuple[Stage, ...] = Field(min_length=1)
    elements: tuple[str, ...] = (ALL,)
    destinations: tuple[str, ...] = (ALL,)
    except_destinations: tuple[str, ...] = ()
    start: datetime.date
    end: datetime.date | None = None
    form: Literal["ban", "quota", "licence_delay", "approval_share"]
    quota_t: NonNegative | None = None
    quota_share_of_base: Share | None = None
    delay_days: Annotated[float, Field(ge=0, le=730)] | None = None
    delay_working_days: Annotated[float, Field(ge=0, le=520)] | None = None
    approval_share: Share | None = None
    extraterritorial: bool = False

    @field_validator("start", "end", mode="before")
    @classmethod
    def _dates(cls, value: object) -> object:
        return as_date(value)

    @model_validator(mode="after")
    def _parameters_match_form(self) -> ExportControl:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; swap them or drop end")
        if self.form == "quota" and (self.quota_t is None) == (self.quota_share_of_base is None):
            raise ValueError("a quota needs exactly one of quota_t or quota_share_of_base")
        if self.form == "licence_delay" and (self.delay_days is None) == (self.delay_working_days is None):
            raise ValueError("a licence delay needs exactly one of delay_days or delay_working_days")
        if self.form != "quota" and (self.quota_t is not None or self.quota_share_of_base is not None):
            raise ValueError(f"quota parameters given for a {self.form}; set form: quota or drop them")
        if (self.form == "approval_share") != (self.approval_share is not None):
            raise ValueError("form approval_share needs approval_share (the share of licences granted), and only it")
        if self.form != "licence_delay" and (self.delay_days is not None or self.delay_working_days is not None):
            raise ValueError(f"delay parameters given for a {self.form}; set form: licence_delay or drop them")
        return self

    def held_days(self) -> float:
        """Calendar days until the first licences arrive: working days count 7/5 calendar days each."""
        if self.delay_days is not None:
            return self.delay_days
        return (self.delay_working_days or 0.0) * 7 / 5

    def halt_end(self) -> datetime.date:
        """The day the first licences arrive and trade on the covered edges resumes."""
        return self.start + datetime.timedelta(days=round(self.held_days()))


class Disruption(Frozen):
    """Capacity lost at one country x stage from `start` for `duration_years`, then recovered."""

    country: str
    stage: Stage
    share_lost: Share
    start: Year
    duration_years: Annotated[int, Field(ge=1, le=100)] = 1
    recovery: Literal["immediate", "linear"] = "immediate"
    recovery_years: Annotated[int, Field(ge=0, le=30)] = 0


class CapacityChange(Frozen):
    """Capacity added (or removed, if negative) at one country x stage, ramping up after it comes online."""

    country: str
    stage: Stage
    capacity_t: float
    online_year: Year
    ramp_up_years: Annotated[int, Field(ge=0, le=30)] = 0
    note: str = ""


class ReleaseRule(Frozen):
    """When a stockpile is drawn, at a bounded rate: when the local price is above a threshold, or, with
    `when_short_share`, whenever its holder would otherwise be short by more than that share of demand."""

    price_threshold_usd_per_kg: NonNegative = 0.0
    max_release_share_per_year: Annotated[float, Field(gt=0, le=1)] = 1.0
    when_short_share: Share | None = None


class Stockpile(Frozen):
    """A strategic stock held by a country at one stage of one element."""

    holder: str
    stage: Literal["separation", "metal", "magnet"]
    element: str
    size_t: NonNegative
    release: ReleaseRule = ReleaseRule()
    refill: bool = False
    allow_export: bool = False

    @model_validator(mode="after")
    def _element_fits_stage(self) -> Stockpile:
        # A stock enters only its own stage's market: magnets are traded as NdFeB, oxides and metals by element.
        magnet = self.element.startswith(("NdFeB", "Sm2Co", "SmCo"))
        if self.stage == "magnet" and not magnet:
            raise ValueError(f"a magnet-stage stock holds magnets, not {self.element}; use element: NdFeB (or a grade) or stage: metal")
        if self.stage != "magnet" and magnet:
            raise ValueError(f"{self.element} is held at the magnet stage, not {self.stage}; use stage: magnet")
        return self


class Substitution(Frozen):
    """Override a sector's substitution: the largest share of its demand that can switch away per year,
    and the cost per kg of what it switches to (by default from the `sectors` table)."""

    country: str = ALL
    sector: str
    rate_per_year: Share = 0.1
    cost_usd_per_kg: NonNegative | None = None
    start: Year | None = None


class Recycling(Frozen):
    """End-of-life recovery: collection x recovery of the products a sector retires each year."""

    country: str = ALL
    sector: str
    collection_rate: Share
    recovery_rate: Share
    lifetime_years: Annotated[int, Field(ge=1, le=50)] = 10
    cost_usd_per_kg: NonNegative = 20.0


class ExportBan(Frozen):
    """A country's ban on exporting a stage (India's monazite, Malaysia's raw rare earths)."""

    country: str
    stages: tuple[Stage, ...] = Field(min_length=1)
    elements: tuple[str, ...] = (ALL,)
    start: datetime.date
    end: datetime.date | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _dates(cls, value: object) -> object:
        return as_date(value)


class DomesticPriority(Frozen):
    """A country serves its own demand first: its buyers' willingness to pay is multiplied by `weight`."""

    country: str
    weight: Annotated[float, Field(ge=1, le=100)] = 2.0


class Tariff(Frozen):
    """A duty the importer charges on some exporters' goods, in USD per kg."""

    importer: str
    exporters: tuple[str, ...] = (ALL,)
    stages: tuple[Stage, ...] = Field(min_length=1)
    elements: tuple[str, ...] = (ALL,)
    usd_per_kg: NonNegative
    start: Year | None = None


class Policies(Frozen):
    """Export bans, domestic-use priority and tariffs."""

    export_bans: tuple[ExportBan, ...] = ()
    domestic_priority: tuple[DomesticPriority, ...] = ()
    tariffs: tuple[Tariff, ...] = ()


class SectorPriority(Frozen):
    """A sector served first within a country: its willingness to pay is multiplied by `weight`."""

    country: str
    sector: str
    weight: Annotated[float, Field(ge=0.1, le=100)]


class Scenario(Frozen):
    """One scenario: the world as in the data plus the shocks and policies listed here."""

    name: str
    description: str = ""
    base: str | None = None
    importer: str = "IND"
    periods: Periods = Periods()
    settings: Settings = Settings()
    demand: Demand = Demand()
    export_controls: tuple[ExportControl, ...] = ()
    disruptions: tuple[Disruption, ...] = ()
    capacity_changes: tuple[CapacityChange, ...] = ()
    stockpiles: tuple[Stockpile, ...] = ()
    substitution: tuple[Substitution, ...] = ()
    recycling: tuple[Recycling, ...] = ()
    policies: Policies = Policies()
    sector_priorities: tuple[SectorPriority, ...] = ()
