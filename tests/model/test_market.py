"""The market families on the tiny network, each with an answer worked out by hand (see tiny.py)."""

from __future__ import annotations

import pytest
import xarray as xr

from raremap.model.periods import PeriodGrid
from raremap.scenario.spec import ExportControl, Scenario, Stockpile
from raremap.simulate.apply import apply_scenario
from raremap.simulate.run import Result
from tests.model.tiny import COUNTRIES, array, capacity, demand, run, shortfall, tiny_chain, value

BASE_MAGNETS = 10.0


def at(stage: str, country: str, number: float, default: float = 0.0) -> xr.DataArray:
    """A stage x country array with one entry set."""
    result = xr.DataArray(default, coords={"stage": ["mining", "separation", "metal", "magnet"], "country": COUNTRIES},
                          dims=("stage", "country")).copy()
    result.loc[stage, country] = number
    return result


def base_flow(**edges: float) -> xr.DataArray:
    """Base-year flows of magnets, e.g. base_flow(SEP_USR=10)."""
    flow = xr.DataArray(0.0, coords={"stage": ["mining", "separation", "metal", "magnet"], "exporter": COUNTRIES,
                                     "importer": COUNTRIES, "element": ["Ce", "Nd", "NdFeB"]},
                        dims=("stage", "exporter", "importer", "element")).copy()
    for key, tonnes in edges.items():
        exporter, importer = key.split("_")
        flow.loc["magnet", exporter, importer, "NdFeB"] = tonnes
    return flow


def control(**fields: object) -> ExportControl:
    base = {"exporter": "SEP", "stages": ["magnet"], "elements": ["NdFeB"], "destinations": ["USR"], "start": "2025-01-01"}
    return ExportControl(**{**base, **fields})


def test_magnets_need_ore_by_their_recipe_and_leave_the_co_product_as_surplus() -> None:
    # 10 t of magnets: 2 t Nd metal, 4 t Nd oxide, 20 t REO mined, 16 t of Ce nobody buys.
    result = run(tiny_chain())
    assert value(result, "production", stage="mining", period="2024") == pytest.approx(20.0, rel=1e-6)
    assert value(result, "production", stage="metal", element="Nd", period="2024") == pytest.approx(2.0, rel=1e-6)
    assert value(result, "surplus", element="Ce", period="2024") == pytest.approx(16.0, rel=1e-6)
    assert shortfall(result) == pytest.approx(0.0, abs=1e-6)
    assert result.mass_balance_max_residual < 1e-6


def test_a_co_product_with_buyers_is_sold_and_priced_at_what_more_of_it_costs() -> None:
    # Glass buys 10 t of Ce: the 16 t co-product covers it, so Ce is free at the separator.
    cheap = run(tiny_chain(demand=demand(ev=10, glass=10)))
    assert shortfall(cheap, sector="glass") == pytest.approx(0.0, abs=1e-6)
    price = cheap.prices.query("stage == 'separation' and country == 'SEP' and element == 'Ce' and period == '2024'")
    assert float(price["usd_per_kg"].iloc[0]) == pytest.approx(0.0, abs=1e-6)
    # 24 t of Ce: 8 t more than the magnets leave, so 10 t more REO is mined and separated for it
    # (mining 1 + separation 1 + concentrate freight 0.1 per kg REO; its Nd is surplus): Ce costs 2.1 / 0.8.
    scarce = run(tiny_chain(demand=demand(ev=10, glass=24)))
    price = scarce.prices.query("stage == 'separation' and country == 'SEP' and element == 'Ce' and period == '2024'")
    assert float(price["usd_per_kg"].iloc[0]) == pytest.approx(2.1 / 0.8, rel=1e-6)
    assert value(scarce, "surplus", element="Nd", period="2024") == pytest.approx(2.0, rel=1e-6)


def test_a_co_product_in_surplus_sells_at_its_finishing_cost() -> None:
    # Ce costs 1.5 USD/kg to finish for sale. Glass buys 10 t of the 16 t the magnets leave: 6 t stay unsold,
    # and Ce sells at 1.5 (not 0); nothing else moves.
    finishing = array({"Ce": 1.5}, "element")
    cheap = run(tiny_chain(demand=demand(ev=10, glass=10), finishing_cost=finishing))
    assert separation_price(cheap, "Ce") == pytest.approx(1.5, rel=1e-6)
    assert value(cheap, "surplus", element="Ce", period="2024") == pytest.approx(6.0, rel=1e-6)
    assert value(cheap, "production", stage="mining", period="2024") == pytest.approx(20.0, rel=1e-6)
    assert shortfall(cheap, sector="glass") == pytest.approx(0.0, abs=1e-6)
    # 24 t of Ce: the ore mined for it (2.1 per kg REO, 0.8 of it Ce) plus finishing.
    scarce = run(tiny_chain(demand=demand(ev=10, glass=24), finishing_cost=finishing))
    assert separation_price(scarce, "Ce") == pytest.approx(2.1 / 0.8 + 1.5, rel=1e-6)
    assert value(scarce, "surplus", element="Ce", period="2024") == pytest.approx(0.0, abs=1e-6)


def separation_price(result: Result, element: str) -> float:
    price = result.prices.query(f"stage == 'separation' and country == 'SEP' and element == '{element}' and period == '2024'")
    return float(price["usd_per_kg"].iloc[0])


def test_investment_waits_for_its_lead_time_and_grows_within_its_rate() -> None:
    # No magnet plant; ALT may build one two years after the base year, adding at most 4 t/yr a year.
    chain = tiny_chain(
        capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000),
        investment_cost=at("magnet", "ALT", 1.0),
        investment_lead_years=at("magnet", "ALT", 2.0, default=float("inf")),
        investment_rate_limit=at("magnet", "ALT", 4.0, default=float("inf")),
    )
    result = run(chain)
    assert [round(shortfall(result, year), 6) for year in ("2024", "2025", "2026", "2027")] == [10.0, 10.0, 6.0, 2.0]
    built = result.investment.set_index("period")["capacity_t_per_year"]
    assert built.to_dict() == pytest.approx({"2026": 4.0, "2027": 8.0})


def test_adding_a_pipeline_project_or_lowering_a_capital_cost_never_raises_a_shortfall() -> None:
    def total(**arrays: xr.DataArray) -> float:
        chain = tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=4),
                           investment_lead_years=at("magnet", "ALT", 1.0, default=float("inf")), **arrays)
        return shortfall(run(chain))

    dear, cheap = total(investment_cost=at("magnet", "ALT", 150.0)), total(investment_cost=at("magnet", "ALT", 20.0))
    assert cheap <= dear + 1e-6 and dear > 0
    more = capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=4) + xr.DataArray(
        [0, 0, 3, 3], coords={"period": [2024, 2025, 2026, 2027]}, dims="period") * (capacity(magnet_ALT=1) > 0)
    with_project = shortfall(run(tiny_chain(capacity=more.transpose("stage", "country", "period"),
                                            investment_cost=at("magnet", "ALT", 150.0),
                                            investment_lead_years=at("magnet", "ALT", 1.0, default=float("inf")))))
    assert with_project <= dear + 1e-6


def test_the_sector_that_values_less_bears_a_shortage() -> None:
    # 10 t of magnets for two magnet sectors wanting 6 t each: the lower-valued sector goes short.
    wanted = xr.DataArray(0.0, coords={"country": COUNTRIES, "sector": ["ev", "glass"]}, dims=("country", "sector")).copy()
    wanted.loc["USR"] = [6.0, 6.0]
    both_buy_magnets = xr.DataArray([[0, 0, 1], [0, 0, 1]], coords={"sector": ["ev", "glass"], "element": ["Ce", "Nd", "NdFeB"]},
                                    dims=("sector", "element"))
    values = xr.DataArray([[100.0] * 3, [50.0] * 3], coords={"sector": ["ev", "glass"], "step": [0, 1, 2]}, dims=("sector", "step"))
    result = run(tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=10),
                            demand=wanted, bundle=both_buy_magnets, willingness_to_pay=values))
    assert shortfall(result, "2024", "ev") == pytest.approx(0.0, abs=1e-6)
    assert shortfall(result, "2024", "glass") == pytest.approx(2.0, abs=1e-6)


def test_a_licence_delay_halts_the_edge_for_its_length_then_trade_resumes() -> None:
    # 2025 by quarter; SEP's magnets to USR (10 t/yr in the base year) halted 45 days from 1 January.
    grid = PeriodGrid.mixed(2024, 2027, 2025, 2025, 4)
    chain = tiny_chain(periods=grid, capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100),
                       base_flow=base_flow(SEP_USR=BASE_MAGNETS))
    halted = run(chain, export_controls=[control(form="licence_delay", delay_days=45)])
    halted_share = (45 / 365) / 0.25  # of the first quarter
    assert shortfall(halted, "2025-Q1") == pytest.approx(BASE_MAGNETS * 0.25 * halted_share, rel=1e-3)
    assert shortfall(halted, "2025-Q2") == pytest.approx(0.0, abs=1e-6)
    longer = run(chain, export_controls=[control(form="licence_delay", delay_days=120)])
    assert shortfall(longer, "2025-Q2") > 0 and shortfall(longer) > shortfall(halted)


def test_a_quota_as_a_share_of_the_base_caps_each_edge_and_good_against_its_own_base_flow() -> None:
    chain = tiny_chain(base_flow=base_flow(SEP_USR=BASE_MAGNETS))
    capped = apply_scenario(chain, Scenario(name="q", export_controls=[control(form="quota", quota_share_of_base=0.6)]))
    upper = capped["flow_upper"].sel(stage="magnet", exporter="SEP", importer="USR", element="NdFeB", period=2025)
    assert float(upper) == pytest.approx(6.0)
    assert float(capped["flow_upper"].sel(stage="metal", exporter="SEP", importer="USR", element="Nd", period=2025)) == float("inf")
    assert shortfall(run(chain, export_controls=[control(form="quota", quota_share_of_base=0.6)]), "2025") == pytest.approx(4.0, abs=1e-6)


def test_a_cut_aimed_at_one_importer_is_re_sourced_only_as_fast_as_its_routes_can_move() -> None:
    # USR buys all its magnets from SEP in the base year; ALT could make them from SEP's metal, but
    # USR may move only 10 share points of its imports a year to ALT.
    chain = tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100, magnet_ALT=100),
                       base_flow=base_flow(SEP_USR=BASE_MAGNETS), route_growth=0.1)
    cut = run(chain, export_controls=[control(form="quota", quota_share_of_base=0.5)])
    # 2025: 2 years since the base year's start, so ALT may hold 20 % of USR's imports, which count
    # the 5 t the quota withholds: ALT <= 0.2 x (5 + 5 + ALT), 2.5 t, and USR is short 10 - 7.5 t.
    assert shortfall(cut, "2025") == pytest.approx(BASE_MAGNETS - 5.0 - 2.5, rel=1e-6)
    free = run(chain.replace(route_growth=xr.full_like(chain["route_growth"], float("inf"))),
               export_controls=[control(form="quota", quota_share_of_base=0.5)])
    assert shortfall(free, "2025") == pytest.approx(0.0, abs=1e-6)


def test_cutting_one_supplier_leaves_the_importers_other_suppliers_their_share() -> None:
    # USR buys 8 t of magnets from SEP and 2 t from ALT in the base year; SEP's magnets to USR are
    # banned from 2025. The 8 t withheld still count in USR's imports, so ALT keeps its 20 % share and
    # adds the 20 share points USR may have moved by 2025: ALT <= 0.4 x (ALT + 8), 16/3 t. Counted
    # without them, USR's imports were only ALT's, ALT <= 0.4 x ALT, and USR got no magnets at all.
    chain = tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100, magnet_ALT=100),
                       base_flow=base_flow(SEP_USR=8.0, ALT_USR=2.0), route_growth=0.1)
    banned = run(chain, export_controls=[control(form="ban")])
    assert value(banned, "flows", stage="magnet", exporter="ALT", importer="USR", period="2025") == pytest.approx(16 / 3, rel=1e-6)
    assert shortfall(banned, "2025") == pytest.approx(BASE_MAGNETS - 16 / 3, rel=1e-6)


def test_nobody_re_exports_what_it_did_not_make() -> None:
    # ALT has no plant: magnets it bought from SEP cannot be sent on, so a ban on SEP -> USR is not
    # circumvented through ALT.
    chain = tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100),
                       demand=demand(ev=10) + demand(ev=5, country="ALT"))
    banned = run(chain, export_controls=[control(form="ban")])
    assert shortfall(banned, "2025") == pytest.approx(BASE_MAGNETS)
    assert value(banned, "flows", stage="magnet", exporter="ALT", period="2025") == pytest.approx(0.0)


def test_a_stock_serves_its_owner_and_is_not_exported() -> None:
    # SEP bans magnets to USR in 2025; USR holds 6 t of magnets released when it would be short.
    chain = tiny_chain(demand=demand(ev=10) + demand(ev=10, country="ALT"))
    stock = Stockpile(holder="USR", stage="magnet", element="NdFeB", size_t=6, release={"when_short_share": 0.0})
    result = run(chain, export_controls=[control(form="ban", end="2025-12-31")], stockpiles=[stock])
    assert shortfall(result, "2025") == pytest.approx(BASE_MAGNETS - 6.0, abs=1e-6)
    assert value(result, "stocks", "release_t", country="USR", period="2025") == pytest.approx(6.0)


def test_periods_of_a_quarter_carry_a_quarter_of_a_year() -> None:
    grid = PeriodGrid.mixed(2024, 2026, 2025, 2025, 4)
    result = run(tiny_chain(periods=grid))
    served = result.shortfall.set_index("period")[["demand_t", "period_years", "period_start"]]
    assert served.loc["2025-Q3", "demand_t"] == pytest.approx(2.5)
    assert served.loc["2025-Q3", "period_years"] == 0.25 and served.loc["2025-Q3", "period_start"] == "2025-07-01"
    assert served.loc["2026", "demand_t"] == pytest.approx(10.0)


def test_a_magnet_maker_without_separation_sells_its_scrap_oxide() -> None:
    # ALT makes the 10 t of magnets from SEP's metal (2 t Nd) and gets 30 % of it back as oxide:
    # 0.6 t Nd metal = 1.2 t Nd oxide, which only SEP's metal plant uses, so ALT sells it there.
    chain = tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_ALT=100),
                       scrap_share=xr.DataArray([0.3], coords={"country": ["ALT"]}, dims="country"))
    result = run(chain)
    assert value(result, "production", stage="magnet", country="ALT", period="2025") == pytest.approx(10.0, rel=1e-6)
    assert value(result, "flows", stage="separation", exporter="ALT", importer="SEP", element="Nd", period="2025") == pytest.approx(1.2, rel=1e-6)
    assert shortfall(result) == pytest.approx(0.0, abs=1e-6)
    assert result.mass_balance_max_residual < 1e-6


def test_ore_moves_only_along_open_concentrate_routes() -> None:
    # SEP can separate only 10 t of REO; ALT has room, but MIN's ore may not go there (as Myanmar's clay
    # goes only to China): 10 t REO give 2 t Nd oxide, 1 t metal, 5 t magnets of the 10 t wanted.
    routes = xr.DataArray(1.0, coords={"exporter": COUNTRIES, "importer": COUNTRIES}, dims=("exporter", "importer")).copy()
    routes.loc["MIN", "ALT"] = 0.0
    chain = tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=10, separation_ALT=1000, metal_SEP=1000, magnet_SEP=100),
                       concentrate_route=routes)
    result = run(chain)
    assert value(result, "flows", stage="mining", exporter="MIN", importer="ALT") == pytest.approx(0.0, abs=1e-9)
    assert shortfall(result, period="2025") == pytest.approx(5.0, rel=1e-6)
    opened = run(tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=10, separation_ALT=1000, metal_SEP=1000,
                                              magnet_SEP=100)))
    assert shortfall(opened, period="2025") == pytest.approx(0.0, abs=1e-6)
