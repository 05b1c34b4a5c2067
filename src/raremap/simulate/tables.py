"""The tidy result tables of a solved run, one function per table; columns are fixed by results.csv.

Tonnes are per period. Every row with a period carries its label (``2030``, ``2025-Q2``), its start
date and its length in years (``period_years``), so a quarter's tonnes are never read as a year's.
Magnet products are magnet types (``NdFeB GBD EV-grade (Dy+Tb)``...); element content is in t REO
(oxide equivalent) wherever a table says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from raremap.model.binding import binding_table
from raremap.model.periods import label, start_date
from raremap.model.solution import Solution, separation_output
from raremap.model.supply_chain import SupplyChain
from raremap.vocabulary import STAGES

SMALL = 1e-6
"""Tonnes below which a flow or production entry is left out of the tables."""


def _tidy(array: xr.DataArray, name: str, columns: list[str]) -> pd.DataFrame:
    """One row per entry above `SMALL`, in the array's order.

    Only the kept entries become rows: tabulating the dense array first (a million flow slots,
    mostly zero) and filtering after took a quarter of a second per run.
    """
    values = array.values
    kept = np.abs(values) > SMALL
    positions = np.nonzero(kept)
    frame = pd.DataFrame({str(dimension): array.indexes[dimension][position]
                          for dimension, position in zip(array.dims, positions, strict=True)})
    frame[name] = values[kept]
    return frame[[*columns, name]]


def flows_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Shipments between countries: mining as element content of concentrate, later stages as traded."""
    columns = ["stage", "exporter", "importer", "element", "period"]
    composition = chain["composition"].rename(country="exporter").sel(element=chain.separated_elements)
    mining = (composition * solution.values["Concentrate-flow"]).expand_dims(stage=["mining"])
    mining = mining.where(mining["exporter"] != mining["importer"], 0.0)
    frames = [_tidy(mining, "value_t", columns), _tidy(solution.values["Flow"], "value_t", columns)]
    return pd.concat(frames, ignore_index=True)


def production_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Output per country x stage x element (magnets by magnet type, mining by element content, t REO)."""
    columns = ["country", "stage", "element", "period"]
    values = solution.values
    composition = chain["composition"].sel(element=chain.separated_elements)
    arrays = {
        "mining": composition * values["Mining-production"],
        "separation": separation_output(chain, solution),
        "metal": values["Metal-production"].sel(element=chain.separated_elements),
        "magnet": values["Magnet-production"].sel(element=chain.magnet_products),
    }
    frames = [_tidy(array.expand_dims(stage=[stage]), "value_t", columns) for stage, array in arrays.items()]
    return pd.concat(frames, ignore_index=True)


def stage_totals(chain: SupplyChain, solution: Solution) -> xr.DataArray:
    """Output per stage x country x period in each stage's capacity unit."""
    values = solution.values
    separation_input = solution.values["Concentrate-flow"].sum("exporter").rename(importer="country")
    totals = [values["Mining-production"], separation_input, values["Metal-production"].sum("element"),
              values["Magnet-production"].sum("element")]
    return xr.concat(totals, dim=xr.DataArray(list(STAGES), dims="stage", name="stage"))


def utilisation_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Output against capacity (in service plus built by the model) per country x stage x period."""
    capacity = (chain["capacity"] + solution.values["New-capacity"]) * chain.years
    output = stage_totals(chain, solution)
    frame = xr.Dataset({"production_t": output, "capacity_t": capacity}).to_dataframe().reset_index()
    frame = frame[frame["capacity_t"] > SMALL].copy()
    frame["utilisation"] = frame["production_t"] / frame["capacity_t"]
    return frame[["country", "stage", "period", "production_t", "capacity_t", "utilisation"]].reset_index(drop=True)


def investment_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Capacity the model chose to build (t/yr in service in each period) with its annualised cost."""
    new = solution.values["New-capacity"]
    frame = xr.Dataset({"capacity_t_per_year": new, "cost_usd_per_kg_year": chain["investment_cost"] + 0 * new}).to_dataframe().reset_index()
    frame = frame[frame["capacity_t_per_year"] > SMALL]
    return frame[["stage", "country", "period", "capacity_t_per_year", "cost_usd_per_kg_year"]].reset_index(drop=True)


def prices_table(solution: Solution) -> pd.DataFrame:
    """Marginal values of the balance constraints in USD per kg (REO at mining, magnets by type).

    Only markets that exist are listed: a balance with no supplier or user has no price.
    """
    frames = []
    for stage, dual in solution.duals.items():
        if stage == "mining":
            dual = dual.expand_dims(element=["REO"])
        frame = dual.rename("usd_per_kg").to_dataframe().reset_index().dropna(subset=["usd_per_kg"])
        frame["stage"] = stage
        frames.append(frame[["stage", "country", "element", "period", "usd_per_kg"]])
    return pd.concat(frames, ignore_index=True)


def shortfall_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Demand rare earths did not serve, per country x sector x period, in the sector's unit.

    `tonnes` (the shortfall) = demand - served; of it, `substituted_t` went to other materials at
    their cost and `unmet_t` went without.
    """
    demand = chain["demand"] * chain.years
    served = solution.values["Served"].sum("step")
    substituted = demand * solution.values["Substitution-share"]
    frame = xr.Dataset(
        {"demand_t": demand, "served_t": served, "substituted_t": substituted}
    ).to_dataframe().reset_index()
    frame = frame[frame["demand_t"] > SMALL].copy()
    frame["tonnes"] = (frame["demand_t"] - frame["served_t"]).clip(lower=0.0)
    frame["tonnes"] = frame["tonnes"].where(frame["tonnes"] > SMALL, 0.0)
    frame["unmet_t"] = (frame["tonnes"] - frame["substituted_t"]).clip(lower=0.0)
    frame["share"] = frame["tonnes"] / frame["demand_t"]
    magnet_sector = (chain["bundle"].sel(element=chain.magnet_products).sum("element") > 0).to_series()
    is_magnet = pd.MultiIndex.from_frame(frame[["country", "sector"]]).isin(magnet_sector[magnet_sector].index)
    frame["unit"] = np.where(is_magnet, "t magnet", "t REO")
    return frame[["country", "sector", "period", "unit", "demand_t", "served_t", "tonnes", "share", "substituted_t", "unmet_t"]].reset_index(drop=True)


def shortfall_content_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Rare-earth content of demand and of shortfall per country x element x period, t REO."""
    demand = chain["demand"] * chain.years
    missing = demand - solution.values["Served"].sum("step")
    wanted = chain.content((chain["bundle"] * demand).sum("sector"))
    short = chain.content((chain["bundle"] * missing.clip(min=0.0)).sum("sector"))
    frame = xr.Dataset({"demand_t": wanted, "tonnes": short}).to_dataframe().reset_index()
    frame = frame[frame["demand_t"] > SMALL].copy()
    frame["share"] = frame["tonnes"] / frame["demand_t"]
    return frame[["country", "element", "period", "demand_t", "tonnes", "share"]].reset_index(drop=True)


def stocks_table(solution: Solution) -> pd.DataFrame:
    """Stock level, release and purchase per stage x country x element x period, where a stock exists."""
    values = solution.values
    data = xr.Dataset({"level_t": values["Stock-level"], "release_t": values["Stock-release"], "purchase_t": values["Stock-purchase"]})
    frame = data.to_dataframe().reset_index()
    active = frame[["level_t", "release_t", "purchase_t"]].abs().sum(axis=1) > SMALL
    return frame[active][["stage", "country", "element", "period", "level_t", "release_t", "purchase_t"]].reset_index(drop=True)


def substitution_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Share and tonnes of demand switched to substitutes or thrifted away (sector units)."""
    share = solution.values["Substitution-share"]
    tonnes = share * chain["demand"] * chain.years
    frame = xr.Dataset({"share": share, "tonnes": tonnes}).to_dataframe().reset_index()
    frame = frame[frame["share"] > SMALL]
    return frame[["country", "sector", "period", "share", "tonnes"]].reset_index(drop=True)


def surplus_table(solution: Solution) -> pd.DataFrame:
    """Separated oxide nobody bought (co-products such as Ce and La), per country x element x period."""
    return _tidy(solution.values["Separation-surplus"], "value_t", ["country", "element", "period"])


def recycling_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """End-of-life metal recovered per country x element x period (all price tiers), in t metal and in
    t REO (the oxide it stands for), so that it adds to separated output. Process scrap is not in it:
    its oxide is part of separation."""
    metal = solution.values["Recycling-supply"].sum("tier")
    frame = _tidy(metal, "value_t", ["country", "element", "period"])
    factors = chain["metal_factor"].to_series()
    frame["reo_t"] = frame["value_t"] / frame["element"].map(factors).to_numpy()
    return frame


def thorium_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """ThO2 arising where concentrate is processed: REO processed x ThO2 per REO of the mining country."""
    per_origin = chain["thorium_per_reo"].rename(country="exporter")
    thorium = (per_origin * solution.values["Concentrate-flow"]).sum("exporter").rename(importer="country")
    return _tidy(thorium, "tho2_t", ["country", "period"])


OXIDE_CALIBRATION = ("documented base-year mining and separation (USGS output, China's quotas) at the ore compositions "
                     "cannot give this oxide at observed prices; China's output beyond its quotas is not in the data")
MAGNET_CALIBRATION = ("documented base-year magnet and metal capacity (reported output x headroom, one metal pool per "
                      "country) is full at observed prices")
"""Why calibration supply is needed, for oxides and for magnets (the calibration table's `reason`)."""


def calibration_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Calibration supply used, with its share of its market (the good's base-year demand)."""
    frame = _tidy(solution.values["Calibration-supply"], "value_t", ["country", "element", "period"])
    goods = (chain["bundle"] * chain["demand"] * chain.years).sum(["country", "sector"])
    content = chain.content(goods)
    market = xr.concat([content, goods.sel(element=chain.magnet_products)], dim="element").to_series()
    frame["share_of_market"] = [
        value / market.get((element, period), float("nan")) for element, period, value in zip(frame["element"], frame["period"], frame["value_t"], strict=True)
    ]
    magnets = set(chain.magnet_products)
    frame["reason"] = [MAGNET_CALIBRATION if element in magnets else OXIDE_CALIBRATION for element in frame["element"]]
    return frame



def result_tables(chain: SupplyChain, solution: Solution, importer: str) -> dict[str, pd.DataFrame]:
    """Every result table of a run, by name; `binding` explains the importer's position."""
    tables = {
        "flows": flows_table(chain, solution),
        "production": production_table(chain, solution),
        "utilisation": utilisation_table(chain, solution),
        "investment": investment_table(chain, solution),
        "prices": prices_table(solution),
        "shortfall": shortfall_table(chain, solution),
        "shortfall_content": shortfall_content_table(chain, solution),
        "stocks": stocks_table(solution),
        "substitution": substitution_table(chain, solution),
        "surplus": surplus_table(solution),
        "recycling": recycling_table(chain, solution),
        "thorium": thorium_table(chain, solution),
        "calibration": calibration_table(chain, solution),
        "binding": binding_table(chain, solution, importer),
    }
    return {name: with_period_labels(_without_solver_noise(frame), chain) for name, frame in tables.items()}


def with_period_labels(frame: pd.DataFrame, chain: SupplyChain) -> pd.DataFrame:
    """The period as a label, with its start date and length in years next to it."""
    if "period" not in frame.columns:
        return frame
    lengths = dict(zip(chain.periods, (float(value) for value in chain.years.values), strict=True))
    starts = frame["period"].astype(float)
    position = list(frame.columns).index("period")
    labelled = frame.drop(columns="period")
    dates = {start: start_date(start).isoformat() for start in lengths}  # once per period, not per row
    labels = {start: label(start, length) for start, length in lengths.items()}
    labelled.insert(position, "period_years", [lengths[start] for start in starts])
    labelled.insert(position, "period_start", [dates[start] for start in starts])
    labelled.insert(position, "period", [labels[start] for start in starts])
    return labelled


def _without_solver_noise(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers within SMALL of zero are the solver's rounding: written as 0 (never as -0.0)."""
    frame = frame.copy()
    for column in frame.columns:
        if column != "period" and pd.api.types.is_float_dtype(frame[column]):
            frame[column] = frame[column].where(frame[column].abs() > SMALL, 0.0) + 0.0
    return frame
