"""The market on the bundled data, judged as a rare-earth analyst would (issues 12 and 13)."""

from __future__ import annotations

import pandas as pd
import pytest
import xarray as xr

import raremap
from raremap.model.bundled import NDPR_POOL, nearest_prices
from raremap.model.supply import CHINA, SupplyOptions, mine_pipeline
from raremap.scenario import override
from raremap.scenario.loading import load_scenario
from raremap.simulate import Result, simulate
from tests.simulate.conftest import by_period

HEAVY_MAGNET_ELEMENTS = ("Dy", "Tb")
CO_PRODUCTS = ("Ce", "La", "Y", "Gd", "Sm", "Eu")
NDPR_GAP_FORECAST_T = 19_000
"""Adamas Intelligence, Rare Earth Magnet Outlook to 2040 (2023, via Green Car Congress, 6 May 2023): the world's
didymium (NdPr) oxide undersupply rises to 19,000 t/yr by 2030 without new supply; its 2024 outlook places the
gap from 2027 (Green Car Congress, 2 Sep 2024)."""
PRICED_IN_BAND = ("Nd", "Pr", "Dy", "Tb", "Ce", "Sm", "Eu", "Gd", "Y")
"""Every separated element with an observed price but La: the co-products in surplus (Ce, Dy, Sm, Eu, Gd, Y) sell
at their finishing cost, their 2024 price. La sells out in 2024 (0.8 USD/kg against 1 observed) and is left
unsold from 2025 at 0: it gets no finishing cost (docs/simulation.md, Known limits)."""


def test_the_base_year_serves_every_buyer_and_reproduces_the_data(baseline: Result, dataset: raremap.Dataset) -> None:
    base = baseline.shortfall[baseline.shortfall["period"] == "2024"]
    assert base["tonnes"].max() == pytest.approx(0.0, abs=1e-3)
    magnets = base[base["unit"] == "t magnet"]
    demand = dataset["demand"]
    data = demand[(demand["year"] == 2024) & (demand["unit"] == "t magnet") & (demand["path"] == "historical")]
    world, india = data[data["country"] == "WLD"]["value_t"].sum(), data[data["country"] == "IND"]["value_t"].sum()
    assert magnets["served_t"].sum() == pytest.approx(world, rel=0.01)
    assert magnets[magnets["country"] == "IND"]["served_t"].sum() == pytest.approx(india, rel=0.01)


def test_the_base_year_production_per_stage_against_the_data(baseline: Result, dataset: raremap.Dataset) -> None:
    production = dataset["production"]
    reported = production[(production["year"] == 2024) & (production["series"] == "main") & (production["country"] == "WLD")]
    model = baseline.production[baseline.production["period"] == "2024"]
    calibration = baseline.calibration[baseline.calibration["period"] == "2024"]
    rows = []
    for stage, element, tolerance in (("mining", "REO", 0.15), ("magnet", "NdFeB", 0.05)):
        observed = float(reported[(reported["stage"] == stage) & (reported["element"] == element)]["value_t"].sum())
        made = float(model[model["stage"] == stage]["value_t"].sum())
        if stage == "magnet":
            made += float(calibration[calibration["element"].str.startswith("NdFeB")]["value_t"].sum())
        rows.append({"stage": stage, "data_t": observed, "model_t": made, "difference": made / observed - 1, "tolerance": tolerance})
    table = pd.DataFrame(rows)
    print("\n" + table.to_string(index=False))
    assert (table["difference"].abs() <= table["tolerance"]).all()


def test_calibration_supply_is_listed_with_its_share_and_reason(baseline: Result) -> None:
    """Whatever calibration supply is left is at most 5 % of its market (issue 12), with its reason."""
    calibration = baseline.calibration
    assert set(calibration.columns) >= {"share_of_market", "reason"}
    print("\n" + calibration[calibration["period"] == "2024"][["element", "value_t", "share_of_market"]].to_string(index=False))
    assert calibration["share_of_market"].max() <= 0.05
    magnets = calibration["element"].str.startswith(("NdFeB", "Sm2Co", "SmCo"))
    assert calibration.loc[magnets, "reason"].str.contains("capacity").all()
    assert calibration.loc[~magnets, "reason"].str.contains("quotas").all()


def test_the_baseline_serves_magnets_and_its_ndpr_gap_stays_within_the_forecast(baseline: Result) -> None:
    """Magnet buyers and the heavy rare earths' buyers are at most 5 % short in every period; the NdPr
    that growing magnet demand leaves short falls on the buyers that value it least (glass, alloys,
    other oxide uses), at most the gap Adamas forecasts (docs/simulation.md, "The baseline's NdPr gap")."""
    shortfall = baseline.shortfall
    magnets = shortfall[shortfall["unit"] == "t magnet"].groupby("period")[["demand_t", "tonnes"]].sum()
    magnet_share = magnets["tonnes"] / magnets["demand_t"]
    assert magnet_share.max() <= 0.05
    content = baseline.shortfall_content
    world = content.groupby(["element", "period"])[["demand_t", "tonnes"]].sum()
    share = (world["tonnes"] / world["demand_t"]).unstack("period")
    assert share.loc[list(HEAVY_MAGNET_ELEMENTS)].max().max() <= 0.05
    ndpr = content[content["element"].isin(["Nd", "Pr"])]
    gap = ndpr.groupby(ndpr["period"].str[:4])["tonnes"].sum()
    print("\nNdPr oxide not served, t/yr:\n" + gap.round(0).to_string())
    assert gap.max() <= NDPR_GAP_FORECAST_T
    oxide = shortfall[shortfall["sector"].str.endswith(("/Nd", "/Pr"))].groupby("period")[["demand_t", "tonnes"]].sum()
    oxide_share = oxide["tonnes"] / oxide["demand_t"]
    assert (oxide_share >= magnet_share.reindex(oxide_share.index) - 1e-9).all()


def test_a_rise_in_ndpr_does_not_price_out_the_buyers_of_co_products(baseline: Result) -> None:
    """Each oxide application buys each element as its own buyer: the cerium, lanthanum and yttrium
    users of an application are not priced out with its NdPr users (with one bundle per application,
    5.5-13 % of their demand went unserved over the horizon)."""
    content = baseline.shortfall_content
    world = content.groupby(["element", "period"])[["demand_t", "tonnes"]].sum()
    share = (world["tonnes"] / world["demand_t"]).unstack("period").loc[list(CO_PRODUCTS)]
    print("\n" + share.max(axis=1).round(4).to_string())
    assert share.max().max() <= 0.01


def test_the_baseline_prices_stay_near_the_2024_prices(baseline: Result, dataset: raremap.Dataset) -> None:
    prices = baseline.prices
    china = prices[(prices["stage"] == "separation") & (prices["country"] == "CHN")].pivot_table(
        index="element", columns="period", values="usd_per_kg")
    early = [period for period in china.columns if "2025" <= period[:4] <= "2030"]
    observed = nearest_prices(dataset["prices"], "oxide", 2024)
    observed["Pr"] = observed.get("Pr", observed["NdPr"])
    ratio = china.loc[list(PRICED_IN_BAND), early].div(observed.reindex(list(PRICED_IN_BAND)), axis=0)
    print("\n" + ratio.round(2).to_string())
    assert ((ratio >= 0.5) & (ratio <= 2.0)).all().all()
    magnets = prices[(prices["stage"] == "magnet") & (prices["country"] == "CHN")].pivot_table(
        index="element", columns="period", values="usd_per_kg")[early]
    magnets = magnets[magnets.index.str.startswith("NdFeB")]  # the observed price is China's NdFeB export value; SmCo has none
    magnet_price = float(nearest_prices(dataset["prices"], "magnet", 2024)["NdFeB"])
    assert ((magnets / magnet_price >= 0.5) & (magnets / magnet_price <= 2.0)).all().all()


def test_the_april_2025_controls_raise_indias_shortfall_while_they_bite_and_never_lower_it(
    baseline: Result, controls: Result
) -> None:
    before, after = by_period(baseline), by_period(controls)
    assert (after >= before - 1e-3).all()
    assert after["2025-Q2"] > before["2025-Q2"] + 100
    short = controls.shortfall
    quarter = short[(short["country"] == "IND") & (short["period"] == "2025-Q2")].set_index("sector")["share"]
    assert quarter["ev"] > 0.05
    assert quarter["defence"] <= quarter["ev"]  # defence is served first
    assert controls.welfare_usd <= baseline.welfare_usd + 1e-3


def test_the_binding_table_says_why_india_is_short(controls: Result) -> None:
    why = controls.binding[controls.binding["period"] == "2025-Q2"]
    assert (why["kind"] == "export control").any()
    assert why["description"].str.contains("CHN's export control caps").any()


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["china-2025-october", "myanmar-clay-shutdown", "australia-disruption"])
def test_a_harsher_or_added_shock_never_lowers_indias_shortfall_in_any_period(
    dataset: raremap.Dataset, baseline: Result, controls: Result, scenario: str
) -> None:
    result = simulate(dataset, scenario)
    reference = controls if scenario == "china-2025-october" else baseline
    assert (by_period(result) >= by_period(reference) - 1e-3).all()
    assert result.welfare_usd <= reference.welfare_usd + 1e-3


@pytest.mark.slow
def test_an_indian_stockpile_released_during_a_chinese_cut_serves_india(dataset: raremap.Dataset, controls: Result) -> None:
    size = 1000.0
    scenario = override(load_scenario("china-2025-controls", dataset), {"name": "with-stock", "stockpiles": [
        {"holder": "IND", "stage": "magnet", "element": "NdFeB sintered generic", "size_t": size,
         "release": {"when_short_share": 0.05}}]})
    stocked = simulate(dataset, scenario)
    released = stocked.stocks.groupby("period")["release_t"].sum()
    gain = by_period(controls) - by_period(stocked)
    for period, tonnes in released[released > 1e-6].items():
        assert gain[period] >= 0.8 * min(tonnes, by_period(controls)[period]) - 1e-3


@pytest.mark.slow
def test_indian_magnet_plants_lower_indias_shortfall_under_the_controls(dataset: raremap.Dataset, controls: Result) -> None:
    scenario = override(load_scenario("china-2025-controls", dataset), {"name": "with-plants", "capacity_changes": [
        {"country": "IND", "stage": "magnet", "capacity_t": 6000, "online_year": 2025},
        {"country": "IND", "stage": "metal", "capacity_t": 2000, "online_year": 2025}]})
    planted = simulate(dataset, scenario)
    assert by_period(planted)["2025-Q2"] < by_period(controls)["2025-Q2"] - 100


def test_a_magnet_with_more_dysprosium_costs_more(baseline: Result) -> None:
    """China's high-Dy (SH/UH) magnets sell above its N42 magnets in every period. With Dy a free co-product in
    surplus they sold below them (38.4 against 40.1 USD/kg in 2024); it now sells at its 2024 price."""
    prices = baseline.prices
    china = prices[(prices["stage"] == "magnet") & (prices["country"] == "CHN")].pivot_table(
        index="period", columns="element", values="usd_per_kg")
    print("\n" + china[["NdFeB N42 standard", "NdFeB high-Dy (SH/UH)"]].round(1).to_string())
    assert (china["NdFeB high-Dy (SH/UH)"] > china["NdFeB N42 standard"] + 1.0).all()


@pytest.mark.slow
def test_indias_magnet_scheme_never_raises_indias_shortfall_nor_the_worlds(
    dataset: raremap.Dataset, baseline: Result
) -> None:
    """Added capacity never raises India's shortfall in any year nor the world's total (issue 12), and moves
    another country's total by at most 0.1 % of its demand over the horizon. With perfect-foresight
    investment India's plants let China build 2,000 t/yr less metal from 2030; since new mines outside China
    are the listed pipeline (2026-12-07) China's buyers are 874 t less short over the horizon and no
    country's total rises. The largest rise in a year is printed. This test caught two tries that did not
    land: the clays' Dy and Tb fitted to China's reported output (2026-12-06: India shorter in 2032 and
    2035), and new mines wherever there are reserves (2026-12-07: the world 711 t shorter, through India's
    mines taking the pooled growth allowance in 2030)."""
    scheme = simulate(dataset, "india-magnet-scheme")

    def per_period(result: Result, column: str = "tonnes") -> pd.Series:
        magnets = result.shortfall[result.shortfall["unit"] == "t magnet"]
        return magnets.groupby(["country", "period"])[column].sum()

    change = per_period(scheme).sub(per_period(baseline), fill_value=0.0)
    totals = change.groupby("country").sum()
    demand = per_period(baseline, "demand_t").groupby("country").sum()
    print(f"\nlargest rise in a year: {change.max():.1f} t at {change.idxmax()}; largest total change "
          f"{totals.max():,.1f} t ({totals.idxmax()}, {totals.max() / demand[totals.idxmax()]:.4%} of its demand); "
          f"IND total change {totals['IND']:,.0f} t; world {totals.sum():,.0f} t")
    assert change.loc["IND"].max() <= 1e-3
    assert totals.sum() <= 1e-3
    assert (totals / demand.reindex(totals.index)).max() <= 0.001


@pytest.mark.slow
def test_indias_magnet_scheme_lowers_indias_shortfall_when_china_halts_exports(dataset: raremap.Dataset) -> None:
    """India's own lever moves India where India is short of magnets: in the 2030 halt. In the baseline India is
    short only of demand slices priced out at the import price (about 1 % of its demand from 2027), which plants
    selling at that price do not serve, so there the scheme does not move India (docs/simulation.md, results)."""
    def per_year(shortfall: pd.Series) -> pd.Series:
        return shortfall.groupby(shortfall.index.str[:4]).sum()

    halt = per_year(by_period(simulate(dataset, "china-halt-2030")))
    with_scheme = per_year(by_period(simulate(dataset, "india-magnet-scheme-under-halt")))
    print(f"\nIndia's magnet shortfall in 2030: {halt['2030']:,.0f} t under the halt, {with_scheme['2030']:,.0f} t with the scheme")
    assert (with_scheme - halt).max() <= 1e-3
    assert with_scheme["2030"] <= halt["2030"] - 1000.0


def test_chinas_magnet_scrap_returns_the_ndpr_oxide_argus_reports(dataset: raremap.Dataset) -> None:
    """Magnets are blank mass and 27.5 % of the metal put into them comes back as oxide: in 2024 that
    is China's recycled PrNd oxide as Argus reports it (26,504 t) within a quarter either way: the
    scrap share's 25-30 % range, a recovery the model takes as complete, and the
    magnets' cerium in the generic grade (the model returns about 26 kt; 32 kt before the cerium)."""
    from raremap.model.solution import scrap_oxide
    from raremap.simulate import Simulation

    simulation = Simulation("baseline", dataset).validate().build().solve()
    assert simulation.model_chain is not None and simulation.solution is not None
    scrap = scrap_oxide(simulation.model_chain, simulation.solution)
    china_2024 = float(scrap.sel(country="CHN", element=["Nd", "Pr"]).isel(period=0).sum())
    parameters = dataset["parameters"].set_index("parameter")["value"]
    reported = float(parameters["china_recycled_prnd_oxide_2024"])
    print(f"China's NdPr oxide from magnet scrap in 2024: model {china_2024:,.0f} t, Argus {reported:,.0f} t")
    assert china_2024 == pytest.approx(reported, rel=0.25)


ARGUS_CHINA_PRND_METAL_2024_T = 80_000.0
"""China's PrNd metal consumption in 2024 (Argus, "Viewpoint: China's rare earth sector faces tough 2025",
`argus_2025_china_viewpoint`): the figure the generic grade's cerium is fitted to (recipes.csv)."""


def test_chinas_magnets_use_the_prnd_metal_argus_reports(baseline: Result, dataset: raremap.Dataset) -> None:
    """China's 2024 magnets hold the PrNd metal Argus reports China used (80 kt), within 3 %: with Nd-Pr at
    the top of the published range and no cerium-iron-boron, they held 91.2 kt, and the NdPr calibration
    was 26.7 kt instead of 15.8 kt."""
    production = baseline.production
    made = production[(production["stage"] == "magnet") & (production["country"] == "CHN")
                      & (production["period"] == "2024")].set_index("element")["value_t"]
    recipes = dataset["recipes"]
    ndpr = recipes[recipes["element"].isin(NDPR_POOL)].groupby("magnet_type")["share"].sum()
    used = float((made * ndpr.reindex(made.index).fillna(0.0)).sum())
    print(f"\nChina's 2024 magnets hold {used:,.0f} t of PrNd metal; Argus: {ARGUS_CHINA_PRND_METAL_2024_T:,.0f} t")
    assert used == pytest.approx(ARGUS_CHINA_PRND_METAL_2024_T, rel=0.03)


def test_no_separator_runs_cheaper_than_chinas_documented_cost(dataset: raremap.Dataset) -> None:
    """Baotou's 7-10 USD/kg REO all in (Adamas via SCMP) is the cheapest separation documented: a
    country whose base-year feed is worth less than mining plus the capital charge must not get a
    free separator, or the LP builds the world's new separation there (the USA, 77 kt/yr by 2035)."""
    from raremap.simulate import Simulation

    chain = Simulation("baseline", dataset).validate().supply_chain
    assert chain is not None
    separation = chain["operating_cost"].sel(stage="separation")
    china = float(separation.sel(country="CHN"))
    print("\n" + separation.to_series().round(2).to_string())
    assert china > 0
    assert float(separation.min()) >= china - 1e-9


def malaysia_separation_capacity(dataset: raremap.Dataset) -> xr.DataArray:
    """Lynas Malaysia's separation capacity per period in the baseline's supply chain (t REO fed/yr), printed."""
    from raremap.simulate import Simulation

    chain = Simulation("baseline", dataset).validate().supply_chain
    assert chain is not None
    malaysia = chain["capacity"].sel(stage="separation", country="MYS")
    print("\nMYS separation capacity, t REO fed/yr: " + ", ".join(f"{float(v):,.0f}" for v in malaysia.values[:6]))
    return malaysia


def test_a_plant_listed_in_both_capacity_tables_counts_once(dataset: raremap.Dataset) -> None:
    """Lynas Malaysia (Kuantan) is listed in `projects` and in `capacity`: counted twice, its 10,500 t/yr of
    NdPr made 170 kt of REO fed from 2025 (3.7 times 2024). Counted once it is its 2024 capacity."""
    malaysia = malaysia_separation_capacity(dataset)
    assert float(malaysia.max()) < 2.2 * float(malaysia.isel(period=0))


def test_a_heavy_circuit_adds_no_feed_capacity(dataset: raremap.Dataset) -> None:
    """Lynas Malaysia's 2025 heavy circuit (1,500 t/yr of HREE) splits the heavy fraction of the feed its light
    circuit already takes: converted by the heavy share of Mount Weld ore it added 34 kt/yr of REO fed to the
    plant's 46.5 kt (80 kt from 2025), room for feed Lynas cannot get."""
    malaysia = malaysia_separation_capacity(dataset)
    assert float(malaysia.max()) == pytest.approx(float(malaysia.isel(period=0)))


def test_a_national_total_measured_later_is_a_level_not_an_addition(dataset: raremap.Dataset) -> None:
    """China's sintered-magnet industry measured in 2025 (SMM: 513 kt/yr) counts every Chinese plant built by
    then, so from 2025 China's magnet capacity is 513 kt, not the 2024 capacity plus 513 kt (843 kt before)."""
    from raremap.simulate import Simulation

    chain = Simulation("baseline", dataset).validate().supply_chain
    assert chain is not None
    china = chain["capacity"].sel(stage="magnet", country="CHN")
    measured = dataset["capacity"]
    total = measured[(measured["country"] == "CHN") & (measured["stage"] == "magnet") & (measured["year"] == 2025)]
    later = china.where(china["period"] >= 2025, drop=True)
    print("\nCHN magnet capacity, t/yr: " + ", ".join(f"{float(v):,.0f}" for v in china.values[:3]))
    assert float(later.max()) == pytest.approx(float(total["value_t"].sum()), rel=1e-9)


def test_a_separator_without_output_for_the_base_year_keeps_its_ore(dataset: raremap.Dataset) -> None:
    """India reports no concentrate trade and separates all its monazite at IREL (in service since 2015),
    but its only separation output row is 2024: with a 2023 base year (the Kachin back-test) it must still
    keep its ore, not ship it to China."""
    from raremap.simulate import Simulation

    scenario = override(load_scenario("baseline", dataset), {"name": "base-2023", "periods": {"start": 2023, "end": 2024}})
    chain = Simulation(scenario, dataset).validate().supply_chain
    assert chain is not None
    routes = chain["concentrate_route"].sel(exporter="IND")
    open_to = [str(country) for country in routes["importer"].values[routes.values > 0]]
    print(f"\nIND ore may go to: {open_to}")
    assert open_to == ["IND"]


def test_new_mines_outside_china_are_the_listed_projects(baseline: Result, dataset: raremap.Dataset) -> None:
    """Outside China the LP builds mines only as listed projects not yet in capacity, up to their capacity:
    a mine takes six years, so what can produce by 2035 is in the pipeline. When any country that mined in
    2024 could build without limit, every new mine outside China went to Madagascar (68 kt/yr by 2035)."""
    investment = baseline.investment
    mines = investment[(investment["stage"] == "mining") & (investment["country"] != CHINA)]
    built = mines.groupby("country")["capacity_t_per_year"].max()
    pipeline = mine_pipeline(dataset["projects"], SupplyOptions(), sorted(set(built.index) | {"MDG"}))
    print("\nnew mines outside China by 2035 (t REO/yr):", built.round(0).to_dict(), "listed:", pipeline[pipeline > 0].to_dict())
    assert (built <= pipeline.reindex(built.index) + 1e-6).all()
    assert "MDG" not in built.index or pipeline["MDG"] > 0


def test_the_mine_pipeline_counts_listed_mines_not_yet_in_capacity() -> None:
    """A listed mine with a plan (committed, announced) that is not capacity yet is an investment option;
    operating and construction mines are capacity, speculative ones have no plan, China's grow by quota."""
    projects = pd.DataFrame({
        "country": ["AUS", "AUS", "AUS", "CHN", "USA", "USA"],
        "stage": ["mining", "mining", "separation", "mining", "mining", "mining"],
        "element": ["REO"] * 6,
        "status": ["announced", "operating", "announced", "announced", "speculative", "committed"],
        "capacity_t": [10_000.0, 20_000.0, 5_000.0, 50_000.0, 1_000.0, 2_000.0],
    })
    default = mine_pipeline(projects, SupplyOptions(), ["AUS", "CHN", "IND", "USA"])
    assert default.to_dict() == {"AUS": 10_000.0, "CHN": 0.0, "IND": 0.0, "USA": 2_000.0}
    announced_in_capacity = SupplyOptions(pipeline_statuses=("operating", "construction", "committed", "announced"))
    assert mine_pipeline(projects, announced_in_capacity, ["AUS", "USA"]).to_dict() == {"AUS": 0.0, "USA": 0.0}
