"""The LP against an independent PuLP formulation of docs/simulation.md (benchmarks/pulp_peer.py).

The peer is written from the documentation and reads only the SupplyChain's arrays: it decides for
itself which plants, edges, buyers, stocks and routes exist. Both must reach the same optimum (to
1e-6 relative) on a tiny network for each family of constraints and on the bundled data (the
baseline and a scenario that uses every family), under both of linopy's arithmetic semantics
("legacy" and "v1": an absent slot must add 0 to a sum, not drop the row it is in). Each case also
checks that the families it is meant to exercise are in the LP, and that both LPs have the same
number of variables and rows, so an agreement cannot come from a family that is simply missing.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import linopy
import pytest
import xarray as xr

from raremap.model.periods import PeriodGrid
from raremap.model.supply_chain import SupplyChain
from raremap.scenario.spec import (
    CapacityChange,
    Disruption,
    DomesticPriority,
    ExportControl,
    Policies,
    Recycling,
    Scenario,
    SectorPriority,
    Stockpile,
    Substitution,
    Tariff,
)
from raremap.simulate import Simulation
from tests.model.test_market import at, base_flow
from tests.model.tiny import COUNTRIES, GOODS, PERIODS, array, capacity, demand, tiny_chain

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from pulp_peer import build_pulp, solve_pulp

PEER = Path(__file__).resolve().parents[2] / "benchmarks" / "pulp_peer.py"
RELATIVE_TOLERANCE = 1e-6
EVERY_FAMILY = str(Path(__file__).with_name("every-family.yaml"))
INFINITE = float("inf")


@pytest.fixture(params=["legacy", pytest.param("v1", marks=pytest.mark.slow)])
def semantics(request: pytest.FixtureRequest) -> Iterator[str]:
    with linopy.options:  # restores the options on exit
        linopy.options["semantics"] = request.param
        yield request.param


@dataclass(frozen=True)
class Peer:
    objective: float
    variables: int
    rows: int
    families: Counter[str]
    periods: int


def solve_peer(chain: SupplyChain) -> Peer:
    problem, variables = build_pulp(chain)
    names = [str(row.name) for row in problem.constraints()]
    families: Counter[str] = Counter({family.lower(): len(made) for family, made in variables.items() if made})
    families.update(re.sub(r"_\d+$", "", name).replace("_", "-").lower() for name in names)
    periods = len({key[-1] for made in variables.values() for key in made})  # every family has period last
    return Peer(solve_pulp(problem), sum(len(made) for made in variables.values()), len(names), families, periods)


def assert_same_lp(simulation: Simulation, peer: Peer) -> None:
    """The two optima agree; so do the two LPs' sizes."""
    assert simulation.model is not None
    ours = float(simulation.model.objective.value or 0.0)
    assert abs(ours - peer.objective) <= RELATIVE_TOLERANCE * max(1.0, abs(ours)), (ours, peer.objective)
    assert (simulation.model.nvars, simulation.model.ncons) == (peer.variables, peer.rows)


def test_the_peer_reads_only_the_supply_chain_from_the_code_under_test() -> None:
    # Issue 16: an "independent" formulation that imports the network builder checks nothing.
    imported = set()
    for node in ast.walk(ast.parse(PEER.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("raremap"):
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names if alias.name.startswith("raremap")}
    assert imported == {"raremap.model.supply_chain.SupplyChain"}


# -- tiny networks (tests/model/tiny.py: MIN mines, SEP separates and makes metal and magnets, USR buys) --


def two_grade_chain(neodymium: float = 0.30, praseodymium: float = 0.10, **arrays: Any) -> SupplyChain:
    """The tiny market with Nd, Pr and Dy and two magnet grades sharing the NdPr pool.

    MIN's ore is 5 % Dy, 30 % Nd, 10 % Pr (by default) and Ce for the rest. "N42" holds 0.22 t Nd and
    0.08 t Pr metal per t, "GBD" 0.20 Nd, 0.07 Pr and 0.03 Dy. Nd may stand in for Pr (Pr's floor is
    0), not the reverse. ev buys GBD, wind buys N42, glass buys Ce oxide.
    """
    oxides, products, sectors = ["Ce", "Dy", "Nd", "Pr"], ["GBD", "N42"], ["ev", "glass", "wind"]
    recipe = xr.DataArray([[0.0, 0.03, 0.20, 0.07], [0.0, 0.0, 0.22, 0.08]], coords={"element": products, "ingredient": oxides},
                          dims=("element", "ingredient"))
    bundle = xr.DataArray(0.0, coords={"sector": sectors, "element": oxides + products}, dims=("sector", "element")).copy()
    bundle.loc["ev", "GBD"] = bundle.loc["wind", "N42"] = bundle.loc["glass", "Ce"] = 1.0
    wanted = xr.DataArray(0.0, coords={"country": COUNTRIES, "sector": sectors}, dims=("country", "sector")).copy()
    wanted.loc["USR"] = [10.0, 12.0, 10.0]
    arrays.setdefault("capacity", capacity(mining_MIN=70, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100))
    arrays.setdefault("willingness_to_pay", xr.DataArray([[120.0, 90.0, 60.0], [8.0, 6.0, 4.0], [100.0, 70.0, 40.0]],
                                                         coords={"sector": sectors, "step": [0, 1, 2]}, dims=("sector", "step")))
    return SupplyChain.from_arrays(
        countries=COUNTRIES, elements=oxides, products=products, sectors=sectors, periods=PERIODS,
        composition=xr.DataArray([[0.95 - neodymium - praseodymium, 0.05, neodymium, praseodymium]], coords={"country": ["MIN"], "element": oxides},
                                 dims=("country", "element")),
        metal_factor=array({"Ce": 0.81, "Dy": 0.87, "Nd": 0.86, "Pr": 0.83}, "element"),
        recipe=recipe, magnet_pool=array({"Nd": 1.0, "Pr": 1.0}, "ingredient"), pool_floor=array({"Nd": 1.0}, "ingredient"),
        bundle=bundle, demand=wanted, operating_cost=1.0, transport_cost=0.1, **arrays,
    )


def control(**fields: Any) -> ExportControl:
    base = {"exporter": "SEP", "stages": ["magnet"], "elements": ["NdFeB"], "destinations": ["USR"], "start": "2025-01-01"}
    return ExportControl.model_validate({**base, **fields})


def goods_array(values: dict[str, float]) -> xr.DataArray:
    return array(values, "element").reindex(element=GOODS, fill_value=0.0)


def contracted(tonnes: float, edge: str = "SEP_USR") -> xr.DataArray:
    """A term contract of `tonnes` a year on one edge's magnets in every period."""
    flow = base_flow(**{edge: tonnes})
    return flow.expand_dims(period=PERIODS).transpose("stage", "exporter", "importer", "element", "period")


def shared_capacity() -> xr.DataArray:
    return capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100, magnet_ALT=100)


@dataclass(frozen=True)
class Case:
    chain: SupplyChain
    scenario: dict[str, Any] = field(default_factory=dict)
    families: tuple[str, ...] = ()
    """Families of variables or rows the case must contain (lower-case row names)."""
    run_out: bool = True


SEP_BASE = base_flow(SEP_USR=10.0)
QUARTERS = PeriodGrid.mixed(2024, 2027, 2025, 2026, 4)
MONTHS = PeriodGrid.mixed(2024, 2026, 2025, 2025, 12)
RECYCLING = Recycling(country="USR", sector="ev", collection_rate=0.5, recovery_rate=0.8, lifetime_years=2)

TINY_CASES: dict[str, Case] = {
    "plain (no run-out period)": Case(tiny_chain(), families=("mining-capacity-upper", "separation-surplus"), run_out=False),
    "recipe and co-products": Case(tiny_chain(demand=demand(ev=10, glass=24)), families=("separation-surplus", "metal-balance"),
                                   run_out=False),
    # Ce costs 1.5 to finish for sale; ALT's process-scrap oxide (Nd and Ce) may be left unsold only up to what it made.
    "co-products with a finishing cost": Case(
        tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_ALT=100),
                   demand=demand(ev=10, glass=10), scrap_share=array({"ALT": 0.3}, "country"),
                   finishing_cost=goods_array({"Ce": 1.5, "Nd": 0.5})),
        families=("separation-surplus", "separation-surplus-upper"), run_out=False),
    # Pr is plentiful and Nd scarce: Pr cannot stand in for Nd, so Nd's floor binds.
    "NdPr pool and two grades": Case(two_grade_chain(neodymium=0.1, praseodymium=0.3), families=("magnet-metal-use", "magnet-pool-balance", "magnet-recipe-lower"),
                                     run_out=False),
    # SEP's magnet making returns 30 % of its metal as oxide, which feeds its own metal plant again.
    "process scrap with the NdPr pool": Case(
        two_grade_chain(neodymium=0.1, praseodymium=0.3, scrap_share=array({"SEP": 0.3}, "country")),
        families=("magnet-metal-use", "magnet-pool-balance"), run_out=False),
    # ALT makes the magnets and has no separation plant: it sells its process-scrap oxide back to SEP.
    "a magnet maker's scrap oxide": Case(
        tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_ALT=100),
                   scrap_share=array({"ALT": 0.3}, "country")),
        families=("separation-surplus",), run_out=False),
    # MIN's ore may not go to ALT's separation plant, only to SEP's 10 t.
    "a closed concentrate route": Case(
        tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=10, separation_ALT=1000, metal_SEP=1000, magnet_SEP=100),
                   concentrate_route=xr.DataArray([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]],
                                                  coords={"exporter": COUNTRIES, "importer": COUNTRIES}, dims=("exporter", "importer"))),
        families=("concentrate-flow",), run_out=False),
    "investment with lead time and rate": Case(
        tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000),
                   investment_cost=at("magnet", "ALT", 1.0), investment_lead_years=at("magnet", "ALT", 2.0, default=INFINITE),
                   investment_rate_limit=at("magnet", "ALT", 4.0, default=INFINITE)),
        families=("new-capacity", "investment-rate-upper", "investment-irreversible-lower", "magnet-capacity-upper")),
    "investment pool, commitment and ceiling": Case(
        tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=2),
                   investment_cost=at("magnet", "ALT", 2.0) + at("magnet", "USR", 1.0),
                   investment_lead_years=at("magnet", "ALT", 1.0, default=INFINITE).where(~at("magnet", "USR", 1.0).astype(bool), 1.0),
                   investment_pooled=at("magnet", "ALT", 1.0) + at("magnet", "USR", 1.0),
                   investment_pool_limit=xr.DataArray(3.0),
                   investment_committed=(at("magnet", "ALT", 2.0) * xr.DataArray([0, 0, 1, 1], coords={"period": PERIODS}, dims="period")),
                   investment_ceiling=(at("magnet", "USR", 4.0, default=INFINITE)
                                       * xr.DataArray([1, 1, 1, 1], coords={"period": PERIODS}, dims="period"))),
        families=("investment-pool-upper", "investment-committed-lower", "investment-ceiling-upper")),
    "sector curves and priorities": Case(
        two_grade_chain(capacity=capacity(mining_MIN=30, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100)),
        {"sector_priorities": (SectorPriority(country="USR", sector="wind", weight=1.5),),
         "policies": Policies(domestic_priority=(DomesticPriority(country="USR", weight=1.2),))},
        families=("served", "demand-total-upper"), run_out=False),
    "licence halt by quarter": Case(
        tiny_chain(periods=QUARTERS, base_flow=SEP_BASE),
        {"export_controls": (control(form="licence_delay", delay_days=120),)}, run_out=False),
    "approval share by month": Case(
        tiny_chain(periods=MONTHS, base_flow=SEP_BASE, capacity=shared_capacity()),
        {"export_controls": (control(form="approval_share", approval_share=0.4, start="2025-03-01", end="2025-08-31"),)},
        run_out=False),
    "quota as a share of the base": Case(
        tiny_chain(base_flow=SEP_BASE), {"export_controls": (control(form="quota", quota_share_of_base=0.6),)}, run_out=False),
    "quota in tonnes incl. concentrate": Case(
        tiny_chain(capacity=shared_capacity(), demand=demand(ev=10) + demand(ev=8, country="ALT")),
        {"export_controls": (control(form="quota", quota_t=6.0, destinations=["all"]),
                             control(exporter="MIN", stages=["mining"], elements=["all"], destinations=["SEP"], form="quota",
                                     quota_t=30.0, start="2026-01-01"))},
        families=("flow-quota-upper",), run_out=False),
    "route growth": Case(
        tiny_chain(capacity=shared_capacity(), base_flow=SEP_BASE, route_growth=0.1),
        {"export_controls": (control(form="quota", quota_share_of_base=0.5),)},
        families=("route-new", "route-imports", "route-share-upper", "route-growth-upper", "route-imports-balance")),
    # SEP's 8 t of USR's 10 t are banned from 2025: they still count in USR's imports, so ALT keeps its share.
    "route growth with a banned incumbent": Case(
        tiny_chain(capacity=shared_capacity(), base_flow=base_flow(SEP_USR=8.0, ALT_USR=2.0), route_growth=0.1),
        {"export_controls": (control(form="ban"),)},
        families=("route-share-upper", "route-imports-balance")),
    # SEP makes 10 t; USR values magnets at 100 USD/kg, ALT at 20 and holds a 4 t/yr contract whose breach costs 3 USD/kg.
    "contracts": Case(
        tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=10),
                   demand=demand(ev=10) + demand(ev=5, country="ALT"), contract=contracted(4.0, "SEP_ALT"),
                   contract_breach_cost=goods_array({"NdFeB": 3.0}),
                   willingness_to_pay=xr.DataArray([20.0, 100.0], coords={"country": ["ALT", "USR"]}, dims="country")),
        families=("contract-breach", "contract-lower"), run_out=False),
    "extraterritorial ban and tariffs": Case(
        tiny_chain(capacity=shared_capacity(), base_flow=base_flow(SEP_USR=6.0, SEP_ALT=4.0),
                   demand=demand(ev=10) + demand(ev=4, country="ALT")),
        {"export_controls": (control(form="ban", destinations=["USR"], extraterritorial=True),),
         "policies": Policies(tariffs=(Tariff(importer="USR", stages=("magnet", "metal"), usd_per_kg=7.0, start=2026),
                                       Tariff(importer="SEP", stages=("mining",), usd_per_kg=0.5)))},
        run_out=False),
    # ALT makes 3 t of magnets and buys from SEP for its own buyers: it may not pass SEP's magnets on to USR.
    "no re-export": Case(
        tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100, magnet_ALT=3),
                   demand=demand(ev=10) + demand(ev=5, country="ALT")),
        {"export_controls": (control(form="ban"),)},
        families=("magnet-export-own-output-upper",), run_out=False),
    # Bans in 2025 and 2027: USR releases 3 t (its yearly limit) in 2025, so it buys 2 t back in 2026 to release 3 t in 2027.
    "stock with a price rule and refill": Case(
        tiny_chain(stock_holding_cost=goods_array({"NdFeB": 0.5})),
        {"export_controls": (control(form="ban", end="2025-12-31"), control(form="ban", start="2027-01-01")),
         "stockpiles": (Stockpile(holder="USR", stage="magnet", element="NdFeB", size_t=4.0, refill=True,
                                  release={"price_threshold_usd_per_kg": 50.0, "max_release_share_per_year": 0.75}),)},
        families=("stock-level", "stock-release", "stock-purchase", "stock-balance", "stock-release-upper", "stock-level-upper")),
    "stock with a shortfall rule": Case(
        tiny_chain(demand=demand(ev=10) + demand(ev=10, country="ALT")),
        {"export_controls": (control(form="ban", end="2025-12-31"),),
         "stockpiles": (Stockpile(holder="USR", stage="magnet", element="NdFeB", size_t=6.0, release={"when_short_share": 0.1}),)},
        families=("stock-schedule-equal",)),
    "exportable oxide stock": Case(
        tiny_chain(capacity=capacity(mining_MIN=10, separation_SEP=1000, metal_SEP=1000, magnet_ALT=100),
                   demand=demand(ev=10) + demand(ev=3, country="SEP")),
        {"stockpiles": (Stockpile(holder="ALT", stage="separation", element="Nd", size_t=3.0, allow_export=True),
                        Stockpile(holder="SEP", stage="metal", element="Nd", size_t=0.5))},
        families=("metal-export-own-output-upper", "stock-release")),
    "substitution": Case(
        tiny_chain(capacity=capacity(mining_MIN=10, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100)),
        {"substitution": (Substitution(sector="ev", rate_per_year=0.1, cost_usd_per_kg=30.0, start=2025),)},
        families=("substitution-share", "substitution-rate-upper", "substitution-irreversible-lower")),
    "recycling": Case(
        tiny_chain(capacity=capacity(mining_MIN=5, separation_SEP=1000, metal_SEP=1000, magnet_SEP=100)),
        {"recycling": (RECYCLING,)}, families=("recycling-supply", "recycling-share", "recycling-joint-equal"), run_out=False),
    "calibration supply": Case(
        tiny_chain(capacity=capacity(mining_MIN=10, separation_SEP=1000, metal_SEP=1000, magnet_SEP=6),
                   demand=demand(ev=12, glass=12),
                   calibration_supply=xr.DataArray([[3.0, 0.0, 4.0]], coords={"country": ["SEP"], "element": GOODS},
                                                   dims=("country", "element")),
                   calibration_cost=goods_array({"Ce": 5.0, "NdFeB": 60.0})),
        families=("calibration-supply",), run_out=False),
    # SEP's 3 t/yr of metal (enough for 15 t of magnets) lose 70 % in 2025, recovering over a year; ALT adds 1 t/yr of metal.
    "disruption and capacity change": Case(
        tiny_chain(capacity=capacity(mining_MIN=100, separation_SEP=1000, metal_SEP=3, magnet_SEP=100, magnet_ALT=100)),
        {"disruptions": (Disruption(country="SEP", stage="metal", share_lost=0.7, start=2025, duration_years=1, recovery="linear",
                                    recovery_years=1),),
         "capacity_changes": (CapacityChange(country="ALT", stage="metal", capacity_t=1.0, online_year=2025, ramp_up_years=1),)},
        families=("metal-capacity-upper",), run_out=False),
}


@pytest.mark.parametrize("case", list(TINY_CASES))
def test_tiny_networks_have_the_same_optimum_in_both_formulations(case: str, semantics: str) -> None:
    example = TINY_CASES[case]
    simulation = Simulation(Scenario(name="tiny", importer="USR", **example.scenario), supply_chain=example.chain)
    simulation.validate().build().solve()
    assert simulation.model_chain is not None and simulation.supply_chain is not None
    peer = solve_peer(simulation.supply_chain)  # the peer adds its own run-out period where periods link
    assert_same_lp(simulation, peer)
    missing = [family for family in example.families if not peer.families[family]]
    assert not missing, f"the case does not exercise {missing}"
    assert len(simulation.model_chain.periods) == peer.periods == len(simulation.supply_chain.periods) + int(example.run_out)


# -- the bundled data --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validated(dataset: object) -> dict[str, tuple[Simulation, Peer]]:
    """Each bundled scenario validated once, and its peer solved once (the peer has no linopy semantics)."""
    runs: dict[str, tuple[Simulation, Peer]] = {}
    for name in ("baseline", EVERY_FAMILY):
        simulation = Simulation(name, dataset=dataset).validate()
        assert simulation.supply_chain is not None
        runs[name] = (simulation, solve_peer(simulation.supply_chain))
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("name", ["baseline", EVERY_FAMILY])
def test_bundled_data_have_the_same_optimum_in_both_formulations(
    name: str, semantics: str, validated: dict[str, tuple[Simulation, Peer]]
) -> None:
    simulation, peer = validated[name]
    simulation.build().solve()
    assert_same_lp(simulation, peer)


@pytest.mark.slow
def test_the_every_family_scenario_exercises_every_family(validated: dict[str, tuple[Simulation, Peer]]) -> None:
    families = validated[EVERY_FAMILY][1].families
    wanted = {
        "mining-production", "concentrate-flow", "separation-surplus", "flow", "metal-production", "magnet-production",
        "magnet-metal-use", "served", "substitution-share", "new-capacity", "recycling-supply", "recycling-share", "calibration-supply",
        "route-new", "route-imports", "contract-breach", "stock-level", "stock-release", "stock-purchase",
        "mining-capacity-upper", "separation-capacity-upper", "metal-capacity-upper", "magnet-capacity-upper",
        "investment-irreversible-lower", "investment-rate-upper", "investment-pool-upper", "investment-committed-lower",
        "flow-quota-upper", "contract-lower", "route-imports-balance", "route-share-upper", "route-growth-upper",
        "separation-export-own-output-upper", "metal-export-own-output-upper", "magnet-export-own-output-upper",
        "mining-balance", "separation-balance", "metal-balance", "magnet-balance", "magnet-pool-balance", "magnet-recipe-lower",
        "demand-total-upper", "substitution-rate-upper", "substitution-irreversible-lower", "stock-balance",
        "stock-release-upper", "stock-schedule-equal", "stock-level-upper", "recycling-joint-equal",
    }
    assert sorted(family for family in wanted if not families[family]) == []
