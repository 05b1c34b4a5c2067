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

from raremap.data.dataset import Dataset, load
from raremap.model.supply_chain import SupplyChain
from raremap.risk.chunks import fingerprint_hash
from raremap.risk.evaluate import DrawEvaluator
from raremap.risk.resolve import ResolvedRisk
from raremap.risk.sampling import draw_pattern, pattern_features
from raremap.scenario.spec import Scenario
from raremap.simulate.market import scenario_market
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


def source_chain(scenario: Scenario, dataset: Dataset) -> SupplyChain:
    """The data's supply chain for a risk file's base scenario, before the scenario is applied."""
    return supply_chain_for(dataset, scenario)


def scenario_chain(scenario: Scenario, dataset: Dataset) -> SupplyChain:
    """The market a risk file's base scenario runs on (`scenario_market`, as `simulate` applies it)."""
    return scenario_market(source_chain(scenario, dataset), scenario)


def evaluator_for(risk: ResolvedRisk, chain: SupplyChain | None = None) -> DrawEvaluator:
    """This thread's evaluator for `risk` (on `chain`, the data's chain before the scenario), built on first use."""
    key = fingerprint_hash(risk.fingerprint())
    evaluators: dict[str, DrawEvaluator] = getattr(_LOCAL, "evaluators", {})
    _LOCAL.evaluators = evaluators
    if key not in evaluators:
        evaluators.clear()
        if chain is None:
            chain = source_chain(risk.scenario, load(risk.data_directory))
        evaluators[key] = DrawEvaluator(risk, chain)
    return evaluators[key]


def cell_columns(risk: ResolvedRisk, prefix: str) -> list[str]:
    """Column names of per-draw cells, sector by sector, each over the horizon's periods ("shortfall_t:ev:2030")."""
    return [f"{prefix}:{sector}:{period}" for sector in risk.sectors for period in risk.horizon_labels]


def evaluate_chunk(risk: ResolvedRisk, index: int, start: int, stop: int) -> ChunkResult:
    """Draw and evaluate draws start..stop-1; return them as one table (a row per draw)."""
    began = time.perf_counter()
    evaluator = evaluator_for(risk)
    solved_before = evaluator.solved
    columns: dict[str, list[Any]] = {"draw": [], "evaluation": [], "welfare_usd": []}
    features: dict[str, list[float]] = {}
    shortfalls, excesses, demands = [], [], []
    for draw in range(start, stop):
        pattern = draw_pattern(risk, draw)
        outcome = evaluator.evaluate(pattern)
        columns["draw"].append(draw)
        columns["evaluation"].append(outcome.evaluation)
        columns["welfare_usd"].append(outcome.welfare_usd)
        for name, value in pattern_features(risk, pattern).items():
            features.setdefault(name, []).append(value)
        shortfalls.append(outcome.shortfall)
        excesses.append(outcome.excess)
        demands.append(evaluator.demand(pattern.demand_level))
    table = _table(risk, columns, features, np.array(shortfalls), np.array(excesses), np.array(demands))
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


def _table(risk: ResolvedRisk, columns: dict[str, list[Any]], features: dict[str, list[float]],
           shortfalls: np.ndarray, excesses: np.ndarray, demands: np.ndarray) -> pa.Table:
    """One row per draw: index, evaluation, welfare, features, per-sector totals over the horizon, and the
    shortfall, excess and demand of every sector x horizon period (arrays are draw x sector x period)."""
    arrays: dict[str, pa.Array] = {
        "draw": pa.array(columns["draw"], pa.int64()),
        "evaluation": pa.array(columns["evaluation"], pa.int8()),
        "welfare_usd": pa.array(columns["welfare_usd"], pa.float64()),
    }
    for name, values in features.items():
        arrays[f"feature:{name}"] = pa.array(values, pa.float64())
    for position, sector in enumerate(risk.sectors):
        arrays[f"total_shortfall_t:{sector}"] = pa.array(shortfalls[:, position].sum(axis=1), pa.float64())
        arrays[f"demand_t:{sector}"] = pa.array(demands[:, position].sum(axis=1), pa.float64())
        arrays[f"total_excess_t:{sector}"] = pa.array(excesses[:, position].sum(axis=1), pa.float64())
    count = len(columns["draw"])
    for prefix, cells in (("shortfall_t", shortfalls), ("excess_t", excesses), ("period_demand_t", demands)):
        flat = cells.reshape(count, -1)
        for position, name in enumerate(cell_columns(risk, prefix)):
            arrays[name] = pa.array(flat[:, position], pa.float64())
    return pa.table(arrays)
