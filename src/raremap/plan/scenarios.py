"""The planner's scenarios: capacity lost per country x stage, export-control cuts, demand and build delays.

Disruptions come from the risk engine's sampler (``raremap.risk.sampling.draw_pattern``: correlated,
keyed by seed and draw, so the planner sees exactly the risk engine's draws). If the risk engine
cannot be imported, a documented sampler of the planner's own is used instead (independent one-year
losses; docs/plan.md). Domestic lead-time slips are drawn by the planner from its own stream.
Identical scenarios are merged, their weights added, so the LP carries each distinct case once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from raremap.model.supply_chain import SupplyChain
from raremap.plan import assumptions
from raremap.plan.spec import Plan
from raremap.vocabulary import STAGES

DELAY_STREAM = 7_919
"""Extra key of the generator for lead-time slips, so slips never reuse the disruption streams."""


@dataclass(frozen=True)
class PlanScenarios:
    """Scenario data: `loss[s, k, t]` for the processes `processes` ("CHN/magnet"), `control_cut[s, t]` on
    `control_exporter`'s exports at `control_stages`, `demand_level[s]`, `delay_years[s, b]` per build,
    and `weight[s]` (probabilities summing to one)."""

    processes: tuple[str, ...]
    loss: np.ndarray
    control_exporter: str
    control_stages: tuple[str, ...]
    control_cut: np.ndarray
    demand_level: np.ndarray
    delay_years: np.ndarray
    weight: np.ndarray
    draws: int
    source: str

    @property
    def count(self) -> int:
        return int(self.weight.size)

    def loss_of(self, country: str, stage: str) -> np.ndarray:
        """Capacity share lost by country x stage, per scenario and period (zero if not a process)."""
        name = f"{country}/{stage}"
        if name in self.processes:
            return self.loss[:, self.processes.index(name), :]
        return np.zeros((self.count, self.loss.shape[2]))

    def merged(self) -> PlanScenarios:
        """Identical scenarios merged into one with the summed weight (order of first appearance)."""
        keys = [
            self.loss[index].tobytes() + self.control_cut[index].tobytes()
            + self.demand_level[index].tobytes() + self.delay_years[index].tobytes()
            for index in range(self.count)
        ]
        first: dict[bytes, int] = {}
        weights: dict[bytes, float] = {}
        for index, key in enumerate(keys):
            first.setdefault(key, index)
            weights[key] = weights.get(key, 0.0) + float(self.weight[index])
        chosen = np.array(list(first.values()), dtype=int)
        return PlanScenarios(
            self.processes, self.loss[chosen], self.control_exporter, self.control_stages, self.control_cut[chosen],
            self.demand_level[chosen], self.delay_years[chosen], np.array(list(weights.values())), self.draws,
            self.source,
        )


def draw_delays(plan: Plan, build_stages: list[str], probabilities: list[float], maxima: list[int], count: int,
                seed: int) -> np.ndarray:
    """Lead-time slips in whole years per scenario and build: slip with its probability, 1..maximum years."""
    generator = np.random.default_rng([seed, DELAY_STREAM])
    delays = np.zeros((count, len(build_stages)), dtype=np.int64)
    for column, (probability, maximum) in enumerate(zip(probabilities, maxima, strict=True)):
        slips = generator.random(count) < probability
        years = generator.integers(1, max(maximum, 1) + 1, size=count)
        delays[:, column] = np.where(slips & (maximum > 0), years, 0)
    return delays


def from_risk_engine(plan: Plan, dataset: Any, count: int, seed: int) -> tuple[PlanScenarios, np.ndarray]:
    """Draws 0..count-1 of the plan's risk file with `seed`, over the plan's horizon and importer."""
    from raremap.risk.loading import load_risk_model
    from raremap.risk.resolve import resolve, scenario_for
    from raremap.risk.sampling import draw_pattern
    from raremap.risk.worker import scenario_chain

    periods = plan.horizon.periods().model_dump()
    model, label = load_risk_model(plan.scenarios.risk_file, draws=count, seed=seed, periods=periods,
                                   importer=plan.importer)
    scenario = scenario_for(model, dataset)
    risk = resolve(model, dataset, scenario_chain(scenario, dataset), scenario, label)
    patterns = [draw_pattern(risk, draw) for draw in range(count)]
    step = model.severity_step
    loss = np.stack([pattern.capacity_steps.astype(float) * step for pattern in patterns])
    cut = np.stack([pattern.control_steps.astype(float) * step for pattern in patterns])
    levels = np.asarray(model.demand.levels)[[pattern.demand_level for pattern in patterns]]
    control = model.export_control
    stages = tuple(control.stages) if control.enabled else ()
    names = tuple(process.name for process in risk.processes)
    empty = np.zeros((count, 0), dtype=np.int64)
    scenarios = PlanScenarios(names, np.clip(loss, 0, 1), control.exporter, stages, np.clip(cut, 0, 1), levels,
                              empty, np.full(count, 1.0 / count), count, f"risk engine ({label}, seed {seed})")
    return scenarios, levels


def own_sampler(chain: SupplyChain, count: int, seed: int) -> PlanScenarios:
    """Independent one-year losses at every country x stage with 1 % of world capacity (no risk engine)."""
    generator = np.random.default_rng([seed, 0])
    capacity = chain["capacity"].isel(period=0)
    names = []
    for stage in STAGES:
        total = float(capacity.sel(stage=stage).sum())
        names += [f"{country}/{stage}" for country in chain.countries
                  if total > 0 and float(capacity.sel(stage=stage, country=country)) / total >= 0.01]
    periods = len(chain.periods)
    hits = generator.random((count, len(names), periods)) < assumptions.FALLBACK_DISRUPTION_PROBABILITY
    severities = np.asarray(assumptions.FALLBACK_SEVERITIES)[
        generator.integers(0, len(assumptions.FALLBACK_SEVERITIES), size=(count, len(names), periods))]
    loss = np.where(hits, severities, 0.0)
    return PlanScenarios(tuple(names), loss, "", (), np.zeros((count, periods)), np.ones(count),
                         np.zeros((count, 0), dtype=np.int64), np.full(count, 1.0 / count), count,
                         f"planner's own sampler (seed {seed})")


def with_delays(scenarios: PlanScenarios, delays: np.ndarray) -> PlanScenarios:
    return PlanScenarios(scenarios.processes, scenarios.loss, scenarios.control_exporter, scenarios.control_stages,
                         scenarios.control_cut, scenarios.demand_level, delays, scenarios.weight, scenarios.draws,
                         scenarios.source)


def sample_scenarios(plan: Plan, dataset: Any, chain: SupplyChain, builds: list[Any], count: int,
                     seed: int) -> PlanScenarios:
    """`count` scenarios with `seed`: the risk engine's draws (or the own sampler) plus build slips, merged."""
    try:
        scenarios, _ = from_risk_engine(plan, dataset, count, seed)
    except ImportError:
        scenarios = own_sampler(chain, count, seed)
    delays = draw_delays(plan, [build.spec.stage for build in builds], [build.delay_probability for build in builds],
                         [build.delay_years_max for build in builds], count, seed)
    return with_delays(scenarios, delays).merged()


def fixed_scenarios(processes: tuple[str, ...], loss: np.ndarray, builds: int = 0,
                    weight: np.ndarray | None = None) -> PlanScenarios:
    """Scenarios given by hand: losses only, no export control, demand as in the baseline, no slips."""
    count, periods = loss.shape[0], loss.shape[2]
    weights = np.full(count, 1.0 / count) if weight is None else np.asarray(weight, dtype=float)
    return PlanScenarios(processes, loss, "", (), np.zeros((count, periods)), np.ones(count),
                         np.zeros((count, builds), dtype=np.int64), weights, count, "given")
