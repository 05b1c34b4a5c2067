"""On the bundled data, no built-in shock leaves India less short over the horizon than the baseline."""

from __future__ import annotations

import pytest

from raremap.data.dataset import Dataset
from raremap.simulate import simulate

SHOCKS = ("china-2025-controls", "china-2025-october", "myanmar-clay-shutdown", "australia-disruption")


def total_shortfall(dataset: Dataset, scenario: str, country: str = "IND") -> float:
    shortfall = simulate(dataset, scenario).shortfall
    return float(shortfall.loc[shortfall["country"] == country, "tonnes"].sum())


@pytest.fixture(scope="module")
def baseline_total(dataset: Dataset) -> float:
    return total_shortfall(dataset, "baseline")


@pytest.mark.parametrize("scenario", SHOCKS)
def test_a_shock_never_lowers_india_total_shortfall(
    dataset: Dataset, baseline_total: float, scenario: str
) -> None:
    assert total_shortfall(dataset, scenario) >= baseline_total - 1e-6
