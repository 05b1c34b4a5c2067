"""Drawing one Monte Carlo draw: which disruptions happen, how severe, how long, at which demand level.

Draw `i` of a run with seed `s` uses its own generator, ``numpy.random.default_rng([s, i])``, and
consumes random numbers in a fixed order that does not depend on what happened earlier in the
draw. So draw `i` is the same whichever worker computes it, in whichever chunk.

Periods may differ in length (quarters early, years later): an event starts in a period with the
probability of at least one event in that many years, and lasts its duration in years from the
period's start. Events start only in the horizon (never in the calibrated base year).

Severities are rounded to multiples of `severity_step` (default 0.1): the disruption pattern of a
draw is then a small integer array, and draws with equal patterns are evaluated once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from raremap.risk.resolve import ResolvedRisk
from raremap.risk.spec import Duration, Severity


@dataclass(frozen=True)
class Pattern:
    """What one draw does to the model, in whole severity steps.

    `capacity_steps[k, t]`: steps of capacity lost by process k in period t (every period of the
    run, zero before the horizon); `control_steps[t]`: steps of the export-controlling country's
    exports withheld in period t; `demand_level`: index into the risk file's demand levels.
    """

    demand_level: int
    capacity_steps: np.ndarray
    control_steps: np.ndarray

    def key(self) -> bytes:
        """A hashable identity: equal keys mean identical bounds in the model."""
        return bytes([self.demand_level]) + self.capacity_steps.tobytes() + self.control_steps.tobytes()

    def is_undisrupted(self) -> bool:
        return not self.capacity_steps.any() and not self.control_steps.any()


def draw_generator(seed: int, draw: int) -> np.random.Generator:
    """The independent random stream of one draw, keyed by (seed, draw index)."""
    return np.random.default_rng([seed, draw])


def _severities(generator: np.random.Generator, severity: Severity, count: int) -> np.ndarray:
    if severity.distribution == "beta":
        return generator.beta(severity.alpha, severity.beta, size=count)
    choice = generator.choice(len(severity.values), size=count, p=np.asarray(severity.probabilities))
    return np.asarray(severity.values)[choice]


def _durations(generator: np.random.Generator, duration: Duration, count: int) -> np.ndarray:
    if duration.distribution == "geometric":
        return generator.geometric(1.0 / duration.mean_years, size=count)
    choice = generator.choice(len(duration.values), size=count, p=np.asarray(duration.probabilities))
    return np.asarray(duration.values)[choice]


def _spread(starts: np.ndarray, severities: np.ndarray, durations: np.ndarray, period_starts: np.ndarray) -> np.ndarray:
    """Loss per period from events starting in given periods: the largest severity of the events in force.

    An event starting with period t lasts `durations[t]` years: it covers every period that starts
    before the period start of t plus the duration.
    """
    loss = np.zeros(period_starts.size)
    for start in np.flatnonzero(starts):
        covered = (period_starts >= period_starts[start] - 1e-9) & (period_starts < period_starts[start] + durations[start] - 1e-9)
        loss[covered] = np.maximum(loss[covered], severities[start])
    return loss


def period_probability(annual: float, years: float | np.ndarray) -> np.ndarray:
    """Probability of at least one event in a period of `years` years."""
    return 1.0 - (1.0 - annual) ** np.asarray(years, dtype=float)


def _steps(loss: np.ndarray, step: float) -> np.ndarray:
    return np.minimum(np.round(loss / step), round(1.0 / step)).astype(np.uint8)


def draw_pattern(risk: ResolvedRisk, draw: int) -> Pattern:
    """The disruption pattern of draw `draw` (a pure function of the risk file, the seed and `draw`)."""
    generator = draw_generator(risk.model.seed, draw)
    model = risk.model
    period_starts, years = np.asarray(risk.periods), np.asarray(risk.period_years)
    periods = period_starts.size
    in_horizon = np.arange(periods) >= risk.horizon
    demand_level = int(generator.choice(len(model.demand.levels), p=np.asarray(model.demand.probabilities)))
    latent = generator.standard_normal((periods, risk.copula_factor.shape[0])) @ risk.copula_factor.T
    uniforms = ndtr(latent)
    step = model.severity_step
    capacity = np.zeros((len(risk.processes), periods), dtype=np.uint8)
    for index, process in enumerate(risk.processes):
        starts = in_horizon & (uniforms[:, index] < period_probability(process.annual_probability, years))
        severities = _severities(generator, process.severity, periods)
        durations = _durations(generator, process.duration, periods)
        capacity[index] = _steps(_spread(starts, severities, durations, period_starts), step)
    control = np.zeros(periods, dtype=np.uint8)
    if model.export_control.enabled:
        settings = model.export_control
        starts = in_horizon & (uniforms[:, -1] < period_probability(risk.control_probability, years))
        severities = _severities(generator, settings.severity, periods)
        durations = _durations(generator, settings.duration, periods)
        control = _steps(_spread(starts, severities, durations, period_starts), step)
    return Pattern(demand_level=demand_level, capacity_steps=capacity, control_steps=control)


def pattern_features(risk: ResolvedRisk, pattern: Pattern) -> dict[str, float]:
    """The uncertainties of a draw as numbers for scenario discovery: loss-years per process, demand level."""
    step = risk.model.severity_step
    years = np.asarray(risk.period_years)
    features = {
        f"{process.name} loss-years": float(pattern.capacity_steps[index] @ years) * step
        for index, process in enumerate(risk.processes)
    }
    if risk.model.export_control.enabled:
        features["export_control loss-years"] = float(pattern.control_steps @ years) * step
    features["demand level"] = float(risk.model.demand.levels[pattern.demand_level])
    return features
