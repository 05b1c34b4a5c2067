"""The one definition of a stage's output, its trade and an importer's position, with the reasons a
figure is missing.

Every metric reads the world and the importer through three functions here:

- `stage_output`: each country's output of a stage, element and year and the world total. The
  production series is chosen by the series rule, countries missing from it are filled from other
  series where the world total leaves room for them, estimated totals that contradict a reported
  element figure are set aside, and element figures not reported are derived (ore composition,
  separation feed, magnet recipe). The world total is the chosen series' world row where it is at
  least the sum of the countries listed (the rest is 'unattributed'), else that sum.
- `stage_trade`: the flows of a stage, element and year, element content derived the same way, and
  whether the exporters recorded cover the world's producers (trade complete) or not.
- `importer_position`: the importer's output, recorded imports and exports, and its apparent
  consumption, each either a number or None with the reason it cannot be given.

docs/metrics/rules.md states each rule; the metrics only combine what these return.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from raremap.metrics.inputs import (
    ELEMENT_GROUPS,
    MAGNET_PRODUCTS,
    PROJECTION_SERIES,
    REFERENCE_RECIPES,
    TOTAL,
    UNKNOWN_ORIGIN,
    MetricInputs,
    series_order,
)
from raremap.vocabulary import STAGE_UNITS, WORLD

UNATTRIBUTED = "unattributed"
MATERIAL_SHARE = 0.05
"""Producers with more than this share of world output must appear as exporters for trade to be complete."""
CONTRADICTION_FACTOR = 2.0
"""An estimated total whose implied element content exceeds a reported element figure by more than this
factor is set aside as contradicted."""
TOLERANCE_T = 1e-6


def tonnes(value: float) -> str:
    """A tonnage for a sentence: '1,234 t', '0.4 t'."""
    return f"{value:,.0f} t" if abs(value) >= 10 else f"{value:,.3g} t"


def percent(share: float) -> str:
    """A share for a sentence: '84 %', '0.6 %'."""
    return f"{share * 100:.0f} %" if share >= 0.095 else f"{share * 100:.1g} %"


def names(countries: Iterable[str]) -> str:
    listed = list(countries)
    return ", ".join(listed[:-1]) + (" and " if len(listed) > 1 else "") + listed[-1] if listed else "none"


def stage_unit(stage: str, element: str) -> str:
    """The unit of a stage's tonnes for an element: element content where an element is asked for."""
    if element == TOTAL or (stage == "magnet" and element in MAGNET_PRODUCTS):
        return STAGE_UNITS[stage]
    if element in MAGNET_PRODUCTS:
        return f"t {element}"
    return {
        "mining": f"t {element} oxide in concentrate",
        "separation": f"t {element} oxide",
        "metal": f"t {element} metal",
        "magnet": f"t {element} in magnets",
    }[stage]


def is_stage_total(stage: str, element: str) -> bool:
    """Whether `element` names a stage's total product (REO, or a magnet product at the magnet stage)."""
    return element == TOTAL or (stage == "magnet" and element in MAGNET_PRODUCTS)


def members(element: str) -> tuple[str, ...]:
    return ELEMENT_GROUPS.get(element, (element,))


def total_elements(stage: str) -> tuple[str, ...]:
    """The element codes whose rows make a stage's total: REO, or the magnet products."""
    return MAGNET_PRODUCTS if stage == "magnet" else (TOTAL,)


# --------------------------------------------------------------------------- the series rule


def chosen_series(inputs: MetricInputs, stage: str, year: int) -> tuple[str | None, str | None]:
    """(series, None) or (None, reason): the series rule for one stage and year.

    A series forced for the stage (--series stage=NAME) is used if it has country rows there. Else
    the first series in the preference order (main first, then the others alphabetically; --series
    NAME puts NAME first) with country rows for the stage and year.
    """
    rows = inputs.production
    rows = rows[(rows["stage"] == stage) & (rows["year"] == year) & (rows["country"] != WORLD)]
    present = set(rows["series"])
    forced = inputs.series_by_stage.get(stage)
    if forced is not None:
        if forced in present:
            return forced, None
        return None, f"series {forced} has no {stage} output rows for {year} (series with rows: {names(sorted(present))})"
    for series in series_order(inputs):
        if series in present:
            return series, None
    return None, f"no {stage} output data for {year} in any production series"


# --------------------------------------------------------------------------- element shares


def _cached(inputs: MetricInputs, key: tuple[Any, ...], make: Any) -> Any:
    """inputs.cache[key], made once."""
    if key not in inputs.cache:
        inputs.cache[key] = make()
    return inputs.cache[key]


def mine_composition(inputs: MetricInputs, country: str) -> pd.Series:
    """Element shares (of REO) of a country's mine output; empty if unknown."""

    def make() -> pd.Series:
        shares = inputs.element_shares
        return shares[shares["country"] == country].set_index("element")["share"].astype(float)

    result: pd.Series = _cached(inputs, ("mine_composition", country), make)
    return result


def _weighted_composition(weights: pd.Series, inputs: MetricInputs) -> pd.Series:
    """Output-weighted average of the mine compositions of the countries in `weights` (t REO)."""
    total = pd.Series(dtype=float)
    mass = 0.0
    for country, tonnage in weights.items():
        composition = mine_composition(inputs, str(country))
        if composition.empty or tonnage <= 0:
            continue
        total = total.add(composition * float(tonnage), fill_value=0.0)
        mass += float(tonnage)
    return total / mass if mass > 0 else pd.Series(dtype=float)


def stage_totals(inputs: MetricInputs, stage: str, year: int) -> pd.Series:
    """Each country's total output of a stage in the chosen series (no gap filling), for weights."""
    result: pd.Series = _cached(inputs, ("stage_totals", stage, year), lambda: _stage_totals(inputs, stage, year))
    return result


def _stage_totals(inputs: MetricInputs, stage: str, year: int) -> pd.Series:
    series, _ = chosen_series(inputs, stage, year)
    if series is None:
        return pd.Series(dtype=float)
    rows = inputs.production
    rows = rows[
        (rows["stage"] == stage)
        & (rows["year"] == year)
        & (rows["series"] == series)
        & (rows["country"] != WORLD)
        & rows["element"].isin(total_elements(stage))
    ]
    return rows.groupby("country")["value_t"].sum()


def world_mine_composition(inputs: MetricInputs, year: int) -> pd.Series:
    """The world's mine output composition in a year: each mining country's composition, weighted by output."""
    key = ("world_mine_composition", year)
    if key not in inputs.cache:
        inputs.cache[key] = _weighted_composition(stage_totals(inputs, "mining", year), inputs)
    result: pd.Series = inputs.cache[key]
    return result


def concentrate_flows(inputs: MetricInputs, year: int) -> pd.DataFrame:
    """Recorded concentrate flows (REO) of a year: exporter, importer, value_t."""
    result: pd.DataFrame = _cached(inputs, ("concentrate_flows", year), lambda: _concentrate_flows(inputs, year))
    return result


def _concentrate_flows(inputs: MetricInputs, year: int) -> pd.DataFrame:
    rows = inputs.trade
    rows = rows[(rows["stage"] == "mining") & (rows["year"] == year) & (rows["element"] == TOTAL)]
    return rows.groupby(["exporter", "importer"])["value_t"].sum().reset_index()


def separation_feed(inputs: MetricInputs, country: str, year: int) -> pd.Series:
    """What a country separates, by origin (t REO): its own mine output less recorded concentrate
    exports, plus recorded concentrate imports."""
    flows = concentrate_flows(inputs, year)
    own = float(stage_totals(inputs, "mining", year).get(country, 0.0))
    exported = float(flows.loc[flows["exporter"] == country, "value_t"].sum())
    imported = flows[flows["importer"] == country].groupby("exporter")["value_t"].sum()
    feed = imported.copy()
    kept = own - exported
    if kept > 0:
        feed[country] = feed.get(country, 0.0) + kept
    return feed[feed > 0]


def recipe_shares(inputs: MetricInputs, product: str) -> pd.Series:
    """Element mass shares of a magnet product's reference recipe (t element per t magnet)."""

    def make() -> pd.Series:
        shares = inputs.magnet_shares
        return shares[shares["product"] == product].set_index("element")["share"].astype(float)

    result: pd.Series = _cached(inputs, ("recipe", product), make)
    return result


def rare_earth_recipe_shares(inputs: MetricInputs) -> pd.Series:
    """Each rare earth's share of the rare-earth content of the reference NdFeB recipe."""
    shares = recipe_shares(inputs, "NdFeB")
    earths = shares[shares.index.isin(inputs.element_codes)]
    return earths / float(earths.sum()) if float(earths.sum()) > 0 else earths


def element_share(inputs: MetricInputs, country: str | None, stage: str, element: str, year: int) -> float | None:
    """The share of `element` in a country's stage output (None if not known); `country=None` is the world.

    mining: the country's ore composition (the world's: mine compositions weighted by output);
    separation: the composition of what it separates (own ore and recorded concentrate imports),
    the world's mine composition where the feed is unknown; metal: the element's share of the rare
    earths in the reference NdFeB recipe; magnet: its mass share of the NdFeB recipe (t per t).
    """
    key = ("share", country, stage, element, year)
    if key in inputs.cache:
        cached: float | None = inputs.cache[key]
        return cached
    composition: pd.Series
    if stage == "mining":
        composition = (
            world_mine_composition(inputs, year) if country is None else mine_composition(inputs, country)
        )
    elif stage == "separation":
        composition = (
            _cached(inputs, ("feed_composition", country, year), lambda: _feed_composition(inputs, country, year))
            if country is not None
            else world_mine_composition(inputs, year)
        )
    elif stage == "metal":
        composition = rare_earth_recipe_shares(inputs)
    else:
        composition = recipe_shares(inputs, "NdFeB")
    value = None if composition.empty else float(composition.reindex(list(members(element))).fillna(0.0).sum())
    inputs.cache[key] = value
    return value


def _feed_composition(inputs: MetricInputs, country: str, year: int) -> pd.Series:
    feed = separation_feed(inputs, country, year)
    composition = _weighted_composition(feed, inputs) if not feed.empty else pd.Series(dtype=float)
    return composition if not composition.empty else world_mine_composition(inputs, year)


def _product_share(inputs: MetricInputs, product: str, element: str) -> float:
    return float(recipe_shares(inputs, product).reindex(list(members(element))).fillna(0.0).sum())


# --------------------------------------------------------------------------- stage output


@dataclass(frozen=True)
class StageOutput:
    """Output of one stage, element and year by country, the world total and how they were made."""

    stage: str
    element: str
    year: int
    unit: str
    by_country: pd.Series
    world_t: float
    series: str | None
    filled: tuple[tuple[str, str], ...] = ()
    set_aside: tuple[tuple[str, str], ...] = ()
    derived: str = ""
    reason: str | None = None

    @property
    def available(self) -> bool:
        return self.reason is None

    @property
    def unattributed_t(self) -> float:
        if not self.available:
            return float("nan")
        return max(0.0, self.world_t - float(self.by_country.sum()))

    def fully_attributed(self) -> bool:
        return self.available and self.unattributed_t <= 1e-9 * max(self.world_t, 1.0)

    def shares(self) -> pd.Series:
        """Each listed producer's share of world output, plus 'unattributed' for the rest; largest first."""
        if not self.available or self.world_t <= 0:
            return pd.Series(dtype=float)
        values = self.by_country[self.by_country > 0].astype(float)
        if not self.fully_attributed():
            values = pd.concat([values, pd.Series({UNATTRIBUTED: self.unattributed_t})])
        return (values / self.world_t).sort_values(ascending=False, kind="mergesort")

    def empty_reason(self) -> str:
        """Why no producer has a share: no data, or a derivation that gives none of the element."""
        if self.reason is not None:
            return self.reason
        if self.derived and self.stage in ("metal", "magnet"):
            return (
                f"{self.element} {self.stage} output is derived from the reference NdFeB recipe "
                f"({REFERENCE_RECIPES['NdFeB']}), which holds no {self.element}"
            )
        if self.derived:
            return f"the ore compositions give no {self.element} in {self.stage} output for {self.year}"
        return f"no {self.element} {self.stage} output in {self.year} to share out"

    def set_aside_reason(self, country: str) -> str | None:
        for name, why in self.set_aside:
            if name == country:
                return why
        return None

    def method(self) -> str:
        """One line on where these figures come from."""
        if not self.available:
            return str(self.reason)
        parts = [f"series {self.series}"] if self.series != PROJECTION_SERIES else ["projection"]
        parts += [f"{country} from series {series}" for country, series in self.filled]
        parts += [f"{country}'s total set aside ({why})" for country, why in self.set_aside]
        if self.derived:
            parts.append(self.derived)
        return "; ".join(parts)


def _country_element_value(
    inputs: MetricInputs, rows: pd.DataFrame, country: str, stage: str, element: str, year: int, totals_known: bool
) -> float | None:
    """A country's output of one element (or group) from its rows: reported, from a group, or derived."""
    own = rows[rows["country"] == country]
    exact = own[own["element"] == element]
    if not exact.empty:
        return float(exact["value_t"].sum())
    if element in ELEMENT_GROUPS:
        parts = [
            _country_element_value(inputs, rows, country, stage, member, year, totals_known)
            for member in ELEMENT_GROUPS[element]
        ]
        if any(part is None for part in parts):
            return None
        return float(sum(part for part in parts if part is not None))
    for group, group_members in ELEMENT_GROUPS.items():
        group_rows = own[own["element"] == group]
        if element in group_members and not group_rows.empty:
            shares = [element_share(inputs, country, stage, member, year) or 0.0 for member in group_members]
            mine = element_share(inputs, country, stage, element, year) or 0.0
            if sum(shares) > 0:
                return float(group_rows["value_t"].sum()) * mine / sum(shares)
    if not totals_known:
        return None
    if stage == "magnet":
        products = own[own["element"].isin(MAGNET_PRODUCTS)]
        if products.empty:
            return None
        content = 0.0
        for product, tonnage in zip(products["element"], products["value_t"].astype(float), strict=True):
            content += tonnage * _product_share(inputs, str(product), element)
        return content
    totals = own[own["element"] == TOTAL]
    share = element_share(inputs, country, stage, element, year)
    if totals.empty or share is None:
        return None
    return float(totals["value_t"].sum()) * share


DERIVATION = {
    "mining": "{element} = REO output x the {element} share of each country's ore (country_deposits x ore_composition)",
    "separation": "{element} = REO output x the {element} share of each country's feed (own ore and recorded "
    "concentrate imports at their ore compositions; the world's mine composition where the feed is unknown)",
    "metal": "{element} = metal output x the {element} share of the rare earths in the reference NdFeB recipe",
    "magnet": "{element} = magnet output x the {element} mass share of the reference magnet recipe",
}


def stage_output(inputs: MetricInputs, stage: str, element: str, year: int) -> StageOutput:
    """Output of one stage, element and year by country, and the world total, by the rules above."""
    key = ("output", stage, element, year)
    if key not in inputs.cache:
        inputs.cache[key] = _stage_output(inputs, stage, element, year)
    result: StageOutput = inputs.cache[key]
    return result


def _stage_output(inputs: MetricInputs, stage: str, element: str, year: int) -> StageOutput:
    unit = stage_unit(stage, element)
    if element in MAGNET_PRODUCTS and stage != "magnet":
        product = f"{element} is a magnet product: the {stage} stage makes none (ask for its elements, e.g. Nd)"
        return StageOutput(stage, element, year, unit, pd.Series(dtype=float), float("nan"), None, reason=product)
    series, reason = chosen_series(inputs, stage, year)
    if series is None:
        return StageOutput(stage, element, year, unit, pd.Series(dtype=float), float("nan"), None, reason=reason)
    production = inputs.production
    this_year = production[(production["stage"] == stage) & (production["year"] == year)]
    chosen = this_year[this_year["series"] == series]
    rows = chosen[chosen["country"] != WORLD]
    world_rows = chosen[(chosen["country"] == WORLD) & chosen["element"].isin(total_elements(stage))]
    world_row = float(world_rows["value_t"].sum()) if not world_rows.empty else None
    totals = rows[rows["element"].isin(total_elements(stage))].groupby("country")["value_t"].sum()

    # Gap filling: a country absent from the chosen series, taken from another series where the
    # chosen series' world total leaves at least that much output unattributed.
    filled: list[tuple[str, str]] = []
    if world_row is not None:
        room = world_row - float(totals.sum())
        others = this_year[(this_year["series"] != series) & (this_year["country"] != WORLD)]
        listed = set(rows["country"])
        for other in series_order(inputs):
            candidates = others[(others["series"] == other) & ~others["country"].isin(listed)]
            for country, country_rows in candidates.groupby("country", sort=True):
                value = float(country_rows.loc[country_rows["element"].isin(total_elements(stage)), "value_t"].sum())
                if 0 < value <= room + TOLERANCE_T:
                    rows = pd.concat([rows, country_rows], ignore_index=True)
                    totals[str(country)] = value
                    listed.add(str(country))
                    room -= value
                    filled.append((str(country), other))

    # Reported beats estimated: an estimated total whose implied element content exceeds the
    # country's reported element figure by more than CONTRADICTION_FACTOR is set aside.
    set_aside: list[tuple[str, str]] = []
    if stage != "magnet":
        for country in sorted(totals.index):
            own = rows[rows["country"] == country]
            total_rows = own[own["element"] == TOTAL]
            if total_rows.empty or not (total_rows["quality"] == "estimated").all():
                continue
            for reported in own[(own["element"] != TOTAL) & (own["quality"] == "reported")].itertuples(index=False):
                share = element_share(inputs, str(country), stage, str(reported.element), year)
                if share is None or float(reported.value_t) <= 0:
                    continue
                implied = float(total_rows["value_t"].sum()) * share
                if implied > CONTRADICTION_FACTOR * float(reported.value_t):
                    set_aside.append(
                        (
                            str(country),
                            f"its estimated {tonnes(float(total_rows['value_t'].sum()))} {TOTAL} "
                            f"({total_rows['source_id'].iloc[0]}) implies {tonnes(implied)} {reported.element}, "
                            f"{implied / float(reported.value_t):.0f} times the reported {tonnes(float(reported.value_t))} "
                            f"({reported.source_id})",
                        )
                    )
                    break
    aside = {country for country, _ in set_aside}
    totals = totals.drop(labels=list(aside))
    rows_for_elements = rows[~(rows["country"].isin(aside) & rows["element"].isin(total_elements(stage)))]

    derived = ""
    if is_stage_total(stage, element):
        if stage == "magnet" and element in MAGNET_PRODUCTS:
            by_country = rows[rows["element"] == element].groupby("country")["value_t"].sum()
            world_rows = world_rows[world_rows["element"] == element]
            world_row = float(world_rows["value_t"].sum()) if not world_rows.empty else None
        else:
            by_country = totals
        world_total = max(world_row, float(by_country.sum())) if world_row is not None else float(by_country.sum())
    else:
        countries = sorted(set(rows_for_elements["country"]))
        values = {
            country: _country_element_value(inputs, rows_for_elements, country, stage, element, year, True)
            for country in countries
        }
        by_country = pd.Series({country: value for country, value in values.items() if value is not None}, dtype=float)
        if by_country.empty:
            reason = (
                f"no {element} {stage} figures for {year}: no {element} rows and no total with a known {element} share"
            )
            return StageOutput(stage, element, year, unit, by_country, float("nan"), series, reason=reason)
        if not all(
            not rows_for_elements[
                (rows_for_elements["country"] == country) & rows_for_elements["element"].isin(members(element))
            ].empty
            for country in by_country.index
        ):
            derived = DERIVATION[stage].format(element=element)
        world_share = element_share(inputs, None, stage, element, year)
        world_total = float(by_country.sum())
        if world_row is not None and world_share is not None:
            world_total = max(world_total, world_row * world_share)
    return StageOutput(
        stage,
        element,
        year,
        unit,
        by_country.astype(float).sort_values(ascending=False, kind="mergesort"),
        float(world_total),
        series,
        tuple(filled),
        tuple(set_aside),
        derived,
    )


def stage_total_output(inputs: MetricInputs, stage: str, year: int) -> StageOutput:
    """The stage's output in its total unit (REO or magnets), whatever element is asked."""
    return stage_output(inputs, stage, TOTAL, year)


# --------------------------------------------------------------------------- trade


@dataclass(frozen=True)
class StageTrade:
    """Recorded flows of one stage, element and year, and which producers have no export rows."""

    stage: str
    element: str
    year: int
    flows: pd.DataFrame  # exporter, importer, value_t; exporter UNKNOWN_ORIGIN for origin not given
    missing_exporters: pd.Series  # producer -> share of world output, for producers with no export row
    derived: str = ""
    reason: str | None = None

    @property
    def available(self) -> bool:
        return self.reason is None

    def exporters(self) -> list[str]:
        return sorted(set(self.flows["exporter"]) - {UNKNOWN_ORIGIN})

    def completeness_for(self, importer: str) -> str | None:
        """Why the importer's imports are not fully known from these rows (None when they are)."""
        if self.reason is not None:
            return self.reason
        if ((self.flows["importer"] == importer) & (self.flows["exporter"] == UNKNOWN_ORIGIN)).any():
            return None  # the data give the importer's total, with the origin of a part unknown
        missing = self.missing_exporters.drop(labels=[importer], errors="ignore")
        if missing.empty:
            return None
        shown = self.exporters()
        exporters = names(shown) if len(shown) <= 4 else f"{len(shown)} countries"
        return (
            f"{self.stage} trade rows for {self.year} record exports of {exporters} only; "
            f"{names(missing.index)} ({percent(float(missing.sum()))} of world {self.stage} output) "
            f"{'has' if len(missing) == 1 else 'have'} none, so {importer}'s imports from them are not known"
        )


def stage_trade(inputs: MetricInputs, stage: str, element: str, year: int) -> StageTrade:
    key = ("trade", stage, element, year)
    if key not in inputs.cache:
        inputs.cache[key] = _stage_trade(inputs, stage, element, year)
    result: StageTrade = inputs.cache[key]
    return result


def _exporter_shares(inputs: MetricInputs, exporters: Iterable[str], stage: str, element: str, year: int) -> pd.Series:
    """Element share of each exporter's product: its own (ore, feed or recipe), else the world's."""
    world = element_share(inputs, None, stage, element, year)
    values = {}
    for exporter in exporters:
        share = element_share(inputs, exporter, stage, element, year)
        values[exporter] = share if share is not None else world
    return pd.Series(values, dtype=float)


def _stage_trade(inputs: MetricInputs, stage: str, element: str, year: int) -> StageTrade:
    columns = ["exporter", "importer", "value_t"]
    rows = inputs.trade[(inputs.trade["stage"] == stage) & (inputs.trade["year"] == year)]
    if rows.empty:
        return StageTrade(
            stage, element, year, pd.DataFrame(columns=columns), pd.Series(dtype=float),
            reason=f"no {stage} trade data for {year}",
        )
    missing = pd.Series(dtype=float)
    if inputs.basis == "data":
        output = stage_total_output(inputs, stage, year)
        if output.available:
            shares = output.shares().drop(labels=[UNATTRIBUTED], errors="ignore")
            exporting = set(rows["exporter"])
            missing = shares[(shares > MATERIAL_SHARE) & ~shares.index.isin(list(exporting))]
    derived = ""
    products = rows[~rows["element"].isin(tuple(ELEMENT_GROUPS))]
    if is_stage_total(stage, element):
        if stage == "magnet":
            wanted = MAGNET_PRODUCTS if element == TOTAL else (element,)
            products = products[products["element"].isin(wanted)]
        selected = products
    else:
        own_rows = products[products["element"].isin(members(element))]
        separately = sorted(set(products["element"]) - {TOTAL, *MAGNET_PRODUCTS})
        if set(members(element)) <= set(own_rows["element"]) and not own_rows.empty:
            selected = own_rows
        elif stage == "magnet":
            magnets = products[products["element"].isin(MAGNET_PRODUCTS)]
            factor = magnets["element"].map(lambda product: _product_share(inputs, str(product), element))
            selected = magnets.assign(value_t=magnets["value_t"] * factor)
            derived = f"{element} in magnets = magnet trade x the {element} mass share of the reference recipe"
        else:
            mixed = products[products["element"] == TOTAL]
            # Elements with rows of their own (e.g. Ce compounds, HS 2846.10) are not in the mixed rows.
            apart = [item for item in separately if item not in members(element)]
            shares = _exporter_shares(inputs, sorted(set(mixed["exporter"])), stage, element, year)
            excluded = pd.Series(0.0, index=shares.index)
            for item in apart:
                excluded = excluded + _exporter_shares(inputs, sorted(set(mixed["exporter"])), stage, item, year)
            factor = (shares / (1.0 - excluded).clip(lower=1e-9)).clip(upper=1.0)
            selected = mixed.assign(value_t=mixed["value_t"] * mixed["exporter"].map(factor).fillna(0.0))
            derived = (
                f"{element} content of mixed {stage} trade = tonnes x the {element} share of the exporter's "
                f"output (the world's for exporters that do not produce)"
                + (f", excluding {names(apart)} traded under their own rows" if apart else "")
            )
            selected = pd.concat([selected, own_rows], ignore_index=True)
    flows = selected.groupby(["exporter", "importer"])["value_t"].sum().reset_index()
    return StageTrade(stage, element, year, flows[columns], missing, derived)


def imports_by_supplier(flows: pd.DataFrame, importer: str) -> pd.Series:
    """Tonnes the importer receives from each exporter (origin unknown as 'unattributed'), largest first."""
    received = flows[flows["importer"] == importer].groupby("exporter")["value_t"].sum()
    received = received.rename(index={UNKNOWN_ORIGIN: UNATTRIBUTED})
    return received[received > 0].sort_values(ascending=False, kind="mergesort")


def exports_by_partner(flows: pd.DataFrame, exporter: str) -> pd.Series:
    """Tonnes the exporter sends to each partner."""
    sent = flows[flows["exporter"] == exporter].groupby("importer")["value_t"].sum()
    return sent[sent > 0]


# --------------------------------------------------------------------------- the importer's position


@dataclass(frozen=True)
class Position:
    """The importer at one stage: output, recorded trade, apparent consumption, and why any is missing."""

    importer: str
    stage: str
    element: str
    year: int
    unit: str
    production_t: float | None
    imports: pd.Series
    exports_t: float | None
    consumption_t: float | None
    reasons: dict[str, str]
    notes: tuple[str, ...]

    @property
    def imports_t(self) -> float | None:
        return float(self.imports.sum()) if "imports" not in self.reasons else None

    @property
    def recorded_imports_t(self) -> float:
        return float(self.imports.sum())

    @property
    def imports_complete(self) -> bool:
        return "supplier_shares" not in self.reasons

    def reason(self, *keys: str) -> str | None:
        for key in keys:
            if key in self.reasons:
                return self.reasons[key]
        return None


def importer_position(inputs: MetricInputs, importer: str, stage: str, element: str, year: int) -> Position:
    key = ("position", importer, stage, element, year)
    if key not in inputs.cache:
        inputs.cache[key] = _importer_position(inputs, importer, stage, element, year)
    result: Position = inputs.cache[key]
    return result


def _importer_position(inputs: MetricInputs, importer: str, stage: str, element: str, year: int) -> Position:
    output = stage_output(inputs, stage, element, year)
    trade = stage_trade(inputs, stage, element, year)
    reasons: dict[str, str] = {}
    notes: list[str] = []
    production: float | None
    if not output.available:
        production = None
        reasons["production"] = str(output.reason)
    elif output.set_aside_reason(importer) is not None and importer not in output.by_country.index:
        production = None
        reasons["production"] = (
            f"{importer}'s {stage} output for {year} is not known: {output.set_aside_reason(importer)}"
        )
    elif importer in output.by_country.index:
        production = float(output.by_country[importer])
    else:
        production = 0.0
        if not output.fully_attributed():
            notes.append(
                f"no {stage} output row for {importer} in {year}: counted as 0 (the world total leaves "
                f"{tonnes(output.unattributed_t)} to producers not listed)"
            )
    imports = imports_by_supplier(trade.flows, importer)
    exports_t: float | None = float(exports_by_partner(trade.flows, importer).sum()) if trade.available else None
    incomplete = trade.completeness_for(importer)
    if not trade.available:
        reasons["imports"] = str(trade.reason)
        reasons["supplier_shares"] = str(trade.reason)
    elif incomplete is not None:
        reasons["supplier_shares"] = incomplete
    if trade.available and importer in trade.missing_exporters.index:
        reasons["exports"] = (
            f"{importer} makes {percent(float(trade.missing_exporters[importer]))} of world {stage} output but the "
            f"{stage} trade rows for {year} hold none of its exports"
        )
        exports_t = None
    consumption: float | None = None
    if "production" in reasons:
        reasons["consumption"] = reasons["production"]
    elif not trade.available:
        reasons["consumption"] = str(trade.reason)
    elif incomplete is not None:
        reasons["consumption"] = incomplete
    elif "exports" in reasons:
        reasons["consumption"] = reasons["exports"]
    else:
        assert production is not None and exports_t is not None
        value = production + float(imports.sum()) - exports_t
        if value < -TOLERANCE_T:
            missing = "no row, counted as 0" if notes else tonnes(production)
            reasons["consumption"] = (
                f"{importer}'s {stage} exports in {year} ({tonnes(exports_t)}) exceed its output ({missing}) "
                f"plus imports ({tonnes(float(imports.sum()))}): apparent consumption would be {tonnes(value)}, "
                f"so its output or a stock draw is missing from the data"
            )
        elif value <= TOLERANCE_T:
            reasons["consumption"] = (
                f"{importer} has no apparent {stage} consumption in {year} (output {tonnes(production)} + imports "
                f"{tonnes(float(imports.sum()))} - exports {tonnes(exports_t)} = 0)"
            )
        else:
            consumption = value
    return Position(
        importer,
        stage,
        element,
        year,
        output.unit,
        production,
        imports,
        exports_t,
        consumption,
        reasons,
        tuple(notes),
    )

