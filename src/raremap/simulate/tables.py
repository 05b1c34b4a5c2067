"""The tidy result tables of a solved run, one function per table, columns fixed by the spec.

``flows`` (stage, exporter, importer, element, period, value_t) and ``production`` (country,
stage, element, period, value_t) are consumed by the metrics module; keep their columns exactly.
Tonnes are per period (a period of several years holds several years of flow).
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from raremap.model.solution import Solution, concentrate_arrivals, separation_output
from raremap.model.supply_chain import MAGNET, SupplyChain
from raremap.vocabulary import STAGES

SMALL = 1e-6
"""Tonnes below which a flow or production entry is left out of the tables."""


def _tidy(array: xr.DataArray, name: str, columns: list[str], keep_zero: bool = False) -> pd.DataFrame:
    frame = array.rename(name).to_dataframe().reset_index()[[*columns, name]]
    if not keep_zero:
        frame = frame[frame[name].abs() > SMALL]
    return frame.reset_index(drop=True)


def flows_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Shipments between countries: mining as element content of concentrate, later stages as traded."""
    columns = ["stage", "exporter", "importer", "element", "period"]
    composition = chain["composition"].rename(country="exporter").sel(element=chain.separated_elements)
    mining = (composition * solution.values["Concentrate-flow"]).expand_dims(stage=["mining"])
    off_diagonal = mining["exporter"] != mining["importer"]
    mining = mining.where(off_diagonal, 0.0)
    frames = [_tidy(mining, "value_t", columns), _tidy(solution.values["Flow"], "value_t", columns)]
    return pd.concat(frames, ignore_index=True)


def production_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Output per country x stage x element (magnets as element NdFeB, mining by element content)."""
    columns = ["country", "stage", "element", "period"]
    values = solution.values
    composition = chain["composition"].sel(element=chain.separated_elements)
    arrays = {
        "mining": composition * values["Mining-production"],
        "separation": separation_output(chain, solution),
        "metal": values["Metal-production"],
        "magnet": values["Magnet-production"].expand_dims(element=[MAGNET]),
    }
    frames = [_tidy(array.expand_dims(stage=[stage]), "value_t", columns) for stage, array in arrays.items()]
    return pd.concat(frames, ignore_index=True)


def _stage_totals(chain: SupplyChain, solution: Solution) -> xr.DataArray:
    """Output per stage x country x period in each stage's capacity unit."""
    values = solution.values
    separation_input = concentrate_arrivals(chain, solution).sum("exporter").rename(importer="country")
    totals = [
        values["Mining-production"],
        separation_input,
        values["Metal-production"].sum("element"),
        values["Magnet-production"],
    ]
    return xr.concat(totals, dim=xr.DataArray(list(STAGES), dims="stage", name="stage"))


def utilisation_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Output against capacity per country x stage x period (only where there is capacity)."""
    capacity = chain["capacity"] * chain.period_length
    output = _stage_totals(chain, solution)
    frame = xr.Dataset({"production_t": output, "capacity_t": capacity}).to_dataframe().reset_index()
    frame = frame[frame["capacity_t"] > 0].copy()
    frame["utilisation"] = frame["production_t"] / frame["capacity_t"]
    return frame[["country", "stage", "period", "production_t", "capacity_t", "utilisation"]].reset_index(drop=True)


def prices_table(solution: Solution) -> pd.DataFrame:
    """Marginal values of the balance constraints in USD per tonne (REO at mining, magnets at magnet).

    Only markets that exist are listed: a balance with no supplier or user has no price.
    """
    frames = []
    for stage, dual in solution.duals.items():
        if stage == "mining":
            dual = dual.expand_dims(element=["REO"])
        elif stage == "magnet":
            dual = dual.expand_dims(element=[MAGNET])
        frame = (dual * 1000.0).rename("usd_per_t").to_dataframe().reset_index().dropna(subset=["usd_per_t"])
        frame["stage"] = stage
        frames.append(frame[["stage", "country", "element", "period", "usd_per_t"]])
    return pd.concat(frames, ignore_index=True)


def shortfall_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Demand neither served nor substituted, per country x sector x element x period, with its share."""
    demand = chain["demand"] * chain.period_length
    served = solution.values["Served"].sum("step")
    substituted = demand * solution.values["Substitution-share"]
    missing = (demand - served - substituted).clip(min=0.0)
    frame = xr.Dataset({"tonnes": missing, "demand": demand}).to_dataframe().reset_index()
    frame = frame[frame["demand"] > 0].copy()
    frame["tonnes"] = frame["tonnes"].where(frame["tonnes"] > SMALL, 0.0)
    frame["share"] = frame["tonnes"] / frame["demand"]
    return frame[["country", "sector", "element", "period", "tonnes", "share"]].reset_index(drop=True)


def stocks_table(solution: Solution) -> pd.DataFrame:
    """Stock level, release and purchase per stage x country x element x period, where a stock exists."""
    values = solution.values
    data = xr.Dataset(
        {"level_t": values["Stock-level"], "release_t": values["Stock-release"], "purchase_t": values["Stock-purchase"]}
    )
    frame = data.to_dataframe().reset_index()
    active = frame[["level_t", "release_t", "purchase_t"]].abs().sum(axis=1) > SMALL
    return frame[active][["stage", "country", "element", "period", "level_t", "release_t", "purchase_t"]].reset_index(
        drop=True
    )


def substitution_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """Share and tonnes of demand switched to substitutes or thrifted away."""
    share = solution.values["Substitution-share"]
    tonnes = share * chain["demand"] * chain.period_length
    frame = xr.Dataset({"share": share, "tonnes": tonnes}).to_dataframe().reset_index()
    frame = frame[frame["share"] > SMALL]
    return frame[["country", "sector", "element", "period", "share", "tonnes"]].reset_index(drop=True)


def thorium_table(chain: SupplyChain, solution: Solution) -> pd.DataFrame:
    """ThO2 arising where concentrate is processed: REO processed x ThO2 per REO of the mining country."""
    per_origin = chain["thorium_per_reo"].rename(country="exporter")
    thorium = (per_origin * concentrate_arrivals(chain, solution)).sum("exporter").rename(importer="country")
    return _tidy(thorium, "tho2_t", ["country", "period"])


def calibration_table(solution: Solution) -> pd.DataFrame:
    """Calibration supply used (undocumented output beyond the data; oxide, or magnets for NdFeB)."""
    values = solution.values.get("Calibration-supply")
    if values is None:
        return pd.DataFrame(columns=["country", "element", "period", "value_t"])
    return _tidy(values, "value_t", ["country", "element", "period"])


def result_tables(chain: SupplyChain, solution: Solution) -> dict[str, pd.DataFrame]:
    """Every result table of a run, by name."""
    tables = {
        "flows": flows_table(chain, solution),
        "production": production_table(chain, solution),
        "utilisation": utilisation_table(chain, solution),
        "prices": prices_table(solution),
        "shortfall": shortfall_table(chain, solution),
        "stocks": stocks_table(solution),
        "substitution": substitution_table(chain, solution),
        "thorium": thorium_table(chain, solution),
        "calibration": calibration_table(solution),
    }
    return {name: _without_solver_noise(frame) for name, frame in tables.items()}


def _without_solver_noise(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers within SMALL of zero are the solver's rounding: written as 0 (never as -0.0)."""
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_float_dtype(frame[column]):
            frame[column] = frame[column].where(frame[column].abs() > SMALL, 0.0) + 0.0
    return frame
