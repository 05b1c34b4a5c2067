"""Risk metrics of a finished run, computed from the per-draw columns of the chunk files.

Every figure is the importer's, over the run's horizon (the periods the draws disrupt), in the
sector's unit: t magnet for magnet sectors, t REO for oxide applications. Sectors of one unit are
also summed into a total ("all magnet sectors", "all oxide applications"); magnets and oxides are
never summed together.

For a sector's shortfall L over the horizon (tonnes, one value per draw, N draws):

- expected shortfall: mean(L) (the mean, not the tail mean some texts call "expected shortfall");
- VaR_q: the empirical q-quantile, the smallest x with at least q N draws at or below x;
- CVaR_q: VaR_q + mean(max(L - VaR_q, 0)) / (1 - q) (Rockafellar and Uryasev), which equals the
  mean of the worst (1 - q) N draws whenever (1 - q) N is a whole number;
- P(shortfall > 10 % of demand): share of draws with L > 0.1 x that draw's demand over the horizon;
- exceedance curve: P(L > x) on a grid of x.

The same figures on the excess shortfall E, the shortfall beyond the undisrupted base at the draw's
demand level (per cell max(0, draw - base), summed over periods; column `total_excess_t:<sector>`):
expected excess mean(E), VaR_0.95 and CVaR_0.95 of E, and P(E > 10 % of demand). These measure
what the disruptions add, where L also counts the base's own shortfall.

Totals are read first (a few columns per sector); the per-period table then reads one sector's
cells at a time, so memory grows with the number of draws times the periods of one sector.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from raremap.model.periods import start_date
from raremap.risk.resolve import UNIT_TOTALS, ResolvedRisk

LEVELS = (0.90, 0.95, 0.99)
EXCESS_LEVEL = 0.95
EXCESS_KEYS = ("expected_excess_shortfall_t", "var95_excess_t", "cvar95_excess_t", "p_excess_exceed_10pct")
EXCEEDANCE_SHARE = 0.10
EXCEEDANCE_POINTS = 101
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
TOTAL_COLUMNS = ("total_shortfall_t:", "demand_t:", "total_excess_t:", "feature:", "evaluation")
"""Column prefixes of the per-draw totals the summary, exceedance and drivers read."""


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


@dataclass(frozen=True)
class Losses:
    """One sector's (or one unit's total) shortfall, excess and demand over the horizon, per draw."""

    sector: str
    unit: str
    shortfall: np.ndarray
    excess: np.ndarray
    demand: np.ndarray


def sector_losses(totals: pd.DataFrame, risk: ResolvedRisk) -> list[Losses]:
    """Per sector, then per unit the total over its sectors (only units the importer buys in)."""
    sectors = [
        Losses(sector, unit, totals[f"total_shortfall_t:{sector}"].to_numpy(), totals[f"total_excess_t:{sector}"].to_numpy(),
               totals[f"demand_t:{sector}"].to_numpy())
        for sector, unit in zip(risk.sectors, risk.sector_units, strict=True)
    ]
    groups = []
    for unit, name in UNIT_TOTALS.items():
        members = [losses for losses in sectors if losses.unit == unit]
        if members:
            groups.append(Losses(name, unit, *(np.sum([getattr(item, part) for item in members], axis=0)
                                               for part in ("shortfall", "excess", "demand"))))
    return sectors + groups


def summary_row(losses: Losses) -> dict[str, float]:
    """Expected shortfall, VaR and CVaR at 90/95/99 %, P(shortfall > 10 % of demand), and the same on the
    excess over the base: expected excess, VaR and CVaR of the excess at 95 %, P(excess > 10 % of demand)."""
    shortfall, excess, demand = losses.shortfall, losses.excess, losses.demand
    row = {"expected_demand_t": float(demand.mean()), "expected_shortfall_t": float(shortfall.mean())}
    for level in LEVELS:
        percent = round(level * 100)
        row[f"var{percent}_t"] = value_at_risk(shortfall, level)
        row[f"cvar{percent}_t"] = conditional_value_at_risk(shortfall, level)
    row["p_exceed_10pct"] = float((shortfall > EXCEEDANCE_SHARE * demand).mean())
    row["expected_excess_shortfall_t"] = float(excess.mean())
    row["var95_excess_t"] = value_at_risk(excess, EXCESS_LEVEL)
    row["cvar95_excess_t"] = conditional_value_at_risk(excess, EXCESS_LEVEL)
    row["p_excess_exceed_10pct"] = float((excess > EXCEEDANCE_SHARE * demand).mean())
    return row


def summary_table(totals: pd.DataFrame, risk: ResolvedRisk) -> pd.DataFrame:
    """One row per sector and per unit total, with its unit, the horizon and every summary metric."""
    rows = [
        {"country": risk.importer, "sector": losses.sector, "unit": losses.unit, "horizon": risk.horizon_label,
         "horizon_years": risk.horizon_years, **summary_row(losses)}
        for losses in sector_losses(totals, risk)
    ]
    return pd.DataFrame(rows)


def exceedance_table(totals: pd.DataFrame, risk: ResolvedRisk, points: int = EXCEEDANCE_POINTS) -> pd.DataFrame:
    """P(L > x) per sector and unit total on `points` shortfall levels from zero to the largest draw."""
    frames = []
    for losses in sector_losses(totals, risk):
        ordered = np.sort(losses.shortfall)
        grid = np.linspace(0.0, float(ordered[-1]) if ordered.size else 0.0, points)
        above = (ordered.size - np.searchsorted(ordered, grid, side="right")) / max(ordered.size, 1)
        frames.append(pd.DataFrame({"country": risk.importer, "sector": losses.sector, "unit": losses.unit,
                                    "shortfall_t": grid, "probability": above}))
    return pd.concat(frames, ignore_index=True)


def _period_rows(risk: ResolvedRisk, sector: str, unit: str, shortfall: np.ndarray, excess: np.ndarray,
                 demand: np.ndarray) -> list[dict[str, object]]:
    """Rows of the per-period table for one sector or unit total (arrays are draw x horizon period)."""
    quantiles = np.quantile(shortfall, QUANTILES, axis=0, method="inverted_cdf") if len(shortfall) else np.zeros((5, 0))
    rows = []
    starts, years = risk.horizon_periods, risk.period_years[risk.horizon:]
    for index, (period, start, length) in enumerate(zip(risk.horizon_labels, starts, years, strict=True)):
        row: dict[str, object] = {
            "country": risk.importer, "sector": sector, "unit": unit, "period": period,
            "period_start": start_date(start).isoformat(), "period_years": float(length),
            "expected_demand_t": float(demand[:, index].mean()),
            "expected_shortfall_t": float(shortfall[:, index].mean()),
        }
        row.update({f"shortfall_p{round(q * 100):02d}_t": float(quantiles[position, index])
                    for position, q in enumerate(QUANTILES)})
        row["expected_excess_shortfall_t"] = float(excess[:, index].mean())
        row["p_excess"] = float((excess[:, index] > 0).mean())
        rows.append(row)
    return rows


def period_table(paths: list[Path], risk: ResolvedRisk) -> pd.DataFrame:
    """Per sector and unit total, per horizon period: expected demand and shortfall, shortfall quantiles
    over the draws (5, 25, 50, 75, 95 %), expected excess and the probability of any excess."""
    rows: list[dict[str, object]] = []
    sums: dict[str, list[np.ndarray]] = {}
    for sector, unit in zip(risk.sectors, risk.sector_units, strict=True):
        frame = read_columns(paths, (f"shortfall_t:{sector}:", f"excess_t:{sector}:", f"period_demand_t:{sector}:"))
        cells = [frame[[f"{prefix}:{sector}:{period}" for period in risk.horizon_labels]].to_numpy()
                 for prefix in ("shortfall_t", "excess_t", "period_demand_t")]
        rows += _period_rows(risk, sector, unit, *cells)
        if unit in sums:
            sums[unit] = [total + part for total, part in zip(sums[unit], cells, strict=True)]
        else:
            sums[unit] = cells
    for unit, name in UNIT_TOTALS.items():
        if unit in sums:
            rows += _period_rows(risk, name, unit, *sums[unit])
    return pd.DataFrame(rows)
