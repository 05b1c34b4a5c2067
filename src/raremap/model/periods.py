"""The time grid of a run: periods of a year, a quarter or a month, each with a start and a length.

A period is named by its start in fractional years (2025.25 is the second quarter of 2025) on the
model's `period` dimension, so comparisons with a year ("from 2028 on") stay plain arithmetic. Every
quantity inside the model is tonnes *per period*; rates (capacity, demand) are tonnes per year and
are multiplied by the period's length in years. Result tables carry a label ("2025-Q2"), the start
date and the length, so a tonnage per quarter is never read as a tonnage per year.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from raremap.errors import RaremapError

DAYS_PER_YEAR = 365.0
PARTS_PER_YEAR = {1: "year", 4: "quarter", 12: "month"}


@dataclass(frozen=True)
class PeriodGrid:
    """Consecutive periods without gaps or overlaps: their starts and lengths in years."""

    starts: tuple[float, ...]
    lengths: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.starts or len(self.starts) != len(self.lengths):
            raise RaremapError("a period grid needs at least one period and one length per period")
        ends = np.add(self.starts, self.lengths)
        if any(abs(ends[index] - self.starts[index + 1]) > 1e-9 for index in range(len(self.starts) - 1)):
            raise RaremapError("periods must follow one another without gaps or overlaps")

    @classmethod
    def yearly(cls, years: Sequence[int], length: int = 1) -> PeriodGrid:
        """Periods of `length` whole years starting at each of `years`."""
        return cls(tuple(float(year) for year in years), tuple(float(length) for _ in years))

    @classmethod
    def mixed(cls, start: int, end: int, fine_from: int, fine_until: int, parts_per_year: int) -> PeriodGrid:
        """Years from `start` to `end` inclusive, split into `parts_per_year` in [fine_from, fine_until]."""
        if parts_per_year not in PARTS_PER_YEAR:
            raise RaremapError(f"parts_per_year = {parts_per_year}; use 1 (years), 4 (quarters) or 12 (months)")
        starts: list[float] = []
        lengths: list[float] = []
        for year in range(start, end + 1):
            parts = parts_per_year if fine_from <= year <= fine_until else 1
            for part in range(parts):
                starts.append(year + part / parts)
                lengths.append(1.0 / parts)
        return cls(tuple(starts), tuple(lengths))

    @property
    def end(self) -> float:
        return self.starts[-1] + self.lengths[-1]

    def lengths_array(self) -> xr.DataArray:
        """Years per period on the `period` dimension."""
        return xr.DataArray(list(self.lengths), coords={"period": list(self.starts)}, dims="period")

    def with_run_out(self) -> PeriodGrid:
        """The grid with one more period after the last, of the last period's length."""
        return PeriodGrid((*self.starts, self.end), (*self.lengths, self.lengths[-1]))


def label(start: float, length: float) -> str:
    """A person's name for a period: "2030", "2025-Q2", "2025-03", or "2030-2034" for several years."""
    year = int(np.floor(start + 1e-9))
    if length >= 1 - 1e-9:
        years = round(length)
        return str(year) if years == 1 else f"{year}-{year + years - 1}"
    part = round((start - year) / length)
    if abs(length - 0.25) < 1e-9:
        return f"{year}-Q{part + 1}"
    if abs(length - 1 / 12) < 1e-9:
        return f"{year}-{part + 1:02d}"
    return f"{start:.3f}"


def start_date(start: float) -> datetime.date:
    """The calendar date a period starts on (periods start on the first of a month)."""
    year = int(np.floor(start + 1e-9))
    month = round((start - year) * 12) + 1
    return datetime.date(year, min(month, 12), 1)


def as_year_fraction(date: datetime.date) -> float:
    """A date as fractional years (1 July 2025 is about 2025.5)."""
    first = datetime.date(date.year, 1, 1)
    days = (datetime.date(date.year + 1, 1, 1) - first).days
    return date.year + (date - first).days / days


def share_in_force(grid: PeriodGrid, start: datetime.date, end: datetime.date | None) -> np.ndarray:
    """The share of each period during which a dated measure is in force (0 to 1)."""
    begin = as_year_fraction(start)
    stop = as_year_fraction(end) if end is not None else np.inf
    starts = np.array(grid.starts)
    ends = starts + np.array(grid.lengths)
    overlap = np.clip(np.minimum(ends, stop) - np.maximum(starts, begin), 0.0, None)
    return overlap / np.array(grid.lengths)
