"""Sums of variable entries held as plain arrays, made one linopy expression per constraint family.

Every linopy operation (select, sum, multiply, merge) costs milliseconds whatever its size, and a
balance row of the chain model gathers a dozen variable families: built as linopy expressions, the
constraints took most of the model's build time. A `Plain` holds the same sum as (variable labels,
coefficient) arrays, on which selecting, renaming and scaling are cheap xarray steps, and
`Plain.expression` makes the linopy expression once. Coefficients are multiplied in the order linopy
would multiply them, so the model is the same to the last bit.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import linopy
import numpy as np
import pandas as pd
import xarray as xr
from linopy.constants import EQUAL, GREATER_EQUAL, LESS_EQUAL


@dataclass(frozen=True)
class Term:
    """One variable family's entries (labels, -1 where absent) times a coefficient."""

    labels: xr.DataArray
    coefficient: xr.DataArray | float = 1.0

    def sel(self, indexers: Mapping[str, object], drop: bool) -> Term:
        """Each array selected along the dimensions it has (a coefficient may add one, such as the
        element of the metal a magnet product takes)."""
        coefficient = self.coefficient
        if isinstance(coefficient, xr.DataArray):
            coefficient = coefficient.sel(_own(indexers, coefficient), drop=drop)
        return Term(self.labels.sel(_own(indexers, self.labels), drop=drop), coefficient)

    def rename(self, names: Mapping[str, str]) -> Term:
        coefficient = self.coefficient
        if isinstance(coefficient, xr.DataArray):
            coefficient = coefficient.rename({old: new for old, new in names.items() if old in coefficient.dims})
        return Term(self.labels.rename(names), coefficient)


def _own(indexers: Mapping[str, object], array: xr.DataArray) -> dict[Hashable, object]:
    return {dimension: value for dimension, value in indexers.items() if dimension in array.dims}


class Plain:
    """A sum of terms. A term's dimensions beyond those of the rows it is added to are summed over
    (as ``.sum(dimension)`` on a linopy expression); a row dimension a term lacks repeats it."""

    def __init__(self, terms: Sequence[Term]):
        self.terms = tuple(terms)

    @classmethod
    def of(cls, model: linopy.Model, name: str) -> Plain:
        """A variable family, each entry with coefficient 1."""
        return cls([Term(model.variables[name].labels)])

    def sel(self, drop: bool = False, **indexers: object) -> Plain:
        return Plain([term.sel(indexers, drop) for term in self.terms])

    def rename(self, **names: str) -> Plain:
        return Plain([term.rename(names) for term in self.terms])

    def previous(self) -> Plain:
        """The sum one period earlier; before the first period there is nothing."""
        return Plain([Term(term.labels.shift(period=1, fill_value=-1), term.coefficient) for term in self.terms])

    def __mul__(self, coefficient: xr.DataArray | float) -> Plain:
        return Plain([Term(term.labels, term.coefficient * coefficient) for term in self.terms])

    def __truediv__(self, divisor: xr.DataArray) -> Plain:
        return Plain([Term(term.labels, term.coefficient / divisor) for term in self.terms])

    def __neg__(self) -> Plain:
        return Plain([Term(term.labels, -term.coefficient) for term in self.terms])

    def __add__(self, other: Plain) -> Plain:
        return Plain([*self.terms, *other.terms])

    def __sub__(self, other: Plain) -> Plain:
        return self + (-other)

    def expression(self, model: linopy.Model, dimensions: Sequence[str]) -> linopy.LinearExpression:
        """The linopy expression over `dimensions` (in this order; each coordinate as the first term
        that has it gives it). Each row holds its entries in the order the terms were added; an absent
        entry or a zero coefficient adds nothing, so is left out (as the model's sanitising would)."""
        return linopy.LinearExpression(self._rows(dimensions), model)

    def constraint(self, model: linopy.Model, dimensions: Sequence[str], sign: str, rhs: xr.DataArray | float) -> linopy.Constraint:
        """``self sign rhs`` over `dimensions` (`expression`), formed directly: linopy's comparison
        aligns and subtracts whole expressions, some twenty milliseconds a constraint. The right-hand
        side is placed on the rows by label and must give every row a number (rows that do not exist
        are masked, as linopy's v1 semantics require); it is moved across as linopy moves it
        (``-(0 - rhs)``), so even a zero's sign is the same."""
        assert sign in (LESS_EQUAL, GREATER_EQUAL, EQUAL)
        data = self._rows(dimensions)
        bound = rhs if isinstance(rhs, xr.DataArray) else xr.DataArray(float(rhs))
        if extra := set(bound.dims) - set(dimensions):
            raise ValueError(f"the right-hand side has dimensions the rows lack: {sorted(map(str, extra))}")
        bound = bound.reindex({dimension: data.indexes[dimension] for dimension in bound.dims}).astype(float)
        bound = bound.broadcast_like(data["vars"].isel(_term=0, drop=True)).transpose(*dimensions)
        if bool(bound.isnull().any()):
            raise ValueError("the right-hand side has no number for some rows; mask them instead")
        data["sign"] = sign
        data["rhs"] = -(0.0 - bound.drop_vars([name for name in bound.coords if name not in dimensions]))
        return linopy.Constraint(data, model)

    def _rows(self, dimensions: Sequence[str]) -> xr.Dataset:
        coords = _row_coords(self.terms, dimensions)
        shape = tuple(len(index) for index in coords.values())
        rows, variables, coefficients = [], [], []
        for term in self.terms:
            labels, coefficient = _on_rows(term, coords)
            kept = (labels >= 0) & (coefficient != 0)
            rows.append(np.nonzero(kept.reshape(int(np.prod(shape)), -1))[0])
            variables.append(labels[kept])
            coefficients.append(coefficient[kept])
        return _packed(coords, shape, rows, variables, coefficients)


def _packed(
    coords: Mapping[str, pd.Index], shape: tuple[int, ...], rows: list[np.ndarray], variables: list[np.ndarray],
    coefficients: list[np.ndarray],
) -> xr.Dataset:
    """Entries given as (row, label, coefficient) lists laid out as linopy's [rows..., _term] arrays."""
    row = np.concatenate(rows)
    order = np.argsort(row, kind="stable")  # by row; within a row, in the order given
    row = row[order]
    count = np.bincount(row, minlength=int(np.prod(shape)))
    width = max(int(count.max(initial=0)), 1)
    position = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
    labels = np.full((len(count), width), -1, dtype=variables[0].dtype)
    coefficient = np.full((len(count), width), np.nan)
    labels[row, position] = np.concatenate(variables)[order]
    coefficient[row, position] = np.concatenate(coefficients)[order]
    dims = (*coords, "_term")
    return xr.Dataset(
        {"coeffs": (dims, coefficient.reshape(*shape, width)), "vars": (dims, labels.reshape(*shape, width))}, coords=coords
    )


def _row_coords(terms: Sequence[Term], dimensions: Sequence[str]) -> dict[str, pd.Index]:
    coords: dict[str, pd.Index] = {}
    for dimension in dimensions:
        for term in terms:
            for array in (term.labels, term.coefficient):
                if isinstance(array, xr.DataArray) and dimension in array.dims:
                    coords[dimension] = array.indexes[dimension]
                    break
            if dimension in coords:
                break
        else:
            raise ValueError(f"no term has the row dimension {dimension}")
    return coords


def _on_rows(term: Term, coords: Mapping[str, pd.Index]) -> tuple[np.ndarray, np.ndarray]:
    """A term's labels and coefficients as arrays [rows..., summed...]: the labels placed on the rows'
    coordinates, the coefficient aligned to them (as linopy aligns it to the labels), both broadcast
    to each other. Reindexed only where an index differs, broadcast as numpy views: xarray's align and
    broadcast cost a few milliseconds a term whatever its size."""
    labels = _placed(term.labels, coords, fill=-1)
    coefficient = term.coefficient
    if not isinstance(coefficient, xr.DataArray):
        order = [*coords, *(str(dimension) for dimension in labels.dims if dimension not in coords)]
        values = _broadcast(labels, order, _sizes(order, coords, labels))
        return values, np.full(values.shape, float(coefficient))
    coefficient = _placed(coefficient, {**{str(d): i for d, i in labels.indexes.items() if d not in coords}, **coords}, fill=np.nan)
    summed = [str(dimension) for dimension in labels.dims if dimension not in coords]
    summed += [str(dimension) for dimension in coefficient.dims if dimension not in coords and dimension not in labels.dims]
    order = [*coords, *summed]
    shape = _sizes(order, coords, labels, coefficient)
    return _broadcast(labels, order, shape), _broadcast(coefficient, order, shape)


def _placed(array: xr.DataArray, coords: Mapping[str, pd.Index], fill: float) -> xr.DataArray:
    """`array` reindexed to `coords` along the dimensions it has whose index differs."""
    differing = {
        dimension: index for dimension, index in coords.items() if dimension in array.dims and not array.indexes[dimension].equals(index)
    }
    if not differing:
        return array
    if fill == -1:  # labels: no entry may fall outside the rows
        for dimension, index in differing.items():
            outside = array.indexes[dimension].difference(index)
            if len(outside) and bool((array.sel({dimension: outside}) >= 0).any()):
                raise ValueError(f"a term has entries outside the rows' {dimension}: {list(outside)}")
    return array.reindex(differing, fill_value=fill)


def _sizes(order: Sequence[str], coords: Mapping[str, pd.Index], *arrays: xr.DataArray) -> tuple[int, ...]:
    sizes = {dimension: len(index) for dimension, index in coords.items()}
    for array in arrays:
        sizes = {**{str(d): n for d, n in array.sizes.items()}, **sizes}
    return tuple(sizes[dimension] for dimension in order)


def _broadcast(array: xr.DataArray, order: Sequence[str], shape: tuple[int, ...]) -> np.ndarray:
    """`array`'s values with its dimensions in `order`, repeated (as a view) along those it lacks."""
    present = [dimension for dimension in order if dimension in array.dims]
    values = array.transpose(*present).values
    return np.broadcast_to(values.reshape([array.sizes[d] if d in array.dims else 1 for d in order]), shape)
