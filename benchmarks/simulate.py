"""Benchmark of `raremap simulate` on the bundled data; prints JSON.

Ours: build the linopy model of the default 12-period baseline and solve it with HiGHS. Theirs:
the same model, written to an MPS file, read by PuLP and solved by the CBC binary that ships in
PuLP's wheel. Targets: build seconds <= solve seconds; theirs end to end >= 10x ours.

Run: python benchmarks/simulate.py [SCENARIO]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

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


def theirs(simulation: Simulation) -> dict[str, float]:
    assert simulation.model is not None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.mps"
        simulation.model.to_file(path, io_api="mps")
        started = time.perf_counter()
        _, problem = pulp.LpProblem.fromMPS(str(path), sense=pulp.LpMinimize)
        read = time.perf_counter() - started
        problem.solve(pulp.PULP_CBC_CMD(msg=False))
        total = time.perf_counter() - started
    return {
        "read_seconds": read,
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
    report = {
        "scenario": scenario,
        "periods": len(simulation.supply_chain.periods) if simulation.supply_chain else 0,
        "variables": int(model.nvars),
        "constraints": int(model.ncons),
        "ours_linopy_highs": our_times,
        "theirs_mps_pulp_cbc": their_times,
        "build_not_above_solve": our_times["build_seconds"] <= our_times["solve_seconds"],
        "speedup_end_to_end": their_times["end_to_end_seconds"] / our_times["end_to_end_seconds"],
        "objectives_agree": abs(our_times["objective"] - their_times["objective"])
        <= 1e-5 * max(1.0, abs(our_times["objective"])),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
