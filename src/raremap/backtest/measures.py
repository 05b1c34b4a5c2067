"""From a run's result tables to the figure an outcome observes: the one place that maps them.

Each measure reads the public result tables of ``raremap.simulate.simulate`` (their columns are the
contract in ``src/raremap/results.csv``) and returns its value in every period of the run, or raises
NotExpressibleError when the tables do not carry what the outcome needs (the outcome is then
reported as not expressible, with the reason). When the engine's tables change, this module is what
to adapt.

Periods: a run's periods are labelled ``2030`` (a year), ``2025-Q2`` (a quarter), ``2025-03`` (a
month, a twelfth of a year) or ``2030-2034``; tonnes in the tables are per period. An observed window
(a year, a month, April-September) is read from the run's periods that exactly tile it; a window that
cuts through a period is not expressible (no pro-rating). Three kinds of measure aggregate differently
over a window:

- ``flow`` (tonnes shipped or made): summed; a ratio compares tonnes per year (window total / its
  years against the reference window's), so a quarter is compared with a year on the same basis;
- ``price`` (USD per kg): the mean over the window weighted by period length;
- ``share`` (one flow over another): the sum of the numerator over the sum of the denominator.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from raremap.backtest.spec import Selection
from raremap.model.demand import application

Kind = Literal["flow", "price", "share"]
MAGNET_UNIT = "t magnet"
MAXIMUM_LISTED = 12
"""Binding constraints listed per run (the largest shadow prices first)."""


class NotExpressibleError(Exception):
    """The result tables hold nothing this measure can read; the message says what is missing."""


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class ModelPeriod:
    """One period of a run: its label, first and last day, and length in years."""

    label: str
    start: datetime.date
    end: datetime.date
    years: float

    def middle(self) -> datetime.date:
        return self.start + (self.end - self.start) / 2


def _month_start(year: int, month: int) -> datetime.date:
    return datetime.date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _period(label: str) -> ModelPeriod:
    """A period from its label: 2030, 2030-2034, 2025-Q2 or 2025-03."""
    text = str(label)
    day = datetime.timedelta(days=1)
    if match := re.fullmatch(r"(\d{4})", text):
        year = int(match[1])
        return ModelPeriod(text, datetime.date(year, 1, 1), datetime.date(year, 12, 31), 1.0)
    if match := re.fullmatch(r"(\d{4})-(\d{4})", text):
        first, last = int(match[1]), int(match[2])
        return ModelPeriod(text, datetime.date(first, 1, 1), datetime.date(last, 12, 31), float(last - first + 1))
    if match := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, quarter = int(match[1]), int(match[2])
        start = datetime.date(year, 3 * quarter - 2, 1)
        return ModelPeriod(text, start, _month_start(year, 3 * quarter + 1) - day, 0.25)
    if match := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(match[1]), int(match[2])
        return ModelPeriod(text, datetime.date(year, month, 1), _month_start(year, month + 1) - day, 1.0 / 12.0)
    raise NotExpressibleError(f"the run has a period labelled {text!r}, which the back-test cannot place in time")


def run_periods(result: Any) -> tuple[ModelPeriod, ...]:
    """The run's periods, in order, from the labels the result carries."""
    return tuple(_period(str(label)) for label in result.periods)


def window(periods: Sequence[ModelPeriod], start: datetime.date, end: datetime.date) -> tuple[ModelPeriod, ...]:
    """The run's periods that exactly tile [start, end]; NotExpressibleError says why when none do."""
    if not periods:
        raise NotExpressibleError("the run has no periods")
    span = f"{start.isoformat()}..{end.isoformat()}"
    if start < periods[0].start or end > periods[-1].end:
        raise NotExpressibleError(
            f"the run covers {periods[0].label}-{periods[-1].label} ({periods[0].start.isoformat()}.."
            f"{periods[-1].end.isoformat()}); the observation ({span}) lies outside it"
        )
    inside = tuple(period for period in periods if period.start >= start and period.end <= end)
    cut = [period.label for period in periods if period.start <= end and period.end >= start and period not in inside]
    if cut or not inside or inside[0].start != start or inside[-1].end != end:
        base = periods[0]
        hint = (
            f"it falls in the base year {base.label}, which the engine keeps whole (the data are annual)"
            if all(label == base.label for label in cut)
            else "set the scenario's periods.sub_annual to quarters or months over it"
        )
        raise NotExpressibleError(
            f"the observation covers {span}, which the run's periods do not split exactly "
            f"(it cuts {', '.join(cut) or 'no period'}): {hint}"
        )
    return inside


# ---------------------------------------------------------------- measure values


@dataclass(frozen=True)
class MeasureValues:
    """A measure's value in every period of the run (by label), and how it aggregates over a window."""

    kind: Kind
    values: pd.Series
    denominator: pd.Series | None = None

    def over(self, periods: Sequence[ModelPeriod]) -> float:
        """The measure over a window: tonnes summed, a price's length-weighted mean, or a share of sums."""
        labels = [period.label for period in periods]
        values = self.values.reindex(labels)
        if self.kind == "flow":
            return float(values.fillna(0.0).sum())
        if self.kind == "price":
            if values.isna().any():
                missing = ", ".join(str(label) for label, value in values.items() if pd.isna(value))
                raise NotExpressibleError(f"the run reports no price in {missing} for this selection (no market there)")
            weights = pd.Series([period.years for period in periods], index=labels)
            return float((values * weights).sum() / weights.sum())
        assert self.denominator is not None
        total = float(self.denominator.reindex(labels).fillna(0.0).sum())
        if total <= 0:
            return float("nan")
        return float(values.fillna(0.0).sum()) / total

    def rate(self, periods: Sequence[ModelPeriod]) -> float:
        """Per year for flows (so windows of different lengths compare); the value itself otherwise."""
        value = self.over(periods)
        return value / sum(period.years for period in periods) if self.kind == "flow" else value


def _table(result: Any, name: str) -> pd.DataFrame:
    tables = getattr(result, "tables", {})
    if name not in tables:
        raise NotExpressibleError(f"the run has no `{name}` result table")
    return tables[name]


def _filter(frame: pd.DataFrame, column: str, values: tuple[str, ...] | str | None) -> pd.DataFrame:
    if values is None or values == ():
        return frame
    wanted = (values,) if isinstance(values, str) else values
    if column == "sector":  # a sector's name selects all its buyers (catalysts: catalysts/La, ...)
        return frame[frame[column].map(application).isin(list(wanted)) | frame[column].isin(list(wanted))]
    return frame[frame[column].isin(list(wanted))]


def _is_family(good: str, name: str) -> bool:
    """`NdFeB` names every NdFeB magnet type, `SmCo` every SmCo type; other names only themselves."""
    if name == "NdFeB":
        return good.startswith("NdFeB")
    if name == "SmCo":
        return re.match(r"^Sm\d*Co", good) is not None
    return good == name


def _goods(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    if not names:
        return frame
    goods = frame["element"].astype(str)
    return frame[[any(_is_family(good, name) for name in names) for good in goods]]


def _by_period(frame: pd.DataFrame, column: str, periods: Sequence[ModelPeriod]) -> pd.Series:
    labels = [period.label for period in periods]
    if frame.empty:
        return pd.Series(0.0, index=labels)
    return frame.groupby(frame["period"].astype(str))[column].sum().reindex(labels).fillna(0.0).astype(float)


def _trade(result: Any, select: Selection) -> pd.DataFrame:
    flows = _table(result, "flows")
    flows = flows[flows["exporter"] != flows["importer"]]
    flows = _filter(flows, "stage", select.stages)
    return _goods(flows, select.elements)


def exports(result: Any, select: Selection, periods: Sequence[ModelPeriod]) -> MeasureValues:
    """Tonnes shipped by `exporter` (to `importer` if given) at the stages and goods selected.

    Tonnes as the flows table gives them: t REO at mining and separation, t metal, t magnet; a
    selection over several stages adds them as they are (as customs totals of compounds and metals do).
    """
    flows = _filter(_filter(_trade(result, select), "exporter", select.exporter), "importer", select.importer)
    return MeasureValues("flow", _by_period(flows, "value_t", periods))


def imports(result: Any, select: Selection, periods: Sequence[ModelPeriod]) -> MeasureValues:
    """Tonnes received by `importer` (from `exporter` if given) at the stages and goods selected."""
    return exports(result, select, periods)


def import_share(result: Any, select: Selection, periods: Sequence[ModelPeriod]) -> MeasureValues:
    """Share of `importer`'s imports (stages, goods selected) that come from `partner`."""
    flows = _filter(_trade(result, select), "importer", select.importer)
    total = _by_period(flows, "value_t", periods)
    from_partner = _by_period(_filter(flows, "exporter", select.partner), "value_t", periods)
    return MeasureValues("share", from_partner, total)


def production(result: Any, select: Selection, periods: Sequence[ModelPeriod]) -> MeasureValues:
    """Output at the stages and goods selected, of `country` or of all but `except_countries`."""
    frame = _goods(_filter(_table(result, "production"), "stage", select.stages), select.elements)
    frame = _filter(frame, "country", select.country)
    if select.except_countries:
        frame = frame[~frame["country"].isin(list(select.except_countries))]
    return MeasureValues("flow", _by_period(frame, "value_t", periods))


def price(result: Any, select: Selection, periods: Sequence[ModelPeriod]) -> MeasureValues:
    """USD per kg at the stage and good selected in `country` (the mean over countries if none).

    A price of 0 is the engine's word for a co-product in surplus with no finishing cost (results.csv).
    """
    frame = _goods(_filter(_table(result, "prices"), "stage", select.stages), select.elements)
    frame = _filter(frame, "country", select.country)
    if frame.empty:
        raise NotExpressibleError(
            f"the run reports no price for stage {list(select.stages)}, good {list(select.elements)}, "
            f"country {select.country or 'any'} (no market for it in the model)"
        )
    labels = [period.label for period in periods]
    return MeasureValues("price", frame.groupby(frame["period"].astype(str))["usd_per_kg"].mean().reindex(labels))


def _demand_rows(result: Any, select: Selection) -> pd.DataFrame:
    frame = _filter(_filter(_table(result, "shortfall"), "country", select.country), "sector", select.sectors)
    units = sorted(set(frame["unit"].astype(str))) if "unit" in frame.columns else []
    if len(units) > 1:
        raise NotExpressibleError(
            f"the selected sectors mix units ({', '.join(units)}); select magnet sectors or oxide applications, not both"
        )
    return frame


def substitution_share(result: Any, select: Selection, periods: Sequence[ModelPeriod]) -> MeasureValues:
    """Share of magnet demand switched to other materials (or thrifted away): substituted / demand.

    From the shortfall table's magnet rows (unit t magnet) of `country`, or the world.
    """
    frame = _filter(_filter(_table(result, "shortfall"), "country", select.country), "sector", select.sectors)
    frame = frame[frame["unit"] == MAGNET_UNIT]
    return MeasureValues("share", _by_period(frame, "substituted_t", periods), _by_period(frame, "demand_t", periods))


def shortfall_share(result: Any, select: Selection, periods: Sequence[ModelPeriod]) -> MeasureValues:
    """Share of demand rare earths did not serve, for `country` (or the world) and the sectors selected."""
    frame = _demand_rows(result, select)
    return MeasureValues("share", _by_period(frame, "tonnes", periods), _by_period(frame, "demand_t", periods))


def recycling_share(result: Any, select: Selection, periods: Sequence[ModelPeriod]) -> MeasureValues:
    """End-of-life recycled share of supply: recycled oxide equivalent over separated output plus it."""
    recycled = _by_period(_goods(_table(result, "recycling"), select.elements), "reo_t", periods)
    made = _by_period(_filter(_table(result, "production"), "stage", select.stages or ("separation",)), "value_t", periods)
    return MeasureValues("share", recycled, made + recycled)


MEASURE_FUNCTIONS: dict[str, Callable[[Any, Selection, Sequence[ModelPeriod]], MeasureValues]] = {
    "exports": exports,
    "imports": imports,
    "import_share": import_share,
    "production": production,
    "price": price,
    "substitution_share": substitution_share,
    "recycling_share": recycling_share,
    "shortfall_share": shortfall_share,
}


def measure(result: Any, name: str, select: Selection, periods: Sequence[ModelPeriod]) -> MeasureValues:
    """The measure's value in every period of the run."""
    return MEASURE_FUNCTIONS[name](result, select, periods)


# ---------------------------------------------------------------- why


BINDING_COLUMNS = ["kind", "constraint", "periods", "largest_shadow_usd_per_kg"]


def binding_constraints(result: Any, importer: str) -> pd.DataFrame:
    """What limits the run, from the engine's own `binding` table (docs/simulation.md, "Why").

    The engine lists, for the scenario's importer and each period, the constraints with the largest
    shadow prices, in words. Here each constraint (its kind, LP constraint, country, partner, stage
    and good) is listed once, with the periods it binds in and its largest shadow price, the largest
    first; its words are those of the period where it binds hardest (they may carry a figure, such
    as the share of imports moved so far, that differs by period).
    """
    tables = getattr(result, "tables", {})
    frame = tables.get("binding")
    if frame is None or frame.empty:
        return pd.DataFrame(columns=BINDING_COLUMNS)
    order = {period.label: index for index, period in enumerate(run_periods(result))}
    keys = [column for column in ("kind", "constraint", "country", "partner", "stage", "element") if column in frame.columns]
    rows = []
    for _, group in frame.fillna({key: "" for key in keys}).groupby(keys, sort=False):
        hardest = group.loc[group["shadow_usd_per_kg"].idxmax()]
        labels = sorted({str(label) for label in group["period"]}, key=lambda label: order.get(label, len(order)))
        rows.append({
            "kind": str(hardest["kind"]),
            "constraint": str(hardest["description"]),
            "periods": _span(labels, order),
            "largest_shadow_usd_per_kg": float(hardest["shadow_usd_per_kg"]),
        })
    listed = pd.DataFrame(rows, columns=BINDING_COLUMNS).sort_values("largest_shadow_usd_per_kg", ascending=False)
    if len(listed) > MAXIMUM_LISTED:
        more = len(listed) - MAXIMUM_LISTED
        listed = pd.concat([listed.head(MAXIMUM_LISTED), pd.DataFrame([{
            "kind": "", "constraint": f"... and {more} more (the run's binding table for {importer})", "periods": "",
            "largest_shadow_usd_per_kg": float("nan"),
        }])])
    return listed.reset_index(drop=True)


def _span(labels: list[str], order: dict[str, int]) -> str:
    """Consecutive periods as first..last, the rest separated by commas."""
    runs: list[list[str]] = []
    for label in labels:
        if runs and order.get(label, -2) == order.get(runs[-1][-1], -9) + 1:
            runs[-1].append(label)
        else:
            runs.append([label])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}..{run[-1]}" for run in runs)
