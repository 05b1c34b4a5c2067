"""Where an importer's supply of a stage comes from: import reliance, supplier shares and blocs.

A country can depend on a concentrated world without being exposed (it mines its own), or on a
diverse world through one partner. Sourcing metrics look at the importer's own supply: how much of
what it uses it imports, from whom, how concentrated that is, and how much comes from countries
that share none of its blocs. Supplier figures need the importer's imports to be fully recorded
(see `StageTrade.completeness_for`); where they are not, they are missing with the reason.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from raremap.metrics.concentration import shares
from raremap.metrics.inputs import MetricInputs, per_stage, resolve
from raremap.metrics.stages import (
    UNATTRIBUTED,
    Position,
    exports_by_partner,
    importer_position,
    imports_by_supplier,
    stage_output,
    stage_trade,
)

__all__ = ["exports_by_partner", "import_reliance", "imports_by_supplier", "sourcing", "supplier_shares"]


def import_reliance(production_t: float, imports_t: float, exports_t: float) -> float:
    """Net imports over apparent consumption (production + imports - exports), clipped to [0, 1].

    A net exporter relies on nobody (0); a country that consumes nothing has no reliance (NaN).
    """
    consumption = production_t + imports_t - exports_t
    if consumption <= 0:
        return 0.0 if production_t > 0 else float("nan")
    return float(min(1.0, max(0.0, (imports_t - exports_t) / consumption)))


def reliance_of(position: Position) -> tuple[float, str | None, str | None]:
    """(import reliance, reason if missing, note): from apparent consumption, or 1 where output is 0.

    With incomplete trade records reliance is still 1 where the importer's output is known to be
    zero and its recorded imports exceed its recorded exports: whoever supplied, it was imported.
    """
    if position.consumption_t is not None and position.production_t is not None:
        reliance = 1.0 - position.production_t / position.consumption_t
        return float(min(1.0, max(0.0, reliance))), None, None
    produced_nothing = position.production_t == 0.0 and not position.notes
    net = position.recorded_imports_t - (position.exports_t or 0.0)
    if produced_nothing and position.exports_t is not None and net > 0:
        note = f"{position.importer} has no {position.stage} output, so whatever it uses is imported"
        return 1.0, None, note
    return float("nan"), position.reason("consumption"), None


def shared_bloc_partners(blocs: pd.DataFrame, country: str) -> set[str]:
    """Countries that share at least one bloc with `country` (itself included)."""
    own_blocs = set(blocs.loc[blocs["country"] == country, "bloc"])
    return set(blocs.loc[blocs["bloc"].isin(own_blocs), "country"]) | {country}


def share_outside_blocs(supplier_shares: pd.Series, importer: str, blocs: pd.DataFrame) -> float:
    """Share of imports from named suppliers that share no bloc with the importer; NaN without imports."""
    if supplier_shares.empty:
        return float("nan")
    named = supplier_shares.drop(UNATTRIBUTED, errors="ignore")
    partners = shared_bloc_partners(blocs, importer)
    return float(named[~named.index.isin(list(partners))].sum())


def supplier_figures(position: Position, blocs: pd.DataFrame) -> tuple[dict[str, Any], dict[str, str]]:
    """Supplier HHI, largest supplier and its share, share outside own blocs; and why any is missing."""
    keys = ("supplier_hhi", "largest_supplier", "largest_supplier_share", "share_outside_own_blocs")
    missing = {"supplier_hhi": float("nan"), "largest_supplier": None, "largest_supplier_share": float("nan")}
    missing["share_outside_own_blocs"] = float("nan")
    why = position.reason("supplier_shares")
    if why is not None:
        return missing, dict.fromkeys(keys, why)
    fractions = shares(position.imports)
    named = fractions.drop(UNATTRIBUTED, errors="ignore")
    if named.empty:
        none = f"{position.importer} records no {position.stage} imports from a named supplier in {position.year}"
        return missing, dict.fromkeys(keys, none)
    return {
        "supplier_hhi": float((named**2).sum()),
        "largest_supplier": str(named.index[0]),
        "largest_supplier_share": float(named.iloc[0]),
        "share_outside_own_blocs": share_outside_blocs(fractions, position.importer, blocs),
    }, {}


def stage_sourcing(inputs: MetricInputs, importer: str, stage: str, element: str, year: int) -> dict[str, Any]:
    """The importer's sourcing figures for one stage, with the reasons for any that are missing."""
    position = importer_position(inputs, importer, stage, element, year)
    reliance, reliance_reason, reliance_note = reliance_of(position)
    figures, reasons = supplier_figures(position, inputs.blocs)
    for key, value in (
        ("production_t", position.reason("production")),
        ("imports_t", position.reason("imports")),
        ("exports_t", position.reason("imports", "exports")),
        ("apparent_consumption_t", position.reason("consumption")),
        ("import_reliance", reliance_reason),
    ):
        if value is not None:
            reasons[key] = value
    notes = [*position.notes, *([reliance_note] if reliance_note else [])]
    if "supplier_shares" in position.reasons and "imports" not in position.reasons:
        notes.append(f"imports_t is the {position.recorded_imports_t:,.0f} t recorded, a lower bound")
    trade = stage_trade(inputs, stage, element, year)
    output = stage_output(inputs, stage, element, year)
    return {
        "unit": position.unit,
        "production_t": position.production_t if position.production_t is not None else float("nan"),
        "imports_t": position.recorded_imports_t if "imports" not in position.reasons else float("nan"),
        "exports_t": position.exports_t if position.exports_t is not None else float("nan"),
        "apparent_consumption_t": position.consumption_t if position.consumption_t is not None else float("nan"),
        "import_reliance": reliance,
        **figures,
        "reasons": reasons,
        "notes": notes,
        "method": "; ".join(part for part in (inputs.origin, output.method(), trade.derived) if part),
    }


def sourcing(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
) -> pd.DataFrame:
    """The importer's sourcing per stage.

    Columns: importer, stage, element, year, unit, production_t, imports_t (recorded), exports_t,
    apparent_consumption_t, import_reliance, supplier_hhi, largest_supplier, largest_supplier_share,
    share_outside_own_blocs, reasons, notes, method. Trade is in tonnes of product as traded,
    production in the schema's unit for the stage, so reliance mixes compound and oxide tonnes at
    separation.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element, scenario, series)
    return per_stage(inputs, importer, stages, element, year, stage_sourcing)


def supplier_shares(
    source: Any = None,
    *,
    importer: str = "IND",
    year: int | None = None,
    stage: str | None = None,
    element: str = "REO",
    scenario: str | None = None,
    series: str | None = None,
) -> pd.DataFrame:
    """Each supplier's share of the importer's imports per stage, where its imports are fully recorded.

    Columns: importer, stage, element, year, supplier, imports_t, share (shares of a stage sum to
    1; 'unattributed' is imports whose origin the source does not give). Stages whose imports are
    not fully recorded have no rows; `sourcing` gives the reason.
    """
    inputs, year, stages = resolve(source, importer, year, stage, element, scenario, series)
    frames = []
    for each_stage in stages:
        position = importer_position(inputs, importer, each_stage, element, year)
        received = position.imports if position.imports_complete else pd.Series(dtype=float)
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
