"""The report's "How well it reproduces history" section, from stored back-test runs.

`raremap backtest --db STORE` saves each episode as a run of kind `backtest` with three results:
`scores` (one row per outcome: observed, model, difference, tolerance, status, reason), `paths`
(the model's value per period for each outcome, as the outcome compares it) and `binding`. This
section shows the latest run of each episode: the scores table and, per outcome with a model path,
a chart of the modelled path against the observed figure and its tolerance.
"""

from __future__ import annotations

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


def _observed_marker(row: pd.Series, band: float | None) -> dict[str, Any]:
    marker: dict[str, Any] = {
        "type": "scatter",
        "mode": "markers",
        "name": "observed",
        "x": [int(str(row["period"]))],
        "y": [float(row["observed"])],
        "marker": {"size": 10, "color": "#111827", "symbol": "diamond"},
    }
    if band is not None:
        marker["error_y"] = {"type": "data", "array": [band], "visible": True, "color": "#6b7280"}
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


def outcome_figures(run: StoredRun) -> list[Figure]:
    """One chart per outcome with a yearly observation: modelled path (line) and observed (diamond)."""
    scores = run.results.get("scores", pd.DataFrame())
    paths = run.results.get("paths", pd.DataFrame())
    figures: list[Figure] = []
    if scores.empty or paths.empty:
        return figures
    for _, row in scores.iterrows():
        path = paths[paths["outcome"] == row["outcome"]].sort_values("period")
        if path.empty or path["model"].isna().all() or not str(row["period"]).isdigit():
            continue
        colour = "#047857" if row["status"] == "pass" else "#b91c1c"
        data = [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "model",
                "x": [int(value) for value in path["period"]],
                "y": [None if pd.isna(value) else float(value) for value in path["model"]],
                "line": {"color": colour},
            },
            _observed_marker(row, _tolerance_band(row)),
        ]
        figures.append(
            Figure(
                identifier=f"backtest-{run.name}-{row['outcome']}",
                title=f"{run.name}: {row['outcome']} ({row['status']})",
                data=data,
                layout={"xaxis": {"title": {"text": "year"}, "dtick": 1}, "yaxis": {"title": {"text": str(row["unit"])}},
                        "height": 320},
                caption=(
                    f"Observed {row['observed']:g} {row['unit']} in {row['period']} (bar: tolerance {row['tolerance']}); "
                    f"line: the model's path on the same basis. {row['reason'] or ''}"
                ).strip(),
                evidence=(run_evidence(run, "paths", path), observed_evidence(run, str(row["outcome"]))),
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
