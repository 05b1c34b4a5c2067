"""Dependence and criticality metrics, stage by stage, for any importer.

Every metric is one function with the same keyword arguments (`importer`, `year`, `stage`,
`element`) that returns a tidy DataFrame. The first argument is what to measure: nothing (the
bundled dataset), a Dataset, a simulation result with `.flows` and `.production`, or prepared
`MetricInputs`. `summary` gathers them into the object `raremap metrics --json` prints.

>>> from raremap import metrics
>>> frame = metrics.production_concentration(importer="IND", stage="mining")
>>> list(frame.columns[:5])
['stage', 'element', 'year', 'world_t', 'hhi']
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
)
from raremap.metrics.leverage import leverage
from raremap.metrics.scorecard import crma_scorecard
from raremap.metrics.sourcing import sourcing, supplier_shares

__all__ = [
    "STAGES",
    "MetricInputs",
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
    "n1_coverage",
    "n_minus_one_coverage",
    "production_concentration",
    "production_shares",
    "sourcing",
    "stage_table",
    "summary",
    "summary_of",
    "supplier_shares",
    "supply_risk",
]


STAGE_ROWS = (  # (frame, column, label)
    ("concentration", "hhi", "world HHI"),
    ("concentration", "top1_country", "world top producer"),
    ("concentration", "top1_share", "top producer share"),
    ("concentration", "top3_share", "top-3 share"),
    ("coverage", "world_n1_coverage", "world N-1 coverage"),
    ("sourcing", "production_t", "importer output (t)"),
    ("sourcing", "imports_t", "importer imports (t)"),
    ("sourcing", "import_reliance", "import reliance"),
    ("sourcing", "largest_supplier", "largest supplier"),
    ("sourcing", "largest_supplier_share", "its share of imports"),
    ("sourcing", "supplier_hhi", "supplier HHI"),
    ("sourcing", "share_outside_own_blocs", "share outside own blocs"),
    ("coverage", "importer_n1_coverage", "importer N-1 coverage"),
    ("geopolrisk", "geopolrisk", "GeoPolRisk"),
    ("supply_risk", "supply_risk", "EU supply risk"),
)


def stage_table(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Metrics down, stages across (from `collect`): narrow enough for a terminal or a brief."""
    stages = list(frames["concentration"]["stage"])
    rows = []
    for frame_name, column, label in STAGE_ROWS:
        values = frames[frame_name].set_index("stage")[column]
        rows.append({"metric": label, **{stage: values.get(stage) for stage in stages}})
    return pd.DataFrame(rows).astype(object)


def collect(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    element: str = "REO",
    sector_value_added: Mapping[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every metric's frame for one importer, year and element, reading the data once.

    `sector_value_added` (scaled 0-10 per sector) is needed for economic importance; without it
    economic importance and the criticality verdict are reported as not computed.
    """
    inputs = as_inputs(source)
    year = default_year(inputs) if year is None else year
    arguments: dict[str, Any] = {"importer": importer, "year": year, "element": element}
    return {
        "concentration": production_concentration(inputs, **arguments),
        "sourcing": sourcing(inputs, **arguments),
        "supplier_shares": supplier_shares(inputs, **arguments),
        "coverage": n1_coverage(inputs, **arguments),
        "geopolrisk": geopolrisk(inputs, **arguments),
        "supply_risk": supply_risk(inputs, **arguments),
        "economic_importance": economic_importance(
            inputs, sector_value_added=sector_value_added, **arguments
        ),
        "criticality": criticality(inputs, sector_value_added=sector_value_added, **arguments),
        "crma": crma_scorecard(inputs, **arguments),
        "leverage": leverage(inputs, **arguments),
    }


def _stage_summary(frames: Mapping[str, pd.DataFrame], stage: str) -> dict[str, Any]:
    concentration = frames["concentration"].set_index("stage").loc[stage]
    sourced = frames["sourcing"].set_index("stage").loc[stage]
    coverage = frames["coverage"].set_index("stage").loc[stage]
    suppliers = frames["supplier_shares"]
    suppliers = suppliers[suppliers["stage"] == stage]
    return {
        "hhi": concentration["hhi"],
        "top1": {"country": concentration["top1_country"], "share": concentration["top1_share"]},
        "top3_share": concentration["top3_share"],
        "n1_coverage": coverage["importer_n1_coverage"],
        "import_reliance": sourced["import_reliance"],
        "supplier_shares": dict(zip(suppliers["supplier"], suppliers["share"], strict=True)),
    }


def summary_of(frames: Mapping[str, pd.DataFrame]) -> dict[str, Any]:
    """The `raremap metrics --json` object from the frames `collect` returns."""
    verdict = frames["criticality"].iloc[0]
    geopolitical = frames["geopolrisk"].set_index("stage")["geopolrisk"]
    crma = frames["crma"]
    return {
        "importer": verdict["importer"],
        "year": int(verdict["year"]),
        "stages": {stage: _stage_summary(frames, stage) for stage in frames["concentration"]["stage"]},
        "geopolrisk": geopolitical.get(RAW_MATERIAL, float("nan")),
        "eu_supply_risk": verdict["supply_risk"],
        "eu_economic_importance": verdict["economic_importance"],
        "crma": {
            check: {"value": value, "target": target, "pass": passed}
            for check, value, target, passed in zip(
                crma["check"], crma["value"], crma["target"], crma["pass"], strict=True
            )
        },
    }


def summary(
    source: Any = None, *, importer: str = "IND", year: int | None = None, element: str = "REO"
) -> dict[str, Any]:
    """Importer, year, per-stage concentration and sourcing, GeoPolRisk, EU criticality and CRMA checks."""
    return summary_of(collect(source, importer=importer, year=year, element=element))
