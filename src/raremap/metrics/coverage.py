"""N-1 coverage: if the largest source of a stage stops, how much of demand can the rest still cover?

This is the grid planner's N-1 rule applied to supply chains. For the world, demand is what the
world now produces at that stage, so coverage is one minus the leading producer's share. For the
importer, demand is its apparent consumption and the sources are its own output plus each
supplier's imports; the importer's own output is never the one that stops (the question is about
an outside shock), and the largest foreign supplier is.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pandas as pd

from raremap.metrics.inputs import (
    MetricInputs,
    per_stage,
    production_by_country,
    resolve,
    trade_flows,
    world_production,
)
from raremap.metrics.sourcing import exports_by_partner, imports_by_supplier


def n_minus_one_coverage(supplies: pd.Series, demand: float, protected: Collection[str] = ()) -> float:
    """Share of `demand` the other sources cover when the largest unprotected source stops, in [0, 1].

    Demand is held fixed, so adding a source never lowers coverage and splitting one never does
    either. NaN when there is no demand.
    """
    if demand <= 0:
        return float("nan")
    supplies = supplies[supplies > 0].astype(float)
    candidates = supplies[~supplies.index.isin(list(protected))]
    lost = float(candidates.max()) if not candidates.empty else 0.0
    return float(min(1.0, max(0.0, (float(supplies.sum()) - lost) / demand)))


def stage_coverage(
    inputs: MetricInputs, importer: str, stage: str, element: str, year: int
) -> dict[str, Any]:
    """World and importer N-1 coverage for one stage."""
    by_country = production_by_country(inputs, stage, element, year)
    world_total = world_production(inputs, stage, element, year)
    named = by_country[by_country > 0]
    unattributed = max(0.0, world_total - float(named.sum()))
    flows = trade_flows(inputs, stage, element, year)
    received = imports_by_supplier(flows, importer)
    production_t = float(by_country.get(importer, 0.0))
    consumption = production_t + float(received.sum()) - float(exports_by_partner(flows, importer).sum())
    sources = pd.concat([received, pd.Series({importer: production_t})]) if production_t > 0 else received
    world_sources = (
        pd.concat([named, pd.Series({"unattributed": unattributed})]) if unattributed > 0 else named
    )
    return {
        "world_largest_producer": str(named.idxmax()) if not named.empty else None,
        "world_n1_coverage": n_minus_one_coverage(world_sources, world_total, protected=("unattributed",)),
        "importer_demand_t": consumption,
        "largest_supplier": str(received.index[0]) if not received.empty else None,
        "importer_n1_coverage": n_minus_one_coverage(sources, consumption, protected=(importer,)),
    }


def n1_coverage(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
) -> pd.DataFrame:
    """N-1 coverage per stage for the world and for the importer.

    Columns: importer, stage, element, year, world_largest_producer, world_n1_coverage,
    importer_demand_t, largest_supplier, importer_n1_coverage, method.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element)
    return per_stage(inputs, importer, stages, element, year, stage_coverage)
