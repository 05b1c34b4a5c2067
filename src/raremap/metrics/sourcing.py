"""Where an importer's supply of a stage comes from: import reliance, supplier shares and blocs.

A country can depend on a concentrated world without being exposed (it mines its own), or on a
diverse world through one partner. Sourcing metrics look at the importer's own supply: how much of
what it uses it imports, from whom, how concentrated that is, and how much comes from countries
that share none of its blocs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from raremap.metrics.concentration import herfindahl_index, shares
from raremap.metrics.inputs import MetricInputs, per_stage, production_by_country, resolve, trade_flows


def imports_by_supplier(flows: pd.DataFrame, importer: str) -> pd.Series:
    """Tonnes the importer receives from each exporter, largest first."""
    received = flows[flows["importer"] == importer].groupby("exporter")["value_t"].sum()
    return received[received > 0].sort_values(ascending=False, kind="mergesort")


def exports_by_partner(flows: pd.DataFrame, exporter: str) -> pd.Series:
    """Tonnes the exporter sends to each partner."""
    sent = flows[flows["exporter"] == exporter].groupby("importer")["value_t"].sum()
    return sent[sent > 0]


def import_reliance(production_t: float, imports_t: float, exports_t: float) -> float:
    """Net imports over apparent consumption (production + imports - exports), clipped to [0, 1].

    A net exporter relies on nobody (0); a country that consumes nothing has no reliance (NaN).
    """
    consumption = production_t + imports_t - exports_t
    if consumption <= 0:
        return 0.0 if production_t > 0 else float("nan")
    return float(min(1.0, max(0.0, (imports_t - exports_t) / consumption)))


def shared_bloc_partners(blocs: pd.DataFrame, country: str) -> set[str]:
    """Countries that share at least one bloc with `country` (itself included)."""
    own_blocs = set(blocs.loc[blocs["country"] == country, "bloc"])
    return set(blocs.loc[blocs["bloc"].isin(own_blocs), "country"]) | {country}


def share_outside_blocs(supplier_shares: pd.Series, importer: str, blocs: pd.DataFrame) -> float:
    """Share of imports from suppliers that share no bloc with the importer; NaN without imports."""
    if supplier_shares.empty:
        return float("nan")
    partners = shared_bloc_partners(blocs, importer)
    return float(supplier_shares[~supplier_shares.index.isin(list(partners))].sum())


def stage_sourcing(
    inputs: MetricInputs, importer: str, stage: str, element: str, year: int
) -> dict[str, Any]:
    """The importer's sourcing figures for one stage."""
    flows = trade_flows(inputs, stage, element, year)
    received = imports_by_supplier(flows, importer)
    production_t = float(production_by_country(inputs, stage, element, year).get(importer, 0.0))
    imports_t = float(received.sum())
    exports_t = float(exports_by_partner(flows, importer).sum())
    fractions = shares(received)
    return {
        "production_t": production_t,
        "imports_t": imports_t,
        "exports_t": exports_t,
        "apparent_consumption_t": production_t + imports_t - exports_t,
        "import_reliance": import_reliance(production_t, imports_t, exports_t),
        "supplier_hhi": herfindahl_index(received),
        "largest_supplier": str(fractions.index[0]) if not fractions.empty else None,
        "largest_supplier_share": float(fractions.iloc[0]) if not fractions.empty else float("nan"),
        "share_outside_own_blocs": share_outside_blocs(fractions, importer, inputs.blocs),
    }


def sourcing(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
) -> pd.DataFrame:
    """The importer's sourcing per stage.

    Columns: importer, stage, element, year, production_t, imports_t, exports_t,
    apparent_consumption_t, import_reliance, supplier_hhi, largest_supplier, largest_supplier_share,
    share_outside_own_blocs, method. Trade is in tonnes of product as traded, production in the
    schema's unit for the stage, so reliance mixes compound and oxide tonnes at separation.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element)
    return per_stage(inputs, importer, stages, element, year, stage_sourcing)


def supplier_shares(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
) -> pd.DataFrame:
    """Each supplier's share of the importer's imports per stage.

    Columns: importer, stage, element, year, supplier, imports_t, share (shares of a stage sum to 1).
    """
    inputs, year, stages = resolve(source, importer, year, stage, element)
    frames = []
    for each_stage in stages:
        received = imports_by_supplier(trade_flows(inputs, each_stage, element, year), importer)
        fractions = shares(received)
        frames.append(
            pd.DataFrame(
                {
                    "importer": importer,
                    "stage": each_stage,
                    "element": element,
                    "year": year,
                    "supplier": fractions.index.astype(str),
                    "imports_t": received.reindex(fractions.index).to_numpy(),
                    "share": fractions.to_numpy(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
