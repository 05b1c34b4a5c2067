"""Risk metrics of a finished run, computed from the per-draw sector totals in the chunk files.

For a sector's shortfall L over the horizon (tonnes, one value per draw, N draws):

- expected shortfall: mean(L);
- VaR_q: the empirical q-quantile, the smallest x with at least q N draws at or below x;
- CVaR_q: VaR_q + mean(max(L - VaR_q, 0)) / (1 - q) (Rockafellar and Uryasev), which equals the
  mean of the worst (1 - q) N draws whenever (1 - q) N is a whole number;
- P(shortfall > 10 % of demand): share of draws with L > 0.1 x that draw's demand over the horizon;
- exceedance curve: P(L > x) on a grid of x.

The same figures on the excess shortfall E, the shortfall beyond the undisrupted base solution at
the draw's demand level (per cell max(0, draw - base), summed over elements and periods; column
`total_excess_t:<sector>`): expected excess mean(E), VaR_0.95 and CVaR_0.95 of E, and
P(E > 10 % of demand). These measure what the disruptions add, where L also counts the baseline's
own shortfall.

Only the total columns are read (not every shortfall cell), so memory grows with the number of
draws times the number of sectors, not with the number of cells.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

LEVELS = (0.90, 0.95, 0.99)
EXCESS_LEVEL = 0.95
EXCESS_KEYS = ("expected_excess_shortfall_t", "var95_excess_t", "cvar95_excess_t", "p_excess_exceed_10pct")
EXCEEDANCE_SHARE = 0.10
EXCEEDANCE_POINTS = 101
TOTAL = "all"


def value_at_risk(losses: np.ndarray, level: float) -> float:
    """The smallest loss x with P(L <= x) >= level, over the draws."""
    return float(np.quantile(losses, level, method="inverted_cdf"))


def conditional_value_at_risk(losses: np.ndarray, level: float) -> float:
    """Expected loss in the worst (1 - level) tail: VaR + E[max(L - VaR, 0)] / (1 - level)."""
    threshold = value_at_risk(losses, level)
    return threshold + float(np.maximum(losses - threshold, 0.0).mean()) / (1.0 - level)


def read_columns(paths: list[Path], prefixes: tuple[str, ...]) -> pd.DataFrame:
    """The columns starting with any of `prefixes` (plus draw) from every chunk file, in draw order."""
    schema = pq.read_schema(paths[0])
    names = ["draw", *[name for name in schema.names if name.startswith(prefixes)]]
    frames = [pq.read_table(path, columns=names).to_pandas() for path in paths]
    return pd.concat(frames, ignore_index=True)


def sector_losses(totals: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per sector (and for all sectors together) the shortfall and demand of every draw."""
    sectors = [name.split(":", 1)[1] for name in totals.columns if name.startswith("total_shortfall_t:")]
    result = {
        sector: (totals[f"total_shortfall_t:{sector}"].to_numpy(), totals[f"demand_t:{sector}"].to_numpy())
        for sector in sectors
    }
    result[TOTAL] = (
        np.sum([losses for losses, _ in result.values()], axis=0),
        np.sum([demand for _, demand in result.values()], axis=0),
    )
    return result


def sector_excess(totals: pd.DataFrame) -> dict[str, np.ndarray] | None:
    """Per sector (and for all sectors together) the excess shortfall of every draw; None if not recorded."""
    sectors = [name.split(":", 1)[1] for name in totals.columns if name.startswith("total_shortfall_t:")]
    if not sectors or any(f"total_excess_t:{sector}" not in totals.columns for sector in sectors):
        return None
    result = {sector: totals[f"total_excess_t:{sector}"].to_numpy() for sector in sectors}
    result[TOTAL] = np.sum(list(result.values()), axis=0)
    return result


def summary_row(losses: np.ndarray, demand: np.ndarray, excess: np.ndarray | None = None) -> dict[str, float]:
    """Expected shortfall, VaR and CVaR at 90/95/99 %, P(shortfall > 10 % of demand), and (given the
    excess over the base) expected excess, VaR and CVaR of the excess at 95 %, P(excess > 10 % of demand)."""
    row = {"expected_shortfall_t": float(losses.mean())}
    for level in LEVELS:
        percent = round(level * 100)
        row[f"var{percent}_t"] = value_at_risk(losses, level)
        row[f"cvar{percent}_t"] = conditional_value_at_risk(losses, level)
    row["p_exceed_10pct"] = float((losses > EXCEEDANCE_SHARE * demand).mean())
    row["expected_demand_t"] = float(demand.mean())
    if excess is not None:
        row["expected_excess_shortfall_t"] = float(excess.mean())
        row["var95_excess_t"] = value_at_risk(excess, EXCESS_LEVEL)
        row["cvar95_excess_t"] = conditional_value_at_risk(excess, EXCESS_LEVEL)
        row["p_excess_exceed_10pct"] = float((excess > EXCEEDANCE_SHARE * demand).mean())
    return row


def summary_table(totals: pd.DataFrame) -> pd.DataFrame:
    """One row per sector (and `all`) with every summary metric (excess metrics when recorded)."""
    excess = sector_excess(totals)
    rows = [
        {"sector": sector, **summary_row(*pair, None if excess is None else excess[sector])}
        for sector, pair in sector_losses(totals).items()
    ]
    return pd.DataFrame(rows)


def exceedance_table(totals: pd.DataFrame, points: int = EXCEEDANCE_POINTS) -> pd.DataFrame:
    """P(L > x) per sector on `points` shortfall levels from zero to the largest draw."""
    frames = []
    for sector, (losses, _) in sector_losses(totals).items():
        ordered = np.sort(losses)
        grid = np.linspace(0.0, float(ordered[-1]) if ordered.size else 0.0, points)
        above = (ordered.size - np.searchsorted(ordered, grid, side="right")) / max(ordered.size, 1)
        frames.append(pd.DataFrame({"sector": sector, "shortfall_t": grid, "probability": above}))
    return pd.concat(frames, ignore_index=True)
