"""Checks of a scenario against the dataset: names that exist, periods the data cover, shocks that agree.

All problems are collected and raised together as one ScenarioError, each with its YAML path, the
bad value, and the fix (with the closest valid name where one is near).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from raremap.data.reading import closest
from raremap.data.schema import vocabularies
from raremap.scenario.loading import ScenarioError
from raremap.scenario.spec import ALL, Scenario

EARLIEST_START = 2015
LATEST_END = 2060


def _name_problem(path: str, value: str, valid: Iterable[str], kind: str) -> str | None:
    candidates = sorted(set(valid))
    if value in candidates:
        return None
    suggestion = closest(value, candidates)
    fix = f"did you mean {suggestion!r}?" if suggestion else f"use one of the {kind} in the dataset"
    return f"{path} = {value!r}: unknown {kind[:-1] if kind.endswith('s') else kind}; {fix}"


def _names(scenario: Scenario) -> Iterable[tuple[str, str, str]]:
    """Every (YAML path, value, kind) naming a country, element or sector in the scenario."""
    yield "importer", scenario.importer, "countries"
    for index, control in enumerate(scenario.export_controls):
        yield f"export_controls[{index}].exporter", control.exporter, "countries"
        for position, element in enumerate(control.elements):
            yield f"export_controls[{index}].elements[{position}]", element, "elements"
        for key in ("destinations", "except_destinations"):
            for position, country in enumerate(getattr(control, key)):
                yield f"export_controls[{index}].{key}[{position}]", country, "countries"
    for key in ("disruptions", "capacity_changes"):
        for index, change in enumerate(getattr(scenario, key)):
            yield f"{key}[{index}].country", change.country, "countries"
    for index, stockpile in enumerate(scenario.stockpiles):
        yield f"stockpiles[{index}].holder", stockpile.holder, "countries"
        yield f"stockpiles[{index}].element", stockpile.element, "elements"
    for key in ("substitution", "recycling"):
        for index, item in enumerate(getattr(scenario, key)):
            yield f"{key}[{index}].country", item.country, "countries"
            yield f"{key}[{index}].sector", item.sector, "sectors"
    for index, ban in enumerate(scenario.policies.export_bans):
        yield f"policies.export_bans[{index}].country", ban.country, "countries"
        for position, element in enumerate(ban.elements):
            yield f"policies.export_bans[{index}].elements[{position}]", element, "elements"
    for index, priority in enumerate(scenario.policies.domestic_priority):
        yield f"policies.domestic_priority[{index}].country", priority.country, "countries"
    for index, tariff in enumerate(scenario.policies.tariffs):
        yield f"policies.tariffs[{index}].importer", tariff.importer, "countries"
        for position, country in enumerate(tariff.exporters):
            yield f"policies.tariffs[{index}].exporters[{position}]", country, "countries"
    for index, sector_priority in enumerate(scenario.sector_priorities):
        yield f"sector_priorities[{index}].country", sector_priority.country, "countries"
        yield f"sector_priorities[{index}].sector", sector_priority.sector, "sectors"


def _contradictions(scenario: Scenario) -> list[str]:
    """Disruptions of one plant that together remove more than all of it, at the same time."""
    problems = []
    disruptions = scenario.disruptions
    for first_index, first in enumerate(disruptions):
        for second_index in range(first_index + 1, len(disruptions)):
            second = disruptions[second_index]
            same_plant = (first.country, first.stage) == (second.country, second.stage)
            overlap = first.start < second.start + second.duration_years and second.start < first.start + first.duration_years
            if same_plant and overlap and first.share_lost + second.share_lost > 1:
                problems.append(
                    f"disruptions[{second_index}] = {second.country} {second.stage} from {second.start}: "
                    f"together with disruptions[{first_index}] it removes more than all capacity; "
                    "merge them into one disruption with share_lost at most 1"
                )
    return problems


def check_against_dataset(scenario: Scenario, dataset: Any, label: str = "(in memory)") -> None:
    """Raise ScenarioError listing every unknown name, uncovered period and contradiction."""
    known = {
        "countries": [*dataset["countries"]["country"].astype(str), ALL],
        "elements": [*vocabularies()["element"], *dataset["recipes"]["magnet_type"].astype(str), ALL],
        "sectors": [*vocabularies()["sector"], ALL],
    }
    problems = [
        problem
        for path, value, kind in _names(scenario)
        if (problem := _name_problem(path, value, known[kind], kind)) is not None
    ]
    if scenario.importer == ALL:
        problems.append("importer = 'all': the importer must be one country; give its ISO3 code, e.g. IND")
    if scenario.periods.start < EARLIEST_START or scenario.periods.end > LATEST_END:
        problems.append(
            f"periods = {scenario.periods.start}-{scenario.periods.end}: outside the years the data cover; "
            f"keep start >= {EARLIEST_START} and end <= {LATEST_END}"
        )
    paths = set(dataset["demand"]["path"].astype(str))
    if scenario.demand.path not in paths:
        suggestion = closest(scenario.demand.path, sorted(paths))
        problems.append(
            f"demand.path = {scenario.demand.path!r}: no demand rows on this path; "
            + (f"did you mean {suggestion!r}?" if suggestion else f"paths are {', '.join(sorted(paths))}")
        )
    problems += _contradictions(scenario)
    if problems:
        raise ScenarioError(label, problems)
