"""Each family of constraints on the tiny network, against answers worked out by hand."""

from __future__ import annotations

import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raremap.model.solution import MassBalanceError, Solution, check_mass_balance
from raremap.scenario.spec import Disruption, ExportControl, Scenario, Stockpile, Substitution
from raremap.simulate.run import Simulation
from tests.model.tiny import run, shortfall, tiny_chain

BAN_SEP_TO_USR = ExportControl(
    exporter="SEP", stages=("magnet",), elements=("NdFeB",), destinations=("USR",), start=2024, form="ban"
)


def control(**changes: object) -> ExportControl:
    """The ban from SEP to USR with some fields changed, validated again."""
    return ExportControl.model_validate({**BAN_SEP_TO_USR.model_dump(), **changes})


def test_balanced_network_has_no_shortfall_and_conserves_mass() -> None:
    result = run(tiny_chain())
    assert shortfall(result) == pytest.approx(0.0, abs=1e-6)
    assert result.mass_balance_max_residual < 1e-6
    mined = result.production.query("stage == 'mining' and period == 2024")["value_t"].sum()
    assert mined == pytest.approx(20.0)


def test_mining_capacity_limits_magnets_to_what_its_neodymium_allows() -> None:
    result = run(tiny_chain(mining=10.0))
    assert shortfall(result, 2024) == pytest.approx(5.0)


@pytest.mark.parametrize("stage", ["metal", "magnet"])
def test_a_plant_that_loses_all_its_capacity_produces_nothing(stage: str) -> None:
    outage = Disruption(country="SEP", stage=stage, share_lost=1.0, start=2025, duration_years=1)
    result = run(tiny_chain(), disruptions=(outage,))
    produced = result.production.query("country == 'SEP' and stage == @stage and period == 2025")["value_t"].sum()
    assert produced == pytest.approx(0.0, abs=1e-9)
    assert shortfall(result, 2025) == pytest.approx(10.0)
    assert shortfall(result, 2024) == pytest.approx(0.0, abs=1e-6)


def test_separation_co_produces_cerium_as_surplus() -> None:
    result = run(tiny_chain())
    production = result.production.query("stage == 'separation' and period == 2024").set_index("element")["value_t"]
    assert production["Ce"] == pytest.approx(16.0)
    assert production["Nd"] == pytest.approx(4.0)


def test_ban_raises_shortfall_by_exactly_the_supply_that_cannot_be_replaced() -> None:
    chain = tiny_chain(magnet_alt=3.0)
    before = run(chain)
    after = run(chain, export_controls=(BAN_SEP_TO_USR,))
    assert shortfall(before, 2024) == pytest.approx(0.0, abs=1e-6)
    assert shortfall(after, 2024) == pytest.approx(7.0)
    assert after.welfare_usd < before.welfare_usd


def test_tonnage_quota_caps_the_edge() -> None:
    quota = control(form="quota", quota_t=4.0)
    assert shortfall(run(tiny_chain(magnet_alt=3.0), export_controls=(quota,)), 2024) == pytest.approx(3.0)


def test_quota_as_share_of_base_flow() -> None:
    base_flow = xr.DataArray(10.0).broadcast_like(tiny_chain()["base_flow"]).copy()
    chain = tiny_chain(magnet_alt=3.0, base_flow=base_flow)
    quota = control(form="quota", quota_share_of_base=0.5)
    assert shortfall(run(chain, export_controls=(quota,)), 2024) == pytest.approx(2.0)


def test_licence_delay_holds_back_part_of_the_first_year_only() -> None:
    delay = control(form="licence_delay", delay_days=73.0)
    result = run(tiny_chain(magnet_sep=10.0), export_controls=(delay,))
    assert shortfall(result, 2024) == pytest.approx(2.0)
    assert shortfall(result, 2025) == pytest.approx(0.0, abs=1e-6)


def test_linked_periods_are_solved_with_a_run_out_period_that_no_result_reports() -> None:
    delay = control(form="licence_delay", delay_days=73.0)
    simulation = Simulation(Scenario(name="tiny", export_controls=(delay,)), supply_chain=tiny_chain(magnet_sep=10.0))
    result = simulation.run()
    assert simulation.model_chain is not None and simulation.model_chain.periods == [2024, 2025, 2026, 2027]
    assert result.periods == (2024, 2025, 2026)
    for name in ("flows", "production", "prices", "shortfall"):
        assert set(getattr(result, name)["period"]) == {2024, 2025, 2026}, name
    # Reported welfare is the reported periods' share of the LP's objective, which covers the run-out too.
    assert simulation.model is not None
    assert 0.0 < result.welfare_usd < -float(simulation.model.objective.value or 0.0) * 1000.0
    unlinked = Simulation(Scenario(name="tiny"), supply_chain=tiny_chain())
    unlinked.run()
    assert unlinked.model_chain is not None and unlinked.model_chain.periods == [2024, 2025, 2026]


def test_stockpile_reduces_shortfall_when_supply_stops() -> None:
    # A cost of holding makes the stock go out at the first shortage (2025), not later.
    stop = control(start=2025)
    stockpile = Stockpile(holder="USR", stage="magnet", element="NdFeB", size_t=4.0)
    without = run(tiny_chain(), export_controls=(stop,))
    with_stock = run(tiny_chain(stock_holding_cost=0.1), export_controls=(stop,), stockpiles=(stockpile,))
    assert shortfall(without) == pytest.approx(20.0)
    assert shortfall(with_stock, 2025) == pytest.approx(6.0)
    assert shortfall(with_stock) == pytest.approx(16.0)
    assert with_stock.stocks["release_t"].sum() == pytest.approx(4.0)


def test_a_costless_stock_may_be_kept_past_the_horizon_but_never_dumped_before_its_end() -> None:
    # The LP looks one period past the horizon (the run-out), so a stock is not worthless at the
    # end of the last reported period; whatever it keeps is still in the stock table's last level.
    stop = control(start=2025)
    stockpile = Stockpile(holder="USR", stage="magnet", element="NdFeB", size_t=4.0)
    result = run(tiny_chain(), export_controls=(stop,), stockpiles=(stockpile,))
    last = result.stocks.query("period == 2026")
    released = float(result.stocks["release_t"].sum())
    assert released + float(last["level_t"].sum()) == pytest.approx(4.0)
    assert shortfall(result) == pytest.approx(20.0 - released)


def test_substitution_adopts_at_most_its_rate_each_year() -> None:
    substitution = Substitution(sector="ev", element="NdFeB", rate_per_year=0.1, cost_usd_per_kg=1.0)
    result = run(tiny_chain(mining=0.0), substitution=(substitution,))
    shares = result.substitution.set_index("period")["share"]
    assert list(shares.round(9)) == [0.1, 0.2, 0.3]
    assert shortfall(result, 2026) == pytest.approx(7.0)


def test_recycled_metal_makes_magnets_without_mining() -> None:
    recycled = xr.DataArray([[1.0]], coords={"country": ["SEP"], "element": ["Nd"]}, dims=("country", "element"))
    result = run(tiny_chain(mining=0.0, recycling_to_metal=recycled))
    assert shortfall(result, 2024) == pytest.approx(5.0)


def test_sector_priority_serves_the_prioritised_sector_first() -> None:
    from raremap.scenario.spec import SectorPriority

    chain = tiny_chain(mining=10.0, sectors=("defence", "ev"))
    result = run(chain, sector_priorities=(SectorPriority(country="USR", sector="defence", weight=2.0),))
    assert shortfall(result, 2024, "defence") == pytest.approx(5.0)
    assert shortfall(result, 2024, "ev") == pytest.approx(10.0)


def test_repeated_runs_are_identical() -> None:
    first = run(tiny_chain(magnet_alt=3.0), export_controls=(BAN_SEP_TO_USR,))
    second = run(tiny_chain(magnet_alt=3.0), export_controls=(BAN_SEP_TO_USR,))
    for name in ("flows", "production", "prices", "shortfall"):
        assert first.tables[name].equals(second.tables[name])


def test_mass_balance_check_catches_material_created_from_nothing() -> None:
    from raremap.model.equilibrium import build_model
    from raremap.model.solution import read_solution, solve_model

    chain = tiny_chain()
    model = build_model(chain)
    solve_model(model)
    solution = read_solution(model)
    broken = dict(solution.values)
    broken["Magnet-production"] = broken["Magnet-production"] + 1.0
    with pytest.raises(MassBalanceError, match="mass balance broken"):
        check_mass_balance(chain, Solution(values=broken, duals=solution.duals, objective=solution.objective))


def test_magnet_price_at_the_buyer_exceeds_the_price_at_the_maker_by_transport() -> None:
    prices = run(tiny_chain()).prices
    magnet = prices.query("stage == 'magnet' and period == 2024").set_index("country")["usd_per_t"]
    assert magnet["USR"] - magnet["SEP"] == pytest.approx(100.0)


def test_prices_are_listed_only_for_markets_that_exist() -> None:
    # Only MIN mines, only SEP separates and makes metal, SEP makes and USR buys magnets; Ce is in no
    # recipe, so it has an oxide market at SEP (a co-product disposed of, worth 0) but no metal market.
    prices = run(tiny_chain()).prices.query("period == 2024")
    markets = set(prices[["stage", "country", "element"]].itertuples(index=False, name=None))
    assert markets == {
        ("mining", "MIN", "REO"),
        ("separation", "SEP", "Ce"),
        ("separation", "SEP", "Nd"),
        ("metal", "SEP", "Nd"),
        ("magnet", "SEP", "NdFeB"),
        ("magnet", "USR", "NdFeB"),
    }
    assert prices.query("stage == 'separation' and element == 'Ce'")["usd_per_t"].item() == 0.0


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    banned=st.sets(st.sampled_from(["ALT", "USR"]), min_size=1),
    added=st.floats(min_value=0.0, max_value=20.0),
)
@pytest.mark.slow
def test_bans_never_raise_and_capacity_never_lowers_welfare(banned: set[str], added: float) -> None:
    chain = tiny_chain(mining=12.0, magnet_alt=3.0)
    base = run(chain).welfare_usd
    ban = control(stages=("metal", "magnet"), elements=("all",), destinations=tuple(sorted(banned)))
    assert run(chain, export_controls=(ban,)).welfare_usd <= base + 1e-6
    more = chain.replace(capacity=chain["capacity"] + xr.where(chain["capacity"].stage == "mining", added, 0.0))
    assert run(more).welfare_usd >= base - 1e-6
