"""On the bundled data, what the built-in shocks must do to India and to the world against the baseline.

A capacity loss only tightens the LP. A licence delay does not remove supply: it holds a share of
each year's shipments into the next year, so it fills a pipeline once, in the year it starts, and
leaves that pipeline in transit at the end of the horizon; in between, how a shortage is shared
between buyers may shift by a step of the demand curve either way, so India's total is not pinned.
"""

from __future__ import annotations

import pandas as pd
import pytest

from raremap.data.dataset import Dataset
from raremap.simulate import Result, simulate

DISRUPTIONS = ("myanmar-clay-shutdown", "australia-disruption")
LICENCE_DELAYS = ("china-2025-controls", "china-2025-october")


def india_shortfall(result: Result) -> pd.Series:
    table = result.shortfall
    return table[table["country"] == "IND"].groupby("period")["tonnes"].sum()


@pytest.fixture(scope="module")
def baseline(dataset: Dataset) -> Result:
    return simulate(dataset, "baseline")


@pytest.mark.parametrize("scenario", DISRUPTIONS)
def test_a_disruption_never_lowers_india_total_shortfall(dataset: Dataset, baseline: Result, scenario: str) -> None:
    assert india_shortfall(simulate(dataset, scenario)).sum() >= india_shortfall(baseline).sum() - 1e-6


@pytest.mark.parametrize("scenario", LICENCE_DELAYS)
def test_a_licence_delay_raises_india_shortfall_in_the_year_it_starts(
    dataset: Dataset, baseline: Result, scenario: str
) -> None:
    assert india_shortfall(simulate(dataset, scenario))[2025] > india_shortfall(baseline)[2025] + 1.0


@pytest.mark.parametrize("scenario", DISRUPTIONS + LICENCE_DELAYS)
def test_a_shock_never_raises_world_welfare(dataset: Dataset, baseline: Result, scenario: str) -> None:
    assert simulate(dataset, scenario).welfare_usd <= baseline.welfare_usd + 1e-6 * abs(baseline.welfare_usd)
