"""How concentrated a stage's world output is: shares, Herfindahl-Hirschman index, top producers.

Concentration is the first question of supply security: a stage that one country dominates can be
closed by one decision. The HHI here is the sum of squared shares as fractions (0 to 1), the form
the GeoPolRisk and EU criticality methods use. Shares are of the world total as `stage_output`
defines it (one definition for metrics, overview, maps and report).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from raremap.metrics.inputs import resolve
from raremap.metrics.stages import MATERIAL_SHARE, UNATTRIBUTED, StageOutput, stage_output

CONCENTRATION_VALUES = ("world_t", "hhi", "top1_country", "top1_share", "top3_share", "producers_above_5_percent")


def shares(values: pd.Series) -> pd.Series:
    """Each entry's fraction of the total, largest first; empty when the total is zero."""
    values = values[values > 0].astype(float)
    total = float(values.sum())
    if total <= 0:
        return pd.Series(dtype=float)
    return (values / total).sort_values(ascending=False, kind="mergesort")


def herfindahl_index(values: pd.Series) -> float:
    """Sum of squared shares (fractions), from 1/n for n equal suppliers to 1 for one; NaN if none."""
    fractions = shares(values)
    if fractions.empty:
        return float("nan")
    return float((fractions**2).sum())


def concentration_row(output: StageOutput) -> dict[str, Any]:
    """World total, HHI, top-1, top-3 and the count of producers above 5 % for one stage.

    The unattributed rest of the world total counts in the shares' denominator and is left out of
    the HHI: it is spread over producers too small to list, whose squared shares are negligible.
    """
    named = output.shares().drop(UNATTRIBUTED, errors="ignore")
    if named.empty:
        why = output.empty_reason()
        return {
            "world_t": output.world_t if output.available else float("nan"),
            "hhi": float("nan"),
            "top1_country": None,
            "top1_share": float("nan"),
            "top3_share": float("nan"),
            "producers_above_5_percent": None,
            "reasons": {key: why for key in CONCENTRATION_VALUES if key != "world_t" or not output.available},
        }
    return {
        "world_t": output.world_t,
        "hhi": float((named**2).sum()),
        "top1_country": str(named.index[0]),
        "top1_share": float(named.iloc[0]),
        "top3_share": float(named.iloc[:3].sum()),
        "producers_above_5_percent": int((named > MATERIAL_SHARE).sum()),
        "reasons": {},
    }


def production_concentration(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
) -> pd.DataFrame:
    """World production concentration per stage.

    Columns: stage, element, year, unit, series, world_t, hhi, top1_country, top1_share, top3_share,
    producers_above_5_percent, reasons (why a value is missing), method. `importer` is accepted (and
    checked) so every metric takes the same arguments; concentration does not depend on it.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element, scenario, series)
    rows = []
    for each_stage in stages:
        output = stage_output(inputs, each_stage, element, year)
        rows.append(
            {
                "stage": each_stage,
                "element": element,
                "year": year,
                "unit": output.unit,
                "series": output.series,
                **concentration_row(output),
                "method": f"{inputs.origin}; {output.method()}",
            }
        )
    return pd.DataFrame(rows)


def production_shares(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
) -> pd.DataFrame:
    """Each producer's share of world output per stage, 'unattributed' for the rest of the world total.

    Columns: stage, element, year, unit, country, value_t, share (a stage's shares sum to 1).
    """
    inputs, year, stages = resolve(source, importer, year, stage, element, scenario, series)
    frames = []
    for each_stage in stages:
        output = stage_output(inputs, each_stage, element, year)
        fractions = output.shares()
        frames.append(
            pd.DataFrame(
                {
                    "stage": each_stage,
                    "element": element,
                    "year": year,
                    "unit": output.unit,
                    "country": fractions.index.astype(str),
                    "value_t": (fractions * output.world_t).to_numpy() if not fractions.empty else [],
                    "share": fractions.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
