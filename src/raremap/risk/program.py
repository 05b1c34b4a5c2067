"""Linear programs as arrays, and the HiGHS models a Monte Carlo run solves again and again.

A `LinearProgram` is min cost @ x subject to row bounds on matrix @ x and column bounds, taken from a
linopy model once. Columns can be fixed at values (they leave; their activity moves into the row
bounds), and a program can be cut into blocks of periods. A `Block` is one such program in HiGHS with
its optimal base solution and basis, and the positions of what a draw changes or reads in it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import highspy
import linopy
import numpy as np
import scipy.sparse

from raremap.errors import RaremapError
from raremap.model.quiet import quiet_stdout

DEVEX_PRICING = 1
"""HiGHS's code for Devex dual edge weights (option simplex_dual_edge_weight_strategy)."""
SMALL_SHORTFALL = 1e-6
"""Tonnes of shortfall below which a cell is solver noise (written as 0)."""
REDUCED_COST_TOLERANCE = 1e-7
"""A column at its lower bound stays optimal while its reduced cost is above -this x max(1, |cost|)."""


@dataclass(frozen=True)
class LinearProgram:
    """min cost @ x subject to row_lower <= matrix @ x <= row_upper and column bounds, as arrays."""

    matrix: Any  # scipy.sparse.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    column_lower: np.ndarray
    column_upper: np.ndarray
    cost: np.ndarray

    @classmethod
    def of(cls, model: linopy.Model) -> LinearProgram:
        """The arrays of a linopy model (in the order of its label indexes)."""
        matrices = model.matrices
        if matrices.A is None:
            raise RaremapError("the equilibrium model has no constraints; nothing for a risk run to disrupt")
        if not (matrices.var_scaling == 1).all():
            raise RaremapError("the equilibrium model uses solver scaling, which the risk engine does not support")
        sense, rhs = matrices.sense, matrices.b
        return cls(
            matrix=scipy.sparse.csr_array(matrices.A),
            row_lower=np.where(sense != "<", rhs, -np.inf),
            row_upper=np.where(sense != ">", rhs, np.inf),
            column_lower=np.asarray(matrices.lb, dtype=float),
            column_upper=np.asarray(matrices.ub, dtype=float),
            cost=np.asarray(matrices.c, dtype=float),
        )

    def part(self, rows: np.ndarray, columns: np.ndarray, values: np.ndarray) -> tuple[LinearProgram, np.ndarray, np.ndarray]:
        """The program on some rows and columns (boolean masks), every other column held at `values`:
        their activity moves into the row bounds, and rows left without a column go too. Also the new
        position of every old column and row (-1 where gone)."""
        shift = self.matrix[:, ~columns] @ values[~columns]
        matrix = scipy.sparse.csr_array(self.matrix[:, columns])
        kept_rows = rows & (np.diff(matrix.indptr) > 0)
        column_map = np.where(columns, np.cumsum(columns) - 1, -1)
        row_map = np.where(kept_rows, np.cumsum(kept_rows) - 1, -1)
        program = LinearProgram(
            matrix=scipy.sparse.csr_array(matrix[kept_rows]),
            row_lower=(self.row_lower - shift)[kept_rows],
            row_upper=(self.row_upper - shift)[kept_rows],
            column_lower=self.column_lower[columns],
            column_upper=self.column_upper[columns],
            cost=self.cost[columns],
        )
        return program, column_map, row_map

    def solver(self) -> Any:
        """A silent HiGHS model of this program."""
        with quiet_stdout():
            solver = highspy.Highs()
        solver.setOptionValue("output_flag", False)
        # Devex pricing: every draw starts from a cleared solver, where HiGHS's default steepest-edge
        # pricing would first recompute its edge weights; Devex needs none and is faster here.
        solver.setOptionValue("simplex_dual_edge_weight_strategy", DEVEX_PRICING)
        count = len(self.cost)
        solver.addVars(count, self.column_lower, self.column_upper)
        solver.changeColsCost(count, np.arange(count, dtype=np.int32), self.cost)
        matrix = self.matrix
        solver.addRows(matrix.shape[0], self.row_lower, self.row_upper, matrix.nnz, matrix.indptr, matrix.indices, matrix.data)
        return solver


def require_optimal(solver: Any) -> None:
    status = solver.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise RaremapError(
            f"a Monte Carlo draw was not solved to optimality ({solver.modelStatusToString(status)}); "
            "this is a model bug, please report it with the risk file"
        )


def mapped(positions: np.ndarray, new_position: np.ndarray) -> np.ndarray:
    """Positions in a part of a program of entries given by their position in the whole one (-1 stays -1)."""
    return np.where(positions >= 0, new_position[np.where(positions >= 0, positions, 0)], -1)


@dataclass(frozen=True)
class Positions:
    """Where a draw acts and what it reads, as rows or columns of one program (-1 where absent).

    Period axes run over the model's periods; `served_columns` over the horizon's reported periods.
    """

    capacity_rows: np.ndarray  # [process, period]: each row's upper bound is the capacity in service
    calibration_columns: np.ndarray  # [process, good, period]
    control_columns: np.ndarray  # [period, edge]: the exporter's flows a control cuts
    contract_rows: np.ndarray  # [period, edge]: the contracts on the same edges
    served_columns: np.ndarray  # [sector, step, horizon period]: the importer's demand served

    def mapped(self, column_map: np.ndarray, row_map: np.ndarray) -> Positions:
        return Positions(
            capacity_rows=mapped(self.capacity_rows, row_map),
            calibration_columns=mapped(self.calibration_columns, column_map),
            control_columns=mapped(self.control_columns, column_map),
            contract_rows=mapped(self.contract_rows, row_map),
            served_columns=mapped(self.served_columns, column_map),
        )


@dataclass(frozen=True)
class Solved:
    """What a solve gives a draw: the importer's shortfall (sector x the block's reported periods) and
    welfare (USD, without the run-out period)."""

    shortfall: np.ndarray
    welfare_usd: float


@dataclass(frozen=True)
class Certificate:
    """Columns held at their lower bound while a block is solved alone, with what their reduced costs need:
    if every one is non-negative at the block's duals (the rows left out priced at 0), the block's
    solution is optimal in the program it was cut from too."""

    cost: np.ndarray
    matrix: Any  # scipy.sparse.csr_array: held columns x block rows

    def holds(self, row_duals: np.ndarray) -> bool:
        reduced = self.cost - self.matrix @ row_duals
        return bool((reduced >= -REDUCED_COST_TOLERANCE * np.maximum(1.0, np.abs(self.cost))).all())


@dataclass(frozen=True)
class Block:
    """One program in HiGHS, its optimal base solution and basis, and what a draw changes or reads in it.

    `reported` are the horizon periods whose shortfall it gives (the run-out period gives none);
    `demand` is the importer's demand there (sector x reported period, sector units per period);
    `control_reference` is the base flow of every controlled edge (period x edge, as
    `positions.control_columns`), taken from one solution of the whole horizon so that every block
    withholds shares of the same flows.
    """

    program: LinearProgram
    solver: Any  # highspy.Highs; its type stubs lack the bound-changing methods used here
    basis: Any
    column_values: np.ndarray
    row_values: np.ndarray
    positions: Positions
    reported: np.ndarray
    demand: np.ndarray
    reported_cost: np.ndarray
    fixed_cost: float
    certificate: Certificate | None
    base: Solved
    base_certified: bool
    control_reference: np.ndarray

    @classmethod
    def solved(cls, program: LinearProgram, positions: Positions, reported: np.ndarray, demand: np.ndarray,
               reported_cost: np.ndarray, fixed_cost: float, certificate: Certificate | None = None,
               control_reference: np.ndarray | None = None) -> Block:
        """The program solved from scratch, with its base outcome (and, unless given, its own base flows as
        the control reference)."""
        solver = program.solver()
        solver.run()
        require_optimal(solver)
        solution = solver.getSolution()
        certified = certificate is None or certificate.holds(np.asarray(solution.row_dual))
        values = np.asarray(solution.col_value)
        if control_reference is None:
            control_reference = np.where(positions.control_columns >= 0, np.append(values, 0.0)[positions.control_columns], 0.0)
        block = cls(program, solver, solver.getBasis(), values, np.asarray(solution.row_value),
                    replace(positions, served_columns=positions.served_columns[..., reported]), reported, demand,
                    reported_cost, fixed_cost, certificate, Solved(np.empty(0), 0.0), certified, control_reference)
        return replace(block, base=block.outcome(block.column_values))

    def outcome(self, columns: np.ndarray) -> Solved:
        """Importer shortfall = demand - served (substituted demand is part of it), and welfare without the
        run-out period, as `simulate` reports them."""
        values = np.append(columns, 0.0)
        served = values[self.positions.served_columns].sum(axis=1)
        shortfall = np.clip(self.demand - served, 0.0, None)
        shortfall[shortfall < SMALL_SHORTFALL] = 0.0
        return Solved(shortfall, -(float(self.reported_cost @ columns) + self.fixed_cost) * 1000.0)

