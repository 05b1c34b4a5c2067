"""Why a result is what it is: the constraints that bind for one importer, ranked by shadow price, in words.

For each period, candidates come from the solved LP:

- export controls: shipments into the importer held at a control's cap; the shadow price is the gap
  between the importer's price and the exporter's price plus transport (what one more tonne through
  the cap would be worth);
- sticky trade: the importer cannot move its imports to new suppliers faster (Route-growth-upper),
  or a contract keeps a supplier's deliveries up (Contract-lower);
- capacity at its limit: the importer's own plants, and the plants that bind most worldwide;
- limits on new capacity (the pool outside China, China's annual growth), tonnage quotas;
- scarcity: a good the importer buys costing more than 1.2 times its base-year price.

Shadow prices are in USD per kg of what the constraint limits. The top `TOP` per period are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from raremap.model.equilibrium import CAPACITY_CONSTRAINTS
from raremap.model.solution import Solution
from raremap.model.supply_chain import SupplyChain
from raremap.vocabulary import TRADED_STAGES

TOP = 5
SMALL = 1e-6
SCARCE_MULTIPLE = 1.2
COLUMNS = ["period", "rank", "kind", "constraint", "country", "partner", "stage", "element", "shadow_usd_per_kg", "description"]


def _row(period: object, kind: str, constraint: str, shadow: float, description: str, **where: str) -> dict[str, object]:
    return {"period": float(str(period)), "kind": kind, "constraint": constraint, "shadow_usd_per_kg": float(shadow), "description": description,
            "country": where.get("country", ""), "partner": where.get("partner", ""), "stage": where.get("stage", ""),
            "element": where.get("element", "")}


def _entries(array: xr.DataArray) -> list[tuple[dict[str, object], float]]:
    """(coordinates, value) of every entry above SMALL in absolute value."""
    frame = array.to_series()
    frame = frame[frame.abs() > SMALL]
    names = [str(dimension) for dimension in array.dims]
    return [(dict(zip(names, key if isinstance(key, tuple) else (key,), strict=True)), float(value)) for key, value in frame.items()]


def control_rows(chain: SupplyChain, solution: Solution, importer: str) -> list[dict[str, object]]:
    """Shipments into the importer held at an export control's cap."""
    upper = (chain["flow_upper"] * chain.years).sel(stage=list(TRADED_STAGES), importer=importer)
    flow = solution.values["Flow"].sel(importer=importer)
    capped = (flow >= upper - 1e-6 * np.maximum(1.0, upper)).where(np.isfinite(upper), False)
    transport = (chain["transport_cost"] + chain["route_cost"] + chain["handling_cost"] + chain["tariff"]).sel(
        stage=list(TRADED_STAGES), importer=importer)
    rows = []
    for stage in TRADED_STAGES:
        prices = solution.duals[stage]
        goods = list(prices["element"].values)
        wedge = prices.sel(country=importer) - prices.rename(country="exporter") - transport.sel(stage=stage, element=goods)
        wedge = wedge.where(capped.sel(stage=stage, element=goods), 0.0).fillna(0.0)
        for where, shadow in _entries(wedge.clip(min=0.0)):
            rows.append(_row(where["period"], "export control", "Flow upper bound", shadow,
                             f"{where['exporter']}'s export control caps {where['element']} ({stage}) shipments to {importer}",
                             country=importer, partner=str(where["exporter"]), stage=stage, element=str(where["element"])))
    return rows


def trade_rows(chain: SupplyChain, solution: Solution, importer: str) -> list[dict[str, object]]:
    """Sticky trade: route growth and contracts on the importer's side."""
    rows = []
    routes = solution.shadow_prices.get("Route-growth-upper")
    if routes is not None:
        share = chain["route_growth"]
        for where, shadow in _entries(abs(routes.sel(importer=importer))):
            period = float(str(where["period"]))
            movable = float(share.sel(stage=where["stage"], importer=importer, element=where["element"])) * (
                period + float(chain.years.sel(period=period)) - chain.periods[0])
            rows.append(_row(where["period"], "sticky trade", "Route-growth-upper", shadow,
                             f"{importer} can have moved only {movable:.1%} of its {where['element']} ({where['stage']}) imports "
                             "to new suppliers by then", country=importer, stage=str(where["stage"]), element=str(where["element"])))
    contracts = solution.shadow_prices.get("Contract-lower")
    if contracts is not None:
        for where, shadow in _entries(abs(contracts.sel(importer=importer))):
            rows.append(_row(where["period"], "sticky trade", "Contract-lower", shadow,
                             f"contracts hold {where['exporter']}'s {where['element']} ({where['stage']}) deliveries to {importer}",
                             country=importer, partner=str(where["exporter"]), stage=str(where["stage"]), element=str(where["element"])))
    return rows


def capacity_rows(solution: Solution, importer: str) -> list[dict[str, object]]:
    """Plants at their limit: the importer's own, and the three that bind most worldwide per period."""
    rows = []
    for stage, name in CAPACITY_CONSTRAINTS.items():
        duals = solution.shadow_prices.get(name)
        if duals is None:
            continue
        for where, shadow in _entries(abs(duals)):
            rows.append(_row(where["period"], "capacity", name, shadow, f"{stage} plants in {where['country']} at capacity",
                             country=str(where["country"]), stage=stage))
    frame = pd.DataFrame(rows, columns=[*COLUMNS[:1], *COLUMNS[2:]])
    if frame.empty:
        return []
    own = frame[frame["country"] == importer]
    world = frame[frame["country"] != importer].sort_values("shadow_usd_per_kg", ascending=False).groupby("period").head(3)
    return [dict(zip((str(key) for key in row), row.values(), strict=True)) for row in pd.concat([own, world]).to_dict(orient="records")]


def limit_rows(solution: Solution) -> list[dict[str, object]]:
    """Limits on building capacity and tonnage quotas."""
    rows = []
    words = {
        "Investment-pool-upper": "new {stage} capacity outside China is limited per year (Sprecher et al. 2017)",
        "Investment-rate-upper": "{country} adds {stage} capacity at most at its quota growth",
        "Flow-quota-upper": "a tonnage quota ({quota}) is full",
    }
    for name, text in words.items():
        duals = solution.shadow_prices.get(name)
        if duals is None:
            continue
        for where, shadow in _entries(abs(duals)):
            rows.append(_row(where["period"], "limit", name, shadow, text.format(**{k: str(v) for k, v in where.items()}),
                             country=str(where.get("country", "")), stage=str(where.get("stage", ""))))
    return rows


def scarcity_rows(chain: SupplyChain, solution: Solution, importer: str) -> list[dict[str, object]]:
    """Goods the importer buys that cost well above their base-year price."""
    bought = (chain["bundle"].sel(country=importer) * chain["demand"].sel(country=importer)).sum("sector")
    rows = []
    for stage, good_list in (("separation", chain.separated_elements), ("magnet", chain.magnet_products)):
        price = solution.duals[stage].sel(country=importer, element=good_list)
        reference = chain["reference_price"].sel(element=good_list)
        scarce = (price > SCARCE_MULTIPLE * reference) & (reference > 0) & (bought.sel(element=good_list) > 0)
        excess = (price - reference).where(scarce, 0.0)
        for where, shadow in _entries(excess.fillna(0.0)):
            current = float(price.sel(element=where["element"], period=where["period"]))
            multiple = current / float(reference.sel(element=where["element"]))
            rows.append(_row(where["period"], "scarcity", f"{stage.capitalize()}-balance", shadow,
                             f"{where['element']} costs {current:,.0f} USD/kg in {importer}, {multiple:.1f} times its base-year price",
                             country=importer, stage=stage, element=str(where["element"])))
    return rows


def binding_table(chain: SupplyChain, solution: Solution, importer: str) -> pd.DataFrame:
    """The `TOP` constraints with the largest shadow prices per period, for one importer, in words."""
    if importer not in chain.countries:
        return pd.DataFrame(columns=COLUMNS)
    rows = (control_rows(chain, solution, importer) + trade_rows(chain, solution, importer)
            + capacity_rows(solution, importer) + limit_rows(solution) + scarcity_rows(chain, solution, importer))
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "rank"])
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = frame.sort_values(["period", "shadow_usd_per_kg"], ascending=[True, False]).groupby("period").head(TOP)
    frame.insert(1, "rank", frame.groupby("period").cumcount() + 1)
    return frame[COLUMNS].reset_index(drop=True)
