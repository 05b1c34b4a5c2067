"""Runs of the built-in scenarios on the bundled data, solved once per test session."""

from __future__ import annotations

import pandas as pd
import pytest

import raremap
from raremap.simulate import Result, simulate


@pytest.fixture(scope="session")
def baseline(dataset: raremap.Dataset) -> Result:
    return simulate(dataset, "baseline")


@pytest.fixture(scope="session")
def controls(dataset: raremap.Dataset) -> Result:
    return simulate(dataset, "china-2025-controls")


def by_period(result: Result, country: str = "IND", unit: str = "t magnet") -> pd.Series:
    """A country's shortfall per period in one unit (magnets, or oxides in t REO)."""
    table = result.shortfall
    table = table[(table["country"] == country) & (table["unit"] == unit)]
    return table.groupby("period", sort=False)["tonnes"].sum().reindex(list(result.periods), fill_value=0.0)
