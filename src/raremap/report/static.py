"""Static PNG figures for briefs, drawn with matplotlib (no browser, no network).

Briefs need pictures that paste into a document. Maps need a projection library, so the static
set shows the same numbers as bars: the leading producers of each stage, the importer's suppliers,
and, when runs are given, shortfall by sector over time and exceedance curves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from raremap.data.dataset import Dataset
from raremap.errors import RaremapError
from raremap.files import output_directory
from raremap.overview import STAGES, latest_common_year
from raremap.report.run_sections import exceedance_curve, shortfall_by_sector
from raremap.report.runs import StoredRun
from raremap.report.world import production_shares

LEADING_PRODUCERS = 8


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


def _save(pyplot: Any, figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=150)
    pyplot.close(figure)
    return path


def producer_bars(dataset: Dataset, directory: Path, importer: str) -> Path:
    """One panel per stage: the largest producers' shares of world output, the importer in red."""
    pyplot = _pyplot()
    year = latest_common_year(dataset)
    figure, axes = pyplot.subplots(1, len(STAGES), figsize=(14, 3.8), sharex=True)
    for axis, stage in zip(axes, STAGES, strict=True):
        shares = production_shares(dataset, stage, year).head(LEADING_PRODUCERS).iloc[::-1]
        colours = ["#b91c1c" if country == importer else "#475569" for country in shares["country"]]
        axis.barh(shares["country"], shares["share"] * 100, color=colours)
        axis.set_title(f"{stage} {year}")
        axis.set_xlabel("% of world output")
    figure.suptitle(f"Leading producers by stage ({importer} in red); source: raremap production table")
    return _save(pyplot, figure, directory / "producers-by-stage.png")


def shortfall_lines(runs: Sequence[StoredRun], directory: Path) -> Path | None:
    """Shortfall by sector over time, one panel per simulation run."""
    frames = [
        (run, frame)
        for run in runs
        if run.family == "simulate" and (frame := shortfall_by_sector(run)) is not None
    ]
    if not frames:
        return None
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(1, len(frames), figsize=(5 * len(frames), 3.8), sharey=True, squeeze=False)
    for axis, (run, frame) in zip(axes[0], frames, strict=True):
        for sector, rows in frame.groupby("sector"):
            axis.plot(rows["period"], rows["tonnes"], marker="o", label=str(sector))
        axis.set_title(run.label)
        axis.set_xlabel("period")
    axes[0][0].set_ylabel("shortfall (t)")
    axes[0][-1].legend(fontsize=8)
    return _save(pyplot, figure, directory / "shortfall-by-sector.png")


def exceedance_lines(runs: Sequence[StoredRun], directory: Path) -> Path | None:
    curves = [
        (run, curve) for run in runs if run.family == "risk" and (curve := exceedance_curve(run)) is not None
    ]
    if not curves:
        return None
    pyplot = _pyplot()
    figure, axis = pyplot.subplots(figsize=(6, 4))
    for run, (levels, probabilities, _) in curves:
        axis.step(levels, probabilities, where="post", label=run.label)
    axis.set_yscale("log")
    axis.set_xlabel("total shortfall (t)")
    axis.set_ylabel("probability of exceeding")
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
