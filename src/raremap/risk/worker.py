"""What a worker does: build the model once, then turn chunks of draw indices into result tables.

A worker (a pool process, a Dask worker process or thread) keeps one DrawEvaluator per risk run in
thread-local storage, so it builds and solves the base model once and reuses it for every chunk
it is given; HiGHS models are never shared between threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from raremap.data.dataset import load
from raremap.model.supply_chain import SupplyChain
from raremap.risk.chunks import fingerprint_hash
from raremap.risk.evaluate import EVALUATION_SOLVED, DrawEvaluator
from raremap.risk.resolve import ResolvedRisk
from raremap.risk.sampling import draw_pattern, pattern_features
from raremap.scenario.spec import Scenario
from raremap.simulate.apply import apply_scenario
from raremap.simulate.run import supply_chain_for

_LOCAL = threading.local()


@dataclass(frozen=True)
class ChunkResult:
    """A finished chunk: its table (Arrow IPC bytes, cheap to send between processes) and counts."""

    index: int
    table: bytes
    draws: int
    solved: int
    seconds: float


def scenario_chain(scenario: Scenario, dataset: Any) -> SupplyChain:
    """The supply chain of a risk file's base scenario, with the scenario applied."""
    return apply_scenario(supply_chain_for(dataset, scenario), scenario)


def evaluator_for(risk: ResolvedRisk, chain: SupplyChain | None = None) -> DrawEvaluator:
    """This thread's evaluator for `risk`, built on first use."""
    key = fingerprint_hash(risk.fingerprint())
    evaluators: dict[str, DrawEvaluator] = getattr(_LOCAL, "evaluators", {})
    _LOCAL.evaluators = evaluators
    if key not in evaluators:
        evaluators.clear()
        if chain is None:
            chain = scenario_chain(risk.scenario, load(risk.data_directory))
        evaluators[key] = DrawEvaluator(risk, chain)
    return evaluators[key]


def shortfall_columns(evaluator: DrawEvaluator, periods: tuple[int, ...]) -> list[str]:
    """Column names of the per-draw shortfall cells, in the evaluator's (sector, element, period) order."""
    return [
        f"shortfall_t:{sector}:{element}:{period}"
        for sector in evaluator.sectors
        for element in evaluator.elements
        for period in periods
    ]


def evaluate_chunk(risk: ResolvedRisk, index: int, start: int, stop: int) -> ChunkResult:
    """Draw and evaluate draws start..stop-1; return them as one table (a row per draw)."""
    began = time.perf_counter()
    evaluator = evaluator_for(risk)
    solved_before = evaluator.solved
    columns: dict[str, list[Any]] = {"draw": [], "evaluation": [], "welfare_usd": []}
    features: dict[str, list[float]] = {}
    shortfalls, excesses = [], []
    for draw in range(start, stop):
        pattern = draw_pattern(risk, draw)
        outcome = evaluator.evaluate(pattern)
        columns["draw"].append(draw)
        columns["evaluation"].append(outcome.evaluation)
        columns["welfare_usd"].append(outcome.welfare_usd)
        for name, value in pattern_features(risk, pattern).items():
            features.setdefault(name, []).append(value)
        shortfalls.append(outcome.shortfall.ravel())
        excesses.append(outcome.excess.reshape(len(evaluator.sectors), -1).sum(axis=1))
    table = _table(evaluator, risk, columns, features, np.array(shortfalls), np.array(excesses))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return ChunkResult(
        index=index,
        table=sink.getvalue().to_pybytes(),
        draws=stop - start,
        solved=evaluator.solved - solved_before,
        seconds=time.perf_counter() - began,
    )


def _table(evaluator: DrawEvaluator, risk: ResolvedRisk, columns: dict[str, list[Any]],
           features: dict[str, list[float]], shortfalls: np.ndarray, excesses: np.ndarray) -> pa.Table:
    """One row per draw: index, evaluation, welfare, features, shortfall cells and per-sector totals.

    `total_excess_t:<sector>` (run format 2) is the sector's shortfall in excess of the undisrupted
    base at the draw's demand level, summed over elements and periods of the per-cell excess.
    """
    arrays: dict[str, pa.Array] = {
        "draw": pa.array(columns["draw"], pa.int64()),
        "evaluation": pa.array(columns["evaluation"], pa.int8()),
        "welfare_usd": pa.array(columns["welfare_usd"], pa.float64()),
    }
    for name, values in features.items():
        arrays[f"feature:{name}"] = pa.array(values, pa.float64())
    cells = shortfalls.reshape(len(columns["draw"]), len(evaluator.sectors), -1)
    demand_level = np.asarray(features["demand level"])
    for position, sector in enumerate(evaluator.sectors):
        arrays[f"total_shortfall_t:{sector}"] = pa.array(cells[:, position, :].sum(axis=1))
        sector_demand = float(evaluator.reported_demand[position].sum())
        arrays[f"demand_t:{sector}"] = pa.array(demand_level * sector_demand)
        arrays[f"total_excess_t:{sector}"] = pa.array(excesses[:, position], pa.float64())
    for position, name in enumerate(shortfall_columns(evaluator, risk.periods)):
        arrays[name] = pa.array(shortfalls[:, position], pa.float64())
    return pa.table(arrays)


def solved_count(table: pa.Table) -> int:
    """Draws of a chunk table that needed an LP solve."""
    evaluation = table.column("evaluation").to_numpy()
    return int((evaluation == EVALUATION_SOLVED).sum())
