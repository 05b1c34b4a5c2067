"""Colours and line styles, each meaning one thing.

- a country has one colour in every figure of the report and the dashboard (CHN is always the same
  blue, VNM always brown); countries without a fixed colour get one from a reserve, never a colour
  another trace of the same figure already has;
- sectors have their own colours (magnet sectors and oxide applications);
- runs compared on one chart get a colour, a dash and a marker each, so ten runs stay apart;
- the importer's own flows are red in the value chain; everything not named is grey.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from raremap.model.demand import application

IMPORTER = "#c62828"
OTHER = "#94a3b8"
COUNTRIES = {
    "CHN": "#1f4e9c",
    "AUS": "#f28e2b",
    "USA": "#2e8b57",
    "MMR": "#d4b000",
    "MYS": "#8e5aa8",
    "JPN": "#e377c2",
    "VNM": "#8c564b",
    "LAO": "#17a2a2",
    "THA": "#7fb3e6",
    "EST": "#9aa53a",
    "KOR": "#5b3a8c",
    "DEU": "#3d3d3d",
    "RUS": "#b5485d",
    "BRA": "#6bbf59",
    "MDG": "#00796b",
    "NGA": "#a67c00",
    "FRA": "#4a6fe3",
    "GBR": "#7a4e2d",
    "CAN": "#d95f02",
    "IND": IMPORTER,
    "ROW": OTHER,
}
NAMED = {"other": OTHER, "others": OTHER, "rest": OTHER, "domestic": IMPORTER, "stockpile": "#475569",
         "unattributed": "#cbd5e1"}
RESERVE = ("#bcbd22", "#ff7f0e", "#9467bd", "#2ca02c", "#17becf", "#e7969c", "#637939", "#843c39",
           "#7b4173", "#3182bd", "#31a354", "#756bb1")
SECTORS = {
    "ev": "#0072b2",
    "wind": "#009e73",
    "defence": "#4b4b4b",
    "electronics": "#cc79a7",
    "industrial": "#e69f00",
    "other": "#56b4e9",
    "catalysts": "#a6761d",
    "glass_polishing": "#66a61e",
    "metallurgy": "#7570b3",
    "phosphors": "#e7298a",
    "ceramics": "#d95f02",
    "other_applications": "#999999",
}
RUNS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
        "#7f7f7f", "#bcbd22")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "triangle-down", "cross", "pentagon",
           "hexagon", "circle-open", "square-open")
COUNTRY_CODE = re.compile(r"^[A-Z]{3}$")


def country_colour(code: str) -> str | None:
    """The fixed colour of a country or of a named group ('other', 'domestic'); None if it has none."""
    return COUNTRIES.get(code) or NAMED.get(code.lower())


def sector_colour(sector: str) -> str:
    """A buyer of one element takes its application's colour (catalysts/La: catalysts)."""
    return SECTORS.get(sector, SECTORS.get(application(sector), OTHER))


def run_style(position: int) -> dict[str, Any]:
    """Colour, dash, marker and width of the run at `position` on a comparison chart.

    Each cycles on its own (10 colours, 5 dashes, 12 markers), so no two of the first 60 runs look
    alike; earlier runs are drawn wider, so a run identical to an earlier one shows as a thin dashed
    line on a thick one instead of hiding it.
    """
    return {
        "color": RUNS[position % len(RUNS)],
        "dash": DASHES[position % len(DASHES)],
        "symbol": SYMBOLS[position % len(SYMBOLS)],
        "width": max(1.5, 4.5 - 0.75 * position),
        "size": max(5, 11 - position),
    }


def _reserve(code: str, used: set[str]) -> str:
    start = zlib.crc32(code.encode()) % len(RESERVE)
    for step in range(len(RESERVE)):
        colour = RESERVE[(start + step) % len(RESERVE)]
        if colour not in used:
            return colour
    return RESERVE[start]


def coloured(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The traces, with each trace named by a country code (or 'other', 'domestic') in that
    country's colour; the rest as built. Bars colour their markers, lines their line."""
    used = {colour for trace in data for colour in _colours_of(trace)}
    result = []
    for trace in data:
        name = str(trace.get("name", ""))
        colour = country_colour(name)
        if colour is None and COUNTRY_CODE.match(name) and trace.get("type") in ("bar", "scatter"):
            colour = _reserve(name, used)
        if colour is None or trace.get("type") not in ("bar", "scatter"):
            result.append(trace)
            continue
        used.add(colour)
        trace = dict(trace)
        if trace.get("type") == "bar":
            trace["marker"] = {**trace.get("marker", {}), "color": colour}
        else:
            trace["line"] = {**trace.get("line", {}), "color": colour}
            trace["marker"] = {**trace.get("marker", {}), "color": colour}
        result.append(trace)
    return result


def _colours_of(trace: dict[str, Any]) -> list[str]:
    found = []
    for part in ("marker", "line"):
        colour = trace.get(part, {}).get("color") if isinstance(trace.get(part), dict) else None
        if isinstance(colour, str):
            found.append(colour)
    return found
