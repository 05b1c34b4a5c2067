"""What a simulation's numbers mean, in words and small tables: the same text in the CLI, the report
and the dashboard.

- `MEANING` and `caveats`: what a shortfall is, its units, and the main caveats of every run
  (calibration supply and why, perfect foresight, estimates);
- `shortfall_by_year`: the importer's shortfall per calendar year (quarters summed) in each unit,
  never adding t magnet and t REO;
- `binding_summary`: the `binding` table condensed: each constraint once, with the periods it binds
  in and its largest shadow price;
- `lever_effect`: a scenario against its base (`base:` in the scenario file), and when it changes
  nothing, why.

Everything reads result tables by the columns the result contract declares (results.csv).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from raremap.formatting import number, quantity, share
from raremap.results import unit

MAGNET_UNIT = "t magnet"
OXIDE_UNIT = "t REO"
UNCHANGED_TONNES = 0.5
"""A lever changes the importer's shortfall when some year differs by more than this (t) ..."""
UNCHANGED_SHARE = 0.001
"""... and by more than this share of the base's shortfall that year (solver tolerance)."""
BINDING_ROWS = 8
SHADOW_COLUMN = "shadow price (USD/kg)"

MEANING = (
    "Shortfall is demand the market does not serve: magnet buyers (EV, wind, defence, electronics, "
    "industrial, other) in t magnet, oxide buyers (catalysts, glass, metallurgy, phosphors, ceramics) in "
    "t REO; the two units are never added. Quarters are summed into calendar years. Prices are USD/kg, "
    "the market's marginal value of a good in a country."
)
FORESIGHT = (
    "Perfect foresight within a run: stocks, substitution and investment anticipate the known future "
    "(investment does not anticipate the shocks themselves)."
)
ESTIMATES = (
    "Most market data are estimates: sector demand curves, ore compositions and costs outside the "
    "calibration (see docs/simulation.md, Known limits)."
)
SHADOW_NOTE = (
    "Shadow price: what one more kg through that constraint would be worth (USD/kg); for an element a "
    "fixed recipe needs in small amounts (Tb, Dy) it can exceed any market price by far."
)


def columns_unit(table: str, column: str) -> str:
    """The declared unit of a simulation result column ('' if it has none)."""
    return unit("simulation", table, column)


def _year_of(frame: pd.DataFrame) -> pd.Series:
    """The calendar year of each row, from its period's first day."""
    return frame["period_start"].astype(str).str[:4].astype(int)


def calendar_period(frame: pd.DataFrame) -> pd.Series:
    """The label rows are summed under: the calendar year for quarters and months, else the period's label."""
    short = frame["period_years"].astype(float) < 1 - 1e-9
    return frame["period"].astype(str).where(~short, _year_of(frame).astype(str))


def horizon(frame: pd.DataFrame) -> str:
    """'2024-2035': the calendar years a result table covers."""
    if frame.empty:
        return ""
    first = int(_year_of(frame).min())
    starts = frame["period_start"].astype(str)
    ends = (starts.str[:4].astype(int) + (starts.str[5:7].astype(int) - 1) / 12
            + frame["period_years"].astype(float))
    last = math.ceil(float(ends.max()) - 1e-6) - 1
    return f"{first}-{last}" if last > first else str(first)


def importer_of(specification: Mapping[str, Any], default: str = "IND") -> str:
    return str(specification.get("importer") or default)


def shortfall_by_year(shortfall: pd.DataFrame, importer: str) -> pd.DataFrame:
    """The importer's shortfall per calendar year (quarters summed): columns unit, period, demand_t,
    tonnes, share, in period order."""
    rows = shortfall[shortfall["country"] == importer]
    if rows.empty:
        return pd.DataFrame(columns=["unit", "period", "demand_t", "tonnes", "share"])
    rows = rows.assign(_label=calendar_period(rows))
    order = list(dict.fromkeys(rows.sort_values("period_start")["_label"]))
    totals = rows.groupby(["unit", "_label"], as_index=False)[["demand_t", "tonnes"]].sum()
    totals = totals.rename(columns={"_label": "period"})
    totals["share"] = (totals["tonnes"] / totals["demand_t"].where(totals["demand_t"] > 0)).fillna(0.0)
    totals["_order"] = totals["period"].map(order.index)
    return totals.sort_values(["unit", "_order"]).drop(columns="_order").reset_index(drop=True)


def units_present(by_year: pd.DataFrame) -> list[str]:
    """The units of the importer's shortfall, magnets first; oxide buyers only when any is short."""
    found = list(dict.fromkeys(by_year["unit"]))
    ordered = [name for name in (MAGNET_UNIT, OXIDE_UNIT) if name in found]
    ordered += [name for name in found if name not in ordered]
    return [name for name in ordered if name == MAGNET_UNIT or by_year.loc[by_year["unit"] == name, "tonnes"].sum() > 0]


def compressed_periods(chosen: Sequence[str], order: Sequence[str]) -> str:
    """'2025-Q2 to 2025-Q4, 2029 to 2035': consecutive periods (in `order`) joined into ranges."""
    positions = sorted({order.index(period) for period in chosen if period in order})
    ranges: list[str] = []
    start = previous = None
    for position in [*positions, None]:
        if start is not None and (position is None or previous is None or position != previous + 1):
            first, last = order[start], order[previous]  # type: ignore[index]
            ranges.append(first if first == last else f"{first} to {last}")
            start = None
        if position is not None and start is None:
            start = position
        previous = position
    return ", ".join(ranges)


def binding_summary(binding: pd.DataFrame, limit: int = BINDING_ROWS) -> tuple[pd.DataFrame, int]:
    """Each binding constraint once: what binds, kind, when, largest shadow price; and how many more.

    Sorted by the best rank it reaches, then by how many periods it binds in, then by when it first
    binds; `limit` rows at most. The shadow price is the largest over those periods.
    """
    columns = ["what binds", "kind", "periods", SHADOW_COLUMN]
    if binding is None or binding.empty:
        return pd.DataFrame(columns=columns), 0
    order = list(dict.fromkeys(binding.sort_values("period_start")["period"].astype(str)))
    identity = ["kind", "constraint", "country", "partner", "stage", "element"]
    keyed = binding.assign(**{column: binding[column].fillna("").astype(str) for column in identity})
    grouped = []
    for _, rows in keyed.groupby(identity, sort=False):
        strongest = rows.iloc[int(rows["shadow_usd_per_kg"].to_numpy().argmax())]
        grouped.append(
            {
                "what binds": str(strongest["description"]),
                "kind": str(strongest["kind"]),
                "periods": compressed_periods(list(rows["period"].astype(str)), order),
                SHADOW_COLUMN: float(strongest["shadow_usd_per_kg"]),
                "_rank": int(rows["rank"].min()),
                "_count": -len(rows),
                "_first": min(order.index(str(period)) for period in rows["period"]),
            }
        )
    frame = pd.DataFrame(grouped).sort_values(["_rank", "_count", "_first"])
    more = max(len(frame) - limit, 0)
    return frame.head(limit)[columns].reset_index(drop=True), more


def calibration_summary(calibration: pd.DataFrame) -> pd.DataFrame:
    """Calibration supply per good in the first period (a rate held over the horizon): good, t/yr, share, reason."""
    columns = ["good", "t per year", "share of world use", "reason"]
    if calibration is None or calibration.empty:
        return pd.DataFrame(columns=columns)
    first = calibration[calibration["period_start"] == calibration["period_start"].min()]
    rows = first.assign(rate=first["value_t"] / first["period_years"]).sort_values("rate", ascending=False)
    return pd.DataFrame(
        {
            "good": rows["element"].astype(str),
            "t per year": rows["rate"].astype(float),
            "share of world use": rows["share_of_market"].astype(float),
            "reason": rows["reason"].astype(str),
        }
    ).reset_index(drop=True)


def caveats(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """The main caveats of a run, in words: calibration supply (its size and why), foresight, estimates."""
    notes = []
    calibration = calibration_summary(tables.get("calibration", pd.DataFrame()))
    if not calibration.empty:
        year = str(tables["calibration"]["period"].iloc[0]) if "period" in tables["calibration"] else ""
        leading = calibration.head(4)
        listed = "; ".join(
            f"{row['good']} {number(row['t per year'])} t/yr ({share(row['share of world use'])} of world use)"
            for row in leading.to_dict("records")
        )
        reasons = "; ".join(dict.fromkeys(calibration["reason"]))
        notes.append(
            f"Calibration supply: to clear the {year} market at observed prices the model lets China supply "
            f"goods documented supply cannot: {listed}"
            + (f", and {len(calibration) - len(leading)} more goods" if len(calibration) > len(leading) else "")
            + f". Why: {reasons}. This supply is offered in every period at its base-year price, so it "
            "sets how much China weighs in every result."
        )
    notes += [FORESIGHT, ESTIMATES]
    return notes


@dataclass(frozen=True)
class LeverEffect:
    """A scenario against its base: changed or not, the sentence that says so, and the largest change."""

    changed: bool
    text: str
    largest_change_t: float


def _changes(specification: Mapping[str, Any], base: Mapping[str, Any]) -> list[str]:
    """What the scenario adds to its base, in words (capacity, stocks, controls, disruptions, others)."""
    words = []
    for key in ("capacity_changes", "stockpiles", "export_controls", "disruptions", "substitution", "recycling"):
        new = [item for item in specification.get(key) or [] if item not in (base.get(key) or [])]
        for item in new:
            if key == "capacity_changes":
                words.append(f"{number(float(item['capacity_t']))} t/yr of {item['stage']} capacity in "
                             f"{item['country']} from {item['online_year']}")
            elif key == "stockpiles":
                words.append(f"a {number(float(item['size_t']))} t stock of {item['element']} ({item['stage']}) "
                             f"held by {item['holder']}")
            elif key == "export_controls":
                words.append(f"an export control ({item['form']}) by {item['exporter']} from {item['start']}")
            elif key == "disruptions":
                words.append(f"{share(item['share_lost'])} of {item['country']}'s {item['stage']} capacity "
                             f"lost from {item['start']}")
            else:
                words.append(f"{key} for {item.get('sector', 'all sectors')} in {item.get('country', 'all')}")
    for key in ("demand", "policies", "settings", "periods", "sector_priorities"):
        if specification.get(key) != base.get(key):
            words.append(f"changed {key}")
    return words


def _lever_binds(specification: Mapping[str, Any], tables: Mapping[str, pd.DataFrame],
                 base_binding: pd.DataFrame) -> list[str]:
    """For the capacity the lever adds: does the base's matching plant constraint bind for the
    importer, and do the new plants run (then they replace imports rather than serve more demand)?"""
    utilisation = tables.get("utilisation", pd.DataFrame())
    idle: dict[tuple[str, int], list[str]] = {}
    used: dict[tuple[str, int], list[float]] = {}
    for item in specification.get("capacity_changes") or []:
        country, stage, online = str(item["country"]), str(item["stage"]), int(item["online_year"])
        binds = base_binding.empty or not base_binding[
            (base_binding["kind"] == "capacity") & (base_binding["country"] == country)
            & (base_binding["stage"] == stage) & (_year_of(base_binding) >= online)
        ].empty
        if binds:
            continue
        idle.setdefault((country, online), []).append(stage)
        if not utilisation.empty:
            rows = utilisation[(utilisation["country"] == country) & (utilisation["stage"] == stage)
                               & (_year_of(utilisation) >= online)]
            if not rows.empty and float(rows["production_t"].sum()) > 0:
                used.setdefault((country, online), []).append(
                    float(rows["production_t"].sum()) / max(float(rows["capacity_t"].sum()), 1e-9))
    sentences = []
    for (country, online), stages in idle.items():
        sentence = (f"{country}'s {' and '.join(stages)} plants are not among the constraints that bind from "
                    f"{online} in the base, so more capacity there relieves nothing that limits supply")
        rates = used.get((country, online))
        if rates:
            used_words = "all of their capacity" if min(rates) >= 0.995 else f"at least {share(min(rates))} of it"
            sentence += (f"; the new plants do run ({used_words} used from {online}), replacing imports rather "
                         "than serving more demand")
        sentences.append(sentence)
    return sentences


def lever_effect(
    name: str,
    specification: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame],
    base_name: str,
    base_specification: Mapping[str, Any],
    base_tables: Mapping[str, pd.DataFrame],
) -> LeverEffect:
    """How a scenario's shortfall for its importer differs from its base's, and why when it does not."""
    importer = importer_of(specification)
    mine = shortfall_by_year(tables["shortfall"], importer).set_index(["unit", "period"])["tonnes"]
    base = shortfall_by_year(base_tables["shortfall"], importer).set_index(["unit", "period"])["tonnes"]
    difference = mine.subtract(base, fill_value=0.0)
    tolerance = (base.abs() * UNCHANGED_SHARE).reindex(difference.index).fillna(0.0).clip(lower=UNCHANGED_TONNES)
    changed = bool((difference.abs() > tolerance).any())
    largest = float(difference.abs().max()) if not difference.empty else 0.0
    changes = _changes(specification, base_specification)
    lever = "; ".join(dict.fromkeys(changes)) if changes else "no change to the base's inputs"
    if changed:
        parts = []
        exceeds = difference.abs() > tolerance
        for unit_name, rows in difference.groupby(level="unit"):
            if not bool(exceeds[rows.index].any()):
                continue
            total = float(rows.sum())
            worst = rows.abs().idxmax()[1]
            before, after = float(base.get((unit_name, worst), 0.0)), float(mine.get((unit_name, worst), 0.0))
            direction = "raises" if total > 0 else "lowers"
            parts.append(
                f"{direction} {importer}'s shortfall by {quantity(abs(total), str(unit_name))} over "
                f"{horizon(tables['shortfall'])} (most in {worst}: {number(before)} to {number(after)} {unit_name})"
            )
        text = f"{name} ({lever}) against {base_name}: " + "; ".join(parts) + "."
        return LeverEffect(True, text, largest)
    reasons = _lever_binds(specification, tables, base_tables.get("binding", pd.DataFrame()))
    summary, _ = binding_summary(base_tables.get("binding", pd.DataFrame()), limit=3)
    binds = "; ".join(f"{row['what binds']} ({row['periods']})" for row in summary.to_dict("records"))
    text = (
        f"{name} ({lever}) changes nothing in {importer}'s shortfall against {base_name} "
        f"(no year differs by more than {number(UNCHANGED_TONNES)} t). "
        + (f"Why: {'; '.join(reasons)}. " if reasons else "")
        + (f"What binds for {importer} in {base_name}: {binds}." if binds else "")
    )
    return LeverEffect(False, text.strip(), largest)
