"""Checks of a scenario beyond its types: names the dataset knows, dates inside the horizon, periods
the data cover, shocks that agree with each other.

The name and date checks read the raw document, so they are reported in the same error as the
model's own problems: a file with five mistakes shows five problems in one run. Each problem has
its YAML path, the bad value and the fix (with the closest valid name where one is near).
"""

from __future__ import annotations

import datetime
import heapq
from collections.abc import Iterable, Mapping
from itertools import groupby
from typing import Any

from pydantic import BaseModel, ValidationError

from raremap.data.schema import vocabularies
from raremap.scenario.loading import ScenarioError
from raremap.scenario.spec import (
    ALL,
    CapacityChange,
    Disruption,
    ExportBan,
    ExportControl,
    GrowthOverride,
    Periods,
    Scenario,
    Substitution,
    Tariff,
)
from raremap.specfiles import unknown_names
from raremap.suggestions import did_you_mean

EARLIEST_START = 2015
LATEST_END = 2060

NAME_KEYS = {
    "importer": "country",
    "exporter": "country",
    "country": "country",
    "holder": "country",
    "destinations": "country",
    "except_destinations": "country",
    "exporters": "country",
    "element": "element",
    "elements": "element",
    "sector": "sector",
}
"""Which keys of a scenario name a country, an element or a sector of the dataset."""


def known_names(dataset: Any) -> dict[str, set[str]]:
    """The names a scenario may use, by kind; `all` stands for every one."""
    return {
        "country": {*dataset["countries"]["country"].astype(str), ALL},
        "element": {*vocabularies()["element"], *dataset["recipes"]["magnet_type"].astype(str), ALL},
        "sector": {*vocabularies()["sector"], ALL},
    }


def dataset_problems(document: Mapping[str, Any], dataset: Any) -> list[str]:
    """Unknown names, an importer that is not one country, and a demand path without rows."""
    problems = unknown_names(document, NAME_KEYS, known_names(dataset))
    if document.get("importer") == ALL:
        problems.append("importer = 'all': the importer must be one country; give its ISO3 code, e.g. IND")
    demand = document.get("demand")
    path = demand.get("path") if isinstance(demand, Mapping) else None
    paths = set(dataset["demand"]["path"].astype(str))
    if isinstance(path, str) and path not in paths:
        problems.append(
            f"demand.path = {path!r}: no demand rows on this path; {did_you_mean(path, paths, 'path')}"
        )
    return problems


# --- dates against the horizon ---------------------------------------------------------------------

DATED_SECTIONS: tuple[tuple[tuple[str, ...], type[BaseModel]], ...] = (
    (("export_controls",), ExportControl),
    (("policies", "export_bans"), ExportBan),
    (("policies", "tariffs"), Tariff),
    (("disruptions",), Disruption),
    (("capacity_changes",), CapacityChange),
    (("substitution",), Substitution),
    (("demand", "growth"), GrowthOverride),
)
"""Lists of a scenario whose items take effect from a date or year."""


def _first_year(item: BaseModel) -> int | None:
    for name in ("start", "online_year", "from_year"):
        value = getattr(item, name, None)
        if isinstance(value, datetime.date):
            return value.year
        if isinstance(value, int):
            return value
    return None


def _last_year(item: BaseModel) -> int | None:
    end = getattr(item, "end", None)
    if isinstance(end, datetime.date):
        return end.year
    if isinstance(item, Disruption):
        return item.start + item.duration_years - 1 + item.recovery_years
    return None


def _items(document: Mapping[str, Any], keys: tuple[str, ...]) -> list[Any]:
    value: Any = document
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return list(value) if isinstance(value, list | tuple) else []


def _periods(document: Mapping[str, Any]) -> Periods | None:
    try:
        return Periods.model_validate(document.get("periods") or {})
    except ValidationError:
        return None  # the model reports the periods themselves


def horizon_problems(document: Mapping[str, Any]) -> list[str]:
    """Shocks and policies that start after the horizon ends or end before it starts (they change nothing),
    and periods the data do not cover. Each item is read on its own, so one bad item hides no other."""
    periods = _periods(document)
    if periods is None:
        return []
    problems = []
    if periods.start < EARLIEST_START or periods.end > LATEST_END:
        problems.append(
            f"periods = {periods.start}-{periods.end}: outside the years the data cover; "
            f"keep start >= {EARLIEST_START} and end <= {LATEST_END}"
        )
    for keys, model in DATED_SECTIONS:
        for index, raw in enumerate(_items(document, keys)):
            try:
                item = model.model_validate(raw)
            except ValidationError:
                continue  # the model reports what is wrong with it
            path = f"{'.'.join(keys)}[{index}]"
            first, last = _first_year(item), _last_year(item)
            if first is not None and first > periods.end:
                problems.append(
                    f"{path} starts in {first}, after the horizon ends ({periods.end}), so it changes nothing; "
                    f"start it by {periods.end} or extend periods.end"
                )
            elif last is not None and last < periods.start:
                problems.append(
                    f"{path} ends in {last}, before the horizon starts ({periods.start}), so it changes nothing; "
                    f"end it in {periods.start} or later, or start periods earlier"
                )
    return problems


def document_problems(document: Mapping[str, Any], dataset: Any = None) -> list[str]:
    """Every problem the raw document shows beyond its types: dates, and names when a dataset is given."""
    problems = horizon_problems(document)
    if dataset is not None:
        problems += dataset_problems(document, dataset)
    return problems


# --- shocks that contradict each other ---------------------------------------------------------


def _plant(indexed: tuple[int, Disruption]) -> tuple[str, str]:
    return indexed[1].country, indexed[1].stage


def contradiction_problems(scenario: Scenario) -> list[str]:
    """Disruptions of one plant that together remove more than all of it, at the same time.

    Disruptions are grouped by plant and swept in order of start, keeping the active ones in a heap
    by share lost, so the check takes n log n steps however many disruptions a file lists.
    """
    problems = []
    ordered = sorted(enumerate(scenario.disruptions), key=lambda pair: (*_plant(pair), pair[1].start, pair[0]))
    for _, plant in groupby(ordered, key=_plant):
        largest: list[tuple[float, int, int]] = []  # (-share lost, end year, index): the largest share on top
        for index, disruption in plant:
            while largest and largest[0][1] <= disruption.start:
                heapq.heappop(largest)  # ended before this one starts
            if largest and disruption.share_lost - largest[0][0] > 1:
                other = largest[0][2]
                later, earlier = max(index, other), min(index, other)
                item = scenario.disruptions[later]
                problems.append(
                    f"disruptions[{later}] = {item.country} {item.stage} from {item.start}: "
                    f"together with disruptions[{earlier}] it removes more than all capacity; "
                    "merge them into one disruption with share_lost at most 1"
                )
            heapq.heappush(largest, (-disruption.share_lost, disruption.start + disruption.duration_years, index))
    return sorted(problems, key=_index_order)


def _index_order(problem: str) -> int:
    return int(problem.split("[", 1)[1].split("]", 1)[0])


def _problems(scenario: Scenario, dataset: Any) -> Iterable[str]:
    document = scenario.model_dump(mode="json")
    yield from document_problems(document, dataset)
    yield from contradiction_problems(scenario)


def check_against_dataset(scenario: Scenario, dataset: Any, label: str = "(in memory)") -> None:
    """Raise ScenarioError listing every unknown name, date outside the horizon, uncovered period and contradiction."""
    problems = list(_problems(scenario, dataset))
    if problems:
        raise ScenarioError(label, problems)
