"""The SupplyChain: every input of the equilibrium model as arrays on named dimensions.

A SupplyChain is one immutable ``xarray.Dataset`` wrapped so that it can be printed, compared and
changed only by making a new copy (``replace``). The equilibrium model reads nothing else, so a
tiny hand-made network (``SupplyChain.from_arrays``) and the bundled data
(``SupplyChain.from_dataset``) go through exactly the same mathematics.

Units: tonnes per period for quantities (a period of ``period_length`` years holds that many
years of flow), USD per kg (= thousand USD per tonne) for money, so the LP's coefficients stay
near one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from raremap.errors import RaremapError
from raremap.vocabulary import STAGES

MAGNET = "NdFeB"
"""The magnet product: it sits on the element dimension so magnet flows and demand share the axes."""

DEFAULT_STEP_SHARES = (0.6, 0.3, 0.1)
"""Shares of each demand quantity in the three willingness-to-pay steps (most valued first)."""

DEFAULT_STEP_VALUES = (3.0, 2.0, 1.2)
"""Willingness to pay of each step as a multiple of the reference value of the product."""

EDGE_DIMENSIONS = ("stage", "exporter", "importer", "element", "period")

_SCHEMA: dict[str, tuple[str, ...]] = {
    "capacity": ("stage", "country", "period"),
    "operating_cost": ("stage", "country"),
    "transport_cost": ("stage",),
    "composition": ("country", "element"),
    "thorium_per_reo": ("country",),
    "metal_factor": ("element",),
    "magnet_recipe": ("element",),
    "demand": ("country", "sector", "element", "period"),
    "willingness_to_pay": ("country", "sector", "element", "step"),
    "step_share": ("step",),
    "base_flow": ("stage", "exporter", "importer"),
    "flow_upper": EDGE_DIMENSIONS,
    "delay_share": EDGE_DIMENSIONS,
    "tariff": EDGE_DIMENSIONS,
    "substitution_rate": ("country", "sector", "element", "period"),
    "substitution_cost": ("country", "sector", "element"),
    "recycling_to_separation": ("country", "element", "period"),
    "recycling_to_metal": ("country", "element", "period"),
    "recycling_cost": (),
    "stock_initial": ("stage", "country", "element"),
    "stock_release_cost": ("stage", "country", "element"),
    "stock_release_limit": ("stage", "country", "element"),
    "stock_refill": ("stage", "country", "element"),
    "stock_holding_cost": (),
}
"""Every array of a SupplyChain with its dimensions, in order."""

_OPTIONAL_SCHEMA: dict[str, tuple[str, ...]] = {
    "magnet_pool": ("element",),
    "magnet_recipe_min": ("element",),
    "route_cost": ("stage", "exporter", "importer"),
    "calibration_supply": ("country", "element"),
    "calibration_cost": ("element",),
}
"""Arrays added later, filled with their neutral default when a SupplyChain is made without them.

``magnet_pool``: 1 for the elements that may replace one another in a magnet (Nd and Pr, the NdPr
pool); their total content per tonne of magnet is the sum of their recipe shares, each at least
``magnet_recipe_min``. ``route_cost``: transport in USD/kg added to ``transport_cost`` per route.
``calibration_supply``: t per year of oxide (magnets for NdFeB) a country supplies beyond the
documented output, at ``calibration_cost`` USD/kg (see docs/simulation.md, calibration).
"""

_DEFAULTS: dict[str, float] = {
    "capacity": 0.0,
    "operating_cost": 0.0,
    "transport_cost": 0.0,
    "composition": 0.0,
    "thorium_per_reo": 0.0,
    "metal_factor": 1.0,
    "magnet_recipe": 0.0,
    "demand": 0.0,
    "willingness_to_pay": 0.0,
    "step_share": 0.0,
    "base_flow": 0.0,
    "flow_upper": np.inf,
    "delay_share": 0.0,
    "tariff": 0.0,
    "substitution_rate": 0.0,
    "substitution_cost": 0.0,
    "recycling_to_separation": 0.0,
    "recycling_to_metal": 0.0,
    "recycling_cost": 0.0,
    "stock_initial": 0.0,
    "stock_release_cost": 0.0,
    "stock_release_limit": np.inf,
    "stock_refill": 0.0,
    "stock_holding_cost": 0.0,
    "magnet_pool": 0.0,
    "magnet_recipe_min": 0.0,
    "route_cost": 0.0,
    "calibration_supply": 0.0,
    "calibration_cost": 0.0,
}


@dataclass(frozen=True)
class SupplyChain:
    """All inputs of the equilibrium model on named dimensions; make changes with ``replace``."""

    data: xr.Dataset

    def __post_init__(self) -> None:
        missing = [name for name in _SCHEMA if name not in self.data]
        if missing:
            raise RaremapError(f"supply chain lacks arrays {', '.join(missing)}; build it with from_arrays")
        for name, dimensions in _SCHEMA.items():
            if self.data[name].dims != dimensions:
                raise RaremapError(
                    f"supply chain array {name} has dimensions {self.data[name].dims}; expected {dimensions}"
                )
        if "period_length" not in self.data.attrs:
            raise RaremapError("supply chain lacks the period_length attribute (years per period)")
        missing_optional = {name: dims for name, dims in _OPTIONAL_SCHEMA.items() if name not in self.data}
        if missing_optional:
            coordinates = {str(dim): list(self.data[dim].values) for dim in self.data.dims}
            filled = {name: _full_array(name, dims, coordinates, None) for name, dims in missing_optional.items()}
            object.__setattr__(self, "data", self.data.assign(filled))
        for name, dimensions in _OPTIONAL_SCHEMA.items():
            if self.data[name].dims != dimensions:
                raise RaremapError(
                    f"supply chain array {name} has dimensions {self.data[name].dims}; expected {dimensions}"
                )

    def __getitem__(self, name: str) -> xr.DataArray:
        return self.data[name]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={size}" for name, size in self.data.sizes.items())
        return f"SupplyChain({sizes}, period_length={self.period_length})"

    @property
    def countries(self) -> list[str]:
        return [str(country) for country in self.data["country"].values]

    @property
    def elements(self) -> list[str]:
        return [str(element) for element in self.data["element"].values]

    @property
    def separated_elements(self) -> list[str]:
        """Elements that come out of separation (every element but the magnet product)."""
        return [element for element in self.elements if element != MAGNET]

    @property
    def sectors(self) -> list[str]:
        return [str(sector) for sector in self.data["sector"].values]

    @property
    def periods(self) -> list[int]:
        return [int(period) for period in self.data["period"].values]

    @property
    def period_length(self) -> int:
        return int(self.data.attrs["period_length"])

    @property
    def links_periods(self) -> bool:
        """Whether anything carries over from one period to the next: licence delays, stocks, substitution."""
        return (
            float(abs(self.data["delay_share"]).max()) > 0.0
            or float(self.data["stock_initial"].max()) > 0.0
            or float(self.data["stock_refill"].max()) > 0.0
            or float(self.data["substitution_rate"].max()) > 0.0
        )

    def with_run_out(self) -> SupplyChain:
        """The chain with one more period after the last, a copy of it, for the LP to look ahead to.

        Without it the horizon's end distorts whatever links periods: shipments held by a licence
        delay in the last period would never arrive, stocks would be worth nothing, and substitution
        adopted late would not pay. The run-out period is solved, then left out of every result.
        Nothing is held in the run-out period itself (its shipments arrive within it): held there,
        they would be lost in turn, and the LP would ship extra in the last reported period to land
        the held share in the run-out, which moves the distortion back instead of removing it.
        """
        last = self.data.isel(period=[-1]).assign_coords(period=[self.periods[-1] + self.period_length])
        last["delay_share"] = xr.zeros_like(last["delay_share"])
        extended = xr.concat([self.data, last], dim="period", data_vars="minimal", coords="minimal", join="exact")
        extended.attrs = dict(self.data.attrs)
        return SupplyChain(extended)

    def replace(self, **arrays: xr.DataArray) -> SupplyChain:
        """A new SupplyChain with some arrays replaced (aligned to the existing coordinates)."""
        data = self.data.copy()
        schema = {**_SCHEMA, **_OPTIONAL_SCHEMA}
        for name, array in arrays.items():
            if name not in schema:
                raise RaremapError(f"unknown supply chain array {name!r}; arrays are {', '.join(schema)}")
            data[name] = array.transpose(*schema[name]).astype(float)
        return SupplyChain(data)

    @classmethod
    def from_arrays(
        cls,
        *,
        countries: Sequence[str],
        elements: Sequence[str],
        sectors: Sequence[str],
        periods: Sequence[int],
        period_length: int = 1,
        step_shares: Sequence[float] = DEFAULT_STEP_SHARES,
        **arrays: Any,
    ) -> SupplyChain:
        """Build from coordinates and any subset of the arrays; the rest take neutral defaults.

        An array may be an ``xr.DataArray`` on (a subset of) its dimensions, or a scalar. Missing
        dimensions broadcast, so ``capacity=xr.DataArray([[10, 0]], ...)`` need not name periods.
        """
        coordinates: dict[str, list[Any]] = {
            "stage": list(STAGES),
            "country": list(countries),
            "exporter": list(countries),
            "importer": list(countries),
            "element": list(elements),
            "sector": list(sectors),
            "period": [int(period) for period in periods],
            "step": list(range(len(step_shares))),
        }
        schema = {**_SCHEMA, **_OPTIONAL_SCHEMA}
        unknown = set(arrays) - set(schema)
        if unknown:
            raise RaremapError(f"unknown supply chain arrays {sorted(unknown)}; arrays are {', '.join(schema)}")
        arrays.setdefault("step_share", xr.DataArray(list(step_shares), dims=["step"]))
        variables = {
            name: _full_array(name, dimensions, coordinates, arrays.get(name))
            for name, dimensions in schema.items()
        }
        return cls(xr.Dataset(variables, attrs={"period_length": int(period_length)}))


def _full_array(
    name: str,
    dimensions: tuple[str, ...],
    coordinates: Mapping[str, list[Any]],
    value: Any,
) -> xr.DataArray:
    """The array `name` on all its dimensions: the given value broadcast, missing entries defaulted."""
    template = xr.DataArray(
        np.full([len(coordinates[dimension]) for dimension in dimensions], _DEFAULTS[name], dtype=float),
        coords={dimension: coordinates[dimension] for dimension in dimensions},
        dims=dimensions,
    )
    if value is None:
        return template
    if not isinstance(value, xr.DataArray):
        return template * 0 + float(value)
    extra = {str(dim) for dim in value.dims} - set(dimensions)
    if extra:
        raise RaremapError(f"supply chain array {name} has unexpected dimensions {sorted(extra)}")
    named = [str(dim) for dim in value.dims if dim in value.coords]
    aligned = value.astype(float).reindex({dim: coordinates[dim] for dim in named})
    aligned = aligned.fillna(_DEFAULTS[name])
    return aligned.broadcast_like(template).transpose(*dimensions).fillna(_DEFAULTS[name])
