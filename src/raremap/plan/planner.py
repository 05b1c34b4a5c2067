"""Planning, step by step: validate, build, solve, collect (``Planning``), or all at once (``run_plan``).

- validate: the plan against the dataset; its base scenario, SupplyChain, options and draws;
- build: for every draw, the full engine's market (``raremap.plan.market``): what it offers the
  importer, in- and out-of-sample;
- solve: the plan (signing each technology partnership or not, whichever is better), the frontier
  of risk weights, the strategies, what each chosen option contributes, and the out-of-sample check
  (the chosen portfolio in the simulator itself on fresh draws);
- collect: the PlanRun (tables declared in results.csv, the explanation, the JSON summary).

`progress(fraction, message)`, when given, is told before each step, as for simulations and risk runs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import linopy
import numpy as np
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.quiet import quiet_stdout
from raremap.model.supply_chain import SupplyChain
from raremap.plan.loading import check_against_dataset
from raremap.plan.market import Boundary, ImporterSide, boundary, importer_side, solve_market, stack
from raremap.plan.model import PlanModel, Restrictions, build_plan_model, first_stage
from raremap.plan.options import Options, resolve_options
from raremap.plan.portfolio import Portfolio
from raremap.plan.scenarios import (
    Draw,
    at_demand_level,
    controlling_exporters,
    plan_base_scenario,
    plan_draws,
)
from raremap.plan.spec import Plan
from raremap.risk.summary import conditional_value_at_risk
from raremap.scenario.spec import Scenario
from raremap.simulate.run import supply_chain_for
from raremap.vocabulary import STAGES

SMALL = 1e-6
ROUTE_CAPACITY_T = 1e-3
"""t/yr of capacity given to the importer at a stage where it has none but the plan may build: the market
then has the routes such a plant would buy on (one kilogram a year changes nothing else)."""
FIRST_STAGE_DUALS = ("Budget", "Partner-cap", "Bloc-cap", "Build-maximum", "Contract-maximum", "Stock-maximum",
                     "Thorium-limit")

Progress = Callable[[float, str], None]


class PlanInfeasibleError(RaremapError):
    """The plan's constraints cannot all hold; the message names the one that cannot be met."""


@dataclass(frozen=True)
class MarketViews:
    """What the market offers the importer in each draw (the full engine's terms), on a `scenario` dimension."""

    draws: tuple[Draw, ...]
    boundary: Boundary
    side: ImporterSide
    seconds: float

    @property
    def names(self) -> list[str]:
        return [draw.name for draw in self.draws]

    def weight(self) -> xr.DataArray:
        count = len(self.draws)
        return xr.DataArray(np.full(count, 1.0 / count), coords={"scenario": self.names}, dims="scenario")


def planning_chain(dataset: Any, scenario: Scenario, plan: Plan) -> SupplyChain:
    """The plan's SupplyChain: the simulator's for the base scenario, with the routes the plan's plants would use."""
    return with_plan_routes(supply_chain_for(dataset, scenario), plan)


def with_plan_routes(chain: SupplyChain, plan: Plan) -> SupplyChain:
    """The chain with ROUTE_CAPACITY_T at each stage the plan may build where the importer has no capacity."""
    stages = sorted({build.stage for build in plan.domestic})
    capacity = chain["capacity"]
    missing = (capacity.max("period") <= 0) & (capacity["country"] == plan.importer) & capacity["stage"].isin(stages)
    if not bool(missing.any()):
        return chain
    return chain.replace(capacity=(capacity + xr.where(missing, ROUTE_CAPACITY_T, 0.0)).transpose("stage", "country", "period"))


def market_views(chain: SupplyChain, draws: Sequence[Draw], importer: str, horizon_start: int,
                 report: Progress, fraction: tuple[float, float]) -> MarketViews:
    """Solve the full engine for every draw and read what it offers the importer."""
    started = time.perf_counter()
    levels: dict[float, SupplyChain] = {}
    boundaries: dict[str, Boundary] = {}
    side: ImporterSide | None = None
    reported: list[float] = []
    for index, draw in enumerate(draws):
        report(fraction[0] + (fraction[1] - fraction[0]) * index / max(len(draws), 1),
               f"solving the market of {draw.name} ({index + 1} of {len(draws)})")
        level = levels.setdefault(draw.demand_level, at_demand_level(chain, draw.demand_level, horizon_start))
        run = solve_market(level, draw.scenario)
        if side is None:
            reported = [period for period in run.chain.periods if period >= horizon_start - 1e-9]
            side = importer_side(run, importer, reported)
        boundaries[draw.name] = boundary(run, importer, side.periods, draw.scenario, level)
    if side is None:
        raise RaremapError("a plan needs at least one scenario; give scenarios.count of 1 or more")
    return MarketViews(tuple(draws), stack(boundaries), side, time.perf_counter() - started)


@dataclass
class Outcome:
    """One solved planning LP, read out: decisions, costs (USD million) and shortfall (t) per scenario."""

    name: str
    portfolio: Portfolio
    risk_weight: float
    alpha: float
    weight: xr.DataArray  # [scenario]
    commitments: float
    outlay: float
    money: xr.DataArray  # [scenario, period] USD million, every model period (with the run-out year)
    lost: xr.DataArray  # [scenario, period] USD million
    shortfall: xr.DataArray  # [scenario, sector, period] t per period, the horizon's periods
    supply: xr.DataArray  # [scenario, stage, source, period] t per period reaching the importer
    mined: xr.DataArray  # [scenario, period] t REO mined at the importer, the horizon's periods
    duals: dict[str, xr.DataArray] = field(default_factory=dict)
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    reported: tuple[float, ...] = ()

    @property
    def loss(self) -> np.ndarray:
        """Per scenario: the second stage's net cost of supply plus lost value (every model period)."""
        return np.asarray((self.money + self.lost).sum("period").values)

    @property
    def expected_loss(self) -> float:
        return float(np.dot(self.weight.values, self.loss))

    @property
    def cvar_loss(self) -> float:
        return conditional_value_at_risk(self.loss, self.alpha)

    @property
    def objective(self) -> float:
        """commitments + expected loss + lambda x CVaR of the loss (USD million), as the LP minimises it."""
        return self.commitments + self.expected_loss + self.risk_weight * self.cvar_loss

    @property
    def scenario_shortfall_t(self) -> np.ndarray:
        """Per scenario: the importer's shortfall over the horizon (t), as the simulator's shortfall table sums it."""
        return np.asarray(self.shortfall.sum(["sector", "period"]).values)

    @property
    def expected_shortfall_t(self) -> float:
        return float(np.dot(self.weight.values, self.scenario_shortfall_t))

    @property
    def cvar_shortfall_t(self) -> float:
        return conditional_value_at_risk(self.scenario_shortfall_t, self.alpha)

    def horizon(self, values: xr.DataArray) -> float:
        """Expected total over the horizon's periods (the run-out year left out)."""
        return float((values.sel(period=list(self.reported)).sum("period") * self.weight).sum())

    def parts(self) -> dict[str, float]:
        """The objective in parts (USD million); they add up to `objective`."""
        supply = self.horizon(self.money)
        lost = self.horizon(self.lost)
        return {
            "commitments_usd_million": self.commitments,
            "supply_cost_usd_million": supply,
            "lost_value_usd_million": lost,
            "run_out_year_usd_million": self.expected_loss - supply - lost,
            "risk_term_usd_million": self.risk_weight * self.cvar_loss,
            "objective_usd_million": self.objective,
        }


@dataclass(frozen=True)
class Context:
    """Everything a solve needs besides its restrictions."""

    plan: Plan
    chain: SupplyChain
    options: Options
    views: MarketViews

    def starts(self) -> list[int]:
        return [int(period) for period in self.views.side.reported]


def _value(expression: linopy.LinearExpression) -> xr.DataArray:
    return expression.solution.fillna(0.0)


def _supply(model: linopy.Model, side: ImporterSide) -> xr.DataArray:
    """t per period reaching the importer [scenario, stage, source, period]: partners, its own plants, its stocks.

    Mining is concentrate (its own mines kept at home, or imports); separation is oxide (REO separated
    at home, or recovered from retired magnets, or oxide imports); metal as made at home, or imported; magnets as made or
    imported; `stockpile` is what stocks release.
    """
    values = {name: model.variables[name].solution.fillna(0.0) for name in
              ("Concentrate-use", "Concentrate-import", "Import", "Metal-production", "Magnet-production", "Stock-release",
               "Recycling-supply")}
    recycled = (values["Recycling-supply"].sum("tier") / side.metal_factor).sum("element")  # t REO
    separated = values["Concentrate-use"] + values["Concentrate-import"].sum("partner") + recycled
    metal = values["Metal-production"].sum("element")
    domestic = xr.concat([values["Concentrate-use"], separated, metal,
                          values["Magnet-production"].sum("element")],
                         dim=xr.DataArray(list(STAGES), dims="stage", name="stage")).expand_dims(source=["domestic"])
    imports = xr.concat([values["Concentrate-import"].expand_dims(stage=["mining"]),
                         values["Import"].sum("element")], dim="stage").rename(partner="source")
    released = values["Stock-release"].sum("element").reindex(stage=list(STAGES), fill_value=0.0)
    order = ("scenario", "stage", "source", "period")
    supply = xr.concat([imports.transpose(*order), domestic.transpose(*order),
                        released.expand_dims(source=["stockpile"]).transpose(*order)], dim="source", fill_value=0.0)
    return supply.sel(period=side.reported).fillna(0.0)


def _duals(model: linopy.Model) -> dict[str, xr.DataArray]:
    return {name: model.constraints[name].dual for name in FIRST_STAGE_DUALS if name in model.constraints}


def solve_outcome(context: Context, restrictions: Restrictions, name: str, views: MarketViews | None = None) -> Outcome:
    """Build and solve one planning LP on the in-sample draws (or `views`); a clear error if it cannot hold."""
    plan, options = context.plan, context.options
    views = views or context.views
    started = time.perf_counter()
    stage = first_stage(options, views.draws, views.side, views.boundary, context.chain, restrictions)
    weight = plan.risk.weight if restrictions.risk_weight is None else restrictions.risk_weight
    keep = plan.keep_at_home if restrictions.keep_at_home is None else restrictions.keep_at_home
    plan_model = build_plan_model(
        views.side, views.boundary, stage, views.weight(), weight, plan.risk.alpha,
        plan.budget_usd_million if restrictions.budget else None,
        (plan.caps.partner, plan.caps.bloc) if restrictions.caps else None,
        options.need, options.blocs, {item: options.kept_goods[item] for item in keep}, restrictions.fixed)
    built = time.perf_counter()
    with quiet_stdout():
        status, condition = plan_model.model.solve(solver_name="highs", io_api="direct", progress=False,
                                                   output_flag=False)
    solved = time.perf_counter()

    if status != "ok":
        raise PlanInfeasibleError(_diagnosis(plan, restrictions, condition))
    return _outcome(plan_model, name, restrictions, tuple(keep), built - started, solved - built)


def _outcome(plan_model: PlanModel, name: str, restrictions: Restrictions, keep: tuple[str, ...],
             build_seconds: float, solve_seconds: float) -> Outcome:
    model, side, boundary_ = plan_model.model, plan_model.side, plan_model.boundary
    served = model.variables["Served"].solution.fillna(0.0).sum("step")
    shortfall = (boundary_.demand - served).sel(period=side.reported).clip(min=0.0)
    portfolio = Portfolio(model.variables["Build"].solution.fillna(0.0), model.variables["Contract"].solution.fillna(0.0),
                          model.variables["Stock"].solution.fillna(0.0), restrictions.signed, keep)
    return Outcome(
        name=name, portfolio=portfolio, risk_weight=plan_model.risk_weight, alpha=plan_model.alpha,
        weight=plan_model.weight, commitments=float(plan_model.commitments.solution) + plan_model.stage.technology_cost,
        outlay=float(plan_model.outlay.solution) + plan_model.stage.technology_cost,
        money=_value(plan_model.money), lost=_value(plan_model.lost_value) + plan_model.lost_value_constant,
        shortfall=shortfall, supply=_supply(model, side),
        mined=model.variables["Mining-production"].solution.fillna(0.0).sel(period=side.reported), duals=_duals(model),
        build_seconds=build_seconds, solve_seconds=solve_seconds, reported=tuple(side.reported),
    )


def _diagnosis(plan: Plan, restrictions: Restrictions, condition: str) -> str:
    if restrictions.fixed:
        return f"plan {plan.name}: the fixed portfolio cannot be operated ({condition}); this is a bug, please report it"
    return (f"plan {plan.name} is infeasible ({condition}): the options' minimums, the thorium limits and the budget "
            f"(budget_usd_million = {plan.budget_usd_million:,.0f}) cannot all hold; lower minimum_t or raise the budget")


def budget_problems(plan: Plan, options: Options) -> list[str]:
    """What the options' minimums commit before any choice, against the budget and the horizon."""
    problems = []
    outlay = sum(build.capex_usd_per_tpa * build.spec.minimum_t for build in options.builds) / 1e6
    outlay += sum(item.capex_usd_per_tpa * item.spec.minimum_t for item in options.offtakes) / 1e6
    outlay += sum(item.price_usd_per_kg * item.spec.minimum_t for item in options.stockpiles) / 1e3
    if outlay > plan.budget_usd_million + 1e-9:
        problems.append(f"Budget: the minimum volumes alone cost {outlay:,.1f} USD million, more than budget_usd_million = "
                        f"{plan.budget_usd_million:,.1f}; raise the budget or lower the options' minimum_t")
    for build in options.builds:
        thorium = build.spec.minimum_t * build.thorium_per_t
        if build.spec.thorium_limit_t is not None and thorium > build.spec.thorium_limit_t:
            problems.append(f"Thorium-limit[{build.name}]: minimum_t {build.spec.minimum_t:,.0f} t REO brings "
                            f"{thorium:,.0f} t ThO2, above thorium_limit_t {build.spec.thorium_limit_t:,.0f}")
    for name, minimum, earliest in [*((b.name, b.spec.minimum_t, b.earliest_start) for b in options.builds),
                                    *((o.name, o.spec.minimum_t, o.earliest_start) for o in options.offtakes)]:
        if minimum > 0 and earliest > plan.horizon.end:
            problems.append(f"{name}: minimum_t > 0 but earliest start {earliest} is after the horizon end "
                            f"{plan.horizon.end}; start earlier or drop the minimum")
    for item in options.offtakes:
        if item.spec.minimum_t <= 0:
            continue
        years = [year for year in plan.horizon.years() if year >= item.earliest_start + item.spec.lead_time_years]
        need = options.need.sel(stage=item.spec.stage, period=[float(year) for year in years]).sum("element")
        allowed = plan.caps.partner * need
        short = [(year, float(value)) for year, value in zip(years, allowed.values, strict=True)
                 if value < item.spec.minimum_t - 1e-9]
        if short:
            year, value = short[0]
            problems.append(f"Partner-cap: {item.name}'s minimum_t {item.spec.minimum_t:,.0f} t/yr is above caps.partner "
                            f"= {plan.caps.partner:g} of {plan.importer}'s need at the {item.spec.stage} stage "
                            f"({value:,.1f} t/yr in {year}); lower the minimum or raise caps.partner")
    return problems


def best_signing(context: Context, restrictions: Restrictions) -> tuple[Outcome, list[dict[str, Any]]]:
    """The plan solved with every combination of technology partnerships signed; the best, and each one's objective."""
    names = [item.name for item in context.options.technology]
    if len(names) > 3:
        raise RaremapError(f"the plan lists {len(names)} technology partnerships; the planner tries every combination "
                           "of signing them, so give at most 3")
    tried = []
    best: Outcome | None = None
    for count in range(len(names) + 1):
        for chosen in itertools.combinations(names, count):
            outcome = solve_outcome(context, replace(restrictions, signed=frozenset(chosen)),
                                    "multi-vector")
            tried.append({"signed": ", ".join(chosen) or "(none)", "objective_usd_million": outcome.objective})
            if best is None or outcome.objective < best.objective - SMALL:
                best = outcome
    assert best is not None
    return best, tried


def frontier_weights(points: int) -> list[float]:
    """The lambdas of a K-point sweep: 0, then 0.25 times powers of four (0, 0.25, 1, 4, 16, ...)."""
    return ([0.0] + [0.25 * 4.0**index for index in range(max(points - 1, 0))])[:max(points, 0)]


def frontier(context: Context, chosen: Outcome, points: int) -> list[Outcome]:
    """The best plan for each risk weight of the sweep (the chosen plan's own weight reuses its solve)."""
    outcomes = []
    for weight in frontier_weights(points):
        if abs(weight - chosen.risk_weight) < 1e-12:
            outcomes.append(chosen)
            continue
        outcomes.append(solve_outcome(context, Restrictions(risk_weight=weight, signed=chosen.portfolio.signed),
                                      f"lambda {weight:g}"))
    return outcomes


def strategies(context: Context, chosen: Outcome) -> list[Outcome]:
    """Status quo, one new partner, the multi-vector plan and domestic only, on the same draws.

    The one partner is the partner the chosen plan contracts most from by value (t/yr x base-year
    price), uncapped and alone; if the plan contracts none, the partner whose offtakes are worth most.
    Domestic only is the plan without offtakes (caps limit only contracts, so the plan can never do
    worse than it on the objective).
    """
    options = context.options
    value: dict[str, float] = {}
    for item in options.offtakes:
        volume = float(chosen.portfolio.of(item.name).sum())
        price = float((item.mix * context.views.side.reference_price).sum())
        value[item.spec.partner] = value.get(item.spec.partner, 0.0) + volume * price
    if not any(amount > SMALL for amount in value.values()):
        value = {}
        for item in options.offtakes:
            price = float((item.mix * context.views.side.reference_price).sum())
            value[item.spec.partner] = value.get(item.spec.partner, 0.0) + item.spec.maximum_t * price
    partner = max(value, key=lambda name: value[name]) if value else None
    nothing: frozenset[str] = frozenset()
    cases = [
        ("status quo", Restrictions(offtakes=nothing, builds=nothing, stockpiles=nothing, caps=False, keep_at_home=())),
        (f"one partner ({partner})" if partner else "one partner (none offered)",
         Restrictions(offtakes=frozenset(item.name for item in options.offtakes if item.spec.partner == partner),
                      builds=nothing, stockpiles=nothing, caps=False, keep_at_home=())),
        ("domestic only", Restrictions(offtakes=nothing, signed=chosen.portfolio.signed)),
    ]
    outcomes = [solve_outcome(context, restrictions, name) for name, restrictions in cases]
    outcomes.insert(2, replace(chosen, name="multi-vector (the plan)"))
    return outcomes


@dataclass
class PlanRun:
    """Everything a plan run produced, ready to print, save and serialise (see raremap.plan.results)."""

    plan: Plan
    context: Context
    chosen: Outcome
    signings: list[dict[str, Any]]
    frontier: list[Outcome]
    strategies: list[Outcome]
    contributions: list[dict[str, Any]]
    out_of_sample: list[dict[str, Any]]
    dataset_version: str
    seconds: dict[str, float]

    def tables(self) -> dict[str, Any]:
        from raremap.plan.results import plan_tables

        return plan_tables(self)

    def to_json(self) -> dict[str, Any]:
        from raremap.plan.results import plan_summary

        return plan_summary(self)

    def save(self, path: Any) -> str:
        """Store the run in the DuckDB store; returns the run id."""
        from raremap.plan.results import save_plan_run

        return save_plan_run(self, path)


_STEPS = ("validate", "build", "solve", "collect")


class Planning:
    """One plan on one dataset, run step by step (validate, build, solve, collect), like a Simulation."""

    def __init__(self, plan: Plan, dataset: Any, scenarios: int | None = None, frontier_points: int = 5,
                 out_of_sample: int | None = None, progress: Progress | None = None):
        self.plan = plan
        self.dataset = dataset
        self.count = scenarios if scenarios is not None else plan.scenarios.count
        self.fresh_count = out_of_sample if out_of_sample is not None else plan.scenarios.out_of_sample_count
        self.frontier_points = frontier_points
        self.report: Progress = progress or (lambda fraction, message: None)
        self.seconds: dict[str, float] = {}
        self._done: set[str] = set()
        self.base: Scenario | None = None
        self.chain: SupplyChain | None = None
        self.options: Options | None = None
        self.draws: tuple[Draw, ...] = ()
        self.fresh: tuple[Draw, ...] = ()
        self.context: Context | None = None
        self.fresh_views: MarketViews | None = None
        self.results: dict[str, Any] = {}

    def _require(self, step: str) -> None:
        needed = _STEPS[_STEPS.index(step) - 1]
        if needed not in self._done:
            raise RaremapError(f"call {needed}() before {step}() (the steps are {', '.join(_STEPS)}, in order)")

    def validate(self) -> Planning:
        """Check the plan against the data; resolve its options; draw its scenarios."""
        started = time.perf_counter()
        self.report(0.02, "checking the plan and drawing its scenarios")
        check_against_dataset(self.plan, self.dataset, self.plan.name)
        self.base = plan_base_scenario(self.plan, self.dataset)
        self.chain = planning_chain(self.dataset, self.base, self.plan)
        self.options = resolve_options(self.plan, self.dataset, self.chain, controlling_exporters(self.plan))
        problems = budget_problems(self.plan, self.options)
        if problems:
            raise PlanInfeasibleError(f"plan {self.plan.name} is infeasible: " + "; ".join(problems))
        scenarios = self.plan.scenarios
        self.draws = plan_draws(self.plan, self.dataset, self.chain, self.base, self.options.builds, self.count,
                                scenarios.seed)
        self.fresh = plan_draws(self.plan, self.dataset, self.chain, self.base, self.options.builds, self.fresh_count,
                                scenarios.out_of_sample_seed)
        self.seconds["validate"] = time.perf_counter() - started
        self._done.add("validate")
        return self

    def build(self) -> Planning:
        """Solve the full engine for every draw: the terms the market offers the importer there."""
        self._require("build")
        assert self.chain is not None and self.options is not None
        views = market_views(self.chain, self.draws, self.plan.importer, self.plan.horizon.start, self.report, (0.05, 0.5))
        self.context = Context(self.plan, self.chain, self.options, views)
        if self.fresh:
            self.fresh_views = market_views(self.chain, self.fresh, self.plan.importer, self.plan.horizon.start,
                                            self.report, (0.5, 0.6))
        self.seconds["build"] = views.seconds + (self.fresh_views.seconds if self.fresh_views else 0.0)
        self._done.add("build")
        return self

    def solve(self) -> Planning:
        """The plan, its frontier, the strategies, each option's contribution and the out-of-sample check."""
        from raremap.plan.results import contributions, out_of_sample

        self._require("solve")
        assert self.context is not None
        started = time.perf_counter()
        self.report(0.6, "solving the plan")
        chosen, signings = best_signing(self.context, Restrictions())
        self.report(0.65, "sweeping the cost-risk frontier")
        sweep = frontier(self.context, chosen, self.frontier_points)
        self.report(0.72, "comparing strategies")
        compared = strategies(self.context, chosen)
        self.report(0.78, "measuring what each chosen option contributes")
        parts = contributions(self.context, chosen)
        self.report(0.85, "checking the plan out of sample in the simulator")
        checked = out_of_sample(self.context, chosen, self.fresh_views) if self.fresh_views is not None else []
        self.results = {"chosen": chosen, "signings": signings, "frontier": sweep, "strategies": compared,
                        "contributions": parts, "out_of_sample": checked}
        self.seconds["solve"] = time.perf_counter() - started
        self._done.add("solve")
        return self

    def collect(self) -> PlanRun:
        """The PlanRun, its tables checked against results.csv."""
        self._require("collect")
        assert self.context is not None
        self.report(0.97, "collecting the results")
        self.seconds["total"] = sum(self.seconds.values())
        run = PlanRun(self.plan, self.context, self.results["chosen"], self.results["signings"],
                      self.results["frontier"], self.results["strategies"], self.results["contributions"],
                      self.results["out_of_sample"], str(getattr(self.dataset, "version", "")), dict(self.seconds))
        run.tables()
        self._done.add("collect")
        return run

    def run(self) -> PlanRun:
        return self.validate().build().solve().collect()


def run_plan(dataset: Any, plan: Plan, scenarios: int | None = None, frontier_points: int = 5,
             progress: Progress | None = None, out_of_sample: int | None = None) -> PlanRun:
    """Validate, build, solve and collect a plan in one call (what `raremap plan` runs)."""
    return Planning(plan, dataset, scenarios, frontier_points, out_of_sample, progress).run()


def first_year_need(context: Context, stage: str) -> float:
    """The importer's need at a stage in the horizon's first year (t/yr), the scale of materiality."""
    if stage == "mining":
        return float(context.options.need.sel(stage="separation", period=float(context.plan.horizon.start)).sum())
    return float(context.options.need.sel(stage=stage, period=float(context.plan.horizon.start)).sum())

