"""End-of-life recycling on the bundled data: today's rate in the base year, more when prices rise."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import raremap
from raremap.model.bundled import supply_chain_from_dataset
from raremap.scenario.loading import load_scenario
from raremap.simulate import Result
from raremap.simulate.run import build_options, supply_chain_for


def recycled(result: Result) -> pd.DataFrame:
    """Recovered metal per country x period (t per period)."""
    table = result.tables["recycling"]
    return table.pivot_table(index="country", columns="period", values="value_t", aggfunc="sum").reindex(
        columns=list(result.periods), fill_value=0.0).fillna(0.0)


def test_the_base_year_recycles_what_is_collected_today(baseline: Result, dataset: raremap.Dataset) -> None:
    """In 2024 only today's collection runs (1 % of retired magnets, the sources' "less than 1 %"): the
    tiers above it open from 2025 and run only when prices pay for them."""
    chain = supply_chain_for(dataset, load_scenario("baseline"))
    offered = chain["recycling_available"].isel(period=0).sum(["country", "element"])
    today, more = float(offered.sel(tier=0)), float(offered.sel(tier=[1, 2]).sum())
    world = float(recycled(baseline)["2024"].sum())
    print(f"\nworld end-of-life metal recovered in 2024: {world:,.0f} t (offered today {today:,.0f} t)")
    assert more == 0.0
    assert world == pytest.approx(today, rel=1e-6)
    assert world > 0


def test_chinas_controls_never_lower_recycling_outside_china_and_raise_it_while_they_bite(
    baseline: Result, controls: Result
) -> None:
    """Prices outside China jump while the April 2025 licences hold exports: recyclers there collect more."""
    before, after = recycled(baseline).drop(index="CHN"), recycled(controls).drop(index="CHN")
    assert (after >= before - 1e-6).all().all()
    assert after["2025-Q2"].sum() > before["2025-Q2"].sum() * 1.2


def test_recycling_can_be_turned_off_for_comparison(dataset: raremap.Dataset) -> None:
    """`settings.end_of_life_recycling: false` builds the chain without end-of-life tiers (as before 2026-12-07)."""
    options = build_options(load_scenario("baseline"))
    off = dataclasses.replace(options, supply=dataclasses.replace(options.supply, end_of_life_recycling=False))
    assert float(supply_chain_from_dataset(dataset, off)["recycling_available"].sum()) == 0.0
    on = supply_chain_for(dataset, load_scenario("baseline"))
    assert float(on["recycling_available"].sel(country="IND").sum()) > 0
