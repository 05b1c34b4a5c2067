"""Planner tests: hand-checked plans on a tiny world, the status quo and fixed portfolios against the simulator
(the differential test), caps, the result contract and explanation, bad input, and the command line."""

from __future__ import annotations

import datetime
import itertools
import json
from typing import Any

import numpy as np
import pytest

import raremap
from raremap.plan.loading import PlanError, check_against_dataset, load_plan, validate_plan_document
from raremap.plan.model import Restrictions
from raremap.plan.planner import (
    Context,
    PlanRun,
    best_signing,
    frontier,
    solve_outcome,
    strategies,
)
from raremap.plan.portfolio import Portfolio, empty_portfolio, simulate_portfolio
from raremap.plan.results import contributions, options_table, out_of_sample
from raremap.results import check_tables
from raremap.scenario.spec import ExportControl, Recycling
from tests.plan.tiny import (
    HORIZON,
    INDIA_DEMAND,
    capacity,
    cut,
    draw,
    lost,
    tiny_context,
    tiny_plan,
    tiny_world,
)

REPORTED = [str(year) for year in range(HORIZON["start"], HORIZON["end"] + 1)]
WORLD_BAN = ExportControl(exporter="CHN", stages=("magnet",), destinations=("all",), start=datetime.date(2026, 1, 1),
                          end=datetime.date(2027, 1, 1), form="ban")
PLANT = {"name": "plant", "stage": "magnet", "maximum_t": 30, "capex_usd_per_tpa": 300_000, "lead_time_years": 1,
         "ramp_up_years": 0, "delay_probability": 0}
STOCK = {"good": "NdFeB", "stage": "magnet", "maximum_t": 30}
NOTHING: frozenset[str] = frozenset()
STATUS_QUO = Restrictions(offtakes=NOTHING, builds=NOTHING, stockpiles=NOTHING, keep_at_home=())


def every_stage() -> list[Any]:
    """A calm draw, capacity lost at each stage in China, and China's export controls on every destination."""
    return [
        draw("calm"),
        draw("mining", disruptions=(lost("CHN", "mining", 0.6, 2027),)),
        draw("separation", disruptions=(lost("CHN", "separation", 0.8, 2025),)),
        draw("metal", disruptions=(lost("CHN", "metal", 0.9, 2026),)),
        draw("magnet", disruptions=(lost("CHN", "magnet", 0.9, 2028),)),
        draw("controls", controls=(cut(0.1, 2026, 2027, stages=("metal", "magnet"), destinations=("all",)),)),
        draw("ban", controls=(WORLD_BAN,)),
    ]


def simulated_shortfall(context: Context, portfolio: Portfolio, index: int) -> np.ndarray:
    """The importer's shortfall per horizon period in the simulator itself, the portfolio written as a scenario."""
    item = context.views.draws[index]
    result = simulate_portfolio(context.chain, item.scenario, portfolio, context.options, item, HORIZON["start"])
    table = result.shortfall
    table = table[(table["country"] == "IND") & table["period"].isin(REPORTED)]
    return table.groupby("period")["tonnes"].sum().reindex(REPORTED).to_numpy()


def planned_shortfall(outcome: Any, name: str) -> np.ndarray:
    return np.asarray(outcome.shortfall.sel(scenario=name).sum("sector").values)


@pytest.fixture(scope="module")
def stages(dataset: raremap.Dataset) -> Context:
    plan = tiny_plan(domestic=[PLANT, {**PLANT, "name": "metal-line", "stage": "metal", "capex_usd_per_tpa": 20_000}],
                     stockpiles=[STOCK], keep_at_home=["magnet", "metal"])
    return tiny_context(plan, every_stage(), dataset)


@pytest.mark.slow
def test_the_status_quo_is_the_simulators_answer_in_every_draw(stages: Context) -> None:
    # LP duality: the importer's part of the market at the engine's terms has the engine's answer.
    outcome = solve_outcome(stages, STATUS_QUO, "status quo")
    engine = stages.views.boundary.shortfall.sum("sector").sel(period=stages.views.side.reported)
    np.testing.assert_allclose(outcome.shortfall.sum("sector").values, engine.values, atol=1e-6)
    assert float(engine.sum()) > 10  # the draws do bite: the check is not of zeros


INDIA_RECYCLING = Recycling(country="IND", sector="ev", collection_rate=0.5, recovery_rate=0.8, lifetime_years=1,
                            cost_usd_per_kg=5.0)
"""India recovers, as oxide, the Nd of the magnets it bought a year earlier (1.6 t of metal a year) for its own
metal and magnet plants."""


def recycling_context(dataset: raremap.Dataset, recycling: tuple[Recycling, ...]) -> Context:
    """India with metal and magnet plants and no separation (and neither Australia's separation nor Japan's
    magnet plants), in a calm year and under a cut of China's oxide, metal and magnets."""
    controls = (cut(0.1, 2026, 2027, stages=("separation", "metal", "magnet")),)
    draws = [draw("calm", recycling=recycling), draw("cut", controls=controls, recycling=recycling)]
    plants = capacity(separation_AUS=0.0, metal_IND=5.0, magnet_IND=20.0, magnet_JPN=0.0)
    return tiny_context(tiny_plan(), draws, dataset, chain=tiny_world(capacity=plants))


@pytest.mark.slow
def test_the_importers_own_recycling_is_in_the_planners_market(dataset: raremap.Dataset) -> None:
    # The planner once refused an importer with recycling of its own; its status quo is now the engine's answer,
    # and the recycled oxide, reduced at home, is what keeps India's magnet plant going under the cut.
    with_recycling = recycling_context(dataset, (INDIA_RECYCLING,))
    outcome = solve_outcome(with_recycling, STATUS_QUO, "status quo")
    engine = with_recycling.views.boundary.shortfall.sum("sector").sel(period=with_recycling.views.side.reported)
    np.testing.assert_allclose(outcome.shortfall.sum("sector").values, engine.values, atol=1e-6)
    without = recycling_context(dataset, ()).views.boundary.shortfall.sum("sector").sel(period=with_recycling.views.side.reported)
    print(f"\nIndia's shortfall under the cut, t: {float(without.sel(scenario='cut').sum()):.1f} without recycling, "
          f"{float(engine.sel(scenario='cut').sum()):.1f} with it")
    assert float((without - engine).sel(scenario="cut").sum()) > 1.0


DIFFERENTIAL_TOLERANCE_T = 0.01 * INDIA_DEMAND
"""The reduced second stage may differ from the simulator by at most 1 % of the importer's yearly demand in any
period of any draw (on the tiny world, where the importer is a small buyer, as on the bundled data)."""


@pytest.mark.slow
def test_a_fixed_portfolio_agrees_with_the_simulator_on_every_stage_and_under_controls(stages: Context) -> None:
    # A magnet plant, a metal line and a magnet stock, kept at home, written as a scenario for the simulator
    # (capacity changes, a stockpile, an export ban) and operated by the planner's second stage.
    portfolio = empty_portfolio(stages.options, stages.starts())
    build = portfolio.build.copy()
    build.loc[{"unit": "plant", "start": 2025}] = 8.0
    build.loc[{"unit": "metal-line", "start": 2025}] = 2.0
    stock = portfolio.stock.copy()
    stock.loc[{"stockpile": "stockpile-NdFeB-magnet"}] = 6.0
    fixed = Portfolio(build, portfolio.contract, stock, NOTHING, ("magnet", "metal"))
    outcome = solve_outcome(stages, Restrictions(fixed=fixed.values(), budget=False, caps=False), "fixed")
    for index, item in enumerate(stages.views.draws):
        simulated = simulated_shortfall(stages, fixed, index)
        np.testing.assert_allclose(planned_shortfall(outcome, item.name), simulated, atol=DIFFERENTIAL_TOLERANCE_T,
                                   err_msg=f"draw {item.name}")


@pytest.fixture(scope="module")
def ban(dataset: raremap.Dataset) -> Context:
    plan = tiny_plan(domestic=[PLANT], stockpiles=[STOCK], keep_at_home=["magnet"])
    return tiny_context(plan, [draw("ban", controls=(WORLD_BAN,))], dataset)


@pytest.mark.slow
def test_a_stockpile_covers_the_slices_worth_more_than_it_costs(ban: Context) -> None:
    # China ships no magnets in 2026; JPN's 40 t go to USA's top slice (310 USD/kg beats IND's 300), so IND
    # is short all 20 t: slices of 12 t at 300, 6 t at 150 and 2 t at 80 USD/kg. A stocked tonne costs its
    # price 50 + one year's holding 2.5 + the release price 75 (1.5 x 50) = 127.5 USD/kg: the 300 and 150
    # slices are worth it (18 t), the 80 slice is not.
    outcome = solve_outcome(ban, Restrictions(builds=NOTHING), "stock only")
    assert float(outcome.portfolio.stock.sum()) == pytest.approx(18.0, abs=0.01)
    np.testing.assert_allclose(planned_shortfall(outcome, "ban"), [0.0, 2.0, 0.0, 0.0], atol=0.01)
    np.testing.assert_allclose(simulated_shortfall(ban, outcome.portfolio, 0), [0.0, 2.0, 0.0, 0.0], atol=0.01)


@pytest.mark.slow
def test_a_plant_is_built_a_lead_time_ahead_for_the_slices_worth_its_capital(ban: Context) -> None:
    # 300,000 USD per t/yr at an annuity of 9.37 % for the four years 2025-2028 is 112.5 USD per kg of a
    # year's capacity: more than the 80 slice is worth, less than the others. With a year's lead time the
    # plant is committed in 2025 to serve in 2026; IND keeps its magnets at home.
    outcome = solve_outcome(ban, Restrictions(stockpiles=NOTHING), "plant only")
    built = outcome.portfolio.build.sel(unit="plant")
    assert float(built.sel(start=2025)) == pytest.approx(18.0, abs=1e-2)
    assert float(built.sum()) == pytest.approx(18.0, abs=1e-2)
    np.testing.assert_allclose(planned_shortfall(outcome, "ban"), [0.0, 2.0, 0.0, 0.0], atol=1e-2)
    np.testing.assert_allclose(simulated_shortfall(ban, outcome.portfolio, 0), [0.0, 2.0, 0.0, 0.0], atol=1e-2)
    table = options_table(ban, outcome.portfolio)
    assert table.set_index("name").loc["plant", "online"] == 2026
    assert table.set_index("name").loc["plant", "volume_t"] == pytest.approx(18.0, abs=1e-2)


@pytest.mark.slow
def test_caps_limit_what_is_contracted_from_one_partner(dataset: raremap.Dataset) -> None:
    # IND needs 20 t of magnets a year; a 25 % partner cap allows 5 t/yr from JPN. A contract of at least
    # 4 t/yr fits (and, worth nothing at world prices here, is held at its minimum); one of 6 t/yr does not,
    # and the plan is refused before anything is solved, naming the cap and the year.
    offtake = {"name": "jpn", "partner": "JPN", "stage": "magnet", "maximum_t": 20, "reservation": 0.01}
    caps = {"partner": 0.25, "bloc": 1.0}
    fits = tiny_context(tiny_plan(offtakes=[{**offtake, "minimum_t": 4}], caps=caps), [draw("calm")], dataset)
    outcome = solve_outcome(fits, Restrictions(), "fits")
    in_force = outcome.portfolio.contract.sel(option="jpn").cumsum("start")
    assert float(in_force.max()) == pytest.approx(4.0, abs=1e-3)
    from raremap.plan.options import resolve_options
    from raremap.plan.planner import budget_problems

    too_much = tiny_plan(offtakes=[{**offtake, "minimum_t": 6}], caps=caps)
    problems = budget_problems(too_much, resolve_options(too_much, dataset, fits.chain, set()))
    assert any(problem.startswith("Partner-cap: jpn's minimum_t 6 t/yr is above caps.partner = 0.25") and "2025" in problem
               for problem in problems)


def test_a_budget_too_small_for_the_minimums_is_named(dataset: raremap.Dataset) -> None:
    from raremap.plan.options import resolve_options
    from raremap.plan.planner import budget_problems

    plan = tiny_plan(domestic=[{**PLANT, "minimum_t": 10}], budget_usd_million=1.0)
    problems = budget_problems(plan, resolve_options(plan, dataset, ban_world(), set()))
    assert problems and problems[0].startswith("Budget") and "3.0 USD million" in problems[0]


def ban_world() -> Any:
    from tests.plan.tiny import tiny_world

    return tiny_world()


@pytest.fixture(scope="module")
def tiny_run(ban: Context, dataset: raremap.Dataset) -> PlanRun:
    """A whole run on the tiny world: plan, frontier, strategies, contributions, one fresh draw."""
    chosen, signings = best_signing(ban, Restrictions())
    fresh = tiny_context(ban.plan, [draw("fresh ban", controls=(WORLD_BAN,), slips={"plant": 1})], dataset).views
    return PlanRun(ban.plan, ban, chosen, signings, frontier(ban, chosen, 3), strategies(ban, chosen),
                   contributions(ban, chosen), out_of_sample(ban, chosen, fresh), "tiny", {})


@pytest.mark.slow
def test_the_run_keeps_the_result_contract_and_explains_itself(tiny_run: PlanRun) -> None:
    tables = tiny_run.tables()
    check_tables("plan", tables)
    text = " ".join(tables["explanation"]["text"])
    assert "Against the status quo" in text and "Without plant" in text
    options = tables["options"]
    assert set(options["unit"]) <= {"t/yr", "t", ""}
    assert (options["outlay_usd_million"] >= 0).all()
    payload = tiny_run.to_json()
    json.dumps(payload)
    assert payload["strategies"][2]["name"] == "multi-vector (the plan)"


@pytest.mark.slow
def test_the_plan_is_never_worse_than_domestic_only_on_the_objective(tiny_run: PlanRun) -> None:
    by_name = {outcome.name: outcome for outcome in tiny_run.strategies}
    assert by_name["multi-vector (the plan)"].objective <= by_name["domestic only"].objective + 1e-6
    assert by_name["multi-vector (the plan)"].objective <= by_name["status quo"].objective + 1e-6


@pytest.mark.slow
def test_the_frontier_trades_cost_for_tail_risk(tiny_run: PlanRun) -> None:
    points = sorted(tiny_run.frontier, key=lambda outcome: outcome.risk_weight)
    for before, after in itertools.pairwise(points):
        assert after.cvar_loss <= before.cvar_loss + 1e-6
        assert after.commitments + after.expected_loss >= before.commitments + before.expected_loss - 1e-6


@pytest.mark.slow
def test_out_of_sample_runs_the_plan_in_the_simulator(tiny_run: PlanRun) -> None:
    (row,) = tiny_run.out_of_sample
    # The plant slips a year in the fresh draw, so it is not there for the 2026 ban: IND is short all 20 t
    # but what the stock covers.
    assert row["plan_shortfall_t"] < row["status_quo_shortfall_t"]
    assert abs(row["difference_t"]) <= DIFFERENTIAL_TOLERANCE_T


def test_caps_outside_zero_one_are_refused() -> None:
    for cap in (0.0, 1.5):
        with pytest.raises(PlanError, match=r"caps\.partner"):
            validate_plan_document({"name": "bad", "caps": {"partner": cap}})


def test_unknown_partner_good_and_stage_are_named(dataset: raremap.Dataset) -> None:
    offtake = {"name": "x", "partner": "AUS", "stage": "magnet", "maximum_t": 10}
    with pytest.raises(PlanError, match=r"offtakes\[0\]\.stage"):
        validate_plan_document({"name": "bad", "offtakes": [{**offtake, "stage": "smelting"}]})
    plan = validate_plan_document({"name": "bad", "offtakes": [{**offtake, "partner": "AUSS", "good": "NdFeB N24"}]})
    with pytest.raises(PlanError) as problem:
        check_against_dataset(plan, dataset, "bad")
    assert "offtakes[0].partner = 'AUSS': unknown country; did you mean 'AUS'?" in str(problem.value)
    assert "offtakes[0].good = 'NdFeB N24': unknown good" in str(problem.value)


def test_two_offtakes_on_one_edge_are_refused(dataset: raremap.Dataset) -> None:
    offtake = {"name": "x", "partner": "AUS", "stage": "magnet", "maximum_t": 10}
    plan = validate_plan_document({"name": "bad", "offtakes": [offtake, {**offtake, "name": "y"}]})
    with pytest.raises(PlanError, match="merge them into one offtake"):
        check_against_dataset(plan, dataset, "bad")


def test_the_default_plan_loads(dataset: raremap.Dataset) -> None:
    plan = load_plan("default", dataset)
    assert plan.importer == "IND" and plan.caps.partner == 0.4
    assert plan.horizon.start == 2027
    assert any(build.maximum_t == 6000 for build in plan.domestic)


@pytest.mark.slow
def test_the_command_line_prints_a_plan_with_its_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    from raremap.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["plan", "default", "--scenarios", "2", "--out-of-sample", "1", "--frontier", "2", "--json"])
        raise SystemExit(0)
    assert exit_info.value.code in (0, None)
    payload = json.loads(capsys.readouterr().out)
    assert {"options", "cost", "objective", "expected_shortfall_t", "cvar_shortfall_t", "out_of_sample",
            "max_partner_share", "frontier", "strategies", "explanation"} <= set(payload)
    assert payload["scenarios"] == 2 and payload["out_of_sample"]["draws"] == 1
    assert all(set(row) >= {"name", "kind", "volume_t", "unit", "start", "online"} for row in payload["options"])
    assert [row["name"] for row in payload["strategies"]][2] == "multi-vector (the plan)"


def _fixed_default(context: Context) -> Portfolio:
    """The default plan's choice on 16 draws (docs/plan.md): the REPM scheme, a metal line with Japanese
    know-how, monazite mining, 5,000 t of magnets in stock, magnets and metal kept at home."""
    portfolio = empty_portfolio(context.options, context.starts())
    build = portfolio.build.copy()
    build.loc[{"unit": "magnet-repm-scheme", "start": 2027}] = 6000.0
    build.loc[{"unit": "metal-plant", "start": 2027}] = 1902.0
    build.loc[{"unit": "monazite-mining", "start": 2027}] = 5500.0
    stock = portfolio.stock.copy()
    stock.loc[{"stockpile": "stockpile-NdFeB-magnet"}] = 5000.0
    return Portfolio(build, portfolio.contract, stock, frozenset({"metal-know-how-JPN"}), ("metal", "magnet"))


BUNDLED_TOLERANCE_SHARE = 0.10
"""On the bundled data the reduced second stage may differ from the simulator by at most 10 % of India's magnet
demand in any horizon year of any draw, and by at most 2 % over the horizon (`BUNDLED_TOTAL_TOLERANCE_SHARE`):
the portfolio's feedback on the world, which the reduction leaves out (docs/plan.md). Measured on 2026-12-06
(each draw's gaps are printed): 0.5 % in a year and 0.05 % over the horizon in two draws; in draw 1, where
China's controls bind from 2030, 7.9 % in 2034 and 1.2 % over the horizon. There the simulator, with India's
plants in the world, lets China build 1.2-1.9 kt/yr less metal and 2.5 kt/yr less mining and separation
from 2031 (measured before heavy circuits lost their feed capacity; the gaps are the same after), which
the planner (holding the status quo's investment) does not see. Earlier datasets: 3.9 %
(the planner bought Malaysian oxide the market kept for Malaysia's contracted buyers) and 14.5 % (Lynas
Malaysia's heavy circuit not converted to feed, before the magnets' cerium; with both, as today, 7.9 %)."""
BUNDLED_TOTAL_TOLERANCE_SHARE = 0.02


@pytest.mark.slow
def test_the_default_portfolio_agrees_with_the_simulator_on_the_bundled_data(dataset: raremap.Dataset) -> None:
    # Three fresh draws of the default risk file (China's export controls, losses at every stage, demand levels)
    # and the default plan's portfolio, in the planner's second stage and in the simulator itself.
    from raremap.plan.options import resolve_options
    from raremap.plan.planner import market_views, planning_chain
    from raremap.plan.scenarios import at_demand_level, controlling_exporters, plan_base_scenario, plan_draws

    plan = load_plan("default", dataset)
    base = plan_base_scenario(plan, dataset)
    chain = planning_chain(dataset, base, plan)
    options = resolve_options(plan, dataset, chain, controlling_exporters(plan))
    draws = plan_draws(plan, dataset, chain, base, options.builds, 3, plan.scenarios.out_of_sample_seed)
    views = market_views(chain, draws, plan.importer, plan.horizon.start, lambda fraction, message: None, (0.0, 1.0))
    context = Context(plan, chain, options, views)
    fixed = _fixed_default(context)
    outcome = solve_outcome(context, Restrictions(fixed=fixed.values(), signed=fixed.signed, budget=False, caps=False),
                            "fixed")
    demand = views.boundary.demand.sum("sector").sel(period=views.side.reported)
    reported = [str(int(period)) for period in views.side.reported]
    for item in draws:
        level = at_demand_level(chain, item.demand_level, plan.horizon.start)
        result = simulate_portfolio(level, item.scenario, fixed, options, item, plan.horizon.start)
        table = result.shortfall
        table = table[(table["country"] == "IND") & table["period"].isin(reported)]
        simulated = table.groupby("period")["tonnes"].sum().reindex(reported).to_numpy()
        planned = planned_shortfall(outcome, item.name)
        yearly_demand = demand.sel(scenario=item.name).values
        gap = np.abs(planned - simulated) / yearly_demand
        total_gap = abs(planned.sum() - simulated.sum()) / yearly_demand.sum()
        print(f"\n{item.name}: largest gap {gap.max():.1%} of India's demand, in {reported[int(gap.argmax())]}; "
              f"{total_gap:.2%} over the horizon")
        assert float(gap.max()) <= BUNDLED_TOLERANCE_SHARE, f"{item.name}: {np.round(gap, 3)}"
        assert total_gap <= BUNDLED_TOTAL_TOLERANCE_SHARE, f"{item.name}: {total_gap:.3f} over the horizon"


def test_the_steps_run_in_order(dataset: raremap.Dataset) -> None:
    from raremap.errors import RaremapError
    from raremap.plan.planner import Planning

    with pytest.raises(RaremapError, match=r"call build\(\) before solve\(\)"):
        Planning(load_plan("default", dataset), dataset).solve()
