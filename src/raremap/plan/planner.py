"""Planning: resolve, sample, build, solve and collect; the frontier, four strategies and out-of-sample figures.

``run_plan(dataset, plan)`` does everything the CLI prints. Each step is a function of its own so tests can
solve tiny hand-made plans (``solve_plan`` on ``PlanInputs`` and ``PlanScenarios``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import linopy
import numpy as np
import pandas as pd
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.quiet import quiet_stdout
from raremap.plan.inputs import PlanInputs, baseline_for_dataset, plan_inputs
from raremap.plan.model import (
    KILOGRAMS_PER_TONNE,
    Arrays,
    Restrictions,
    build_plan_model,
    capital_outlay,
    commitment_cost,
    operating_cost,
    partner_supply,
    shortfall_cost,
    stage_supply,
)
from raremap.plan.scenarios import PlanScenarios, sample_scenarios
from raremap.plan.spec import Plan
from raremap.vocabulary import STAGES

FIRST_STAGE = ("Contract", "Build", "Assisted", "Signed", "Stock")
SMALL = 1e-6


class PlanInfeasibleError(RaremapError):
    """The plan's constraints cannot all hold; the message names the one that cannot be met."""


@dataclass
class Solved:
    """One solved planning LP: its first-stage values, costs, shortfall per scenario and shares."""

    inputs: PlanInputs
    scenarios: PlanScenarios
    model: linopy.Model
    arrays: Arrays
    build_seconds: float
    solve_seconds: float
    risk_weight: float
    first_stage: dict[str, xr.DataArray] = field(default_factory=dict)

    def value(self, expression: Any) -> Any:
        return expression.solution if hasattr(expression, "solution") else expression

    @property
    def scenario_shortfall_t(self) -> np.ndarray:
        return np.asarray(self.model.variables["Shortfall"].solution.sum(["stage", "period"]).values)

    @property
    def expected_shortfall_t(self) -> float:
        return float(np.dot(self.scenarios.weight, self.scenario_shortfall_t))

    @property
    def cvar_shortfall_t(self) -> float:
        return weighted_cvar(self.scenario_shortfall_t, self.scenarios.weight, self.inputs.plan.risk.alpha)

    def cost_breakdown(self) -> dict[str, float]:
        """Expected cost in USD million by part (discounted money; shortfall valued, undiscounted)."""
        weight = self.scenarios.weight
        operating = _evaluate(operating_cost(self.model, self.arrays))
        shortfall = _evaluate(shortfall_cost(self.model, self.arrays, self.inputs.shortfall_value_usd_per_kg))
        return {
            "commitments_usd_million": float(_evaluate(commitment_cost(self.model, self.arrays))),
            "operation_usd_million": float(np.dot(weight, operating)),
            "shortfall_value_usd_million": float(np.dot(weight, shortfall)),
            "capital_outlay_usd_million": float(_evaluate(capital_outlay(self.model, self.arrays))),
        }

    @property
    def cost(self) -> float:
        """Expected cost (USD million): commitments + operation + valued shortfall (the objective without CVaR)."""
        parts = self.cost_breakdown()
        return parts["commitments_usd_million"] + parts["operation_usd_million"] + parts["shortfall_value_usd_million"]


def _evaluate(expression: linopy.LinearExpression) -> Any:
    values = expression.solution
    return np.asarray(values.values) if values.ndim else float(values)


def weighted_cvar(losses: np.ndarray, weights: np.ndarray, alpha: float) -> float:
    """CVaR_alpha of a discrete distribution: the mean of the worst (1 - alpha) probability mass."""
    order = np.argsort(-losses)
    tail = 1.0 - alpha
    taken, total = 0.0, 0.0
    for index in order:
        mass = min(float(weights[index]), tail - taken)
        if mass <= 0:
            break
        total += mass * float(losses[index])
        taken += mass
    return total / tail if tail > 0 else float(losses.max())


def _status(model: linopy.Model) -> tuple[str, str]:
    with quiet_stdout():
        status, condition = model.solve(solver_name="highs", io_api="direct", progress=False, output_flag=False)
    return str(status), str(condition)


def budget_problems(inputs: PlanInputs) -> list[str]:
    """A structured pre-check: what the plan's minimums commit before any choice, against the budget."""
    plan = inputs.plan
    problems = []
    outlay = sum(b.capex_usd_per_tpa * b.spec.minimum_t * (1 - b.capex_cut) for b in inputs.builds) / 1e6
    outlay += sum(o.spec.capex_usd_per_tpa * o.spec.minimum_t for o in inputs.offtakes) / 1e6
    outlay += sum(s.minimum_t * price for s, price in zip(plan.stockpiles, inputs.stockpile_prices, strict=True)) / 1e3
    if outlay > plan.budget_usd_million + 1e-9:
        problems.append(
            f"Budget: the minimum volumes alone cost {outlay:,.1f} USD million, more than budget_usd_million = "
            f"{plan.budget_usd_million:,.1f}; raise the budget or lower the options' minimum_t")
    for build in inputs.builds:
        thorium = build.spec.minimum_t * inputs.conversions.thorium_per_reo
        if build.spec.stage == "mining" and build.spec.thorium_limit_t is not None and thorium > build.spec.thorium_limit_t:
            problems.append(f"Thorium-limit[{build.spec.name}]: minimum_t {build.spec.minimum_t:,.0f} t REO brings "
                            f"{thorium:,.0f} t ThO2, above thorium_limit_t {build.spec.thorium_limit_t:,.0f}")
    options: list[tuple[str, float, int]] = [
        *((build.spec.name, build.spec.minimum_t, build.earliest_start) for build in inputs.builds),
        *((offtake.spec.name, offtake.spec.minimum_t, offtake.earliest_start) for offtake in inputs.offtakes)]
    for name, minimum, earliest in options:
        if minimum > 0 and earliest > inputs.periods[-1]:
            problems.append(f"{name}: minimum_t > 0 but earliest start {earliest} is after the "
                            f"horizon end {inputs.periods[-1]}; start earlier or drop the minimum")
    return problems


def solve_plan(inputs: PlanInputs, scenarios: PlanScenarios, restrictions: Restrictions | None = None) -> Solved:
    """Build and solve the extensive form; a clear error naming the constraint if it cannot hold."""
    restrictions = restrictions or Restrictions()
    if not restrictions.fixed:
        problems = budget_problems(inputs) if restrictions.budget else []
        if problems:
            raise PlanInfeasibleError(f"plan {inputs.plan.name} is infeasible: " + "; ".join(problems))
    started = time.perf_counter()
    model, arrays = build_plan_model(inputs, scenarios, restrictions)
    built = time.perf_counter()
    status, condition = _status(model)
    solved = time.perf_counter()
    if status != "ok":
        raise PlanInfeasibleError(_diagnose(inputs, scenarios, restrictions, condition))
    weight = inputs.plan.risk.weight if restrictions.risk_weight is None else restrictions.risk_weight
    first = {name: model.variables[name].solution.copy() for name in FIRST_STAGE}
    return Solved(inputs, scenarios, model, arrays, built - started, solved - built, weight, first)


def _diagnose(inputs: PlanInputs, scenarios: PlanScenarios, restrictions: Restrictions, condition: str) -> str:
    """Which family of constraints makes the LP infeasible: re-solve without the budget to test it."""
    if restrictions.budget:
        model, _ = build_plan_model(inputs, scenarios, replace(restrictions, budget=False))
        status, _ = _status(model)
        if status == "ok":
            return (f"plan {inputs.plan.name} is infeasible: the Budget constraint (budget_usd_million = "
                    f"{inputs.plan.budget_usd_million:,.1f}) cannot be met together with the options' minimums; "
                    "raise the budget or lower minimum_t")
    return (f"plan {inputs.plan.name} is infeasible ({condition}): the options' minimums, thorium limits or fixed "
            "first-stage values cannot all hold; lower the minimums or raise the limits")


def chosen_options(solved: Solved) -> list[dict[str, Any]]:
    """Every option with a positive volume: name, kind, partner, stage, elements, volume (t/yr), start year."""
    rows: list[dict[str, Any]] = []
    contract = solved.first_stage["Contract"]
    for item in solved.inputs.offtakes:
        values = contract.sel(option=item.spec.name)
        rows += _option_row(item.spec.name, item.spec.kind, item.spec.partner, item.spec.stage,
                            list(item.spec.elements), values)
    built = solved.first_stage["Build"] + solved.first_stage["Assisted"]
    for build in solved.inputs.builds:
        values = built.sel(unit=build.spec.name)
        rows += _option_row(build.spec.name, "domestic", None, build.spec.stage, [], values)
    for name, value in zip(solved.arrays.coords["technology"], solved.first_stage["Signed"].values, strict=True):
        if value > SMALL:
            partner = next(item.partner for item in solved.inputs.plan.technology if item.name == name)
            rows.append({"name": name, "kind": "technology", "partner": partner, "stage": None, "elements": [],
                         "volume_t": None, "start": solved.inputs.periods[0], "signed_share": float(value)})
    for stock, value in zip(solved.inputs.plan.stockpiles, solved.first_stage["Stock"].values, strict=True):
        if value > SMALL:
            rows.append({"name": f"stockpile-{stock.element}-{stock.stage}", "kind": "stockpile", "partner": None,
                         "stage": stock.stage, "elements": [stock.element], "volume_t": float(value),
                         "start": solved.inputs.periods[0]})
    return rows


def _option_row(name: str, kind: str, partner: str | None, stage: str, elements: list[str],
                values: xr.DataArray) -> list[dict[str, Any]]:
    volume = float(values.sum())
    if volume <= SMALL:
        return []
    start = int(values["start"].values[np.argmax(values.values > SMALL)])
    return [{"name": name, "kind": kind, "partner": partner, "stage": stage, "elements": elements,
             "volume_t": volume, "start": start}]


def sourcing_shares(solved: Solved) -> pd.DataFrame:
    """Expected share of each partner in the importer's supply per stage and period (and the worst scenario)."""
    supply = stage_supply(solved.model, solved.arrays).solution
    by_partner = partner_supply(solved.model, solved.arrays).solution
    share = (by_partner / supply.where(supply > SMALL)).fillna(0.0)
    weight = solved.arrays["weight"]
    frame = xr.Dataset({"expected_share": (share * weight).sum("scenario"), "max_share": share.max("scenario")})
    table = frame.to_dataframe().reset_index()
    return table[table["max_share"] > SMALL].reset_index(drop=True)


def max_partner_share(solved: Solved) -> dict[str, float]:
    """Largest share of one partner per stage over scenarios, in the periods where the caps bind."""
    shares = sourcing_shares(solved)
    shares = shares[shares["period"] >= solved.inputs.caps_from_year]
    return {stage: float(shares[shares["stage"] == stage]["max_share"].max())
            for stage in STAGES if (shares["stage"] == stage).any()}


def thorium_and_waste(solved: Solved) -> pd.DataFrame:
    """Expected ThO2 and non-REO residue of new monazite mining per period (t), from deposits.csv shares."""
    production = solved.model.variables["Production"].solution
    mining = [build.spec.name for build in solved.inputs.builds if build.spec.stage == "mining"]
    if not mining:
        return pd.DataFrame(columns=["period", "reo_t", "tho2_t", "waste_t"])
    reo = (production.sel(unit=mining).sum("unit") * solved.arrays["weight"]).sum("scenario")
    conversions = solved.inputs.conversions
    frame = pd.DataFrame({"period": solved.inputs.periods, "reo_t": reo.values})
    frame["tho2_t"] = frame["reo_t"] * conversions.thorium_per_reo
    frame["waste_t"] = frame["reo_t"] * conversions.waste_per_reo
    return frame


def plant_economics(solved: Solved) -> pd.DataFrame:
    """NPV and payback of each domestic build at the scenario prices (duals of Stage-balance).

    A tonne of the plant's output earns the dual of its stage's balance and pays the dual of its input
    stage (and its opex); duals are already probability-weighted and discounted, so summing over
    scenarios and periods gives the expected present value. Units: the duals of a minimisation's `>=`
    balance are non-negative, in USD million per tonne (the objective's unit); opex is USD per kg, so
    it is divided by 1,000 to be USD million per tonne too (an earlier version scaled the duals down
    by 1,000 instead, which made every NPV about minus the capex minus the opex).
    """
    dual = solved.model.constraints["Stage-balance"].dual
    production = solved.model.variables["Production"].solution
    arrays = solved.arrays
    value = (dual * arrays["unit_output"]).sum("stage") - (dual * arrays["unit_input"]).sum("stage")
    opex = arrays["unit_opex"] * arrays["weight"] * arrays["discount"] / KILOGRAMS_PER_TONNE
    margin = ((value - opex) * production).sum("scenario")
    built = solved.first_stage["Build"] * arrays["build_capex"] + solved.first_stage["Assisted"] * arrays["assisted_capex"]
    capex = (built * arrays["discount_start"] / 1e6).rename(start="period")
    rows = []
    for build in solved.inputs.builds:
        name = build.spec.name
        flows = margin.sel(unit=name).values - capex.sel(unit=name).values
        cumulative = np.cumsum(flows)
        invested = float(capex.sel(unit=name).sum())
        spent = np.flatnonzero(cumulative < -SMALL)
        after = [] if invested <= 0 or spent.size == 0 else [
            year for position, (year, total) in enumerate(zip(solved.inputs.periods, cumulative, strict=True))
            if position > spent[0] and total >= 0]
        paid = after
        rows.append({"name": name, "stage": build.spec.stage, "capex_usd_million": invested,
                     "npv_usd_million": float(cumulative[-1]), "payback_year": paid[0] if paid else None})
    return pd.DataFrame(rows, columns=["name", "stage", "capex_usd_million", "npv_usd_million", "payback_year"])


def out_of_sample(solved: Solved, scenarios: PlanScenarios) -> Solved:
    """The chosen commitments, fixed, operated on fresh scenarios (second stage only)."""
    fixed = {name: value for name, value in solved.first_stage.items()}
    restrictions = Restrictions(risk_weight=solved.risk_weight, fixed=fixed)
    return solve_plan(solved.inputs, scenarios, restrictions)


def frontier_weights(points: int) -> list[float]:
    """The lambdas of a K-point sweep: 0, then 0.25 times powers of four (0, 0.25, 1, 4, 16, ...)."""
    return ([0.0] + [0.25 * 4.0**index for index in range(max(points - 1, 0))])[:max(points, 0)]


def frontier(inputs: PlanInputs, scenarios: PlanScenarios, points: int,
             chosen: Solved | None = None) -> list[dict[str, float]]:
    """Cost against CVaR of shortfall from a sweep of lambda (``frontier_weights``).

    The point at the chosen plan's own lambda (1 in the default plan) reuses that solve.
    """
    rows = []
    for weight in frontier_weights(points):
        if chosen is not None and chosen.scenarios is scenarios and abs(chosen.risk_weight - weight) < 1e-12:
            solved = chosen
        else:
            solved = solve_plan(inputs, scenarios, Restrictions(risk_weight=weight))
        rows.append({"lambda": weight, "cost": solved.cost, "cvar_shortfall_t": solved.cvar_shortfall_t})
    return rows


def strategies(inputs: PlanInputs, scenarios: PlanScenarios, chosen: Solved) -> list[dict[str, Any]]:
    """Status quo, one new partner, the multi-vector plan and domestic only, on the same scenarios.

    The one new partner is the one the chosen plan contracts most from by value a year at market prices
    (tonnes of different stages' products are not comparable; their value is), uncapped and alone; if
    the plan contracts nothing, the partner whose candidate offtakes are worth most.
    """
    contracted = chosen.first_stage["Contract"].sum("start")
    partner_volume: dict[str, float] = {}
    for item in inputs.offtakes:
        value = float(contracted.sel(option=item.spec.name)) * item.price_usd_per_kg
        partner_volume[item.spec.partner] = partner_volume.get(item.spec.partner, 0.0) + value
    if not any(value > SMALL for value in partner_volume.values()):
        partner_volume = {}
        for item in inputs.offtakes:
            value = item.spec.maximum_t * item.price_usd_per_kg
            partner_volume[item.spec.partner] = partner_volume.get(item.spec.partner, 0.0) + value
    largest = max(partner_volume, key=lambda partner: partner_volume[partner]) if partner_volume else None
    concentrated = frozenset(item.spec.name for item in inputs.offtakes if item.spec.partner == largest)
    cases = {
        "status quo": Restrictions(offtakes=frozenset(), builds=frozenset(), stockpiles=False, technology=False,
                                   caps=False),
        f"concentrated ({largest})": Restrictions(offtakes=concentrated, builds=frozenset(), stockpiles=False,
                                                  technology=False, caps=False),
        "domestic only": Restrictions(offtakes=frozenset(), caps=False),
    }
    rows = []
    for name, restrictions in cases.items():
        solved = solve_plan(inputs, scenarios, restrictions)
        rows.append(_strategy_row(name, solved))
    rows.insert(2, _strategy_row("multi-vector", chosen))
    return rows


def _strategy_row(name: str, solved: Solved) -> dict[str, Any]:
    return {"name": name, "cost": solved.cost, "expected_shortfall_t": solved.expected_shortfall_t,
            "cvar_shortfall_t": solved.cvar_shortfall_t}


@dataclass
class PlanRun:
    """Everything a plan run produced, ready to print, save and serialise."""

    plan: Plan
    solved: Solved
    out_of_sample: Solved
    frontier: list[dict[str, float]]
    strategies: list[dict[str, Any]]
    dataset_version: str
    seconds: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """The `raremap plan --json` payload (exactly these keys)."""
        return {
            "options": [{key: row[key] for key in ("name", "kind", "partner", "stage", "elements", "volume_t", "start")}
                        for row in chosen_options(self.solved)],
            "cost": self.solved.cost,
            "expected_shortfall_t": self.solved.expected_shortfall_t,
            "cvar_shortfall_t": self.solved.cvar_shortfall_t,
            "out_of_sample": {"expected_shortfall_t": self.out_of_sample.expected_shortfall_t,
                              "cvar_shortfall_t": self.out_of_sample.cvar_shortfall_t},
            "max_partner_share": max_partner_share(self.solved),
            "frontier": self.frontier,
            "strategies": self.strategies,
        }

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tidy result tables: options, shares, thorium, plant economics, costs, frontier, strategies, sources."""
        costs = pd.DataFrame([{"part": key, "usd_million": value} for key, value in self.solved.cost_breakdown().items()])
        return {
            "options": pd.DataFrame(chosen_options(self.solved)),
            "sourcing_shares": sourcing_shares(self.solved),
            "thorium": thorium_and_waste(self.solved),
            "plant_economics": plant_economics(self.solved),
            "costs": costs,
            "frontier": pd.DataFrame(self.frontier),
            "strategies": pd.DataFrame(self.strategies),
            "provenance": pd.DataFrame(self.solved.inputs.provenance),
        }

    def save(self, path: str | Path) -> str:
        """Store the run in the DuckDB store; returns the run id."""
        from raremap.data import store

        run_id = f"plan-{self.plan.name}-{uuid.uuid4().hex[:12]}"
        summary = {**self.to_json(), "seconds": self.seconds, "scenarios": self.solved.scenarios.count,
                   "draws": self.solved.scenarios.draws, "scenario_source": self.solved.scenarios.source}
        store.save_run(path, run_id=run_id, kind="plan", name=self.plan.name, dataset_version=self.dataset_version,
                       specification=self.plan.model_dump(mode="json", by_alias=True), summary=summary,
                       results=self.tables())
        return run_id


def run_plan(dataset: Any, plan: Plan, scenarios: int | None = None, frontier_points: int = 5,
             progress: Callable[[float, str], None] | None = None) -> PlanRun:
    """Resolve the plan, draw in- and out-of-sample scenarios, solve, sweep lambda and compare strategies.

    `progress(fraction, message)`, when given, is told before each step (the web server's jobs use it).
    """
    report = progress or (lambda fraction, message: None)
    started = time.perf_counter()
    report(0.05, "resolving the plan and drawing scenarios")
    baseline = baseline_for_dataset(dataset, plan)
    inputs = plan_inputs(plan, baseline, dataset)
    count = scenarios or plan.scenarios.count
    builds = list(inputs.builds)
    sample = sample_scenarios(plan, dataset, baseline.chain, builds, count, plan.scenarios.seed)
    fresh = sample_scenarios(plan, dataset, baseline.chain, builds, plan.scenarios.out_of_sample_count or count,
                             plan.scenarios.out_of_sample_seed)
    prepared = time.perf_counter()
    report(0.35, "building and solving the plan")
    solved = solve_plan(inputs, sample)
    report(0.5, "checking the plan out of sample")
    evaluated = out_of_sample(solved, fresh)
    report(0.6, "sweeping the cost-risk frontier")
    sweep = frontier(inputs, sample, frontier_points, solved)
    report(0.8, "comparing strategies")
    compared = strategies(inputs, sample, solved)
    seconds = {"prepare": prepared - started, "build": solved.build_seconds, "solve": solved.solve_seconds,
               "total": time.perf_counter() - started}
    return PlanRun(plan, solved, evaluated, sweep, compared, str(getattr(dataset, "version", "")), seconds)
