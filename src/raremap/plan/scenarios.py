"""The planner's scenarios: draws of the risk engine's sampler, each written as a Scenario.

A draw of a risk file (``raremap.risk.sampling.draw_pattern``: correlated capacity losses per country x
stage, a share of the controlling exporter's exports withheld, a demand level) becomes the plan's base
scenario plus the draw's disruptions (as drawn, year by year) and export controls (licences for
``1 - cut`` of what each destination would have bought, the `approval_share` form, in the years
drawn), so the planner and the risk engine see the same draws and the market applies them with
``scenario_market`` like any scenario. The demand level scales every buyer's demand from the
horizon on (scenarios have no demand multiplier). Domestic lead-time slips are drawn by the planner
from a stream of its own.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from raremap.model.supply_chain import SupplyChain
from raremap.plan.options import ResolvedBuild
from raremap.plan.spec import Plan
from raremap.risk.loading import load_risk_model
from raremap.risk.resolve import ResolvedRisk, resolve
from raremap.risk.sampling import Pattern, draw_pattern
from raremap.scenario.loading import load_scenario, override
from raremap.scenario.spec import ALL, Disruption, ExportControl, Scenario

DELAY_STREAM = 7_919
"""Extra key of the generator for lead-time slips, so slips never reuse the risk engine's streams."""


@dataclass(frozen=True)
class Draw:
    """One scenario of the planner: a risk-engine draw as a Scenario, its demand level and build slips."""

    name: str
    scenario: Scenario
    demand_level: float = 1.0
    slips: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """The draw in words: what is lost, where, when; controls; demand."""
        parts = [f"{item.country} {item.stage} -{item.share_lost:.0%} {item.start}-{item.start + item.duration_years - 1}"
                 for item in self.scenario.disruptions]
        parts += [f"{item.exporter} withholds {1 - (item.approval_share or 0):.0%} of {'/'.join(item.stages)} exports "
                  f"{item.start.year}-{item.end.year - 1 if item.end else ''}" for item in self.scenario.export_controls]
        if abs(self.demand_level - 1.0) > 1e-9:
            parts.append(f"demand x{self.demand_level:g}")
        parts += [f"{name} {years} yr late" for name, years in self.slips.items() if years]
        return "; ".join(parts) or "undisrupted"


def plan_base_scenario(plan: Plan, dataset: Any) -> Scenario:
    """The plan's base scenario in whole years from its base year to the horizon's end, for the importer."""
    base = load_scenario(plan.base_scenario, dataset)
    periods = {"start": base.periods.start, "end": plan.horizon.end, "length": 1, "sub_annual": None}
    return override(base, {"importer": plan.importer, "periods": periods})


def risk_for_plan(plan: Plan, dataset: Any, chain: SupplyChain, base: Scenario, count: int, seed: int) -> ResolvedRisk:
    """The plan's risk file resolved on the plan's chain, disrupting the plan's horizon (the risk engine's own
    resolution: processes, probabilities, correlations)."""
    periods = {"start": base.periods.start, "end": plan.horizon.end, "length": 1}
    model, label = load_risk_model(plan.scenarios.risk_file, draws=count, seed=seed, periods=periods,
                                   horizon_start=plan.horizon.start, importer=plan.importer)
    return resolve(model, dataset, chain, base, label)


def at_demand_level(chain: SupplyChain, level: float, horizon_start: float) -> SupplyChain:
    """The chain with every buyer's demand times `level` from the horizon's start on (as the risk engine does)."""
    if level == 1.0:
        return chain
    later = chain.data["period"] >= horizon_start - 1e-9
    return chain.replace(demand=chain["demand"] * xr.where(later, level, 1.0))


def _runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """(first, last, value) of each run of equal nonzero values."""
    runs: list[tuple[int, int, int]] = []
    for index, value in enumerate(values.tolist()):
        if value and runs and runs[-1][2] == value and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index, value)
        elif value:
            runs.append((index, index, value))
    return runs


def scenario_of_draw(base: Scenario, risk: ResolvedRisk, pattern: Pattern) -> Scenario:
    """The base scenario with one draw's disruptions and export controls (the draw's years, as drawn).

    It keeps the base scenario's name, so every draw's unshocked twin is the same scenario and the
    market solves it once (``scenario_market`` caches twins by their content).
    """
    step = risk.model.severity_step
    years = [int(period) for period in risk.periods]
    disruptions = [
        Disruption(country=process.country, stage=process.stage, share_lost=min(steps * step, 1.0),  # type: ignore[arg-type]
                   start=years[first], duration_years=last - first + 1)
        for process, row in zip(risk.processes, pattern.capacity_steps, strict=True)
        for first, last, steps in _runs(row)
    ]
    settings = risk.model.export_control
    controls = [
        ExportControl(exporter=settings.exporter, stages=settings.stages, elements=settings.elements or (ALL,),
                      destinations=settings.destinations, start=datetime.date(years[first], 1, 1),
                      end=datetime.date(years[last] + 1, 1, 1), form="approval_share",
                      approval_share=max(1.0 - steps * step, 0.0))
        for first, last, steps in _runs(pattern.control_steps)
    ] if settings.enabled else []
    return base.model_copy(update={"disruptions": (*base.disruptions, *disruptions),
                                   "export_controls": (*base.export_controls, *controls)})


def draw_slips(builds: Sequence[ResolvedBuild], count: int, seed: int) -> list[dict[str, int]]:
    """Lead-time slips in whole years per draw and build: slip with its probability, 1..maximum years."""
    generator = np.random.default_rng([seed, DELAY_STREAM])
    slips: list[dict[str, int]] = [{} for _ in range(count)]
    for build in builds:
        happens = generator.random(count) < build.delay_probability
        years = generator.integers(1, max(build.delay_years_max, 1) + 1, size=count)
        for index in range(count):
            slips[index][build.name] = int(years[index]) if happens[index] and build.delay_years_max > 0 else 0
    return slips


def plan_draws(plan: Plan, dataset: Any, chain: SupplyChain, base: Scenario, builds: Sequence[ResolvedBuild],
               count: int, seed: int) -> tuple[Draw, ...]:
    """Draws 0..count-1 of the plan's risk file with `seed`, as the planner's scenarios (equal weights)."""
    if count == 0:
        return ()
    risk = risk_for_plan(plan, dataset, chain, base, count, seed)
    slips = draw_slips(builds, count, seed)
    levels = risk.model.demand.levels
    draws = []
    for index in range(count):
        pattern = draw_pattern(risk, index)
        name = f"draw {index}" if seed == plan.scenarios.seed else f"draw {index} (seed {seed})"
        draws.append(Draw(name, scenario_of_draw(base, risk, pattern), float(levels[pattern.demand_level]),
                          slips[index]))
    return tuple(draws)


def controlling_exporters(plan: Plan) -> set[str]:
    """The exporter whose controls the plan's risk file draws (none if it draws none)."""
    model, _ = load_risk_model(plan.scenarios.risk_file)
    return {model.export_control.exporter} if model.export_control.enabled else set()
