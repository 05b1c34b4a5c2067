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


def test_chinas_controls_never_lower_recycling_outside_china(baseline: Result, controls: Result) -> None:
    before, after = recycled(baseline).drop(index="CHN"), recycled(controls).drop(index="CHN")
    assert (after >= before - 1e-6).all().all()


def test_collection_beyond_todays_runs_only_when_oxide_prices_pay_for_it(baseline: Result, dataset: raremap.Dataset) -> None:
    """Tiers 1 and 2 cost the recovered mix's 2024 oxide value x 80/53.6 and x 100/53.6: at 2025's
    prices (NdPr oxide near 2024's) only today's collection runs; by 2030, with NdPr oxide above 1.5x
    its 2024 price, recyclers collect several times today's rate."""
    chain = supply_chain_for(dataset, load_scenario("baseline"))
    today = chain["recycling_available"].sel(tier=0).sum(["country", "element"]).to_series()
    today.index = list(baseline.periods)
    years = pd.Series(chain.years.values, index=list(baseline.periods))
    world = recycled(baseline).sum() / years  # t/yr
    prices = baseline.tables["prices"].query("stage == 'separation' and country == 'CHN' and element == 'Nd'")
    neodymium = prices.set_index("period")["usd_per_kg"]
    print(f"\nrecovered t/yr (today's tier): 2025-Q1 {world['2025-Q1']:,.0f} ({today['2025-Q1']:,.0f}), "
          f"2030 {world['2030']:,.0f} ({today['2030']:,.0f}); Nd oxide {neodymium['2025-Q1']:.1f} and {neodymium['2030']:.1f} USD/kg")
    assert neodymium["2025-Q1"] < 1.2 * neodymium["2024"] and neodymium["2030"] > 1.5 * neodymium["2024"]
    assert world["2025-Q1"] == pytest.approx(today["2025-Q1"], rel=1e-6)
    assert world["2030"] > 3 * today["2030"]


def test_recycling_can_be_turned_off_for_comparison(dataset: raremap.Dataset) -> None:
    """`settings.end_of_life_recycling: false` builds the chain without end-of-life tiers (as before 2026-12-07)."""
    options = build_options(load_scenario("baseline"))
    off = dataclasses.replace(options, supply=dataclasses.replace(options.supply, end_of_life_recycling=False))
    assert float(supply_chain_from_dataset(dataset, off)["recycling_available"].sum()) == 0.0
    on = supply_chain_for(dataset, load_scenario("baseline"))
    assert float(on["recycling_available"].sel(country="IND").sum()) > 0
