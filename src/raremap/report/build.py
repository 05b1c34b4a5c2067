"""Assembling and writing the report: dataset sections, stored runs, and the sources behind them.

`build_sections` is the one place that decides what a report contains; `write_report` renders and
writes it atomically (a reader never opens half a file); the CLI and the demo call `write_report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from raremap.data.dataset import Dataset
from raremap.errors import RaremapError
from raremap.files import write_text_atomic
from raremap.overview import describe_overview, stage_overview
from raremap.report.figure import Evidence, Section, Table
from raremap.report.html import page_html
from raremap.report.run_sections import run_sections
from raremap.report.runs import StoredRun, check_requested, read_runs
from raremap.report.world import world_section

UNITS = pd.DataFrame(
    [
        ("mining output and concentrate", "t REO (rare-earth oxide content of the concentrate)"),
        ("separation output and oxides", "t REO of each oxide"),
        ("metal output", "t metal"),
        ("magnets", "t magnet (mass of the magnets)"),
        ("shortfall of magnet buyers (EV, wind, defence, ...)", "t magnet per year; quarters summed"),
        ("shortfall of oxide buyers (catalysts, glass, ...)", "t REO per year; never added to t magnet"),
        ("prices", "USD/kg"),
        ("risk figures (expected shortfall, VaR, CVaR)", "sums over the risk run's horizon, in the sector's unit"),
        ("plan costs and outlays", "USD million; plan volumes in t/yr (stockpiles in t)"),
        ("shares", "per cent"),
    ],
    columns=["quantity", "unit"],
)


def meaning_section(runs: Sequence[StoredRun]) -> Section:
    """What the numbers mean and their main caveats, before any number."""
    from raremap.report import explain
    from raremap.report.scenario_figures import usable_runs

    simulations, _ = usable_runs([run for run in runs if run.family == "simulate"], "simulation", ("calibration",))
    caveats = explain.caveats(simulations[0].results) if simulations else [
        explain.FORESIGHT, explain.ESTIMATES,
        "No stored simulation: the calibration supply each run needs is listed once one is stored "
        "(raremap simulate NAME --db STORE).",
    ]
    return Section(
        "meaning",
        "What the numbers mean",
        explain.MEANING,
        tables=(Table("units", "Units used in this report", UNITS),),
        caveats=tuple(caveats),
    )


def overview_section(dataset: Dataset, importer: str) -> Section:
    """The per-stage table `raremap demo` prints, as the report's opening."""
    overview = stage_overview(dataset, importer=importer)
    production = dataset["production"]
    year = int(overview["year"].iloc[0])
    used = production[(production["series"] == "main") & (production["year"] == year)]
    trade = dataset["trade"]
    imports = trade[trade["importer"] == importer]
    from raremap.report.figure import evidence_from_rows

    evidence = (
        evidence_from_rows("production", f"series=main, year={year}", used),
        evidence_from_rows("trade", f"importer={importer}, latest year per stage", imports),
    )
    table = Table(
        "overview",
        f"World and {importer} by stage",
        describe_overview(overview, importer),
        "World output, the leading producer, the importer's own output and its imports.",
        evidence,
    )
    return Section(
        "overview",
        "Overview",
        f"Dataset {dataset.version[:12]} ({dataset.origin}). Where {importer} stands at each stage of "
        "the rare-earth value chain.",
        tables=(table,),
    )


def all_evidence(sections: Sequence[Section]) -> list[tuple[str, Evidence]]:
    """Every (figure or table identifier, evidence) pair in the report."""
    pairs = []
    for section in sections:
        for figure in section.figures:
            pairs += [(figure.identifier, item) for item in figure.evidence]
        for table in section.tables:
            pairs += [(table.identifier, item) for item in table.evidence]
    return pairs


def sources_section(dataset: Dataset, sections: Sequence[Section]) -> Section:
    """One row per cited source: title, publisher, year, link, and the figures and tables that use it."""
    used_by: dict[str, set[str]] = {}
    for identifier, item in all_evidence(sections):
        for source in item.source_ids:
            used_by.setdefault(source, set()).add(identifier)
    sources = dataset["sources"].set_index("source_id")
    rows = []
    for source in sorted(used_by):
        known = source in sources.index
        rows.append(
            {
                "source_id": source,
                "title": sources.at[source, "title"] if known else "(not in sources.csv)",
                "publisher": sources.at[source, "publisher"] if known else "",
                "year": sources.at[source, "year"] if known else None,
                "url": sources.at[source, "url"] if known else "",
                "used by": ", ".join(sorted(used_by[source])),
            }
        )
    table = Table(
        "sources",
        "Sources",
        pd.DataFrame(rows, columns=["source_id", "title", "publisher", "year", "url", "used by"]),
        "Every figure and table above lists the rows it uses; those rows cite these sources. "
        "Reproduce any selection with `raremap data show TABLE`.",
    )
    return Section("sources", "Sources", "Where every number comes from.", tables=(table,))


def build_sections(dataset: Dataset, importer: str = "IND", runs: Sequence[StoredRun] = ()) -> list[Section]:
    """The report's sections: overview, world, metrics, stored runs by family, and sources."""
    from raremap.report.backtest_section import backtest_section
    from raremap.report.metrics_section import metrics_section

    sections = [
        meaning_section(runs),
        overview_section(dataset, importer),
        world_section(dataset, importer),
        metrics_section(dataset, importer),
        *run_sections(runs),
        *filter(None, [backtest_section(runs)]),
    ]
    return [*sections, sources_section(dataset, sections)]


def load_runs(db: str | Path | None, run_ids: Sequence[str] = ()) -> list[StoredRun]:
    """Runs from a store file: all of them, or those named; none without a store."""
    if db is None:
        if run_ids:
            raise RaremapError("--run needs a store: give --db PATH (the DuckDB file the runs were saved to)")
        return []
    if not Path(db).exists():
        if run_ids:
            raise RaremapError(f"store {db} does not exist; give the --db the runs were saved to")
        return []
    runs = read_runs(db, run_ids or None)
    if run_ids:
        check_requested(runs, run_ids, db)
    return runs


def render_report(dataset: Dataset, importer: str = "IND", runs: Sequence[StoredRun] = ()) -> str:
    """The report as one HTML string."""
    sections = build_sections(dataset, importer, runs)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = (
        f"Importer {importer} · dataset {dataset.version[:12]} · {len(runs)} stored run"
        f"{'s' if len(runs) != 1 else ''} · generated {stamp}"
    )
    return page_html(f"raremap report: {importer}", subtitle, sections)


def write_report(
    dataset: Dataset,
    path: str | Path,
    runs: Sequence[StoredRun] | None = None,
    *,
    importer: str = "IND",
    db: str | Path | None = None,
    run_ids: Sequence[str] = (),
) -> Path:
    """Write the offline HTML report to `path` and return it.

    `runs` are StoredRun objects; or give `db` (and optionally `run_ids`) to read them from a store.
    """
    path = Path(path)
    if path.exists() and path.is_dir():
        raise RaremapError(f"report path {path} is a folder; give a file name such as report.html")
    if not path.parent.exists():
        raise RaremapError(f"folder {path.parent} does not exist; create it or choose another --out")
    chosen = list(runs) if runs is not None else load_runs(db, run_ids)
    return write_text_atomic(path, render_report(dataset, importer, chosen))
