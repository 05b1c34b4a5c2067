"""Calibration: the undocumented supply that lets the base year of the bundled data clear, the
prices of co-products in surplus, and the model's own base-year flows.

USGS's China mine figures are production quotas that exclude undocumented output, so documented
supply alone cannot serve documented base-year demand. A solve of the base year finds what the
calibration country must add, at observed prices, so that every documented buyer is served. The
tonnage is offered in every period, constant, and reported (with its share of its market) in the
`calibration` result table.

The same solve shows which separated elements nobody buys in full (Ce, Dy, Sm, Y, ...: separation
yields every element of its feed). Observed prices of such co-products stay positive (Argus reports
the 2024 Dy and Tb surplus widening at Dy 260 and Tb 810 USD/kg): a separator sells a co-product
only at what finishing it to a saleable oxide, or holding it, is worth to it, and leaves the rest
unsold. So each element the base year leaves unsold gets a finishing cost equal to its base-year
price, paid on what separation sells, never on what it leaves (`equilibrium`, objective).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from raremap.model.equilibrium import build_model
from raremap.model.quiet import quiet_stdout
from raremap.model.solution import solve_model
from raremap.model.supply_chain import SupplyChain
from raremap.vocabulary import STAGES

CALIBRATION_COUNTRY = "CHN"
"""Where the calibration supply sits: USGS's China mine figures are production quotas that exclude
undocumented output (and China's separation and magnet figures are estimates)."""
UNLIMITED_T = 1e7
"""Tonnes per year the calibration solve may add of any good: more than the world uses."""
CALIBRATION_TOLERANCE_T = 1e-3
"""Tonnes per year below which a calibration entry is solver noise."""
CO_PRODUCT_SURPLUS_T = 1.0
"""Tonnes per year of an element left unsold in the base year from which it is a co-product in surplus."""


def calibration_costs(chain: SupplyChain) -> xr.DataArray:
    """USD/kg of calibration supply: the good's base-year market price (undocumented output sells at the
    market price, so it neither undercuts nor is undercut by documented supply)."""
    return chain["reference_price"].copy()


def base_year(chain: SupplyChain) -> SupplyChain:
    """The first period alone, without what links periods (substitution, stocks, stickiness)."""
    first = chain.for_periods(chain.periods[:1])
    return first.replace(
        substitution_rate=xr.zeros_like(first["substitution_rate"]),
        route_growth=xr.full_like(first["route_growth"], np.inf),
        contract=xr.zeros_like(first["contract"]),
    )


@dataclass(frozen=True)
class BaseYearSolution:
    """What the base-year solve gives the rest of the horizon: calibration supply, what separation could
    not sell, and the flows of trade."""

    calibration_supply: xr.DataArray  # t/yr [country, element]
    surplus: xr.DataArray  # t/yr of separated oxide left unsold [country, element]
    flows: xr.DataArray  # t/yr [stage, exporter, importer, element]


def solve_base_year(chain: SupplyChain, calibrate: bool = True) -> BaseYearSolution:
    """One solve of the base year in which the calibration country may add any good without limit at the
    good's base-year price: it adds exactly what documented supply cannot deliver at observed prices.

    The same solve gives the model's own base-year trade, the anchor of contracts and route growth.
    """
    first = base_year(chain)
    cost = calibration_costs(chain)
    if calibrate and CALIBRATION_COUNTRY in chain.countries:
        unlimited = xr.where(first.data["country"] == CALIBRATION_COUNTRY, UNLIMITED_T, 0.0) * xr.ones_like(cost)
        first = first.replace(calibration_supply=unlimited.transpose("country", "element"), calibration_cost=cost)
    model = build_model(first)
    with quiet_stdout():
        solve_model(model)
    years = float(first.years.values[0])

    def per_year(name: str) -> xr.DataArray:
        """A variable's base-year solution in t/yr, solver noise set to 0."""
        values = model.variables[name].solution.fillna(0.0).isel(period=0, drop=True) / years
        return values.where(values > CALIBRATION_TOLERANCE_T, 0.0)

    goods = {"country": chain.countries, "element": chain.elements}
    used = per_year("Calibration-supply").reindex(goods, fill_value=0.0)
    surplus = per_year("Separation-surplus").reindex(goods, fill_value=0.0)
    flows = per_year("Flow").reindex(stage=list(STAGES), fill_value=0.0)
    return BaseYearSolution(used.transpose("country", "element"), surplus.transpose("country", "element"),
                            flows.transpose("stage", "exporter", "importer", "element"))


def finishing_costs(chain: SupplyChain, base: BaseYearSolution) -> xr.DataArray:
    """USD/kg to finish a separated element for sale: its base-year price where the base year leaves it
    unsold (a co-product in surplus sells at its cost, and the observed price is that cost), else 0."""
    in_surplus = base.surplus.sum("country").reindex(element=chain["reference_price"]["element"].values, fill_value=0.0)
    return chain["reference_price"].where(in_surplus >= CO_PRODUCT_SURPLUS_T, 0.0)


def calibrated(chain: SupplyChain, base: BaseYearSolution) -> SupplyChain:
    """The chain with the base year's calibration supply offered in every period, at observed prices, and
    its co-products in surplus priced at their finishing cost."""
    return chain.replace(calibration_supply=base.calibration_supply, calibration_cost=calibration_costs(chain),
                         finishing_cost=finishing_costs(chain, base))
