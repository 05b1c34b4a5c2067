"""N-1 coverage: if the largest source of a stage stops, how much can the rest still cover?

Two readings, side by side (docs/metrics/coverage.md):

- Output-based (the grid planner's N-1 rule applied to supply chains): for the world, demand is
  what the world now produces at that stage, so coverage is one minus the leading producer's
  share; for the importer, demand is its apparent consumption and the sources are its own output
  plus each supplier's imports. The importer's own output never stops (the question is about an
  outside shock); the largest foreign supplier does.
- Demand-based, as the IEA asks it: the share of (future) demand that the remaining suppliers could
  cover if the largest were lost. Demand is what buyers want in a projection: what they get plus
  what the projection leaves unserved. It exists only for projections (`--year 2030`, `--scenario`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pandas as pd

from raremap.metrics.inputs import MAGNET_PRODUCTS, TOTAL, MetricInputs, per_stage, resolve
from raremap.metrics.stages import (
    UNATTRIBUTED,
    importer_position,
    stage_output,
)

NEEDS_PROJECTION = (
    "demand-based N-1 needs projected demand: ask for a projection year (e.g. --year 2030) or a scenario"
)


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


def _unmet(inputs: MetricInputs, country: str | None, stage: str, element: str, year: int) -> float:
    """Projected demand beyond consumption: unserved demand less output nobody buys (surplus)."""
    return _sum(inputs.unmet, country, stage, element, year) - _sum(inputs.surplus, country, stage, element, year)


def _sum(rows: pd.DataFrame, country: str | None, stage: str, element: str, year: int) -> float:
    wanted = MAGNET_PRODUCTS if stage == "magnet" and element == TOTAL else (element,)
    rows = rows[(rows["stage"] == stage) & rows["element"].isin(wanted) & (rows["year"] == year)]
    if country is not None:
        rows = rows[rows["country"] == country]
    return float(rows["value_t"].sum())


def stage_coverage(inputs: MetricInputs, importer: str, stage: str, element: str, year: int) -> dict[str, Any]:
    """World and importer N-1 coverage for one stage, output-based and (projections) demand-based."""
    output = stage_output(inputs, stage, element, year)
    position = importer_position(inputs, importer, stage, element, year)
    reasons: dict[str, str] = {}
    named = output.by_country[output.by_country > 0] if output.available else pd.Series(dtype=float)
    world_sources = named.copy()
    if output.available and output.unattributed_t > 0:
        world_sources[UNATTRIBUTED] = output.unattributed_t
    world = float("nan")
    world_demand_coverage = float("nan")
    if named.empty:
        reasons["world_n1_coverage"] = output.empty_reason()
    else:
        world = n_minus_one_coverage(world_sources, output.world_t, protected=(UNATTRIBUTED,))
    sources = position.imports.copy()
    if position.production_t:
        sources[importer] = position.production_t
    importer_coverage = float("nan")
    importer_demand_coverage = float("nan")
    demand_t = float("nan")
    why = position.reason("supplier_shares", "consumption")
    if why is not None:
        reasons["importer_n1_coverage"] = why
    else:
        assert position.consumption_t is not None
        importer_coverage = n_minus_one_coverage(sources, position.consumption_t, protected=(importer, UNATTRIBUTED))
    if inputs.basis != "projection":
        reasons["world_demand_n1_coverage"] = NEEDS_PROJECTION
        reasons["importer_demand_n1_coverage"] = NEEDS_PROJECTION
    else:
        if "world_n1_coverage" in reasons:
            reasons["world_demand_n1_coverage"] = reasons["world_n1_coverage"]
        else:
            world_demand = output.world_t + _unmet(inputs, None, stage, element, year)
            world_demand_coverage = n_minus_one_coverage(world_sources, world_demand, protected=(UNATTRIBUTED,))
            if world_demand <= 0:
                reasons["world_demand_n1_coverage"] = f"no projected {element} {stage} demand in {year}"
        if why is not None:
            reasons["importer_demand_n1_coverage"] = why
        else:
            assert position.consumption_t is not None
            demand_t = position.consumption_t + _unmet(inputs, importer, stage, element, year)
            importer_demand_coverage = n_minus_one_coverage(sources, demand_t, protected=(importer, UNATTRIBUTED))
            if demand_t <= 0:
                reasons["importer_demand_n1_coverage"] = f"no projected {element} {stage} demand of {importer} in {year}"
    largest = position.imports.drop(UNATTRIBUTED, errors="ignore")
    return {
        "unit": output.unit,
        "world_largest_producer": str(named.idxmax()) if not named.empty else None,
        "world_n1_coverage": world,
        "world_demand_n1_coverage": world_demand_coverage,
        "importer_demand_t": position.consumption_t if position.consumption_t is not None else float("nan"),
        "importer_projected_demand_t": demand_t,
        "largest_supplier": str(largest.index[0]) if not largest.empty and why is None else None,
        "importer_n1_coverage": importer_coverage,
        "importer_demand_n1_coverage": importer_demand_coverage,
        "reasons": reasons,
        "method": f"{inputs.origin}; {output.method()}",
    }


def n1_coverage(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
) -> pd.DataFrame:
    """N-1 coverage per stage for the world and for the importer, output-based and demand-based.

    Columns: importer, stage, element, year, unit, world_largest_producer, world_n1_coverage,
    world_demand_n1_coverage, importer_demand_t (apparent consumption), importer_projected_demand_t
    (consumption plus unserved demand, projections only), largest_supplier, importer_n1_coverage,
    importer_demand_n1_coverage, reasons, method.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element, scenario, series)
    return per_stage(inputs, importer, stages, element, year, stage_coverage)
