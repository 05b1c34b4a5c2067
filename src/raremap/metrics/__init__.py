"""Dependence and criticality metrics, stage by stage, for any importer, element and year.

Every metric is one function with the same keyword arguments (`importer`, `year`, `stage`,
`element`, `scenario`, `series`) that returns a tidy DataFrame. The first argument is what to
measure: nothing (the bundled dataset), a Dataset, a simulation result with `.flows` and
`.production`, or prepared `MetricInputs`. A year the data do not hold, or a scenario, is read
from the scenario engine's projection (baseline by default). A value that cannot be computed is
NaN (None in JSON) and its row's `reasons` says why. `summary` gathers them into the object
`raremap metrics --json` prints.

>>> from raremap import metrics
>>> frame = metrics.production_concentration(importer="IND", stage="mining")
>>> list(frame.columns[:6])
['stage', 'element', 'year', 'unit', 'series', 'world_t']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from raremap.metrics.concentration import herfindahl_index, production_concentration, production_shares
from raremap.metrics.coverage import n1_coverage, n_minus_one_coverage
from raremap.metrics.criticality import criticality, economic_importance, supply_risk
from raremap.metrics.geopolrisk import RAW_MATERIAL, geopolrisk
from raremap.metrics.inputs import (
    STAGES,
    MetricInputs,
    as_inputs,
    default_year,
    inputs_from_dataset,
    inputs_from_result,
    metric_inputs,
    projection_frames,
    resolve,
)
from raremap.metrics.leverage import leverage
from raremap.metrics.scorecard import crma_scorecard
from raremap.metrics.sourcing import sourcing, supplier_shares
from raremap.metrics.stages import stage_output, stage_trade

__all__ = [
    "STAGES",
    "UNITS",
    "MetricInputs",
    "as_inputs",
    "collect",
    "criticality",
    "crma_scorecard",
    "default_year",
    "economic_importance",
    "geopolrisk",
    "herfindahl_index",
    "inputs_from_dataset",
    "inputs_from_result",
    "leverage",
    "metric_inputs",
    "n1_coverage",
    "n_minus_one_coverage",
    "production_concentration",
    "production_shares",
    "projection_frames",
    "sourcing",
    "stage_footnotes",
    "stage_output",
    "stage_table",
    "stage_trade",
    "summary",
    "summary_of",
    "supplier_shares",
    "supply_risk",
]

UNITS: Mapping[str, str] = {
    "year": "calendar year every figure of the object refers to",
    "world_t, production_t, imports_t, exports_t, apparent_consumption_t, projected_demand_t": (
        "tonnes per year in the stage's unit (stages.<stage>.unit); trade in tonnes of product as traded"
    ),
    "hhi": "Herfindahl-Hirschman index, 0-1 (sum of squared shares as fractions)",
    "top1.share, top3_share, supplier_shares, import_reliance": "fraction of 1",
    "world_n1_coverage, n1_coverage": "fraction of output (world) or apparent consumption (importer), 0-1",
    "world_demand_n1_coverage, demand_n1_coverage": "fraction of projected demand, 0-1 (projections only)",
    "geopolrisk": "GeoPolRisk score, 0-1",
    "eu_supply_risk": "EC 2017 supply risk; critical from 1",
    "eu_economic_importance": "EC 2017 economic importance, 0-10; critical from 2.8",
    "crma.*.value, crma.*.target": "fraction of annual consumption",
    "reasons": "why the value of the same key is null",
}

STAGE_ROWS = (  # (frame, column, label)
    ("concentration", "world_t", "world output (t)"),
    ("concentration", "hhi", "world HHI"),
    ("concentration", "top1_country", "world top producer"),
    ("concentration", "top1_share", "top producer share"),
    ("concentration", "top3_share", "top-3 share"),
    ("coverage", "world_n1_coverage", "world N-1 coverage (output)"),
    ("coverage", "world_demand_n1_coverage", "world N-1 coverage (demand, IEA)"),
    ("sourcing", "production_t", "importer output (t)"),
    ("sourcing", "imports_t", "importer imports (t)"),
    ("sourcing", "apparent_consumption_t", "apparent consumption (t)"),
    ("sourcing", "import_reliance", "import reliance"),
    ("sourcing", "largest_supplier", "largest supplier"),
    ("sourcing", "largest_supplier_share", "its share of imports"),
    ("sourcing", "supplier_hhi", "supplier HHI"),
    ("sourcing", "share_outside_own_blocs", "share outside own blocs"),
    ("coverage", "importer_n1_coverage", "importer N-1 coverage (output)"),
    ("coverage", "importer_demand_n1_coverage", "importer N-1 coverage (demand, IEA)"),
    ("geopolrisk", "geopolrisk", "GeoPolRisk"),
    ("supply_risk", "supply_risk", "EU supply risk"),
)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def _reason(frames: Mapping[str, pd.DataFrame], frame_name: str, stage: str, column: str) -> str | None:
    frame = frames[frame_name].set_index("stage")
    if stage not in frame.index or "reasons" not in frame.columns:
        return None
    reasons = frame.at[stage, "reasons"]
    return reasons.get(column) if isinstance(reasons, dict) else None


def stage_footnotes(frames: Mapping[str, pd.DataFrame]) -> list[str]:
    """The distinct reasons of missing values in the stage table, numbered as `stage_table` cites them."""
    notes: list[str] = []
    for stage in frames["concentration"]["stage"]:
        for frame_name, column, _ in STAGE_ROWS:
            value = frames[frame_name].set_index("stage")[column].get(stage)
            reason = _reason(frames, frame_name, stage, column)
            if _missing(value) and reason and reason not in notes:
                notes.append(reason)
    return notes


def stage_table(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Metrics down, stages across (from `collect`): a missing value reads 'n/a [k]', k its footnote."""
    notes = stage_footnotes(frames)
    stages = list(frames["concentration"]["stage"])
    rows = []
    for frame_name, column, label in STAGE_ROWS:
        values = frames[frame_name].set_index("stage")[column]
        row: dict[str, Any] = {"metric": label}
        for stage in stages:
            value = values.get(stage)
            reason = _reason(frames, frame_name, stage, column)
            row[stage] = f"n/a [{notes.index(reason) + 1}]" if _missing(value) and reason in notes else value
        rows.append(row)
    return pd.DataFrame(rows).astype(object)


def collect(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
    sector_value_added: Mapping[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every metric's frame for one importer, year and element, reading the data once.

    Economic importance uses the sector_value_added table unless `sector_value_added` (scaled
    0-10 per sector) is given. The `context` frame says what was measured: the basis (data or a
    scenario's projection), the year and where the inputs come from.
    """
    inputs, year, _ = resolve(source, importer, year, None, element, scenario, series)
    arguments: dict[str, Any] = {"importer": importer, "year": year, "element": element}
    importance: dict[str, Any] = {} if sector_value_added is None else {"sector_value_added": sector_value_added}
    context = pd.DataFrame(
        [
            {
                "importer": importer,
                "element": element,
                "year": year,
                "basis": inputs.describe_basis(),
                "scenario": inputs.scenario,
                "origin": inputs.origin,
            }
        ]
    )
    return {
        "context": context,
        "concentration": production_concentration(inputs, **arguments),
        "sourcing": sourcing(inputs, **arguments),
        "supplier_shares": supplier_shares(inputs, **arguments),
        "coverage": n1_coverage(inputs, **arguments),
        "geopolrisk": geopolrisk(inputs, **arguments),
        "supply_risk": supply_risk(inputs, **arguments),
        "economic_importance": economic_importance(inputs, **importance, **arguments),
        "criticality": criticality(inputs, **importance, **arguments),
        "crma": crma_scorecard(inputs, **arguments),
        "leverage": leverage(inputs, **arguments),
    }


def _value(value: Any) -> Any:
    return None if _missing(value) else value


def _stage_summary(frames: Mapping[str, pd.DataFrame], stage: str) -> dict[str, Any]:
    concentration = frames["concentration"].set_index("stage").loc[stage]
    sourced = frames["sourcing"].set_index("stage").loc[stage]
    coverage = frames["coverage"].set_index("stage").loc[stage]
    suppliers = frames["supplier_shares"]
    suppliers = suppliers[suppliers["stage"] == stage]
    reasons: dict[str, str] = {}
    keys = {  # summary key: (frame row, column)
        "world_t": (concentration, "world_t"),
        "hhi": (concentration, "hhi"),
        "top3_share": (concentration, "top3_share"),
        "world_n1_coverage": (coverage, "world_n1_coverage"),
        "world_demand_n1_coverage": (coverage, "world_demand_n1_coverage"),
        "production_t": (sourced, "production_t"),
        "imports_t": (sourced, "imports_t"),
        "exports_t": (sourced, "exports_t"),
        "apparent_consumption_t": (sourced, "apparent_consumption_t"),
        "import_reliance": (sourced, "import_reliance"),
        "n1_coverage": (coverage, "importer_n1_coverage"),
        "demand_n1_coverage": (coverage, "importer_demand_n1_coverage"),
        "projected_demand_t": (coverage, "importer_projected_demand_t"),
    }
    values: dict[str, Any] = {}
    for key, (row, column) in keys.items():
        values[key] = _value(row[column])
        if values[key] is None and column in row["reasons"]:
            reasons[key] = row["reasons"][column]
    top = {"country": _value(concentration["top1_country"]), "share": _value(concentration["top1_share"])}
    if top["share"] is None and "top1_share" in concentration["reasons"]:
        reasons["top1"] = concentration["reasons"]["top1_share"]
    if _missing(concentration["series"]):
        reasons["series"] = concentration["reasons"].get("hhi", "no output data")
    supplier_map: dict[str, float] | None = dict(zip(suppliers["supplier"], suppliers["share"], strict=True))
    if "supplier_shares" in sourced["reasons"] or "supplier_hhi" in sourced["reasons"]:
        why = sourced["reasons"].get("supplier_hhi", "")
        if suppliers.empty and why and "records no" not in why:
            supplier_map = None
            reasons["supplier_shares"] = why
    if values["projected_demand_t"] is None and "projected_demand_t" not in reasons:
        values.pop("projected_demand_t")
    return {
        "unit": concentration["unit"],
        "series": _value(concentration["series"]),
        **{key: values[key] for key in ("world_t", "hhi")},
        "top1": top,
        **{key: value for key, value in values.items() if key not in ("world_t", "hhi")},
        "supplier_shares": supplier_map,
        "reasons": reasons,
        "notes": list(sourced["notes"]),
    }


def summary_of(frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """The `raremap metrics --json` object from the frames `collect` returns.

    Every null value has its reason under `reasons` of the same object; `units` documents each key.
    """
    context = frames["context"].iloc[0]
    verdict = frames["criticality"].iloc[0]
    geopolitical = frames["geopolrisk"].set_index("stage")
    crma = frames["crma"]
    reasons: dict[str, str] = {}
    raw = geopolitical.loc[RAW_MATERIAL] if RAW_MATERIAL in geopolitical.index else None
    geopolrisk_value = _value(raw["geopolrisk"]) if raw is not None else None
    if geopolrisk_value is None and raw is not None:
        reasons["geopolrisk"] = raw["reasons"].get("geopolrisk", "not computed")
    for key, column in (("eu_supply_risk", "supply_risk"), ("eu_economic_importance", "economic_importance")):
        if _missing(verdict[column]):
            reasons[key] = verdict["reasons"].get(column, "not computed")
    checks: dict[str, Any] = {}
    for record in crma.to_dict("records"):
        entry: dict[str, Any] = {"value": _value(record["value"]), "target": record["target"], "pass": record["pass"], "note": record["note"]}
        if entry["value"] is None:
            entry["reasons"] = {"value": record["note"]}
        checks[str(record["check"])] = entry
    return {
        "importer": str(context["importer"]),
        "element": str(context["element"]),
        "year": int(context["year"]),
        "basis": str(context["basis"]),
        "scenario": context["scenario"],
        "data": str(context["origin"]),
        "units": dict(UNITS),
        "stages": {stage: _stage_summary(frames, stage) for stage in frames["concentration"]["stage"]},
        "geopolrisk": geopolrisk_value,
        "eu_supply_risk": _value(verdict["supply_risk"]),
        "eu_supply_risk_bottleneck": verdict["bottleneck_stage"],
        "eu_economic_importance": _value(verdict["economic_importance"]),
        "eu_verdict": verdict["verdict"],
        "crma": checks,
        "reasons": {**reasons, **{key: value for key, value in verdict["reasons"].items() if key.startswith("supply_risk_")}},
    }


def summary(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
) -> dict[str, Any]:
    """Importer, year, per-stage concentration and sourcing, GeoPolRisk, EU criticality and CRMA checks."""
    return summary_of(
        collect(source, importer=importer, year=year, element=element, scenario=scenario, series=series)
    )
