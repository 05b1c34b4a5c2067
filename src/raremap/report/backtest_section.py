"""The report's "How well it reproduces history" section, from stored back-test runs.

`raremap backtest --db STORE` saves each episode as a run of kind `backtest` with three results:
`scores` (one row per outcome: observed, model, difference, tolerance, status, reason), `paths`
(the model's value per period for each outcome, as the outcome compares it, with each period's
start and length) and `binding`. This section shows the latest run of each episode: the scores
table and, per modelled path, a chart of the path against every figure observed on it (a month, a
quarter or a year), with the observed window and the tolerance as bars.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from raremap.report.figure import Evidence, Figure, Section, Table
from raremap.report.run_sections import run_evidence
from raremap.report.runs import StoredRun

TITLE = "How well it reproduces history"
STATUS_ORDER = ("pass", "fail", "not expressible", "not run")


def latest_backtests(runs: Sequence[StoredRun]) -> list[StoredRun]:
    """The most recent stored back-test of each episode, by episode name."""
    latest: dict[str, StoredRun] = {}
    for run in runs:
        if run.family != "backtest":
            continue
        if run.name not in latest or str(run.created_at) > str(latest[run.name].created_at):
            latest[run.name] = run
    return [latest[name] for name in sorted(latest)]


def _window(period: str) -> tuple[datetime.date, datetime.date] | None:
    """First and last day of an observed period label: 2025, 2025-05, 2025-04..2025-09 or full dates."""
    first, _, last = str(period).partition("..")
    last = last or first

    def parse(text: str, end: bool) -> datetime.date | None:
        if re.fullmatch(r"\d{4}", text):
            return datetime.date(int(text), 12, 31) if end else datetime.date(int(text), 1, 1)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = int(text[:4]), int(text[5:])
            if not end:
                return datetime.date(year, month, 1)
            return datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1)
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            return None

    start, stop = parse(first, False), parse(last, True)
    return (start, stop) if start is not None and stop is not None else None


def _middle(start: datetime.date, end: datetime.date) -> datetime.date:
    return start + (end - start) / 2


def _path_x(path: pd.DataFrame) -> list[str]:
    """The middle of each modelled period (a year's runs paths stored before sub-annual periods: 1 July)."""
    if "period_start" not in path.columns:
        return [f"{int(str(period)[:4])}-07-01" for period in path["period"]]
    middles = []
    for start, years in zip(path["period_start"], path["period_years"], strict=True):
        first = datetime.date.fromisoformat(str(start))
        middles.append((first + datetime.timedelta(days=float(years) * 365.25 / 2)).isoformat())
    return middles


def _observed_marker(row: pd.Series, band: float | None) -> dict[str, Any]:
    window = _window(str(row["period"]))
    x = _middle(*window).isoformat() if window is not None else str(row["period"])
    marker: dict[str, Any] = {
        "type": "scatter",
        "mode": "markers",
        "name": f"observed: {row['outcome']} ({row['period']})",
        "x": [x],
        "y": [float(row["observed"])],
        "marker": {"size": 10, "color": "#047857" if row["status"] == "pass" else "#b91c1c", "symbol": "diamond"},
    }
    if band is not None:
        marker["error_y"] = {"type": "data", "array": [band], "visible": True, "color": "#6b7280"}
    if window is not None and window[1] - window[0] > datetime.timedelta(days=31):
        half = (window[1] - window[0]) / 2
        marker["error_x"] = {"type": "data", "array": [half.days * 86_400_000], "visible": True, "color": "#9ca3af", "width": 0}
    return marker


def _tolerance_band(row: pd.Series) -> float | None:
    text = str(row["tolerance"]).lstrip("±").split(" ")[0]
    try:
        if text.endswith("%"):
            return abs(float(row["observed"])) * float(text[:-1]) / 100.0
        return float(text)
    except ValueError:
        return None


def observed_evidence(run: StoredRun, outcome: str) -> Evidence:
    """The observed figure's sources, from the episode stored with the run."""
    outcomes = {item.get("id"): item for item in run.specification.get("outcomes", [])}
    sources = tuple(str(source) for source in outcomes.get(outcome, {}).get("sources", []))
    return Evidence(table="sources", selection=f"episode {run.name}, outcome {outcome}", rows=len(sources), source_ids=sources)


def _same_path_groups(scores: pd.DataFrame, paths: pd.DataFrame) -> list[tuple[pd.DataFrame, list[pd.Series]]]:
    """Outcomes whose modelled paths are the same series (one measure seen over several windows) share a chart."""
    groups: dict[tuple[Any, ...], tuple[pd.DataFrame, list[pd.Series]]] = {}
    for _, row in scores.iterrows():
        path = paths[paths["outcome"] == row["outcome"]]
        if path.empty or path["model"].isna().all() or row["status"] == "not run":
            continue
        key = (tuple(str(period) for period in path["period"]),
               tuple(None if pd.isna(value) else round(float(value), 9) for value in path["model"]))
        groups.setdefault(key, (path, []))[1].append(row)
    return list(groups.values())


def outcome_figures(run: StoredRun) -> list[Figure]:
    """One chart per modelled path: the path (line, at each period's middle) and every outcome observed on
    it (a diamond at its window's middle, the window as a horizontal bar, the tolerance as a vertical one)."""
    scores = run.results.get("scores", pd.DataFrame())
    paths = run.results.get("paths", pd.DataFrame())
    figures: list[Figure] = []
    if scores.empty or paths.empty:
        return figures
    for path, rows in _same_path_groups(scores, paths):
        first = rows[0]
        passed = sum(1 for row in rows if row["status"] == "pass")
        data = [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "model",
                "x": _path_x(path),
                "y": [None if pd.isna(value) else float(value) for value in path["model"]],
                "line": {"color": "#1f2937", "shape": "hv" if len(path) > 3 else "linear"},
            },
            *(_observed_marker(row, _tolerance_band(row)) for row in rows),
        ]
        names = ", ".join(str(row["outcome"]) for row in rows)
        observed = "; ".join(f"{row['outcome']} {row['observed']:g} in {row['period']} (±{row['tolerance'].lstrip('±')}, {row['status']})"
                             for row in rows)
        reasons = " ".join(str(row["reason"]) for row in rows if row["reason"])
        figures.append(
            Figure(
                identifier=f"backtest-{run.name}-{first['outcome']}",
                title=f"{run.name}: {names} ({passed} of {len(rows)} pass)",
                data=data,
                layout={"xaxis": {"title": {"text": "period (middle)"}, "type": "date"},
                        "yaxis": {"title": {"text": " / ".join(dict.fromkeys(str(row["unit"]) for row in rows))}}, "height": 340},
                caption=(
                    f"Observed: {observed}. Line: the model's value in each of its periods on the same basis "
                    f"(bars: the observed window and the tolerance). {reasons}"
                ).strip(),
                evidence=(run_evidence(run, "paths", path), *(observed_evidence(run, str(row["outcome"])) for row in rows)),
            )
        )
    return figures


def backtest_section(runs: Sequence[StoredRun]) -> Section | None:
    """The section, or None when the store holds no back-test."""
    chosen = latest_backtests(runs)
    if not chosen:
        return None
    frames = []
    notes = []
    figures: list[Figure] = []
    for run in chosen:
        scores = run.results.get("scores", pd.DataFrame())
        if not scores.empty:
            frames.append(scores)
        figures += outcome_figures(run)
        error = run.summary.get("run_error")
        if error:
            notes.append(f"{run.name}: the engine did not run this episode ({error}).")
        for limit in run.specification.get("engine_limits", []):
            notes.append(f"{run.name}: {' '.join(str(limit).split())}")
    table_frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    counts = table_frame["status"].value_counts() if not table_frame.empty else pd.Series(dtype=int)
    summary = ", ".join(f"{int(counts.get(status, 0))} {status}" for status in STATUS_ORDER)
    table = Table(
        "backtest-scores",
        "Observed against modelled, per outcome",
        table_frame,
        "Tolerances were set from the evidence before the model was run and are never widened; "
        "a miss stays a miss. Reasons for misses: docs/backtests.md.",
        tuple(run_evidence(run, "scores", run.results.get("scores", pd.DataFrame())) for run in chosen)
        + tuple(
            observed_evidence(run, str(outcome))
            for run in chosen
            for outcome in run.results.get("scores", pd.DataFrame()).get("outcome", [])
        ),
    )
    return Section(
        "backtests",
        TITLE,
        f"Historical episodes replayed by the engine ({len(chosen)} episode{'s' if len(chosen) != 1 else ''}: {summary}). "
        "An analyst can trust a model that reproduces what already happened; this shows how close it comes "
        "and, where it cannot express an episode, says so.",
        figures=tuple(figures),
        tables=(table,),
        notes=tuple(notes),
    )
