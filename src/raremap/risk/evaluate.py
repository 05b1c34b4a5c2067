"""Evaluating draws on reused, warm-started HiGHS models (the hot loop of a Monte Carlo run).

For each demand level, the base scenario's market is the one `simulate` solves
(`simulate.market.scenario_market`, on the data's demand times the level from the horizon on). Its
LP is built once with linopy, handed to HiGHS as arrays and solved. Then two kinds of decisions are
fixed at that solution and become constants (their columns leave the LP, their values move to the
row bounds): the capacity the market chose to build (`New-capacity`), because shocks are not
foreseen by whoever builds plants, and everything in the periods before the horizon, which the
draws do not disrupt (in the default risk file they are the past). The rest, the horizon and the
run-out period, is the LP a draw solves; its base solution is the undisrupted draw.

A draw only changes bounds:

- capacity lost at a country x stage: the capacity row of each disrupted period allows (1 - loss) x
  the capacity in service there (the pipeline's plus the fixed investment: with investment a
  constant, the row's bound is exactly that capacity), and the country's calibration supply at that
  stage (undocumented output, see model/calibration.py) is cut alike;
- an export control: the exporter's flows on the covered edges may carry at most (1 - cut) x their
  base value in the period (in the level's whole-horizon base solution), and contracts on those
  edges shrink by the tonnage withheld (force majeure for what the control stops, no more).

Period blocks: with investment fixed, what still links periods is adoption of substitution (and
stocks, where a scenario holds some). Where every column of a linking row sits at its lower bound in
the base (no substitution adopted, no stock), each period is solved as its own small block with those
columns held there, and a draw solves only the periods it disrupts, each cached by its own pattern (a
period's pattern recurs far more often than a draw's). A block's solution is accepted only with a
certificate: the held columns' reduced costs at the block's duals are non-negative (pricing the
linking rows at 0), which makes the blocks together optimal for the whole horizon; otherwise the
draw is solved on the whole horizon. Both give the whole-horizon optimum (tested).

Determinism: every solve starts from a cleared solver and the base basis of its model, never from
the previous draw's state, so a draw's result does not depend on which draws a worker solved before;
runs are bit-identical whatever the chunking or the number of workers.

Skipping: if every tightened bound still admits the base solution, the base solution stays feasible
and, the feasible set having only shrunk, optimal; such a draw or block is not solved. Patterns: with
severities rounded to `severity_step`, equal patterns are solved once per worker (an LRU cache).

Staging: an export control cuts a hundred flows per period and takes most of a block's iterations,
while a block's control has at most 1 / `severity_step` values. A block with a control and capacity
losses is therefore solved from the optimal basis of the same control alone (itself solved from the
base basis once per worker, level, period and cut), so the losses cost a few pivots. The start is a
function of the block's pattern alone, so results stay bit-identical across workers and chunkings.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import highspy
import linopy
import numpy as np
import scipy.sparse
import xarray as xr

from raremap.model.equilibrium import CAPACITY_CONSTRAINTS, build_model
from raremap.model.solution import solver_positions
from raremap.model.supply_chain import SupplyChain
from raremap.risk.program import (
    SMALL_SHORTFALL,
    Block,
    Certificate,
    LinearProgram,
    Positions,
    Solved,
    require_optimal,
)
from raremap.risk.resolve import ResolvedRisk
from raremap.risk.sampling import Pattern
from raremap.simulate.apply import goods_named
from raremap.simulate.market import scenario_market

BINDING_TOLERANCE = 1e-7
"""A tightened bound binds when the base value exceeds it by more than this share of max(1, bound)."""
AT_BOUND_TOLERANCE = 1e-9
"""A linking column sits at its lower bound in the base when within this of it."""
CACHE_LIMIT = 50_000
"""Patterns remembered per worker (least recently used dropped first), so memory stays bounded."""
START_LIMIT = 1_000
"""Starting bases of controls alone remembered per worker (a basis is a byte per row and column)."""
CALIBRATED_STAGES = ("separation", "magnet")
"""Stages whose goods calibration supply adds to (oxides at separation, magnets at magnet)."""

EVALUATION_BASE = 0
EVALUATION_CACHED = 1
EVALUATION_SOLVED = 2
EVALUATION_NAMES = {EVALUATION_BASE: "base", EVALUATION_CACHED: "cached", EVALUATION_SOLVED: "solved"}


@dataclass(frozen=True)
class Outcome:
    """The importer's shortfall per sector x horizon period (sector units per period) and world welfare (USD).

    `excess` is the shortfall in excess of the undisrupted base at the draw's demand level,
    max(0, shortfall - base shortfall) cell by cell (same shape as `shortfall`).
    """

    shortfall: np.ndarray
    welfare_usd: float
    evaluation: int
    excess: np.ndarray


@dataclass(frozen=True)
class Bounds:
    """The bounds a draw changes in one block: rows (new lower and upper) and columns (new upper)."""

    rows: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    columns: np.ndarray
    column_upper: np.ndarray


@dataclass(frozen=True)
class LevelModel:
    """One demand level: its whole-horizon block and, where periods can be solved apart, a block per
    model period from the horizon on (keyed by the period's index among the model's periods)."""

    whole: Block
    periods: dict[int, Block]


@dataclass(frozen=True)
class Part:
    """A period block's outcome for a draw, how it was obtained, and whether its certificate holds."""

    solved: Solved
    evaluation: int
    certified: bool


def level_market(chain: SupplyChain, risk: ResolvedRisk, level: int) -> SupplyChain:
    """The base scenario's market at a demand level: the data's demand times the level from the horizon
    on, then the scenario applied by `scenario_market`, as `simulate` applies it."""
    multiplier = risk.model.demand.levels[level]
    if multiplier != 1.0:
        in_horizon = chain.data["period"] >= risk.periods[risk.horizon] - 1e-9
        chain = chain.replace(demand=chain["demand"] * xr.where(in_horizon, multiplier, 1.0))
    return scenario_market(chain, risk.scenario)


def period_of_columns(model: linopy.Model, label_to_position: np.ndarray, size: int, periods: int) -> np.ndarray:
    """The period index of every solver column (every variable has a period)."""
    period_index = np.full(size, -1, dtype=np.int64)
    for name in model.variables:
        order = model.variables[name].labels.transpose("period", ...).values.reshape(periods, -1)
        for index in range(periods):
            present = order[index][order[index] >= 0]
            period_index[label_to_position[present]] = index
    return period_index


def linking(program: LinearProgram, period_of_column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose columns lie in more than one period, and the columns in them (boolean masks)."""
    entries = program.matrix.tocoo()
    rows, periods = entries.row, period_of_column[entries.col]
    first = np.full(program.matrix.shape[0], np.iinfo(np.int64).max)
    last = np.full(program.matrix.shape[0], -1)
    np.minimum.at(first, rows, periods)
    np.maximum.at(last, rows, periods)
    linking_rows = first != last
    columns = np.zeros(program.matrix.shape[1], dtype=bool)
    columns[entries.col[linking_rows[rows]]] = True
    return linking_rows, columns


class DrawEvaluator:
    """Evaluates draw patterns on warm-started HiGHS models, one set per demand level, built when first needed.

    `chain` is the data's supply chain for the base scenario, before the scenario is applied.
    """

    def __init__(self, risk: ResolvedRisk, chain: SupplyChain):
        self.risk = risk
        self.chain = chain
        self.sectors = list(risk.sectors)
        self.horizon = risk.horizon
        self.reported_periods = len(risk.periods)
        self.split = True  # solve disrupted periods apart where a certificate allows (tests turn it off)
        self._levels: dict[int, LevelModel] = {}
        self._cache: OrderedDict[bytes, Any] = OrderedDict()
        self._starts: OrderedDict[bytes, Any] = OrderedDict()
        self.solved = 0
        self.whole_solves = 0

    # Building -------------------------------------------------------------------------------

    def level(self, level: int) -> LevelModel:
        """The models of a demand level, built and solved on first use (once per level and worker)."""
        if level not in self._levels:
            market = level_market(self.chain, self.risk, level)
            model_chain = market.with_run_out() if market.links_periods else market
            self._levels[level] = self._build(build_model(model_chain), model_chain)
        return self._levels[level]

    def _build(self, model: linopy.Model, chain: SupplyChain) -> LevelModel:
        """Solve the level's whole LP; fix investment and the periods before the horizon; cut the rest
        into period blocks where the linking columns sit at their lower bounds."""
        program = LinearProgram.of(model)
        columns, rows = model.variables.label_index.label_to_pos, model.constraints.label_index.label_to_pos
        whole = program.solver()
        whole.run()
        require_optimal(whole)
        values = np.asarray(whole.getSolution().col_value)
        del whole
        period = period_of_columns(model, columns, len(program.cost), len(chain.periods))
        fixed = period < self.horizon
        fixed[_present(solver_positions(columns, model.variables["New-capacity"].labels.values))] = True
        reduced, column_map, row_map = program.part(np.ones(len(program.row_lower), dtype=bool), ~fixed, values)
        positions = self._positions(model, chain, columns, rows).mapped(column_map, row_map)
        reported = period < self.reported_periods
        horizon_periods = np.arange(self.reported_periods - self.horizon)
        demand = self._importer_demand(chain)[:, self.horizon:self.reported_periods]
        block = Block.solved(reduced, positions, horizon_periods, demand, np.where(reported[~fixed], reduced.cost, 0.0),
                             float(program.cost[fixed & reported] @ values[fixed & reported]))
        return LevelModel(block, self._period_blocks(block, period[~fixed], len(chain.periods)))

    def _period_blocks(self, whole: Block, period: np.ndarray, periods: int) -> dict[int, Block]:
        """A block per model period from the horizon on, if the linking columns allow and every block's
        base certificate holds; else none (draws are then solved on the whole horizon)."""
        program, values = whole.program, whole.column_values
        linking_rows, linking_columns = linking(program, period)
        if np.abs(values[linking_columns] - program.column_lower[linking_columns]).max(initial=0.0) > AT_BOUND_TOLERANCE:
            return {}
        entries = program.matrix.tocoo()
        row_period = np.full(program.matrix.shape[0], -1)
        row_period[entries.row] = period[entries.col]
        blocks = {}
        for index in range(self.horizon, periods):
            rows, own = ~linking_rows & (row_period == index), period == index
            part, column_map, row_map = program.part(rows, own & ~linking_columns, values)
            held = own & linking_columns
            certificate = Certificate(program.cost[held], scipy.sparse.csr_array(program.matrix[row_map >= 0][:, held].T))
            reported = np.array([index - self.horizon]) if index < self.reported_periods else np.zeros(0, dtype=np.int64)
            block = Block.solved(part, whole.positions.mapped(column_map, row_map), reported, whole.demand[:, reported],
                                 np.where(index < self.reported_periods, part.cost, 0.0), 0.0, certificate,
                                 whole.control_reference)
            if not block.base_certified:
                return {}
            blocks[index] = block
        return blocks

    def _positions(self, model: linopy.Model, chain: SupplyChain, columns: np.ndarray, rows: np.ndarray) -> Positions:
        control, contract = self._control_positions(model, chain, columns, rows)
        served = model.variables["Served"].labels.sel(country=self.risk.importer, sector=self.sectors)
        served_columns = solver_positions(columns, served.transpose("sector", "step", "period").values)
        return Positions(
            capacity_rows=self._capacity_rows(model, rows, len(chain.periods)),
            calibration_columns=self._calibration_columns(model, chain, columns),
            control_columns=control,
            contract_rows=contract,
            served_columns=served_columns[..., self.horizon:self.reported_periods],
        )

    def _capacity_rows(self, model: linopy.Model, rows: np.ndarray, periods: int) -> np.ndarray:
        positions = np.full((len(self.risk.processes), periods), -1, dtype=np.int64)
        for index, process in enumerate(self.risk.processes):
            labels = model.constraints[CAPACITY_CONSTRAINTS[process.stage]].labels.sel(country=process.country)
            positions[index] = solver_positions(rows, labels.transpose("period").values)
        return positions

    def _calibration_columns(self, model: linopy.Model, chain: SupplyChain, columns: np.ndarray) -> np.ndarray:
        """Calibration supply of each process's country and stage (oxides at separation, magnets at magnet)."""
        labels = model.variables["Calibration-supply"].labels.transpose("country", "element", "period")
        positions = np.full((len(self.risk.processes), len(chain.elements), len(chain.periods)), -1, dtype=np.int64)
        goods = {"separation": chain.separated_elements, "magnet": chain.magnet_products}
        for index, process in enumerate(self.risk.processes):
            if process.stage not in CALIBRATED_STAGES:
                continue
            own = np.isin(chain.elements, goods[process.stage])
            positions[index] = np.where(own[:, None], solver_positions(columns, labels.sel(country=process.country).values), -1)
        return positions

    def _control_positions(self, model: linopy.Model, chain: SupplyChain, columns: np.ndarray,
                           rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flow columns (period x edge) of the exports a control cuts, and the contract rows on the same edges."""
        settings = self.risk.model.export_control
        selection: dict[str, Any] = {"stage": list(settings.stages), "exporter": settings.exporter}
        selection["element"] = goods_named(chain, list(settings.elements))
        if "all" not in settings.destinations:
            selection["importer"] = [country for country in settings.destinations if country in chain.countries]
        periods = len(chain.periods)

        def positions(labels: xr.DataArray, index: np.ndarray) -> np.ndarray:
            ordered = labels.sel(selection).transpose("period", ...).values.reshape(periods, -1)
            return solver_positions(index, ordered)

        flows = positions(model.variables["Flow"].labels, columns)
        if "Contract-lower" in model.constraints:
            contract = model.constraints["Contract-lower"].labels.reindex_like(model.variables["Flow"].labels, fill_value=-1)
            contracts = positions(contract, rows)
        else:
            contracts = np.full(flows.shape, -1, dtype=np.int64)
        return flows, contracts

    def _importer_demand(self, chain: SupplyChain) -> np.ndarray:
        demand = (chain["demand"] * chain.years).sel(country=self.risk.importer, sector=self.sectors)
        return np.asarray(demand.transpose("sector", "period").values, dtype=float)

    # Evaluating -----------------------------------------------------------------------------

    def demand(self, level: int) -> np.ndarray:
        """The importer's demand per sector x horizon period (sector units per period) at a level."""
        return self.level(level).whole.demand

    def base_shortfall(self, level: int) -> np.ndarray:
        """The undisrupted shortfall (sector x horizon period) of a demand level."""
        return self.level(level).whole.base.shortfall

    def tightened(self, block: Block, capacity_steps: np.ndarray, control_steps: np.ndarray) -> Bounds:
        """The rows and columns of a block a pattern (over the model's periods) changes, with their new bounds."""
        step = self.risk.model.severity_step
        program, positions = block.program, block.positions
        lost = capacity_steps * step
        capacity = (lost > 0) & (positions.capacity_rows >= 0)
        rows = positions.capacity_rows[capacity]
        row_upper = program.row_upper[rows] * (1.0 - lost[capacity])
        calibration = (lost[:, None, :] > 0) & (positions.calibration_columns >= 0)
        calibrated = positions.calibration_columns[calibration]
        calibrated_upper = program.column_upper[calibrated] * (1.0 - np.broadcast_to(lost[:, None, :], calibration.shape)[calibration])
        cut = np.broadcast_to((control_steps * step)[:, None], positions.control_columns.shape)
        control = (cut > 0) & (positions.control_columns >= 0)
        flows = positions.control_columns[control]
        withheld = block.control_reference[control] * cut[control]
        contracts = positions.contract_rows[control]
        has_contract = contracts >= 0
        contracts = contracts[has_contract]
        contract_lower = np.maximum(program.row_lower[contracts] - withheld[has_contract], 0.0)
        return Bounds(
            rows=np.concatenate([rows, contracts]),
            row_lower=np.concatenate([program.row_lower[rows], contract_lower]),
            row_upper=np.concatenate([row_upper, program.row_upper[contracts]]),
            columns=np.concatenate([calibrated, flows]),
            column_upper=np.concatenate([calibrated_upper, block.control_reference[control] - withheld]),
        )

    @staticmethod
    def binds(block: Block, bounds: Bounds) -> bool:
        """Whether the base solution breaks any tightened bound (if not, it is still optimal).

        Contract rows are only relaxed where a control withholds a positive flow, which binds itself.
        """
        row_tolerance = BINDING_TOLERANCE * np.maximum(1.0, np.abs(bounds.row_upper))
        column_tolerance = BINDING_TOLERANCE * np.maximum(1.0, np.abs(bounds.column_upper))
        return bool(
            (bounds.row_upper - block.row_values[bounds.rows] < -row_tolerance).any()
            or (bounds.column_upper - block.column_values[bounds.columns] < -column_tolerance).any()
        )

    def over_model_periods(self, pattern: Pattern) -> tuple[np.ndarray, np.ndarray]:
        """The draw's steps per model period: the run-out period, if any, repeats the last one."""
        extra = self.level(pattern.demand_level).whole.positions.capacity_rows.shape[1] - self.reported_periods
        capacity, control = pattern.capacity_steps, pattern.control_steps
        if extra:
            capacity = np.concatenate([capacity, np.repeat(capacity[:, -1:], extra, axis=1)], axis=1)
            control = np.concatenate([control, np.repeat(control[-1:], extra)])
        return capacity, control

    def evaluate(self, pattern: Pattern) -> Outcome:
        """The outcome of one draw: the base where the pattern changes nothing that binds, else cached or solved."""
        built = self.level(pattern.demand_level)
        solved, evaluation = self._evaluate(built, pattern)
        excess = np.clip(solved.shortfall - built.whole.base.shortfall, 0.0, None)
        excess[excess < SMALL_SHORTFALL] = 0.0
        return Outcome(solved.shortfall, solved.welfare_usd, evaluation, excess)

    def _evaluate(self, built: LevelModel, pattern: Pattern) -> tuple[Solved, int]:
        if pattern.is_undisrupted():
            return built.whole.base, EVALUATION_BASE
        capacity, control = self.over_model_periods(pattern)
        if self.split and built.periods:
            hit = [index for index in built.periods if capacity[:, index].any() or control[index]]
            parts = {index: self._part(built.periods[index], pattern.demand_level, index, capacity, control) for index in hit}
            if all(part.certified for part in parts.values()):
                return self._combined(built, parts), max(part.evaluation for part in parts.values())
        return self._whole(built.whole, pattern, capacity, control)

    def _part(self, block: Block, level: int, index: int, capacity: np.ndarray, control: np.ndarray) -> Part:
        """One period block under a draw: its own pattern cached, skipped where nothing binds, else solved
        (from the basis of its control alone, if it has a control and capacity losses)."""
        key = b"p" + bytes([level, index]) + capacity[:, index].tobytes() + control[index:index + 1].tobytes()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return Part(cached.solved, EVALUATION_CACHED, cached.certified)
        bounds = self.tightened(block, capacity, control)  # the block's positions are -1 outside its period
        start = block.basis
        if control[index] and capacity[:, index].any():
            start = self._control_start(block, level, index, capacity, control)
        if self.binds(block, bounds):
            solved, duals, _ = self._solve(block, bounds, start)
            part = Part(solved, EVALUATION_SOLVED, block.certificate is None or block.certificate.holds(duals))
        else:
            part = Part(block.base, EVALUATION_BASE, True)
        _remember(self._cache, key, part)
        return part

    def _control_start(self, block: Block, level: int, index: int, capacity: np.ndarray, control: np.ndarray) -> Any:
        """The optimal basis of a block under its control alone (solved from the base basis once)."""
        key = b"p" + bytes([level, index]) + bytes(capacity.shape[0]) + control[index:index + 1].tobytes()
        if key not in self._starts:
            bounds = self.tightened(block, np.zeros_like(capacity), control)
            if self.binds(block, bounds):
                solved, duals, basis = self._solve(block, bounds, block.basis)
                part = Part(solved, EVALUATION_SOLVED, block.certificate is None or block.certificate.holds(duals))
            else:
                part, basis = Part(block.base, EVALUATION_BASE, True), block.basis
            _remember(self._cache, key, part)
            _remember(self._starts, key, basis, START_LIMIT)
        self._starts.move_to_end(key)
        return self._starts[key]

    @staticmethod
    def _combined(built: LevelModel, parts: dict[int, Part]) -> Solved:
        """The base with each disrupted period's block outcome in its place."""
        shortfall, welfare = built.whole.base.shortfall.copy(), built.whole.base.welfare_usd
        for index, part in parts.items():
            block = built.periods[index]
            shortfall[:, block.reported] = part.solved.shortfall
            welfare += part.solved.welfare_usd - block.base.welfare_usd
        return Solved(shortfall, welfare)

    def _whole(self, block: Block, pattern: Pattern, capacity: np.ndarray, control: np.ndarray) -> tuple[Solved, int]:
        """A draw on the whole horizon (where periods cannot be solved apart)."""
        key = b"w" + pattern.key()
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached, EVALUATION_CACHED
        bounds = self.tightened(block, capacity, control)
        if self.binds(block, bounds):
            outcome, how = self._solve(block, bounds, block.basis)[0], EVALUATION_SOLVED
            self.whole_solves += 1
        else:
            outcome, how = block.base, EVALUATION_BASE
        _remember(self._cache, key, outcome)
        return outcome, how

    def solve(self, block: Block, bounds: Bounds) -> Solved:
        """Solve a block with a draw's bounds from its base basis, then restore its bounds."""
        return self._solve(block, bounds, block.basis)[0]

    def _solve(self, block: Block, bounds: Bounds, start: Any) -> tuple[Solved, np.ndarray, Any]:
        """The solve's outcome, its row duals and its optimal basis, starting from the basis `start`.

        If HiGHS stops short of a proven optimum from `start` (rarely: numerical trouble near the end of
        a warm start), it solves again from the block's base basis, then from scratch; the sequence
        depends only on the draw, so results stay deterministic.
        """
        solver, program = block.solver, block.program
        rows, columns = bounds.rows.astype(np.int32), bounds.columns.astype(np.int32)
        solver.changeRowsBounds(len(rows), rows, bounds.row_lower, bounds.row_upper)
        solver.changeColsBounds(len(columns), columns, program.column_lower[columns], bounds.column_upper)
        try:
            for attempt in _attempts(start, block.basis):
                solver.clearSolver()
                if attempt is not None:
                    solver.setBasis(attempt)
                solver.run()
                if solver.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                    break
            require_optimal(solver)
            solution = solver.getSolution()
            outcome, duals = block.outcome(np.asarray(solution.col_value)), np.asarray(solution.row_dual)
            basis = solver.getBasis()
        finally:
            solver.changeRowsBounds(len(rows), rows, program.row_lower[rows], program.row_upper[rows])
            solver.changeColsBounds(len(columns), columns, program.column_lower[columns], program.column_upper[columns])
        self.solved += 1
        return outcome, duals, basis


def _attempts(start: Any, base: Any) -> list[Any]:
    """Starting bases to try in turn: the given one, the base's, then none (a solve from scratch)."""
    return [start, None] if start is base else [start, base, None]


def _present(positions: np.ndarray) -> np.ndarray:
    flat = positions.ravel()
    return flat[flat >= 0]


def _remember(cache: OrderedDict[bytes, Any], key: bytes, value: Any, limit: int = CACHE_LIMIT) -> None:
    """Put a value in a least-recently-used cache of at most `limit` entries."""
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > limit:
        cache.popitem(last=False)
