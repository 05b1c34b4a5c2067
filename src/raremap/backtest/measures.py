"""From a run's result tables to the figure an outcome observes: the one place that maps them.

Each measure reads the public result tables of ``raremap.simulate.simulate`` (``flows``,
``production``, ``prices``, ``shortfall``, ``substitution``, ``calibration``, ``utilisation``) and
returns one number per period, or None when the tables do not carry what the outcome needs (the
outcome is then reported as not expressible, with the reason). When the engine's tables change
(issues 12 and 13), this module is what to adapt.

Units: tonnes per period as the tables give them; prices in USD per kg (the tables give USD/t).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from raremap.backtest.spec import Selection

MAGNET = "NdFeB"
UTILISATION_AT_LIMIT = 0.999
"""Output at or above this share of capacity counts as capacity at its limit."""


class NotExpressibleError(Exception):
    """The result tables hold nothing this measure can read; the message says what is missing."""


def _table(result: Any, name: str) -> pd.DataFrame:
    tables = getattr(result, "tables", {})
    if name not in tables:
        raise NotExpressibleError(f"the run has no `{name}` result table")
    return tables[name]


def _filter(frame: pd.DataFrame, column: str, values: tuple[str, ...] | str | None) -> pd.DataFrame:
    if values is None or values == ():
        return frame
    wanted = (values,) if isinstance(values, str) else values
    return frame[frame[column].isin(list(wanted))]


def _by_period(frame: pd.DataFrame, column: str, periods: tuple[int, ...]) -> pd.Series:
    return frame.groupby("period")[column].sum().reindex(list(periods)).fillna(0.0)


def _trade(result: Any, select: Selection, periods: tuple[int, ...]) -> pd.DataFrame:
    flows = _table(result, "flows")
    flows = flows[flows["exporter"] != flows["importer"]]
    flows = _filter(flows, "stage", select.stages)
    return _filter(flows, "element", select.elements)


def exports(result: Any, select: Selection, periods: tuple[int, ...]) -> pd.Series:
    """Tonnes shipped by `exporter` (to `importer` if given) at the stages and elements selected."""
    flows = _trade(result, select, periods)
    flows = _filter(flows, "exporter", select.exporter)
    flows = _filter(flows, "importer", select.importer)
    return _by_period(flows, "value_t", periods)


def imports(result: Any, select: Selection, periods: tuple[int, ...]) -> pd.Series:
    """Tonnes received by `importer` (from `exporter` if given) at the stages and elements selected."""
    return exports(result, select, periods)


def import_share(result: Any, select: Selection, periods: tuple[int, ...]) -> pd.Series:
    """Share of `importer`'s imports (stages, elements selected) that come from `partner`."""
    flows = _filter(_trade(result, select, periods), "importer", select.importer)
    total = _by_period(flows, "value_t", periods)
    from_partner = _by_period(_filter(flows, "exporter", select.partner), "value_t", periods)
    return (from_partner / total.where(total > 0)).astype(float)


def production(result: Any, select: Selection, periods: tuple[int, ...]) -> pd.Series:
    """Output at the stages and elements selected, of `country` or of all but `except_countries`."""
    frame = _filter(_table(result, "production"), "stage", select.stages)
    frame = _filter(frame, "element", select.elements)
    frame = _filter(frame, "country", select.country)
    if select.except_countries:
        frame = frame[~frame["country"].isin(list(select.except_countries))]
    return _by_period(frame, "value_t", periods)


def price(result: Any, select: Selection, periods: tuple[int, ...]) -> pd.Series:
    """Price in USD/kg at the stage and element selected in `country` (mean over countries if none)."""
    frame = _filter(_table(result, "prices"), "stage", select.stages)
    frame = _filter(frame, "element", select.elements)
    frame = _filter(frame, "country", select.country)
    if frame.empty:
        raise NotExpressibleError(
            f"the run reports no price for stage {list(select.stages)}, element {list(select.elements)}, "
            f"country {select.country or 'any'} (no market for it in the model)"
        )
    return (frame.groupby("period")["usd_per_t"].mean() / 1000.0).reindex(list(periods))


def _magnet_use(result: Any, periods: tuple[int, ...], country: str | None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Substituted, short and served magnet tonnes per period (served = made + calibration magnets)."""
    substitution = _filter(_table(result, "substitution"), "country", country)
    shortfall = _filter(_table(result, "shortfall"), "country", country)
    substituted = _by_period(substitution, "tonnes", periods)
    short = _by_period(shortfall, "tonnes", periods)
    made = _by_period(_filter(_filter(_table(result, "production"), "stage", "magnet"), "country", country), "value_t", periods)
    calibration = _by_period(_filter(_filter(_table(result, "calibration"), "element", MAGNET), "country", country), "value_t", periods)
    return substituted, short, made + calibration


def substitution_share(result: Any, select: Selection, periods: tuple[int, ...]) -> pd.Series:
    """Substituted (or thrifted) share of magnet demand: substituted / (substituted + short + served).

    World only: served magnets are approximated by magnets made plus calibration magnets, which
    holds for the world (stocks aside) but not for one country.
    """
    if select.country is not None:
        raise NotExpressibleError("substitution share is computed for the world only (served magnets per country are not a result table)")
    substituted, short, served = _magnet_use(result, periods, None)
    total = substituted + short + served
    return (substituted / total.where(total > 0)).astype(float)


def shortfall_share(result: Any, select: Selection, periods: tuple[int, ...]) -> pd.Series:
    """Unmet share of demand of `country` (or the world), from the shortfall table."""
    frame = _filter(_table(result, "shortfall"), "country", select.country)
    frame = _filter(frame, "element", select.elements)
    frame = frame[frame["share"] > 0]
    demand = (frame["tonnes"] / frame["share"]).groupby(frame["period"]).sum()
    short = frame.groupby("period")["tonnes"].sum()
    shares = (short / demand).reindex(list(periods)).fillna(0.0)
    return shares.astype(float)


def recycling_share(result: Any, select: Selection, periods: tuple[int, ...]) -> pd.Series:
    """Recycled share of supply: the result tables carry no recycling table yet."""
    tables = getattr(result, "tables", {})
    if "recycling" not in tables:
        raise NotExpressibleError(
            "the run's result tables have no recycling table (the LP's Recycling-separation and "
            "Recycling-metal values are not collected); the engine needs a `recycling` result table"
        )
    frame = _filter(tables["recycling"], "element", select.elements)
    recycled = _by_period(frame, "value_t", periods)
    made = _by_period(_filter(_table(result, "production"), "stage", select.stages or ("separation",)), "value_t", periods)
    return (recycled / (made + recycled).where(made + recycled > 0)).astype(float)


MEASURE_FUNCTIONS: dict[str, Callable[[Any, Selection, tuple[int, ...]], pd.Series]] = {
    "exports": exports,
    "imports": imports,
    "import_share": import_share,
    "production": production,
    "price": price,
    "substitution_share": substitution_share,
    "recycling_share": recycling_share,
    "shortfall_share": shortfall_share,
}


def measure(result: Any, name: str, select: Selection, periods: tuple[int, ...]) -> pd.Series:
    """The measure's value per period of the run (NaN where undefined)."""
    return MEASURE_FUNCTIONS[name](result, select, periods).astype(float)


MAXIMUM_LISTED = 12
"""Binding constraints listed per run: the importer's and China's first, then the rest by name."""


def binding_constraints(result: Any, importer: str) -> pd.DataFrame:
    """What limits the run, as far as the result tables say.

    The engine's own list of binding constraints with shadow prices (issue 13, part 6) is used
    when the result has a `binding` table; until then: capacities used to their limit (from
    `utilisation`) and calibration supply used (the data's missing supply filled in China).
    """
    tables = getattr(result, "tables", {})
    if "binding" in tables:
        frame = tables["binding"]
        return frame.assign(origin="engine")
    rows = []
    utilisation = tables.get("utilisation")
    if utilisation is not None and not utilisation.empty:
        at_limit = utilisation[utilisation["utilisation"] >= UTILISATION_AT_LIMIT]
        for (country, stage), group in at_limit.groupby(["country", "stage"]):
            periods = sorted(int(period) for period in group["period"])
            rows.append({
                "constraint": f"{stage} capacity in {country} at its limit",
                "periods": _span(periods),
                "origin": "utilisation table (output >= 99.9 % of capacity)",
            })
    calibration = tables.get("calibration")
    if calibration is not None and not calibration.empty:
        for (country, element), group in calibration.groupby(["country", "element"]):
            periods = sorted(int(period) for period in group["period"])
            rows.append({
                "constraint": f"calibration supply of {element} in {country} used ({group['value_t'].mean():,.0f} t a period)",
                "periods": _span(periods),
                "origin": "calibration table (supply the data lack, see docs/simulation.md rule 9)",
            })
    frame = pd.DataFrame(rows, columns=["constraint", "periods", "origin"])
    first = frame["constraint"].str.contains(f" {importer}\\b|calibration", regex=True)
    second = frame["constraint"].str.contains(" CHN\\b", regex=True) & ~first
    ordered = pd.concat([frame[first], frame[second], frame[~first & ~second]])
    if len(ordered) > MAXIMUM_LISTED:
        more = len(ordered) - MAXIMUM_LISTED + 1
        ordered = pd.concat([
            ordered.head(MAXIMUM_LISTED - 1),
            pd.DataFrame([{"constraint": f"... and {more} more capacities at their limit", "periods": "", "origin": "utilisation table"}]),
        ])
    return ordered.reset_index(drop=True)


def _span(periods: list[int]) -> str:
    if not periods:
        return ""
    if periods == list(range(periods[0], periods[-1] + 1)):
        return str(periods[0]) if len(periods) == 1 else f"{periods[0]}-{periods[-1]}"
    return ", ".join(str(period) for period in periods)
