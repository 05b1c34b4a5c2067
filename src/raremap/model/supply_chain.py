"""The SupplyChain: every input of the equilibrium model as arrays on named dimensions.

A SupplyChain is one immutable ``xarray.Dataset`` wrapped so that it can be printed, compared and
changed only by making a new copy (``replace``). The equilibrium model reads nothing else, so a
tiny hand-made network (``SupplyChain.from_arrays``) and the bundled data
(``SupplyChain.from_dataset``) go through exactly the same mathematics.

Goods sit on the ``element`` dimension: separated elements (La ... Lu, Y), traded as oxide and as
metal, and magnet products (NdFeB grades, SmCo), traded as magnets; ``is_product`` tells them apart.
A magnet product's ``recipe`` lists the metal of each element (on the ``ingredient`` dimension) in
a tonne of magnet.

Buyers are country x sector. A sector buys a fixed bundle of goods per unit (``bundle``): magnet
sectors buy magnet products (t magnet per t magnet, by grade mix), application sectors buy oxides
(t oxide per t REO, by element mix). Each buyer has a stepwise demand curve: ``step_share`` of its
demand at ``willingness_to_pay`` per step.

Units: tonnes per year for rates (capacity, demand, quotas, contracts), tonnes per period inside the
model (a rate x ``period_years``), USD per kg (= thousand USD per tonne) for money, so the LP's
coefficients stay near one. Periods are named by their start in fractional years.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from raremap.errors import RaremapError
from raremap.model.periods import PeriodGrid
from raremap.vocabulary import STAGES, TRADED_STAGES

EDGE_DIMENSIONS = ("stage", "exporter", "importer", "element", "period")

DEFAULT_STEP_SHARES = (0.6, 0.3, 0.1)
"""Shares of each buyer's demand in the three steps of a hand-made chain (most valued first)."""

_SCHEMA: dict[str, tuple[str, ...]] = {
    # supply
    "capacity": ("stage", "country", "period"),
    "operating_cost": ("stage", "country"),
    "investment_cost": ("stage", "country"),
    "investment_lead_years": ("stage", "country"),
    "investment_rate_limit": ("stage", "country"),
    "investment_pooled": ("stage", "country"),
    "investment_pool_limit": ("stage", "period"),
    "investment_committed": ("stage", "country", "period"),
    "investment_ceiling": ("stage", "country", "period"),
    "composition": ("country", "element"),
    "thorium_per_reo": ("country",),
    "metal_factor": ("element",),
    "is_product": ("element",),
    "reference_price": ("element",),
    "recipe": ("element", "ingredient"),
    "magnet_pool": ("ingredient",),
    "pool_floor": ("ingredient",),
    # demand
    "demand": ("country", "sector", "period"),
    "bundle": ("country", "sector", "element"),
    "willingness_to_pay": ("country", "sector", "step"),
    "step_share": ("step",),
    "substitution_rate": ("country", "sector", "period"),
    "substitution_cost": ("country", "sector"),
    # trade
    "transport_cost": ("stage",),
    "route_cost": ("stage", "exporter", "importer"),
    "handling_cost": ("element",),
    "tariff": EDGE_DIMENSIONS,
    "flow_upper": EDGE_DIMENSIONS,
    "route_withheld": EDGE_DIMENSIONS,
    "base_flow": ("stage", "exporter", "importer", "element"),
    "contract": EDGE_DIMENSIONS,
    "contract_breach_cost": ("element",),
    "route_growth": ("stage", "importer", "element"),
    "concentrate_route": ("exporter", "importer"),
    "reexport_allowed": ("stage", "country", "element", "period"),
    # stocks, recycling, calibration
    "stock_initial": ("stage", "country", "element"),
    "stock_release_cost": ("stage", "country", "element"),
    "stock_release_limit": ("stage", "country", "element"),
    "stock_release_schedule": ("stage", "country", "element", "period"),
    "stock_scheduled": ("stage", "country", "element"),
    "stock_refill": ("stage", "country", "element"),
    "stock_holding_cost": ("element",),
    "recycling_available": ("country", "element", "tier", "period"),
    "recycling_cost": ("tier",),
    "calibration_supply": ("country", "element"),
    "calibration_cost": ("element",),
    "finishing_cost": ("element",),
    "scrap_share": ("country",),
}
"""Every array of a SupplyChain with its dimensions, in order.

Supply: ``capacity`` in service (t/yr; REO fed at separation, all metals at metal, all magnets at
magnet); ``investment_*``: new capacity the LP may build at ``investment_cost`` (USD/kg per year
of capacity, the annualised capital cost), available ``investment_lead_years`` after the base year,
growing by at most ``investment_rate_limit`` t/yr per year per country and, for the ``pooled``
countries together, ``investment_pool_limit`` per year; ``investment_committed`` is capacity
already decided (t/yr) that the LP must keep and ``investment_ceiling`` the most it may have built. Trade: ``flow_upper`` (t/yr; export controls),
``base_flow`` (t/yr, the model's own
base-year flows), ``contract`` (t/yr under term contracts, soft at ``contract_breach_cost`` USD/kg),
``route_growth`` (share points of an importer's imports per year by which its suppliers' shares may
move away from their base-year shares; inf = not sticky), ``route_withheld`` (t/yr an export
restriction keeps off an edge that the edge would carry without it: still counted in the importer's
imports when its suppliers' shares are taken, so a cut supplier's share is re-sourced only as fast as
routes move and its other suppliers keep theirs),
``reexport_allowed`` (1 where a country may export goods it did not make: released stock, imports);
``concentrate_route`` (1 where ore may move from a mine to a separator; 0 closes the route).
Prices: ``reference_price`` (USD/kg) is each good's base-year market price, the point every demand
curve passes through and the price of calibration supply.
Co-products: ``finishing_cost`` (USD/kg) is paid on each tonne of a separated element a country sells
(what it separated or recovered, less what it leaves unsold); a co-product in surplus then sells at
this cost rather than at 0.
Magnets: ``magnet_pool`` marks the elements whose metal may replace one another in a magnet (Nd and
Pr, the NdPr pool: their total per tonne of magnet is fixed by the recipe); a member with
``pool_floor`` keeps at least its own recipe share (Nd may replace Pr, not the reverse).
Stocks: a stock with ``stock_scheduled`` is released exactly by its ``stock_release_schedule`` (t per period released by a shortfall rule; a floor on release).
Stocks cost ``stock_holding_cost`` (USD/kg per year, per good) to hold.
Recycling: ``recycling_available`` (t/yr of metal recoverable per price tier at ``recycling_cost``,
USD/kg of that metal), offered as oxide to the separation market of the recycling country (t metal /
``metal_factor``): recyclers leach retired magnets to oxide, which is reduced to metal again.
Process scrap: ``scrap_share`` of the metal a country puts into magnets comes back to it as oxide in
the same period (machining swarf and rejects of sintered blanks, recycled by the maker): a tonne of
magnet is output as reported, blank mass, and holds recipe x (1 - scrap_share) of rare earths net.
"""

_DEFAULTS: dict[str, float] = {
    "capacity": 0.0,
    "operating_cost": 0.0,
    "investment_cost": 0.0,
    "investment_lead_years": np.inf,
    "investment_rate_limit": np.inf,
    "investment_pooled": 0.0,
    "investment_pool_limit": np.inf,
    "investment_committed": 0.0,
    "investment_ceiling": np.inf,
    "composition": 0.0,
    "thorium_per_reo": 0.0,
    "metal_factor": 1.0,
    "is_product": 0.0,
    "reference_price": 0.0,
    "recipe": 0.0,
    "magnet_pool": 0.0,
    "pool_floor": 0.0,
    "demand": 0.0,
    "bundle": 0.0,
    "willingness_to_pay": 0.0,
    "step_share": 0.0,
    "substitution_rate": 0.0,
    "substitution_cost": 0.0,
    "transport_cost": 0.0,
    "route_cost": 0.0,
    "handling_cost": 0.0,
    "tariff": 0.0,
    "flow_upper": np.inf,
    "route_withheld": 0.0,
    "base_flow": 0.0,
    "contract": 0.0,
    "contract_breach_cost": 0.0,
    "route_growth": np.inf,
    "concentrate_route": 1.0,
    "reexport_allowed": 0.0,
    "stock_initial": 0.0,
    "stock_release_cost": 0.0,
    "stock_release_limit": np.inf,
    "stock_release_schedule": 0.0,
    "stock_scheduled": 0.0,
    "stock_refill": 0.0,
    "stock_holding_cost": 0.0,
    "recycling_available": 0.0,
    "recycling_cost": 0.0,
    "calibration_supply": 0.0,
    "calibration_cost": 0.0,
    "finishing_cost": 0.0,
    "scrap_share": 0.0,
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
        if "period_years" not in self.data:
            raise RaremapError("supply chain lacks period_years (the length of each period in years)")

    def __getitem__(self, name: str) -> xr.DataArray:
        return self.data[name]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={size}" for name, size in self.data.sizes.items())
        return f"SupplyChain({sizes})"

    @property
    def countries(self) -> list[str]:
        return [str(country) for country in self.data["country"].values]

    @property
    def elements(self) -> list[str]:
        return [str(element) for element in self.data["element"].values]

    @property
    def separated_elements(self) -> list[str]:
        """Elements that come out of separation (every good but the magnet products)."""
        return [element for element, product in zip(self.elements, self.data["is_product"].values, strict=True) if not product]

    @property
    def magnet_products(self) -> list[str]:
        return [element for element, product in zip(self.elements, self.data["is_product"].values, strict=True) if product]

    @property
    def sectors(self) -> list[str]:
        return [str(sector) for sector in self.data["sector"].values]

    @property
    def periods(self) -> list[float]:
        return [float(period) for period in self.data["period"].values]

    @property
    def years(self) -> xr.DataArray:
        """Years per period (multiply a rate in t/yr by this for tonnes in the period)."""
        return self.data["period_years"]

    @property
    def grid(self) -> PeriodGrid:
        return PeriodGrid(tuple(self.periods), tuple(float(value) for value in self.years.values))

    @property
    def links_periods(self) -> bool:
        """Whether anything carries over from one period to the next (so the horizon's end matters).

        Stocks, substitution, investment and route growth do (a licence delay does not: see
        simulate/apply.py, it halts an edge for its length).
        """
        return (
            float(self.data["stock_initial"].max()) > 0.0
            or float(self.data["stock_refill"].max()) > 0.0
            or float(self.data["substitution_rate"].max()) > 0.0
            or bool(np.isfinite(self.data["investment_lead_years"]).any())
            or bool(np.isfinite(self.data["route_growth"]).any())
        )

    def content(self, goods: xr.DataArray) -> xr.DataArray:
        """t REO of each rare earth in goods on the element dimension (oxides as they are, magnets by recipe)."""
        oxides = goods.sel(element=self.separated_elements)
        products = goods.sel(element=self.magnet_products).rename(element="product")
        recipe = self.data["recipe"].sel(element=self.magnet_products).rename(element="product", ingredient="element")
        return oxides + (recipe * products).sum("product") / self.data["metal_factor"].sel(element=self.separated_elements)

    def with_run_out(self) -> SupplyChain:
        """The chain with one more period after the last, a copy of it, for the LP to look ahead to.

        Without it the horizon's end distorts whatever links periods: stocks would be worth nothing,
        and investment or substitution adopted late would not pay. The run-out period is solved, then
        left out of every result. Nothing is released by a shortfall rule in the run-out period.
        """
        grid = self.grid.with_run_out()
        last = self.data.isel(period=[-1]).assign_coords(period=[grid.starts[-1]])
        last["stock_release_schedule"] = xr.zeros_like(last["stock_release_schedule"])
        extended = xr.concat([self.data, last], dim="period", data_vars="minimal", coords="minimal", join="exact")
        extended.attrs = dict(self.data.attrs)
        return SupplyChain(extended)

    def for_periods(self, periods: Sequence[float]) -> SupplyChain:
        """The chain restricted to some of its periods (the first ones, for a base-year solve)."""
        return SupplyChain(self.data.sel(period=list(periods)))

    def replace(self, **arrays: xr.DataArray) -> SupplyChain:
        """A new SupplyChain with some arrays replaced (aligned to the existing coordinates)."""
        data = self.data.copy()
        for name, array in arrays.items():
            if name not in _SCHEMA and name not in OPTIONAL_ARRAYS:
                raise RaremapError(f"unknown supply chain array {name!r}; arrays are {', '.join(_SCHEMA)}")
            dimensions = _SCHEMA.get(name) or OPTIONAL_ARRAYS[name]
            data[name] = array.transpose(*dimensions).astype(float)
        return SupplyChain(data)

    def with_recycling_tiers(self, available: xr.DataArray, cost: xr.DataArray) -> SupplyChain:
        """A new SupplyChain whose recycling price tiers are these (`replace` keeps the tier coordinate,
        so it cannot add tiers)."""
        data = self.data.drop_vars(["recycling_available", "recycling_cost", "tier"])
        data["recycling_available"] = available.transpose(*_SCHEMA["recycling_available"]).fillna(0.0).astype(float)
        data["recycling_cost"] = cost.transpose(*_SCHEMA["recycling_cost"]).astype(float)
        return SupplyChain(data)

    @classmethod
    def from_arrays(
        cls,
        *,
        countries: Sequence[str],
        elements: Sequence[str],
        sectors: Sequence[str],
        periods: Sequence[float] | PeriodGrid,
        products: Sequence[str] = (),
        step_shares: Sequence[float] = DEFAULT_STEP_SHARES,
        tiers: int = 1,
        **arrays: Any,
    ) -> SupplyChain:
        """Build from coordinates and any subset of the arrays; the rest take neutral defaults.

        `elements` are the separated elements; `products` the magnet products (both end up on the
        `element` dimension). `periods` are yearly starts or a PeriodGrid. An array may be an
        ``xr.DataArray`` on (a subset of) its dimensions, or a scalar; missing dimensions broadcast.
        """
        grid = periods if isinstance(periods, PeriodGrid) else PeriodGrid.yearly([int(p) for p in periods])
        goods = [*elements, *products]
        coordinates: dict[str, list[Any]] = {
            "stage": list(STAGES),
            "country": list(countries),
            "exporter": list(countries),
            "importer": list(countries),
            "element": goods,
            "ingredient": list(elements),
            "sector": list(sectors),
            "period": list(grid.starts),
            "step": list(range(len(step_shares))),
            "tier": list(range(tiers)),
        }
        unknown = set(arrays) - set(_SCHEMA) - set(OPTIONAL_ARRAYS)
        if unknown:
            raise RaremapError(f"unknown supply chain arrays {sorted(unknown)}; arrays are {', '.join(_SCHEMA)}")
        arrays.setdefault("step_share", xr.DataArray(list(step_shares), dims=["step"]))
        arrays.setdefault("is_product", xr.DataArray([good in products for good in goods], dims=["element"], coords={"element": goods}))
        variables = {name: _full_array(name, dimensions, coordinates, arrays.get(name)) for name, dimensions in _SCHEMA.items()}
        variables["period_years"] = grid.lengths_array()
        for name, dimensions in OPTIONAL_ARRAYS.items():
            if name in arrays:
                variables[name] = arrays[name].transpose(*dimensions).astype(float)
        return cls(xr.Dataset(variables))


OPTIONAL_ARRAYS: dict[str, tuple[str, ...]] = {
    "quota_member": ("quota", "stage", "exporter", "importer", "element"),
    "quota_limit": ("quota", "period"),
}
"""Tonnage quotas, present only when a scenario sets one: which edges share a limit (t/yr)."""


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
        return xr.full_like(template, float(value))
    extra = {str(dim) for dim in value.dims} - set(dimensions)
    if extra:
        raise RaremapError(f"supply chain array {name} has unexpected dimensions {sorted(extra)}")
    named = [str(dim) for dim in value.dims if dim in value.coords]
    aligned = value.astype(float).reindex({dim: coordinates[dim] for dim in named})
    aligned = aligned.fillna(_DEFAULTS[name])
    return aligned.broadcast_like(template).transpose(*dimensions).fillna(_DEFAULTS[name])


def traded(stage_array: xr.DataArray) -> xr.DataArray:
    """The traded stages of an array with a stage dimension."""
    return stage_array.sel(stage=list(TRADED_STAGES))
