"""Benchmark: the default plan's extensive form at 500 scenarios; prints JSON with build and solve times.

Also reports (does not assert) the importer's undisrupted shortfall from the full simulator's baseline and
from the planner's reduction (status quo, no losses), which should agree. Last run (2026-11-25, 2 shared
cores): 500 distinct scenarios, 236k variables, 363k constraints, build 5.7 s, solve 73.8 s, share 0.072.
"""

from __future__ import annotations

import json
import time

import numpy as np

import raremap
from raremap.plan.inputs import baseline_for_dataset, plan_inputs
from raremap.plan.loading import load_plan
from raremap.plan.planner import solve_plan
from raremap.plan.scenarios import sample_scenarios

SCENARIOS = 500


def main() -> None:
    dataset = raremap.load()
    plan = load_plan("default", dataset)
    started = time.perf_counter()
    baseline = baseline_for_dataset(dataset, plan)
    inputs = plan_inputs(plan, baseline, dataset)
    scenarios = sample_scenarios(plan, dataset, baseline.chain, list(inputs.builds), SCENARIOS, plan.scenarios.seed)
    prepared = time.perf_counter() - started
    solved = solve_plan(inputs, scenarios)
    total = solved.build_seconds + solved.solve_seconds
    print(json.dumps({
        "scenarios_drawn": SCENARIOS,
        "scenarios_distinct": scenarios.count,
        "periods": len(inputs.periods),
        "variables": int(solved.model.nvars),
        "constraints": int(solved.model.ncons),
        "prepare_seconds": round(prepared, 2),
        "build_seconds": round(solved.build_seconds, 2),
        "solve_seconds": round(solved.solve_seconds, 2),
        "build_share": round(solved.build_seconds / total, 3),
        "cost_usd_million": round(solved.cost, 1),
        "expected_shortfall_t": round(solved.expected_shortfall_t, 1),
        "cvar_shortfall_t": round(solved.cvar_shortfall_t, 1),
        "baseline_simulator_shortfall_t": round(float(
            baseline.result.shortfall.query("country == @plan.importer")["tonnes"].sum()), 1),
        "status_quo_undisrupted_planner_shortfall_t": round(float(np.sum(inputs.demand) - np.sum(
            inputs.routes.flow[[stage == "magnet" for stage in inputs.routes.stages]])), 1),
    }, indent=2))


if __name__ == "__main__":
    main()
