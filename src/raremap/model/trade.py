"""Trade inputs: what moving goods costs, and how sticky the base-year pattern of trade is.

Transport: freight per kg (``FREIGHT``, an assumption) x (0.5 + great-circle distance between
capitals / 10,000 km), plus insurance and handling at ``VALUE_SHARE`` of the good's reference value.
So nearer buyers net a supplier more and a shortage is not shared by an arbitrary tie, while cheap
co-products (La, Ce at about 1 USD/kg) still travel, as they do.

Stickiness, from the model's own base-year flows (a solve of the base year, see `calibration`):
- contracts: ``contract_share`` of every base-year flow is under a term contract for the horizon;
  breaking it costs the good's reference price per kg (the value of the goods not delivered);
- route growth: a supplier's share of an importer's imports may exceed its base-year share by at most
  ``route_growth_share_per_year`` per year since the base year (Japan's sourcing after 2010).
Export controls lower contracts on the edges they cover (force majeure; see simulate/apply.py).

Concentrate routes, from the reported trade: a country that reports concentrate exports ships its ore
only to its own separation and to the destinations it reports (Myanmar's clays cross into Yunnan,
Mount Weld's concentrate goes to Lynas in Malaysia); a country that separates and reports no
concentrate exports keeps its ore (China, India); and a country that reports no concentrate
imports separates only its own ore (India: the DAE states none). Other miners are free. Without
this the model sent ore wherever a separator had room: Myanmar's clay to India, Estonia and
California, Mount Weld's to China.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from raremap.vocabulary import STAGES, TRADED_STAGES

FREIGHT = {"mining": 0.05, "separation": 0.05, "metal": 0.05, "magnet": 0.1}
"""USD per kg of freight over a typical (10,000 km) route, an assumption: container freight of a few
cents per kg for drummed concentrate, oxides and metal; magnets are packed against magnetisation."""

VALUE_SHARE = 0.01
"""Insurance, finance and handling as a share of the good's value, an assumption."""

DEFAULT_ROUTE_KM = 10_000.0
"""Distance assumed for a route with a country missing from CAPITALS."""

CAPITALS: dict[str, tuple[float, float]] = {
    "ARG": (-34.6, -58.4), "AUS": (-35.3, 149.1), "BDI": (-3.4, 29.9), "BRA": (-15.8, -47.9),
    "CAN": (45.4, -75.7), "CHL": (-33.4, -70.7), "CHN": (39.9, 116.4), "DEU": (52.5, 13.4),
    "EST": (59.4, 24.7), "FRA": (48.9, 2.4), "GBR": (51.5, -0.1), "GRL": (64.2, -51.7),
    "IDN": (-6.2, 106.8), "IND": (28.6, 77.2), "ITA": (41.9, 12.5), "JPN": (35.7, 139.7),
    "KAZ": (51.2, 71.4), "KOR": (37.6, 127.0), "LAO": (18.0, 102.6), "MDG": (-18.9, 47.5),
    "MEX": (19.4, -99.1), "MMR": (19.8, 96.1), "MYS": (3.1, 101.7), "NGA": (9.1, 7.4),
    "NLD": (52.4, 4.9), "NOR": (59.9, 10.8), "PHL": (14.6, 121.0), "RUS": (55.8, 37.6),
    "SWE": (59.3, 18.1), "THA": (13.8, 100.5), "TUR": (39.9, 32.9), "TZA": (-6.2, 35.7),
    "USA": (38.9, -77.0), "VNM": (21.0, 105.8), "ZAF": (-25.7, 28.2), "AUT": (48.2, 16.4),
    "BEL": (50.8, 4.4), "ESP": (40.4, -3.7), "POL": (52.2, 21.0), "CZE": (50.1, 14.4),
    "SGP": (1.3, 103.8), "ARE": (24.5, 54.4), "SAU": (24.7, 46.7), "PER": (-12.0, -77.0),
    "ZMB": (-15.4, 28.3), "MOZ": (-25.9, 32.6), "CIV": (6.8, -5.3), "MWI": (-14.0, 33.8),
    "UGA": (0.3, 32.6), "KEN": (-1.3, 36.8), "AGO": (-8.8, 13.2), "CHE": (46.9, 7.4),
}
"""Latitude and longitude of capitals (rounded), the proxy for where a country ships from and to."""


def transport_costs() -> xr.DataArray:
    """The fixed half of each stage's freight, USD/kg."""
    return xr.DataArray([0.5 * value for value in FREIGHT.values()], coords={"stage": list(FREIGHT)}, dims="stage")


def value_costs(reference_price: xr.DataArray) -> xr.DataArray:
    """Insurance, finance and handling per kg of each good (USD/kg)."""
    return VALUE_SHARE * reference_price


def delivered_prices(prices: pd.Series, products: Sequence[str]) -> pd.Series:
    """A good's price delivered over a long (15,000 km) route: the point a buyer's demand curve passes through.

    Buyers paid the market price plus delivery in the base year, so their curve sits there, not at the
    gate price; otherwise the last tonnes of a distant buyer would look unserved at observed prices.
    """
    freight = pd.Series([FREIGHT["magnet"] if good in products else FREIGHT["separation"] for good in prices.index], index=prices.index)
    return prices * (1 + VALUE_SHARE) + freight * (0.5 + 15_000 / 10_000)


def route_costs(countries: Sequence[str]) -> xr.DataArray:
    """USD/kg per stage x route on top of the fixed half: stage freight x great-circle km / 10,000."""
    latitude = np.radians([CAPITALS.get(country, (np.nan, np.nan))[0] for country in countries])
    longitude = np.radians([CAPITALS.get(country, (np.nan, np.nan))[1] for country in countries])
    dlat = latitude[:, None] - latitude[None, :]
    dlon = longitude[:, None] - longitude[None, :]
    haversine = np.sin(dlat / 2) ** 2 + np.cos(latitude[:, None]) * np.cos(latitude[None, :]) * np.sin(dlon / 2) ** 2
    kilometres = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(haversine, 0.0, 1.0)))
    kilometres = np.where(np.isnan(kilometres), DEFAULT_ROUTE_KM, kilometres)
    per_stage = np.array([0.5 * FREIGHT[stage] for stage in STAGES])
    values = per_stage[:, None, None] * kilometres[None, :, :] / 5000.0
    return xr.DataArray(values, coords={"stage": list(STAGES), "exporter": list(countries), "importer": list(countries)},
                        dims=("stage", "exporter", "importer"))


STICKY_ELEMENTS = ("Nd", "Pr", "Dy", "Tb", "Sm")
"""Separated elements whose trade is sticky: the magnet rare earths, bought under qualification and
contract. Bulk co-products (La, Ce, Y, ...) trade as commodities, so their routes move freely."""


def stickiness(base_flow: xr.DataArray, periods: xr.DataArray, contract_share: float, route_growth_share: float,
               reference_price: xr.DataArray, products: Sequence[str]) -> dict[str, xr.DataArray]:
    """Contracts and route growth from the base-year flows (t/yr on stage x exporter x importer x element)."""
    sticky_goods = xr.DataArray([str(e) in STICKY_ELEMENTS or str(e) in products for e in base_flow["element"].values],
                                coords={"element": base_flow["element"]}, dims="element")
    base_flow = base_flow.where(sticky_goods, 0.0)
    contract = (contract_share * base_flow).broadcast_like(periods).transpose("stage", "exporter", "importer", "element", "period")
    stages = base_flow["stage"]
    growth = xr.full_like(base_flow.sum("exporter"), route_growth_share).where(stages.isin(list(TRADED_STAGES)) & sticky_goods, np.inf)
    return {
        "contract": contract.where(contract["stage"].isin(list(TRADED_STAGES)), 0.0),
        "route_growth": growth.transpose("stage", "importer", "element"),
        "contract_breach_cost": reference_price,
    }


def base_flows_table(trade: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Reported trade in the latest year up to the base year (the data's pattern, for comparison)."""
    rows = trade[trade["year"] <= base_year]
    if rows.empty:
        return rows
    return rows[rows["year"] == rows.groupby("stage")["year"].transform("max")]


def concentrate_routes(trade: pd.DataFrame, countries: Sequence[str], base_year: int,
                       separating: Sequence[str] = ()) -> xr.DataArray:
    """1 where ore may move from a mine (exporter) to a separator (importer), 0 where the reported trade
    closes the route (see the module's docstring). `separating`: countries that can separate in
    the base year."""
    routes = xr.DataArray(np.ones((len(countries), len(countries))), coords={"exporter": list(countries), "importer": list(countries)},
                          dims=("exporter", "importer"))
    rows = trade[(trade["stage"] == "mining") & (trade["year"] <= base_year)]
    latest = rows[rows["year"] == rows.groupby("exporter")["year"].transform("max")]
    shipped = latest[latest["value_t"] > 0].groupby("exporter")["importer"].apply(set)
    for country in separating:
        if country in routes["exporter"] and country not in shipped.index:
            shipped[country] = set()
    for exporter, destinations in shipped.items():
        if exporter in routes["exporter"] and exporter != "ROW":
            routes.loc[{"exporter": exporter}] = [1.0 if importer in destinations or importer == exporter else 0.0
                                                  for importer in countries]
    latest_in = rows[rows["year"] == rows.groupby("importer")["year"].transform("max")]
    received = latest_in.groupby("importer")["value_t"].sum()
    for importer, tonnes in received.items():
        if tonnes <= 0 and importer in routes["importer"]:
            routes.loc[{"importer": importer}] = [1.0 if exporter == importer else 0.0 for exporter in countries]
    return routes
