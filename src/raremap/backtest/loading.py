"""Reading episode files: bundled names or YAML paths, validated, every problem named by its YAML path.

Episodes share the scenario, risk and plan files' reader (``raremap.specfiles``), so a person meets
the same messages: the YAML path, the bad value and the fix. Checks against the dataset (sources
that exist, a base year the tables cover) are collected with the file's own problems and raised once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from raremap.backtest.spec import Episode
from raremap.errors import RaremapError
from raremap.specfiles import SpecificationError, SpecificationFiles, deep_merge, yaml_path


class EpisodeError(SpecificationError):
    """Every problem of one episode file, each with its YAML path, value and fix."""

    kind = "episode"


class EpisodeFiles(SpecificationFiles):
    """Episode files: bundled in raremap/backtest/episodes/ rather than a `builtin` folder."""

    def directory(self) -> Path:
        return Path(__file__).with_name("episodes")

    def describe(self, item: Mapping[str, Any]) -> str:
        where = yaml_path(item["loc"])
        last = str(item["loc"][-1]) if item["loc"] else ""
        if last == "sources" and item["type"] in ("missing", "too_short"):
            return (
                f"{where}: an outcome needs at least one source; cite the source_id of the publication "
                "that reports the figure (add it to sources.csv first if it is not there)"
            )
        if last == "justification" and item["type"] == "missing":
            return (
                f"{where}: required; say in a sentence why this tolerance follows from the evidence "
                "(ranges in the sources, definitions that differ, revisions), set before running the model"
            )
        if last == "evidence" and item["type"] in ("missing", "string_too_short"):
            return f"{where}: required; quote or restate what the source says, with any arithmetic"
        return super().describe(item)


FILES = EpisodeFiles(
    package="raremap.backtest",
    kind="episode",
    example_keys="name: ..., base_year: ..., scenario: ..., outcomes: [...]",
    schema_reference="docs/backtests.md",
)


def episode_names() -> list[str]:
    """Names of the bundled episodes, sorted."""
    return FILES.names()


def scenario_document(episode: Episode) -> dict[str, Any]:
    """The episode's scenario mapping, named after the episode, its periods starting at the base year.

    A `base:` key names a built-in scenario or file whose keys the episode's scenario is merged onto.
    """
    from raremap.scenario.loading import resolve_document

    document = dict(episode.scenario)
    if isinstance(document.get("base"), str):
        parent, _ = resolve_document(document["base"])
        document = deep_merge(parent, document)
    document["base"] = None
    document["name"] = f"backtest-{episode.name}"
    periods = dict(document.get("periods") or {})
    periods.setdefault("start", episode.base_year)
    periods.setdefault("end", max(outcome.period.end.year for outcome in episode.outcomes))
    document["periods"] = periods
    return document


def _scenario_problems(episode: Episode) -> list[str]:
    """The embedded scenario's problems, named under `scenario.` in the episode file."""
    from raremap.scenario.loading import FILES as SCENARIO_FILES
    from raremap.scenario.spec import Scenario

    document = scenario_document(episode)
    problems = []
    try:
        Scenario.model_validate(document)
    except Exception as error:  # pydantic.ValidationError
        errors = getattr(error, "errors", None)
        if errors is None:
            raise
        for item in errors():
            problems.append("scenario." + SCENARIO_FILES.describe(item))
    start = int(document["periods"]["start"])
    if start != episode.base_year:
        problems.append(
            f"scenario.periods.start = {start}: the scenario must start in the base year {episode.base_year}; "
            "drop periods.start or set it to base_year"
        )
    return problems


def base_year_problems(episode: Episode, dataset: Any) -> list[str]:
    """The tables the engine calibrates on must hold rows for the base year."""
    series = str((episode.scenario.get("settings") or {}).get("production_series", "main"))
    year = episode.base_year
    missing = []
    production = dataset["production"]
    if production[(production["year"] == year) & (production["series"] == series)].empty:
        covered = sorted(set(production.loc[production["series"] == series, "year"].astype(int)))
        missing.append(f"production (series {series}; it covers {_years(covered)})")
    for table in ("trade", "demand"):
        frame = dataset[table]
        if frame[frame["year"] == year].empty:
            missing.append(f"{table} (it covers {_years(sorted(set(frame['year'].astype(int))))})")
    if not missing:
        return []
    return [
        f"base_year = {year}: the dataset has no rows for {year} in " + "; ".join(missing)
        + "; add the base year's history to those tables (with sources and quality) or choose a base year they cover"
    ]


def _years(years: list[int]) -> str:
    if not years:
        return "no year"
    runs: list[str] = []
    start = previous = years[0]
    for year in [*years[1:], None]:
        if year is not None and year == previous + 1:
            previous = year
            continue
        runs.append(str(start) if start == previous else f"{start}-{previous}")
        if year is not None:
            start = previous = year
    return ", ".join(runs)


def source_problems(episode: Episode, dataset: Any) -> list[str]:
    """Every cited source must be in sources.csv."""
    known = set(dataset["sources"]["source_id"].astype(str))
    problems = [
        f"scenario_sources[{position}] = {source!r}: not in sources.csv; "
        "add the publication to sources.csv or cite one that is there (raremap data sources)"
        for position, source in enumerate(episode.scenario_sources) if source not in known
    ]
    for index, outcome in enumerate(episode.outcomes):
        for position, source in enumerate(outcome.sources):
            if source not in known:
                problems.append(
                    f"outcomes[{index}].sources[{position}] = {source!r}: not in sources.csv; "
                    "add the publication to sources.csv or cite one that is there (raremap data sources)"
                )
    return problems


def cited_sources(episodes: list[Episode] | None = None) -> set[str]:
    """The source_ids the episodes cite (for their shocks and their observed outcomes): the back-tests'
    share of sources.csv, which no table row cites."""
    chosen = episodes if episodes is not None else load_episodes()
    return {source for episode in chosen for source in (*episode.scenario_sources,
                                                        *(s for outcome in episode.outcomes for s in outcome.sources))}


def load_episode(reference: str | Path, dataset: Any = None) -> Episode:
    """A bundled episode name or YAML file, validated (and checked against `dataset` when given)."""
    document, label = FILES.read(reference)
    episode = FILES.validate(Episode, document, label, EpisodeError)
    problems = _scenario_problems(episode)
    if dataset is not None:
        problems += source_problems(episode, dataset) + base_year_problems(episode, dataset)
    if problems:
        raise EpisodeError(label, problems)
    return episode


def load_episodes(references: list[str] | None = None, dataset: Any = None) -> list[Episode]:
    """The episodes named (every bundled one when none are)."""
    names = references or episode_names()
    if not names:
        raise RaremapError("no episodes: the package's backtest/episodes folder is empty")
    return [load_episode(name, dataset) for name in names]
