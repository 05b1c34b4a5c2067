"""Leverage as asymmetric interdependence: who needs whom more, partner by partner.

Keohane and Nye's asymmetric interdependence, in trade shares: a partner that supplies a large
share of the importer's needs while the importer takes a small share of that partner's exports
holds leverage over the importer; the reverse gives the importer leverage. Diversifying towards
partners for whom the importer is a large customer is diversification that also buys leverage.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from raremap.metrics.inputs import MetricInputs, resolve
from raremap.metrics.stages import UNATTRIBUTED, exports_by_partner, imports_by_supplier, stage_trade


def interdependence(flows: pd.DataFrame, importer: str) -> pd.DataFrame:
    """For each supplier: its share of the importer's imports against the importer's share of its exports.

    Columns: partner, imports_t, partner_share_of_importer_imports, importer_share_of_partner_exports,
    asymmetry (the first minus the second: above 0 the partner holds leverage, below 0 the importer).
    """
    received = imports_by_supplier(flows, importer)
    total = float(received.sum())
    received = received.drop(UNATTRIBUTED, errors="ignore")
    rows = []
    for partner, tonnes in received.items():
        partner_exports = float(exports_by_partner(flows, str(partner)).sum())
        dependence = float(tonnes) / total
        importance = float(tonnes) / partner_exports if partner_exports > 0 else float("nan")
        rows.append(
            {
                "partner": str(partner),
                "imports_t": float(tonnes),
                "partner_share_of_importer_imports": dependence,
                "importer_share_of_partner_exports": importance,
                "asymmetry": dependence - importance,
            }
        )
    columns = [
        "partner",
        "imports_t",
        "partner_share_of_importer_imports",
        "importer_share_of_partner_exports",
        "asymmetry",
    ]
    return pd.DataFrame(rows, columns=columns)


def _stage_leverage(inputs: MetricInputs, importer: str, stage: str, element: str, year: int) -> pd.DataFrame:
    trade = stage_trade(inputs, stage, element, year)
    frame = interdependence(trade.flows, importer)
    frame["holds_leverage"] = frame["asymmetry"].map(lambda value: "partner" if value > 0 else "importer")
    frame.insert(0, "year", year)
    frame.insert(0, "element", element)
    frame.insert(0, "stage", stage)
    frame.insert(0, "importer", importer)
    incomplete = trade.completeness_for(importer)
    frame["note"] = f"recorded partners only: {incomplete}" if incomplete else ""
    frame["method"] = "; ".join(part for part in (inputs.origin, trade.derived) if part)
    return frame


def leverage(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
) -> pd.DataFrame:
    """Asymmetric interdependence per stage and partner, largest supplier first.

    Columns: importer, stage, element, year, partner, imports_t, partner_share_of_importer_imports,
    importer_share_of_partner_exports, asymmetry, holds_leverage, note (set where the importer's
    imports are not fully recorded: shares are then of the recorded imports), method.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element, scenario, series)
    return pd.concat(
        [_stage_leverage(inputs, importer, each_stage, element, year) for each_stage in stages],
        ignore_index=True,
    )
