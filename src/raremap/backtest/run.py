"""Running an episode through the engine and scoring each observed outcome against the model.

The engine is called only through the public ``raremap.simulate.simulate(dataset, scenario)``; the
result tables are read by ``raremap.backtest.measures``. Scoring is plain: difference = model -
observed; an outcome passes when |difference| is within its tolerance. An outcome the model cannot
produce (a month the run's periods do not split out, a window outside the run, a table the results
lack, a ratio to a zero price) is "not expressible"; when the engine refuses or fails on the scenario
every outcome is "not run", with the engine's message.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from raremap.backtest.loading import load_episodes, scenario_document
from raremap.backtest.measures import (
    MeasureValues,
    ModelPeriod,
    NotExpressibleError,
    binding_constraints,
    measure,
    run_periods,
    window,
)
from raremap.backtest.spec import Episode, Outcome
from raremap.errors import RaremapError

Simulator = Callable[[Any, Any], Any]

PASS, FAIL, NOT_EXPRESSIBLE, NOT_RUN = "pass", "fail", "not expressible", "not run"

PATH_COLUMNS = ["outcome", "period", "period_start", "period_years", "model"]
"""The model's path per outcome and period, on the outcome's basis (see `model_path`)."""

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


def _model_figure(outcome: Outcome, values: MeasureValues, periods: tuple[ModelPeriod, ...], base_year: int) -> float:
    """The model's figure for the outcome's window and comparison; NotExpressibleError says why not."""
    inside = window(periods, outcome.period.start, outcome.period.end)
    reference = outcome.reference_period(base_year)
    if reference is None:
        value = values.over(inside)
    else:
        try:
            base_periods = window(periods, reference.start, reference.end)
        except NotExpressibleError as why:
            raise NotExpressibleError(f"the reference {reference.label()} cannot be read: {why}") from None
        base = values.rate(base_periods)
        if math.isnan(base) or base == 0:
            zero = " (the engine prices a co-product in surplus without a finishing cost at 0)" if values.kind == "price" and base == 0 else ""
            raise NotExpressibleError(
                f"the model's value in {reference.label()} is {'zero' if base == 0 else 'undefined'}{zero}, so no ratio"
            )
        value = values.rate(inside) / base
    if math.isnan(value):
        raise NotExpressibleError("the model's value is undefined (no rows for this selection)")
    return value


def model_path(outcome: Outcome, values: MeasureValues, periods: tuple[ModelPeriod, ...], base_year: int) -> pd.DataFrame:
    """The model's value in each period on the outcome's basis, for charts.

    Flows are per year times the observed window's length (a month's outcome is charted in t per
    month), divided by the reference where the outcome is a ratio; prices and shares as they are.
    """
    length = sum(period.years for period in window_or_none(periods, outcome) or ()) or outcome_years(outcome)
    base = 1.0
    reference = outcome.reference_period(base_year)
    if reference is not None:
        try:
            base = values.rate(window(periods, reference.start, reference.end))
        except NotExpressibleError:
            base = math.nan
    rows = []
    for period in periods:
        try:
            value = values.rate((period,))
        except NotExpressibleError:
            value = math.nan
        if values.kind == "flow" and reference is None:
            value *= length
        rows.append({
            "outcome": outcome.id, "period": period.label, "period_start": period.start.isoformat(),
            "period_years": period.years, "model": value / base if base and not math.isnan(base) else math.nan,
        })
    return pd.DataFrame(rows, columns=PATH_COLUMNS)


def window_or_none(periods: tuple[ModelPeriod, ...], outcome: Outcome) -> tuple[ModelPeriod, ...] | None:
    try:
        return window(periods, outcome.period.start, outcome.period.end)
    except NotExpressibleError:
        return None


def outcome_years(outcome: Outcome) -> float:
    """The observed window's length in years (months count as twelfths, as the engine's do)."""
    start, end = outcome.period.start, outcome.period.end
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    return months / 12.0


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


def score_outcome(episode: Episode, outcome: Outcome, result: Any) -> tuple[OutcomeScore, pd.DataFrame | None]:
    """Score one outcome against a run's result; also return the model's path for charts."""
    try:
        periods = run_periods(result)
        values = measure(result, outcome.measure, outcome.select, periods)
    except NotExpressibleError as reason:
        return _verdict(episode, outcome, None, NOT_EXPRESSIBLE, str(reason)), None
    path = model_path(outcome, values, periods, episode.base_year)
    try:
        model = _model_figure(outcome, values, periods, episode.base_year)
    except NotExpressibleError as reason:
        return _verdict(episode, outcome, None, NOT_EXPRESSIBLE, str(reason)), path
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
        return _not_run(episode, f"the engine did not run the episode: {error}", str(error), version, started)
    except Exception as error:  # an engine bug: the other episodes still run, and this one says why not
        crash = f"{type(error).__name__}: {error}"
        return _not_run(episode, f"the engine failed on the episode ({crash}); an engine bug, not a refusal", crash,
                        version, started)
    scores = []
    paths = []
    for outcome in episode.outcomes:
        score, path = score_outcome(episode, outcome, result)
        scores.append(score)
        if path is not None:
            paths.append(path)
    return EpisodeResult(
        episode,
        tuple(scores),
        binding=binding_constraints(result, scenario.importer),
        paths=pd.concat(paths, ignore_index=True) if paths else pd.DataFrame(columns=PATH_COLUMNS),
        dataset_version=version,
        seconds=time.perf_counter() - started,
    )


def _not_run(episode: Episode, message: str, error: str, version: str, started: float) -> EpisodeResult:
    refused = tuple(_verdict(episode, outcome, None, NOT_RUN, message) for outcome in episode.outcomes)
    return EpisodeResult(episode, refused, run_error=error, dataset_version=version, seconds=time.perf_counter() - started)


def run_backtests(names: Sequence[str] | None = None, dataset: Any = None, simulator: Simulator | None = None) -> list[EpisodeResult]:
    """Every bundled episode (or those named), each replayed and scored."""
    if dataset is None:
        from raremap.data.dataset import load

        dataset = load()
    return [run_episode(episode, dataset, simulator) for episode in load_episodes(list(names or []), dataset)]
