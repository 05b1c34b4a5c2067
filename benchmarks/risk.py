"""Benchmark of the Monte Carlo risk engine on the built-in `default` risk file; prints JSON.

Measured side by side in one run:

- engine: draws per second of `run_risk` in one process (reused warm-started HiGHS model, skipped
  non-binding draws, cached patterns), model building included;
- cold HiGHS: the same draws' LPs solved one by one from no basis (solver state cleared);
- PuLP + CBC (solve only): the same draws' LPs written out, read into PuLP and solved by CBC;
- PuLP + CBC (from scratch): each draw's model built anew from its disrupted supply chain (linopy),
  written out, read into PuLP and solved by CBC; sampled among draws without an export-control
  event, whose disruption is then exactly a change of the chain's capacity and demand;
- warm only: the same draws solved warm with no skipping or caching (where the speed comes from);
- memory: peak resident memory of whole runs of 10,000 and 100,000 draws, each in a fresh process;
- cluster: a Dask LocalCluster on loopback with one worker process and with two.

Usage: python benchmarks/risk.py [--draws 2000] [--sample 20] [--cbc-sample 8]
       [--memory-draws 10000 100000] [--cluster-draws 6000] [--parts speed memory cluster]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from pulp_peer import cbc

import raremap
from raremap.model.quiet import quiet_stdout
from raremap.risk.engine import RunOptions, prepare, run_risk
from raremap.risk.evaluate import DEVEX_PRICING, DrawEvaluator
from raremap.risk.sampling import draw_pattern

RISK_FILE = "default"


def quiet_options(out: Path, **changes: Any) -> RunOptions:
    return RunOptions(out=out, store_path=None, progress=False, report=lambda message: None, **changes)


def engine_rate(dataset: Any, draws: int, folder: Path) -> dict[str, Any]:
    run = run_risk(RISK_FILE, quiet_options(folder / "engine"), draws=draws, seed=1, dataset=dataset)
    return {"draws": draws, "draws_per_second": run.draws_per_second, "evaluations": run.evaluations}


def _bound_draws(evaluator: DrawEvaluator, sample: int) -> list[tuple[Any, int, tuple[Any, ...]]]:
    """The first `sample` draws that change the model, on the whole-horizon model (no period split):
    (model, demand level, tightened bounds)."""
    evaluator.independent = False
    chosen = []
    draw = 0
    while len(chosen) < sample:
        pattern = draw_pattern(evaluator.risk, draw)
        draw += 1
        if pattern.is_undisrupted():
            continue
        block = evaluator.block(pattern.demand_level, 0)
        bounds = evaluator.tightened(block, pattern.capacity_steps, pattern.control_steps)
        chosen.append((block, pattern.demand_level, bounds))
    return chosen


def _with_bounds(base: Any, bounds: tuple[Any, ...], action: Any) -> Any:
    """Run `action(solver)` with the draw's bounds set, then put the base bounds back."""
    rows, row_upper, columns, column_upper = bounds
    solver = base.solver
    solver.changeRowsBounds(len(rows), rows.astype(np.int32), base.row_lower[rows], row_upper)
    solver.changeColsBounds(len(columns), columns.astype(np.int32), base.column_lower[columns], column_upper)
    try:
        return action(solver)
    finally:
        solver.changeRowsBounds(len(rows), rows.astype(np.int32), base.row_lower[rows], base.row_upper[rows])
        solver.changeColsBounds(len(columns), columns.astype(np.int32), base.column_lower[columns],
                                base.column_upper[columns])


def cold_highs_rate(draws: list[tuple[Any, int, tuple[Any, ...]]]) -> dict[str, Any]:
    def cold(solver: Any) -> float:
        solver.resetOptions()  # HiGHS's own defaults, not the engine's tuning
        solver.setOptionValue("output_flag", False)
        solver.clearSolver()
        solver.run()
        solver.setOptionValue("simplex_dual_edge_weight_strategy", DEVEX_PRICING)
        return float(solver.getInfo().objective_function_value)

    began = time.perf_counter()
    objectives = [_with_bounds(base, bounds, cold) for base, _, bounds in draws]
    seconds = time.perf_counter() - began
    return {"draws": len(draws), "draws_per_second": len(draws) / seconds, "objectives": objectives}


def warm_only_rate(evaluator: DrawEvaluator, draws: list[tuple[Any, int, tuple[Any, ...]]]) -> dict[str, Any]:
    began = time.perf_counter()
    for base, level, bounds in draws:
        evaluator.solve(base, level, *bounds)
    seconds = time.perf_counter() - began
    return {"draws": len(draws), "draws_per_second": len(draws) / seconds}


def pulp_cbc_rate(draws: list[tuple[Any, int, tuple[Any, ...]]], folder: Path) -> dict[str, Any]:
    import pulp

    objectives = []
    began = time.perf_counter()
    for index, (base, _, bounds) in enumerate(draws):
        path = folder / f"draw-{index}.mps"
        _with_bounds(base, bounds, lambda solver, path=path: solver.writeModel(str(path)))
        _, problem = pulp.LpProblem.fromMPS(str(path), sense=pulp.LpMinimize)
        problem.solve(cbc())
        objectives.append(float(pulp.value(problem.objective)))
    seconds = time.perf_counter() - began
    return {"draws": len(draws), "draws_per_second": len(draws) / seconds, "objectives": objectives}


def pulp_cbc_from_scratch_rate(evaluator: DrawEvaluator, sample: int, folder: Path) -> dict[str, Any]:
    import pulp

    from raremap.model.equilibrium import build_model

    risk, chain = evaluator.risk, evaluator.chain
    step = risk.model.severity_step
    patterns = [pattern for pattern in (draw_pattern(risk, draw) for draw in range(10 * sample))
                if not pattern.control_steps.any() and pattern.capacity_steps.any()][:sample]
    began = time.perf_counter()
    for index, pattern in enumerate(patterns):
        capacity = chain["capacity"].copy()
        for process_index, process in enumerate(risk.processes):
            kept = 1.0 - pattern.capacity_steps[process_index] * step
            capacity.loc[{"stage": process.stage, "country": process.country}] = (
                capacity.sel(stage=process.stage, country=process.country).values * kept
            )
        demand = chain["demand"] * risk.model.demand.levels[pattern.demand_level]
        model = build_model(chain.replace(capacity=capacity, demand=demand))
        path = folder / f"scratch-{index}.mps"
        model.to_file(path)
        _, problem = pulp.LpProblem.fromMPS(str(path), sense=pulp.LpMinimize)
        problem.solve(cbc())
    seconds = time.perf_counter() - began
    return {"draws": len(patterns), "draws_per_second": len(patterns) / seconds}


def memory_child(draws: int, folder: Path) -> None:
    """Run one whole risk analysis in this process and print its peak resident memory."""
    with quiet_stdout():
        run = run_risk(RISK_FILE, quiet_options(folder), draws=draws, seed=1)
    peak_mebibytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"draws": draws, "peak_rss_mib": peak_mebibytes, "draws_per_second": run.draws_per_second}))


def memory(draw_counts: list[int], folder: Path) -> dict[str, Any]:
    results = []
    for draws in draw_counts:
        output = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(draws), str(folder / f"memory-{draws}")],
            capture_output=True, text=True, check=True,
        ).stdout
        results.append(json.loads(output.strip().splitlines()[-1]))
    ratio = results[-1]["peak_rss_mib"] / results[0]["peak_rss_mib"]
    return {"runs": results, "ratio_largest_to_smallest": ratio}


def cluster(draws: int, folder: Path) -> dict[str, Any]:
    from dask.distributed import LocalCluster

    seconds = {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as local_cluster:
            run = run_risk(RISK_FILE, quiet_options(folder / f"cluster-{workers}", scheduler=local_cluster.scheduler_address,
                                                    chunk_size=50), draws=draws, seed=1)
            seconds[workers] = run.seconds
    return {"draws": draws, "seconds_one_worker": seconds[1], "seconds_two_workers": seconds[2],
            "speedup": seconds[1] / seconds[2],
            "note": "compute phase of run_risk: connecting, workers building their models, all draws, writing chunks"}


def speed(arguments: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The engine and the per-draw baselines, side by side on the same draws of the same run."""
    dataset = raremap.load()
    engine = engine_rate(dataset, arguments.draws, folder)
    risk, chain = prepare(RISK_FILE, dataset, seed=1)
    evaluator = DrawEvaluator(risk, chain)
    draws = _bound_draws(evaluator, arguments.sample)
    cold = cold_highs_rate(draws)
    warm = warm_only_rate(evaluator, draws)
    cbc = pulp_cbc_rate(draws[: arguments.cbc_sample], folder)
    scratch = pulp_cbc_from_scratch_rate(evaluator, arguments.cbc_sample, folder)
    agreement = max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(cbc["objectives"], cold["objectives"], strict=False))
    return {
        "engine": engine,
        "cold_highs": {key: cold[key] for key in ("draws", "draws_per_second")},
        "warm_only": warm,
        "pulp_cbc_solve_only": {key: cbc[key] for key in ("draws", "draws_per_second")},
        "pulp_cbc_from_scratch": scratch,
        "cbc_highs_objective_max_relative_difference": agreement,
        "speedup_vs_pulp_cbc_solve_only": engine["draws_per_second"] / cbc["draws_per_second"],
        "speedup_vs_pulp_cbc_from_scratch": engine["draws_per_second"] / scratch["draws_per_second"],
        "speedup_vs_cold_highs": engine["draws_per_second"] / cold["draws_per_second"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--cbc-sample", type=int, default=8)
    parser.add_argument("--memory-draws", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--cluster-draws", type=int, default=6000)
    parser.add_argument("--memory-child", nargs=2, metavar=("DRAWS", "FOLDER"))
    parser.add_argument("--parts", nargs="+", choices=["speed", "memory", "cluster"], default=["speed", "memory", "cluster"],
                        help="run only some parts of the benchmark")
    arguments = parser.parse_args()
    if arguments.memory_child:
        memory_child(int(arguments.memory_child[0]), Path(arguments.memory_child[1]))
        return
    report: dict[str, Any] = {"risk_file": RISK_FILE}
    with tempfile.TemporaryDirectory() as temporary, quiet_stdout():
        folder = Path(temporary)
        if "speed" in arguments.parts:
            report.update(speed(arguments, folder))
        if "memory" in arguments.parts:
            report["memory"] = memory(arguments.memory_draws, folder)
        if "cluster" in arguments.parts:
            report["cluster"] = cluster(arguments.cluster_draws, folder)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
