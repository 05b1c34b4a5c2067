"""Static PNG figures for briefs, drawn with matplotlib (no browser, no network).

Briefs need pictures that paste into a document. Maps need a projection library, so the static
set shows the same numbers as bars: the leading producers of each stage, the importer's suppliers,
and, when runs are given, shortfall by sector over time and exceedance curves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from raremap.data.dataset import Dataset
from raremap.errors import RaremapError
from raremap.files import output_directory
from raremap.formatting import share
from raremap.metrics.stages import UNATTRIBUTED
from raremap.overview import STAGES, latest_common_year
from raremap.report.palette import IMPORTER, country_colour, run_style, sector_colour
from raremap.report.run_sections import exceedance_curve, shortfall_by_sector
from raremap.report.runs import StoredRun
from raremap.report.world import production_shares
from raremap.vocabulary import STAGE_UNITS

LEADING_PRODUCERS = 8
PANELS_PER_ROW = 3
NODE = "#64748b"
DASH_STYLES = {"solid": "-", "dash": "--", "dot": ":", "dashdot": "-.", "longdash": (0, (8, 3))}


def _numbers() -> Any:
    """A matplotlib tick formatter that writes numbers as the rest of raremap does."""
    from matplotlib.ticker import FuncFormatter

    from raremap.formatting import number

    return FuncFormatter(lambda value, _position: number(float(value)))


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as error:
        raise RaremapError(
            "static figures need matplotlib; install it with `pip install 'raremap[report]'`"
        ) from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def _save(pyplot: Any, figure: Any, path: Path, tight: bool = True) -> Path:
    if tight:
        figure.tight_layout()
    figure.savefig(path, dpi=150)
    pyplot.close(figure)
    return path


def producer_bars(dataset: Dataset, directory: Path, importer: str) -> Path:
    """One panel per stage: the largest producers' shares of world output, the importer in red."""
    pyplot = _pyplot()
    year = latest_common_year(dataset)
    figure, axes = pyplot.subplots(2, 2, figsize=(9, 6.5), sharex=True)
    for axis, stage in zip(axes.flat, STAGES, strict=True):
        shares = production_shares(dataset, stage, year)
        listed = shares[shares["country"] != UNATTRIBUTED]
        unlisted = float(shares.loc[shares["country"] == UNATTRIBUTED, "share"].sum())
        leading = listed.head(LEADING_PRODUCERS).iloc[::-1]
        colours = [IMPORTER if country == importer else country_colour(country) or NODE for country in leading["country"]]
        axis.barh(leading["country"], leading["share"] * 100, color=colours)
        note = f"; not listed {share(unlisted)}" if unlisted > 0 else ""
        axis.set_title(f"{stage}, {year} ({STAGE_UNITS[stage]}{note})", fontsize=10)
        axis.set_xlim(0, 100)
        axis.set_ylim(len(leading) - LEADING_PRODUCERS - 0.5, len(leading) - 0.5)  # same bar size in every panel
        axis.grid(axis="x", alpha=0.3)
    for axis in axes[-1]:
        axis.set_xlabel("% of world output (all producers, listed or not)")
    figure.suptitle(f"Leading producers by stage, {year} ({importer} in red); source: raremap production table",
                    fontsize=11)
    return _save(pyplot, figure, directory / "producers-by-stage.png")


def shortfall_lines(runs: Sequence[StoredRun], directory: Path) -> Path | None:
    """The importer's magnet shortfall per year by sector, one panel per simulation run (at most three
    panels a row, a shared scale), sectors in their colours."""
    frames = [
        (run, frame)
        for run in runs
        if run.family == "simulate" and (frame := shortfall_by_sector(run)) is not None
    ]
    if not frames:
        return None
    pyplot = _pyplot()
    columns = min(len(frames), PANELS_PER_ROW)
    rows = math.ceil(len(frames) / columns)
    figure, axes = pyplot.subplots(rows, columns, figsize=(4.2 * columns + 1.5, 3.2 * rows + 0.8),
                                   sharey=True, squeeze=False)
    for axis, (run, frame) in zip(axes.flat, frames, strict=False):
        periods = list(dict.fromkeys(frame["period"]))
        bottom = [0.0] * len(periods)
        for sector, group in frame.groupby("sector"):
            values = group.set_index("period")["tonnes"].reindex(periods).fillna(0.0).tolist()
            axis.bar(periods, values, bottom=bottom, label=str(sector), color=sector_colour(str(sector)))
            bottom = [low + value for low, value in zip(bottom, values, strict=True)]
        axis.set_title(f"{run.name} ({run.importer})", fontsize=10)
        axis.tick_params(axis="x", labelrotation=90, labelsize=7)
        axis.yaxis.set_major_formatter(_numbers())
        axis.grid(axis="y", alpha=0.3)
    for axis in axes.flat[len(frames):]:
        axis.set_visible(False)
    for axis in axes[:, 0]:
        axis.set_ylabel("shortfall (t magnet per year)")
    handles, names = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, names, loc="lower center", ncol=min(len(names), 6), fontsize=8, frameon=False)
    figure.suptitle("Shortfall of magnet buyers per year by sector (t magnet; quarters summed)", fontsize=11)
    figure.tight_layout(rect=(0, 0.08, 1, 0.95))
    return _save(pyplot, figure, directory / "shortfall-by-sector.png", tight=False)


def exceedance_lines(runs: Sequence[StoredRun], directory: Path) -> Path | None:
    curves = [
        (run, curve) for run in runs if run.family == "risk" and (curve := exceedance_curve(run)) is not None
    ]
    if not curves:
        return None
    pyplot = _pyplot()
    figure, axis = pyplot.subplots(figsize=(6.5, 4))
    units = sorted({unit for _, (_, _, unit) in curves})
    for position, (run, (levels, probabilities, _)) in enumerate(curves):
        style = run_style(position)
        axis.step(levels, [value * 100 for value in probabilities], where="post", label=run.label,
                  color=style["color"], linestyle=DASH_STYLES.get(style["dash"], "-"))
    horizons = sorted({str(run.summary.get("horizon", "the run's horizon")) for run, _ in curves})
    axis.set_xlabel(f"shortfall summed over {', '.join(horizons)} ({', '.join(units)})")
    axis.set_ylabel("% of draws exceeding it")
    axis.xaxis.set_major_formatter(_numbers())
    axis.set_ylim(0, 102)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return _save(pyplot, figure, directory / "exceedance.png")


def write_static_figures(
    dataset: Dataset, directory: str | Path, runs: Sequence[StoredRun] = (), importer: str = "IND"
) -> list[Path]:
    """Write the PNG figures into `directory` and return their paths."""
    folder = output_directory(directory)
    written = [
        producer_bars(dataset, folder, importer),
        shortfall_lines(runs, folder),
        exceedance_lines(runs, folder),
    ]
    return [path for path in written if path is not None]
