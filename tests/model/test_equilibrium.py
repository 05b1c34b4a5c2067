"""More families on the tiny market, conservation, prices, and properties over random parameters."""

from __future__ import annotations

import linopy
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raremap.model.equilibrium import build_model
from raremap.model.solution import MassBalanceError, Solution, check_mass_balance, read_solution, solve_model
from raremap.scenario.spec import (
    Disruption,
    ExportControl,
    Recycling,
    SectorPriority,
    Stockpile,
    Substitution,
)
from tests.model.test_market import base_flow
from tests.model.tiny import COUNTRIES, capacity, demand, run, shortfall, tiny_chain, value

BAN = ExportControl(exporter="SEP", stages=("magnet",), elements=("NdFeB",), destinations=("USR",), start="2025-01-01", form="ban")


def control(**changes: object) -> ExportControl:
    """The ban from SEP to USR with some fields changed, validated again."""
    return ExportControl.model_validate({**BAN.model_dump(), **changes})


def test_mining_capacity_limits_magnets_to_what_its_neodymium_allows() -> None:
    # 10 t REO mined hold 2 t Nd oxide = 1 t metal = 5 t of magnets: USR is 5 t short.
    result = run(tiny_chain(capacity=capacity(mining_MIN=10, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100)))
    assert shortfall(result, "2024") == pytest.approx(5.0)


@pytest.mark.parametrize("stage", ["metal", "magnet"])
def test_a_plant_that_loses_all_its_capacity_produces_nothing(stage: str) -> None:
    outage = Disruption(country="SEP", stage=stage, share_lost=1.0, start=2025, duration_years=1)
    result = run(tiny_chain(), disruptions=(outage,))
    assert value(result, "production", country="SEP", stage=stage, period="2025") == pytest.approx(0.0, abs=1e-9)
    assert shortfall(result, "2025") == pytest.approx(10.0)
    assert shortfall(result, "2024") == pytest.approx(0.0, abs=1e-6)


def test_a_ban_raises_shortfall_by_exactly_the_supply_that_cannot_be_replaced() -> None:
    chain = tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100, magnet_ALT=3))
    assert shortfall(run(chain, export_controls=(BAN,)), "2025") == pytest.approx(7.0)


def test_a_stock_with_a_price_threshold_is_drawn_only_when_the_price_passes_it() -> None:
    chain = tiny_chain(stock_holding_cost=xr.DataArray([0.01], coords={"element": ["NdFeB"]}, dims="element"))
    stock = Stockpile(holder="USR", stage="magnet", element="NdFeB", size_t=5, release={"price_threshold_usd_per_kg": 50.0})
    quiet = run(chain, stockpiles=(stock,))
    assert value(quiet, "stocks", "release_t") == pytest.approx(0.0, abs=1e-6)
    stopped = run(chain, stockpiles=(stock,), export_controls=(control(end="2025-12-31"),))
    assert value(stopped, "stocks", "release_t", period="2025") == pytest.approx(5.0)
    assert shortfall(stopped, "2025") == pytest.approx(5.0)


def test_substitution_adopts_at_most_its_rate_each_year_and_never_reverts() -> None:
    chain = tiny_chain(capacity=capacity(mining_MIN=10, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100))
    result = run(chain, substitution=(Substitution(sector="ev", rate_per_year=0.1, cost_usd_per_kg=30.0),))
    shares = result.substitution.set_index("period")["share"]
    assert shares.to_dict() == pytest.approx({"2024": 0.1, "2025": 0.2, "2026": 0.3, "2027": 0.4})
    assert shortfall(result, "2027") == pytest.approx(5.0)  # substituted demand is still rare earths not served
    unmet = result.shortfall.query("sector == 'ev' and period == '2027'")["unmet_t"].item()
    assert unmet == pytest.approx(1.0)


def test_recycled_metal_makes_magnets_without_mining() -> None:
    # 10 t of magnets bought 3 years earlier, 50 % collected, 80 % recovered: 0.8 t of Nd metal a year.
    chain = tiny_chain(capacity=capacity(mining_MIN=0, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100))
    recycling = Recycling(country="USR", sector="ev", collection_rate=0.5, recovery_rate=0.8, lifetime_years=3)
    result = run(chain.replace(**{}), recycling=(recycling,))
    assert shortfall(result, "2027") == pytest.approx(10.0 - 0.8 / 0.2, rel=1e-6)
    recycled = result.recycling.set_index(["country", "element", "period"])
    assert recycled.loc[("USR", "Nd", "2027"), "value_t"] == pytest.approx(0.8, rel=1e-6)
    assert recycled.loc[("USR", "Nd", "2027"), "reo_t"] == pytest.approx(0.8 / 0.5, rel=1e-6)  # metal_factor 0.5


def test_each_recycling_item_is_a_tier_at_its_own_cost() -> None:
    # Nd metal is worth about 490 USD/kg to USR (magnets at 100 USD/kg hold 0.2 kg): the 0.8 t/yr
    # offered at 20 USD/kg is recycled, the 0.4 t/yr offered at 1,000 USD/kg is not.
    chain = tiny_chain(capacity=capacity(mining_MIN=0, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100))
    cheap = Recycling(country="USR", sector="ev", collection_rate=0.5, recovery_rate=0.8, lifetime_years=3, cost_usd_per_kg=20)
    dear = Recycling(country="USR", sector="ev", collection_rate=0.25, recovery_rate=0.8, lifetime_years=3, cost_usd_per_kg=1000)
    for items in ((cheap, dear), (dear, cheap)):
        result = run(chain, recycling=items)
        recycled = result.recycling.set_index(["country", "element", "period"])["value_t"]
        assert recycled.loc[("USR", "Nd", "2027")] == pytest.approx(0.8, rel=1e-6)
        assert shortfall(result, "2027") == pytest.approx(10.0 - 0.8 / 0.2, rel=1e-6)


def test_a_recycler_takes_every_rare_earth_of_the_magnets_it_takes() -> None:
    # The magnets hold 0.2 t Nd and 0.05 t Ce metal per t. 10 t of ore give 1 t of Nd metal (5 t of the
    # 10 t of magnets wanted) and 8 t of Ce oxide, a co-product in surplus worth far less than the 20
    # USD/kg recycling costs; Nd is worth far more. Retired magnets give up both at once, 4:1.
    recipe = xr.DataArray([[0.05, 0.2]], coords={"element": ["NdFeB"], "ingredient": ["Ce", "Nd"]}, dims=("element", "ingredient"))
    chain = tiny_chain(recipe=recipe, capacity=capacity(mining_MIN=10, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100))
    recycling = Recycling(country="USR", sector="ev", collection_rate=0.5, recovery_rate=0.8, lifetime_years=3)
    recycled = run(chain, recycling=(recycling,)).recycling.pivot_table(index="period", columns="element", values="value_t")
    recycled = recycled.reindex(columns=["Ce", "Nd"], fill_value=0.0)
    assert recycled.loc["2027", "Nd"] == pytest.approx(0.8, rel=1e-6)
    assert (recycled["Ce"] / recycled["Nd"]).to_numpy() == pytest.approx(0.25, rel=1e-6)


def test_a_prioritised_sector_is_served_first() -> None:
    two = xr.DataArray(0.0, coords={"country": COUNTRIES, "sector": ["ev", "glass"]}, dims=("country", "sector")).copy()
    two.loc["USR"] = [5.0, 5.0]
    magnets = xr.DataArray([[0, 0, 1], [0, 0, 1]], coords={"sector": ["ev", "glass"], "element": ["Ce", "Nd", "NdFeB"]},
                           dims=("sector", "element"))
    chain = tiny_chain(capacity=capacity(mining_MIN=10, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100), demand=two,
                       bundle=magnets)
    result = run(chain, sector_priorities=(SectorPriority(country="USR", sector="glass", weight=2.0),))
    assert shortfall(result, "2024", "glass") == pytest.approx(0.0, abs=1e-6)
    assert shortfall(result, "2024", "ev") == pytest.approx(5.0)


def test_repeated_runs_are_identical() -> None:
    chain = tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100, magnet_ALT=3))
    first, second = run(chain, export_controls=(BAN,)), run(chain, export_controls=(BAN,))
    for name in ("flows", "production", "prices", "shortfall", "binding"):
        assert first.tables[name].equals(second.tables[name])


def test_mass_balance_check_catches_material_created_from_nothing() -> None:
    chain = tiny_chain()
    model = build_model(chain)
    solve_model(model)
    solution = read_solution(model)
    broken = dict(solution.values)
    broken["Magnet-production"] = broken["Magnet-production"] + 1.0
    with pytest.raises(MassBalanceError, match="mass balance broken"):
        check_mass_balance(chain, Solution(values=broken, duals=solution.duals, objective=solution.objective))


def test_the_magnet_price_at_the_buyer_exceeds_the_price_at_the_maker_by_transport() -> None:
    prices = run(tiny_chain()).prices.query("stage == 'magnet' and period == '2024'").set_index("country")["usd_per_kg"]
    assert prices["USR"] - prices["SEP"] == pytest.approx(0.1)


def test_prices_are_listed_only_for_markets_that_exist() -> None:
    # Only MIN mines, only SEP separates and makes metal and magnets, USR buys magnets. Ce is in no
    # recipe, so it has an oxide market at SEP (a co-product nobody buys, worth 0) but no metal market.
    prices = run(tiny_chain()).prices.query("period == '2024'")
    markets = set(prices[["stage", "country", "element"]].itertuples(index=False, name=None))
    assert markets == {
        ("mining", "MIN", "REO"), ("separation", "SEP", "Ce"), ("separation", "SEP", "Nd"), ("metal", "SEP", "Nd"),
        ("magnet", "SEP", "NdFeB"), ("magnet", "USR", "NdFeB"),
    }


def test_the_binding_table_names_the_control_that_holds_the_importer_back() -> None:
    chain = tiny_chain(base_flow=base_flow(SEP_USR=10.0))
    result = run(chain, export_controls=(control(form="quota", quota_share_of_base=0.5),))
    top = result.binding.query("period == '2025'").iloc[0]
    assert top["kind"] == "export control" and top["partner"] == "SEP" and top["shadow_usd_per_kg"] > 0
    assert "SEP's export control caps NdFeB" in top["description"]


def test_the_model_is_the_same_under_linopy_v1_arithmetic() -> None:
    chain = tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100, magnet_ALT=3),
                       base_flow=base_flow(SEP_USR=10.0), route_growth=0.1, contract=0.0)
    legacy = run(chain, export_controls=(control(form="quota", quota_share_of_base=0.5),)).welfare_usd
    with linopy.options as options:
        options.set_value(semantics="v1")
        v1 = run(chain, export_controls=(control(form="quota", quota_share_of_base=0.5),)).welfare_usd
    assert v1 == pytest.approx(legacy, rel=1e-9)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    share=st.floats(min_value=0.0, max_value=0.9),
    tighter=st.floats(min_value=0.0, max_value=1.0),
    alternative=st.floats(min_value=0.0, max_value=8.0),
    growth=st.floats(min_value=0.0, max_value=0.5),
)
@pytest.mark.slow
def test_a_harsher_control_never_lowers_its_targets_shortfall_in_any_period_nor_raises_welfare(
    share: float, tighter: float, alternative: float, growth: float
) -> None:
    chain = tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100, magnet_ALT=alternative),
                       base_flow=base_flow(SEP_USR=10.0), route_growth=growth, demand=demand(ev=10) + demand(ev=6, country="ALT"))
    mild = run(chain, export_controls=(control(form="quota", quota_share_of_base=share),))
    harsh = run(chain, export_controls=(control(form="quota", quota_share_of_base=share * tighter),))
    for period in ("2024", "2025", "2026", "2027"):
        assert shortfall(harsh, period) >= shortfall(mild, period) - 1e-6
    assert harsh.welfare_usd <= mild.welfare_usd + 1e-3


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(banned=st.sets(st.sampled_from(["ALT", "USR"]), min_size=1), added=st.floats(min_value=0.0, max_value=20.0))
@pytest.mark.slow
def test_bans_never_raise_and_capacity_never_lowers_welfare(banned: set[str], added: float) -> None:
    chain = tiny_chain(capacity=capacity(mining_MIN=12, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100, magnet_ALT=3))
    base = run(chain).welfare_usd
    ban = control(stages=("metal", "magnet"), elements=("all",), destinations=tuple(sorted(banned)), start="2024-01-01")
    assert run(chain, export_controls=(ban,)).welfare_usd <= base + 1e-6
    more = chain.replace(capacity=chain["capacity"] + xr.where(chain["capacity"].stage == "mining", added, 0.0))
    assert run(more).welfare_usd >= base - 1e-6
