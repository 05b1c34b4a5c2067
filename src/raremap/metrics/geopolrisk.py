"""GeoPolRisk: the geopolitical supply risk of a raw material for one importer.

Method of Santillán-Saldivar et al. (2022) and Koyamparambath et al. (2024), as documented for the
geopolrisk-py library (https://github.com/akoyamp/geopolrisk-py, https://geopolrisk.org), written
here from the published formula:

    GeoPolRisk(A) = HHI x sum_i(g_i x f_A,i) / (F_A + p_A)

HHI is the concentration of world production (sum of squared shares), g_i the political
instability of exporter i (WGI political stability rescaled to 0 = most stable, 1 = least),
f_A,i the importer's imports from i, F_A its total imports and p_A its domestic production. The
product is a probability-like score in [0, 1] for comparing risks across materials and importers.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from raremap.metrics.concentration import concentration_row
from raremap.metrics.inputs import (
    MetricInputs,
    has_trade_data,
    production_by_country,
    provenance,
    resolve,
    trade_flows,
    world_production,
)
from raremap.metrics.sourcing import imports_by_supplier

NEUTRAL_RISK = 0.5
RAW_MATERIAL = "raw_material"
RAW_MATERIAL_TRADE_STAGES = ("separation", "metal")


def governance_risk(political_stability: pd.Series | float) -> Any:
    """WGI political stability (about -2.5 unstable to 2.5 stable) as risk from 0 (stable) to 1 (unstable)."""
    if isinstance(political_stability, pd.Series):
        return ((2.5 - political_stability) / 5.0).clip(0.0, 1.0)
    return min(1.0, max(0.0, (2.5 - float(political_stability)) / 5.0))


def political_stability(governance: pd.DataFrame, year: int) -> pd.Series:
    """Each country's WGI political stability in `year`, else its latest earlier year, else its earliest."""
    ordered = governance.sort_values("year", kind="mergesort")
    earlier = ordered[ordered["year"] <= year].drop_duplicates("country", keep="last")
    later = ordered[ordered["year"] > year].drop_duplicates("country", keep="first")
    chosen = pd.concat([earlier, later[~later["country"].isin(earlier["country"])]])
    return chosen.set_index("country")["value"].astype(float)


def import_risk(imports: pd.Series, risk_by_country: pd.Series, domestic_production: float) -> float:
    """sum_i(g_i x f_i) / (F + p): governance-weighted imports over total supply; NaN without supply.

    Exporters without a governance score count as NEUTRAL_RISK (0.5).
    """
    supply = float(imports.sum()) + domestic_production
    if supply <= 0:
        return float("nan")
    risk = imports.index.to_series().map(risk_by_country).fillna(NEUTRAL_RISK).to_numpy()
    return float((risk * imports.to_numpy()).sum() / supply)


def geopolrisk_score(
    hhi: float, imports: pd.Series, risk_by_country: pd.Series, domestic_production: float
) -> float:
    """GeoPolRisk = HHI x import risk."""
    return hhi * import_risk(imports, risk_by_country, domestic_production)


def _stage_row(
    inputs: MetricInputs, importer: str, stage: str, element: str, year: int, risk: pd.Series
) -> dict[str, Any]:
    hhi = concentration_row(
        production_by_country(inputs, stage, element, year), world_production(inputs, stage, element, year)
    )["hhi"]
    imports = imports_by_supplier(trade_flows(inputs, stage, element, year), importer)
    domestic = float(production_by_country(inputs, stage, element, year).get(importer, 0.0))
    return {
        "hhi": hhi,
        "import_risk": import_risk(imports, risk, domestic),
        "imports_t": float(imports.sum()),
        "domestic_production_t": domestic,
        "geopolrisk": geopolrisk_score(hhi, imports, risk, domestic),
        "method": provenance(inputs, stage, element),
    }


def _raw_material_row(
    inputs: MetricInputs, importer: str, element: str, year: int, risk: pd.Series
) -> dict[str, Any]:
    """geopolrisk-py's reading for rare earths: mine HHI, trade in compounds and metals (HS 2846, 280530)."""
    hhi = concentration_row(
        production_by_country(inputs, "mining", element, year),
        world_production(inputs, "mining", element, year),
    )["hhi"]
    imports = (
        pd.concat(
            [
                imports_by_supplier(trade_flows(inputs, stage, element, year), importer)
                for stage in RAW_MATERIAL_TRADE_STAGES
            ]
        )
        .groupby(level=0)
        .sum()
    )
    domestic = float(production_by_country(inputs, "mining", element, year).get(importer, 0.0))
    traded = any(has_trade_data(inputs, stage, element, year) for stage in RAW_MATERIAL_TRADE_STAGES)
    unknown = float("nan")
    return {
        "hhi": hhi,
        "import_risk": import_risk(imports, risk, domestic) if traded else unknown,
        "imports_t": float(imports.sum()) if traded else unknown,
        "domestic_production_t": domestic,
        "geopolrisk": geopolrisk_score(hhi, imports, risk, domestic) if traded else unknown,
        "method": provenance(inputs, "mining", element)
        + "; HHI of mine output, imports of separation and metal stages (HS 2846, 280530)",
    }


def geopolrisk(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
) -> pd.DataFrame:
    """GeoPolRisk per stage, plus (when no stage is given) a `raw_material` row as geopolrisk-py reads it.

    Columns: importer, stage, element, year, hhi, import_risk, imports_t, domestic_production_t,
    geopolrisk, method.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element)
    risk = governance_risk(political_stability(inputs.governance, year))
    rows = [
        {
            "importer": importer,
            "stage": each_stage,
            "element": element,
            "year": year,
            **_stage_row(inputs, importer, each_stage, element, year, risk),
        }
        for each_stage in stages
    ]
    if stage is None:
        rows.append(
            {
                "importer": importer,
                "stage": RAW_MATERIAL,
                "element": element,
                "year": year,
                **_raw_material_row(inputs, importer, element, year, risk),
            }
        )
    return pd.DataFrame(rows)
