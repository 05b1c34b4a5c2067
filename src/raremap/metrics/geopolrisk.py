"""GeoPolRisk: the geopolitical supply risk of a raw material for one importer.

Method of Santillán-Saldivar et al. (2022) and Koyamparambath et al. (2024), as documented for the
geopolrisk-py library (https://github.com/akoyamp/geopolrisk-py, https://geopolrisk.org), written
here from the published formula:

    GeoPolRisk(A) = HHI x sum_i(g_i x f_A,i) / (F_A + p_A)

HHI is the concentration of production, computed as the method does from the producers listed
(shares of their sum, not of a world total that includes unlisted output), g_i the political
instability of exporter i (WGI political stability rescaled to 0 = most stable, 1 = least),
f_A,i the importer's imports from i, F_A its total imports and p_A its domestic production. The
product is a probability-like score in [0, 1] for comparing risks across materials and importers.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from raremap.metrics.concentration import herfindahl_index
from raremap.metrics.inputs import MetricInputs, resolve
from raremap.metrics.stages import importer_position, stage_output, stage_trade

NEUTRAL_RISK = 0.5
RAW_MATERIAL = "raw_material"
RAW_MATERIAL_TRADE_STAGES = ("separation", "metal")
VALUES = ("hhi", "import_risk", "geopolrisk")


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

    Exporters without a governance score (and imports of unknown origin) count as NEUTRAL_RISK (0.5).
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


def _score(
    hhi: float, hhi_reason: str | None, imports: pd.Series, imports_reason: str | None,
    domestic: float | None, domestic_reason: str | None, risk: pd.Series,
) -> dict[str, Any]:
    reasons: dict[str, str] = {}
    if hhi_reason is not None:
        reasons["hhi"] = hhi_reason
    supply_reason = imports_reason or domestic_reason
    if supply_reason is not None:
        reasons["import_risk"] = supply_reason
    if reasons:
        reasons["geopolrisk"] = reasons.get("hhi") or str(supply_reason)
    known_supply = supply_reason is None and domestic is not None
    value = import_risk(imports, risk, domestic) if known_supply and domestic is not None else float("nan")
    if known_supply and pd.isna(value):
        reasons["import_risk"] = "no imports and no domestic production to weigh"
        reasons.setdefault("geopolrisk", reasons["import_risk"])
    return {
        "hhi": hhi,
        "import_risk": value,
        "imports_t": float(imports.sum()) if imports_reason is None else float("nan"),
        "domestic_production_t": domestic if domestic is not None else float("nan"),
        "geopolrisk": hhi * value if not reasons else float("nan"),
        "reasons": reasons,
    }


def _hhi(inputs: MetricInputs, stage: str, element: str, year: int) -> tuple[float, str | None]:
    output = stage_output(inputs, stage, element, year)
    if not output.available:
        return float("nan"), output.reason
    hhi = herfindahl_index(output.by_country)
    return hhi, (None if not pd.isna(hhi) else output.empty_reason())


def _stage_row(
    inputs: MetricInputs, importer: str, stage: str, element: str, year: int, risk: pd.Series
) -> dict[str, Any]:
    hhi, hhi_reason = _hhi(inputs, stage, element, year)
    position = importer_position(inputs, importer, stage, element, year)
    output = stage_output(inputs, stage, element, year)
    return {
        "unit": position.unit,
        **_score(
            hhi, hhi_reason, position.imports, position.reason("imports", "supplier_shares"),
            position.production_t, position.reason("production"), risk,
        ),
        "method": "; ".join(
            part for part in (inputs.origin, output.method(), stage_trade(inputs, stage, element, year).derived) if part
        )
        + "; HHI of the listed producers (shares of their sum, as the method computes it)",
    }


def _raw_material_row(
    inputs: MetricInputs, importer: str, element: str, year: int, risk: pd.Series
) -> dict[str, Any]:
    """geopolrisk-py's reading for rare earths: mine HHI, trade in compounds and metals (HS 2846, 280530)."""
    hhi, hhi_reason = _hhi(inputs, "mining", element, year)
    positions = [importer_position(inputs, importer, stage, element, year) for stage in RAW_MATERIAL_TRADE_STAGES]
    imports_reason = next((p.reason("imports", "supplier_shares") for p in positions if p.reason("imports", "supplier_shares")), None)
    imports = pd.concat([position.imports for position in positions]).groupby(level=0).sum()
    mine = importer_position(inputs, importer, "mining", element, year)
    return {
        "unit": "t as traded (compounds and metal) and t REO (mine output)",
        **_score(hhi, hhi_reason, imports, imports_reason, mine.production_t, mine.reason("production"), risk),
        "method": f"{inputs.origin}; {stage_output(inputs, 'mining', element, year).method()}; HHI of mine output "
        "(listed producers), imports of separation and metal stages (HS 2846, 280530), domestic mine output",
    }


def geopolrisk(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
) -> pd.DataFrame:
    """GeoPolRisk per stage, plus (when no stage is given) a `raw_material` row as geopolrisk-py reads it.

    Columns: importer, stage, element, year, unit, hhi, import_risk, imports_t, domestic_production_t,
    geopolrisk, reasons, method.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element, scenario, series)
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
