"""How concentrated a stage's world output is: shares, Herfindahl-Hirschman index, top producers.

Concentration is the first question of supply security: a stage that one country dominates can be
closed by one decision. The HHI here is the sum of squared shares as fractions (0 to 1), the form
the GeoPolRisk and EU criticality methods use.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from raremap.metrics.inputs import production_by_country, provenance, resolve, world_production

UNATTRIBUTED = "unattributed"
MATERIAL_SHARE = 0.05


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


def world_shares(by_country: pd.Series, world_total: float) -> pd.Series:
    """Country shares of world output; output the world total holds beyond the countries is 'unattributed'.

    The unattributed rest is kept so shares sum to 1, and is left out of the HHI: it is spread over
    producers too small to list, whose squared shares are negligible.
    """
    rest = world_total - float(by_country.sum())
    values = by_country.copy()
    if rest > 1e-9 * max(world_total, 1.0):
        values[UNATTRIBUTED] = rest
    return shares(values)


def concentration_row(by_country: pd.Series, world_total: float) -> dict[str, Any]:
    """HHI, top-1, top-3 and the count of producers above 5 % for one stage."""
    fractions = world_shares(by_country, world_total)
    named = fractions.drop(UNATTRIBUTED, errors="ignore")
    if named.empty:
        return {
            "world_t": world_total,
            "hhi": float("nan"),
            "top1_country": None,
            "top1_share": float("nan"),
            "top3_share": float("nan"),
            "producers_above_5_percent": 0,
        }
    return {
        "world_t": world_total,
        "hhi": float((named**2).sum()),
        "top1_country": str(named.index[0]),
        "top1_share": float(named.iloc[0]),
        "top3_share": float(named.iloc[:3].sum()),
        "producers_above_5_percent": int((named > MATERIAL_SHARE).sum()),
    }


def production_concentration(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
) -> pd.DataFrame:
    """World production concentration per stage.

    Columns: stage, element, year, world_t, hhi, top1_country, top1_share, top3_share,
    producers_above_5_percent, method. `importer` is accepted (and checked) so every metric takes
    the same arguments; concentration does not depend on it.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element)
    rows = []
    for each_stage in stages:
        by_country = production_by_country(inputs, each_stage, element, year)
        world_total = world_production(inputs, each_stage, element, year)
        rows.append(
            {
                "stage": each_stage,
                "element": element,
                "year": year,
                **concentration_row(by_country, world_total),
                "method": provenance(inputs, each_stage, element),
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
) -> pd.DataFrame:
    """Each producer's share of world output per stage. Columns: stage, element, year, country, value_t, share."""
    inputs, year, stages = resolve(source, importer, year, stage, element)
    frames = []
    for each_stage in stages:
        by_country = production_by_country(inputs, each_stage, element, year)
        world_total = world_production(inputs, each_stage, element, year)
        fractions = world_shares(by_country, world_total)
        frames.append(
            pd.DataFrame(
                {
                    "stage": each_stage,
                    "element": element,
                    "year": year,
                    "country": fractions.index.astype(str),
                    "value_t": (fractions * world_total).to_numpy(),
                    "share": fractions.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
