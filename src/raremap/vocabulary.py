"""The names every part of raremap shares: stages, their products and units, display names.

One place, so a stage or unit is spelled and explained the same way in data, models, results,
the CLI, the report and the web API. Values allowed in the tables themselves (sectors, elements,
statuses) live in ``data/vocabularies.csv``; this module holds what code needs as constants.
"""

from __future__ import annotations

from typing import Literal, get_args

Stage = Literal["mining", "separation", "metal", "magnet"]
"""A stage as a type, for pydantic specifications."""

STAGES: tuple[str, ...] = get_args(Stage)
"""Stages with production, upstream first; `use` is the demand side and has no output of its own."""

TRADED_STAGES = ("separation", "metal", "magnet")
"""Stages whose products move between countries element by element (mining moves as concentrate)."""

STAGE_TOTAL = {"mining": "REO", "separation": "REO", "metal": "REO", "magnet": "NdFeB"}
"""The element code of a stage's total output in the production and capacity tables."""

NATIONAL_TOTAL = "national total"
"""A capacity row whose facility names this is a national total or quota; every other row is a facility."""

STAGE_NAMES = {
    "mining": "Mining (REO in concentrate)",
    "separation": "Separation (oxides)",
    "metal": "Metal and alloys",
    "magnet": "Magnets",
}
"""How a stage is shown to a person."""

STAGE_UNITS = {
    "mining": "t REO",
    "separation": "t oxide",
    "metal": "t metal",
    "magnet": "t magnet",
}
"""The unit of each stage's quantities in tables and results."""

WORLD = "WLD"
"""The code of the world aggregate in the tables."""


def stage_name(stage: str) -> str:
    """The display name of a stage (the stage itself if unknown)."""
    return STAGE_NAMES.get(stage, stage)
