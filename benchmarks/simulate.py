"""Benchmark of `raremap simulate` on the bundled data against PuLP + CBC, side by side; prints JSON.

Contenders, each on the same LP (the scenario's supply chain, with its run-out period when periods
link), timed in the same run:

- ``ours_linopy_highs``: ``Simulation.build()`` (the linopy model) and ``solve()`` (HiGHS, the mass
  balance check and reading the solution back), as `raremap simulate` runs them. The supply chain
  and the scenario's market (``validate()``: the unshocked twin, the shortfall rules) are made once
  beforehand, outside the timing: both contenders start from the same chain.
- ``pulp_peer_cbc``: benchmarks/pulp_peer.py, the same LP written independently from
  docs/simulation.md with PuLP's API (dicts of variables, sums of terms), solved by the CBC binary
  bundled with PuLP. Its objective must agree with ours to 1e-6 relative.
- ``solvers_alone``: no build at all: HiGHS on our model already in memory, and the CBC binary on
  our model written as MPS (writing not timed). They show what each solver costs, so what is left
  of a contender's time is its build.

Each round runs every contender once, interleaved, and the medians of ``--rounds`` rounds are
reported (these machines are shared and noisy). ``--cli`` also times ``raremap simulate SCENARIO
--json`` end to end as a user runs it, twice a round: with an empty chain cache (the first run builds
the supply chain from the tables) and with the cache it left (every later run); the medians over the
rounds are checked against issue 12's guard rail, 8 s for the baseline.

Run: python benchmarks/simulate.py [SCENARIO] [--rounds N] [--cli]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pulp
from pulp_peer import build_pulp, solve_pulp

import raremap
from raremap.model.quiet import quiet_stdout
from raremap.simulate import Simulation

RELATIVE_TOLERANCE = 1e-6
CLI_GUARD_RAIL_SECONDS = 8.0


def ours(validated: Simulation) -> dict[str, float]:
    started = time.perf_counter()
    validated.build().solve()
    total = time.perf_counter() - started
    assert validated.model is not None
    return {
        "build_seconds": validated.build_seconds,
        "solve_seconds": validated.solve_seconds,
        "end_to_end_seconds": total,
        "objective": float(validated.model.objective.value or 0.0),  # the whole LP, run-out period included
    }


def pulp_peer(validated: Simulation) -> dict[str, float]:
    assert validated.supply_chain is not None
    started = time.perf_counter()
    problem, _ = build_pulp(validated.supply_chain)  # adds its own run-out period, as documented
    constructed = time.perf_counter() - started
    objective = solve_pulp(problem)
    total = time.perf_counter() - started
    return {
        "build_seconds": constructed,
        "solve_seconds": total - constructed,
        "end_to_end_seconds": total,
        "objective": objective,
        "variables": float(problem.numVariables()),
        "constraints": float(problem.numConstraints()),
    }


def solvers_alone(validated: Simulation, folder: Path) -> dict[str, float]:
    """HiGHS on our model in memory, and the CBC binary on the same model read from MPS."""
    model = validated.model
    assert model is not None
    with quiet_stdout():
        highs = model.to_highspy()
    highs.setOptionValue("output_flag", False)
    started = time.perf_counter()
    highs.run()
    highs_seconds = time.perf_counter() - started
    path = folder / "model.mps"
    with quiet_stdout():  # linopy announces the file on stdout, which must stay pure JSON
        model.to_file(path, io_api="mps")
    started = time.perf_counter()
    subprocess.run([pulp.apis.coin_api.pulp_cbc_path, str(path), "-solve", "-quit"], check=True, capture_output=True)
    return {
        "highs_seconds": highs_seconds,
        "highs_objective": float(highs.getInfo().objective_function_value),
        "cbc_seconds": time.perf_counter() - started,
    }


def cli_seconds(scenario: str) -> dict[str, float]:
    """`raremap simulate SCENARIO --json` end to end, with an empty chain cache and then with its cache."""
    command = [str(Path(sys.executable).with_name("raremap")), "simulate", scenario, "--json"]
    folder = tempfile.mkdtemp(prefix="raremap-cache-")
    environment = {**os.environ, "RAREMAP_CACHE": folder}
    times = {}
    try:
        for run in ("first_run_empty_cache_seconds", "second_run_cached_chain_seconds"):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=environment)
            times[run] = time.perf_counter() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return times


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(round_[key] for round_ in rounds) for key in rounds[0]}


def agree(first: float, second: float) -> bool:
    return abs(first - second) <= RELATIVE_TOLERANCE * max(1.0, abs(first))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="baseline")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cli", action="store_true", help="also time `raremap simulate SCENARIO --json` end to end")
    arguments = parser.parse_args()
    dataset = raremap.load()
    started = time.perf_counter()
    validated = Simulation(arguments.scenario, dataset=dataset).validate()  # the chain and the scenario's market, once
    validate_seconds = time.perf_counter() - started
    timings: dict[str, list[dict[str, float]]] = {"ours": [], "peer": [], "solvers": []}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(arguments.rounds):
            contenders = [("ours", lambda: ours(validated)), ("peer", lambda: pulp_peer(validated))]
            for name, contender in contenders if round_ % 2 == 0 else contenders[::-1]:  # alternate who goes first
                timings[name].append(contender())
            timings["solvers"].append(solvers_alone(validated, Path(folder)))
    ours_median, peer_median, solvers = (medians(timings[key]) for key in ("ours", "peer", "solvers"))
    model = validated.model
    assert model is not None and validated.supply_chain is not None and validated.model_chain is not None
    objectives = [round_["objective"] for key in ("ours", "peer") for round_ in timings[key]]
    report: dict[str, Any] = {
        "scenario": arguments.scenario,
        "periods": len(validated.supply_chain.periods),
        "periods_in_the_lp": len(validated.model_chain.periods),
        "variables": int(model.nvars),
        "constraints": int(model.ncons),
        "nonzeros": int(model.matrices.A.nnz),
        "rounds": arguments.rounds,
        "validate_seconds_once": validate_seconds,
        "ours_linopy_highs": ours_median,
        "pulp_peer_cbc": peer_median,
        "solvers_alone": solvers,
        "peer_over_ours_end_to_end": peer_median["end_to_end_seconds"] / ours_median["end_to_end_seconds"],
        "peer_over_highs_alone": peer_median["end_to_end_seconds"] / solvers["highs_seconds"],
        "same_size": (int(model.nvars), int(model.ncons)) == (int(peer_median["variables"]), int(peer_median["constraints"])),
        "objectives_agree": all(agree(objectives[0], other) for other in [*objectives, solvers["highs_objective"]]),
    }
    if arguments.cli:
        runs = [cli_seconds(arguments.scenario) for _ in range(arguments.rounds)]
        cli = medians(runs)
        report["cli_end_to_end"] = {**cli, "rounds": runs, "guard_rail_seconds": CLI_GUARD_RAIL_SECONDS,
                                    "within_guard_rail": max(cli.values()) <= CLI_GUARD_RAIL_SECONDS}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
