"""Benchmark: the default plan on N draws (default 16; `python benchmarks/plan.py 32`); prints JSON.

What a planning run costs, part by part: the full engine's market per draw (scenario_market, build,
solve, terms of trade), the planning LP (variables, constraints, build and solve seconds), and how
exactly the planner's second stage reproduces the engine at the status quo (largest gap of India's
shortfall in any draw and year, which LP duality makes zero up to ties).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

import raremap
from raremap.plan.loading import load_plan
from raremap.plan.model import Restrictions
from raremap.plan.options import resolve_options
from raremap.plan.planner import Context, market_views, planning_chain, solve_outcome
from raremap.plan.scenarios import controlling_exporters, plan_base_scenario, plan_draws

NOTHING: frozenset[str] = frozenset()


def main(count: int) -> None:
    dataset = raremap.load()
    plan = load_plan("default", dataset)
    started = time.perf_counter()
    base = plan_base_scenario(plan, dataset)
    chain = planning_chain(dataset, base, plan)
    options = resolve_options(plan, dataset, chain, controlling_exporters(plan))
    draws = plan_draws(plan, dataset, chain, base, options.builds, count, plan.scenarios.seed)
    prepared = time.perf_counter() - started
    views = market_views(chain, draws, plan.importer, plan.horizon.start, lambda fraction, message: None, (0.0, 1.0))
    context = Context(plan, chain, options, views)
    chosen = solve_outcome(context, Restrictions(), "plan")
    status_quo = solve_outcome(context, Restrictions(offtakes=NOTHING, builds=NOTHING, stockpiles=NOTHING,
                                                     keep_at_home=()), "status quo")
    engine = views.boundary.shortfall.sum("sector").sel(period=views.side.reported).values
    gap = np.abs(status_quo.shortfall.sum("sector").values - engine)
    print(json.dumps({
        "draws": count,
        "prepare_seconds": round(prepared, 2),
        "engine_seconds_per_draw": round(views.seconds / count, 2),
        "planning_lp_build_seconds": round(chosen.build_seconds, 2),
        "planning_lp_solve_seconds": round(chosen.solve_seconds, 2),
        "total_seconds": round(time.perf_counter() - started, 2),
        "objective_usd_million": round(chosen.objective, 1),
        "expected_shortfall_t": round(chosen.expected_shortfall_t, 1),
        "status_quo_expected_shortfall_t": round(status_quo.expected_shortfall_t, 1),
        "status_quo_largest_gap_to_engine_t": round(float(gap.max()), 6),
    }, indent=2))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
