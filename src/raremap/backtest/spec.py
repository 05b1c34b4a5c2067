"""Episode files: a historical shock, the scenario that replays it, and what was observed.

An episode is data: its base year (the engine is calibrated on that year's tables), the shocks as a
scenario mapping (validated by the scenario loader), what the engine cannot express, and the
observed outcomes, each with its sources and a tolerance that the file justifies. Tolerances are
set from the evidence before the model is run and are never widened to make an outcome pass.
"""

from __future__ import annotations

import datetime
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Year = Annotated[int, Field(ge=1990, le=2100)]
Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]

MEASURES = (
    "exports",
    "imports",
    "import_share",
    "production",
    "price",
    "substitution_share",
    "recycling_share",
    "shortfall_share",
)
"""What an outcome measures; each is one function in raremap.backtest.measures."""

Measure = Literal[
    "exports",
    "imports",
    "import_share",
    "production",
    "price",
    "substitution_share",
    "recycling_share",
    "shortfall_share",
]


class Frozen(BaseModel):
    """Base of every episode model: immutable, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _month_or_date(value: object, end: bool) -> object:
    """A year (2011), a month ('2025-05') or a full date; a year or month covers its whole span."""
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.date(value, 12, 31) if end else datetime.date(value, 1, 1)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}", value):
        year, month = int(value[:4]), int(value[5:])
        if not end:
            return datetime.date(year, month, 1)
        following = datetime.date(year + month // 12, month % 12 + 1, 1)
        return following - datetime.timedelta(days=1)
    return value


class ObservedPeriod(Frozen):
    """When the observed figure applies: whole years (2011), months ('2025-05') or dates."""

    start: datetime.date
    end: datetime.date

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: object) -> object:
        return _month_or_date(value, end=False)

    @field_validator("end", mode="before")
    @classmethod
    def _end(cls, value: object) -> object:
        return _month_or_date(value, end=True)

    @model_validator(mode="after")
    def _ordered(self) -> ObservedPeriod:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}; swap them")
        return self

    def calendar_year(self) -> int | None:
        """The year, if the period is exactly one calendar year; else None."""
        whole = self.start == datetime.date(self.start.year, 1, 1) and self.end == datetime.date(self.start.year, 12, 31)
        return self.start.year if whole else None

    def label(self) -> str:
        """2011, 2025-05, 2025-04..2025-09 or full dates, whichever says it exactly."""
        year = self.calendar_year()
        if year is not None:
            return str(year)
        if self.start.day == 1 and (self.end + datetime.timedelta(days=1)).day == 1:
            first, last = self.start.strftime("%Y-%m"), self.end.strftime("%Y-%m")
            return first if first == last else f"{first}..{last}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


class Selection(Frozen):
    """Which result rows an outcome reads (see raremap.backtest.measures for each measure's keys)."""

    stages: tuple[str, ...] = ()
    elements: tuple[str, ...] = ()
    country: str | None = None
    exporter: str | None = None
    importer: str | None = None
    partner: str | None = None
    except_countries: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()


class Tolerance(Frozen):
    """How far the model may be from the observation and still pass, and why that band.

    Give `relative` (a share of the observed figure) or `absolute` (in the outcome's unit), and a
    justification from the evidence (definitions that differ, revisions, ranges in the sources).
    """

    relative: Annotated[float, Field(gt=0, le=10)] | None = None
    absolute: Annotated[float, Field(gt=0)] | None = None
    justification: str

    @field_validator("justification")
    @classmethod
    def _justified(cls, value: str) -> str:
        if len(value.split()) < 5:
            raise ValueError(
                "a justification says in a sentence why this band follows from the evidence "
                "(source ranges, definitions, revisions); write it before running the model"
            )
        return value

    @model_validator(mode="after")
    def _one_band(self) -> Tolerance:
        if (self.relative is None) == (self.absolute is None):
            raise ValueError("give exactly one of relative (share of the observed figure) or absolute")
        return self

    def band(self, observed: float) -> float:
        """The largest difference that passes."""
        if self.relative is not None:
            return self.relative * abs(observed)
        return float(self.absolute or 0.0)

    def label(self, unit: str) -> str:
        if self.relative is not None:
            return f"±{self.relative:.0%}"
        return f"±{self.absolute:g} {unit}"


class Outcome(Frozen):
    """One observed figure the model should reproduce, with its sources and tolerance."""

    id: Name
    description: str
    measure: Measure
    select: Selection = Selection()
    period: ObservedPeriod
    comparison: Literal["level", "ratio_to_base_year", "ratio_to_year"] = "level"
    relative_to: ObservedPeriod | None = None
    observed: float
    unit: str
    sources: tuple[str, ...] = Field(min_length=1)
    evidence: str = Field(min_length=10)
    tolerance: Tolerance
    note: str = ""

    @model_validator(mode="after")
    def _reference_year(self) -> Outcome:
        if (self.comparison == "ratio_to_year") != (self.relative_to is not None):
            raise ValueError("comparison ratio_to_year needs relative_to (the year divided by); other comparisons take none")
        return self

    def reference_period(self, base_year: int) -> ObservedPeriod | None:
        """The period the figure is divided by (the base year, or `relative_to`), or None for a level."""
        if self.comparison == "level":
            return None
        if self.relative_to is not None:
            return self.relative_to
        return ObservedPeriod.model_validate({"start": base_year, "end": base_year})

    @field_validator("period", "relative_to", mode="before")
    @classmethod
    def _year_or_range(cls, value: object) -> object:
        if isinstance(value, int | str) and not isinstance(value, bool):
            return {"start": value, "end": value}
        return value


class Episode(Frozen):
    """A historical episode replayed by the engine and scored against what was observed."""

    name: Name
    title: str
    description: str = ""
    base_year: Year
    scenario: dict[str, Any]
    scenario_sources: tuple[str, ...] = ()
    engine_limits: tuple[str, ...] = ()
    outcomes: tuple[Outcome, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_outcomes(self) -> Episode:
        seen: set[str] = set()
        for outcome in self.outcomes:
            if outcome.id in seen:
                raise ValueError(f"outcome id {outcome.id!r} appears twice; give each outcome its own id")
            seen.add(outcome.id)
        return self
