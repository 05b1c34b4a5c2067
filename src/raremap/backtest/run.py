"""Running an episode through the engine and scoring each observed outcome against the model.

The engine is called only through the public ``raremap.simulate.simulate(dataset, scenario)``; the
result tables are read by ``raremap.backtest.measures``. Scoring is plain: difference = model -
observed; an outcome passes when |difference| is within its tolerance. An outcome the model cannot
produce (a monthly figure in an annual run, a table the results lack) is "not expressible"; when
the engine refuses or fails on the scenario every outcome is "not run", with the engine's message.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from raremap.backtest.loading import load_episodes, scenario_document
from raremap.backtest.measures import NotExpressibleError, binding_constraints, measure
from raremap.backtest.spec import Episode, Outcome
from raremap.errors import RaremapError

Simulator = Callable[[Any, Any], Any]

PASS, FAIL, NOT_EXPRESSIBLE, NOT_RUN = "pass", "fail", "not expressible", "not run"

TABLE_COLUMNS = [
    "episode", "outcome", "period", "unit", "observed", "model", "difference", "tolerance", "status", "reason",
]


@dataclass(frozen=True)
class OutcomeScore:
    """One outcome scored: observed, model, difference, tolerance and the verdict with its reason."""

    episode: str
    outcome: str
    description: str
    period: str
    comparison: str
    unit: str
    observed: float
    model: float | None
    difference: float | None
    band: float
    tolerance: str
    status: str
    reason: str = ""
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class EpisodeResult:
    """An episode's run: the scores, what the engine cannot express, what bound, and model paths."""

    episode: Episode
    scores: tuple[OutcomeScore, ...]
    run_error: str = ""
    binding: pd.DataFrame = field(default_factory=pd.DataFrame)
    paths: pd.DataFrame = field(default_factory=pd.DataFrame)
    dataset_version: str = ""
    seconds: float = 0.0

    def table(self) -> pd.DataFrame:
        """One row per outcome, the columns of TABLE_COLUMNS."""
        return scores_frame(self.scores)

    def counts(self) -> dict[str, int]:
        statuses = [score.status for score in self.scores]
        return {status: statuses.count(status) for status in (PASS, FAIL, NOT_EXPRESSIBLE, NOT_RUN)}

    def to_json(self) -> dict[str, Any]:
        return {
            "episode": self.episode.name,
            "title": self.episode.title,
            "base_year": self.episode.base_year,
            "dataset_version": self.dataset_version,
            "run_error": self.run_error or None,
            "engine_limits": list(self.episode.engine_limits),
            "counts": self.counts(),
            "outcomes": [
                {
                    "outcome": score.outcome,
                    "description": score.description,
                    "period": score.period,
                    "comparison": score.comparison,
                    "unit": score.unit,
                    "observed": score.observed,
                    "model": score.model,
                    "difference": score.difference,
                    "tolerance": score.tolerance,
                    "band": score.band,
                    "status": score.status,
                    "reason": score.reason or None,
                    "sources": list(score.sources),
                }
                for score in self.scores
            ],
            "binding_constraints": self.binding.to_dict(orient="records"),
        }


def scores_frame(scores: Sequence[OutcomeScore]) -> pd.DataFrame:
    rows = [
        {
            "episode": score.episode,
            "outcome": score.outcome,
            "period": score.period,
            "unit": score.unit,
            "observed": score.observed,
            "model": score.model,
            "difference": score.difference,
            "tolerance": score.tolerance,
            "status": score.status,
            "reason": score.reason,
        }
        for score in scores
    ]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def _model_figure(outcome: Outcome, series: pd.Series, base_year: int) -> tuple[float | None, str]:
    """The model's figure for the outcome's period and comparison, or None with the reason."""
    year = outcome.period.calendar_year()
    if year is None:
        return None, (
            f"observed over {outcome.period.label()}; the engine's periods are whole calendar years "
            "(needs sub-annual periods, issue 13 part 5)"
        )
    if year not in series.index:
        return None, f"the run has no period {year} (its periods are {min(series.index)}-{max(series.index)})"
    value = float(series.loc[year])
    reference = outcome.reference_year(base_year)
    if reference is not None:
        base = float(series.loc[reference]) if reference in series.index else math.nan
        if not base or math.isnan(base):
            return None, f"the model has no value (or zero) for {reference}, so no ratio: no market for this selection then"
        value = value / base
    if math.isnan(value):
        return None, "the model's value is undefined (no rows for this selection)"
    return value, ""


def _verdict(
    episode: Episode, outcome: Outcome, model: float | None, status: str, reason: str
) -> OutcomeScore:
    return OutcomeScore(
        episode=episode.name,
        outcome=outcome.id,
        description=outcome.description,
        period=outcome.period.label(),
        comparison=outcome.comparison,
        unit=outcome.unit,
        observed=outcome.observed,
        model=model,
        difference=None if model is None else model - outcome.observed,
        band=outcome.tolerance.band(outcome.observed),
        tolerance=outcome.tolerance.label(outcome.unit),
        status=status,
        reason=reason,
        sources=outcome.sources,
    )


def score_outcome(episode: Episode, outcome: Outcome, result: Any) -> tuple[OutcomeScore, pd.Series | None]:
    """Score one outcome against a run's result; also return the model's path for charts."""
    periods = tuple(int(period) for period in result.periods)
    try:
        series = measure(result, outcome.measure, outcome.select, periods)
    except NotExpressibleError as reason:
        return _verdict(episode, outcome, None, NOT_EXPRESSIBLE, str(reason)), None
    reference = outcome.reference_year(episode.base_year)
    path = series / float(series.loc[reference]) if reference is not None and series.get(reference) else series
    model, why = _model_figure(outcome, series, episode.base_year)
    if model is None:
        return _verdict(episode, outcome, None, NOT_EXPRESSIBLE, why), path
    within = abs(model - outcome.observed) <= outcome.tolerance.band(outcome.observed) + 1e-12
    return _verdict(episode, outcome, model, PASS if within else FAIL, outcome.note), path


def run_episode(episode: Episode, dataset: Any, simulator: Simulator | None = None) -> EpisodeResult:
    """Replay the episode's scenario on the dataset and score every outcome.

    `simulator` defaults to ``raremap.simulate.simulate``; the tests pass a perturbed one to check
    that the harness fails an outcome when the model moves.
    """
    from raremap.scenario.loading import validate_document
    from raremap.simulate import simulate

    run = simulator or simulate
    started = time.perf_counter()
    version = str(getattr(dataset, "version", ""))
    try:
        scenario = validate_document(scenario_document(episode), f"episode {episode.name}, scenario")
        result = run(dataset, scenario)
    except RaremapError as error:
        message = f"the engine did not run the episode: {error}"
        refused = tuple(_verdict(episode, outcome, None, NOT_RUN, message) for outcome in episode.outcomes)
        return EpisodeResult(episode, refused, run_error=str(error), dataset_version=version,
                             seconds=time.perf_counter() - started)
    scores = []
    paths = []
    for outcome in episode.outcomes:
        score, path = score_outcome(episode, outcome, result)
        scores.append(score)
        if path is not None:
            paths.append(pd.DataFrame({"outcome": outcome.id, "period": path.index, "model": path.to_numpy()}))
    return EpisodeResult(
        episode,
        tuple(scores),
        binding=binding_constraints(result, scenario.importer),
        paths=pd.concat(paths, ignore_index=True) if paths else pd.DataFrame(columns=["outcome", "period", "model"]),
        dataset_version=version,
        seconds=time.perf_counter() - started,
    )


def run_backtests(names: Sequence[str] | None = None, dataset: Any = None, simulator: Simulator | None = None) -> list[EpisodeResult]:
    """Every bundled episode (or those named), each replayed and scored."""
    if dataset is None:
        from raremap.data.dataset import load

        dataset = load()
    return [run_episode(episode, dataset, simulator) for episode in load_episodes(list(names or []), dataset)]
