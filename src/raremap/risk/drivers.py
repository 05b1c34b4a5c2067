"""Scenario discovery: which uncertainties explain the worst draws.

Two views of the same question, both on the per-draw features (capacity loss-years per process,
export-control loss-years, demand level) against the indicator "draw is among the worst 5 % by
loss", where the engine's loss is the total excess shortfall over the undisrupted base at the
draw's demand level (what the disruptions add; the total shortfall also carries the baseline's own
shortfall, which mostly tracks the demand level). Draws with zero loss never count among the worst,
so when fewer than 5 % of draws lose anything, only those that do are the worst:

- ranking: each feature's mean among the worst draws minus its mean among all draws, divided by
  its standard deviation over all draws (a standardised difference; larger means the feature is
  more over-represented in the bad tail);
- a PRIM box (Friedman and Fisher's patient rule induction): starting from all draws, repeatedly
  peel the slice (at least 5 % of the box, below a low quantile or above a high one of one
  feature) whose removal most raises the share of worst draws in the box, while the box still
  holds at least half of the worst draws. The box's limits are the conditions that, together,
  concentrate the bad outcomes; coverage and density say how well.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

WORST_SHARE = 0.05
PEEL_SHARE = 0.05
MINIMUM_COVERAGE = 0.5
RANKED = 5


def worst_draws(losses: np.ndarray, share: float = WORST_SHARE) -> np.ndarray:
    """Boolean mask of the ceil(share x N) draws with the largest loss (ties broken by draw order)."""
    count = max(1, int(np.ceil(share * losses.size)))
    order = np.argsort(-losses, kind="stable")
    mask = np.zeros(losses.size, dtype=bool)
    mask[order[:count]] = True
    return mask


def ranking(features: pd.DataFrame, worst: np.ndarray) -> list[dict[str, Any]]:
    """Features ordered by standardised difference of their mean in the worst draws."""
    rows: list[dict[str, Any]] = []
    for name in features.columns:
        values = features[name].to_numpy(dtype=float)
        spread = float(values.std())
        difference = (float(values[worst].mean()) - float(values.mean())) / spread if spread > 0 else 0.0
        rows.append({
            "uncertainty": name,
            "mean_in_worst": float(values[worst].mean()),
            "mean_overall": float(values.mean()),
            "standardized_difference": difference,
        })
    rows.sort(key=lambda row: -float(row["standardized_difference"]))
    return rows[:RANKED]


def _peel_candidates(values: np.ndarray, inside: np.ndarray) -> list[tuple[str, float, np.ndarray]]:
    """The low and high peels of one feature: (side, new limit, draws kept)."""
    box_values = values[inside]
    low, high = np.quantile(box_values, [PEEL_SHARE, 1 - PEEL_SHARE])
    candidates = []
    if low < box_values.max():
        keep = inside & (values > low)
        candidates.append(("lower", float(values[keep].min()), keep))
    if high > box_values.min():
        keep = inside & (values < high)
        candidates.append(("upper", float(values[keep].max()), keep))
    return candidates


def prim_box(features: pd.DataFrame, worst: np.ndarray) -> dict[str, Any]:
    """The PRIM box that concentrates the worst draws (see the module docstring)."""
    inside = np.ones(len(features), dtype=bool)
    limits = {name: [float(features[name].min()), float(features[name].max())] for name in features.columns}
    total_worst = max(int(worst.sum()), 1)
    while True:
        best: tuple[float, str, str, float, np.ndarray] | None = None
        for name in features.columns:
            for side, limit, keep in _peel_candidates(features[name].to_numpy(dtype=float), inside):
                if not keep.any() or worst[keep].sum() / total_worst < MINIMUM_COVERAGE:
                    continue
                density = float(worst[keep].mean())
                if best is None or density > best[0]:
                    best = (density, name, side, limit, keep)
        if best is None or best[0] <= float(worst[inside].mean()):
            break
        _, name, side, limit, inside = best
        limits[name][0 if side == "lower" else 1] = limit
    full = {name: [float(features[name].min()), float(features[name].max())] for name in features.columns}
    restricted = [
        {"uncertainty": name, "lower": bounds[0], "upper": bounds[1]}
        for name, bounds in limits.items()
        if bounds != full[name]
    ]
    return {
        "box": restricted,
        "coverage": float(worst[inside].sum() / total_worst),
        "density": float(worst[inside].mean()) if inside.any() else 0.0,
        "support": float(inside.mean()),
    }


def drivers(features: pd.DataFrame, losses: np.ndarray, basis: str = "total_shortfall_t") -> dict[str, Any]:
    """Ranking and PRIM box of the uncertainties behind the worst 5 % of draws by `losses` (named `basis`)."""
    worst = worst_draws(losses)
    positive = worst & (losses > 0)
    if positive.any():
        worst = positive
    return {
        "basis": basis,
        "worst_share": WORST_SHARE,
        "worst_draws": int(worst.sum()),
        "ranking": ranking(features, worst),
        "prim": prim_box(features, worst),
    }
