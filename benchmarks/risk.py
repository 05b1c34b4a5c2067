"""Benchmark of the Monte Carlo risk engine on the built-in `default` risk file; prints JSON.

Measured side by side in one run, on the same draws:

- engine: draws per second of `run_risk` in one process (per demand level one linopy build and the
  base solves, then per draw only the disrupted periods' blocks, warm-started, skipped where nothing
  binds, cached by pattern), model building included;
- cold HiGHS: each draw's LP over the whole horizon (the horizon and the run-out period, investment
  and the years before fixed) solved from no basis with HiGHS's default options;
- warm only: the same LPs solved from the base basis, without period blocks, skipping or caching;
- PuLP + CBC (solve only): the same LPs written as MPS, read into PuLP and solved by CBC; their
  objectives must agree with HiGHS's;
- PuLP + CBC (from scratch): what a modeller without the engine does per draw: the draw's market
  built anew (the level's market with the base's investment folded into capacity and the draw's
  capacity losses; linopy, the whole horizon from the base year), handed to PuLP as MPS and solved
  by CBC. Sampled among draws without an export-control event, whose disruption is then a change of
  capacity alone;
- memory: peak resident memory of whole runs of two sizes, each in a fresh process;
- cluster: a Dask LocalCluster on loopback with one worker process and with two (each worker builds
  its models once, so start-up is included in both): wall-clock speedup, and the CPU seconds of each
  worker (the busiest worker's CPU time bounds the wall time on free cores: `cpu_bound_speedup`),
  with the parallelism the machine offered at the time (other work on a shared machine takes cores).

Usage: python benchmarks/risk.py [--draws 3000] [--sample 20] [--cbc-sample 4]
       [--memory-draws 2000 20000] [--cluster-draws 10000] [--parts speed memory cluster]
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
import pulp
import xarray as xr

import raremap
from raremap.model.equilibrium import build_model
from raremap.model.quiet import quiet_stdout
from raremap.model.solution import read_solution, solve_model
from raremap.model.supply_chain import SupplyChain
from raremap.risk.engine import RunOptions, prepare, run_risk
from raremap.risk.evaluate import Bounds, DrawEvaluator, level_market
from raremap.risk.program import Block
from raremap.risk.sampling import Pattern, draw_pattern

RISK_FILE = "default"


def cbc() -> pulp.COIN_CMD:
    """The CBC binary bundled with PuLP 3, silent."""
    return pulp.COIN_CMD(path=pulp.apis.coin_api.pulp_cbc_path, msg=False)


def quiet_options(out: Path, **changes: Any) -> RunOptions:
    return RunOptions(out=out, store_path=None, progress=False, report=lambda message: None, **changes)


def engine_rate(dataset: Any, draws: int, folder: Path) -> dict[str, Any]:
    run = run_risk(RISK_FILE, quiet_options(folder / "engine"), draws=draws, seed=1, dataset=dataset)
    return {"draws": draws, "seconds": run.seconds, "draws_per_second": run.draws_per_second,
            "evaluations": run.evaluations}


def binding_draws(evaluator: DrawEvaluator, sample: int) -> list[tuple[Block, Bounds]]:
    """The first `sample` draws whose disruptions bind: (level model, the draw's bounds)."""
    chosen = []
    draw = 0
    while len(chosen) < sample:
        pattern = draw_pattern(evaluator.risk, draw)
        draw += 1
        level = evaluator.level(pattern.demand_level).whole
        bounds = evaluator.tightened(level, *evaluator.over_model_periods(pattern))
        if not pattern.is_undisrupted() and evaluator.binds(level, bounds):
            chosen.append((level, bounds))
    return chosen


def _with_bounds(level: Block, bounds: Bounds, action: Any) -> Any:
    """Run `action(solver)` with the draw's bounds set, then put the base bounds back."""
    solver = level.solver
    rows, columns = bounds.rows.astype(np.int32), bounds.columns.astype(np.int32)
    solver.changeRowsBounds(len(rows), rows, bounds.row_lower, bounds.row_upper)
    program = level.program
    solver.changeColsBounds(len(columns), columns, program.column_lower[columns], bounds.column_upper)
    try:
        return action(solver)
    finally:
        solver.changeRowsBounds(len(rows), rows, program.row_lower[rows], program.row_upper[rows])
        solver.changeColsBounds(len(columns), columns, program.column_lower[columns], program.column_upper[columns])


def cold_highs_rate(draws: list[tuple[Block, Bounds]]) -> dict[str, Any]:
    def cold(solver: Any) -> float:
        options = {name: solver.getOptionValue(name)[1] for name in ("simplex_dual_edge_weight_strategy",)}
        solver.resetOptions()  # HiGHS's own defaults, not the engine's tuning
        solver.setOptionValue("output_flag", False)
        solver.clearSolver()
        solver.run()
        for name, value in options.items():
            solver.setOptionValue(name, value)
        return float(solver.getInfo().objective_function_value)

    began = time.perf_counter()
    objectives = [_with_bounds(level, bounds, cold) for level, bounds in draws]
    seconds = time.perf_counter() - began
    return {"draws": len(draws), "draws_per_second": len(draws) / seconds, "objectives": objectives}


def warm_only_rate(evaluator: DrawEvaluator, draws: list[tuple[Block, Bounds]]) -> dict[str, Any]:
    began = time.perf_counter()
    for level, bounds in draws:
        evaluator.solve(level, bounds)
    seconds = time.perf_counter() - began
    return {"draws": len(draws), "draws_per_second": len(draws) / seconds}


def pulp_cbc_rate(draws: list[tuple[Block, Bounds]], folder: Path) -> dict[str, Any]:
    objectives = []
    began = time.perf_counter()
    for index, (level, bounds) in enumerate(draws):
        path = folder / f"draw-{index}.mps"
        _with_bounds(level, bounds, lambda solver, path=path: solver.writeModel(str(path)))
        _, problem = pulp.LpProblem.fromMPS(str(path), sense=pulp.LpMinimize)
        problem.solve(cbc())
        objectives.append(float(pulp.value(problem.objective)))
    seconds = time.perf_counter() - began
    return {"draws": len(draws), "draws_per_second": len(draws) / seconds, "objectives": objectives}


def planned_chains(evaluator: DrawEvaluator, levels: set[int]) -> dict[int, SupplyChain]:
    """Per level, the market with the run-out period and the base's investment folded into capacity
    (what a modeller would fix so that draws do not re-plan investment)."""
    chains = {}
    for level in levels:
        market = level_market(evaluator.chain, evaluator.risk, level)
        chain = market.with_run_out() if market.links_periods else market
        model = build_model(chain)
        with quiet_stdout():
            solve_model(model)
        built = read_solution(model).values["New-capacity"].transpose("stage", "country", "period")
        chains[level] = chain.replace(
            capacity=chain["capacity"] + built,
            investment_lead_years=xr.full_like(chain["investment_lead_years"], np.inf),
            investment_committed=xr.zeros_like(chain["investment_committed"]),
        )
    return chains


def pulp_cbc_from_scratch_rate(evaluator: DrawEvaluator, sample: int, folder: Path) -> dict[str, Any]:
    risk = evaluator.risk
    step = risk.model.severity_step
    patterns: list[Pattern] = [pattern for pattern in (draw_pattern(risk, draw) for draw in range(20 * sample))
                               if not pattern.control_steps.any() and pattern.capacity_steps.any()][:sample]
    chains = planned_chains(evaluator, {pattern.demand_level for pattern in patterns})
    began = time.perf_counter()
    for index, pattern in enumerate(patterns):
        chain = chains[pattern.demand_level]
        capacity_steps, _ = evaluator.over_model_periods(pattern)
        capacity = chain["capacity"].copy()
        for position, process in enumerate(risk.processes):
            kept = xr.DataArray(1.0 - capacity_steps[position] * step, coords={"period": chain.periods}, dims="period")
            where = (capacity["stage"] == process.stage) & (capacity["country"] == process.country)
            capacity = xr.where(where, capacity * kept, capacity)
        model = build_model(chain.replace(capacity=capacity.transpose("stage", "country", "period")))
        path = folder / f"scratch-{index}.mps"
        model.to_file(path)
        _, problem = pulp.LpProblem.fromMPS(str(path), sense=pulp.LpMinimize)
        problem.solve(cbc())
    seconds = time.perf_counter() - began
    return {"draws": len(patterns), "draws_per_second": len(patterns) / seconds,
            "variables": int(model.nvars), "constraints": int(model.ncons)}


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


def _spin(_: int) -> float:
    """A fixed amount of pure-Python work; returns its wall-clock seconds."""
    began, total = time.perf_counter(), 0
    for value in range(20_000_000):
        total += value
    return time.perf_counter() - began


def available_parallelism() -> float:
    """How many cores this machine gives us now: wall time of one unit of work alone, times two, over the
    wall time of two units run at once in two processes (2.0 on two idle cores, 1.0 if others take one)."""
    import concurrent.futures

    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        alone = pool.submit(_spin, 0).result()
        together = max(pool.map(_spin, [0, 1]))
    return 2 * alone / together


def _cpu_seconds() -> float:
    """CPU seconds this process has used (run on each Dask worker)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cluster(draws: int, folder: Path) -> dict[str, Any]:
    from dask.distributed import Client, LocalCluster

    parallelism_before = available_parallelism()
    seconds, cpu = {}, {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as local_cluster:
            run = run_risk(RISK_FILE, quiet_options(folder / f"cluster-{workers}", scheduler=local_cluster.scheduler_address,
                                                    chunk_size=50), draws=draws, seed=1)
            seconds[workers] = run.seconds
            with Client(local_cluster) as client:
                cpu[workers] = sorted(client.run(_cpu_seconds).values())
    return {"draws": draws, "seconds_one_worker": seconds[1], "seconds_two_workers": seconds[2],
            "speedup": seconds[1] / seconds[2],
            "worker_cpu_seconds_one_worker": cpu[1], "worker_cpu_seconds_two_workers": cpu[2],
            "cpu_bound_speedup": max(cpu[1]) / max(cpu[2]),
            "available_parallelism_before_and_after": [parallelism_before, available_parallelism()],
            "note": "compute phase of run_risk: connecting, workers building their models, all draws, writing chunks; "
                    "available parallelism near 1 means other work held a core, and no speedup is measurable"}


def model_size(evaluator: DrawEvaluator) -> dict[str, Any]:
    level = evaluator.level(1)
    block = next(iter(level.periods.values()), level.whole)
    return {"horizon_lp_columns": len(level.whole.column_values), "horizon_lp_rows": len(level.whole.row_values),
            "period_block_columns": len(block.column_values), "period_block_rows": len(block.row_values),
            "period_blocks": len(level.periods), "periods": len(evaluator.risk.periods),
            "horizon_periods": len(evaluator.risk.horizon_periods), "processes": len(evaluator.risk.processes)}


def speed(arguments: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """The engine and the per-draw baselines, side by side on the same draws of the same run."""
    dataset = raremap.load()
    engine = engine_rate(dataset, arguments.draws, folder)
    risk, chain = prepare(RISK_FILE, dataset, seed=1)
    evaluator = DrawEvaluator(risk, chain)
    draws = binding_draws(evaluator, arguments.sample)
    cold = cold_highs_rate(draws)
    warm = warm_only_rate(evaluator, draws)
    solve_only = pulp_cbc_rate(draws[: arguments.cbc_sample], folder)
    scratch = pulp_cbc_from_scratch_rate(evaluator, arguments.cbc_sample, folder)
    agreement = max(abs(a - b) / max(1.0, abs(a)) for a, b in zip(solve_only["objectives"], cold["objectives"], strict=False))
    return {
        "model": model_size(evaluator),
        "engine": engine,
        "cold_highs": {key: cold[key] for key in ("draws", "draws_per_second")},
        "warm_only": warm,
        "pulp_cbc_solve_only": {key: solve_only[key] for key in ("draws", "draws_per_second")},
        "pulp_cbc_from_scratch": scratch,
        "cbc_highs_objective_max_relative_difference": agreement,
        "speedup_vs_pulp_cbc_solve_only": engine["draws_per_second"] / solve_only["draws_per_second"],
        "speedup_vs_pulp_cbc_from_scratch": engine["draws_per_second"] / scratch["draws_per_second"],
        "speedup_vs_cold_highs": engine["draws_per_second"] / cold["draws_per_second"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--draws", type=int, default=3000)
    parser.add_argument("--sample", type=int, default=20)
    parser.add_argument("--cbc-sample", type=int, default=4)
    parser.add_argument("--memory-draws", type=int, nargs="+", default=[2_000, 20_000])
    parser.add_argument("--cluster-draws", type=int, default=10_000)
    parser.add_argument("--memory-child", nargs=2, metavar=("DRAWS", "FOLDER"))
    parser.add_argument("--parts", nargs="+", choices=["speed", "memory", "cluster"], default=["speed", "memory", "cluster"],
                        help="run only some parts of the benchmark")
    arguments = parser.parse_args()
    if arguments.memory_child:
        memory_child(int(arguments.memory_child[0]), Path(arguments.memory_child[1]))
        return
    report: dict[str, Any] = {"risk_file": RISK_FILE, "date": time.strftime("%Y-%m-%d")}
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
